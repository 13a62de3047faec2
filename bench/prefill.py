"""Prefill: the LM head on the last position only against the head on every position, side by side.

The same student weights as two graphs: the bundle's own and its twin with the other head (the
twin is rewritten in a temporary folder: ``model_export.last_position_head`` adds the slice, or
the slice is taken out again). Each graph runs in a fresh process per prompt length, so peak RSS
is its own: prefill tokens/s (median of ``--runs``) at 512 and 1,024 prompt tokens of real news,
and the peak RSS of the process. Goal (issue 13): >= 1.4x at both lengths, with lower peak memory.

    python bench/prefill.py [--bundle build/bundles/student] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import GRAPH_FILES, MODEL, STUDENT_DIR, TOKENIZER  # noqa: E402
from functions.tables import emit  # noqa: E402

LENGTHS = (512, 1024)
TARGET_X = 1.4

CHILD = """
import json, resource, statistics, sys, time
import numpy as np
from functions.runtime.kv_generate import KVCacheDecoder
from functions.runtime.model import open_session
graph, ids = sys.argv[1], json.loads(sys.argv[2])
runs, kv_heads, head_dim = (int(a) for a in sys.argv[3:6])
decoder = KVCacheDecoder(open_session(graph), kv_heads, head_dim)
decoder.step(np.asarray([ids[:32]], np.int64), 32, decoder.empty_cache())  # warm-up
times = []
for _ in range(runs):
    start = time.perf_counter()
    decoder.step(np.asarray([ids], np.int64), len(ids), decoder.empty_cache())
    times.append(time.perf_counter() - start)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": statistics.median(times), "peak_rss_mb": peak_mb}))
"""


def has_last_position_head(graph_dir: Path) -> bool:
    import onnx

    from model_export.last_position_head import SLICE

    return any(n.name == SLICE for n in onnx.load(str(graph_dir / MODEL), load_external_data=False).graph.node)


def full_head(graph_dir: Path) -> None:
    """Undo ``last_position_head`` in place: the head reads every position again (the graph as the
    builder wrote it), for the side-by-side row only."""
    import onnx

    from model_export.last_position_head import SLICE

    model = onnx.load(str(graph_dir / MODEL))
    graph = model.graph
    cut = next(n for n in graph.node if n.name == SLICE)
    for head in (n for n in graph.node if cut.output[0] in n.input):  # a short head reads it twice
        head.input[list(head.input).index(cut.output[0])] = cut.input[0]
    graph.node.remove(cut)
    logits = next(o for o in graph.output if o.name == "logits")
    logits.type.tensor_type.shape.dim[1].dim_param = "sequence_length"
    (graph_dir / "model.onnx.data").unlink()
    onnx.save_model(model, str(graph_dir / MODEL), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)  # fmt: skip


def twins(bundle: Path, work: Path) -> dict[str, Path]:
    """{"last position": folder, "every position": folder}, one of them the bundle itself."""
    twin = work / "twin"
    twin.mkdir()
    for name in GRAPH_FILES:
        shutil.copy2(bundle / name, twin / name)
    if has_last_position_head(bundle):
        full_head(twin)
        return {"last position": bundle, "every position": twin}
    from model_export.last_position_head import last_position_head

    last_position_head(twin)
    return {"last position": twin, "every position": bundle}


def prompt_ids(bundle: Path, n: int) -> list[int]:
    """``n`` tokens of real news (the Lee corpus, articles joined) through the bundle's tokenizer."""
    from tokenizers import Tokenizer

    from model_export.corpus import load_articles

    tokenizer = Tokenizer.from_file(str(bundle / TOKENIZER))
    ids: list[int] = []
    for article in load_articles():
        ids += tokenizer.encode(article.text, add_special_tokens=False).ids
        if len(ids) >= n:
            return ids[:n]
    raise SystemExit(f"the corpus has fewer than {n} tokens")


def measure(graph_dir: Path, ids: list[int], runs: int, kv_heads: int, head_dim: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(graph_dir / MODEL), json.dumps(ids), str(runs), str(kv_heads), str(head_dim)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from functions.runtime.bundle import read_manifest

    manifest = read_manifest(args.bundle)
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsburst-prefill-") as work:
        graphs = twins(args.bundle, Path(work))
        for n in LENGTHS:
            ids = prompt_ids(args.bundle, n)
            # the two graphs take turns per length, so the machine's drift hits both alike
            for head, folder in graphs.items():
                res = measure(folder, ids, args.runs, manifest.num_kv_heads, manifest.head_dim)
                rows.append({"prompt_tokens": n, "lm_head": head, "prefill_tok_s": round(n / res["seconds"], 1),
                             "peak_rss_mb": round(res["peak_rss_mb"])})  # fmt: skip
    for row in rows:
        base = next(r for r in rows if r["prompt_tokens"] == row["prompt_tokens"] and r["lm_head"] == "every position")
        row["x_every_position"] = round(row["prefill_tok_s"] / base["prefill_tok_s"], 2)
        row["rss_vs_every_position"] = round(row["peak_rss_mb"] / base["peak_rss_mb"], 2)
    result = {"bundle": str(args.bundle), "runs": args.runs, "target_x": TARGET_X, "rows": rows}
    emit(result, rows, args.json, f"prefill: LM head on the last position vs every position (goal: >= {TARGET_X}x, "
         "lower peak RSS)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
