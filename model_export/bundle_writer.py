"""Write a versioned, checksummed bundle atomically, and publish it to S3.

Everything is written to a hidden sibling folder and renamed into place at the end, so a
failed export never leaves a half bundle where a loader would find it.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from functions.runtime.bundle import (
    GENERATION,
    GRAPH_FILES,
    MANIFEST,
    PROMPT_TEMPLATE,
    TOKENIZER,
    BundleError,
    GenerationSettings,
    Manifest,
    content_version,
    parse_s3_uri,
    published_key,
    sha256_file,
)
from functions.runtime.prompt import PromptTemplate
from model_export.errors import ExportError


def ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create output folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise ExportError(f"output folder {folder} is not writable")


def write_bundle(
    target: Path,
    onnx_dir: Path,
    tokenizer_json: Path,
    template: PromptTemplate,
    generation: GenerationSettings,
    meta: dict,
) -> Manifest:
    """Assemble ``target`` from a built graph; ``meta`` fills the manifest's descriptive fields."""
    ensure_writable(target.parent)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in GRAPH_FILES:
            if (onnx_dir / name).exists():
                shutil.copyfile(onnx_dir / name, tmp / name)
        shutil.copyfile(tokenizer_json, tmp / TOKENIZER)
        template.save(tmp / PROMPT_TEMPLATE)
        (tmp / GENERATION).write_text(json.dumps(generation.to_json(), indent=2) + "\n")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        manifest = Manifest(
            version=content_version(files),
            tokenizer_sha256=files[TOKENIZER],
            prompt_template_version=template.version,
            files=files,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **meta,
        )
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish(bundle: Path, manifest: Manifest, url: str) -> str:
    """Upload to ``s3://bucket/prefix/<name>/<version>/``; the manifest goes last, as a commit marker.

    boto3 honours AWS_ENDPOINT_URL itself, so any S3-compatible endpoint works.
    """
    import boto3

    try:
        bucket, prefix = parse_s3_uri(url)
    except BundleError as exc:
        raise ExportError(f"--publish: {exc}") from None
    base = published_key(published_key(prefix, manifest.name), manifest.version)
    s3 = boto3.client("s3")
    try:
        for name in [*sorted(manifest.files), MANIFEST]:
            s3.upload_file(str(bundle / name), bucket, f"{base}/{name}")
    except Exception as exc:  # botocore's ClientError / EndpointConnectionError / NoCredentialsError
        raise ExportError(f"publish to s3://{bucket}/{base} failed: {exc}") from None
    return f"s3://{bucket}/{base}/"


def record_metrics(bundle: Path, metrics: dict, **fields) -> Manifest:
    """Add measured figures (and gate verdict ``fields``) to the manifest atomically; the manifest
    is not itself checksummed, so the bundle's version does not change."""
    path = bundle / MANIFEST
    manifest = Manifest.model_validate_json(path.read_text())
    manifest.metrics.update(metrics)
    manifest = manifest.model_copy(update=fields)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2) + "\n")
    tmp.replace(path)
    return manifest
