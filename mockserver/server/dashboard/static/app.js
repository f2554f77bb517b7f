// The dashboard: the live journal beside what is served now, and the buttons that reset,
// reload and clear. Loaded as a module from the page (no inline script: the CSP forbids it).

import { call, stream } from "./api.js";
import { onEvent, redraw, setStubs } from "./journal.js";
import { loadMessages, loadNamespaces, loadResources, loadScenarios, loadStubs } from "./panels.js";

const status = document.getElementById("status");

function say(text, ok) {
  status.textContent = text;
  status.className = ok ? "status ok" : "status problem";
}

function failed(error) {
  say(error.message, false);
}

async function refresh() {
  setStubs(await loadStubs());
  const loads = [loadScenarios(refresh), loadResources(), loadNamespaces()];
  // Where the server has AMQP doubles (it says so in the page), their messages too.
  if (document.body.dataset.messages === "on") loads.push(loadMessages());
  await Promise.all(loads);
}
refresh.fail = failed;

// Hits and states change with every request: the panels follow the journal, at most every two
// seconds and not while the tab is hidden (a large stub set is a large answer).
const REFRESH_MS = 2000;
let refreshing = null;
function refreshSoon() {
  if (refreshing) return;
  refreshing = setTimeout(() => {
    refreshing = null;
    if (document.hidden) document.addEventListener("visibilitychange", refreshSoon, { once: true });
    else refresh().catch(failed);
  }, REFRESH_MS);
}

function button(id, action) {
  document.getElementById(id).addEventListener("click", async () => {
    try {
      const answer = await action();
      say(answer.status || "done", true);
      await refresh();
    } catch (error) {
      failed(error);
    }
  });
}

button("reset", () => call("POST", "/reset"));
button("reload", () => call("POST", "/reload"));
button("clear", () => call("DELETE", "/requests"));
for (const id of ["f-service", "f-status", "f-matched", "f-text"]) {
  // Both: a select chosen by keyboard or script may fire only "change".
  for (const kind of ["input", "change"]) document.getElementById(id).addEventListener(kind, redraw);
}

refresh()
  .then(() =>
    stream((kind, data) => {
      onEvent(kind, data);
      if (kind === "entries") refreshSoon();
    }, say),
  )
  .catch(failed);
