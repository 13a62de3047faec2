import threading
import time

from functions.cache.store import FolderCache
from tests.concurrency import run_concurrently


def test_only_one_of_many_concurrent_claims_wins(tmp_path):
    cache = FolderCache(tmp_path)
    wins = run_concurrently(8, lambda _: cache.claim("k", ttl_s=60))
    assert wins.count(True) == 1


def test_a_dead_claimant_blocks_the_key_only_until_its_marker_expires(tmp_path):
    cache = FolderCache(tmp_path)
    assert cache.claim("k", ttl_s=1.0)
    assert not cache.claim("k", ttl_s=1.0)
    time.sleep(1.2)
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
