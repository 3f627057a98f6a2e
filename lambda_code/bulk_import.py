"""Lambda ``bulk_import``: on a schedule, load the raw objects that arrived since the last run into Redshift.

EventBridge invokes it on a schedule (notebook 09). Each run:

1. reads its checkpoint, ``<STATE_PREFIX>checkpoint.json`` in the bucket: the ``watermark``, the
   LastModified up to which raw objects were loaded (none on the first run: everything);
2. lists the raw objects with ``watermark < LastModified <= cutoff``, where ``cutoff`` is now minus
   ``SETTLE_SECONDS`` (an upload in progress shows up with the time it started: waiting a little
   keeps a slow upload from being skipped). Only the hour partitions since the watermark are
   listed, not the whole history;
3. writes a COPY manifest naming exactly those objects, and, in one Data API transaction, COPYs them
   into a temporary table, deletes the target's rows with the same eventid and inserts one row per
   eventid. Loading an object twice (a rerun, a batch that write_kinesis_to_s3 wrote again, which
   gives it a new LastModified) replaces rows instead of duplicating them;
4. moves the watermark to ``cutoff`` only once the load has committed. A failed run raises: the
   watermark stays, EventBridge's asynchronous invocation retries, and the next run loads the
   same objects again.

DynamoDB too: before the load, the same lines are folded into ``invoice`` and ``customer`` by
``write_kinesis_to_dynamodb``'s own handler, which is packaged in the same zip. It is given the
lines as the Kinesis records it expects (a line's position standing for the sequence number):
the same item shapes, and the same idempotency, since a line already stored (same EventId) changes
nothing. A line it cannot store fails the run, before the watermark moves.

Boto3 and the standard library only: this file and write_kinesis_to_dynamodb.py are deployed to AWS
Lambda (Python 3.12) as they are.
"""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import boto3

import write_kinesis_to_dynamodb

RAW_PREFIX = os.environ.get("RAW_PREFIX", "aws-project/kinesis-stream/")
STATE_PREFIX = os.environ.get("STATE_PREFIX", "aws-project/bulk-import/")
TARGET_TABLE = os.environ.get("TARGET_TABLE", "public.dev_public_bulkimport")
SETTLE_SECONDS = int(os.environ.get("SETTLE_SECONDS", "30"))
BUCKET_PREFIX = "aws-project"  # the workbook's bucket is <prefix>-<account id>-<region>
COLUMNS = "eventid, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country"
STAGE_COLUMNS = (
    "eventid varchar(1024), invoiceno varchar(16), stockcode varchar(32), description varchar(4000), "
    "quantity integer, invoicedate timestamp, unitprice decimal(12,3), customerid varchar(32), country varchar(256)"
)
STATEMENT_POLL_S = 1.0
DYNAMODB_BATCH_LINES = 500  # lines per call of write_kinesis_to_dynamodb's handler


def checkpoint_key() -> str:
    return f"{STATE_PREFIX}checkpoint.json"


def hour_prefixes(since: datetime, until: datetime) -> list[str]:
    """The raw layer's hour partitions from the hour before ``since`` to ``until``'s: an object is
    filed under the hour its records arrived, which is at most its LastModified."""
    hour = (since - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour <= until:
        prefixes.append(f"{RAW_PREFIX}year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/")
        hour += timedelta(hours=1)
    return prefixes


def new_objects(bucket: str, watermark: datetime | None, cutoff: datetime) -> list[dict[str, Any]]:
    """The raw objects with watermark < LastModified <= cutoff, oldest first."""
    prefixes = [RAW_PREFIX] if watermark is None else hour_prefixes(watermark, cutoff)
    found = []
    for prefix in prefixes:
        for page in s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                modified = item["LastModified"]
                if (watermark is None or modified > watermark) and modified <= cutoff and item["Size"] > 0:
                    found.append({"key": item["Key"], "size": item["Size"], "modified": modified})
    return sorted(found, key=lambda item: (item["modified"], item["key"]))


def manifest(bucket: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """A COPY manifest: exactly these objects, each mandatory (a missing one fails the COPY)."""
    return {"entries": [{"url": f"s3://{bucket}/{o['key']}", "mandatory": True} for o in objects]}


def load_statements(manifest_url: str, copy_role_arn: str) -> list[str]:
    """One transaction: COPY into a temporary table, then replace the target's rows by eventid."""
    return [
        f"create temp table bulk_import_stage ({STAGE_COLUMNS})",
        f"""copy bulk_import_stage from '{manifest_url}' iam_role '{copy_role_arn}' manifest
            format as json 'auto ignorecase' timeformat 'YYYY-MM-DD HH:MI:SS'""",
        f"delete from {TARGET_TABLE} using bulk_import_stage where {TARGET_TABLE}.eventid = bulk_import_stage.eventid",
        f"""insert into {TARGET_TABLE} ({COLUMNS})
            select {COLUMNS} from (
                select *, row_number() over (partition by eventid order by invoicedate) as copy_number
                from bulk_import_stage)
            where copy_number = 1""",
    ]


def run_batch(sqls: list[str], deadline: float) -> dict[str, Any]:
    """BatchExecuteStatement, polled until it ends or the function is about to time out."""
    data = redshift_data()
    statement_id = data.batch_execute_statement(
        WorkgroupName=os.environ["WORKGROUP"], Database=os.environ["DATABASE"], SecretArn=os.environ["SECRET_ARN"], Sqls=sqls
    )["Id"]
    while True:
        description = data.describe_statement(Id=statement_id)
        if description["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"load {statement_id} still {description['Status']}; the watermark stays")
        time.sleep(STATEMENT_POLL_S)
    if description["Status"] != "FINISHED":
        raise RuntimeError(f"load {statement_id} {description['Status']}: {description.get('Error')}")
    return description


def as_kinesis_records(lines: list[bytes], first_position: int) -> list[dict[str, Any]]:
    """Raw lines as the Kinesis records write_kinesis_to_dynamodb reads; the position is the sequence number."""
    return [
        {"kinesis": {"data": base64.b64encode(line).decode(), "sequenceNumber": str(first_position + offset)}}
        for offset, line in enumerate(lines)
    ]


def fold_into_dynamodb(bucket: str, objects: list[dict[str, Any]], context: Any) -> int:
    """Every line of the objects through write_kinesis_to_dynamodb's handler; the lines passed.
    Raises if any line could not be stored (its batchItemFailures)."""
    lines = [
        line
        for o in objects
        for line in s3().get_object(Bucket=bucket, Key=o["key"])["Body"].read().splitlines()
        if line.strip()
    ]
    for start in range(0, len(lines), DYNAMODB_BATCH_LINES):
        records = as_kinesis_records(lines[start : start + DYNAMODB_BATCH_LINES], start)
        failures = write_kinesis_to_dynamodb.handler({"Records": records}, context)["batchItemFailures"]
        if failures:
            raise RuntimeError(f"{len(failures)} lines not stored in DynamoDB (first at line {failures[0]['itemIdentifier']})")
    return len(lines)


def read_watermark(bucket: str) -> datetime | None:
    try:
        body = s3().get_object(Bucket=bucket, Key=checkpoint_key())["Body"].read()
    except s3().exceptions.NoSuchKey:
        return None
    return datetime.fromisoformat(json.loads(body)["watermark"])


def bucket_name(context: Any) -> str:
    """BUCKET when set at deploy time, else the workbook's bucket for this function's account and region."""
    if os.environ.get("BUCKET"):
        return os.environ["BUCKET"]
    _, _, _, region, account_id, *_ = context.invoked_function_arn.split(":")
    return f"{BUCKET_PREFIX}-{account_id}-{region}"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    remaining_s = context.get_remaining_time_in_millis() / 1000 if context else 600
    bucket = bucket_name(context)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cutoff = now - timedelta(seconds=SETTLE_SECONDS)
    watermark = read_watermark(bucket)
    objects = new_objects(bucket, watermark, cutoff)
    loaded_rows = dynamodb_lines = 0
    if objects:
        dynamodb_lines = fold_into_dynamodb(bucket, objects, context)
        manifest_key = f"{STATE_PREFIX}manifests/{now:%Y%m%dT%H%M%SZ}.json"
        s3().put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest(bucket, objects)).encode())
        description = run_batch(
            load_statements(f"s3://{bucket}/{manifest_key}", os.environ["COPY_ROLE_ARN"]), started + remaining_s - 10
        )
        loaded_rows = description["SubStatements"][-1]["ResultRows"]
    new_watermark = max(cutoff, watermark) if watermark else cutoff
    checkpoint = {"watermark": new_watermark.isoformat(), "objects": len(objects), "rows": loaded_rows}
    s3().put_object(Bucket=bucket, Key=checkpoint_key(), Body=json.dumps(checkpoint).encode())
    summary = {
        "event_time": event.get("time"),
        "since": watermark.isoformat() if watermark else None,
        "until": new_watermark.isoformat(),
        "objects": len(objects),
        "rows": loaded_rows,
        "dynamodb_lines": dynamodb_lines,
    }
    log("INFO", "bulk import", **summary)
    return summary


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3")


@lru_cache(maxsize=1)
def redshift_data() -> Any:
    return boto3.client("redshift-data")


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON object per line on stdout: CloudWatch Logs keeps each as one event to query."""
    print(json.dumps({"level": level, "message": message, **fields}, default=str))
