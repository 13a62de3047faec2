"""Bad input to the export: one clear line and a non-zero exit, never a half bundle."""

from __future__ import annotations

import pytest

from functions.cli import main
from functions.runtime.bundle import GenerationSettings
from model_export.bundle_writer import write_bundle
from model_export.errors import ExportError


def _one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_unknown_profile_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["export", "--profile", "huge"])
    assert exc.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def _export_tiny(tmp_path, teacher) -> int:
    out, cache = str(tmp_path / "out"), str(tmp_path / "c")
    return main(["export", "--profile", "tiny", "--teacher", str(teacher), "--out", out, "--cache-dir", cache])


def test_missing_teacher_file(tmp_path, capsys):
    assert _export_tiny(tmp_path, tmp_path / "nope.gguf") == 2
    assert "teacher not found" in _one_error_line(capsys)
    assert not (tmp_path / "out" / "student").exists()


def test_corrupt_teacher_gguf(tmp_path, capsys):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    assert _export_tiny(tmp_path, bad) == 2
    assert "cannot read teacher GGUF" in _one_error_line(capsys)
    assert not (tmp_path / "out" / "student").exists()


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["export", "--profile", "tiny", "--out", str(blocker / "out"), "--cache-dir", str(tmp_path / "c")]) == 2
    assert "cannot create output folder" in _one_error_line(capsys)


def test_a_failed_bundle_write_leaves_neither_half_bundle_nor_temp(tmp_path, tiny_export, monkeypatch):
    import model_export.bundle_writer as bw
    from functions.runtime.prompt import PromptTemplate

    src = tiny_export[0] / "student"
    target = tmp_path / "bundles" / "student"

    def boom(path):
        raise ExportError("disk full")

    monkeypatch.setattr(bw, "sha256_file", boom)
    with pytest.raises(ExportError):
        write_bundle(target, src, src / "tokenizer.json", PromptTemplate(), GenerationSettings(1), {})
    assert list((tmp_path / "bundles").iterdir()) == []


def test_help_explains_every_subcommand(capsys):
    for cmd in ([], ["export"], ["eval"], ["summarize"]):
        with pytest.raises(SystemExit) as exc:
            main([*cmd, "--help"])
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--profile" in out and "--publish" in out and "lead-3" in out and "ROUGE" in out
