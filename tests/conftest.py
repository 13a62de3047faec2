"""Shared fixtures: the real teacher tokenizer and one tiny bundle built by the real export.

The tiny profile runs every export stage (GGUF teacher, teacher summaries, distillation of a
small random student, ONNX fp32 + int8 with KV cache, quality gate, bundles) in about a minute.
The teacher's dequantized conversion is cached in .cache/newsburst across runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "newsburst"


@pytest.fixture(scope="session")
def teacher_source():
    from model_export.teacher import resolve_teacher

    return resolve_teacher(None, CACHE)


@pytest.fixture(scope="session")
def tokenizer(teacher_source):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(teacher_source.hf_folder / "tokenizer.json"))


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, teacher_source):
    from model_export.pipeline import run_export
    from model_export.profiles import get_profile

    out = tmp_path_factory.mktemp("bundles")
    report = run_export(get_profile("tiny"), None, out, CACHE)
    return out, report


@pytest.fixture()
def student_bundle_copy(tiny_export, tmp_path) -> Path:
    """A private copy of the tiny student bundle that a test may damage."""
    target = tmp_path / "student"
    shutil.copytree(tiny_export[0] / "student", target)
    return target
