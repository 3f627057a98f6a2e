"""The S3 objects under a crawler's include path, read in-process through moto's S3 backend.

Only this module knows moto's S3 internals (moto 5.2.5, pinned): one backend per account under the
``aws`` partition, buckets by name, each with a ``keys`` store whose ``items()`` is a snapshot and
whose current objects are ``FakeKey`` instances.

Skipped, as Athena and Hive skip them when they read a table: folder markers (keys ending in
``/``), empty objects, and objects whose name, or the name of a folder between the include path
and them, starts with ``_`` or ``.`` (``_SUCCESS``, ``_temporary/``, ``.tmp``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context


class NoSuchBucket(LookupError):
    pass


@dataclass(frozen=True)
class S3Path:
    bucket: str
    prefix: str  # "" for the bucket root, else ends with "/" (a folder) or names one object

    @classmethod
    def parse(cls, path: str) -> S3Path:
        text = path[len("s3://") :] if path.startswith("s3://") else path
        bucket, _, prefix = text.partition("/")
        if not bucket:
            raise ValueError(f"{path!r} is not an S3 path (s3://bucket/folder/)")
        return cls(bucket, prefix)

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


def _hidden(relative_key: str) -> bool:
    return any(not part or part.startswith(("_", ".")) for part in relative_key.split("/"))


class S3Reader:
    def __init__(self, ctx: Context, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self._backend: Any = ctx.backend("s3", "aws", account_id)

    def _bucket(self, name: str) -> Any:
        bucket = self._backend.buckets.get(name)
        if bucket is None:
            raise NoSuchBucket(name)
        return bucket

    def list(self, path: S3Path) -> tuple[str, list[StoredObject]]:
        """(the folder prefix the objects are relative to, the objects), in key order.

        A prefix without a trailing slash is a folder when objects sit below it, else one object."""
        from moto.s3.models import FakeKey

        keys = {name: key for name, key in self._bucket(path.bucket).keys.items() if isinstance(key, FakeKey)}
        folder = path.prefix if not path.prefix or path.prefix.endswith("/") else path.prefix + "/"
        below = sorted(name for name in keys if name.startswith(folder))
        if not below and path.prefix in keys:  # the include path names one object
            folder = path.prefix.rsplit("/", 1)[0] + "/" if "/" in path.prefix else ""
            below = [path.prefix]
        kept = [name for name in below if keys[name].size > 0 and not _hidden(name[len(folder) :])]
        return folder, [StoredObject(name, keys[name].size) for name in kept]

    def read(self, bucket: str, key: str) -> bytes:
        from moto.s3.models import FakeKey

        found = self._bucket(bucket).keys.get(key)
        return found.value if isinstance(found, FakeKey) else b""
