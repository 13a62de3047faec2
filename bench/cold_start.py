"""Cold start: a fresh interpreter to the first generated token, median of N runs, side by side.

- entry point: what a Lambda cold start pays (minus the container start), configured as deployed
  (``NEWSBURST_PRELOAD``: the model loads in the INIT phase). A fresh process imports
  ``functions.handlers.router`` and answers the API sample event (``POST /summaries``) with an
  empty response cache. Its first token comes at interpreter + INIT + time to first token; the
  summary comes at the wall time.
- runtime only: the serving modules alone, model load and one token.
- torch + transformers: the same student as a Hugging Face folder, one token.

A breakdown of the runtime's parts (imports, session, tokenizer, grounding set-up, prefill)
comes from separate timings in one more fresh process per run.

    python bench/cold_start.py [--runs 5] [--bundle build/bundles/student] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import STUDENT_DIR  # noqa: E402
from functions.tables import emit  # noqa: E402

ARTICLE = ROOT / "events" / "news" / "lee-170.json"
API_EVENT = ROOT / "events" / "http-post-summaries.json"

ENTRY_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from functions.handlers import router
t_import = time.perf_counter()
from functions.local_invoke import LocalContext
out = router.handler(json.load(open(sys.argv[2])), LocalContext())
t_done = time.perf_counter()
timings = json.loads(out["body"])["timings"]
print(json.dumps({"imports_s": t_import - t0, "handler_s": t_done - t_import, "status": out["statusCode"],
                  "model_load_s": timings["model_load_s"], "ttft_s": timings["time_to_first_token_ms"] / 1000}))
"""

ORT_CHILD = """
import json, sys
from functions.runtime.model import load_model
from functions.runtime.summarize import Summarizer
s = Summarizer(load_model(sys.argv[1]))
s(json.load(open(sys.argv[2]))["body"], max_new_tokens=1)
"""

PARTS_CHILD = """
import json, sys, time
from pathlib import Path
t = time.perf_counter()
from functions.runtime.bundle import MODEL, TOKENIZER
from functions.runtime.grounding import VocabClasses
from functions.runtime.model import load_model, open_session
from functions.runtime.summarize import Summarizer
from tokenizers import Tokenizer
parts = {"runtime_imports_s": time.perf_counter() - t}
folder = Path(sys.argv[1])
t = time.perf_counter(); open_session(folder / MODEL); parts["session_s"] = time.perf_counter() - t
t = time.perf_counter(); tok = Tokenizer.from_file(str(folder / TOKENIZER))
parts["tokenizer_s"] = time.perf_counter() - t
t = time.perf_counter(); VocabClasses.of(tok); parts["grounding_setup_s"] = time.perf_counter() - t
summarize = Summarizer(load_model(folder))
generation = summarize(json.load(open(sys.argv[2]))["body"], max_new_tokens=1).generation
parts["prefill_s"] = generation.prefill_seconds
print(json.dumps(parts))
"""

TORCH_CHILD = """
import json, sys, torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM
from functions.runtime.prompt import PromptTemplate
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
tok = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
ids = PromptTemplate().encode(tok, json.load(open(sys.argv[2]))["body"])
with torch.inference_mode():
    int(m(torch.tensor([ids])).logits[0, -1].argmax())
"""


def _child(code: str, target: Path, data: Path, env: dict | None = None) -> tuple[float, dict]:
    """(wall seconds, what the child printed)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(target), str(data)], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={**os.environ, **(env or {})})  # fmt: skip
    wall = time.perf_counter() - start
    lines = [line for line in out.stdout.splitlines() if line.startswith("{") and '"_aws"' not in line]
    return wall, json.loads(lines[-1]) if lines else {}


def _entry_env(bundle: Path) -> dict:
    """A fresh container: an empty response cache and outbox, the bundle loaded on first use."""
    work = Path(tempfile.mkdtemp(prefix="newsburst-cold-"))
    return {
        "NEWSBURST_BUNDLE_DIR": str(bundle),
        "NEWSBURST_ALLOW_UNGATED": "true",  # a speed measurement: the quality gate does not apply
        "NEWSBURST_PRELOAD": "true",  # as the template deploys it
        "NEWSBURST_CACHE_DIR": str(work / "cache"),
        "NEWSBURST_OUTBOX_PATH": str(work / "outbox.jsonl"),
        "NEWSBURST_DESK_DIR": str(work / "desk"),
        "NEWSBURST_STORIES_DIR": str(work / "stories"),
        "NEWSBURST_DEAD_LETTER_DIR": str(work / "dlq"),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def _row(label: str, first_token: list[float], runs: int, **extra) -> dict:
    return {
        "path": label,
        "first_token_s": round(statistics.median(first_token), 3),
        "min_s": round(min(first_token), 3),
        "max_s": round(max(first_token), 3),
        "runs": runs,
        **extra,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument(
        "--student-hf",
        type=Path,
        default=ROOT / ".cache/newsburst/work-quick/student_hf",
        help="the same student as a Hugging Face folder (kept by the export); its row is left out without it",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    entry, summary_s, parts = [], [], []
    ort, torch_s = [], []
    for _ in range(args.runs):  # the paths take turns, so the machine's drift hits each alike
        wall, child = _child(ENTRY_CHILD, args.bundle, API_EVENT, _entry_env(args.bundle))
        if child.get("status") != 200:
            raise SystemExit(f"the entry point did not summarize: {child}")
        interpreter = wall - child["imports_s"] - child["handler_s"]
        entry.append(interpreter + child["imports_s"] + (child["model_load_s"] or 0.0) + child["ttft_s"])
        summary_s.append(wall)
        ort.append(_child(ORT_CHILD, args.bundle, ARTICLE)[0])
        parts.append({"interpreter_s": interpreter, "entry_point_init_s": child["imports_s"],
                      **_child(PARTS_CHILD, args.bundle, ARTICLE)[1]})  # fmt: skip
        if args.student_hf.exists():
            torch_s.append(_child(TORCH_CHILD, args.student_hf, ARTICLE)[0])
    summary = round(statistics.median(summary_s), 3)
    rows = [
        _row("entry point (router.handler, API event)", entry, args.runs, summary_s=summary),
        _row("runtime only (load + 1 token)", ort, args.runs),
    ]
    if torch_s:
        rows.append(_row("torch + transformers (1 token)", torch_s, args.runs))
    for row in rows:
        row["x_entry_point"] = round(row["first_token_s"] / rows[0]["first_token_s"], 2)
    names = (
        "interpreter", "entry_point_init", "runtime_imports", "session", "tokenizer", "grounding_setup", "prefill",
    )  # fmt: skip
    breakdown = [{"part": n, "median_s": round(statistics.median(p[f"{n}_s"] for p in parts), 3)} for n in names]
    result = {"bundle": str(args.bundle), "rows": rows, "breakdown": breakdown, "target_s": 0.5, "target_x_torch": 10}
    if args.json:
        emit(result, [], True)
        return 0
    emit(result, rows, False, "cold start: fresh process to the first generated token (goal: <= 0.5 s, >= 10x torch)")
    print()
    emit(result, breakdown, False, "where a cold start goes: the entry point's INIT (imports + preload), then the "
         "runtime's parts timed separately in a fresh process")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
