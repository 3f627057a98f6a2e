"""Lambda ``write_kinesis_to_s3``: each batch of stream records becomes newline-delimited JSON in S3.

The raw layer of the lake. One object per batch (per hour of arrival, when a batch spans hours),
under Hive-style partitions that the Glue crawler turns into partition columns:

    <RAW_PREFIX>year=2010/month=12/day=01/hour=08/shardId-000000000000-<first seq>-<last seq>.json

The object is named after the shard and the first and last sequence numbers it holds, so a batch
that Lambda delivers again writes the same key: it overwrites its object instead of adding a copy.
(A retried batch that Lambda split differently, after bisecting it, is a different set of records
and gets its own object; every event carries its EventId, so readers can deduplicate.)

A record that is not a JSON object is not dropped: it is reported in ``batchItemFailures``, so the
event source mapping retries it and, once the retries are spent, sends its metadata to the mapping's
on-failure destination. Objects are split at such a record, so that the retry, which starts at it,
writes the records after it under the same keys as this invocation did.

Boto3 and the standard library only: this file is deployed to AWS Lambda (Python 3.12) as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

RAW_PREFIX = os.environ.get("RAW_PREFIX", "aws-project/kinesis-stream/")
BUCKET_PREFIX = "aws-project"  # the workbook's bucket is <prefix>-<account id>-<region>


class UndecodableRecord(ValueError):
    """A Kinesis record whose data is not one JSON object."""


@dataclass
class RawObject:
    """One S3 object to write: consecutive records of one shard that arrived in one hour."""

    shard_id: str
    hour: datetime
    sequence_numbers: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def key(self, prefix: str) -> str:
        return object_key(prefix, self.shard_id, self.hour, self.sequence_numbers[0], self.sequence_numbers[-1])

    def body(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()


def object_key(prefix: str, shard_id: str, hour: datetime, first_sequence: str, last_sequence: str) -> str:
    partition = f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
    return f"{prefix.rstrip('/')}/{partition}/{shard_id}-{first_sequence}-{last_sequence}.json"


def shard_of(record: dict[str, Any]) -> str:
    """Kinesis eventID is '<shard id>:<sequence number>'."""
    return record["eventID"].split(":", 1)[0]


def arrival_hour(record: dict[str, Any]) -> datetime:
    arrived = datetime.fromtimestamp(float(record["kinesis"]["approximateArrivalTimestamp"]), tz=timezone.utc)
    return arrived.replace(minute=0, second=0, microsecond=0)


def decode(record: dict[str, Any]) -> str:
    """The record's event as one line of JSON; raises UndecodableRecord."""
    try:
        event = json.loads(base64.b64decode(record["kinesis"]["data"], validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise UndecodableRecord(f"not base64-encoded UTF-8 JSON: {error}") from None
    if not isinstance(event, dict):
        raise UndecodableRecord(f"a JSON {type(event).__name__}, not an object")
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def plan_objects(records: list[dict[str, Any]]) -> tuple[list[RawObject], list[tuple[str, str]]]:
    """(objects to write, [(sequence number, reason)] of undecodable records), in stream order.

    A new object starts at each shard or hour change and after each undecodable record.
    """
    objects: list[RawObject] = []
    undecodable: list[tuple[str, str]] = []
    current: RawObject | None = None
    for record in records:
        sequence_number = record["kinesis"]["sequenceNumber"]
        try:
            line = decode(record)
        except UndecodableRecord as error:
            undecodable.append((sequence_number, str(error)))
            current = None
            continue
        shard_id, hour = shard_of(record), arrival_hour(record)
        if current is None or (current.shard_id, current.hour) != (shard_id, hour):
            current = RawObject(shard_id, hour)
            objects.append(current)
        current.sequence_numbers.append(sequence_number)
        current.lines.append(line)
    return objects, undecodable


def batch_item_failures(sequence_numbers: list[str]) -> dict[str, Any]:
    """The partial batch response: Lambda resumes from the lowest sequence number reported
    (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html)."""
    ordered = sorted(set(sequence_numbers), key=int)
    return {"batchItemFailures": [{"itemIdentifier": number} for number in ordered]}


def bucket_name(context: Any) -> str:
    """BUCKET when set at deploy time, else the workbook's bucket for this function's account and region."""
    if os.environ.get("BUCKET"):
        return os.environ["BUCKET"]
    _, _, _, region, account_id, *_ = context.invoked_function_arn.split(":")
    return f"{BUCKET_PREFIX}-{account_id}-{region}"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    bucket = bucket_name(context)
    objects, undecodable = plan_objects(records)
    failed = [number for number, _ in undecodable]
    for number, reason in undecodable:
        log("ERROR", "undecodable record", sequence_number=number, reason=reason)
    written = 0
    for raw_object in objects:
        key = raw_object.key(RAW_PREFIX)
        try:
            s3().put_object(Bucket=bucket, Key=key, Body=raw_object.body(), ContentType="application/x-ndjson")
        except ClientError as error:
            log("ERROR", "put_object failed", key=key, error=str(error))
            failed.extend(raw_object.sequence_numbers)
            continue
        written += len(raw_object.lines)
    log(
        "INFO",
        "batch written",
        request_id=getattr(context, "aws_request_id", None),
        records=len(records),
        written=written,
        objects=len(objects),
        failed=len(failed),
        keys=[o.key(RAW_PREFIX) for o in objects],
    )
    return batch_item_failures(failed)


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3")


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON object per line on stdout: CloudWatch Logs keeps each as one event to query."""
    print(json.dumps({"level": level, "message": message, **fields}, default=str))
