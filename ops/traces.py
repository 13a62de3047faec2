"""Invocation traces: the Azure Functions 2019 production format and newsburst's own.

Both become one ``Trace``: sorted arrival times in seconds. Per-minute (or per-bin) counts are
spread within their bin by a seeded Poisson process (uniform order statistics given the count),
as the paper behind the Azure trace and vHive's invitro sampler do.

newsburst's format is JSON, either ``{"bin_s": 60, "counts": [...]}`` (per-bin counts) or
``{"arrivals_s": [...]}`` (timestamps), with an optional ``"description"``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AZURE_BIN_S = 60.0


@dataclass(frozen=True)
class Trace:
    name: str
    arrivals: np.ndarray  # seconds from the trace's start, sorted
    duration_s: float
    scale: float = 1.0  # arrivals kept (or repeated) per arrival of the source

    @property
    def invocations(self) -> int:
        return len(self.arrivals)

    def peak_rate(self, bin_s: float = 60.0) -> float:
        """Invocations per second in the busiest bin."""
        if not self.invocations:
            return 0.0
        counts = np.bincount((self.arrivals // bin_s).astype(int))
        return float(counts.max() / bin_s)

    def window(self, start_s: float, end_s: float) -> Trace:
        keep = self.arrivals[(self.arrivals >= start_s) & (self.arrivals < end_s)] - start_s
        return Trace(f"{self.name}[{start_s:.0f}:{end_s:.0f}s]", keep, end_s - start_s, self.scale)

    def scaled(self, factor: float, seed: int = 0) -> Trace:
        """The same shape at ``factor`` times the rate: each arrival is kept with probability
        ``factor`` (thinning a Poisson process keeps it Poisson), or repeated floor/ceil times."""
        if factor <= 0:
            raise ValueError(f"a trace scale must be > 0, got {factor}")
        if factor == 1:
            return self
        rng = np.random.default_rng(seed)
        copies = np.floor(factor) + (rng.random(self.invocations) < factor % 1)
        arrivals = np.repeat(self.arrivals, copies.astype(int))
        jitter = rng.uniform(0, 1e-3, len(arrivals))  # repeated arrivals a millisecond apart, not at once
        return Trace(self.name, np.sort(arrivals + jitter), self.duration_s, self.scale * factor)


def parse_window(text: str) -> tuple[float, float]:
    """``START:END`` in minutes (as --window takes it) as seconds."""
    try:
        start, end = (float(x) * 60 for x in text.split(":"))
    except ValueError:
        raise ValueError(f"--window takes START:END in minutes, got {text!r}") from None
    if not 0 <= start < end:
        raise ValueError(f"--window {text}: START must be >= 0 and below END")
    return start, end


def from_counts(name: str, counts: np.ndarray, bin_s: float, seed: int = 0) -> Trace:
    rng = np.random.default_rng(seed)
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any():
        raise ValueError(f"{name}: invocation counts must be >= 0")
    starts = np.repeat(np.arange(len(counts)) * bin_s, counts)
    arrivals = np.sort(starts + rng.uniform(0, bin_s, len(starts)))
    return Trace(name, arrivals, len(counts) * bin_s)


def read_newsburst(path: Path, seed: int = 0) -> Trace:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a UTF-8 JSON trace ({exc})") from None
    if isinstance(data, dict) and "arrivals_s" in data:
        arrivals = np.sort(np.asarray(data["arrivals_s"], dtype=float))
        if len(arrivals) and arrivals[0] < 0:
            raise ValueError(f"{path}: arrival times must be >= 0 s")
        duration = float(data.get("duration_s", arrivals[-1] if len(arrivals) else 0.0))
        return Trace(Path(path).stem, arrivals, duration)
    if isinstance(data, dict) and "counts" in data:
        return from_counts(Path(path).stem, np.asarray(data["counts"]), float(data.get("bin_s", 1.0)), seed)
    raise ValueError(f'{path}: a newsburst trace has "counts" (with "bin_s") or "arrivals_s"')


def read_azure(path: Path, function: str | None = None, seed: int = 0) -> Trace:
    """One function's day from an Azure Functions 2019 invocations file (``invocations.csv`` of
    the small samples or ``100_inv.csv``); the busiest function unless ``function`` names a hash
    (or a unique prefix of one)."""
    header, rows = _azure_rows(path)
    minutes = _minute_columns(header)
    ident = header.index("HashFunction")
    if function is None:
        row = max(rows, key=lambda r: sum(int(r[i]) for i in minutes))
    else:
        matches = [r for r in rows if r[ident].startswith(function)]
        if len(matches) != 1:
            raise ValueError(f"{path}: {len(matches)} functions match {function!r}; give a unique hash prefix")
        row = matches[0]
    counts = np.array([int(row[i]) for i in minutes])
    return from_counts(f"azure:{row[ident][:8]}", counts, AZURE_BIN_S, seed)


def read_trace(path: Path, function: str | None = None, seed: int = 0) -> Trace:
    """Either format, told apart by the file's suffix (.csv: Azure; .json: newsburst)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such trace file")
    if path.suffix == ".csv":
        return read_azure(path, function, seed)
    if function is not None:
        raise ValueError("--function applies to Azure Functions trace files (.csv) only")
    return read_newsburst(path, seed)


def _azure_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        rows = [r for r in reader if r]
    if not header or "HashFunction" not in header or not rows:
        raise ValueError(f"{path}: not an Azure Functions invocations file (HashFunction + minute columns)")
    return header, rows


def _minute_columns(header: list[str]) -> list[int]:
    """Columns "1".."1440" (small samples) or "minute_1".."minute_1440" (sample-100)."""
    minutes = [i for i, c in enumerate(header) if c.removeprefix("minute_").isdigit()]
    if not minutes:
        raise ValueError("an Azure invocations file has minute columns 1..1440")
    return minutes
