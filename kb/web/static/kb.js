// kb: progressive enhancement for the basket, related passages, search and compare. No inline
// scripts (CSP). Every failure a user can meet gets a Chinese message; focus stays where it was.
"use strict";

class ApiError extends Error {}

async function api(method, url, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new ApiError("连不上服务器，请检查网络后重试");
  }
  if (!response.ok) {
    let message = "服务器出错（" + response.status + "），请稍后重试";
    try {
      const said = (await response.json()).error;
      if (said) message = String(said).split(" / ")[0];  // the Chinese half of "中文 / English"
    } catch (e) { /* not JSON */ }
    throw new ApiError(message);
  }
  return response.status === 204 ? null : response.json();
}

// ------------------------------------------------------------------ status messages (aria-live)
let statusTimer = null;
function announce(message, options) {
  const box = document.getElementById("status");
  if (!box) return;
  const opts = options || {};
  clearTimeout(statusTimer);
  box.textContent = "";
  box.classList.toggle("error", Boolean(opts.error));
  box.appendChild(document.createElement("span")).textContent = message;
  if (opts.undo) {
    const undo = box.appendChild(document.createElement("button"));
    undo.type = "button";
    undo.textContent = "撤销";
    undo.addEventListener("click", () => { box.textContent = ""; opts.undo(); });
  }
  statusTimer = setTimeout(() => { box.textContent = ""; }, opts.undo ? 10000 : 6000);
}

function setCount(delta) {
  const el = document.getElementById("basket-count");
  if (el) el.textContent = String(Math.max(0, Number(el.textContent) + delta));
  return el ? Number(el.textContent) : 0;
}

// a half-width , : ; ! ? beside a Chinese character is scrape damage: shown full-width (as the server does)
const FULL_WIDTH = { ",": "，", ":": "：", ";": "；", "!": "！", "?": "？" };
function cjk(value) {
  return value.replace(/(?<=[\u4e00-\u9fff“”‘’（）《》、。])[,:;!?]|[,:;!?](?=[\u4e00-\u9fff“”‘’（）《》、。])/g, (c) => FULL_WIDTH[c]);
}

function text(tag, className, value) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = value;  // always text, never HTML
  return el;
}

// ------------------------------------------------------------------ add to the basket
async function addPassage(button) {
  if (button.getAttribute("aria-disabled") === "true") {
    announce("这一段已在素材篮里");
    return;
  }
  button.setAttribute("aria-disabled", "true");  // not disabled: focus stays on the button
  try {
    const item = await api("POST", "/api/basket/items", { passage_id: button.dataset.passage, query: button.dataset.query || "" });
    button.textContent = "已加入素材篮";
    const total = setCount(1);
    announce("已加入素材篮（共 " + total + " 段）", { undo: () => undoAdd(button, item.id) });
  } catch (e) {
    button.removeAttribute("aria-disabled");
    announce("加入失败：" + e.message, { error: true });
  }
}

async function undoAdd(button, itemId) {
  try {
    await api("DELETE", "/api/basket/items/" + itemId);
    button.removeAttribute("aria-disabled");
    button.textContent = "加入素材篮";
    const total = setCount(-1);
    button.focus();
    announce("已撤销，素材篮共 " + total + " 段");
  } catch (e) {
    announce("撤销失败：" + e.message, { error: true });
  }
}

// ------------------------------------------------------------------ basket page, without reloads
function refreshMoveButtons(list) {
  const items = Array.from(list.querySelectorAll("li.item"));
  items.forEach((li, i) => {
    li.querySelector("button.move[data-step='-1']").disabled = i === 0;
    li.querySelector("button.move[data-step='1']").disabled = i === items.length - 1;
  });
}

async function moveItem(button) {
  const li = button.closest("li.item");
  const list = li.parentElement;
  const step = Number(button.dataset.step);
  try {
    await api("PATCH", "/api/basket/items/" + button.dataset.item, { move: step });
  } catch (e) {
    announce("移动失败：" + e.message, { error: true });
    return;
  }
  if (step < 0 && li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
  if (step > 0 && li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
  refreshMoveButtons(list);
  const position = Array.from(list.children).indexOf(li) + 1;
  (button.disabled ? li.querySelector("button.move:not([disabled])") || li.querySelector("button.remove") : button).focus();
  announce("已" + (step < 0 ? "上移" : "下移") + "，现在是第 " + position + " 条");
}

async function removeItem(button) {
  const li = button.closest("li.item");
  const list = li.parentElement;
  try {
    await api("DELETE", "/api/basket/items/" + button.dataset.item);
  } catch (e) {
    announce("移除失败：" + e.message, { error: true });
    return;
  }
  const next = li.nextElementSibling || li.previousElementSibling;
  li.remove();
  const total = setCount(-1);
  if (next) {
    refreshMoveButtons(list);
    next.querySelector("h2").focus();
  } else {
    const export_ = document.querySelector(".export");
    if (export_) export_.remove();
    list.remove();
    const empty = document.querySelector("p.empty");
    if (empty) { empty.hidden = false; empty.setAttribute("tabindex", "-1"); empty.focus(); }
  }
  announce("已移除，素材篮还有 " + total + " 段");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.classList.contains("add")) addPassage(button);
  else if (button.classList.contains("move")) moveItem(button);
  else if (button.classList.contains("remove")) removeItem(button);
});

// ------------------------------------------------------------------ notes
document.addEventListener("change", async (event) => {
  const area = event.target;
  if (!area.classList || !area.classList.contains("note")) return;
  const flag = area.parentElement.querySelector(".saved-flag");
  try {
    await api("PATCH", "/api/basket/items/" + area.dataset.item, { note: area.value });
    if (flag) flag.textContent = "已保存";
    area.classList.add("saved");
    announce("批注已保存");
  } catch (e) {
    if (flag) flag.textContent = "未保存";
    announce("批注保存失败：" + e.message, { error: true });
  }
});
document.addEventListener("input", (event) => {
  const area = event.target;
  if (area.classList && area.classList.contains("note")) {
    const flag = area.parentElement.querySelector(".saved-flag");
    if (flag) flag.textContent = "";
  }
});

// ------------------------------------------------------------------ related passages
document.addEventListener("toggle", async (event) => {
  const box = event.target;
  if (!box.classList || !box.classList.contains("related") || !box.open || box.dataset.loaded) return;
  const list = box.querySelector(".related-list");
  try {
    const data = await api("GET", "/api/passages/" + encodeURIComponent(box.dataset.passage) + "/related");
    box.dataset.loaded = "1";
    list.textContent = "";
    if (!data.related.length) list.textContent = "其他文档中没有相近的段落。";
    for (const hit of data.related) {
      const item = document.createElement("div");
      item.className = "rel";
      const link = text("a", "", hit.title + (hit.place ? "（" + hit.place + "）" : ""));
      link.href = "/doc/" + encodeURIComponent(hit.doc_id) + "#p" + hit.order;
      item.appendChild(link);
      item.appendChild(text("p", "", cjk(hit.passage.length > 160 ? hit.passage.slice(0, 160) + "…" : hit.passage)));
      const add = text("button", "add", "加入素材篮");
      add.type = "button";
      add.dataset.passage = hit.passage_id;
      item.appendChild(add);
      list.appendChild(item);
    }
  } catch (e) {
    list.textContent = "相关段落加载失败：" + e.message + "（收起后再展开可重试）";
  }
}, true);

// ---- issue 13: 复制链接 — copy a passage's link (opening it shows that passage, query highlighted).
// Without clipboard access the link simply opens.
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a.copy-link");
  if (!link || !navigator.clipboard) return;
  event.preventDefault();
  try {
    await navigator.clipboard.writeText(new URL(link.getAttribute("href"), location.href).href);
    link.textContent = "已复制链接";
    link.classList.add("copied");
  } catch (e) { location.href = link.href; }
});

// ------------------------------------------------------------------ search: busy state
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.classList && form.classList.contains("searchbox")) {
    const input = form.querySelector("input[name=q]");
    if (input && !input.value.trim()) { event.preventDefault(); input.focus(); announce("请输入检索词"); return; }
    form.classList.add("busy");
    form.setAttribute("aria-busy", "true");
    const button = form.querySelector("button");
    if (button) button.textContent = "检索中…";
    announce("正在检索…");
  } else if (form.getAttribute("id") === "compare-form") {
    const picked = form.querySelectorAll("input[name=id]:checked").length;
    if (picked < 2 || picked > 4) {
      event.preventDefault();
      announce(picked < 2 ? "请至少勾选 2 个模式" : "一次最多比较 4 个模式", { error: true });
    }
  }
});
window.addEventListener("pageshow", () => {  // back from a search: the button reads 检索 again
  document.querySelectorAll("form.searchbox.busy").forEach((form) => {
    form.classList.remove("busy");
    form.removeAttribute("aria-busy");
    form.querySelector("button").textContent = "检索";
  });
});

// ------------------------------------------------------------------ catalogue: 2–4 to compare
document.addEventListener("change", (event) => {
  const box = event.target;
  const form = box.form;
  if (!form || form.getAttribute("id") !== "compare-form" || box.name !== "id") return;
  const picked = form.querySelectorAll("input[name=id]:checked").length;
  if (picked > 4) {
    box.checked = false;
    announce("一次最多比较 4 个模式，请先取消一个", { error: true });
  }
  const hint = document.getElementById("compare-hint");
  if (hint) hint.textContent = "已选 " + Math.min(picked, 4) + " 个，可选 2–4 个";
});
