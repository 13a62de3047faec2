"""``newsburst eval``: a bundle beside its teacher, the cascade of the two and lead-3, per data set.

Articles are routed as the functions route them: one over the student's local budget is
summarized by the escalation model (the teacher bundle here) and counted as escalated, never
truncated and never a crash. Besides ROUGE and the guard's flagged share, fluency is measured
two ways: the teacher's mean negative log-likelihood per token of each summary (lower reads
more like the teacher), and the share of summaries that stopped on a loop or end mid-sentence.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from functions.runtime.cascade import needs_teacher
from functions.runtime.faithfulness.judge import judge
from functions.runtime.grounding import DEFAULT_GROUNDING, Grounding
from functions.runtime.guard import GuardReport
from functions.runtime.model import LocalModel, load_model
from functions.runtime.prompt import Format
from functions.runtime.summarize import Summarizer, Summary
from model_export.candidates import best_of
from model_export.corpus import read_eval_jsonl
from model_export.references import format_of
from model_export.scoring import lead, rouge

_SENTENCE_END = tuple(".!?\"'”’)")


@dataclass
class Run:
    """One system's summaries of one data set, row by row."""

    texts: list[str] = field(default_factory=list)
    summaries: list[Summary | None] = field(default_factory=list)  # None: written by the escalation model
    nll: list[float] = field(default_factory=list)  # the teacher's mean NLL per token; nan when unscored
    rates: list[float] = field(default_factory=list)  # decode tokens/s of local rows
    setups: list[float] = field(default_factory=list)  # grounding set-up ms of local rows
    ms: list[float] = field(default_factory=list)  # wall ms per local row, set-up and decode

    def add(self, text: str, summary: Summary | None, nll: float) -> None:
        self.texts.append(text)
        self.summaries.append(summary)
        self.nll.append(nll)


def teacher_nll(teacher: Summarizer, article: str, text: str) -> float:
    """The teacher's mean negative log-likelihood per token of ``text`` as its summary of ``article``."""
    summary = teacher.model.tokenizer.encode(text, add_special_tokens=False).ids
    if not summary:
        return math.nan
    prompt = teacher.model.encode_prompt(article)
    decoder = teacher.decoder
    # teacher forcing through the KV cache: the graph gives the last position's logits only
    logits, past = decoder.prefill(prompt)
    nll = []
    for i, token in enumerate(summary):
        row = logits[0, -1].astype(np.float64)
        peak = row.max()
        nll.append(peak + np.log(np.exp(row - peak).sum()) - row[token])
        if i + 1 < len(summary):
            logits, past = decoder.step(np.asarray([[token]], np.int64), len(prompt) + i + 1, past)
    return float(np.mean(nll))


def _own_nll(s: Summary) -> float:
    """The writer's own NLL of what it kept (the teacher scoring its own summaries needs no second pass)."""
    kept = s.generation.token_logprobs[: len(s.generation.token_ids)]
    return -float(np.mean(kept)) if kept else math.nan


def summarize_rows(
    summarizer: Summarizer,
    articles: Sequence[str],
    mode: Grounding,
    label: str,
    escalation: Run | None = None,
    scorer: Summarizer | None = None,
    fmt: Format | None = None,
    candidates: int = 1,
) -> Run:
    """Summaries of every article, routed like the functions: over-budget ones come from
    ``escalation`` (or lead sentences without one). ``scorer``: the teacher that scores NLL;
    None when ``summarizer`` is the teacher itself. ``candidates`` > 1: each local row is the
    chosen one of that many (``candidates.best_of``)."""
    run = Run()
    for i, article in enumerate(tqdm(articles, desc=f"{label} ({mode})", unit="article", leave=False)):
        if summarizer.decide(article, fmt=fmt)[1].route == "escalate":
            if escalation is None:
                run.add(lead(article), None, math.nan)
            else:
                run.add(escalation.texts[i], None, escalation.nll[i])
            continue
        start = time.perf_counter()
        summarizer.constraint(article, mode)  # timed alone: the per-request set-up cost
        run.setups.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        s = summarizer(article, grounding=mode, fmt=fmt)
        if candidates > 1:
            s = best_of(summarizer, article, s, candidates, mode, fmt, seed=i)
        run.ms.append((time.perf_counter() - start) * 1000)
        run.rates.append(s.generation.decode_tokens_per_second)
        run.add(s.text, s, teacher_nll(scorer, article, s.text) if scorer else _own_nll(s))
    return run


SPEED_PAIRS = 8  # articles decoded by both models back to back for the speed ratio


def paired_decode(
    student: Summarizer, teacher: Summarizer, articles: Sequence[str], mode: Grounding, fmt: Format | None = None
) -> dict:
    """Decode speed of the two models on the same articles, taking turns article by article in
    this run: the teacher's summaries may come from the cache, its speed never does."""
    rates: dict[str, list[float]] = {"student": [], "teacher": []}
    for article in articles:
        for name, model in (("student", student), ("teacher", teacher)):
            rates[name].append(model(article, grounding=mode, fmt=fmt).generation.decode_tokens_per_second)
    if not articles:
        return {"paired_decode_tok_s": None, "teacher_paired_decode_tok_s": None, "decode_x_teacher": None}
    s, t = statistics.median(rates["student"]), statistics.median(rates["teacher"])
    return {
        "paired_decode_tok_s": round(s, 1),
        "teacher_paired_decode_tok_s": round(t, 1),
        "decode_x_teacher": round(s / t, 2) if t else None,
    }


def cascade(student: Run, teacher: Run, threshold: float | None) -> tuple[Run, int]:
    """The served mix under ``NEWSBURST_FLAGGED_POLICY=escalate``, and how many rows it re-did."""
    mix, redone = Run(rates=student.rates, setups=student.setups), 0
    for i, s in enumerate(student.summaries):
        if s is not None and needs_teacher(s, threshold):
            mix.add(teacher.texts[i], None, teacher.nll[i])
            redone += 1
        else:
            mix.add(student.texts[i], s, student.nll[i])
    return mix, redone


@dataclass(frozen=True)
class Checker:
    """The faithfulness check every system's summaries are judged by in one eval: the student bundle's
    (the one the Lambda runs), so the student, the teacher and lead-3 are judged alike."""

    model: LocalModel
    fmt: Format

    def reports(
        self, texts: Sequence[str], articles: Sequence[str], own: Sequence[Summary | None] = ()
    ) -> list[GuardReport]:
        """``own``: the run's summaries that the checker's model wrote, and so already judged."""
        own = list(own) or [None] * len(texts)
        return [
            s.guard if s is not None else judge(t, a, self.fmt, self.model)
            for s, t, a in zip(own, texts, articles, strict=True)
        ]


def faithfulness_metrics(reports: Sequence[GuardReport]) -> dict:
    sentences = [s for r in reports if r.verdict for s in r.verdict.sentences]
    return {
        "unsupported_sentences_pct": round(100 * sum(not s.supported for s in sentences) / max(len(sentences), 1), 1),
        "support": round(statistics.mean(r.verdict.support for r in reports if r.verdict), 3) if sentences else None,
    }


def run_metrics(run: Run, articles: Sequence[str], references: Sequence[str], reports: list[GuardReport]) -> dict:
    n = max(len(run.texts), 1)
    local = [s for s in run.summaries if s is not None]
    model_ms = [1000 * (s.generation.prefill_seconds + s.generation.decode_seconds) for s in local]
    check_ms = [1000 * s.check_seconds for s in local]
    cut = [
        (s is not None and s.generation.stop_reason == "loop") or not t.rstrip().endswith(_SENTENCE_END)
        for s, t in zip(run.summaries, run.texts, strict=True)
    ]
    scored = [x for x in run.nll if not math.isnan(x)]
    return {
        **rouge(run.texts, list(references)),
        "flagged_pct": round(100 * sum(r.flagged for r in reports) / n, 1),
        **faithfulness_metrics(reports),
        "dropped_sentences": sum(s.dropped_sentences for s in local),
        "unsupported_per_summary": round(sum(len(r.unsupported_claims) for r in reports) / n, 2),
        "loop_or_cut_pct": round(100 * sum(cut) / n, 1),
        "teacher_nll": round(statistics.mean(scored), 3) if scored else None,
        "escalated_pct": round(100 * sum(s is None for s in run.summaries) / n, 1),
        "words": mean_words(run.texts),
        "decode_tok_s": round(statistics.median(run.rates), 1) if run.rates else None,
        "setup_ms": round(statistics.median(run.setups), 2) if run.setups else None,
        "ms_per_item": round(statistics.mean(run.ms), 1) if run.ms else None,
        "check_ms": round(statistics.median(check_ms), 1) if check_ms else None,
        "check_pct_of_model": round(100 * sum(check_ms) / sum(model_ms), 1) if model_ms and sum(model_ms) else None,
    }


def mean_words(texts: Sequence[str]) -> float:
    return round(statistics.mean(len(t.split()) for t in texts), 1) if texts else 0.0


def teacher_run(
    teacher: Summarizer, articles: list[str], mode: Grounding, cache_dir: Path | None, fmt: Format | None = None
) -> Run:
    """The teacher's summaries, cached by teacher version, mode, format and articles: comparing
    several students on the same data set pays for the slow teacher once."""
    if cache_dir is None:
        return summarize_rows(teacher, articles, mode, "teacher", fmt=fmt)
    blob = json.dumps([teacher.model.manifest.version, mode, fmt or teacher.format, articles]).encode()
    path = cache_dir / "eval" / f"teacher-{hashlib.sha256(blob).hexdigest()[:24]}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    run = summarize_rows(teacher, articles, mode, "teacher", fmt=fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_bytes(pickle.dumps(run))
    path.with_suffix(".tmp").replace(path)
    return run


def _dataset(
    student: Summarizer,
    teacher: Summarizer | None,
    rows: list[dict],
    modes: Sequence[Grounding],
    cache_dir: Path | None,
    fmt: Format,
    candidates: int = 1,
) -> dict:
    articles, refs = [r["article"] for r in rows], [r["reference"] for r in rows]
    checker = Checker(student.model, fmt)
    systems: dict[str, dict] = {"student": {}, "teacher": {}, "cascade": {}, f"student_best_of_{candidates}": {}}
    for mode in modes:
        t_run = teacher_run(teacher, articles, mode, cache_dir, fmt) if teacher else None
        s_run = summarize_rows(student, articles, mode, "student", t_run, teacher, fmt)
        systems["student"][mode] = run_metrics(
            s_run, articles, refs, checker.reports(s_run.texts, articles, s_run.summaries)
        )
        if candidates > 1:
            best = summarize_rows(
                student, articles, mode, f"student best of {candidates}", t_run, None, fmt, candidates
            )
            best_reports = checker.reports(best.texts, articles, best.summaries)
            systems[f"student_best_of_{candidates}"][mode] = run_metrics(best, articles, refs, best_reports)
        if t_run is None:
            continue
        systems["teacher"][mode] = run_metrics(t_run, articles, refs, checker.reports(t_run.texts, articles))
        mix, redone = cascade(s_run, t_run, student.model.manifest.confidence_threshold)
        systems["cascade"][mode] = run_metrics(
            mix, articles, refs, checker.reports(mix.texts, articles, mix.summaries)
        ) | {
            "escalated_pct": round(100 * sum(s is None for s in mix.summaries) / len(rows), 1),
            "low_confidence_pct": round(100 * redone / len(rows), 1),
        }
        # the student's own quality: the rows it wrote itself, against the teacher on the same rows
        local = [i for i, s in enumerate(s_run.summaries) if s is not None]
        mine = rouge([s_run.texts[i] for i in local], [refs[i] for i in local])["rougeLsum"]
        theirs = rouge([t_run.texts[i] for i in local], [refs[i] for i in local])["rougeLsum"]
        systems["student"][mode] |= {
            "local_rougeLsum": mine,
            "local_teacher_rougeLsum": theirs,
            "local_x_teacher": round(mine / theirs, 2) if theirs else None,
        }
        t = systems["teacher"][mode]["rougeLsum"]
        for name in ("student", "cascade"):
            v = systems[name][mode]["rougeLsum"]
            systems[name][mode]["rougeLsum_x_teacher"] = round(v / t, 2) if v and t else None
        speeds = paired_decode(student, teacher, [articles[i] for i in local[:SPEED_PAIRS]], mode, fmt)
        systems["student"][mode] |= speeds
        systems["teacher"][mode]["paired_decode_tok_s"] = speeds.pop("teacher_paired_decode_tok_s")
    leads = [lead(a) for a in articles]
    lead_reports = checker.reports(leads, articles)
    systems["lead3"] = rouge(leads, refs) | {"words": mean_words(leads), **faithfulness_metrics(lead_reports)}
    return {name: value for name, value in systems.items() if value}


def evaluate(
    bundle: Path,
    data: Sequence[Path],
    teacher_bundle: Path | None = None,
    limit: int | None = None,
    modes: Sequence[Grounding] = (DEFAULT_GROUNDING,),
    cache_dir: Path | None = None,
    formats: Sequence[Format | None] = (),
    candidates: int = 1,
) -> dict:
    """``formats``: one per data set in order (None or missing: the data set's own, by its rows).
    ``candidates`` > 1 adds the student choosing among that many (greedy + sampled) per article."""
    datasets = {str(path): read_eval_jsonl(path)[:limit] for path in data}  # all read before hours of decoding
    chosen = list(formats) + [None] * (len(datasets) - len(formats))
    fmts = {path: f or format_of(rows[0]) for (path, rows), f in zip(datasets.items(), chosen, strict=True)}
    student = Summarizer(load_model(bundle))
    teacher = Summarizer(load_model(teacher_bundle)) if teacher_bundle else None
    for s in (student, teacher):
        if s is not None:
            s.constraint("warm-up", DEFAULT_GROUNDING)  # the once-per-model vocabulary scan, outside the timing
    return {
        "bundle": student.model.manifest.version,
        "teacher": teacher.model.manifest.version if teacher else None,
        "modes": list(modes),
        "datasets": {
            path: {
                "articles": len(rows),
                "format": fmts[path],
                "reference_words": mean_words([r["reference"] for r in rows]),
                "systems": _dataset(student, teacher, rows, modes, cache_dir, fmts[path], candidates),
            }
            for path, rows in datasets.items()
        },
    }
