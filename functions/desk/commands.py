"""``newsburst desk`` (serve the page on loopback) and ``newsburst desk export`` (the editors' edits
as reference rows). The server stack (uvicorn) is imported when the page is served."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from functions.tables import emit

DEFAULT_PORT = 8765


def register(sub: argparse._SubParsersAction) -> tuple[type[Exception], ...]:
    p = sub.add_parser(
        "desk",
        help="the editors' desk: stories with their evidence, live; summarize now; verdicts and their export",
        description="`newsburst desk` serves the editors' page on loopback (http://127.0.0.1:8765/desk): the "
        "stories the functions delivered (read from the same local desk folder the demo writes, or from S3 "
        "when NEWSBURST_CACHE_BUCKET is set), newest first as they arrive, each number and name marked with "
        "the article sentence it comes from; 'summarize now' streams a pasted article's summary token by "
        "token; approve, reject or edit each. `newsburst desk export --out feedback.jsonl` writes each story's "
        "latest edit as a row (id, article, reference, format, dataset 'editor') that `newsburst eval --data` "
        "and `newsburst export --extra-articles` read: a reference written by an editor, labelled so.",
    )
    p.add_argument("action", nargs="?", default="serve", choices=["serve", "export"], help="default: serve")
    p.add_argument("--host", default="127.0.0.1", help="serve: the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"serve: the port (default {DEFAULT_PORT})")
    p.add_argument("--bundle", type=Path, help="serve: the bundle 'summarize now' uses (default: as the demo)")
    p.add_argument("--out", type=Path, default=Path("feedback.jsonl"), help="export: the JSONL file to write")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_desk)
    return ()


def _cmd_desk(args: argparse.Namespace) -> int:
    from functions.app import App
    from functions.command_settings import servable_or_teacher, settings_from

    settings = settings_from(args)
    if args.action == "export":
        return _export(App.from_settings(settings), args.out, args.json)
    settings = servable_or_teacher(settings, explicit=args.bundle is not None)
    return _serve(App.from_settings(settings), args.host, args.port)


def _export(app, out: Path, as_json: bool) -> int:
    from functions.desk_records.verdicts import export_rows

    rows, counts = export_rows(app.desk_feed, app.verdicts)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    os.replace(tmp, out)
    table = [{"verdict": k, "stories": v} for k, v in sorted(counts.items())]
    emit(
        {"out": str(out), "rows": len(rows), "verdicts": counts},
        [*table, {"verdict": f"rows written to {out}", "stories": len(rows)}],
        as_json,
        "the editors' latest verdict per story (an edit becomes a reference row written by an editor)",
    )
    return 0


def _serve(app, host: str, port: int) -> int:
    import uvicorn

    from functions.desk.web import build_desk

    print(f"newsburst desk: http://{host}:{port}/desk  (stories from {_source(app)}; Ctrl-C stops)", flush=True)
    uvicorn.run(build_desk(app, streaming=True), host=host, port=port, log_level="warning")
    return 0


def _source(app) -> str:
    s = app.settings
    return f"s3://{s.cache_bucket}/{s.desk_prefix}" if s.cache_bucket else str(s.desk_dir)
