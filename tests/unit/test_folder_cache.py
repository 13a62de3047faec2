import threading
import time

import time_machine

from functions.cache.store import FolderCache
from tests.concurrency import run_concurrently


def test_only_one_of_many_concurrent_claims_wins(tmp_path):
    cache = FolderCache(tmp_path)
    wins = run_concurrently(8, lambda _: cache.claim("k", ttl_s=60))
    assert wins.count(True) == 1


def test_a_dead_claimant_blocks_the_key_only_until_its_marker_expires(tmp_path):
    cache = FolderCache(tmp_path)
    with time_machine.travel(time.time()) as clock:
        assert cache.claim("k", ttl_s=1.0)
        assert not cache.claim("k", ttl_s=1.0)
        clock.shift(1.2)
        assert cache.claim("k", ttl_s=60)  # taken over
    assert not cache.claim("k", ttl_s=60)


def test_waiters_get_the_claimants_result_and_put_clears_the_marker(tmp_path):
    cache = FolderCache(tmp_path)
    assert cache.claim("k", ttl_s=60)
    threading.Timer(0.2, cache.put, ("k", {"summary": "s"})).start()
    assert cache.wait("k", timeout_s=5, poll_s=0.02) == {"summary": "s"}
    assert not cache.pending("k") and cache.get("k") == {"summary": "s"}


def test_a_released_claim_stops_the_wait_and_can_be_claimed_again(tmp_path):
    cache = FolderCache(tmp_path)
    assert cache.claim("k", ttl_s=60)
    threading.Timer(0.1, cache.release, ("k",)).start()
    start = time.monotonic()
    assert cache.wait("k", timeout_s=5, poll_s=0.02) is None
    assert time.monotonic() - start < 2
    assert cache.claim("k", ttl_s=60)


def test_a_stale_claimant_cannot_release_the_claim_that_replaced_its_own(tmp_path):
    stale, fresh = FolderCache(tmp_path), FolderCache(tmp_path)  # two containers on one folder
    with time_machine.travel(time.time()) as clock:
        assert stale.claim("k", ttl_s=0.1)
        clock.shift(0.2)
        assert fresh.claim("k", ttl_s=60)  # took over the expired marker
    stale.release("k")
    assert fresh.pending("k")  # the newer claim stands
    fresh.release("k")
    assert not fresh.pending("k")


def test_a_corrupt_entry_is_a_cache_error_not_a_crash(tmp_path):
    import pytest

    from functions.cache.store import CacheError

    cache = FolderCache(tmp_path)
    (tmp_path / "k.json").write_bytes(b"\x00{not json")
    with pytest.raises(CacheError, match="corrupt"):
        cache.get("k")


def test_disk_faults_are_cache_errors_not_crashes(tmp_path):
    import pytest

    from functions.cache.store import CacheError

    cache = FolderCache(tmp_path)
    (tmp_path / "k.json").mkdir()  # an entry that is a directory
    (tmp_path / "m.pending").mkdir()  # a marker that is a directory
    with pytest.raises(CacheError):
        cache.get("k")
    with pytest.raises(CacheError):
        cache.claim("m", ttl_s=60)
    with pytest.raises(CacheError):
        cache.put("k", {"summary": "s"})
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    broken = FolderCache(not_a_folder / "cache")  # cannot be created: every call is a cache fault
    for call in (lambda: broken.get("k"), lambda: broken.claim("k", 60), lambda: broken.put("k", {})):
        with pytest.raises(CacheError):
            call()
