"""Build the Lambda zip's contents (build/lambda/package) and report its unzipped size.

Lambda allows 250 MB unzipped (layers included). The runtime dependencies alone are close to
that, so this drops what the serving path never imports (tokenizers' Hub client, ORT's
Python tooling, caches) and what the Lambda Python runtime already provides (boto3 and
botocore), then checks the result imports and summarizes with nothing else on sys.path.

/var/task is read-only on Lambda, so a package without bytecode compiles every module on
every cold start. The package ships bytecode compiled by the target interpreter, with
unchecked hashes (valid whatever the files' times after unzipping); the import time of the
entry point is measured here with and without it.

    python infra/package_lambda.py [--python-version 3.12] [--bundle DIR | --no-bundle] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import MANIFEST, STUDENT_DIR, sha256_file  # noqa: E402
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


IMPORT_TIME = "import time; t = time.perf_counter(); import functions.handlers.router; print(time.perf_counter() - t)"


def target_interpreter(version: str) -> str | None:
    """An interpreter of the target version to compile with (bytecode is per version)."""
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python"))
    return shutil.which(f"python{version}") or (str(pyenv[-1]) if pyenv else None)


def compile_bytecode(package: Path, interpreter: str) -> None:
    # some vendored files are other versions' syntax (tests, examples); compileall skips and reports them
    subprocess.run([interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    str(package)], capture_output=True, check=False)  # fmt: skip


def import_seconds(package: Path, runtime: Path, runs: int = 3) -> float:
    """Median seconds to import the entry point in a fresh interpreter that cannot write bytecode
    (as on Lambda's read-only /var/task)."""
    env = {"PYTHONPATH": f"{package}:{runtime}", "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-S", "-c", IMPORT_TIME]
    runs_s = [
        float(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout) for _ in range(runs)
    ]
    return statistics.median(runs_s)


def release_id(package: Path, bundle_uri: str) -> str:
    """The template's ReleaseId: changes with any file of the package and with the bundle URI, so
    that either publishes a new version (SAM hashes the function's environment unresolved)."""
    digest = hashlib.sha256(bundle_uri.encode())
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(package)}={sha256_file(path)}\n".encode())
    return digest.hexdigest()[:16]


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
    parser.add_argument(
        "--bundle-uri", default="", help="the BundleUri the stack will fetch: part of the release id (see --help)"
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
    bundle_mb = 0.0
    if not args.no_bundle:
        if not (args.bundle / MANIFEST).exists():
            raise SystemExit(f"no bundle in {args.bundle}: run `make bundle` first, or pass --no-bundle")
        shutil.copytree(args.bundle, args.out / "bundle")
        bundle_mb = size_mb(args.out / "bundle")
    smoke, imports = {}, {}
    runtime = args.out.parent / f"{args.out.name}-runtime-provided"
    shutil.rmtree(runtime, ignore_errors=True)
    runtime.mkdir(parents=True)
    for name in PROVIDED_BY_RUNTIME:  # what Lambda's Python runtime provides; linked from this environment
        (runtime / name).symlink_to(Path(__import__(name).__file__).parent)
    here = args.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"
    if here:
        imports["import_s_from_source"] = round(import_seconds(args.out, runtime), 3)
    interpreter = target_interpreter(args.python_version)
    if interpreter is None:
        print(f"warning: no python{args.python_version} here to compile bytecode with; the package ships "
              "source only and every cold start compiles it", file=sys.stderr)  # fmt: skip
    else:
        before = size_mb(args.out)
        compile_bytecode(args.out, interpreter)
        imports["bytecode_mb"] = round(size_mb(args.out) - before, 1)
    if here:
        imports["import_s_compiled"] = round(import_seconds(args.out, runtime), 3)
    package = size_mb(args.out)
    release = release_id(args.out, args.bundle_uri)
    (args.out.parent / "release_id").write_text(release + "\n")
    if here and not args.no_bundle:
        # -S: no site-packages at all, so only the package, the stdlib and what the Lambda
        # runtime provides (boto3) can satisfy imports.
        proc = subprocess.run(
            [sys.executable, "-S", "-c", SMOKE, str(args.out / "bundle"), str(ROOT / "events/news/lee-170.json")],
            env={"PYTHONPATH": f"{args.out}:{runtime}", "PYTHONDONTWRITEBYTECODE": "1"}, capture_output=True,
            text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        smoke = __import__("json").loads(proc.stdout)
    rows = [
        {"part": "dependencies as installed", "mb": round(installed, 1)},
        {"part": "trimmed dependencies + functions/", "mb": round(code_and_deps, 1)},
        {"part": "bytecode (compiled for the target)", "mb": imports.get("bytecode_mb", 0.0)},
        {"part": "student bundle", "mb": round(bundle_mb, 1)},
        {"part": "package (unzipped, with bytecode)", "mb": round(package, 1)},
    ]
    result = {
        "python_version": args.python_version,
        "rows": rows,
        "limit_mb": LIMIT_MB,
        "fits": package <= LIMIT_MB,
        "smoke": smoke,
        "bytecode": interpreter is not None,
        "release_id": release,
        **imports,
    }
    emit(result, rows, args.json, f"Lambda package in {args.out} (limit {LIMIT_MB} MB unzipped)")
    if not args.json and smoke:
        print(f"smoke test with only the package on sys.path: {smoke}")
    if not args.json:
        print(f"ReleaseId={release} (for sam deploy; also in {args.out.parent / 'release_id'})")
    if not args.json and imports:
        print(f"import functions.handlers.router, read-only package: {imports['import_s_from_source']} s from "
              f"source, {imports['import_s_compiled']} s with the shipped bytecode")  # fmt: skip
    return 0 if package <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
