"""Fit the faithfulness checker's logistic regressions on people's judgments (``newsburst judge --fit``).

Only ``frank_dev`` may be fitted on (issue 35). Its articles whose SHA-1 of ``hash`` is 0 mod 5 (36 of
200, 158 summaries) were set aside before any signal was designed and are never fitted on: the shipped
weights are fitted on the rest, cross-validated there by article, and scored once on the held-out part.

A row's signals are its sentences' (``checker.sentence_signals``); the regression sees the worst value
of each signal over the sentences (a summary is wrong when one sentence is), and the runtime applies
the same weights to each sentence alone, so a summary fails when its weakest sentence does. The
threshold per format is the one that maximizes balanced accuracy on the fitting rows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold
from tqdm import tqdm

from functions.runtime.faithfulness.checker import FORMAT_LEXICAL, features_for, sentence_signals
from functions.runtime.faithfulness.evidence import scorable, token_evidence
from functions.runtime.faithfulness.lexical import ArticleIndex
from functions.runtime.guard import check
from functions.runtime.model import LocalModel
from model_export.judge import agreement
from model_export.references import dataset_of, format_of

HELD_OUT_MODULUS = 5  # an article is held out when int(sha1(hash)) % 5 == 0
FOLDS = 5
C = 1.0  # sklearn's default regularization; not tuned
# the model's evidence is served only when it adds this much cross-validated balanced accuracy on
# both data sets: it costs a prefill a summary, the lexical signals microseconds
SERVE_MODEL_GAIN = 0.02


def held_out(row: dict) -> bool:
    key = str(row.get("hash") or row["id"])
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % HELD_OUT_MODULUS == 0


def row_signals(rows: Sequence[dict], model: LocalModel | None) -> list[list[dict[str, float]]]:
    """Each row's sentence signals (the model's evidence too when ``model`` scores)."""
    out = []
    for row in tqdm(rows, desc="signals", unit="summary"):
        article, summary = row["article"], row["summary"]
        claims = check(summary, article).claims
        evidence = token_evidence(model, article, summary, format_of(row)) if model is not None else None
        out.append([values for _, values, _, _ in sentence_signals(summary, ArticleIndex(article), claims, evidence)])
    return out


def _matrix(signals: Sequence[list[dict[str, float]]], features: Sequence[str]) -> np.ndarray:
    worst = [[max((s[f] for s in sentences), default=0.0) for f in features] for sentences in signals]
    return np.asarray(worst, np.float64)


def _sentence_support(fitted: dict, sentences: list[dict[str, float]]) -> float:
    """The weakest sentence's support under ``fitted`` (as checker.Scorer computes it)."""
    if not sentences:
        return 0.0
    x = np.asarray([[s[f] for f in fitted["features"]] for s in sentences])
    z = (x - fitted["mean"]) / fitted["scale"]
    logit = z @ np.asarray(fitted["coef"]) + fitted["intercept"]
    return float((1.0 / (1.0 + np.exp(logit))).min())


def _best_threshold(unfaithful: np.ndarray, support: np.ndarray) -> float:
    cands = np.unique(support)
    if len(set(unfaithful.tolist())) < 2 or not len(cands):
        return 0.5
    cuts = (cands[:-1] + cands[1:]) / 2 if len(cands) > 1 else cands
    scores = [balanced_accuracy_score(unfaithful, support < c) for c in cuts]
    return float(cuts[int(np.argmax(scores))])


def fit(rows: Sequence[dict], signals: Sequence[list[dict]], features: Sequence[str]) -> dict:
    x = _matrix(signals, features)
    y = np.asarray([r["label"] == "unfaithful" for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit((x - mean) / scale, y)
    fitted = {
        "features": list(features),
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "coef": lr.coef_[0].round(6).tolist(),
        "intercept": round(float(lr.intercept_[0]), 6),
    }
    support = np.asarray([_sentence_support(fitted, s) for s in signals])
    fmts = np.asarray([format_of(r) for r in rows])
    fitted["thresholds"] = {
        str(f): round(_best_threshold(y[fmts == f], support[fmts == f]), 4) for f in sorted(set(fmts.tolist()))
    }
    return fitted


def fit_formats(rows: Sequence[dict], signals: Sequence[list[dict]], features: dict[str, Sequence[str]]) -> dict:
    """One regression a format, each on its own rows and ``features[format]``."""
    fmts = [format_of(r) for r in rows]
    out = {}
    for f in sorted(set(fmts)):
        mine = [i for i, g in enumerate(fmts) if g == f]
        out[f] = fit([rows[i] for i in mine], [signals[i] for i in mine], features[f])
    return out


def score(fitted: dict, rows: Sequence[dict], signals: Sequence[list[dict]], with_claims: bool) -> tuple:
    """Each row's (flagged, support) under its format's regression in ``fitted``: the checker's rule
    (its weakest sentence below the threshold, or a sentence cut short), and with ``with_claims`` the
    guard's unsupported claims also flagging, as the runtime's report does."""
    fmts = [format_of(r) for r in rows]
    support = np.asarray([_sentence_support(fitted[f], s) for s, f in zip(signals, fmts, strict=True)])
    below = np.asarray([s < fitted[f]["thresholds"][f] for s, f in zip(support, fmts, strict=True)])
    below |= np.asarray([any(x["cut"] for x in s) for s in signals])
    claims = np.asarray([any(x["unsupported_claims"] > 0 for x in s) for s in signals])
    return (below | claims) if with_claims else below, support


def _per_dataset(rows, flagged, support) -> dict:
    names = np.asarray([dataset_of(r) for r in rows])
    y = np.asarray([r["label"] == "unfaithful" for r in rows])
    return {str(d): agreement(y[names == d], flagged[names == d], support[names == d]) for d in sorted(set(names))}


def cross_validate(
    rows: Sequence[dict], signals: Sequence[list[dict]], features: dict[str, Sequence[str]], with_claims: bool
):
    """Out-of-fold verdicts, folds by article (a summary is never judged by weights fitted on
    another summary of its own article)."""
    groups = [r.get("hash") or r["id"] for r in rows]
    flagged, support = np.zeros(len(rows), bool), np.zeros(len(rows))
    for train, test in GroupKFold(FOLDS).split(rows, groups=groups):
        fitted = fit_formats([rows[i] for i in train], [signals[i] for i in train], features)
        f, s = score(fitted, [rows[i] for i in test], [signals[i] for i in test], with_claims)
        flagged[test], support[test] = f, s
    return _per_dataset(rows, flagged, support)


def fit_sheet(path: Path, rows: list[dict], model: LocalModel | None) -> dict:
    """Signals, cross-validation, the held-out score and the fitted scorers with their provenance."""
    labelled = [r for r in rows if r.get("label")]
    signals = row_signals(labelled, model if model is not None and scorable(model) else None)
    tune = [i for i, r in enumerate(labelled) if not held_out(r)]
    held = [i for i, r in enumerate(labelled) if held_out(r)]
    with_model = model is not None and bool(signals) and all("low_pmi" in s for ss in signals for s in ss)
    names = ("lexical", "model") if with_model else ("lexical",)
    feature_sets = {name: {f: features_for(name, f) for f in FORMAT_LEXICAL} for name in names}
    scorers, report = {}, {}
    rows_t, sig_t = [labelled[i] for i in tune], [signals[i] for i in tune]
    for name, features in feature_sets.items():
        fitted = fit_formats(rows_t, sig_t, features)
        report[name] = {}
        for rule, claims in (("checker", False), ("checker_or_claims", True)):
            flagged, support = score(fitted, [labelled[i] for i in held], [signals[i] for i in held], claims)
            report[name][rule] = {
                "cross_validated_on_tuning_rows": cross_validate(rows_t, sig_t, features, claims),
                "cross_validated_on_all_rows": cross_validate(labelled, signals, features, claims),
                "held_out": _per_dataset([labelled[i] for i in held], flagged, support),
            }
        scorers[name] = fitted
    claims = np.asarray([any(x["unsupported_claims"] > 0 for x in s) for s in sig_t])
    alone = {"claims guard (today's)": _per_dataset(rows_t, claims, (~claims).astype(float))}
    every = dict.fromkeys(f for by_format in feature_sets.values() for fs in by_format.values() for f in fs)
    for feature in every:  # each signal alone, cross-validated the same way
        alone[feature] = cross_validate(rows_t, sig_t, {fmt: [feature] for fmt in FORMAT_LEXICAL}, False)
    report["each_signal_on_tuning_rows"] = alone
    return {
        "scorers": scorers,
        "serve": _serve(report),
        "provenance": {
            "data": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "fitted_on": f"{len(tune)} rows of {len(labelled)} (held out: sha1(hash) % {HELD_OUT_MODULUS} == 0)",
            "model": model.manifest.version if with_model else None,
            "regression": f"sklearn {sklearn.__version__} LogisticRegression(C={C}, class_weight='balanced')",
            "date": time.strftime("%Y-%m-%d"),
            "command": "newsburst judge --data ../shared/faithfulness/frank_dev.jsonl --fit",
        },
        "measured": report,
    }


def sheet_rows(sheet: dict) -> list[dict]:
    """The sheet's measurements as table rows: each scorer and rule by part and data set, then each
    signal alone."""
    measured = dict(sheet["measured"])
    alone = measured.pop("each_signal_on_tuning_rows")
    return [
        {"scorer": name, "rule": rule, "part": part, "dataset": ds, **m}
        for name, rules in measured.items()
        for rule, parts in rules.items()
        for part, sets in parts.items()
        for ds, m in sets.items()
    ] + [
        {"scorer": signal, "rule": "alone", "part": "cross_validated_on_tuning_rows", "dataset": ds, **m}
        for signal, sets in alone.items()
        for ds, m in sets.items()
    ]


def _serve(report: dict) -> str:
    if "model" not in report:
        return "lexical"
    cv = {name: report[name]["checker_or_claims"]["cross_validated_on_tuning_rows"] for name in ("lexical", "model")}
    gains = [cv["model"][d]["balanced_accuracy"] - cv["lexical"][d]["balanced_accuracy"] for d in cv["lexical"]]
    return "model" if min(gains) >= SERVE_MODEL_GAIN else "lexical"
