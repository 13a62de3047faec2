"""The story index: which story an item belongs to, shared by every container of a burst.

It lives beside the response cache (S3 under ``stories/``, or a local folder) in two kinds of
object, both written only where nothing is yet (``Objects.create``), like the cache's claims:

- ``bands/NN-HASH.json``: one per LSH band of a story's first signature, naming the story (and
  that signature, so a container that loses the race for a band can check the winner at once);
- ``story/ID/VVVVV.json``: the story's versions, one object each (its summary, format, the facts
  it states, its signature): appending version v+1 is creating that key, so two containers
  updating one story at once get v+1 and v+2, never one overwriting the other.

A candidate from the bands becomes a match only when its latest version's signature is at least
``ACCEPT`` similar and it is younger than the window: the bands find, the signatures decide. So
an unrelated story on the same topic (shingle similarity < 0.1 on the dev sets) never merges in.
Age and size are bounded: past ``window_s`` a story is not matched (a new one starts) and the
template's lifecycle rule expires ``stories/`` objects.

Hand-written over datasketch's ``MinHashLSH``: its storage back-ends are in-memory, Redis and
Cassandra; none is S3, and none has a conditional write that makes a race of containers safe.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from functions.objects import Objects
from functions.stories.minhash import bands, signature, similarity

ROWS = 4  # 64 values in 16 bands of 4: a pair shares a band with probability 1 - (1 - s^4)^16 (0.5 at s ~ 0.5)
ACCEPT = 0.4  # estimated Jaccard of 5-word shingles to join a story (docs/benchmarks.md: copies >= 0.44)
WINDOW_S = 48 * 3600.0  # a story older than this is not matched: a new one starts
APPEND_TRIES = 8  # racing appends to one story
_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="story-index")  # band reads in parallel


class StoryVersion(BaseModel):
    story_id: str
    version: int
    at: float  # epoch seconds
    item_id: str
    summary: str
    format: str | None
    facts: list[str]  # the numbers and names the summary states
    model_version: str
    signature: list[int]
    variant: str = ""  # what else the summary depends on (model, grounding, policy, format): reused only alike


@dataclass(frozen=True)
class Match:
    """An item's signature and, when it belongs to a known story, that story's latest version."""

    signature: np.ndarray
    latest: StoryVersion | None


class StoryIndex:
    def __init__(self, objects: Objects, window_s: float = WINDOW_S, accept: float = ACCEPT):
        self.objects, self.window_s, self.accept = objects, window_s, accept

    def latest(self, story_id: str) -> StoryVersion | None:
        keys = self.objects.keys(f"story/{story_id}/")
        value = self.objects.get(keys[-1]) if keys else None
        return StoryVersion.model_validate(value) if value else None

    def match(self, text: str) -> Match:
        sig = signature(text)
        found = _LOOKUPS.map(lambda band: self.objects.get(f"bands/{band}.json"), bands(sig, ROWS))
        candidates = {entry["story"] for entry in found if entry}
        best: tuple[float, StoryVersion] | None = None
        for story_id in candidates:
            latest = self.latest(story_id)
            if latest is None or time.time() - latest.at > self.window_s:
                continue
            score = similarity(sig, latest.signature)
            if score >= self.accept and (best is None or score > best[0]):
                best = (score, latest)
        return Match(sig, best[1] if best else None)

    def record(
        self, match: Match, item_id: str, summary: str, fmt: str | None, facts: list[str], model: str, variant: str = ""
    ) -> tuple[StoryVersion, StoryVersion | None]:
        """``summary`` as the next version of the matched story, or of a new story: the version written
        and the one before it (another container's, when two raced to start the story)."""
        story_id = match.latest.story_id if match.latest else self._new_story(match.signature)
        version = StoryVersion(
            story_id=story_id,
            version=0,
            at=time.time(),
            item_id=item_id,
            summary=summary,
            format=fmt,
            facts=facts,
            model_version=model,
            signature=[int(v) for v in match.signature],
            variant=variant,
        )
        for _ in range(APPEND_TRIES):
            latest = self.latest(story_id)
            version.version = (latest.version if latest else 0) + 1
            if self.objects.create(f"story/{story_id}/{version.version:05d}.json", version.model_dump(mode="json")):
                return version, latest
        raise RuntimeError(f"story {story_id}: {APPEND_TRIES} racing appends lost")

    def _new_story(self, sig: np.ndarray) -> str:
        """Claim the signature's bands for a new story; a band already held by a story this
        signature matches means another container started it a moment ago: join that one."""
        story_id = uuid.uuid4().hex[:16]
        entry = {"story": story_id, "signature": [int(v) for v in sig]}
        for band in bands(sig, ROWS):
            key = f"bands/{band}.json"
            if self.objects.create(key, entry):
                continue
            held = self.objects.get(key)
            if held and similarity(sig, held.get("signature", [])) >= self.accept and self._open(held["story"]):
                return held["story"]
        return story_id

    def _open(self, story_id: str) -> bool:
        """Still taking versions: being started right now (no version yet), or younger than the window."""
        latest = self.latest(story_id)
        return latest is None or time.time() - latest.at <= self.window_s
