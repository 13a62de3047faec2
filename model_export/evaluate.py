"""``newsburst eval``: ROUGE of a bundle beside its teacher and a lead-3 baseline."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from functions.runtime.model import load_model
from functions.runtime.summarize import Summarizer
from model_export.corpus import read_eval_jsonl
from model_export.scoring import lead, rouge


def _bundle_row(bundle: Path, rows: list[dict], label: str) -> dict:
    summarize = Summarizer(load_model(bundle))
    preds, rates, flagged, claims = [], [], 0, 0
    for row in tqdm(rows, desc=f"eval {label}", unit="article", leave=False):
        s = summarize(row["article"])
        preds.append(s.text)
        rates.append(s.generation.decode_tokens_per_second)
        flagged += s.guard.flagged
        claims += len(s.guard.unsupported_claims)
    return {
        **rouge(preds, [r["reference"] for r in rows]),
        "flagged_pct": round(100 * flagged / len(rows), 1),
        "unsupported_per_summary": round(claims / len(rows), 2),
        "decode_tok_s": round(sorted(rates)[len(rates) // 2], 1),
        "version": summarize.model.manifest.version,
    }


def evaluate(bundle: Path, data: Path, teacher_bundle: Path | None = None, limit: int | None = None) -> dict:
    rows = read_eval_jsonl(data)[:limit]
    result = {"articles": len(rows), "bundle": _bundle_row(bundle, rows, "bundle")}
    if teacher_bundle is not None:
        result["teacher"] = _bundle_row(teacher_bundle, rows, "teacher")
    result["lead3"] = rouge([lead(r["article"]) for r in rows], [r["reference"] for r in rows])
    if "teacher" in result and result["teacher"]["rougeLsum"]:
        result["bundle_vs_teacher_rougeLsum"] = round(result["bundle"]["rougeLsum"] / result["teacher"]["rougeLsum"], 3)
    return result
