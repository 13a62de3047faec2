"""JSON objects in S3 or a local folder: the desk's stories and verdicts, the story index.

``new_key`` keys start with a UTC date and time (``feed/2026-12-02/095612345-1a2b3c4d.json``), so
listing in key order is arrival order and ``after`` a key is "since". A write is whole or absent:
S3's PUT is, and the folder writes a temporary file, syncs it and renames (or links) it into place,
so a crash mid-write never leaves half an object behind. ``create`` writes only where nothing is
yet: S3's conditional write (``IfNoneMatch="*"``), a hard link in the folder; of several writers
racing for one key exactly one wins, in every container.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

_TMP = ".tmp-"


class StoreError(RuntimeError):
    """The backend refused or failed an operation."""


def new_key(kind: str, now: float | None = None) -> str:
    """A key that sorts after every earlier one of ``kind`` (to the millisecond; ties by a random tail)."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%d/%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}"
    return f"{kind}/{stamp}-{uuid.uuid4().hex[:8]}.json"


class Objects(ABC):
    @abstractmethod
    def put(self, key: str, value: dict) -> None: ...

    @abstractmethod
    def get(self, key: str) -> dict | None: ...

    @abstractmethod
    def create(self, key: str, value: dict) -> bool:
        """Write ``value`` only if ``key`` is absent; False when another writer got there first."""

    @abstractmethod
    def keys(self, prefix: str, after: str | None = None) -> list[str]:
        """The keys under ``prefix`` in key order, only those after ``after`` when given."""


class FolderObjects(Objects):
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StoreError(f"key {key!r} leaves the store")
        return path

    def _staged(self, key: str, value: dict) -> tuple[Path, Path]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP}{uuid.uuid4().hex}")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(value, fh)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp, path

    def put(self, key: str, value: dict) -> None:
        os.replace(*self._staged(key, value))

    def create(self, key: str, value: dict) -> bool:
        tmp, path = self._staged(key, value)
        try:
            os.link(tmp, path)  # fails if the path exists: the folder's conditional write
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def keys(self, prefix: str, after: str | None = None) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        found = sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*.json") if not p.name.startswith(_TMP))
        return [k for k in found if after is None or k > after]


class S3Objects(Objects):
    def __init__(self, client, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = client, bucket, prefix

    def put(self, key: str, value: dict) -> None:
        body = json.dumps(value).encode()
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"desk write failed: {type(exc).__name__}") from None

    def create(self, key: str, value: dict) -> bool:
        body = json.dumps(value).encode()
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=body, ContentType="application/json", IfNoneMatch="*"
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "ConditionalRequestConflict", "412"}:
                return False
            raise StoreError(f"conditional write failed: {type(exc).__name__}") from None
        except BotoCoreError as exc:
            raise StoreError(f"conditional write failed: {type(exc).__name__}") from None

    def get(self, key: str) -> dict | None:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return json.loads(obj["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise StoreError(f"desk read failed: {type(exc).__name__}") from None
        except BotoCoreError as exc:
            raise StoreError(f"desk read failed: {type(exc).__name__}") from None

    def keys(self, prefix: str, after: str | None = None) -> list[str]:
        args = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if after is not None:
            args["StartAfter"] = self.prefix + after
        out = []
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(**args):
                out += [o["Key"][len(self.prefix) :] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"desk listing failed: {type(exc).__name__}") from None
        return out


def is_key(kind: str, key: str) -> bool:
    """Whether ``key`` is one ``new_key(kind)`` could have made (keys from a request are checked)."""
    return re.fullmatch(rf"{kind}/\d{{4}}-\d\d-\d\d/\d{{9}}-[0-9a-f]{{8}}\.json", key) is not None
