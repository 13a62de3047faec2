"""MinHash signatures of an article's word shingles, and their LSH bands.

Hand-written, on purpose: datasketch is the reference (tests/unit/test_stories.py checks that these
signatures equal its ``MinHash`` value for value), but importing it imports scipy, ~100 MB that
a Lambda package already at 240 of its 250 MB cannot take. This is its default scheme
("affine32"): a 32-bit SHA-1 of each shingle, mixed once by the MurmurHash3 finalizer, then
``num_perm`` bijections ``a*h + b mod 2^32`` (``a`` odd) drawn from one seed, the minimum of each.
Bands of ``rows`` values are hashed again into the index's keys: two articles share a band with
probability ~ Jaccard^rows, so b bands of r rows catch pairs above ~ (1/b)^(1/r).
"""

from __future__ import annotations

import hashlib
import re
import struct

import numpy as np

NUM_PERM = 64
SHINGLE_WORDS = 5
SEED = 1
_WORD = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.RandomState(seed)  # datasketch's generator and draw order, for equal signatures
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    h = (h ^ (h >> s1)) * m1
    h = (h ^ (h >> s2)) * m2
    return h ^ (h >> s3)


_A, _B = _permutations(NUM_PERM, SEED)


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """Runs of ``size`` words, lower-cased, punctuation and layout dropped (a rewrite's new line
    breaks or quotes change nothing); a text shorter than that is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def signature(text: str) -> np.ndarray:
    hashes = np.array([struct.unpack("<I", hashlib.sha1(s).digest()[:4])[0] for s in shingles(text)], dtype=np.uint32)
    return (_fmix(hashes)[:, None] * _A + _B).min(axis=0)  # uint32 arithmetic wraps: the modulo 2^32


def similarity(a: np.ndarray | list[int], b: np.ndarray | list[int]) -> float:
    """The estimated Jaccard similarity of two signatures' shingle sets."""
    return float(np.mean(np.asarray(a, dtype=np.uint32) == np.asarray(b, dtype=np.uint32)))


def bands(sig: np.ndarray, rows: int) -> list[str]:
    """One key per band: the band's number and a hash of its ``rows`` values."""
    return [
        f"{i:02d}-{hashlib.sha1(sig[start : start + rows].tobytes()).hexdigest()[:20]}"
        for i, start in enumerate(range(0, len(sig) - rows + 1, rows))
    ]
