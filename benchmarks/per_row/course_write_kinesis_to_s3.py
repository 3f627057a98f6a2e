"""The course's S3 consumer, kept only to measure the per-row design against the workbook's
batched one (``helpers/per_row_design.py``). Not the workbook's handler: that is
``lambda_code/write_kinesis_to_s3.py``.

As in the course: the records of one invocation become one text object, one record per line,
named after the time of writing, under ``RAW_PREFIX``. (This consumer was already batched in the
course: one PutObject per invocation.) The name also carries the request id, because two
invocations (one per shard) can write in the same instant and a time-only name would overwrite a
batch.

One JSON log line per invocation counts the records: that is what the benchmark reads.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import boto3

BUCKET = os.environ.get("BUCKET", "")
RAW_PREFIX = os.environ.get("RAW_PREFIX", "kinesis-stream/")


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3")


def object_key(prefix: str, written_at: datetime, request_id: str) -> str:
    return f"{prefix.rstrip('/')}/{written_at:%Y%m%d-%H%M%S-%f}-{request_id}.txt"


def object_body(records: list[dict[str, Any]]) -> bytes:
    return b"\n".join(base64.b64decode(record["kinesis"]["data"]) for record in records)


def handler(event: dict[str, Any], context: Any) -> str:
    records = event["Records"]
    key = object_key(RAW_PREFIX, datetime.now(timezone.utc), context.aws_request_id)
    s3().put_object(Bucket=BUCKET, Key=key, Body=object_body(records))
    print(json.dumps({"message": "batch written", "records": len(records), "key": key}))
    return f"Successfully processed {len(records)} records."
