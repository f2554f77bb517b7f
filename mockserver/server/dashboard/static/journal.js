// The journal: rows newest first as the stream brings them, the filters, and one request's
// detail (GET /requests/{seq}) with the answer and, when no stub matched, the near misses.

import { ApiError, call } from "./api.js";
import { clear, el, keyValues, pretty, shownBody, time } from "./render.js";

const MAX_ROWS = 2000;
const rows = []; // summaries, oldest first
let stubs = new Map(); // id → stub, for the delay mark and the answer
let selected = null;
let pending = false;

const tbody = () => document.querySelector("#requests tbody");
const filters = () => ({
  service: document.getElementById("f-service").value,
  status: document.getElementById("f-status").value,
  matched: document.getElementById("f-matched").value,
  text: document.getElementById("f-text").value.trim().toLowerCase(),
});

export function setStubs(list) {
  stubs = new Map(list.map((stub) => [stub.id, stub]));
  redraw();
}

let fields = [];
let skipped = 0;

export function onEvent(kind, data) {
  if (kind === "hello" || kind === "cleared") rows.length = 0;
  if (kind === "hello" || kind === "cleared") skipped = 0;
  if (kind === "skipped") {
    // The server sends at most 2,000 matched rows a second; unmatched ones always come.
    skipped += data.count;
    notice(`${skipped.toLocaleString()} matched requests not listed (more than 2,000 a second); the journal has them`);
  }
  if (kind === "hello") {
    fields = data.fields;
    notice(data.journal_size === 0 ? "the journal is off (--journal-size 0): nothing is listed" : "");
  }
  if (kind === "entries") {
    // Rows come as lists in the order hello named (a batch is one compact event).
    for (const values of data) {
      const entry = Object.fromEntries(fields.map((name, i) => [name, values[i]]));
      entry.matched = entry.stub !== null;
      rows.push(entry);
      addService(entry.service);
    }
    if (rows.length > MAX_ROWS) rows.splice(0, rows.length - MAX_ROWS);
  }
  schedule();
}

function notice(text) {
  const node = document.getElementById("notice");
  node.textContent = text;
  node.hidden = !text;
}

function addService(name) {
  if (!name) return;
  const select = document.getElementById("f-service");
  if ([...select.options].some((option) => option.value === name)) return;
  select.append(el("option", { value: name, text: name }));
}

function schedule() {
  // Many entries in one burst make one redraw.
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    redraw();
  });
}

function delayed(stub) {
  if (!stub) return false;
  const answers = [stub.response, ...(stub.responses || [])].filter(Boolean);
  return answers.some((r) => r.delay_ms || r.dribble);
}

function shows(row, f) {
  if (f.service && row.service !== f.service) return false;
  if (f.status && String(row.status)[0] !== f.status) return false;
  if (f.matched && (f.matched === "matched") !== row.matched) return false;
  if (f.text) {
    const query = queryText(row.query);
    const hay = `${row.method} ${row.path}?${query} ${row.stub || "unmatched"} ${row.status}`;
    if (!hay.toLowerCase().includes(f.text)) return false;
  }
  return true;
}

function marks(row) {
  const found = [];
  if (row.fault) found.push(el("span", { class: "mark fault", text: `fault ${row.fault}` }));
  if (delayed(stubs.get(row.stub))) found.push(el("span", { class: "mark delay", text: "delay" }));
  if (row.error) found.push(el("span", { class: "mark error", text: row.error }));
  return found;
}

// Shown as received (decoded), not percent-encoded again. A list row carries the query string
// as sent (secret values redacted), a request's detail carries it parsed.
const queryText = (query) => {
  if (typeof query === "string") {
    try {
      return decodeURIComponent(query.replace(/\+/g, " "));
    } catch {
      return query; // a stray "%" is shown as sent
    }
  }
  return Object.entries(query || {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}=${one}`))
    .join("&");
};

function rowNode(row) {
  const query = queryText(row.query);
  return el(
    "tr",
    {
      class: `${row.matched ? "matched" : "unmatched"}${row.seq === selected ? " selected" : ""}`,
      "data-seq": row.seq,
      onclick: () => show(row.seq),
    },
    el("td", { class: "time", text: time(row.at) }),
    el("td", { text: row.method }),
    el("td", { class: "path", text: query ? `${row.path}?${query}` : row.path }),
    el("td", { class: `code s${String(row.status)[0]}`, text: row.status }),
    el("td", { class: "stub", text: row.stub ?? "unmatched" }),
    el("td", {}, marks(row)),
  );
}

export function redraw() {
  const f = filters();
  const shown = [];
  for (let i = rows.length - 1; i >= 0; i--) if (shows(rows[i], f)) shown.push(rowNode(rows[i]));
  clear(tbody()).append(...shown);
  document.getElementById("count").textContent = `${shown.length} of ${rows.length}`;
}

export async function show(seq) {
  selected = seq;
  redraw();
  const pane = clear(document.getElementById("detail"));
  let entry;
  try {
    entry = await call("GET", `/requests/${seq}`);
  } catch (error) {
    pane.append(el("p", { class: "error", text: error.message }));
    return;
  }
  const query = queryText(entry.query);
  pane.append(
    el("h2", { class: "path", text: `${entry.method} ${entry.path}${query ? "?" + query : ""}` }),
    el("p", { class: "muted", text: `#${entry.seq} at ${entry.at}, service ${entry.service ?? "none"}` }),
    el("h3", { text: "Answer" }),
    await answer(entry),
    el("h3", { text: "Headers" }),
    keyValues(entry.headers),
    el("h3", { text: "Body" }),
    shownBody(entry),
  );
}

async function answer(entry) {
  const summary = [`status ${entry.status}`];
  if (entry.fault) summary.push(`fault ${entry.fault}`);
  if (entry.error) summary.push(entry.error);
  const head = el("p", {}, summary.join(", "));
  if (!entry.matched) return el("div", {}, head, nearest(entry.nearest || []));
  let stub = stubs.get(entry.stub);
  try {
    stub = await call("GET", `/stubs/${encodeURIComponent(entry.stub)}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  const where = stub ? `${stub.source}${stub.line ? ":" + stub.line : ""}` : "gone since";
  const defined = stub ? stub.response || stub.responses : null;
  return el(
    "div",
    {},
    head,
    el("p", {}, "stub ", el("code", { text: entry.stub }), ` (${where})`),
    defined ? el("pre", { text: pretty(defined) }) : null,
  );
}

function nearest(list) {
  if (!list.length) return el("p", { class: "muted", text: "unmatched; no stub came near" });
  return el(
    "div",
    { class: "nearest" },
    el("p", { text: "unmatched; the nearest stubs:" }),
    el(
      "ol",
      {},
      list.map((near) => {
        const first = near.first_difference;
        return el(
          "li",
          { class: "near" },
          el("div", {}, el("code", { class: "near-stub", text: near.stub }), ` ${near.route} `, el("span", { class: "muted", text: near.source })),
          first
            ? el(
                "div",
                { class: "difference" },
                el("strong", { text: `${first.field}: ` }),
                el("span", { class: "why", text: first.why }),
                el("div", { class: "muted", text: `expected ${first.expected}; got ${first.actual}` }),
              )
            : null,
          near.shadowed ? el("div", { class: "muted", text: `shadowed by ${near.shadowed}` }) : null,
        );
      }),
    ),
  );
}
