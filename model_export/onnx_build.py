"""HF folder -> ONNX causal-LM graph with a KV cache, via onnxruntime-genai's model builder.

The builder emits past_key_values.N.{key,value} inputs and present.N.{key,value} outputs, fused
GroupQueryAttention and, for int8, 8-bit weight-only MatMulNBits at the builder's CPU default
accuracy level; why this builder and this quantization rather than optimum's exporter and ORT's
dynamic quantizer is in the README ("Dependencies, pinned knowingly"). It runs as a subprocess:
it is a CLI first, and its memory is returned when it exits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Literal

import onnx

from functions.runtime.bundle import MODEL
from model_export.errors import ExportError

# int8: the CPU graph the Lambda and the CPU endpoint serve; fp32: the reference the int8 gate compares
# it with; fp16: the GPU endpoint's graph, built for the CUDA provider (it also runs, slowly, on CPU)
Precision = Literal["int8", "fp32", "fp16"]
PROVIDER: dict[str, str] = {"int8": "cpu", "fp32": "cpu", "fp16": "cuda"}


def build_onnx(hf_folder: Path, out_dir: Path, precision: Precision, cache_dir: Path) -> Path:
    """Return ``out_dir`` holding model.onnx (+ .data) for ``precision``."""
    cmd = [
        sys.executable,
        "-m",
        "onnxruntime_genai.models.builder",
        "-i",
        str(hf_folder),
        "-o",
        str(out_dir),
        "-p",
        precision,
        "-e",
        PROVIDER[precision],
        "-c",
        str(cache_dir),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (out_dir / MODEL).exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ExportError(f"ONNX build ({precision}) failed: {tail[0]}")
    return out_dir


def save_graph(model: onnx.ModelProto, onnx_dir: Path) -> None:
    """Write a rewritten graph back over ``onnx_dir/model.onnx``, its weights in one external file as
    the builder writes them (the graph rewrites: shared_embedding, last_position_head, short_head)."""
    data = onnx_dir / "model.onnx.data"
    if data.exists():
        data.unlink()
    onnx.save_model(model, str(onnx_dir / MODEL), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=1024)  # fmt: skip
