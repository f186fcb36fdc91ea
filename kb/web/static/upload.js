// kb: the 上传 page. Files and folders (picked or dropped) go to POST /api/documents in one
// request with the page's CSRF token; the job is then polled and each file's outcome shown as it
// comes. Text from the server is only ever set as textContent (escaped). No inline scripts (CSP).
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const STATE = { queued: "等待", reading: "读取中", indexing: "索引中" };
  const OUTCOME = { added: "新增", replaced: "已替换", unchanged: "未变", copy: "相同，跳过",
                    similar: "新增（有相似）", mixed: "完成", archive: "已展开", sidecar: "元数据", failed: "失败" };
  const JOB = { queued: "排队中", reading: "正在读取文件", indexing: "正在写入索引", indexed: "完成", failed: "失败" };
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  const token = form.querySelector("input[name=csrf_token]").value;
  const chosenBox = document.getElementById("chosen-box");
  const chosenList = document.getElementById("chosen");
  const button = document.getElementById("upload-button");
  const clearButton = document.getElementById("clear-button");
  const jobBox = document.getElementById("job");
  let chosen = [];  // {file, name}
  let busy = false;

  function say(message, error) {
    if (typeof announce === "function") announce(message, { error: Boolean(error) });
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1048576) return (bytes / 1024).toFixed(0) + " KB";
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function add(file, name) {
    const clean = (name || file.name).replace(/^\/+/, "");
    if (!chosen.some((c) => c.name === clean)) chosen.push({ file, name: clean });
  }

  function showChosen() {
    chosenList.textContent = "";
    for (const c of chosen.slice(0, 500)) {
      const li = chosenList.appendChild(document.createElement("li"));
      li.appendChild(document.createElement("span")).textContent = c.name;
      const s = li.appendChild(document.createElement("span"));
      s.className = "size";
      s.textContent = size(c.file.size);
    }
    if (chosen.length > 500) chosenList.appendChild(document.createElement("li")).textContent = "……另有 " + (chosen.length - 500) + " 个";
    const total = chosen.reduce((n, c) => n + c.file.size, 0);
    document.getElementById("chosen-count").textContent = chosen.length;
    document.getElementById("chosen-size").textContent = size(total);
    chosenBox.hidden = chosen.length === 0;
    clearButton.hidden = chosen.length === 0;
  }

  for (const id of ["pick-files", "pick-folder"]) {
    document.getElementById(id).addEventListener("change", (event) => {
      for (const file of event.target.files) add(file, file.webkitRelativePath || file.name);
      event.target.value = "";  // the list above is what is sent
      showChosen();
      say("已选择 " + chosen.length + " 个文件");
    });
  }
  clearButton.addEventListener("click", () => { chosen = []; showChosen(); say("已清空"); });

  // ---------------------------------------------------------------- drag and drop (folders too)
  const zone = document.getElementById("dropzone");
  function readEntries(reader) {
    return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
  }
  async function walk(entry) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      add(file, entry.fullPath);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
        for (const child of batch) await walk(child);
      }
    }
  }
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const items = Array.from(event.dataTransfer.items || []);
    const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null)).filter(Boolean);
    try {
      if (entries.length) for (const entry of entries) await walk(entry);
      else for (const file of event.dataTransfer.files) add(file, file.name);
    } catch (e) {
      say("有的文件无法读取，请改用“选择文件”", true);
    }
    showChosen();
    say("已选择 " + chosen.length + " 个文件");
  });

  // ---------------------------------------------------------------- sending
  function errorOf(xhr) {
    try {
      const said = JSON.parse(xhr.responseText).error;
      if (said) return String(said).split(" / ")[0];
    } catch (e) { /* not JSON */ }
    if (xhr.status === 0) return "连不上服务器，请检查网络后重试";
    return "服务器出错（" + xhr.status + "），请稍后重试";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (busy) return;
    if (!chosen.length) { say("请先选择文件或文件夹", true); return; }
    const total = chosen.reduce((n, c) => n + c.file.size, 0);
    if (total > maxBytes) {
      say("所选文件共 " + size(total) + "，超过单次上传上限 " + size(maxBytes) + "，请分批上传", true);
      return;
    }
    const data = new FormData();
    for (const c of chosen) data.append("file", c.file, c.name);
    const xhr = new XMLHttpRequest();
    const send = document.getElementById("send");
    const bar = document.getElementById("send-progress");
    const percent = document.getElementById("send-percent");
    send.hidden = false;
    bar.value = 0;
    percent.textContent = "0%";
    busy = true;
    button.disabled = true;
    button.textContent = "上传中…";
    form.setAttribute("aria-busy", "true");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      percent.textContent = bar.value + "%";
    });
    xhr.addEventListener("loadend", () => {
      form.removeAttribute("aria-busy");
      if (xhr.status === 202) {
        bar.value = 100;
        percent.textContent = "100%";
        const job = JSON.parse(xhr.responseText).job_id;
        chosen = [];
        showChosen();
        history.replaceState(null, "", "/upload?job=" + encodeURIComponent(job));
        say("已上传，正在后台处理");
        follow(job);
      } else {
        done();
        send.hidden = true;
        say("上传失败：" + errorOf(xhr), true);
      }
    });
    xhr.open("POST", "/api/documents");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.send(data);
  });

  function done() {
    busy = false;
    button.disabled = false;
    button.textContent = "开始上传";
  }

  // ---------------------------------------------------------------- the job
  function docHref(docId) {
    return "/doc/" + docId.split("/").map(encodeURIComponent).join("/");
  }

  function row(f) {
    const li = document.createElement("li");
    li.className = "file";
    li.dataset.state = f.state;
    li.dataset.outcome = f.outcome;
    const name = li.appendChild(document.createElement("span"));
    name.className = "name";
    name.textContent = f.name;
    const badge = li.appendChild(document.createElement("span"));
    badge.className = "badge";
    badge.textContent = f.state === "done" ? (OUTCOME[f.outcome] || f.outcome) : (STATE[f.state] || f.state);
    if (f.detail) {
      const detail = li.appendChild(document.createElement("span"));
      detail.className = "detail";
      detail.textContent = f.detail;
    }
    for (const note of f.notes || []) {
      const n = li.appendChild(document.createElement("span"));
      n.className = "note";
      n.textContent = note;
    }
    const docs = (f.docs || []).filter((d) => d.outcome !== "copy");
    if (docs.length) {
      const box = li.appendChild(document.createElement("span"));
      box.className = "docs";
      for (const d of docs.slice(0, 20)) {
        const a = box.appendChild(document.createElement("a"));
        a.href = docHref(d.doc_id);
        a.textContent = d.title || d.doc_id;
      }
    }
    return li;
  }

  function summaryLine(s, files) {
    const parts = ["共 " + s.files + " 个文件"];
    const doc = { added: "新增", replaced: "替换", unchanged: "未变", copy: "相同跳过", similar: "有相似文档" };
    for (const key of Object.keys(doc)) if (s[key]) parts.push(doc[key] + " " + s[key] + " 篇");
    parts.push("失败 " + (s.failed || 0) + " 个文件");
    const failed = (files || []).filter((f) => f.outcome === "failed").map((f) => f.name);
    const named = failed.length ? "：" + failed.slice(0, 5).join("、") + (failed.length > 5 ? " 等" : "") : "";
    return "完成：" + parts.join("，") + named + "。";
  }

  function render(job) {
    jobBox.hidden = false;
    const state = document.getElementById("job-state");
    state.textContent = (JOB[job.state] || job.state) + (job.message ? "：" + job.message : "");
    document.getElementById("job-done").textContent = job.progress.done;
    document.getElementById("job-total").textContent = job.progress.files;
    const bar = document.getElementById("job-progress");
    bar.max = Math.max(1, job.progress.files);
    bar.value = job.progress.done;
    // rows change in place, only when their file's state changed: focus and reading position stay
    const list = document.getElementById("job-files");
    const current = new Map(Array.from(list.children).map((li) => [li.dataset.seq, li]));
    let previous = null;
    for (const f of job.files) {
      const signature = JSON.stringify([f.state, f.outcome, f.detail, f.notes, f.docs]);
      let li = current.get(String(f.seq));
      if (!li || li.dataset.signature !== signature) {
        const fresh = row(f);
        fresh.dataset.seq = f.seq;
        fresh.dataset.signature = signature;
        if (li) li.replaceWith(fresh); else list.insertBefore(fresh, previous ? previous.nextSibling : list.firstChild);
        li = fresh;
      }
      previous = li;
    }
    const summary = document.getElementById("job-summary");
    summary.hidden = !job.finished;
    summary.textContent = job.finished ? summaryLine(job.summary, job.files) : "";
  }

  async function follow(job) {
    jobBox.hidden = false;
    jobBox.dataset.job = job;
    for (const stale of jobBox.querySelectorAll(".nojs-refresh")) stale.remove();
    let lastState = "";
    for (let wait = 400; ; wait = Math.min(1500, wait + 200)) {
      let data;
      try {
        const response = await fetch("/api/jobs/" + encodeURIComponent(job), { credentials: "same-origin" });
        if (!response.ok) {
          say(response.status === 401 ? "登录已过期，请重新登录后查看" : "无法获取进度（" + response.status + "）", true);
          break;
        }
        data = await response.json();
      } catch (e) {
        say("连不上服务器，稍后自动重试", true);
        await new Promise((r) => setTimeout(r, 3000));
        continue;
      }
      render(data);
      if (data.state !== lastState && !data.finished) say(JOB[data.state] || data.state);
      lastState = data.state;
      if (data.finished) {
        say(data.state === "failed" ? "处理失败：" + data.message : summaryLine(data.summary, data.files), data.state === "failed");
        document.getElementById("job-summary").focus();
        break;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
    done();
    document.getElementById("send").hidden = true;
  }

  document.getElementById("job-summary").tabIndex = -1;
  if (jobBox.dataset.job) follow(jobBox.dataset.job);
})();
