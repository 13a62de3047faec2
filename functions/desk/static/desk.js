// The editors' desk: the stories as they arrive, the verdicts, and "summarize now". Plain script, no
// build step, after api.js and evidence.js. Untrusted text reaches the page only through textContent.
"use strict";

const shown = new Map(); // story key -> its <li>
let cursor = null;

// -- stories ------------------------------------------------------------------------------------
function meta(story) {
  const route = { local: "local model", escalate: "GPU endpoint", cache: "cache", fallback: "lead sentences" };
  return [story.format || "default format", route[story.route] || story.route,
    `model ${String(story.model_version).slice(0, 12)}`, `${Math.round(story.latency_ms)} ms`].join(" · ");
}

function flags(story) {
  const f = story.faithfulness || {};
  const out = [];
  if (story.story_id) {
    const update = story.update_of ? ` updates v${story.update_of}` : story.route === "story" ? " (reused)" : "";
    out.push(`story ${story.story_id.slice(0, 8)} v${story.story_version}${update}`);
    if ((story.new_facts || []).length) out.push(`new: ${story.new_facts.join(", ")}`);
    if ((story.gone_facts || []).length) out.push(`gone: ${story.gone_facts.join(", ")}`);
  }
  if (f.flagged) out.push("FLAGGED");
  if ((f.unsupported_claims || []).length) out.push(`unsupported: ${f.unsupported_claims.join(", ")}`);
  if ((f.instructions_in_article || []).length) out.push("the article addresses the model");
  if (story.fallback) out.push("fallback: the article's lead sentences");
  return out.join(" · ");
}

function judged(li, verdict) {
  const what = { approve: "approved", reject: `rejected (${(verdict.reason || "").replace(/_/g, " ")})`, edit: "edited" };
  $(".judged", li).textContent = `You ${what[verdict.verdict]}.`;
  li.dataset.verdict = verdict.verdict;
}

async function postVerdict(li, body) {
  const res = await api("/desk/api/verdicts", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ story: li.dataset.key, ...body }),
  });
  judged(li, await res.json());
}

function addStory(story) {
  if (shown.has(story.key)) return;
  const li = $("#story-template").content.firstElementChild.cloneNode(true);
  li.dataset.key = story.key;
  li.dataset.id = story.id;
  $(".title", li).textContent = story.title || story.id;
  $(".meta", li).textContent = meta(story);
  renderSummary($(".summary", li), story.summary, story.evidence, (story.faithfulness || {}).sentences);
  $(".flags", li).textContent = flags(story);
  $(".approve", li).addEventListener("click", () => postVerdict(li, { verdict: "approve" }).catch(report));
  $(".reject", li).addEventListener("click",
    () => postVerdict(li, { verdict: "reject", reason: $(".reason", li).value }).catch(report));
  const editor = $(".editor", li);
  $(".edit", li).addEventListener("click", () => {
    $(".edited", li).value = story.summary;
    editor.hidden = false;
    $(".edited", li).focus();
  });
  $(".cancel", li).addEventListener("click", () => { editor.hidden = true; });
  editor.addEventListener("submit", (e) => {
    e.preventDefault();
    postVerdict(li, { verdict: "edit", summary: $(".edited", li).value })
      .then(() => { editor.hidden = true; })
      .catch(report);
  });
  if (story.verdict) judged(li, story.verdict);
  shown.set(story.key, li);
  $("#stories").prepend(li); // newest first
  if (story.story_id) { // a story's earlier items follow its newest: threads, not repeats
    li.dataset.story = story.story_id;
    let after = li;
    for (const older of document.querySelectorAll(`#stories > li[data-story="${CSS.escape(story.story_id)}"]`)) {
      if (older === li) continue;
      older.classList.add("earlier");
      after.after(older);
      after = older;
    }
  }
}

async function poll() {
  try {
    const res = await api(`/desk/api/stories${cursor ? `?since=${encodeURIComponent(cursor)}` : ""}`);
    const page = await res.json();
    page.stories.forEach(addStory);
    cursor = page.cursor || cursor;
    setStatus(`${shown.size} stories · polling`);
  } catch (err) {
    setStatus(`cannot reach the desk API: ${err.message}`);
  }
  setTimeout(poll, 3000);
}

function listen() {
  const source = new EventSource(`/desk/api/stream${cursor ? `?since=${encodeURIComponent(cursor)}` : ""}`);
  source.addEventListener("open", () => setStatus(`${shown.size} stories · live`));
  source.addEventListener("story", (e) => {
    const story = JSON.parse(e.data);
    addStory(story);
    cursor = story.key;
    setStatus(`${shown.size} stories · live`);
  });
  source.addEventListener("error", () => {
    source.close();
    setStatus("live stream lost; polling");
    setTimeout(poll, 1000);
  });
}

// -- summarize now: the tokens as the model writes them ----------------------------------------
async function summarizeNow(e) {
  e.preventDefault();
  const live = $("#now-live");
  const state = $("#now-state");
  live.replaceChildren();
  live.dataset.tokens = "0";
  live.classList.add("writing");
  state.textContent = "writing…";
  $("#now-go").disabled = true;
  try {
    const res = await api("/desk/api/summarize", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ title: $("#now-title-input").value, body: $("#now-body").value, format: $("#now-format").value }),
    });
    for await (const { event, data } of sse(res)) {
      if (event === "token") {
        const piece = document.createElement("span");
        piece.className = "tok";
        piece.textContent = data.text;
        live.append(piece);
        live.dataset.tokens = String(Number(live.dataset.tokens) + 1);
      } else if (event === "result") {
        renderSummary(live, data.summary, data.evidence, (data.faithfulness || {}).sentences);
        state.textContent = `done: ${meta(data)}`;
        addStory(data);
      } else if (event === "error") {
        state.textContent = `failed: ${data.error}`;
      }
    }
  } catch (err) {
    state.textContent = `failed: ${err.message}`;
  } finally {
    live.classList.remove("writing");
    $("#now-go").disabled = false;
  }
}

// -- start ----------------------------------------------------------------------------------------
async function start() {
  const token = $("#token");
  token.value = sessionStorage.getItem("newsburst-token") || "";
  token.addEventListener("change", () => sessionStorage.setItem("newsburst-token", token.value));
  const config = await (await api("/desk/api/config")).json();
  for (const f of config.formats) {
    const option = document.createElement("option");
    option.value = option.textContent = f;
    option.selected = f === config.format;
    $("#now-format").append(option);
  }
  $("#now-form").addEventListener("submit", summarizeNow);
  const first = await (await api("/desk/api/stories")).json();
  first.stories.forEach(addStory);
  cursor = first.cursor;
  setStatus(`${shown.size} stories`);
  if (config.streaming && window.EventSource) listen();
  else setTimeout(poll, 3000);
}

document.addEventListener("DOMContentLoaded", () => start().catch(report));
