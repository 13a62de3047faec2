"""The real export pipeline on the tiny profile, and the bundle it writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from functions.cli import main
from functions.runtime.bundle import BundleError, read_manifest, sha256_file
from functions.runtime.kv_generate import KVCacheDecoder
from functions.runtime.model import load_model, open_session
from functions.runtime.summarize import Summarizer
from model_export.export import QUANTIZATION, SHORT_HEAD
from tests.conftest import CACHE, ROOT

EXPECTED_FILES = {
    "model.onnx",
    "model.onnx.data",
    "tokenizer.json",
    "prompt_template.json",
    "generation_config.json",
    "genai_config.json",
}
ARTICLE = json.loads((ROOT / "events/news/lee-170.json").read_text())["body"]


def test_bundles_are_complete_checksummed_and_atomic(tiny_export):
    out, report = tiny_export
    for role in ("student", "teacher"):
        bundle = out / role
        m = read_manifest(bundle)
        assert set(m.files) == EXPECTED_FILES
        assert all(sha256_file(bundle / name) == digest for name, digest in m.files.items())
        assert m.role == role and m.tokenizer_sha256 == m.files["tokenizer.json"]
        assert m.quantization == QUANTIZATION + (SHORT_HEAD if role == "student" else "")
        assert m.metrics["load_seconds"] > 0 and m.metrics["size_mb"] > 0
    assert read_manifest(out / "teacher").num_layers == 30
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary folders left behind"
    assert report.metrics["gate"]["token_agreement"] >= 0
    targets = report.metrics["targets"]  # written by the teacher bundle, as the endpoint serves (spans)
    assert targets["teacher_summaries"] == 5 and targets["grounding"] == "spans"  # 4 Lee + 1 without a reference
    assert read_manifest(out / "student").metrics["targets_teacher_summaries"] == targets["teacher_summaries"]


def test_int8_graph_uses_weight_only_matmulnbits_8bit(tiny_export):
    import onnx

    graph = onnx.load(str(tiny_export[0] / "student" / "model.onnx"), load_external_data=False).graph
    nbits = [n for n in graph.node if n.op_type == "MatMulNBits"]
    assert nbits, "no MatMulNBits node: the graph is not weight-only quantized"
    assert all(next(a.i for a in n.attribute if a.name == "bits") == 8 for n in nbits)
    assert not [n for n in graph.node if n.op_type in ("DynamicQuantizeLinear", "MatMulInteger")]
    # the input embedding reads the output layer's 8-bit weights; no float copy of the table
    assert [n for n in graph.node if n.op_type == "GatherBlockQuantized"]
    assert "model.embed_tokens.weight" not in {i.name for i in graph.initializer}
    assert {i.name for i in graph.input} >= {"past_key_values.0.key", "past_key_values.0.value"}
    assert {o.name for o in graph.output} >= {"present.0.key", "present.0.value"}


def test_onnx_fp32_matches_pytorch_for_prefill_and_three_decode_steps(tiny_export, tokenizer):
    """Tolerance: max |logit difference| <= 1e-3 (fp32 graph against PyTorch eager, same weights) on
    every token the graph scores. The graph computes the LM head for the last position only
    (model_export/last_position_head.py), and for the tiny profile's short list of tokens plus the
    prompt's own (model_export/short_head.py): every other token is -inf."""
    import torch
    from transformers import AutoModelForCausalLM

    work = CACHE / "work-tiny"
    model = AutoModelForCausalLM.from_pretrained(work / "student_hf", dtype=torch.float32).eval()
    cfg = model.config
    decoder = KVCacheDecoder(open_session(work / "student_fp32" / "model.onnx"), cfg.num_key_value_heads, cfg.head_dim)
    ids = tokenizer.encode(ARTICLE[:300], add_special_tokens=False).ids
    scored = sorted(set(_short_head_ids(work / "student_fp32")) | set(ids))

    def same(logits, ref) -> None:
        assert logits.shape == (1, 1, cfg.vocab_size)  # the last position's alone
        assert np.flatnonzero(np.isfinite(logits[0, -1])).tolist() == scored
        assert np.abs(logits[0, -1, scored] - ref.logits[0, -1, scored].numpy()).max() <= 1e-3

    logits, past = decoder.step(np.asarray([ids], np.int64), len(ids), decoder.empty_cache())
    with torch.inference_mode():
        ref = model(torch.tensor([ids]), use_cache=True)
        same(logits, ref)
        total = len(ids)
        for _ in range(3):
            nxt = scored[int(ref.logits[0, -1, scored].argmax())]  # what the graph can choose
            total += 1
            logits, past = decoder.step(np.asarray([[nxt]], np.int64), total, past, [ids])
            ref = model(torch.tensor([[nxt]]), cache=ref.cache, use_cache=True)
            same(logits, ref)


def _short_head_ids(graph_dir: Path) -> list[int]:
    import onnx
    from onnx import numpy_helper

    from model_export.short_head import NAME

    graph = onnx.load(str(graph_dir / "model.onnx")).graph
    return numpy_helper.to_array(next(i for i in graph.initializer if i.name == f"{NAME}.ids")).ravel().tolist()


def test_the_short_head_writes_only_its_news_tokens_and_the_article_s_own(tiny_export, tokenizer):
    """The served int8 student: a token outside the fixed list is still written when the article has
    it (a rare name), and never when it does not, however much the model prefers it."""
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    fixed = set(_short_head_ids(tiny_export[0] / "student"))
    # at most the profile's 4,096: the tiny export has seen fewer distinct tokens than that
    assert len(fixed) <= 4096 and read_manifest(tiny_export[0] / "student").metrics["output_vocab"] == len(fixed)
    assert tokenizer.token_to_id("<|im_end|>") in fixed
    names = tokenizer.encode(" Warragamba Nepean Hawkesbury", add_special_tokens=False).ids
    rare = [i for i in names if i not in fixed]
    assert rare, "the test's names should be outside the tiny profile's fixed list"
    decoder = summarize.decoder
    for article in (ARTICLE, ARTICLE + " The Warragamba Nepean Hawkesbury works."):
        prompt = summarize.model.encode_prompt(article)
        logits, _ = decoder.prefill(prompt)
        allowed = np.flatnonzero(np.isfinite(logits[0, -1]))
        assert set(allowed) == fixed | set(prompt)
        assert all((token in allowed) == (token in prompt) for token in rare)
        gen = decoder.generate(prompt, 12, [])
        assert set(gen.token_ids) <= fixed | set(prompt)


def test_kv_cache_decoding_equals_rerunning_the_whole_sequence(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    ids = summarize.model.encode_prompt(ARTICLE)
    cached = summarize.decoder.generate(ids, 6, []).token_ids
    seq, uncached = list(ids), []
    for _ in range(6):  # no cache: the whole sequence every step
        logits, _ = summarize.decoder.step(np.asarray([seq], np.int64), len(seq), summarize.decoder.empty_cache())
        uncached.append(int(logits[0, -1].argmax()))
        seq.append(uncached[-1])
    assert cached == uncached


def test_tampered_tokenizer_is_refused_naming_the_file(student_bundle_copy, capsys):
    tok = student_bundle_copy / "tokenizer.json"
    tok.write_text(tok.read_text().replace('"<|im_end|>"', '"<|im_stop|>"', 1))
    with pytest.raises(BundleError, match=r"tokenizer\.json"):
        load_model(student_bundle_copy)
    data = ROOT / "model_export/data/lee_heldout_refs.jsonl"
    assert main(["eval", str(student_bundle_copy), "--data", str(data), "--limit", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checksum mismatch for tokenizer.json" in err[0]


def test_missing_graph_file_is_refused(student_bundle_copy):
    (student_bundle_copy / "model.onnx.data").unlink()
    with pytest.raises(BundleError, match=r"model\.onnx\.data.*missing"):
        load_model(student_bundle_copy)


def _rewrite_manifest(bundle, change) -> None:
    """Edit the manifest as an attacker with write access would: the version recomputed to match."""
    from functions.runtime.bundle import content_version

    m = json.loads((bundle / "manifest.json").read_text())
    change(m["files"])
    m["version"] = content_version(m["files"])
    (bundle / "manifest.json").write_text(json.dumps(m))


def test_a_graph_file_left_out_of_the_manifest_is_refused_not_loaded_unchecked(student_bundle_copy):
    _rewrite_manifest(student_bundle_copy, lambda files: files.pop("model.onnx.data"))
    data = student_bundle_copy / "model.onnx.data"
    data.write_bytes(data.read_bytes()[:-64] + bytes(64))  # a corrupted weight
    with pytest.raises(BundleError, match=r"does not list model\.onnx\.data"):
        load_model(student_bundle_copy)


def test_an_unlisted_file_in_the_bundle_is_refused(student_bundle_copy):
    (student_bundle_copy / "extra.onnx").write_bytes(b"\0")
    with pytest.raises(BundleError, match=r"extra\.onnx not listed"):
        load_model(student_bundle_copy)


@pytest.mark.parametrize("name", ["../outside.json", "/etc/passwd", "sub/file"])
def test_a_local_manifest_naming_a_file_outside_the_bundle_is_refused(student_bundle_copy, name):
    (student_bundle_copy.parent / "outside.json").write_text("{}")
    _rewrite_manifest(student_bundle_copy, lambda files: files.__setitem__(name, "0" * 64))
    with pytest.raises(BundleError, match="unsafe file name"):
        load_model(student_bundle_copy)


def test_eval_prints_student_teacher_cascade_and_lead3_as_json(tiny_export, capsys, tmp_path):
    rows = (ROOT / "model_export/data/lee_heldout_refs.jsonl").read_text().splitlines()[:2]
    data = tmp_path / "eval.jsonl"
    data.write_text("\n".join(rows) + "\n")
    student = str(tiny_export[0] / "student")
    assert main(["eval", student, "--data", str(data), "--grounding", "off,spans", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    block = result["datasets"][str(data)]
    assert block["articles"] == 2 and result["modes"] == ["off", "spans"]
    for system in ("student", "teacher", "cascade"):
        for mode in result["modes"]:
            row = block["systems"][system][mode]
            assert set(row) >= {"rouge1", "rougeLsum", "flagged_pct", "loop_or_cut_pct", "teacher_nll", "escalated_pct"}
            assert 0 <= row["rougeLsum"] <= 100 and 0 <= row["flagged_pct"] <= 100
    assert block["systems"]["lead3"]["rouge1"] > 20  # lead-3 overlaps a reference summary of the same article


def test_eval_rejects_a_malformed_data_file(tiny_export, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "article": "x"}\n')
    assert main(["eval", str(tiny_export[0] / "student"), "--data", str(bad)]) == 2
    assert "bad.jsonl:1: missing field(s) reference" in capsys.readouterr().err


def test_publish_uploads_the_bundle_to_an_s3_compatible_server(tiny_export, aws):
    import boto3

    from model_export.bundle_writer import publish

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="models")
    bundle = tiny_export[0] / "student"
    m = read_manifest(bundle)
    url = publish(bundle, m, "s3://models/newsburst")
    assert url == f"s3://models/newsburst/{m.name}/{m.version}/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="models")["Contents"]}
    assert keys == {f"newsburst/{m.name}/{m.version}/{n}" for n in [*m.files, "manifest.json"]}
    body = s3.get_object(Bucket="models", Key=f"newsburst/{m.name}/{m.version}/tokenizer.json")["Body"].read()
    assert body == (bundle / "tokenizer.json").read_bytes()


def test_summarize_command_answers_every_sample_news_item(tiny_export, capsys):
    files = sorted(str(p) for p in (ROOT / "events/news").glob("*.json"))
    assert main(["summarize", *files, "--bundle", str(tiny_export[0] / "student"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model_version"] == read_manifest(tiny_export[0] / "student").version
    assert [s["id"] for s in result["summaries"]] == [json.loads(Path(f).read_text())["id"] for f in files]
    local = [s for s in result["summaries"] if s["route"] == "local"]
    assert all(s["tokens_out"] <= 12 and s["tokens_in"] > 100 for s in local)
    (far,) = [s for s in result["summaries"] if s["route"] == "escalate"]  # the long sample: never truncated
    assert far["id"] == "sample-long-001" and "exceed the local budget" in far["reason"]


def test_eval_table_is_readable_by_default(tiny_export, capsys, tmp_path):
    data = tmp_path / "one.jsonl"
    data.write_text((ROOT / "model_export/data/lee_heldout_refs.jsonl").read_text().splitlines()[0] + "\n")
    assert main(["eval", str(tiny_export[0] / "student"), "--data", str(data), "--grounding", "off,spans"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{data}: 1 articles, format highlights, ROUGE F1 x100 against its references (")
    assert lines[1].split()[:8] == [
        "system",
        "grounding",
        "rouge1",
        "rouge2",
        "rougeLsum",
        "flagged_pct",
        "unsupported_sentences_pct",
        "support",
    ]
    assert {"rougeLsum_x_teacher", "check_ms", "check_pct_of_model", "loop_or_cut_pct"} <= set(lines[1].split())
    assert [line.split()[:2] for line in lines[3:9]] == [
        ["student", "off"],
        ["student", "spans"],
        ["teacher", "off"],
        ["teacher", "spans"],
        ["cascade", "off"],
        ["cascade", "spans"],
    ]
    assert lines[9].split()[:2] == ["lead3", "-"]


def test_summarize_rejects_bad_news_items_with_one_line(tiny_export, tmp_path, capsys):
    bundle = str(tiny_export[0] / "student")
    cases = {"empty.json": '{"id": "a", "body": "   "}', "broken.json": '{"id": ', "nobody.json": '{"id": "a"}'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["summarize", str(tmp_path / name), "--bundle", bundle]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and name in err[0]
    (tmp_path / "latin1.json").write_bytes(b'{"id": "a", "body": "caf\xe9"}')
    assert main(["summarize", str(tmp_path / "latin1.json"), "--bundle", bundle]) == 2
    assert "not a UTF-8 JSON file" in capsys.readouterr().err


def test_summarize_resolves_grounding_as_the_functions_do(tiny_export, tmp_path, capsys, monkeypatch):
    item = json.loads((ROOT / "events/news/lee-170.json").read_text())
    (tmp_path / "own.json").write_text(json.dumps({**item, "id": "own", "grounding": "off"}))
    (tmp_path / "default.json").write_text(json.dumps({**item, "id": "default"}))
    monkeypatch.setenv("NEWSBURST_GROUNDING", "tokens")
    files = [str(tmp_path / "own.json"), str(tmp_path / "default.json")]
    assert main(["summarize", *files, "--bundle", str(tiny_export[0] / "student"), "--json"]) == 0
    modes = {s["id"]: s["faithfulness"]["grounding"] for s in json.loads(capsys.readouterr().out)["summaries"]}
    assert modes == {"own": "off", "default": "tokens"}  # the item's field, else the deployment's setting


@pytest.mark.slow
def test_the_gpu_teacher_is_a_float16_cuda_graph_that_still_answers_on_cpu(teacher_source, tmp_path):
    """``--gpu-teacher``'s bundle: float16, built for the CUDA provider, the LM head on the last position;
    no GPU here, so it is checked on the CPU provider, where the same graph runs (slowly)."""
    from tokenizers import Tokenizer
    from transformers import AutoConfig

    from functions.runtime.prompt import PromptTemplate
    from model_export.export import GPU_QUANTIZATION, _write_teacher_bundle

    tokenizer_json = teacher_source.hf_folder / "tokenizer.json"
    eos = Tokenizer.from_file(str(tokenizer_json)).token_to_id("<|im_end|>")
    config = AutoConfig.from_pretrained(teacher_source.hf_folder)
    bundle = tmp_path / "teacher-cuda"
    _write_teacher_bundle(bundle, teacher_source, config, tokenizer_json, PromptTemplate(), eos, CACHE, "fp16")
    manifest = read_manifest(bundle)
    assert manifest.quantization == GPU_QUANTIZATION and manifest.role == "teacher"
    summarize = Summarizer(load_model(bundle, providers=["CPUExecutionProvider"]))
    assert summarize.decoder.dtype == np.float16
    # the last position only, unless the caller asks for more (logits_positions, default 1)
    assert [o.shape[1] for o in summarize.model.session.get_outputs() if o.name == "logits"] == ["logits_positions"]
    summary = summarize(ARTICLE, max_new_tokens=12)
    assert summary.generation.token_ids and summary.text.strip()


def test_the_export_learns_from_references_in_both_formats_and_drops_unsupported_ones(tiny_export):
    report = tiny_export[1].metrics
    refs = report["references"]
    # tests/data/reference_rows.jsonl: 2 + 2 usable references, one stating "$40 million" and "Rita Vance"
    assert refs["kept"] == {"highlights": 2, "brief": 2} and refs["dropped_unsupported_claims"] == {"brief": 1}
    assert report["teacher_finetune"]["steps"] >= 1 and report["teacher_finetune"]["rows"] == 2
    targets = report["targets"]
    assert targets["references_brief"] == 1 and targets["references_highlights"] == 1  # the profile takes 1 of each
    assert targets["teacher_summaries"] == 5  # 4 Lee articles + the fixture's article without a reference
    manifest = json.loads((tiny_export[0] / "teacher" / "manifest.json").read_text())
    assert "+refs:" in manifest["teacher_id"]  # the bundle serves the tuned teacher
    student = json.loads((tiny_export[0] / "student" / "manifest.json").read_text())
    assert student["metrics"]["servable_highlights_lead3_rouge_lsum"] > 0  # the verdict beside lead-3


def test_eval_scores_each_data_set_in_its_format_with_lengths(tiny_export, capsys, tmp_path):
    brief = tmp_path / "xsum_like.jsonl"
    brief.write_text(
        "".join(
            json.dumps({"id": f"xsum-{i}", "article": r["article"], "reference": r["reference"]}) + "\n"
            for i, r in enumerate(
                map(json.loads, (ROOT / "tests/data/reference_rows.jsonl").read_text().splitlines()[:2])
            )
        )
    )
    assert main(["eval", str(tiny_export[0] / "student"), "--data", str(brief), "--json", "--candidates", "2"]) == 0
    block = json.loads(capsys.readouterr().out)["datasets"][str(brief)]
    assert block["format"] == "brief" and block["reference_words"] > 0
    assert block["systems"]["student"]["spans"]["words"] > 0 and block["systems"]["lead3"]["words"] > 0
    assert block["systems"]["student_best_of_2"]["spans"]["ms_per_item"] > 0


def test_teacher_only_stops_at_the_teacher_bundle_and_reuses_the_tuned_teacher(tiny_export, tmp_path, capsys, aws):
    """One arm of a teacher-tuning comparison, or a new endpoint model: the tiny export's tuned teacher
    (same references and settings) is reused from the cache, the bundle already written is kept and
    published, and no student is made."""
    import boto3

    from tests.conftest import REFERENCE_ROWS

    boto3.client("s3").create_bucket(Bucket="models")
    out = tmp_path / "bundles"
    shutil.copytree(tiny_export[0] / "teacher", out / "teacher")
    before = read_manifest(out / "teacher").teacher_id
    argv = ["export", "--profile", "tiny", "--teacher-only", "--teacher-train-layers", "2"]
    argv += ["--extra-articles", str(REFERENCE_ROWS), "--out", str(out), "--cache-dir", str(CACHE), "--json"]
    assert main([*argv, "--publish", "s3://models/newsburst"]) == 0
    report = json.loads(capsys.readouterr().out)
    m = read_manifest(out / "teacher")
    assert report["published"] == [f"s3://models/newsburst/{m.name}/{m.version}/"]
    assert report["teacher_bundle"] == str(out / "teacher") and not report["student_bundle"]
    assert report["metrics"]["teacher_finetune"]["rows"] == 2
    assert report["metrics"]["teacher_bundle"]["load_seconds"] > 0
    assert read_manifest(out / "teacher").teacher_id == before and "+refs:" in before
    assert not (out / "student").exists()


@pytest.mark.parametrize(("value", "layers"), [("all", "all"), ("8", 8)])
def test_teacher_train_layers_takes_a_count_or_all(value, layers):
    from model_export.commands import _layers

    assert _layers(value) == layers


@pytest.mark.parametrize("value", ["0", "-3", "top"])
def test_teacher_train_layers_refuses_anything_else(value, capsys):
    with pytest.raises(SystemExit):
        main(["export", "--teacher-train-layers", value])
    assert "positive layer count or 'all'" in capsys.readouterr().err


def test_set_overrides_one_numeric_profile_field_per_assignment():
    from model_export.profiles import get_profile, override

    release = get_profile("release")
    arm = override(override(release, "references_per_format=823"), "kd_weight=0.3")
    assert (arm.references_per_format, arm.kd_weight, arm.epochs) == (823, 0.3, release.epochs)
    assert override(release, "input_tokens=none").input_tokens is None
    assert override(release, "teacher_train_layers=none").teacher_train_layers is None


@pytest.mark.parametrize(
    ("assignment", "says"),
    [
        ("epochs", "FIELD=VALUE"),
        ("name=fast", "FIELD=VALUE"),
        ("epochs=two", "whole number"),
        ("epochs=none", "whole number"),
        ("learning_rate=-1e-4", "negative"),
    ],
)
def test_set_refuses_what_is_not_a_numeric_field_with_one_clear_line(assignment, says, capsys):
    assert main(["export", "--profile", "tiny", "--set", assignment]) != 0
    err = capsys.readouterr().err
    assert says in err and "--set" in err and "Traceback" not in err
