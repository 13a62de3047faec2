"""Decoding recipes against the faithfulness check, side by side on the same real dev articles.

Each article is summarized by every recipe in turn, in this one process, as served (span grounding,
the bundle's copy bias, the data set's format), and every summary is judged by the runtime's check:

- ``greedy, as generated``: today's decoding with the check's verdict but no sentence dropped;
- ``greedy``: what is served: a highlights sentence that fails is dropped when the rest stand alone;
- ``best of N``: greedy plus N - 1 sampled candidates (one batch through the KV loop), the
  best-supported kept (model_export/candidates.py), then the same drop;
- ``contrastive``: van der Poel et al. 2022 ("Mutual Information Alleviates Hallucinations in
  Abstractive Summarization"): where the model is unsure (entropy of p(y | article) above
  ``ENTROPY``), each token is scored log p(y | article) - ``WEIGHT`` * log p(y | no article), the
  second stream a KV cache of its own over the prompt without the article. The paper's form; the
  two values were set before the run, not tuned on these articles.

Columns: ROUGE-Lsum against the published references, mean support, flagged and unsupported
sentences (%), delivered cut sentences (%), words, ms per item.

    python bench/faithful_decoding.py --bundle build/bundles/student \
        --data ../shared/news/cnndm_dev.jsonl --data ../shared/news/xsum_dev.jsonl [--articles 40] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime import summarize as summarize_module  # noqa: E402
from functions.runtime.copy_bias import Chain  # noqa: E402
from functions.runtime.faithfulness.wholeness import cut_reason  # noqa: E402
from functions.runtime.model import load_model  # noqa: E402
from functions.runtime.prompt import Format  # noqa: E402
from functions.runtime.summarize import Summarizer, Summary  # noqa: E402
from functions.tables import emit  # noqa: E402
from model_export.candidates import best_of  # noqa: E402
from model_export.corpus import read_eval_jsonl  # noqa: E402
from model_export.evaluate import faithfulness_metrics  # noqa: E402
from model_export.references import format_of  # noqa: E402
from model_export.scoring import rouge  # noqa: E402

ENTROPY = 2.0  # nats: below it the model is sure and its choice stands (the paper's uncertainty gate)
WEIGHT = 0.5  # how much of the article-free log-probability is taken away
CANDIDATES = 3


class Contrast:
    """A per-request logits processor: subtracts the article-free stream's log-probabilities where
    the article-conditioned distribution is uncertain; chained before grounding and copy bias."""

    def __init__(self, summarizer: Summarizer, article: str, fmt: Format):
        model = summarizer.model
        self.decoder = model.decoder
        self.vocab_of = [model.encode_prompt(article, fmt)]  # both streams score the same tokens
        bare = model.template.encode(model.tokenizer, "", fmt)
        self.length = len(bare)
        logits, self.past = self.decoder.step(np.asarray([bare], np.int64), self.length, self.decoder.empty_cache(1),
                                              self.vocab_of)  # fmt: skip
        self.bare = _log_softmax(logits[0, -1])

    def apply(self, logits: np.ndarray) -> np.ndarray:
        logp = _log_softmax(logits)
        finite = np.isfinite(logp)
        entropy = -float(np.sum(np.exp(logp[finite]) * logp[finite]))
        if entropy < ENTROPY:
            return logits
        out = logits.astype(np.float32, copy=True)
        both = finite & np.isfinite(self.bare)
        out[both] -= WEIGHT * self.bare[both]
        return out

    def advance(self, token: int) -> None:
        self.length += 1
        logits, self.past = self.decoder.step(np.asarray([[token]], np.int64), self.length, self.past, self.vocab_of)
        self.bare = _log_softmax(logits[0, -1])


def _log_softmax(row: np.ndarray) -> np.ndarray:
    row = row.astype(np.float32)
    peak = row[np.isfinite(row)].max()
    return row - (peak + np.log(np.exp(row - peak).sum()))


def contrastive(summarizer: Summarizer, article: str, fmt: Format) -> Summary:
    """One summary decoded with the contrast chained before the article's own rules (the bench
    reaches into the Summarizer's private steps: this recipe is measured, not served)."""
    ids, decision = summarizer.decide(article, fmt=fmt)
    rules = summarizer._deferred(article, None, fmt)
    rule = Chain([Contrast(summarizer, article, fmt), *([rules] if rules else [])])
    gen = summarizer.decoder.generate(
        ids, decision.max_new_tokens, summarizer.stop_ids, summarizer.sampling, None,
        summarizer._stopper(()), rule,
    )  # fmt: skip
    return summarizer._finish(article, gen, decision, (), fmt)


def as_generated(summarizer: Summarizer, article: str, fmt: Format) -> Summary:
    """Greedy with the check's verdict but without the sentence drop (the module's own step swapped
    for this call only)."""
    keep = summarize_module.keep_supported
    summarize_module.keep_supported = lambda text, _article, report, _fmt: (text, report, 0)
    try:
        return summarizer(article, fmt=fmt)
    finally:
        summarize_module.keep_supported = keep


RECIPES = {
    "greedy, as generated": as_generated,
    "greedy": lambda s, a, f: s(a, fmt=f),
    f"best of {CANDIDATES}": lambda s, a, f: best_of(s, a, s(a, fmt=f), CANDIDATES, "spans", f, seed=0),
    "contrastive": contrastive,
}


def measure(bundle: Path, data: list[Path], articles: int) -> dict:
    summarizer = Summarizer(load_model(bundle))
    summarizer.constraint("warm-up", "spans")  # the once-per-model vocabulary scan, outside the timing
    rows = []
    for path in data:
        items = read_eval_jsonl(path)[:articles]
        fmt = format_of(items[0])
        done: dict[str, list[Summary]] = {name: [] for name in RECIPES}
        ms: dict[str, list[float]] = {name: [] for name in RECIPES}
        for item in tqdm(items, desc=f"{path.name} ({len(RECIPES)} recipes)", unit="article"):
            for name, recipe in RECIPES.items():  # taking turns: a slow moment falls on every recipe
                start = time.perf_counter()
                done[name].append(recipe(summarizer, item["article"], fmt))
                ms[name].append((time.perf_counter() - start) * 1000)
        refs = [i["reference"] for i in items]
        for name, summaries in done.items():
            texts = [s.text for s in summaries]
            reports = [s.guard for s in summaries]
            sentences = [(s.text, v) for s in summaries if s.guard.verdict for v in s.guard.verdict.sentences]
            cut = sum(cut_reason(text[v.start : v.end]) is not None for text, v in sentences)
            rows.append(
                {
                    "data": path.name,
                    "format": fmt,
                    "recipe": name,
                    "rougeLsum": rouge(texts, refs)["rougeLsum"],
                    **faithfulness_metrics(reports),
                    "flagged_pct": round(100 * sum(r.flagged for r in reports) / len(reports), 1),
                    "delivered_cut_pct": round(100 * cut / max(len(sentences), 1), 1),
                    "words": round(statistics.mean(len(t.split()) for t in texts), 1),
                    "ms_per_item": round(statistics.mean(ms[name]), 1),
                }
            )
    return {"bundle": summarizer.model.manifest.version, "articles": articles, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "build/bundles/student", help="the student bundle")
    parser.add_argument("--data", type=Path, action="append", required=True, help="JSONL with id, article, reference")
    parser.add_argument("--articles", type=int, default=40, help="the first N articles of each data set (default 40)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    result = measure(args.bundle, args.data, args.articles)
    emit(result, result["rows"], args.json, f"decoding recipes, {args.articles} articles a data set, taking turns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
