"""The bundle, written once: its file names, its manifest and their verification, its
generation settings, where the export puts it and how a published one is addressed.

The export writes a bundle and the runtime reads it only through this module. Tokenizer drift
is the first failure operators of such systems meet: a bundle whose tokenizer or weights changed
after export must be refused, naming the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

MANIFEST = "manifest.json"  # lists every other file's sha256; written last, it marks a bundle complete
MODEL = "model.onnx"
GRAPH_FILES = (MODEL, "model.onnx.data", "genai_config.json")  # as the ONNX builder writes them
# a graph with a short output layer (model_export/short_head.py) takes each row's own tokens here
OUTPUT_EXTRA_IDS = "output_extra_ids"
# how many last positions a graph scores (model_export/last_position_head.py); 1 unless fed
LOGITS_POSITIONS = "logits_positions"
TOKENIZER = "tokenizer.json"
PROMPT_TEMPLATE = "prompt_template.json"
GENERATION = "generation_config.json"
# every bundle has these, listed in its manifest: a graph file left out of the list would load unchecked
REQUIRED_FILES = (*GRAPH_FILES, TOKENIZER, PROMPT_TEMPLATE, GENERATION)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # one plain file name: no folders, no "..", no absolutes

# The bundle folders `newsburst export` writes side by side: the Lambda's student, the endpoint's
# int8 teacher (also the gate's yardstick) and, with --gpu-teacher, the float16 CUDA teacher
STUDENT, TEACHER, TEACHER_CUDA = "student", "teacher", "teacher-cuda"
BUNDLES_DIR = Path("build/bundles")  # where they go by default
STUDENT_DIR = BUNDLES_DIR / STUDENT
TEACHER_DIR = BUNDLES_DIR / TEACHER


class BundleError(RuntimeError):
    """A bundle that is missing, incomplete or does not match its manifest."""


class Manifest(BaseModel):
    name: str
    version: str  # content hash over every file's sha256
    role: str  # "student" (Lambda) or "teacher" (GPU endpoint)
    teacher_id: str
    layers_kept: list[int]
    num_layers: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    quantization: str
    context_window: int
    local_token_budget: int  # prompt + new tokens this bundle serves before escalating
    prompt_template_version: str
    eos_token_ids: list[int]
    tokenizer_sha256: str
    files: dict[str, str]  # relative name -> sha256
    # The export's student-vs-teacher gate (None: never gated, e.g. a teacher) and the cascade's
    # calibrated mean-log-probability threshold (None: escalate only flagged or degenerate output)
    servable: bool | None = None
    confidence_threshold: float | None = None
    metrics: dict[str, bool | int | float | str] = Field(default_factory=dict)
    created_at: str


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def content_version(files: dict[str, str]) -> str:
    """A bundle version that changes whenever any file does."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}={files[name]}\n".encode())
    return h.hexdigest()[:16]


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BundleError(f"bundle folder not found: {folder}")
    if not path.exists():
        raise BundleError(f"{folder} is not a bundle: {MANIFEST} is missing")
    try:
        return Manifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise BundleError(f"{path} is not a valid manifest: {exc.errors()[0]['msg']}") from None


def ensure_servable(folder: Path, manifest: Manifest, allow_ungated: bool) -> None:
    """Refuse a student that failed (or never passed) the export's quality gate."""
    if manifest.role != "student" or manifest.servable or allow_ungated:
        return
    why = "failed the export's quality gate" if manifest.servable is False else "was never quality-gated"
    gate = {k: v for k, v in manifest.metrics.items() if k.startswith("servable_")}
    raise BundleError(
        f"bundle {folder}: this student {why} {gate or ''}; serve a gated bundle, or set "
        "NEWSBURST_ALLOW_UNGATED=true to serve it anyway"
    )


def check_names(manifest: Manifest, where: str | Path) -> None:
    """Manifest file names and the version become local paths: refuse anything but plain names,
    and a manifest that leaves out a file every bundle has."""
    for name in [manifest.version, *manifest.files]:
        if not _SAFE_NAME.fullmatch(name) or name in (".", ".."):
            raise BundleError(f"bundle {where}: refusing unsafe file name or version {name!r} in its manifest")
    if missing := [n for n in REQUIRED_FILES if n not in manifest.files]:
        raise BundleError(f"bundle {where}: its manifest does not list {', '.join(missing)}")


def verify_bundle(folder: Path, manifest: Manifest) -> None:
    """Check the names, every file's sha256 and the tokenizer hash, and that the folder holds no
    file the manifest does not list; raise naming the first problem."""
    check_names(manifest, folder)
    if unlisted := sorted(
        p.name for p in Path(folder).iterdir() if p.name != MANIFEST and p.name not in manifest.files
    ):
        raise BundleError(
            f"bundle {folder}: {', '.join(unlisted)} not listed in the manifest (the bundle changed after export)"
        )
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.exists():
            raise BundleError(f"bundle {folder}: file {name} listed in the manifest is missing")
        if sha256_file(path) != expected:
            raise BundleError(f"bundle {folder}: checksum mismatch for {name} (the file changed after export)")
    if manifest.files.get(TOKENIZER) != manifest.tokenizer_sha256:
        raise BundleError(f"bundle {folder}: {TOKENIZER} does not match the manifest's tokenizer_sha256")
    if content_version(manifest.files) != manifest.version:
        raise BundleError(f"bundle {folder}: manifest version does not match its file checksums")


@dataclass(frozen=True)
class GenerationSettings:
    """The bundle's generation settings; they decide the output, so the response cache key is
    built from exactly these."""

    max_new_tokens: int
    no_repeat_ngram: int = 0  # off by default: see loops.py for why
    # per format, the logit bonus for continuing the article's phrases (runtime/copy_bias.py);
    # (format, bias) pairs so that the settings stay hashable
    copy_bias: tuple[tuple[str, float], ...] = ()
    copy_coverage: int = 0  # the copy bias skips a token that repeats a summary n-gram of this order (0: off)

    def bias_for(self, fmt: str) -> float:
        return dict(self.copy_bias).get(fmt, 0.0)

    def to_json(self) -> dict:
        out = {"max_new_tokens": self.max_new_tokens, "no_repeat_ngram_size": self.no_repeat_ngram}
        out |= {"copy_bias": dict(self.copy_bias)} if self.copy_bias else {}  # absent: bundles before it
        return out | ({"copy_coverage": self.copy_coverage} if self.copy_coverage else {})


def read_generation(folder: Path) -> GenerationSettings:
    try:
        config = json.loads((Path(folder) / GENERATION).read_text())
        return GenerationSettings(
            int(config["max_new_tokens"]),
            int(config.get("no_repeat_ngram_size", 0)),
            tuple(sorted((str(f), float(b)) for f, b in config.get("copy_bias", {}).items())),
            int(config.get("copy_coverage", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"bundle {folder}: unreadable {GENERATION} ({exc})") from None


@dataclass(frozen=True)
class BundleInfo:
    """What a bundle says about itself, read once per container: the response cache key needs
    it before the model loads, and the load reuses it."""

    folder: Path
    manifest: Manifest
    generation: GenerationSettings


def read_bundle(folder: Path) -> BundleInfo:
    folder = Path(folder)
    return BundleInfo(folder, read_manifest(folder), read_generation(folder))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix without slashes) of ``s3://bucket[/prefix]``, where bundles are published."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise BundleError(f"a bundle location is s3://bucket/prefix/, got {uri!r}")
    return bucket, prefix.strip("/")


def published_key(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name
