"""``newsburst export``: teacher -> targets -> distilled student -> ONNX fp32/int8 -> gate -> bundles."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer

from functions.runtime.bundle import (
    MODEL,
    PROMPT_TEMPLATE,
    STUDENT,
    TEACHER,
    TEACHER_CUDA,
    BundleError,
    GenerationSettings,
    read_manifest,
)
from functions.runtime.kv_generate import KVCacheDecoder
from functions.runtime.model import load_model, open_session
from functions.runtime.prompt import PromptTemplate
from functions.runtime.summarize import Summarizer
from model_export import corpus
from model_export.bundle_writer import ensure_writable, publish, record_metrics, write_bundle
from model_export.errors import ExportError
from model_export.last_position_head import last_position_head
from model_export.onnx_build import Precision, build_onnx
from model_export.profiles import STUDENT_BUDGET, TEACHER_MAX_NEW_TOKENS, Profile
from model_export.quality_gate import compare
from model_export.references import ReferenceRow, format_of, reference_rows
from model_export.shared_embedding import share_quantized_embedding
from model_export.short_head import output_vocab, short_head
from model_export.student_gate import student_gate

log = logging.getLogger(__name__)

EOS_TOKEN = "<|im_end|>"
QUANTIZATION = "int8-weight-only-matmulnbits-shared-embedding-last-position-head"  # bump when the graph recipe changes
GPU_QUANTIZATION = "fp16-cuda-last-position-head"  # the GPU endpoint's teacher (--gpu-teacher)
SHORT_HEAD = "-short-head"  # the student's recipe with a short output layer (profile output_vocab)


@dataclass
class ExportReport:
    profile: str
    student_bundle: str = ""
    teacher_bundle: str = ""
    gpu_teacher_bundle: str = ""  # with --gpu-teacher: the float16 CUDA teacher
    published: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def _measure(bundle: Path, prompt_article: str, new_tokens: int = 32) -> dict:
    summarize = Summarizer(load_model(bundle))
    gen = summarize.decoder.generate(summarize.model.encode_prompt(prompt_article), new_tokens, [])
    model = summarize.model
    size = sum(p.stat().st_size for p in bundle.iterdir())
    return {
        "load_seconds": round(model.load_seconds, 3),
        "decode_tokens_per_second": round(gen.decode_tokens_per_second, 1),
        "prefill_tokens_per_second": round(gen.prompt_tokens / gen.prefill_seconds, 1),
        "size_mb": round(size / 2**20, 1),
    }


def _head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def _model_meta(config, role: str, teacher_id: str, layers: list[int], quant: str, budget: int) -> dict:
    return {
        "name": f"newsburst-{role}",
        "role": role,
        "teacher_id": teacher_id,
        "layers_kept": layers,
        "num_layers": config.num_hidden_layers,
        "num_kv_heads": config.num_key_value_heads,
        "head_dim": _head_dim(config),
        "vocab_size": config.vocab_size,
        "quantization": quant,
        "context_window": config.max_position_embeddings,
        "local_token_budget": budget,
    }


def run_export(
    profile: Profile,
    teacher: str | None,
    out: Path,
    cache_dir: Path,
    publish_url: str | None = None,
    extra_articles: Sequence[Path] = (),
    gate_data: Sequence[Path] = (),
    gpu_teacher: bool = False,
    teacher_only: bool = False,
) -> ExportReport:
    """``teacher_only`` stops once the (tuned) teacher bundle is written: a new endpoint model without
    a new student, or one arm of a teacher-tuning comparison (``newsburst eval`` then scores two such
    bundles side by side)."""
    from model_export.distill import DistillConfig, distill
    from model_export.reference_targets import reference_targets, with_teacher_topk
    from model_export.student import student_from_teacher
    from model_export.targets import teacher_targets
    from model_export.teacher import load_teacher, resolve_teacher
    from model_export.teacher_finetune import tuned_teacher

    started = time.perf_counter()
    ensure_writable(out)
    ensure_writable(cache_dir)
    rows = [row for path in extra_articles for row in corpus.read_rows(path)]  # bad input fails before hours of work
    gate_rows = [row for path in gate_data for row in corpus.read_eval_jsonl(path)[: profile.eval_articles]]
    references, ref_report = reference_rows([r for r in rows if r.get("reference")])
    extra = [corpus.Article(str(r["id"]), r["article"]) for r in rows if not r.get("reference")]
    source = resolve_teacher(teacher, cache_dir)
    tokenizer_json = source.hf_folder / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    eos_id = tokenizer.token_to_id(EOS_TOKEN)
    if eos_id is None:
        raise ExportError(f"teacher tokenizer has no {EOS_TOKEN} token; only ChatML teachers are supported")
    template = PromptTemplate(input_tokens=profile.input_tokens)
    train, held = corpus.split(corpus.load_articles())
    train, held = train[: profile.train_articles] + extra, held[: profile.eval_articles]
    work = cache_dir / f"work-{profile.name}"
    work.mkdir(parents=True, exist_ok=True)
    report = ExportReport(profile=profile.name)
    report.metrics["references"] = ref_report.as_dict()

    # 1. The teacher learns from the human references first (when the profile says so): it
    # serves the endpoint, writes the targets of articles without a reference, and lends the
    # student its layers.
    teacher_refs = per_format(references, profile.teacher_references_per_format)
    if teacher_refs:
        tcfg = DistillConfig(
            epochs=profile.teacher_epochs,
            batch_size=profile.batch_size,
            learning_rate=profile.teacher_learning_rate,
            kd_weight=0.0,
            train_layers=profile.teacher_train_layers,
            desc="teacher fine-tune",
        )
        ft_targets = reference_targets(teacher_refs, tokenizer, template, eos_id)
        source, report.metrics["teacher_finetune"] = tuned_teacher(source, ft_targets, tcfg, work, eos_id)
    teacher_model = load_teacher(source)

    # 2. The teacher bundle: it writes the distillation targets and is the gate's yardstick.
    teacher_dir = out / TEACHER
    if not _is_current(teacher_dir, source.teacher_id, template, QUANTIZATION):
        _write_teacher_bundle(teacher_dir, source, teacher_model.config, tokenizer_json, template, eos_id, cache_dir)
    report.teacher_bundle = str(teacher_dir)
    gpu_dir = out / TEACHER_CUDA
    if gpu_teacher and not _is_current(gpu_dir, source.teacher_id, template, GPU_QUANTIZATION):
        config = teacher_model.config
        _write_teacher_bundle(gpu_dir, source, config, tokenizer_json, template, eos_id, cache_dir, "fp16")
    report.gpu_teacher_bundle = str(gpu_dir) if gpu_teacher else ""
    if teacher_only:
        unmeasured = [gpu_dir] if gpu_teacher else []
        return _finish(report, {"teacher_bundle": teacher_dir}, unmeasured, held[0].text, started, publish_url)
    teacher_summarize = Summarizer(load_model(teacher_dir))

    # 3. The student's rows: references with the teacher's distribution on their tokens, and the
    # teacher's own summaries of the articles that have no reference.
    targets = teacher_targets(
        teacher_summarize,
        train,
        top_k=profile.top_k,
        grounding=profile.target_grounding,
        batch_size=profile.teacher_batch,
        cache_dir=cache_dir,
    )
    complete = sum(t.summary_ids[-1] == eos_id for t in targets if t.summary_ids)
    student_refs = per_format(references, profile.references_per_format)
    ref_targets = with_teacher_topk(
        teacher_model,
        reference_targets(student_refs, tokenizer, template, eos_id),
        profile.top_k,
        teacher_summarize.model.manifest.version,
        cache_dir,
        pad_id=eos_id,
    )
    report.metrics["targets"] = {
        "teacher_summaries": len(targets),
        "extra_articles": len(extra),
        "ending_in_eos": complete,
        "grounding": profile.target_grounding,
        "references": len(ref_targets),
        **{f"references_{fmt}": n for fmt, n in Counter(r.format for r in student_refs).items()},
    }
    targets = targets + ref_targets
    student, layers = student_from_teacher(
        teacher_model, profile.student_layers, profile.student_head_layers, profile.student_layout
    )
    del teacher_model  # its weights now live in the student and the teacher bundle
    cfg = DistillConfig(
        epochs=profile.epochs,
        batch_size=profile.batch_size,
        learning_rate=profile.learning_rate,
        kd_weight=profile.kd_weight,
    )
    report.metrics["distill"] = distill(student, targets, cfg, work, layers, pad_id=eos_id)

    student_hf = work / "student_hf"
    shutil.rmtree(student_hf, ignore_errors=True)
    student.save_pretrained(student_hf)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if (source.hf_folder / name).exists():
            shutil.copyfile(source.hf_folder / name, student_hf / name)
    fp32 = build_onnx(student_hf, work / "student_fp32", "fp32", cache_dir / "builder")
    int8 = build_onnx(student_hf, work / "student_int8", "int8", cache_dir / "builder")
    share_quantized_embedding(int8)
    keep: list[int] = []
    if profile.output_vocab:  # counted over every kept reference, also those this profile does not train on
        trained = set(student_refs)
        unused = reference_targets([r for r in references if r not in trained], tokenizer, template, eos_id)
        keep = _output_vocab(profile.output_vocab, targets + unused, tokenizer, eos_id)
    for graph in (fp32, int8):  # the gate compares them as served
        last_position_head(graph)
        if keep:
            short_head(graph, keep)
    recipe = QUANTIZATION + (SHORT_HEAD if keep else "")

    # Quality gates on real-length held-out articles (never truncated here) with reference summaries.
    refs = corpus.held_out_references()
    gate_articles = [a for a in held if a.id in refs][: profile.gate_articles]
    dims = (student.config.num_key_value_heads, _head_dim(student.config))
    gate = compare(
        KVCacheDecoder(open_session(fp32 / MODEL), *dims),
        KVCacheDecoder(open_session(int8 / MODEL), *dims),
        [template.encode(tokenizer, template.select(tokenizer, a.text)) for a in gate_articles],
        [refs[a.id] for a in gate_articles],
        tokenizer.decode,
        profile.serve_max_new_tokens,
        [eos_id],
        profile.gate_max_drop,
    )
    report.metrics["gate"] = gate.as_dict()
    if not gate.passed:
        raise ExportError(f"quality gate failed: {gate.explain()}; bundle not written")

    student_dir = out / STUDENT
    manifest = write_bundle(
        student_dir,
        int8,
        tokenizer_json,
        template,
        GenerationSettings(
            profile.serve_max_new_tokens, copy_bias=profile.serve_copy_bias, copy_coverage=profile.serve_copy_coverage
        ),
        {
            **_model_meta(student.config, "student", source.teacher_id, layers, recipe, STUDENT_BUDGET),
            "eos_token_ids": [eos_id],
            "metrics": {
                "profile": profile.name,
                **{f"gate_{k}": v for k, v in gate.as_dict().items()},
                "output_vocab": len(keep) or student.config.vocab_size,
                "distill_loss_first": round(report.metrics["distill"]["loss_first"], 4),
                "distill_loss_last": round(report.metrics["distill"]["loss_last"], 4),
                **{f"targets_{k}": v for k, v in report.metrics["targets"].items()},
            },
        },
    )
    report.student_bundle = str(student_dir)

    # Written first (refused by the functions as never gated), then judged against the teacher.
    verdict = student_gate(
        Summarizer(load_model(student_dir)),
        teacher_summarize,
        [a.text for a in gate_articles] + [r["article"] for r in gate_rows],
        [refs[a.id] for a in gate_articles] + [r["reference"] for r in gate_rows],
        profile.servable_floor,
        profile.max_escalated_share,
        cache_dir,
        ["highlights"] * len(gate_articles) + [format_of(r) for r in gate_rows],
    )
    record_metrics(
        student_dir,
        verdict.as_metrics(),
        servable=verdict.servable,
        confidence_threshold=verdict.confidence_threshold,
    )
    report.metrics["servable"] = verdict.as_metrics() | {"servable": verdict.servable, "verdict": verdict.explain()}
    log.info("%s", verdict.explain())

    report.metrics["student_version"] = manifest.version
    written = {"student_bundle": student_dir, "teacher_bundle": teacher_dir}
    return _finish(report, written, [gpu_dir] if gpu_teacher else [], held[0].text, started, publish_url)


def _finish(
    report: ExportReport,
    measured: dict[str, Path],
    unmeasured: list[Path],
    probe: str,
    started: float,
    publish_url: str | None,
) -> ExportReport:
    """Every way an export ends: each CPU bundle's load time, speed and size (into its manifest), the
    run's time, and the upload of every bundle written."""
    for key, bundle in measured.items():
        report.metrics[key] = _measure(bundle, probe)
        record_metrics(bundle, report.metrics[key])
    report.metrics["export_seconds"] = round(time.perf_counter() - started, 1)
    if publish_url:
        for bundle in [*measured.values(), *unmeasured]:
            report.published.append(publish(bundle, read_manifest(bundle), publish_url))
    return report


def _write_teacher_bundle(
    teacher_dir: Path,
    source,
    config,
    tokenizer_json: Path,
    template: PromptTemplate,
    eos_id: int,
    cache_dir: Path,
    precision: Precision = "int8",
) -> None:
    graph = build_onnx(source.hf_folder, cache_dir / f"teacher_{precision}", precision, cache_dir / "builder")
    share_quantized_embedding(graph)  # a no-op without 8-bit weights
    last_position_head(graph)
    write_bundle(
        teacher_dir,
        graph,
        tokenizer_json,
        template,
        GenerationSettings(TEACHER_MAX_NEW_TOKENS),
        {
            **_model_meta(
                config,
                "teacher",
                source.teacher_id,
                list(range(config.num_hidden_layers)),
                QUANTIZATION if precision == "int8" else GPU_QUANTIZATION,
                config.max_position_embeddings,
            ),
            "eos_token_ids": [eos_id],
        },
    )


def _output_vocab(size: int, seen: list, tokenizer: Tokenizer, eos_id: int) -> list[int]:
    """The short head's fixed tokens, counted over the summaries and prompts of ``seen`` (targets)."""
    spellers = [i for token, i in tokenizer.get_vocab().items() if len(token) == 1]  # every byte
    return output_vocab((t.summary_ids for t in seen), (t.prompt_ids for t in seen), size, [eos_id, *spellers])


def _is_current(bundle: Path, teacher_id: str, template: PromptTemplate, recipe: str) -> bool:
    try:
        m = read_manifest(bundle)
        written = PromptTemplate.load(bundle / PROMPT_TEMPLATE)
    except (BundleError, OSError, ValueError, TypeError):
        return False
    return (m.teacher_id, written, m.quantization) == (teacher_id, template, recipe)


def per_format(rows: list[ReferenceRow], n: int) -> list[ReferenceRow]:
    """The first ``n`` references of each format in a fixed pseudo-random order (by id), so a
    larger profile's rows include a smaller one's."""
    ordered = sorted(rows, key=lambda r: hashlib.sha256(r.id.encode()).hexdigest())
    taken: Counter = Counter()
    out = []
    for row in ordered:
        if taken[row.format] < n:
            taken[row.format] += 1
            out.append(row)
    return out
