"""Reading an uploaded news item: from S3, or from a local folder standing in for S3."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from botocore.exceptions import ClientError

from functions.schemas import MAX_REQUEST_BYTES


class ObjectMissing(LookupError):
    pass


class ObjectSource(ABC):
    @abstractmethod
    def read(self, bucket: str, key: str) -> bytes:
        """The object's bytes, at most MAX_REQUEST_BYTES + 1 of them (enough to refuse it)."""


class S3ObjectSource(ObjectSource):
    def __init__(self, client):
        self.s3 = client

    def read(self, bucket: str, key: str) -> bytes:
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_REQUEST_BYTES}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in {"NoSuchKey", "404", "NoSuchBucket"}:
                raise ObjectMissing(f"s3://{bucket}/{key} does not exist") from None
            if code == "InvalidRange":  # a ranged GET of an empty object: no item in it, not a retryable error
                return b""
            raise
        return obj["Body"].read()


class FolderObjectSource(ObjectSource):
    def __init__(self, root: Path):
        self.root = Path(root)

    def read(self, bucket: str, key: str) -> bytes:
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            raise ObjectMissing(f"{bucket}/{key} not found under {self.root}")
        with open(path, "rb") as fh:
            return fh.read(MAX_REQUEST_BYTES + 1)
