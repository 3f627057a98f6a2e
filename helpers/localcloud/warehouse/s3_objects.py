"""Amazon S3 objects read and written in-process, through moto's S3 backend.

The only module that knows moto's S3 internals (moto 5.2.5, pinned): one ``S3Backend`` per account
and partition (S3 is global; each bucket remembers its region), buckets keyed by name, each with a
``keys`` store whose ``items()`` is a snapshot (safe while request threads write) and whose values
are ``FakeKey`` objects (delete markers of versioned buckets are something else and are skipped).
COPY reads its data files and manifests here; Firehose writes its objects here. Going through the
backend rather than over HTTP saves a request per object; what clients see is the same (the
objects appear in ListObjectsV2 and GetObject like any other).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context

PARTITION = "aws"


class NoSuchBucket(LookupError):
    pass


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    data: bytes

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class S3Objects:
    def __init__(self, ctx: Context, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self._backend: Any = ctx.backend("s3", PARTITION, account_id)

    def _bucket(self, bucket: str) -> Any:
        found = self._backend.buckets.get(bucket)
        if found is None:
            raise NoSuchBucket(bucket)
        return found

    def bucket_region(self, bucket: str) -> str:
        return self._bucket(bucket).region_name

    def keys_with_prefix(self, bucket: str, prefix: str) -> list[str]:
        """Every current object key that starts with ``prefix``, in S3's (lexicographic) order."""
        from moto.s3.models import FakeKey

        return sorted(
            name for name, key in self._bucket(bucket).keys.items() if name.startswith(prefix) and isinstance(key, FakeKey)
        )

    def get(self, bucket: str, key: str) -> S3Object | None:
        """The object, or None when the bucket has no such key."""
        from moto.s3.models import FakeKey

        found = self._bucket(bucket).keys.get(key)
        return S3Object(bucket, key, found.value) if isinstance(found, FakeKey) else None

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._bucket(bucket)
        self._backend.put_object(bucket, key, data)
