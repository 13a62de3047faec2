"""An S3 cache body cut mid-read is a cache fault (the item goes on without the cache), not a crash."""

import pytest
from botocore.exceptions import ResponseStreamingError

from functions.cache.s3 import S3Cache
from functions.cache.store import CacheError


class _CutBody:
    def read(self):
        raise ResponseStreamingError(error="connection reset mid-body")


class _Client:
    def get_object(self, Bucket, Key):
        return {"Body": _CutBody(), "ETag": '"e"'}


def test_a_body_cut_mid_read_is_a_cache_error():
    with pytest.raises(CacheError, match="ResponseStreamingError"):
        S3Cache(_Client(), "bucket").get("k")
