"""A batch of Kinesis records as Lambda sees it: the event, the verdict on the answer, the failure record.

Pure functions, no I/O, following:
- the event: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html ("Example Kinesis
  record event");
- the verdict with ``ReportBatchItemFailures``:
  https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html;
- the failure record sent to an on-failure destination:
  https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache
from typing import Any

from helpers.localcloud.kinesis.shard_reader import StreamRecord

# A synchronous invocation's request payload is at most 6 MB; a batch stops growing before that.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
_ENVELOPE = len('{"Records":[]}')
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")


@dataclass(frozen=True)
class EventRecord:
    """A stream record and its entry in the event's ``Records`` list, serialized once."""

    record: StreamRecord
    json: str

    @property
    def sequence_number(self) -> int:
        return self.record.sequence_number


def event_record(record: StreamRecord, *, stream_arn: str, region: str, identity_arn: str) -> EventRecord:
    """The record's entry, as ``json.dumps(entry, separators=(",", ":"))`` writes it, built from
    text: two consumers of a full-scale stream serialize a million of them."""
    sequence_number = str(record.sequence_number)
    text = (
        '{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":' + json.dumps(record.partition_key)
        + ',"sequenceNumber":"' + sequence_number + '","data":' + _base64_text(record.data_base64)
        + ',"approximateArrivalTimestamp":' + json.dumps(round(record.arrival_timestamp, 3))
        + '},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":' + json.dumps(f"{record.shard_id}:{sequence_number}")
        + _record_tail(identity_arn, region, stream_arn)
    )  # fmt: skip
    return EventRecord(record, text)


def _base64_text(data: str) -> str:
    return '"' + data + '"' if _BASE64.fullmatch(data) else json.dumps(data)  # base64 needs no escaping


@lru_cache(maxsize=64)
def _record_tail(identity_arn: str, region: str, stream_arn: str) -> str:
    """The entry's fields after eventID: the same for every record a mapping delivers."""
    tail = {"eventName": "aws:kinesis:record", "invokeIdentityArn": identity_arn, "awsRegion": region, "eventSourceARN": stream_arn}
    return "," + json.dumps(tail, separators=(",", ":"))[1:]


def payload_size(records: list[EventRecord]) -> int:
    return _ENVELOPE + sum(len(r.json) for r in records) + max(len(records) - 1, 0)


def event_payload(records: list[EventRecord]) -> bytes:
    return ('{"Records":[' + ",".join(r.json for r in records) + "]}").encode()


@dataclass(frozen=True)
class InvokeResult:
    """What a RequestResponse ``lambda.invoke`` returned."""

    status_code: int
    function_error: str | None  # the X-Amz-Function-Error header: "Unhandled" or "Handled"
    payload: bytes
    executed_version: str
    request_id: str


class Verdict(Enum):
    SUCCESS = "success"
    PARTIAL_FAILURE = "partial failure"
    FAILURE = "failure"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    retry_from: int | None = None  # PARTIAL_FAILURE: the lowest failed sequence number
    reason: str = ""


def judge(result: InvokeResult, records: list[EventRecord], *, report_batch_item_failures: bool) -> Outcome:
    """Was the batch processed? A function error fails it whole; otherwise read the partial response."""
    if result.function_error:
        return Outcome(Verdict.FAILURE, reason=f"function error ({result.function_error})")
    if not report_batch_item_failures:
        return Outcome(Verdict.SUCCESS)  # without ReportBatchItemFailures the answer is not read
    return _read_batch_item_failures(result.payload, {r.sequence_number for r in records})


def _read_batch_item_failures(payload: bytes, sequence_numbers: set[int]) -> Outcome:
    text = payload.decode("utf-8", errors="replace").strip()
    if not text:
        return Outcome(Verdict.SUCCESS)  # a null EventResponse
    try:
        response = json.loads(text)
    except ValueError:
        return Outcome(Verdict.FAILURE, reason="the response is not JSON")
    if response is None:
        return Outcome(Verdict.SUCCESS)  # a null EventResponse
    if not isinstance(response, dict):
        # Our reading: a value that is not an EventResponse object cannot say which records failed.
        return Outcome(Verdict.FAILURE, reason="the response is not a batch item failures object")
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return Outcome(Verdict.SUCCESS)  # an empty EventResponse, a null or empty list
    if not isinstance(failures, list):
        return Outcome(Verdict.FAILURE, reason="batchItemFailures is not a list")
    failed: list[int] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        # An empty, null or misspelled itemIdentifier fails the whole batch; so does a sequence
        # number that is not in the batch, since the batch cannot be checkpointed at it.
        if not isinstance(identifier, str) or not identifier.isdigit() or int(identifier) not in sequence_numbers:
            return Outcome(Verdict.FAILURE, reason=f"invalid batch item failure {item!r}")
        failed.append(int(identifier))
    return Outcome(Verdict.PARTIAL_FAILURE, retry_from=min(failed), reason=f"{len(failed)} item failure(s)")


class DiscardCondition(str, Enum):
    RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
    # The AWS page documents RetryAttemptsExhausted only; this is the name for a too-old record.
    RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


def _iso_millis(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def failure_record(
    records: list[EventRecord],
    *,
    condition: DiscardCondition,
    function_arn: str,
    stream_arn: str,
    invoke_count: int,
    last_result: InvokeResult | None,
    request_id: str,
    now: float,
) -> dict[str, Any]:
    """The JSON document Lambda sends to the on-failure destination for a discarded batch."""
    first, last = records[0].record, records[-1].record
    response_context: dict[str, Any] = {}
    if last_result is not None:  # records that aged out before any invocation have no response
        response_context = {"statusCode": last_result.status_code, "executedVersion": last_result.executed_version}
        if last_result.function_error:
            response_context["functionError"] = last_result.function_error
    return {
        "requestContext": {
            "requestId": last_result.request_id if last_result else request_id,
            "functionArn": function_arn,
            "condition": condition.value,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": _iso_millis(now),
        "KinesisBatchInfo": {
            "shardId": first.shard_id,
            "startSequenceNumber": str(first.sequence_number),
            "endSequenceNumber": str(last.sequence_number),
            "approximateArrivalOfFirstRecord": _iso_millis(first.arrival_timestamp),
            "approximateArrivalOfLastRecord": _iso_millis(last.arrival_timestamp),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
