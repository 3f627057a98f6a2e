"""One S3 object classified as the built-in classifiers would: Parquet, then JSON, then CSV.

https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html lists the built-in classifiers in
the order they are tried (Avro, ORC, Parquet, JSON, ..., CSV) and the compressions a crawler reads
(ZIP, BZIP, GZIP, LZ4, Snappy). This module knows Parquet, JSON and CSV, uncompressed, gzip or
bzip2; an object none of them recognises is ``UNKNOWN`` (the crawler logs and skips it). Custom
classifiers are not run.
"""

from __future__ import annotations

import bz2
import zlib
from dataclasses import dataclass, field

from helpers.localcloud.glue import csv_schema, json_schema, parquet_schema
from helpers.localcloud.glue.csv_schema import CsvFormat
from helpers.localcloud.glue.glue_types import Schema

FIRST_SAMPLE = 1024 * 1024  # the first megabyte...
MAX_SAMPLE = 10 * 1024 * 1024  # ...and up to 10 MB for JSON that has no valid record yet
UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class FileSchema:
    classification: str  # json, csv, parquet or UNKNOWN
    compression: str  # none, gzip, bzip2
    schema: Schema = field(default_factory=Schema)
    record_count: int = 0  # exact for Parquet, estimated from the sample for text
    average_record_size: int = 0
    csv: CsvFormat | None = None
    json_paths: tuple[str, ...] = ()

    @property
    def compatibility(self) -> tuple:
        """Objects of one table share format, compression and, for CSV, the dialect."""
        return (self.classification, self.compression, self.csv)


def _decompressed(data: bytes, limit: int) -> tuple[str, bytes]:
    """(compression, the first ``limit`` bytes of the content)."""
    if data[:2] == b"\x1f\x8b":
        try:
            return "gzip", zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, limit)
        except zlib.error:
            return "gzip", b""
    if data[:3] == b"BZh":
        try:
            return "bzip2", bz2.BZ2Decompressor().decompress(data, max_length=limit)
        except (OSError, ValueError):
            return "bzip2", b""
    return "none", data[:limit]


def _estimate(size: int, sample_records: int, sample_bytes: int) -> tuple[int, int]:
    """(recordCount, averageRecordSize): Glue estimates both from the sample."""
    average = max(1, round(sample_bytes / sample_records))
    return max(sample_records, round(size / average)), average


def classify(data: bytes) -> FileSchema:
    parquet = parquet_schema.infer(data)
    if parquet is not None:
        average = round(len(data) / parquet.records) if parquet.records else 0
        return FileSchema("parquet", "none", parquet.schema, parquet.records, average)

    compression, content = _decompressed(data, MAX_SAMPLE)
    size = len(data) if compression == "none" else max(len(content), len(data))
    for limit in range(FIRST_SAMPLE, MAX_SAMPLE + 1, FIRST_SAMPLE):
        text = content[:limit].decode("utf-8", errors="replace")
        sample = json_schema.infer(text)
        if sample is not None:
            count, average = _estimate(size, sample.records, sample.sample_bytes)
            return FileSchema("json", compression, sample.schema, count, average, json_paths=sample.paths)
        if len(content) <= limit:
            break

    text = content[:FIRST_SAMPLE].decode("utf-8", errors="replace")
    csv_sample = csv_schema.infer(text)
    if csv_sample is not None:
        count, average = _estimate(size, csv_sample.records, csv_sample.sample_bytes)
        return FileSchema("csv", compression, csv_sample.schema, count, average, csv=csv_sample.format)
    return FileSchema(UNKNOWN, compression)
