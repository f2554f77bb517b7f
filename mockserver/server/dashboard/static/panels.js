// What is served now: stubs (file and runtime, where written, hits), scenarios with a control
// to move one, resources, namespaces and, where the server has them, AMQP messages.

import { call } from "./api.js";
import { el, fillTable, time } from "./render.js";

export async function loadStubs() {
  const { stubs } = await call("GET", "/stubs");
  fillTable(
    document.getElementById("stubs"),
    stubs.map((stub) =>
      el(
        "tr",
        {},
        el("td", {}, el("code", { text: stub.id })),
        el("td", { text: stub.service }),
        el("td", { text: stub.origin === "admin" ? "runtime" : "file" }),
        el("td", { class: "source", text: stub.line ? `${stub.source}:${stub.line}` : stub.source }),
        el("td", { class: "num", text: stub.hits }),
      ),
    ),
    "no stubs",
  );
  return stubs;
}

export async function loadScenarios(onChange) {
  const { scenarios } = await call("GET", "/scenarios");
  const table = document.getElementById("scenarios");
  if (table.contains(document.activeElement)) return; // a state is being typed: keep the field
  fillTable(
    table,
    scenarios.map((scenario) => {
      const input = el("input", { type: "text", value: scenario.state, "aria-label": `state of ${scenario.name}` });
      const set = async () => {
        await call("PUT", `/scenarios/${encodeURIComponent(scenario.name)}`, { state: input.value });
        document.activeElement.blur();
        await onChange();
      };
      return el(
        "tr",
        { "data-scenario": scenario.name },
        el("td", { text: scenario.name }),
        el("td", { class: "state", text: scenario.state }),
        el("td", {}, input, el("button", { type: "button", text: "Set", onclick: () => set().catch(onChange.fail) })),
      );
    }),
    "no scenarios",
  );
}

export async function loadResources() {
  const { resources } = await call("GET", "/resources");
  fillTable(
    document.getElementById("resources"),
    resources.map((r) =>
      el("tr", {}, el("td", { text: r.service ?? "" }), el("td", { text: r.path }), el("td", { class: "num", text: r.items }), el("td", { class: "num", text: r.bytes })),
    ),
    "no resources",
  );
}

export async function loadNamespaces() {
  const { namespaces } = await call("GET", "/namespaces");
  fillTable(
    document.getElementById("namespaces"),
    namespaces.map((ns) =>
      el("tr", {}, el("td", { text: ns.name }), el("td", { class: "num", text: ns.runtime_stubs }), el("td", { class: "num", text: ns.requests }), el("td", { class: "num", text: ns.idle_seconds })),
    ),
    "none held",
  );
}

// AMQP doubles' messages (GET /messages), called only where the server has that route.
export async function loadMessages() {
  const data = await call("GET", "/messages");
  document.getElementById("messages-panel").hidden = false;
  const list = data.messages || [];
  fillTable(
    document.getElementById("messages"),
    list.map((m) =>
      el(
        "tr",
        {},
        el("td", { text: typeof m.at === "number" ? time(m.at * 1000) : m.at ?? "" }),
        el("td", { text: m.exchange ?? "" }),
        el("td", { text: m.routing_key ?? m.routingKey ?? "" }),
        el("td", { class: "num", text: m.body_size ?? (m.body ? m.body.length : "") }),
      ),
    ),
    "no messages",
  );
}
