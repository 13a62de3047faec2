"""Decode speed of several bundles side by side: each article summarized by every bundle in turn.

Each bundle runs as served (its own prompt template, generation settings and copy bias, span
grounding, the data set's format), all in this one process and taking turns article by article,
so a slower moment of the machine falls on every bundle alike. Columns: median decode tokens/s,
mean ms per item, and the decode ratio to the first bundle (the yardstick, e.g. the teacher). Used
for the short output layer: the teacher against the student with the whole and the short head.

    python bench/paired_decode.py --bundle build/bundles/teacher --bundle build/bundles/student \
        [--bundle ...] --data ../shared/news/cnndm_dev.jsonl [--data ...] [--articles 12] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.model import load_model  # noqa: E402
from functions.runtime.summarize import Summarizer  # noqa: E402
from functions.tables import emit  # noqa: E402
from model_export.corpus import read_eval_jsonl  # noqa: E402
from model_export.references import format_of  # noqa: E402


def measure(bundles: list[Path], data: list[Path], articles: int) -> dict:
    models = [Summarizer(load_model(b)) for b in bundles]
    for m in models:
        m.constraint("warm-up", "spans")  # the once-per-model vocabulary scan, outside the timing
    rows = []
    for path in data:
        items = read_eval_jsonl(path, frozenset({"id", "article"}))[:articles]  # no reference needed
        fmt = format_of(items[0])
        rates: list[list[float]] = [[] for _ in models]
        ms: list[list[float]] = [[] for _ in models]
        for item in items:
            for i, model in enumerate(models):
                start = time.perf_counter()
                gen = model(item["article"], fmt=fmt).generation
                ms[i].append((time.perf_counter() - start) * 1000)
                rates[i].append(gen.decode_tokens_per_second)
        yardstick = statistics.median(rates[0])
        for bundle, model, r, m in zip(bundles, models, rates, ms, strict=True):
            rows.append(
                {
                    "data": path.name,
                    "format": fmt,
                    "bundle": str(bundle),
                    "version": model.model.manifest.version[:8],
                    "output_vocab": model.model.manifest.metrics.get("output_vocab", model.model.manifest.vocab_size),
                    "decode_tok_s": round(statistics.median(r), 1),
                    "ms_per_item": round(statistics.mean(m), 1),
                    "x_first": round(statistics.median(r) / yardstick, 2),
                }
            )
    return {"articles": articles, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--bundle", type=Path, action="append", required=True, help="repeatable; the first is the yardstick"
    )
    parser.add_argument("--data", type=Path, action="append", required=True, help="JSONL with id, article (repeatable)")
    parser.add_argument("--articles", type=int, default=12, help="the first N articles of each data set (default 12)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    result = measure(args.bundle, args.data, args.articles)
    emit(result, result["rows"], args.json, f"decode side by side, {args.articles} articles a data set, taking turns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
