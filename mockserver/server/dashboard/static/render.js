// DOM helpers. Every value from a request or a stub is set as text (textContent), never as
// markup: a path or body carrying <script> is shown, not run.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function time(ms) {
  const at = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

// A journaled body as people read it: JSON indented, text as it is, binary as its size.
export function shownBody(entry) {
  if (entry.body_size === 0) return el("p", { class: "muted", text: "no body" });
  if (entry.body_encoding === "base64") {
    return el("p", { class: "muted", text: `binary, ${entry.body_size} bytes` });
  }
  let text = entry.body;
  try {
    text = pretty(JSON.parse(entry.body));
  } catch {
    // not JSON: shown as sent
  }
  const cut = entry.body_truncated ? ` (first bytes of ${entry.body_size})` : "";
  return el("div", {}, el("pre", { text }), cut ? el("p", { class: "muted", text: cut }) : null);
}

export function keyValues(mapping) {
  const rows = Object.entries(mapping || {}).map(([k, v]) =>
    el("tr", {}, el("th", { text: k }), el("td", { text: Array.isArray(v) ? v.join(", ") : v })),
  );
  return rows.length ? el("table", { class: "kv" }, el("tbody", {}, rows)) : el("p", { class: "muted", text: "none" });
}

export function fillTable(table, rows, empty) {
  const body = clear(table.tBodies[0]);
  if (!rows.length) {
    const cols = table.tHead.rows[0].cells.length;
    body.append(el("tr", {}, el("td", { colspan: cols, class: "muted", text: empty })));
    return;
  }
  body.append(...rows);
}
