"""Cold start: a fresh interpreter to the first generated token, median of N runs.

Side by side: the ONNX student bundle through the serving runtime, and the same student
through torch + transformers. Each run is a new process (what a Lambda cold start pays,
minus the container start).

    python bench/cold_start.py [--runs 5] [--bundle build/bundles/student] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import STUDENT_DIR  # noqa: E402
from functions.tables import emit  # noqa: E402

ARTICLE = ROOT / "events" / "news" / "lee-170.json"

ORT_CHILD = """
import json, sys
from functions.runtime.model import load_model
from functions.runtime.summarize import Summarizer
s = Summarizer(load_model(sys.argv[1]))
s(json.load(open(sys.argv[2]))["body"], max_new_tokens=1)
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


def _time(code: str, target: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(target), str(ARTICLE)], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument(
        "--student-hf",
        type=Path,
        default=ROOT / ".cache/newsburst/work-quick/student_hf",
        help="the same student as a Hugging Face folder (kept by the export)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for label, code, target in (
        ("onnx bundle (runtime)", ORT_CHILD, args.bundle),
        ("torch + transformers", TORCH_CHILD, args.student_hf),
    ):
        times = [_time(code, target) for _ in range(args.runs)]
        rows.append(
            {
                "path": label,
                "median_s": round(statistics.median(times), 3),
                "min_s": round(min(times), 3),
                "max_s": round(max(times), 3),
                "runs": args.runs,
            }
        )
    rows[1]["x_slower"] = round(rows[1]["median_s"] / rows[0]["median_s"], 1)
    rows[0]["x_slower"] = 1.0
    emit({"rows": rows}, rows, args.json, "cold start: fresh process to first generated token")
    return 0


if __name__ == "__main__":
    sys.exit(main())
