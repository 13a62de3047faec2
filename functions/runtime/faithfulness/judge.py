"""Judge one summary against its article: the guard's claims, the model's evidence when a model is
given, and the checker's verdict, in one report. The runtime's summaries (the Lambda's and the GPU
endpoint's), ``newsburst judge`` and the eval all come through here."""

from __future__ import annotations

from collections.abc import Sequence

from functions.runtime.faithfulness.checker import check as verdict_of
from functions.runtime.faithfulness.checker import served
from functions.runtime.faithfulness.evidence import token_evidence
from functions.runtime.guard import GuardReport, check
from functions.runtime.model import LocalModel
from functions.runtime.prompt import Format


def judge(
    summary: str,
    article: str,
    fmt: Format,
    model: LocalModel | None = None,
    given: tuple[Sequence[int], Sequence[float]] | None = None,
    scorer: str | None = None,
) -> GuardReport:
    """``model``: the bundle whose graph scores the summary, used when the scorer (``scorer``, by
    default the one the fit chose to serve) reads the model's evidence; ``given``: the generation's
    own tokens and log-probabilities, when ``summary`` is its output."""
    report = check(summary, article)
    if report.degenerate == "empty":
        return report
    wants_model = (scorer or served()) == "model" and model is not None
    evidence = token_evidence(model, article, summary, fmt, given) if wants_model else None
    report.verdict = verdict_of(summary, article, fmt, report.claims, evidence)
    return report
