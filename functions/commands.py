"""The functions' own commands: ``summarize``, ``invoke``, ``serve-gpu`` and ``demo``, all that a
Lambda package (functions/ alone) can run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from functions.command_settings import servable_or_teacher, settings_from
from functions.runtime.bundle import BUNDLES_DIR, STUDENT, STUDENT_DIR
from functions.schemas import Faithfulness
from functions.tables import emit

BUNDLE_HELP = f"bundle folder (default: NEWSBURST_BUNDLE_DIR or {STUDENT_DIR})"


def register(sub: argparse._SubParsersAction) -> tuple[type[Exception], ...]:
    p = sub.add_parser(
        "summarize",
        help="summarize news item JSON files with a bundle",
        description="Read news items (objects with id, title, body; or lists of them) and print their summaries.",
    )
    p.add_argument("files", nargs="+", help="news item JSON files")
    p.add_argument("--bundle", type=Path, default=BUNDLES_DIR / STUDENT, help="bundle folder")
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

    return ()


def _cmd_summarize(args: argparse.Namespace) -> int:
    """The runtime alone on news item files: no cache, no endpoint, no notification; items are
    parsed and their grounding resolved as the functions do."""
    import time

    from functions.parsing import BadInput, parse_item
    from functions.runtime.model import load_model
    from functions.runtime.summarize import NeedsEscalation, Summarizer
    from functions.summary_result import summary_result

    settings = settings_from(args)
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
            + (f"\n   FLAGGED {Faithfulness(**faith).why_flagged()}" if faith["flagged"] else "")
            + (f"\n   DEGENERATE output: {faith['degenerate']}" if faith["degenerate"] else "")
            + "\n"
        )
    return 0


def _cmd_invoke(args: argparse.Namespace) -> int:
    from functions.local_invoke import invoke, read_event

    _, result = invoke(read_event(args.event), settings_from(args))
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
    settings = settings_from(args, ingest_dir=args.events if args.events.is_dir() else args.events.parent)
    settings = servable_or_teacher(settings, explicit=args.bundle is not None)
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
            faith = Faithfulness(**n["faithfulness"])
            route = {"fallback": "fallback (lead sentences)", "escalate": "GPU endpoint", "cache": "cache hit"}.get(
                n["route"], "local model"
            )
            print(f"  == {n['id']}: {n['title']}\n     {n['summary']}")
            fmt = f"{n['format']}, " if n.get("format") else ""
            print(f"     [{fmt}{route}, model {n['model_version'][:12]}, {n['latency_ms']:.0f} ms]")
            if faith.flagged:
                print(f"     FLAGGED {faith.why_flagged()}")
            if faith.dropped_sentences:
                print(f"     ({faith.dropped_sentences} unsupported sentence(s) left out)")
        if not run["notifications"]:
            print("  " + json.dumps(run["result"])[:400])
        else:
            failures = run["result"].get("batchItemFailures") if isinstance(run["result"], dict) else None
            if failures:
                print(f"  failed records (back to the queue): {[f['itemIdentifier'] for f in failures]}")
        print()
    return 0
