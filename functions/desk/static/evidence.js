// A summary with its evidence: the numbers and names marked found or not found in the article,
// and a tip with the article's sentence. Untrusted text reaches the page only through textContent.
"use strict";

const tip = () => $("#tip");

function showTip(mark, ev) {
  const box = tip();
  box.replaceChildren();
  const head = document.createElement("p");
  head.className = "tip-head";
  if (ev.supported && ev.sentence) {
    head.textContent = `“${ev.text}” in the article:`;
    const quote = document.createElement("blockquote");
    const [a, b] = ev.in_sentence || [0, 0];
    const strong = document.createElement("strong");
    strong.textContent = ev.sentence.slice(a, b);
    quote.append(ev.sentence.slice(0, a), strong, ev.sentence.slice(b));
    box.append(head, quote);
  } else {
    head.textContent = `“${ev.text}” is not found in the article.`;
    box.append(head);
  }
  const r = mark.getBoundingClientRect();
  box.style.left = `${Math.max(8, r.left + window.scrollX)}px`;
  box.style.top = `${r.bottom + window.scrollY + 6}px`;
  box.hidden = false;
  mark.setAttribute("aria-describedby", "tip");
}

function hideTip(mark) {
  tip().hidden = true;
  mark.removeAttribute("aria-describedby");
}

function renderSummary(el, text, evidence) {
  el.replaceChildren();
  let at = 0;
  const claims = [...(evidence || [])].sort((x, y) => x.start - y.start);
  for (const ev of claims) {
    if (ev.start < at || ev.end > text.length) continue; // overlapping or stale: plain text
    el.append(text.slice(at, ev.start));
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
    for (const on of ["mouseenter", "focus"]) mark.addEventListener(on, () => showTip(mark, ev));
    for (const off of ["mouseleave", "blur"]) mark.addEventListener(off, () => hideTip(mark));
    el.append(mark);
    at = ev.end;
  }
  el.append(text.slice(at));
}
