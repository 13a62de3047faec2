"""The S3 response cache. Claims use S3 conditional writes, so dedup holds across containers.

``IfNoneMatch="*"`` creates the pending marker only if no object exists (S3 answers 412 to
everyone else); taking over an expired marker uses ``IfMatch`` with the stale marker's ETag,
so of several contenders exactly one wins.
"""

from __future__ import annotations

import json
import uuid

from botocore.exceptions import BotoCoreError, ClientError

from functions.cache.store import CacheError, ResponseCache, decode_entry, expired, marker, owner_of

_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Cache(ResponseCache):
    def __init__(self, client, bucket: str, prefix: str = ""):
        self.s3, self.bucket, self.prefix = client, bucket, prefix
        self.owned: dict[str, str] = {}  # key -> the owner token of the marker this instance wrote

    def _key(self, key: str, suffix: str) -> str:
        return f"{self.prefix}{key}.{suffix}"

    def _read(self, key: str) -> tuple[bytes, str] | None:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                return None
            raise CacheError(f"cache read failed: {_code(exc)}") from None
        except BotoCoreError as exc:
            raise CacheError(f"cache read failed: {exc}") from None
        try:  # a body cut mid-read (ResponseStreamingError) is a cache fault like any other
            return obj["Body"].read(), obj["ETag"]
        except BotoCoreError as exc:
            raise CacheError(f"cache read failed: {type(exc).__name__}") from None

    def get(self, key: str) -> dict | None:
        found = self._read(self._key(key, "json"))
        return decode_entry(found[0], key) if found else None

    def claim(self, key: str, ttl_s: float) -> bool:
        try:
            return self._claim(key, ttl_s)
        except BotoCoreError as exc:  # unreachable or timed out: no dedup, the item is still summarized
            raise CacheError(f"cache claim failed: {exc}") from None

    def _claim(self, key: str, ttl_s: float) -> bool:
        name, owner = self._key(key, "pending"), uuid.uuid4().hex
        try:
            self.s3.put_object(Bucket=self.bucket, Key=name, Body=marker(ttl_s, owner), IfNoneMatch="*")
            self.owned[key] = owner
            return True
        except ClientError as exc:
            if _code(exc) not in _CONFLICT:
                raise CacheError(f"cache claim failed: {_code(exc)}") from None
        current = self._read(name)
        if current is None:
            return self._claim(key, ttl_s)  # released between our write and our read
        body, etag = current
        if not expired(body):
            return False
        try:
            self.s3.put_object(Bucket=self.bucket, Key=name, Body=marker(ttl_s, owner), IfMatch=etag)
            self.owned[key] = owner
            return True
        except ClientError as exc:
            if _code(exc) in _CONFLICT | {"NoSuchKey"}:
                return False  # another contender took it over first
            raise CacheError(f"cache claim failed: {_code(exc)}") from None

    def put(self, key: str, value: dict) -> None:
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=self._key(key, "json"),
                Body=json.dumps(value).encode(),
                ContentType="application/json",
                Metadata={"model-version": str(value.get("model_version", ""))},
            )
        except (ClientError, BotoCoreError) as exc:
            code = _code(exc) if isinstance(exc, ClientError) else str(exc)
            raise CacheError(f"cache write failed: {code}") from None
        self.release(key)

    def release(self, key: str) -> None:
        owner = self.owned.pop(key, None)
        if owner is None:
            return  # never ours (or already released): someone else's marker is not ours to drop
        name = self._key(key, "pending")
        current = self._read(name)
        if current is None or owner_of(current[0]) != owner:
            return  # ours expired and another claimant took the key over
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=name, IfMatch=current[1])
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _code(exc) in _CONFLICT | {"NoSuchKey"}:
                return  # taken over between our read and our delete
            code = _code(exc) if isinstance(exc, ClientError) else str(exc)
            raise CacheError(f"cache release failed: {code}") from None

    def pending(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self._key(key, "pending"))
            return True
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404", "NotFound"}:
                return False
            raise CacheError(f"cache read failed: {_code(exc)}") from None
        except BotoCoreError as exc:
            raise CacheError(f"cache read failed: {exc}") from None
