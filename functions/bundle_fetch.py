"""Fetch a published bundle from S3 into local disk (Lambda: /tmp) once per container.

Lambda-side code: the GPU endpoint gets its bundle from SageMaker's model data instead.

The Lambda zip limit (250 MB unzipped) holds the runtime dependencies but not them plus the
bundle, so a deployment can keep the bundle in S3 (where ``newsburst export --publish`` puts
it) and fetch it in the init phase; with SnapStart the fetch happens before the snapshot.
The manifest is fetched last-written-first-read: it lists every file, and the bundle folder
appears only after every file arrived (rename), so a crash never leaves a half bundle.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from functions.runtime.bundle import (
    MANIFEST,
    BundleError,
    Manifest,
    check_names,
    parse_s3_uri,
    published_key,
    verify_bundle,
)


def fetch_bundle(s3, uri: str, root: Path) -> Path:
    """The local folder holding the bundle at ``uri``, every file verified against the manifest;
    downloads it unless a verified copy is already there (a corrupt one is fetched again)."""
    bucket, prefix = parse_s3_uri(uri)

    def key(name: str) -> str:
        return published_key(prefix, name)

    try:
        manifest = Manifest.model_validate_json(s3.get_object(Bucket=bucket, Key=key(MANIFEST))["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        raise BundleError(f"cannot read {uri.rstrip('/')}/{MANIFEST}: {exc}") from None
    except ValidationError as exc:
        raise BundleError(f"{uri.rstrip('/')}/{MANIFEST} is not a valid manifest: {exc.errors()[0]['msg']}") from None
    check_names(manifest, uri)
    target = Path(root) / manifest.version
    if (target / MANIFEST).exists():
        try:
            verify_bundle(target, manifest)
            return target  # fetched earlier in this container (/tmp survives warm invocations)
        except BundleError:
            shutil.rmtree(target, ignore_errors=True)  # a corrupt copy must not keep this container failing
    tmp = Path(root) / f".{manifest.version}.{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        for name in sorted(manifest.files):
            s3.download_file(bucket, key(name), str(tmp / name))
        verify_bundle(tmp, manifest)  # before anything can load it
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        os.rename(tmp, target)
    except (ClientError, BotoCoreError) as exc:
        raise BundleError(f"cannot fetch bundle {uri}: {exc}") from None
    except OSError:
        if not (target / MANIFEST).exists():  # a concurrent fetch did not win the rename either
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
