"""What the stream consumers wrote: read it back, and wait until streamed rows have all arrived.

The consumers run asynchronously: when the client's POSTs return, the events are on the stream,
not yet in S3 or DynamoDB. The ``wait_for_*`` functions poll until

1. the consumer has caught up with the stream: its "batch ..." log lines count at least as many
   records as the stream holds (the consumers log one JSON line per batch; see lambda_code/), and
2. every expected event is in the sink (its EventId in an S3 object, or its line in its invoice),

or raise ``NotArrivedError`` after a timeout, saying how far they got and where to look.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from helpers import aws, storage

# The message of each consumer's one log line per batch (see lambda_code/).
S3_BATCH_MESSAGE = "batch written"
DYNAMODB_BATCH_MESSAGE = "batch merged"
BATCH_GET_LIMIT = 100  # keys per BatchGetItem
RAW_KEY = re.compile(r"/year=(\d{4})/month=(\d{2})/day=(\d{2})/hour=(\d{2})/(shardId-\d+)-(\d+)-(\d+)\.json$")


class NotArrivedError(TimeoutError):
    """Streamed rows did not all reach a sink in time."""


@dataclass
class Arrival:
    """Where a wait ended."""

    expected: int  # events waited for
    found: int  # of those, in the sink
    consumed: int  # records the consumer has logged
    on_stream: int  # records on the stream
    seconds: float
    missing: list[str] = field(default_factory=list)  # a few EventIds not (yet) in the sink

    @property
    def complete(self) -> bool:
        return self.found == self.expected and self.consumed >= self.on_stream

    def __str__(self) -> str:
        return (
            f"{self.found:,} of {self.expected:,} events in the sink after {self.seconds:.1f} s; "
            f"the stream holds {self.on_stream:,} records, the consumer's logs count {self.consumed:,} processed"
        )


# ---------------------------------------------------------------------------------------------
# Consumer logs


def consumer_batches(function_name: str, message: str, start_time: datetime | None = None) -> pd.DataFrame:
    """The consumer's per-batch log lines (JSON objects) as a table, oldest first."""
    logs = aws.client("logs")
    arguments: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function_name}", "filterPattern": f'"{message}"'}
    if start_time is not None:
        arguments["startTime"] = int(start_time.timestamp() * 1000)
    rows = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**arguments):
            for event in page["events"]:
                if event["message"].startswith("{"):
                    entry = json.loads(event["message"])
                    if entry.get("message") == message:
                        rows.append({"logged": pd.Timestamp(event["timestamp"], unit="ms", tz="UTC"), **entry})
    except logs.exceptions.ResourceNotFoundException:  # the function has not run yet
        pass
    frame = pd.DataFrame(rows)  # one page per log stream: put the batches back in time order
    return frame.sort_values("logged", ignore_index=True) if rows else frame


def _consumed(function_name: str, message: str, since: datetime | None) -> int:
    batches = consumer_batches(function_name, message, since)
    return int(batches["records"].sum()) if not batches.empty else 0


def _stream_extent(stream_name: str) -> tuple[int, datetime | None]:
    """How many records the stream holds, and when the oldest arrived."""
    count, oldest = 0, None
    for record in storage.iter_records(stream_name):
        count += 1
        arrived = record["ApproximateArrivalTimestamp"]
        oldest = arrived if oldest is None or arrived < oldest else oldest
    return count, oldest


def _wait(
    what: str,
    expected: set[str],
    found: Callable[[], set[str]],
    function_name: str,
    message: str,
    stream_name: str,
    timeout_s: float,
    every_s: float,
) -> Arrival:
    on_stream, oldest = _stream_extent(stream_name)
    # Log lines older than the oldest record on the stream are about records that have left it.
    since = oldest.replace(microsecond=0) if oldest is not None else None
    started = time.monotonic()
    while True:
        consumed = _consumed(function_name, message, since)
        present = found() & expected
        arrival = Arrival(len(expected), len(present), consumed, on_stream, time.monotonic() - started)
        arrival.missing = sorted(expected - present)[:5]
        if arrival.complete:
            return arrival
        if arrival.seconds > timeout_s:
            hint = (
                f"look at the log group /aws/lambda/{function_name}, at the mapping's state "
                f"(lambda list-event-source-mappings --function-name {function_name}) and at the queue "
                f"{function_name}-failures"
            )
            if arrival.consumed >= arrival.on_stream:  # consumed everything, yet rows are missing
                hint = f"the consumer has logged every record of the stream, yet rows are missing: records it gave up on are listed in the queue {function_name}-failures; see also /aws/lambda/{function_name}"
            raise NotArrivedError(f"{what}: {arrival} (missing e.g. {', '.join(arrival.missing)}). {hint}")
        time.sleep(every_s)


# ---------------------------------------------------------------------------------------------
# S3 raw layer


class RawLayer:
    """The newline-delimited JSON objects under a prefix; each object is read once (cached by ETag)."""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix
        self._lines: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def objects(self) -> list[dict[str, Any]]:
        s3 = aws.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]

    def events(self) -> list[dict[str, Any]]:
        s3 = aws.client("s3")
        events = []
        for obj in self.objects():
            key = (obj["Key"], obj["ETag"])
            if key not in self._lines:
                body = s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read().decode("utf-8")
                self._lines[key] = [json.loads(line) for line in body.splitlines() if line]
            events.extend(self._lines[key])
        return events

    def event_ids(self) -> Counter[str]:
        return Counter(event.get("EventId") for event in self.events())

    def partitions(self) -> pd.DataFrame:
        """One row per object: its Hive partition values, shard, sequence range and size."""
        rows = []
        for obj in self.objects():
            match = RAW_KEY.search(obj["Key"])
            if match is None:
                continue  # not written by the consumer
            year, month, day, hour, shard, first, last = match.groups()
            rows.append({"year": year, "month": month, "day": day, "hour": hour, "shard": shard,
                         "first sequence": first, "last sequence": last, "bytes": obj["Size"], "key": obj["Key"]})  # fmt: skip
        return pd.DataFrame(rows)


def wait_for_raw_events(
    event_ids: Iterable[str],
    *,
    bucket: str,
    prefix: str,
    function_name: str,
    stream_name: str,
    before: Counter[str] | None = None,
    timeout_s: float = 180,
    every_s: float = 2,
) -> Arrival:
    """Wait until the S3 consumer has read the whole stream and every EventId is in the raw layer
    once more than in ``before`` (``RawLayer.event_ids()`` taken before streaming): the raw layer
    keeps every delivery, so rows streamed again are new lines, not the old ones."""
    raw, before = RawLayer(bucket, prefix), before or Counter()

    def arrived() -> set[str]:
        return {event_id for event_id, count in raw.event_ids().items() if count > before[event_id]}

    return _wait(f"s3://{bucket}/{prefix}", set(event_ids), arrived, function_name, S3_BATCH_MESSAGE, stream_name, timeout_s, every_s)


def replay_raw_object(function_name: str, stream_name: str, bucket: str, prefix: str, key: str) -> dict[str, Any]:
    """Deliver the batch behind one raw object to the S3 consumer again, as Lambda does on a retry.

    The object's name holds its shard and first and last sequence numbers: the same records are
    read back from the stream, wrapped in the event Lambda would send, and the function is invoked
    with it. Returns what changed: the number of objects under the prefix, and the object itself.
    """
    match = RAW_KEY.search(key)
    if match is None:
        raise ValueError(f"{key} is not a raw object name (.../shardId-...-<first>-<last>.json)")
    shard_id, first, last = match.group(5), match.group(6), match.group(7)
    s3, lam = aws.client("s3"), aws.client("lambda")
    raw = RawLayer(bucket, prefix)
    before, objects_before = s3.head_object(Bucket=bucket, Key=key), len(raw.objects())
    records = storage.shard_records(stream_name, shard_id, first, last)
    role_arn = lam.get_function_configuration(FunctionName=function_name)["Role"]
    event = storage.lambda_event(stream_name, records, role_arn)
    response = lam.invoke(FunctionName=function_name, Payload=json.dumps(event))
    answer = json.loads(response["Payload"].read() or "null")
    if response.get("FunctionError"):
        raise RuntimeError(f"{function_name} failed on the replayed batch: {answer}")
    after = s3.head_object(Bucket=bucket, Key=key)
    return {
        "records replayed": len(records),
        "function's answer": json.dumps(answer),
        "objects under the prefix (before, after)": f"{objects_before}, {len(raw.objects())}",
        "the object's ETag (before, after)": f"{before['ETag']}, {after['ETag']}",
        "the object's LastModified (before, after)": f"{before['LastModified']:%H:%M:%S}, {after['LastModified']:%H:%M:%S}",
    }


# ---------------------------------------------------------------------------------------------
# DynamoDB


def invoice_items(table: str, invoice_numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored invoices among ``invoice_numbers``, read consistently, by InvoiceNo."""
    dynamodb = aws.client("dynamodb")
    deserialize = _deserializer()
    numbers = sorted(set(invoice_numbers))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(numbers), BATCH_GET_LIMIT):
        request = {table: {"Keys": [{"InvoiceNo": {"S": n}} for n in numbers[start : start + BATCH_GET_LIMIT]], "ConsistentRead": True}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table, []):
                plain = {name: deserialize(value) for name, value in item.items()}
                found[plain["InvoiceNo"]] = plain
            request = response.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.2)
    return found


def _deserializer() -> Callable[[dict], Any]:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer().deserialize


def stored_event_ids(items: Iterable[dict[str, Any]]) -> set[str]:
    """The EventIds of every line of these invoice items (StockCode attribute -> {EventId: line})."""
    return {event_id for item in items for group in item.values() if isinstance(group, dict) for event_id in group}


def wait_for_invoice_lines(
    events: list[dict[str, Any]],
    *,
    table: str,
    function_name: str,
    stream_name: str,
    timeout_s: float = 180,
    every_s: float = 2,
) -> Arrival:
    """Wait until the DynamoDB consumer has read the whole stream and every event is a line of its invoice."""
    invoices = {event["InvoiceNo"] for event in events}
    return _wait(
        f"table {table}", {event["EventId"] for event in events},
        lambda: stored_event_ids(invoice_items(table, invoices).values()),
        function_name, DYNAMODB_BATCH_MESSAGE, stream_name, timeout_s, every_s,
    )  # fmt: skip


def invoice_lines(item: dict[str, Any]) -> pd.DataFrame:
    """An invoice item's lines, one row each: the StockCode attribute and the EventId that keys the line."""
    rows = [
        {"StockCode": stock_code, "EventId": event_id, **line}
        for stock_code, group in item.items()
        if isinstance(group, dict)
        for event_id, line in group.items()
    ]
    return pd.DataFrame(rows).sort_values(["StockCode", "EventId"]).reset_index(drop=True)


def as_json(item: dict[str, Any]) -> str:
    """A DynamoDB item as indented JSON (numbers come back from DynamoDB as Decimal)."""

    def number(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        raise TypeError(type(value).__name__)

    return json.dumps(item, indent=2, default=number, ensure_ascii=False)
