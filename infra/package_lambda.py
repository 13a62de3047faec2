"""Build the Lambda zip's contents (build/lambda/package) and report its unzipped size.

Lambda allows 250 MB unzipped (layers included). The runtime dependencies alone are close to
that, so this drops what the serving path never imports (tokenizers' Hub client, ORT's
Python tooling, caches) and what the Lambda Python runtime already provides (boto3 and
botocore), then checks the result imports and summarizes with nothing else on sys.path.

    python infra/package_lambda.py [--python-version 3.12] [--bundle DIR | --no-bundle] [--json]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import MANIFEST, STUDENT_DIR  # noqa: E402
from functions.tables import emit  # noqa: E402

LIMIT_MB = 250
PROVIDED_BY_RUNTIME = ["boto3", "botocore", "s3transfer", "jmespath"]
NEVER_IMPORTED = [
    "hf_xet", "huggingface_hub", "fsspec", "httpx", "httpcore", "anyio", "h11", "click", "filelock", "yaml",
    "tqdm", "typer", "shellingham", "rich", "markdown_it", "mdurl", "pygments", "sniffio", "idna", "certifi",
    "onnxruntime/transformers", "onnxruntime/tools", "onnxruntime/quantization", "onnxruntime/datasets",
    "bin",
]  # fmt: skip
SMOKE = """
import json, sys
from functions.runtime.model import load_model
from functions.runtime.summarize import Summarizer
import functions.handlers.router
s = Summarizer(load_model(sys.argv[1]))
print(json.dumps({"tokens": len(s(json.load(open(sys.argv[2]))["body"], max_new_tokens=4).generation.token_ids),
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--python-version",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="target interpreter (Lambda: 3.12); the smoke test runs only for this interpreter's",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build/lambda/package")
    bundle = parser.add_mutually_exclusive_group()
    bundle.add_argument(
        "--bundle", type=Path, default=ROOT / STUDENT_DIR, help=f"bundle shipped in the package (default {STUDENT_DIR})"
    )
    bundle.add_argument(
        "--no-bundle", action="store_true", help="no bundle: the function fetches one (NEWSBURST_BUNDLE_URI)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    shutil.rmtree(args.out, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(args.out), "--python-version",
         args.python_version, "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
         "--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64", *deps],
        check=True,
    )  # fmt: skip
    installed = size_mb(args.out)
    for name in PROVIDED_BY_RUNTIME + NEVER_IMPORTED:
        for path in [args.out / name, *args.out.glob(f"{name}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)
    for cache in [*args.out.rglob("__pycache__"), *args.out.glob("numpy/**/tests")]:
        shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(ROOT / "functions", args.out / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    code_and_deps = size_mb(args.out)
    if not args.no_bundle:
        if not (args.bundle / MANIFEST).exists():
            raise SystemExit(f"no bundle in {args.bundle}: run `make bundle` first, or pass --no-bundle")
        shutil.copytree(args.bundle, args.out / "bundle")
    package = size_mb(args.out)
    smoke = {}
    if args.python_version == f"{sys.version_info.major}.{sys.version_info.minor}" and not args.no_bundle:
        # -S: no site-packages at all, so only the package, the stdlib and what the Lambda
        # runtime provides (boto3; linked from this environment) can satisfy imports.
        runtime = args.out.parent / "runtime-provided"
        shutil.rmtree(runtime, ignore_errors=True)
        runtime.mkdir()
        for name in PROVIDED_BY_RUNTIME:
            (runtime / name).symlink_to(Path(__import__(name).__file__).parent)
        proc = subprocess.run(
            [sys.executable, "-S", "-c", SMOKE, str(args.out / "bundle"), str(ROOT / "events/news/lee-170.json")],
            env={"PYTHONPATH": f"{args.out}:{runtime}"}, capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        smoke = __import__("json").loads(proc.stdout)
    rows = [
        {"part": "dependencies as installed", "mb": round(installed, 1)},
        {"part": "trimmed dependencies + functions/", "mb": round(code_and_deps, 1)},
        {"part": "student bundle", "mb": round(package - code_and_deps, 1)},
        {"part": "package (unzipped)", "mb": round(package, 1)},
    ]
    result = {
        "python_version": args.python_version,
        "rows": rows,
        "limit_mb": LIMIT_MB,
        "fits": package <= LIMIT_MB,
        "smoke": smoke,
    }
    emit(result, rows, args.json, f"Lambda package in {args.out} (limit {LIMIT_MB} MB unzipped)")
    if not args.json and smoke:
        print(f"smoke test with only the package on sys.path: {smoke}")
    return 0 if package <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
