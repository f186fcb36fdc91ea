// kb: progressive enhancement for the basket and related passages. No inline scripts (CSP).
"use strict";

async function api(method, url, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function setCount(delta) {
  const el = document.getElementById("basket-count");
  if (el) el.textContent = String(Math.max(0, Number(el.textContent) + delta));
}

function text(tag, className, value) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = value;  // always text, never HTML
  return el;
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.classList.contains("add")) {
    button.disabled = true;
    try {
      await api("POST", "/api/basket/items", { passage_id: button.dataset.passage, query: button.dataset.query || "" });
      button.textContent = "已加入素材篮";
      setCount(1);
    } catch (e) { button.disabled = false; button.textContent = "加入失败：" + e.message; }
  } else if (button.classList.contains("move")) {
    await api("PATCH", "/api/basket/items/" + button.dataset.item, { move: Number(button.dataset.step) });
    location.reload();
  } else if (button.classList.contains("remove")) {
    await api("DELETE", "/api/basket/items/" + button.dataset.item);
    location.reload();
  }
});

document.addEventListener("change", async (event) => {
  const area = event.target;
  if (!area.classList || !area.classList.contains("note")) return;
  await api("PATCH", "/api/basket/items/" + area.dataset.item, { note: area.value });
  area.classList.add("saved");
});

document.addEventListener("toggle", async (event) => {
  const box = event.target;
  if (!box.classList || !box.classList.contains("related") || !box.open || box.dataset.loaded) return;
  box.dataset.loaded = "1";
  const list = box.querySelector(".related-list");
  try {
    const data = await api("GET", "/api/passages/" + encodeURIComponent(box.dataset.passage) + "/related");
    list.textContent = "";
    if (!data.related.length) list.textContent = "其他文档中没有相近的段落。";
    for (const hit of data.related) {
      const item = document.createElement("div");
      item.className = "rel";
      const link = text("a", "", hit.title + (hit.place ? "（" + hit.place + "）" : ""));
      link.href = "/doc/" + encodeURIComponent(hit.doc_id) + "#p" + hit.order;
      item.appendChild(link);
      item.appendChild(text("p", "", hit.passage.length > 160 ? hit.passage.slice(0, 160) + "…" : hit.passage));
      const add = text("button", "add", "加入素材篮");
      add.type = "button";
      add.dataset.passage = hit.passage_id;
      item.appendChild(add);
      list.appendChild(item);
    }
  } catch (e) { list.textContent = "加载失败：" + e.message; }
}, true);
