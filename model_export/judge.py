"""``newsburst judge``: the runtime's faithfulness check on rows of (article, summary), and how well
it agrees with people's judgments where the rows carry a ``label`` (faithful / unfaithful).

The rows are judged by the same code the runtime's guard runs (functions/runtime/faithfulness/judge.py);
only the bookkeeping lives here: reading rows, timing, and the agreement metrics per data set.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score
from tqdm import tqdm

from functions.runtime.faithfulness.judge import judge
from functions.runtime.guard import GuardReport
from functions.runtime.model import LocalModel
from model_export.corpus import read_eval_jsonl
from model_export.errors import ExportError
from model_export.references import dataset_of, format_of

LABELS = ("faithful", "unfaithful")


@dataclass
class Judged:
    row: dict
    report: GuardReport
    ms: float


def read_rows(path: Path) -> list[dict]:
    """Rows with ``id``, ``article`` and ``summary``; a bad line is refused with its line number."""
    rows = read_eval_jsonl(path, frozenset({"id", "article", "summary"}))
    for n, row in enumerate(rows, 1):
        if row.get("label") not in (None, *LABELS):
            raise ExportError(f"{path}: row {n} ({row['id']}): label must be one of {', '.join(LABELS)}")
    return rows


def judge_rows(rows: Sequence[dict], model: LocalModel | None, scorer: str | None = None) -> list[Judged]:
    out = []
    for row in tqdm(rows, desc="judge", unit="summary"):
        start = time.perf_counter()
        report = judge(row["summary"], row["article"], format_of(row), model, scorer=scorer)
        out.append(Judged(row, report, (time.perf_counter() - start) * 1000))
    return out


def agreement(labels: Sequence[bool], flagged: Sequence[bool], support: Sequence[float]) -> dict:
    """As a detector of the unfaithful: recall, specificity, balanced accuracy, ROC-AUC of 1 - support."""
    y, f = np.asarray(labels), np.asarray(flagged)
    both = len(set(y.tolist())) == 2
    return {
        "summaries": len(y),
        "unfaithful": int(y.sum()),
        "recall": round(float(recall_score(y, f, zero_division=0)), 3),
        "specificity": round(float(recall_score(~y, ~f, zero_division=0)), 3),
        "balanced_accuracy": round(float(balanced_accuracy_score(y, f)), 3) if both else None,
        "roc_auc": round(float(roc_auc_score(y, -np.asarray(support))), 3) if both else None,
    }


def per_dataset(judged: Sequence[Judged]) -> dict[str, dict]:
    """Agreement with the rows' labels, per ``dataset`` (rows without a label are left out)."""
    groups: dict[str, list[Judged]] = defaultdict(list)
    for j in judged:
        if j.row.get("label"):
            groups[dataset_of(j.row)].append(j)
    return {
        name: agreement(
            [j.row["label"] == "unfaithful" for j in js],
            [j.report.flagged for j in js],
            [j.report.verdict.support if j.report.verdict else 0.0 for j in js],
        )
        | {"ms_per_summary": round(float(np.mean([j.ms for j in js])), 1)}
        for name, js in sorted(groups.items())
    }


def row_result(j: Judged) -> dict:
    v = j.report.verdict
    return {
        "id": j.row["id"],
        "flagged": j.report.flagged,
        "support": round(v.support, 3) if v else 0.0,
        "scorer": v.scorer if v else None,
        "unsupported_claims": j.report.unsupported_claims,
        "sentences": [
            {
                "text": j.row["summary"][s.start : s.end],
                "support": round(s.support, 3),
                "supported": s.supported,
                "reasons": list(s.reasons),
            }
            for s in (v.sentences if v else ())
        ],
        "ms": round(j.ms, 1),
    }
