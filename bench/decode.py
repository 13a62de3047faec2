"""Decode benchmark: the same prompt and the same 64 greedy tokens through every engine, one run.

Rows: PyTorch eager teacher, the teacher bundle, the student bundle through the runtime's
KV-cache loop and through onnxruntime-genai's generator (the other ORT path for the same
graph), and llama.cpp on the same GGUF (when llama-cpp-python is installed). Each engine runs
in its own fresh process so load time and peak RSS are its own. Columns: load s, prefill
tok/s, decode tok/s, peak RSS, the decode ratio to llama.cpp and, for the student rows, to
the runtime's loop.

    python bench/decode.py [--bundles build/bundles] [--tokens 64] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import BUNDLES_DIR, STUDENT, TEACHER, TOKENIZER  # noqa: E402
from functions.tables import emit  # noqa: E402


def _prompt_ids(tokenizer_json: Path) -> list[int]:
    from tokenizers import Tokenizer

    from functions.runtime.prompt import PromptTemplate
    from model_export.corpus import load_articles, split

    article = split(load_articles())[1][0].text  # first held-out article, ~460 prompt tokens
    return PromptTemplate().encode(Tokenizer.from_file(str(tokenizer_json)), article)


def _worker_ort(bundle: Path, ids: list[int], n: int) -> dict:
    t0 = time.perf_counter()
    from functions.runtime.model import load_model
    from functions.runtime.summarize import Summarizer

    summarize = Summarizer(load_model(bundle))
    load = time.perf_counter() - t0
    gen = summarize.decoder.generate(ids, n, [])
    return {"load_s": load, "prefill_s": gen.prefill_seconds, "decode_s": gen.decode_seconds}


def _worker_genai(bundle: Path, ids: list[int], n: int) -> dict:
    """The same bundle through onnxruntime-genai's own generator: the other ORT decode path."""
    t0 = time.perf_counter()
    import onnxruntime_genai as og

    model = og.Model(str(bundle))
    load = time.perf_counter() - t0
    params = og.GeneratorParams(model)
    params.set_search_options(do_sample=False, max_length=len(ids) + n, min_length=len(ids) + n)
    generator = og.Generator(model, params)
    t0 = time.perf_counter()
    generator.append_tokens(ids)
    prefill = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n - 1):
        generator.generate_next_token()
    decode = time.perf_counter() - t0
    return {"load_s": load, "prefill_s": prefill, "decode_s": decode}


def _worker_torch(folder: Path, ids: list[int], n: int) -> dict:
    t0 = time.perf_counter()
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    load = time.perf_counter() - t0
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = model(torch.tensor([ids]), use_cache=True)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(n - 1):
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            out = model(nxt, cache=out.cache, use_cache=True)
        decode = time.perf_counter() - t0
    return {"load_s": load, "prefill_s": prefill, "decode_s": decode}


def _worker_llamacpp(gguf: Path, ids: list[int], n: int) -> dict:
    import os

    t0 = time.perf_counter()
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=len(os.sched_getaffinity(0)), verbose=False)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    stream = llm.generate(ids, top_k=1, temp=0.0, reset=True)
    next(stream)  # first token = prefill + one sample
    prefill = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n - 1):
        next(stream)
    return {"load_s": load, "prefill_s": prefill, "decode_s": time.perf_counter() - t0}


def runtime_sweep(bundle: Path, ids: list[int], new_tokens: int, runs: int = 3) -> tuple[list[dict], dict]:
    """The runtime's own loop: prompt-length and batch-size rows, in this process (median of
    ``runs`` per prompt length), and the checks of issue 13's third goal: decode at 1,024 prompt
    tokens against 256, and batched tokens equal to one-by-one."""
    from functions.runtime.model import load_model

    decoder = load_model(bundle).decoder
    long_ids = (ids * 4)[:1024]
    decoder.generate(long_ids[:64], 4, [])  # warm-up
    rows = []
    for n in (256, 512, 1024):
        gens = sorted((decoder.generate(long_ids[:n], new_tokens, []) for _ in range(runs)),
                      key=lambda g: g.decode_tokens_per_second)  # fmt: skip
        g = gens[len(gens) // 2]
        rows.append(
            {
                "case": f"prompt {n}, batch 1",
                "prefill_tok_s": round(n / g.prefill_seconds, 1),
                "decode_tok_s": round(g.decode_tokens_per_second, 1),
                "throughput_tok_s": round(new_tokens / (g.prefill_seconds + g.decode_seconds), 1),
            }
        )
    for n in (256, 1024):  # the same greedy decode with each step's present fed back as a fresh array
        rates = sorted(_copying_decode(decoder, long_ids[:n], new_tokens) for _ in range(runs))
        rows.append(
            {"case": f"prompt {n}, batch 1, cache copied each step", "decode_tok_s": round(rates[len(rates) // 2], 1)}
        )
    same = True
    for batch in (1, 4, 8):
        prompts = [long_ids[i * 16 : i * 16 + 256 - 8 * i] for i in range(batch)]  # real padding in the batch
        gens = decoder.generate_batch(prompts, new_tokens, [])
        same = same and [g.token_ids for g in gens] == [decoder.generate(p, new_tokens, []).token_ids for p in prompts]
        wall = gens[0].prefill_seconds + gens[0].decode_seconds
        steps = max(len(g.token_ids) for g in gens) - 1
        rows.append(
            {
                "case": f"prompt <=256, batch {batch}",
                "prefill_tok_s": round(sum(map(len, prompts)) / gens[0].prefill_seconds, 1),
                "decode_tok_s": round(steps * batch / gens[0].decode_seconds, 1),
                "throughput_tok_s": round(sum(len(g.token_ids) for g in gens) / wall, 1),
            }
        )
    rate = {row["case"]: row["decode_tok_s"] for row in rows}
    at_1024 = rate["prompt 1024, batch 1"]
    checks = {
        "decode_1024_over_256": round(at_1024 / rate["prompt 256, batch 1"], 2),
        "decode_1024_shared_over_copied": round(at_1024 / rate["prompt 1024, batch 1, cache copied each step"], 2),
        "target_1024_over_256": 0.8,
        "batched_equals_one_by_one": same,
    }
    return rows, checks


def _copying_decode(decoder, prompt: list[int], new_tokens: int) -> float:
    """Decode tokens/s without the shared buffer: the graph's plain path, as the loop ran before."""
    import numpy as np

    logits, past = decoder.prefill(prompt)
    start, total = time.perf_counter(), len(prompt)
    for _ in range(new_tokens - 1):
        total += 1
        logits, past = decoder.step(np.asarray([[int(logits[0, -1].argmax())]], np.int64), total, past, [prompt])
    return (new_tokens - 1) / (time.perf_counter() - start)


class _Timed:
    """Wraps a grounding constraint and adds up the time decoding spends in it."""

    def __init__(self, rule):
        self.rule, self.seconds = rule, 0.0

    def apply(self, logits):
        start = time.perf_counter()
        out = self.rule.apply(logits)
        self.seconds += time.perf_counter() - start
        return out

    def advance(self, token):
        start = time.perf_counter()
        self.rule.advance(token)
        self.seconds += time.perf_counter() - start


def grounding_sweep(bundle: Path, new_tokens: int) -> list[dict]:
    """What grounding costs: per-request set-up, and the share of decode time spent in the constraint."""
    from functions.runtime.grounding import DEFAULT_GROUNDING, MODES
    from functions.runtime.model import load_model
    from functions.runtime.summarize import Summarizer
    from model_export.corpus import load_articles, split

    summarize = Summarizer(load_model(bundle))
    article = split(load_articles())[1][0].text
    ids = summarize.model.encode_prompt(article)
    summarize.constraint(article, DEFAULT_GROUNDING)  # the once-per-model vocabulary scan
    rows = []
    for mode in MODES:
        start = time.perf_counter()
        rule = summarize.constraint(article, mode)
        setup = time.perf_counter() - start
        timed = _Timed(rule) if rule else None
        g = summarize.decoder.generate(ids, new_tokens, [], constraint=timed)
        rows.append(
            {
                "grounding": mode,
                "setup_ms": round(setup * 1000, 2),
                "decode_tok_s": round(g.decode_tokens_per_second, 1),
                "constraint_pct_of_decode": round(100 * timed.seconds / g.decode_seconds, 2) if timed else 0.0,
            }
        )
    return rows


WORKERS = {"ort": _worker_ort, "genai": _worker_genai, "torch": _worker_torch, "llamacpp": _worker_llamacpp}


def _run(kind: str, target: Path, ids_file: Path, n: int) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(target), str(ids_file), str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"{kind} {target}: failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", type=Path, default=ROOT / BUNDLES_DIR)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also time the runtime loop at 256/512/1024 prompt tokens and batch 1/4/8, and grounding's cost",
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, target, ids_file, n = args.worker
        res = WORKERS[kind](Path(target), json.loads(Path(ids_file).read_text()), int(n))
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return 0

    from functions.runtime.bundle import read_manifest
    from model_export.teacher import default_gguf_path

    teacher_m = read_manifest(args.bundles / TEACHER)
    ids = _prompt_ids(args.bundles / TEACHER / TOKENIZER)
    ids_file = args.bundles.parent / "bench_prompt_ids.json"
    ids_file.write_text(json.dumps(ids))
    gguf = default_gguf_path()
    teacher_hf = next((ROOT / ".cache/newsburst").glob("teacher-*/"), None)
    engines = [
        ("pytorch eager teacher", "torch", teacher_hf),
        ("teacher bundle", "ort", args.bundles / TEACHER),
        ("student bundle", "ort", args.bundles / STUDENT),
        ("student bundle, onnxruntime-genai generator", "genai", args.bundles / STUDENT),
    ]
    try:
        import llama_cpp  # noqa: F401

        engines.append(("llama.cpp teacher " + gguf.name.split(".")[-2], "llamacpp", gguf))
    except ImportError:
        print("llama-cpp-python not installed: no llama.cpp row (pip install -e '.[llamacpp]')", file=sys.stderr)
    rows = []
    for label, kind, target in engines:
        if target is None:
            continue
        res = _run(kind, target, ids_file, args.tokens)
        if res:
            rows.append(
                {
                    "engine": label,
                    "load_s": round(res["load_s"], 3),
                    "prefill_tok_s": round(len(ids) / res["prefill_s"], 1),
                    "decode_tok_s": round((args.tokens - 1) / res["decode_s"], 1),
                    "peak_rss_mb": round(res["peak_rss_mb"], 0),
                }
            )
    ref = next((r["decode_tok_s"] for r in rows if r["engine"].startswith("llama.cpp")), None)
    ours = next((r["decode_tok_s"] for r in rows if r["engine"] == "student bundle"), None)
    for r in rows:  # the runtime's loop against the other ORT path on the same bundle
        r["x_runtime_loop"] = round(r["decode_tok_s"] / ours, 2) if ours and r["engine"].startswith("student") else "-"
    for r in rows:
        r["x_llamacpp"] = round(r["decode_tok_s"] / ref, 2) if ref else "n/a"
    result = {"prompt_tokens": len(ids), "new_tokens": args.tokens, "teacher": teacher_m.teacher_id, "rows": rows}
    sweep, checks = runtime_sweep(args.bundles / STUDENT, ids, 64) if args.sweep else ([], {})
    grounding = grounding_sweep(args.bundles / STUDENT, 64) if args.sweep else []
    if args.json:
        emit({**result, "runtime_sweep": sweep, "sweep_checks": checks, "grounding": grounding}, [], True)
        return 0
    emit(result, rows, False, f"decode bench: {len(ids)} prompt tokens, {args.tokens} greedy tokens")
    if sweep:
        emit({}, sweep, False, "\nstudent bundle, runtime loop (64 new tokens, median of 3 per prompt length)")
        print(
            f"decode at 1,024 prompt tokens / at 256: {checks['decode_1024_over_256']}x (goal >= 0.8x); at 1,024 "
            f"the shared KV buffer / the cache copied each step: {checks['decode_1024_shared_over_copied']}x; "
            f"batched tokens equal one by one: {checks['batched_equals_one_by_one']}"
        )
        emit({}, grounding, False, "\nstudent bundle, grounding cost (64 new tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
