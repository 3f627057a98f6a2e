"""The S3 objects one COPY reads: a key prefix or a manifest's entries, and the JSONPaths file.

* ``FROM 's3://bucket/prefix'`` loads every object whose key starts with the prefix ("the name
  custdata.txt is a key prefix that refers to ... custdata.txt, custdata.txt.1, custdata.txt.bak");
  no such object is an error.
* ``FROM 's3://bucket/file.manifest' MANIFEST`` loads the manifest's entries, in order (an entry
  listed twice is loaded twice); a ``mandatory`` entry that does not exist fails the COPY, another
  is skipped; no file at all fails it "regardless of any mandatory settings".
* Buckets must be in the COPY's region: the warehouse's, or REGION's when given.
* GZIP and BZIP2 files are decompressed; manifests and JSONPaths files never are.
https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html
https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
"""

from __future__ import annotations

import bz2
import gzip
import json
import zlib

from helpers.localcloud.warehouse.copy_command import CopyCommand
from helpers.localcloud.warehouse.s3_objects import NoSuchBucket, S3Object, S3Objects
from helpers.localcloud.warehouse.sql_errors import SqlError

NO_SUCH_KEY = "S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey"


def split_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise SqlError(f"ERROR: '{url}' is not an s3:// URL")
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


class SourceFiles:
    """Reads the objects of one COPY, checking each bucket's region."""

    def __init__(self, store: S3Objects, region: str) -> None:
        self.store = store
        self.region = region

    def _check_bucket(self, bucket: str) -> None:
        try:
            bucket_region = self.store.bucket_region(bucket)
        except NoSuchBucket:
            raise SqlError(
                f"ERROR: S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket (bucket {bucket})"
            ) from None
        if bucket_region != self.region:
            raise SqlError(
                "ERROR: S3ServiceException:The bucket you are attempting to access must be addressed using the "
                "specified endpoint. Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect "
                f"(bucket {bucket} is in {bucket_region}; name it with REGION '{bucket_region}')"
            )

    def object(self, url: str) -> S3Object | None:
        bucket, key = split_url(url)
        self._check_bucket(bucket)
        return self.store.get(bucket, key) if key else None

    def data_files(self, command: CopyCommand) -> list[S3Object]:
        return self._manifest_files(command.source) if command.manifest else self._prefix_files(command.source)

    def _prefix_files(self, url: str) -> list[S3Object]:
        bucket, prefix = split_url(url)
        self._check_bucket(bucket)
        keys = self.store.keys_with_prefix(bucket, prefix)
        if not keys:
            raise SqlError(f"ERROR: The specified S3 prefix '{prefix}' does not exist (bucket {bucket})")
        files = [self.store.get(bucket, key) for key in keys]
        return [found for found in files if found is not None]

    def _manifest_files(self, url: str) -> list[S3Object]:
        manifest = self.object(url)
        if manifest is None:
            raise SqlError(f"ERROR: Problem reading manifest file - {NO_SUCH_KEY} (manifest {url})")
        entries = _manifest_entries(manifest)
        files: list[S3Object] = []
        for entry_url, mandatory in entries:
            bucket, key = split_url(entry_url)
            if not key or key.endswith("/"):
                # Load error 8001: "COPY with MANIFEST parameter requires full path of an S3 object."
                raise SqlError(f"ERROR: COPY with MANIFEST parameter requires full path of an S3 object ({entry_url})")
            found = self.object(entry_url)
            if found is None:
                if mandatory:
                    raise SqlError(f"ERROR: {NO_SUCH_KEY} (mandatory manifest entry {entry_url} in {url})")
                continue
            files.append(found)
        if not files:
            raise SqlError(f"ERROR: None of the files listed in the manifest {url} exist: nothing to load")
        return files


def _manifest_entries(manifest: S3Object) -> list[tuple[str, bool]]:
    try:
        document = json.loads(manifest.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SqlError(f"ERROR: Manifest file is invalid: {manifest.url} is not valid JSON ({error})") from error
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SqlError(f"ERROR: Manifest file is invalid: {manifest.url} has no \"entries\" array")
    parsed = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise SqlError(f"ERROR: Manifest file is invalid: every entry of {manifest.url} needs a \"url\"")
        mandatory = entry.get("mandatory", False)
        if not isinstance(mandatory, bool):
            raise SqlError(f"ERROR: Manifest file is invalid: \"mandatory\" must be true or false in {manifest.url}")
        parsed.append((entry["url"], mandatory))
    return parsed


def decompressed(file: S3Object, compression: str | None) -> bytes:
    """The file's bytes, uncompressed as COPY's GZIP or BZIP2 parameter says."""
    try:
        if compression == "GZIP":
            return gzip.decompress(file.data)
        if compression == "BZIP2":
            return bz2.decompress(file.data)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise SqlError(f"ERROR: {compression.lower()}: {file.url} is not a valid {compression} file ({error})") from error
    return file.data
