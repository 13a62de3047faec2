"""``newsburst eval``: ROUGE and faithfulness of a bundle per decoding mode, beside its teacher and lead-3."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from functions.runtime.grounding import Grounding
from functions.runtime.model import load_model
from functions.runtime.summarize import Summarizer
from model_export.corpus import read_eval_jsonl
from model_export.scoring import lead, rouge


def _mode_row(summarize: Summarizer, rows: list[dict], label: str, mode: Grounding) -> dict:
    preds, rates, setups, flagged, claims = [], [], [], 0, 0
    for row in tqdm(rows, desc=f"eval {label} ({mode})", unit="article", leave=False):
        start = time.perf_counter()
        summarize.constraint(row["article"], mode)  # timed alone: the per-request set-up cost
        setups.append((time.perf_counter() - start) * 1000)
        s = summarize(row["article"], grounding=mode)
        preds.append(s.text)
        rates.append(s.generation.decode_tokens_per_second)
        flagged += s.guard.flagged
        claims += len(s.guard.unsupported_claims)
    return {
        **rouge(preds, [r["reference"] for r in rows]),
        "flagged_pct": round(100 * flagged / len(rows), 1),
        "unsupported_per_summary": round(claims / len(rows), 2),
        "decode_tok_s": round(statistics.median(rates), 1),
        "setup_ms": round(statistics.median(setups), 2),
    }


def _bundle_rows(bundle: Path, rows: list[dict], label: str, modes: Sequence[Grounding]) -> dict:
    summarize = Summarizer(load_model(bundle))
    summarize.constraint(rows[0]["article"], "spans")  # the once-per-model vocabulary scan, outside the timing
    return {"version": summarize.model.manifest.version, **{m: _mode_row(summarize, rows, label, m) for m in modes}}


def evaluate(
    bundle: Path,
    data: Path,
    teacher_bundle: Path | None = None,
    limit: int | None = None,
    modes: Sequence[Grounding] = ("off", "tokens", "spans"),
) -> dict:
    rows = read_eval_jsonl(data)[:limit]
    result = {"articles": len(rows), "modes": list(modes), "bundle": _bundle_rows(bundle, rows, "bundle", modes)}
    if teacher_bundle is not None:
        result["teacher"] = _bundle_rows(teacher_bundle, rows, "teacher", modes)
    result["lead3"] = rouge([lead(r["article"]) for r in rows], [r["reference"] for r in rows])
    return result
