"""The Kinesis event source mapping's pure parts: request validation, verdicts, failure records, retry policy.

The retry policy runs here against a scripted function and a fake clock, which is how
MaximumRecordAgeInSeconds (at least 60 s) is checked without waiting a minute; the same code runs
end to end in tests/integration/test_kinesis_mappings.py. Each test names the AWS page it follows.
"""

from __future__ import annotations

import json
import time

import pytest

from helpers.localcloud.kinesis.batch_delivery import BatchDelivery, Collaborators, InvokeUnavailable
from helpers.localcloud.kinesis.batches import (
    DiscardCondition,
    InvokeResult,
    Verdict,
    event_record,
    failure_record,
    judge,
)
from helpers.localcloud.kinesis.mapping_config import (
    MappingError,
    PollingSettings,
    check_kinesis_rules,
    check_model_constraints,
    new_config,
    parse_function_name,
)
from helpers.localcloud.kinesis.mapping_calls import LocalServiceCalls
from helpers.localcloud.kinesis.shard_poller import ShardPoller
from helpers.localcloud.kinesis.shard_reader import StreamRecord

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
ROLE = "arn:aws:iam::123456789012:role/r"


def records(count: int, *, first: int = 1, arrival: float = 1000.0) -> list:
    return [
        event_record(
            StreamRecord("shardId-000000000000", n, f"pk{n}", "ZGF0YQ==", arrival + n),
            stream_arn=STREAM,
            region="us-east-1",
            identity_arn=ROLE,
        )
        for n in range(first, first + count)
    ]


def ok(payload: object = None) -> InvokeResult:
    return InvokeResult(200, None, b"" if payload is None else json.dumps(payload).encode(), "$LATEST", "req-1")


def crashed() -> InvokeResult:
    return InvokeResult(200, "Unhandled", b'{"errorMessage": "boom"}', "$LATEST", "req-2")


# --- https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html ----------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"BatchSize": 10001}, "Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000"),
        ({"BatchSize": 0}, "Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ({"MaximumBatchingWindowInSeconds": 301}, "at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300"),
        ({"ParallelizationFactor": 11}, "at 'parallelizationFactor' failed to satisfy constraint: Member must have value less than or equal to 10"),
        ({"MaximumRetryAttempts": -2}, "at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to -1"),
        ({"MaximumRecordAgeInSeconds": 604801}, "at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 604800"),
        ({"StartingPosition": "OLDEST"}, "Value 'OLDEST' at 'startingPosition' failed to satisfy constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"),
        ({"FunctionResponseTypes": ["Everything"]}, "at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"),
    ],
)
def test_create_event_source_mapping_model_constraints_answer_validation_exception(body, message):
    with pytest.raises(MappingError) as caught:
        check_model_constraints("CreateEventSourceMapping", body)
    assert caught.value.error_type == "ValidationException"
    assert caught.value.message.startswith("1 validation error detected: ")
    assert message in caught.value.message


def test_create_event_source_mapping_reports_every_broken_constraint_at_once():
    with pytest.raises(MappingError) as caught:
        check_model_constraints("CreateEventSourceMapping", {"BatchSize": 0, "ParallelizationFactor": 0})
    assert caught.value.message.startswith("2 validation errors detected: ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Value null at 'startingPosition' failed to satisfy constraint: Member must not be null."),
        ({"StartingPosition": "LATEST", "StartingPositionTimestamp": 1}, "Timestamp only valid with StartingPosition AT_TIMESTAMP"),
        ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPositionTimestamp is required"),
        ({"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 59}, "MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and 604800"),
        ({"StartingPosition": "LATEST", "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}}}, "Unsupported DestinationConfig parameter"),
        ({"StartingPosition": "LATEST", "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:123456789012:function:f"}}}, "is invalid"),
        ({"StartingPosition": "LATEST", "Queues": ["q"]}, "Queues is not valid for an Amazon Kinesis event source."),
        ({"StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": "{}"}]}}, "not supported by the workbook's local cloud"),
    ],
)
def test_create_event_source_mapping_kinesis_rules_answer_invalid_parameter(body, message):
    with pytest.raises(MappingError) as caught:
        check_kinesis_rules(body, creating=True)
    assert caught.value.error_type == "InvalidParameterValueException"
    assert message in caught.value.message


def test_create_event_source_mapping_accepts_the_documented_edges():
    body = {
        "StartingPosition": "AT_TIMESTAMP",
        "StartingPositionTimestamp": 1541139109,
        "BatchSize": 10000,
        "MaximumBatchingWindowInSeconds": 300,
        "MaximumRecordAgeInSeconds": 60,
        "MaximumRetryAttempts": 10000,
        "ParallelizationFactor": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sns:us-east-1:123456789012:t"}},
    }
    check_model_constraints("CreateEventSourceMapping", body)
    check_kinesis_rules(body, creating=True)


def test_with_kinesis_defaults_are_what_get_event_source_mapping_reports():
    config = new_config({"EventSourceArn": STREAM, "StartingPosition": "LATEST"}, function_arn=FUNCTION)
    assert config == {
        "StartingPosition": "LATEST",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "DestinationConfig": {"OnFailure": {}},
        "EventSourceArn": STREAM,
        "FunctionArn": FUNCTION,
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("f", ("f", None, None, None)),
        ("f:live", ("f", "live", None, None)),
        ("123456789012:function:f", ("f", None, None, "123456789012")),
        ("arn:aws:lambda:eu-west-1:123456789012:function:f:7", ("f", "7", "eu-west-1", "123456789012")),
    ],
)
def test_create_event_source_mapping_function_name_formats(name, expected):
    reference = parse_function_name(name)
    assert (reference.name, reference.qualifier, reference.region, reference.account) == expected


# --- https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html (the event) ----------------


def test_with_kinesis_event_record_has_the_documented_fields():
    (entry,) = records(1)
    assert json.loads(entry.json) == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "pk1",
            "sequenceNumber": "1",
            "data": "ZGF0YQ==",
            "approximateArrivalTimestamp": 1001.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000000:1",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": ROLE,
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM,
    }


@pytest.mark.parametrize("partition_key", ["536365", 'é"\\\n☃', ""])
@pytest.mark.parametrize("data", ["ZGF0YQ==", "", 'not"base64'])
@pytest.mark.parametrize("timestamp", [1700000000.123456, 1700000000, 0.1])
def test_with_kinesis_event_record_text_is_what_json_dumps_writes(partition_key, data, timestamp):
    record = StreamRecord("shardId-000000000003", 49656765760236148390193620373113776546981734318208286738, partition_key, data, timestamp)
    identity = ROLE + '"é'
    entry = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": str(record.sequence_number),
            "data": data,
            "approximateArrivalTimestamp": round(timestamp, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000003:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": identity,
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM,
    }
    built = event_record(record, stream_arn=STREAM, region="us-east-1", identity_arn=identity)
    assert built.json == json.dumps(entry, separators=(",", ":"))


# --- https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html --


@pytest.mark.parametrize("payload", [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}])
def test_batchfailurereporting_complete_success_answers(payload):
    assert judge(ok(payload), records(3), report_batch_item_failures=True).verdict is Verdict.SUCCESS


@pytest.mark.parametrize(
    "failures",
    [
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"itemId": "2"}],
        [{"itemIdentifier": "99"}],  # not in the batch: cannot be checkpointed
        ["2"],
    ],
)
def test_batchfailurereporting_complete_failure_answers(failures):
    outcome = judge(ok({"batchItemFailures": failures}), records(3), report_batch_item_failures=True)
    assert outcome.verdict is Verdict.FAILURE


def test_batchfailurereporting_checkpoints_at_the_lowest_failed_sequence_number():
    answer = {"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}
    outcome = judge(ok(answer), records(3), report_batch_item_failures=True)
    assert (outcome.verdict, outcome.retry_from) == (Verdict.PARTIAL_FAILURE, 2)


def test_batchfailurereporting_answer_is_ignored_unless_turned_on():
    answer = {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert judge(ok(answer), records(3), report_batch_item_failures=False).verdict is Verdict.SUCCESS
    assert judge(crashed(), records(3), report_batch_item_failures=True).verdict is Verdict.FAILURE


# --- https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html ---------


def test_kinesis_on_failure_destination_invocation_record_shape():
    batch = records(2, first=7, arrival=1573691884.0)
    document = failure_record(
        batch,
        condition=DiscardCondition.RETRY_ATTEMPTS_EXHAUSTED,
        function_arn=FUNCTION,
        stream_arn=STREAM,
        invoke_count=1,
        last_result=crashed(),
        request_id="unused",
        now=1573691886.021,
    )
    assert document == {
        "requestContext": {
            "requestId": "req-2",
            "functionArn": FUNCTION,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 1,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2019-11-14T00:38:06.021Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": "7",
            "endSequenceNumber": "8",
            "approximateArrivalOfFirstRecord": "2019-11-14T00:38:11.000Z",
            "approximateArrivalOfLastRecord": "2019-11-14T00:38:12.000Z",
            "batchSize": 2,
            "streamArn": STREAM,
        },
    }


# --- the retry policy, against a scripted function ------------------------------------------


SETTINGS = dict(
    uuid="u",
    region="us-east-1",
    function_arn=FUNCTION,
    stream_arn=STREAM,
    batch_size=100,
    batching_window_seconds=0,
    maximum_retry_attempts=-1,
    maximum_record_age_seconds=-1,
    bisect_on_error=False,
    report_batch_item_failures=False,
    on_failure_destination="arn:aws:sqs:us-east-1:123456789012:dlq",
)


class Rig:
    """A BatchDelivery whose function answers from a script and whose clock is fake."""

    def __init__(self, answers, *, now: float = 2000.0, **settings):
        self.answers = answers  # function of the invoked sequence numbers -> InvokeResult or exception
        self.invocations: list[list[int]] = []
        self.sent: list[dict] = []
        self.checkpoints: list[int] = []
        self.now = now
        self.delivery = BatchDelivery(
            PollingSettings(**{**SETTINGS, **settings}),
            Collaborators(
                invoke=self._invoke,
                send_failure_record=self.sent.append,
                checkpoint=self.checkpoints.append,
                report=lambda text: None,
                clock=lambda: self.now,
                wait=self._wait,
            ),
        )

    def _invoke(self, payload: bytes) -> InvokeResult:
        numbers = [int(r["kinesis"]["sequenceNumber"]) for r in json.loads(payload)["Records"]]
        self.invocations.append(numbers)
        answer = self.answers(numbers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _wait(self, seconds: float) -> bool:
        self.now += seconds
        return False


def test_kinesis_on_failure_destination_bisect_isolates_the_bad_record_without_spending_retries():
    rig = Rig(lambda seq: crashed() if 6 in seq else ok(), bisect_on_error=True, maximum_retry_attempts=1)
    assert rig.delivery.deliver(records(8))
    (document,) = rig.sent
    assert document["KinesisBatchInfo"]["startSequenceNumber"] == document["KinesisBatchInfo"]["endSequenceNumber"] == "6"
    assert document["requestContext"]["approximateInvokeCount"] == 2  # the first try and one retry
    succeeded = [n for batch in rig.invocations if 6 not in batch for n in batch]
    assert sorted(succeeded) == [1, 2, 3, 4, 5, 7, 8]
    assert rig.checkpoints[-1] == 9


def test_kinesis_on_failure_destination_retries_then_discards_the_whole_batch():
    rig = Rig(lambda seq: crashed(), maximum_retry_attempts=2)
    assert rig.delivery.deliver(records(3))
    assert rig.invocations == [[1, 2, 3]] * 3
    (document,) = rig.sent
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 3
    assert rig.checkpoints == [4]


def test_kinesis_on_failure_destination_throttles_do_not_count_as_retries():
    answers = iter([InvokeUnavailable("throttled"), InvokeUnavailable("throttled"), crashed(), ok()])
    rig = Rig(lambda seq: next(answers), maximum_retry_attempts=1)
    assert rig.delivery.deliver(records(2))
    assert rig.sent == [] and rig.checkpoints == [3]


def test_kinesis_on_failure_destination_records_older_than_the_maximum_age_are_discarded():
    # MaximumRecordAgeInSeconds: records arrived at 1001..1003, the clock says 1061.5 -> 1001 is too old.
    rig = Rig(lambda seq: ok(), now=1061.5, maximum_record_age_seconds=60)
    assert rig.delivery.deliver(records(3))
    (document,) = rig.sent
    assert document["requestContext"]["condition"] == "RecordAgeExceeded"
    assert document["requestContext"]["approximateInvokeCount"] == 0
    assert document["KinesisBatchInfo"]["batchSize"] == 1
    assert rig.invocations == [[2, 3]]


def test_kinesis_on_failure_destination_a_failing_batch_ages_out_while_retried():
    rig = Rig(lambda seq: crashed(), now=1010.0, maximum_record_age_seconds=60)
    assert rig.delivery.deliver(records(2))
    (document,) = rig.sent
    assert document["requestContext"]["condition"] == "RecordAgeExceeded"
    assert document["responseContext"]["functionError"] == "Unhandled"
    assert document["KinesisBatchInfo"]["batchSize"] == 2
    assert rig.checkpoints == [3]


def test_batchfailurereporting_resumes_from_the_failed_sequence_number():
    answers = iter([ok({"batchItemFailures": [{"itemIdentifier": "3"}]}), ok()])
    rig = Rig(lambda seq: next(answers), report_batch_item_failures=True)
    assert rig.delivery.deliver(records(5))
    assert rig.invocations == [[1, 2, 3, 4, 5], [3, 4, 5]]
    assert rig.checkpoints == [3, 6]


def test_batchfailurereporting_with_bisect_splits_at_the_returned_sequence_number():
    answers = iter([ok({"batchItemFailures": [{"itemIdentifier": "4"}]}), crashed(), ok(), ok()])
    rig = Rig(lambda seq: next(answers), report_batch_item_failures=True, bisect_on_error=True)
    assert rig.delivery.deliver(records(5))
    assert rig.invocations == [[1, 2, 3, 4, 5], [4, 5], [4], [5]]


# --- https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html, batching ----


class ArrivingShard:
    """A shard whose records arrive one per read: what a poller sees while a producer sends."""

    shard_id = "shardId-000000000000"

    def __init__(self, count: int) -> None:
        self.arrived, self.count = 0, count

    def read(self, position: int, limit: int) -> list[StreamRecord]:
        self.arrived = min(self.count, self.arrived + 1)
        last = min(self.arrived, position + limit - 1)
        return [StreamRecord(self.shard_id, n, f"pk{n}", "ZGF0YQ==", 1000.0 + n) for n in range(position, last + 1)]


def poller(shard: ArrivingShard, window_s: int) -> ShardPoller:
    return ShardPoller(
        settings=PollingSettings(**{**SETTINGS, "batching_window_seconds": window_s}),
        reader=shard,  # type: ignore[arg-type]
        start_at=1,
        calls=LocalServiceCalls("http://127.0.0.1:1"),  # never called: nothing is delivered here
        identity_arn=lambda: ROLE,
        on_checkpoint=lambda shard_id, number: None,
        on_result=lambda text: None,
    )


def test_batching_window_gathers_records_until_it_closes():
    batch = poller(ArrivingShard(3), window_s=1)._gather(window_opened=time.monotonic())
    assert [entry.sequence_number for entry in batch] == [1, 2, 3]


def test_batching_window_begins_when_the_previous_invocation_completes_not_when_a_record_arrives():
    """After a quiet spell longer than the window, the first record goes at once, alone."""
    batch = poller(ArrivingShard(3), window_s=1)._gather(window_opened=time.monotonic() - 5)
    assert [entry.sequence_number for entry in batch] == [1]
