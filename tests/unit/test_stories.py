"""Story identity's parts: MinHash equal to datasketch's, the index's race rules on a folder, and
what an update changed."""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from functions.objects import FolderObjects
from functions.stories.index import StoryIndex
from functions.stories.minhash import NUM_PERM, SEED, bands, shingles, signature, similarity
from functions.stories.reuse import fact_changes
from tests.concurrency import run_concurrently
from tests.factories import news_item

BODY = news_item("lee-170")["body"]


def test_signatures_equal_datasketchs_minhash_value_for_value():
    for text in (BODY, news_item("lee-020")["body"], "Short text.", ""):
        reference = MinHash(num_perm=NUM_PERM, seed=SEED)
        reference.update_batch(list(shingles(text)))
        assert np.array_equal(reference.hashvalues, signature(text))
    copy = f"WASHINGTON (Wire) - {BODY}"
    a, b = MinHash(num_perm=NUM_PERM, seed=SEED), MinHash(num_perm=NUM_PERM, seed=SEED)
    a.update_batch(list(shingles(BODY)))
    b.update_batch(list(shingles(copy)))
    assert similarity(signature(BODY), signature(copy)) == a.jaccard(b) > 0.8


def test_layout_and_case_do_not_change_a_signature_but_words_do():
    assert np.array_equal(signature(BODY), signature(BODY.upper().replace(" ", "\n  ")))
    assert similarity(signature(BODY), signature(news_item("lee-290")["body"])) < 0.1
    assert len(bands(signature(BODY), 4)) == NUM_PERM // 4


def _record(index: StoryIndex, text: str, item_id: str):
    return index.record(index.match(text), item_id, "summary", "highlights", ["1.75 per cent"], "m")


def test_containers_racing_to_start_one_story_join_it_and_take_distinct_versions(tmp_path):
    copies = [f"(Wire {i}) {BODY}" for i in range(4)]
    indexes = [StoryIndex(FolderObjects(tmp_path)) for _ in copies]  # one per container, one folder
    matches = [index.match(text) for index, text in zip(indexes, copies, strict=True)]
    assert all(m.latest is None for m in matches)  # all looked before any wrote
    written = run_concurrently(
        len(copies), lambda i: indexes[i].record(matches[i], f"item-{i}", "s", "highlights", [], "m")
    )
    assert len({v.story_id for v, _ in written}) == 1
    assert sorted(v.version for v, _ in written) == [1, 2, 3, 4]
    assert sum(previous is None for _, previous in written) == 1  # one started it; the others updated it


def test_an_old_story_is_not_matched_and_a_new_one_starts(tmp_path):
    old = StoryIndex(FolderObjects(tmp_path), window_s=0.0)
    first, _ = _record(old, BODY, "a")
    again, previous = _record(old, BODY, "b")
    assert again.story_id != first.story_id and previous is None


def test_fact_changes_compare_facts_as_written_whatever_commas_and_possessives():
    new, gone = fact_changes(["1,000", "Peter Beattie's", "Brisbane"], ["1000", "Peter Beattie", "Cairns", "15"])
    assert new == ["Cairns", "15"] and gone == ["Brisbane"]
