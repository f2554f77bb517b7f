// The admin API as the page calls it. The token (when the server asks for one) is kept in
// sessionStorage for this tab and sent as Authorization: Bearer, never in a URL. The live
// journal is read with fetch() rather than EventSource, which cannot send that header.

const KEY = "mockserver.adminToken";
export const base = document.body.dataset.base || "/__admin";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ? `${problem.error}: ${problem.detail}` : problem.error || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let asking = null; // one question at a time, whoever needs the token

function askToken(wrong) {
  if (asking) return asking;
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  document.getElementById("token-error").textContent = wrong ? "that token was refused; try again" : "";
  form.hidden = false;
  input.focus();
  asking = new Promise((resolve) => {
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        sessionStorage.setItem(KEY, input.value);
        input.value = "";
        form.hidden = true;
        asking = null;
        resolve();
      },
      { once: true },
    );
  });
  return asking;
}

function headers(extra = {}) {
  const token = sessionStorage.getItem(KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function refused(response) {
  if (response.status !== 401) return false;
  const hadToken = sessionStorage.getItem(KEY) !== null;
  sessionStorage.removeItem(KEY);
  await askToken(hadToken);
  return true;
}

export async function call(method, path, body) {
  for (;;) {
    const init = { method, headers: headers({ Accept: "application/json" }), cache: "no-store" };
    if (method !== "GET") {
      // Writes go as JSON: the admin API refuses other types (a cross-site form cannot send it).
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body ?? {});
    }
    const response = await fetch(base + path, init);
    if (await refused(response)) continue;
    const text = await response.text();
    let data = {};
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { error: `HTTP ${response.status}`, detail: text.slice(0, 200) };
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
}

// Read GET /events until it ends, calling onEvent(kind, data) per event; reconnects, and asks
// for the token on a 401. onState(text, ok) says how the stream is.
export async function stream(onEvent, onState) {
  let pause = 500;
  for (;;) {
    try {
      const response = await fetch(base + "/events", {
        headers: headers({ Accept: "text/event-stream" }),
        cache: "no-store",
      });
      if (await refused(response)) continue;
      if (!response.ok) {
        const problem = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
        onState(new ApiError(response.status, problem).message, false);
        if (response.status === 409) return; // --workers: no live journal, say so and stop
      } else {
        onState("live", true);
        pause = 500;
        await readEvents(response.body, onEvent);
        onState("reconnecting…", false);
      }
    } catch (error) {
      onState(`reconnecting… (${error.message})`, false);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 10000);
  }
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(kind, JSON.parse(data.join("\n")));
    }
  }
}
