"""Loaded models: one per bundle folder per process (container), the warm start of every
invocation after the first (the in-process side of warm-start pooling; ops/ plans the warm pools
of containers).

Lambda reuses a container across invocations, so the ORT session is built once and every
warm invocation takes it from here without touching the disk. Bundles are immutable once
written (a layer under /opt, or a versioned folder), so the folder identifies the version; a
second bundle (a canary) loads beside the first without evicting it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

from functions.runtime.bundle import BundleInfo, ensure_servable
from functions.runtime.model import LocalModel, load_model

_POOL: dict[str, LocalModel] = {}
_LOCK = threading.Lock()
_PREFETCHED: set[str] = set()  # loaded ahead by prefetch(), not yet checked out: the first checkout is the cold one


@dataclass(frozen=True)
class Checkout:
    model: LocalModel
    cold: bool  # True when this call loaded the model (ModelLoadSeconds applies)


def acquire(
    folder: Path,
    threads: int | None = None,
    verify: bool = True,
    allow_ungated: bool = False,
    info: BundleInfo | None = None,
) -> Checkout:
    """The pooled model for the bundle in ``folder``, loading it on first use (``info``: its
    manifest and settings, when already read); a student that did not pass the export's gate
    is refused unless ``allow_ungated``."""
    key = _key(folder)
    with _LOCK:
        if key in _POOL:
            cold = key in _PREFETCHED
            _PREFETCHED.discard(key)
            return Checkout(_POOL[key], cold=cold)
        return Checkout(_load(key, folder, threads, verify, allow_ungated, info), cold=True)


def prefetch(folder: Path, threads: int | None = None, verify: bool = True, allow_ungated: bool = False) -> None:
    """Start loading the bundle in ``folder`` on a thread; the next acquire() waits for it. A
    failure here is left for that acquire() to meet again and raise, where the caller can see it."""
    key = _key(folder)

    def load() -> None:
        with contextlib.suppress(Exception), _LOCK:
            if key not in _POOL:
                _load(key, folder, threads, verify, allow_ungated)
                _PREFETCHED.add(key)

    threading.Thread(target=load, name="bundle-prefetch", daemon=True).start()


def _load(key: str, folder: Path, threads, verify: bool, allow_ungated: bool, info=None) -> LocalModel:
    """Load into the pool; the caller holds _LOCK."""
    model = load_model(Path(folder), threads, verify, info=info)
    ensure_servable(model.folder, model.manifest, allow_ungated)
    if model.decoder.prefix:
        model.decoder.prefix_cache()  # every prompt starts with it: on prefetch, this overlaps INIT's imports
    _POOL[key] = model
    return model


def _key(folder: Path) -> str:
    """A bundle folder identifies its version (bundles are immutable once written)."""
    return str(Path(folder).resolve())


def loaded_versions() -> list[str]:
    return sorted(m.manifest.version for m in _POOL.values())


def clear() -> None:
    """Drop every pooled session (tests, and SnapStart restore if a session must be rebuilt)."""
    with _LOCK:
        _POOL.clear()
        _PREFETCHED.clear()
