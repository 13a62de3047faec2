"""The cache interface and the embedded default, a local folder.

``claim`` is the burst dedup: exactly one caller wins the right to run the model for a key;
the rest ``wait`` for its result. A claim carries an expiry so that a claimant that died
blocks the key for at most ``ttl_s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path


class CacheError(RuntimeError):
    """The cache backend refused an operation (e.g. a bucket that denies writes)."""


class ResponseCache(ABC):
    @abstractmethod
    def get(self, key: str) -> dict | None: ...

    @abstractmethod
    def claim(self, key: str, ttl_s: float) -> bool:
        """Create the pending marker if absent (or expired); True when this caller owns the key."""

    @abstractmethod
    def put(self, key: str, value: dict) -> None:
        """Store the result and drop the pending marker."""

    @abstractmethod
    def release(self, key: str) -> None:
        """Drop this caller's pending marker without a result, so a retry can claim the key again.
        A marker someone else took over (ours expired) is left alone."""

    @abstractmethod
    def pending(self, key: str) -> bool: ...

    def wait(self, key: str, timeout_s: float, poll_s: float) -> dict | None:
        """The claimant's result, or None when it does not appear in time (or the claim was released)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if (value := self.get(key)) is not None:
                return value
            if time.monotonic() >= deadline or not self.pending(key):
                return self.get(key)
            time.sleep(poll_s)


def marker(ttl_s: float, owner: str) -> bytes:
    return json.dumps({"expires_at": time.time() + ttl_s, "owner": owner}).encode()


def owner_of(marker_body: bytes) -> str | None:
    try:
        return str(json.loads(marker_body)["owner"])
    except (ValueError, KeyError, TypeError):
        return None


def decode_entry(raw: bytes, key: str) -> dict:
    """A cached result; a corrupt entry is a CacheError, which the pipeline treats as a miss."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise CacheError(f"cache entry {key[:12]} is corrupt") from None
    if not isinstance(value, dict):
        raise CacheError(f"cache entry {key[:12]} is corrupt")
    return value


def expired(marker_body: bytes) -> bool:
    try:
        return float(json.loads(marker_body)["expires_at"]) < time.time()
    except (ValueError, KeyError, TypeError):
        return True  # an unreadable marker protects nothing


@contextlib.contextmanager
def _disk_faults(op: str, key: str = ""):
    """A folder that cannot be written, or an entry that is a directory, is a cache fault (the
    item goes on without the cache), never an OSError through the trigger."""
    try:
        yield
    except CacheError:
        raise
    except OSError as exc:
        raise CacheError(f"cache {op} failed for {key[:12] or 'the folder'}: {exc.strerror or exc}") from None


class FolderCache(ResponseCache):
    """Files in a folder; an exclusive hard link makes the claim atomic on one machine."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        with contextlib.suppress(OSError):  # an unwritable folder fails each call as a cache fault instead
            self.folder.mkdir(parents=True, exist_ok=True)
        self.owned: dict[str, str] = {}  # key -> the owner token of the marker this instance wrote

    def _result(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def _marker(self, key: str) -> Path:
        return self.folder / f"{key}.pending"

    def get(self, key: str) -> dict | None:
        with _disk_faults("read", key):
            try:
                return decode_entry(self._result(key).read_bytes(), key)
            except FileNotFoundError:
                return None

    def claim(self, key: str, ttl_s: float) -> bool:
        with _disk_faults("claim", key):
            return self._claim(key, ttl_s)

    def _claim(self, key: str, ttl_s: float) -> bool:
        path = self._marker(key)
        # Write the marker whole, then link it into place: link() fails if the name exists, so
        # creation is exclusive and no contender ever reads a half-written marker.
        tmp = self.folder / f".{key}.{uuid.uuid4().hex}.claim"
        owner = uuid.uuid4().hex
        tmp.write_bytes(marker(ttl_s, owner))
        try:
            os.link(tmp, path)
            self.owned[key] = owner
            return True
        except FileExistsError:
            try:
                if not expired(path.read_bytes()):
                    return False
                # Take over a dead claimant: only one contender wins the rename.
                stale = path.with_suffix(f".stale-{uuid.uuid4().hex}")
                os.rename(path, stale)
                stale.unlink()
            except FileNotFoundError:
                return False
            return self._claim(key, ttl_s)
        finally:
            tmp.unlink(missing_ok=True)

    def put(self, key: str, value: dict) -> None:
        tmp = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
        try:
            tmp.write_text(json.dumps(value))
            os.replace(tmp, self._result(key))
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise CacheError(f"cannot write cache entry {key[:12]}: {exc.strerror}") from None
        self.release(key)

    def release(self, key: str) -> None:
        owner = self.owned.pop(key, None)
        with _disk_faults("release", key):
            try:
                if owner is None or owner_of(self._marker(key).read_bytes()) != owner:
                    return
                self._marker(key).unlink()
            except FileNotFoundError:
                return

    def pending(self, key: str) -> bool:
        with _disk_faults("read", key):
            return self._marker(key).exists()
