// The desk's plumbing: errors shown on the page, the same-origin API with its token, and the
// server-sent-event reader. Plain script, no build step; desk.js and evidence.js stand on it.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);

// -- errors are shown, never swallowed --------------------------------------------------------
function showError(message) {
  const box = $("#errors");
  const line = document.createElement("p");
  line.textContent = `Error in the page: ${message}`;
  box.append(line);
  box.hidden = false;
}
window.addEventListener("error", (e) => showError(e.message || String(e.error)));
window.addEventListener("unhandledrejection", (e) => showError(e.reason && e.reason.message || String(e.reason)));

function setStatus(text) {
  $("#status").textContent = text;
}

// -- the API (same origin; the token only where the API asks for one) -------------------------
function headers(extra = {}) {
  const token = sessionStorage.getItem("newsburst-token");
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!res.ok) {
    let reason = res.statusText;
    try { reason = (await res.json()).error || reason; } catch (_) { /* not JSON: keep the status text */ }
    throw new Error(`${path}: ${res.status} ${reason}`);
  }
  return res;
}

function report(err) {
  showError(err.message || String(err));
}

// -- a POST's server-sent events (EventSource only does GET, so the frames are read here) ------
async function* sse(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}
