// A summary with its evidence: each sentence marked supported or not by the article (the
// faithfulness check's), and within it the numbers and names marked found or not found; a tip
// with the article's passage or sentence. Untrusted text reaches the page only through textContent.
"use strict";

const tip = () => $("#tip");
const opens = new WeakMap(); // a marked element -> how to show its tip
let tipOwner = null; // the element the tip now describes

function openTip(el, fill) {
  const box = tip();
  box.replaceChildren();
  fill(box);
  const r = el.getBoundingClientRect();
  box.style.left = `${Math.max(8, r.left + window.scrollX)}px`;
  box.style.top = `${r.bottom + window.scrollY + 6}px`;
  box.hidden = false;
  if (tipOwner && tipOwner !== el) tipOwner.removeAttribute("aria-describedby");
  tipOwner = el;
  el.setAttribute("aria-describedby", "tip");
}

function closeTip(el, e) {
  if (tipOwner !== el) return; // another mark's tip is showing now
  tip().hidden = true;
  el.removeAttribute("aria-describedby");
  tipOwner = null;
  // from a claim back into the rest of its sentence: the sentence's tip again
  const to = e && e.relatedTarget instanceof Element ? e.relatedTarget.closest(".sentence") : null;
  if (to && to !== el && opens.has(to)) opens.get(to)();
}

function withTip(el, show) {
  opens.set(el, show);
  for (const on of ["mouseenter", "focus"]) el.addEventListener(on, show);
  for (const off of ["mouseleave", "blur"]) el.addEventListener(off, (e) => closeTip(el, e));
}

function para(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

// -- claims: the numbers and names ------------------------------------------------------------
function claimTip(box, ev) {
  if (ev.supported && ev.sentence) {
    const quote = document.createElement("blockquote");
    const [a, b] = ev.in_sentence || [0, 0];
    const strong = document.createElement("strong");
    strong.textContent = ev.sentence.slice(a, b);
    quote.append(ev.sentence.slice(0, a), strong, ev.sentence.slice(b));
    box.append(para("tip-head", `“${ev.text}” in the article:`), quote);
  } else {
    box.append(para("tip-head", `“${ev.text}” is not found in the article.`));
  }
}

function claimMark(text, ev) {
  const mark = document.createElement("mark");
  mark.className = `claim ${ev.supported ? "supported" : "unsupported"}`;
  mark.tabIndex = 0;
  mark.textContent = text.slice(ev.start, ev.end);
  mark.setAttribute("aria-label", ev.supported
    ? `${ev.text}: ${ev.kind} found in the article`
    : `${ev.text}: ${ev.kind} not found in the article`);
  if (!ev.supported) {
    const flag = document.createElement("span");
    flag.className = "flag";
    flag.setAttribute("aria-hidden", "true");
    flag.textContent = "?";
    mark.append(flag);
  }
  withTip(mark, () => openTip(mark, (box) => claimTip(box, ev)));
  return mark;
}

// text[from, to) into parent, with the claims wholly inside it marked (claims sorted by start)
function appendClaims(parent, text, from, to, claims) {
  let at = from;
  for (const ev of claims) {
    if (ev.start < at || ev.end > to) continue; // overlapping, across a sentence's edge, or stale: plain text
    parent.append(text.slice(at, ev.start), claimMark(text, ev));
    at = ev.end;
  }
  parent.append(text.slice(at, to));
}

// -- sentences: the faithfulness check's support ------------------------------------------------
const supportOf = (s) => (Number.isFinite(s.support) ? s.support.toFixed(2) : "unknown");

function sentenceTip(box, s) {
  const support = `(support ${supportOf(s)})`;
  if (s.supported) {
    box.append(para("tip-head", s.source
      ? `Supported by the article ${support}:` : `Supported by the article ${support}.`));
  } else {
    box.append(para("tip-head", `Not supported by the article ${support}.`));
    if ((s.reasons || []).length) {
      const list = document.createElement("ul");
      list.className = "reasons";
      for (const reason of s.reasons) {
        const item = document.createElement("li");
        item.textContent = reason;
        list.append(item);
      }
      box.append(list);
    }
    if (s.source) box.append(para("tip-head", "The closest passage in the article:"));
  }
  if (s.source) {
    const quote = document.createElement("blockquote");
    quote.textContent = `“${s.source}”`;
    box.append(quote);
  }
}

function sentenceSpan(text, s, claims) {
  const span = document.createElement("span");
  span.className = `sentence ${s.supported ? "supported" : "unsupported"}`;
  span.tabIndex = 0;
  span.setAttribute("role", "group");
  const reasons = (s.reasons || []).join("; ");
  span.setAttribute("aria-label", s.supported
    ? `sentence supported by the article (support ${supportOf(s)})`
    : `sentence not supported by the article (support ${supportOf(s)})${reasons ? `: ${reasons}` : ""}`);
  appendClaims(span, text, s.start, s.end, claims);
  if (!s.supported) {
    const flag = document.createElement("span");
    flag.className = "sentence-flag";
    flag.setAttribute("aria-hidden", "true");
    flag.textContent = "⚠ unsupported";
    span.append(flag);
  }
  withTip(span, () => openTip(span, (box) => sentenceTip(box, s)));
  return span;
}

// the summary into el: its sentences (when checked), each with its claims nested inside
function renderSummary(el, text, evidence, sentences) {
  el.replaceChildren();
  const claims = [...(evidence || [])].sort((x, y) => x.start - y.start);
  let at = 0;
  for (const s of [...(sentences || [])].sort((x, y) => x.start - y.start)) {
    if (s.start < at || s.end > text.length || s.end <= s.start) continue; // overlapping or stale: plain text
    appendClaims(el, text, at, s.start, claims);
    el.append(sentenceSpan(text, s, claims));
    at = s.end;
  }
  appendClaims(el, text, at, text.length, claims);
}
