"""Kinesis -> Lambda event source mappings on the local cloud, seen through plain boto3.

Deployed functions record every event they receive to S3; the tests read them back and parse them
with aws-lambda-powertools' ``KinesisDataStreamModel``. Each test names the AWS page it follows.
MaximumRecordAgeInSeconds (at least 60 s) is exercised against a fake clock in
tests/unit/test_kinesis_mappings.py rather than by waiting a minute here.
"""

from __future__ import annotations

import functools
import io
import json
import textwrap
import time
import uuid
import zipfile
from collections import defaultdict

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamModel
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import benchmarking

pytestmark = pytest.mark.integration

DELIVERY_TIMEOUT_S = 30

# Writes each event it gets to s3://BUCKET/PREFIX/<time>-<id>.json, then behaves as MODE says.
RECORDER = """
import base64, json, os, time, uuid
import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")
BUCKET, PREFIX, MODE = os.environ["BUCKET"], os.environ["PREFIX"], os.environ.get("MODE", "ok")

def handler(event, context):
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json", Body=json.dumps(event))
    data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    if MODE == "raise_on_poison" and "poison" in data:
        raise ValueError("a poison record")
    if MODE == "always_raise":
        raise RuntimeError("this function always fails")
    if MODE == "fail_each_marked_record_once":
        for record, text in zip(event["Records"], data):
            marker = f"{PREFIX}-seen/{record['eventID']}"
            if text.startswith("retry-me"):
                try:
                    s3.head_object(Bucket=BUCKET, Key=marker)
                except ClientError:
                    s3.put_object(Bucket=BUCKET, Key=marker, Body=b"")
                    return {"batchItemFailures": [{"itemIdentifier": record["kinesis"]["sequenceNumber"]}]}
        return {"batchItemFailures": []}
    return None
"""


wait_until = functools.partial(benchmarking.wait_until, timeout=DELIVERY_TIMEOUT_S, every=0.1)


@pytest.fixture(scope="module")
def aws(local_cloud):
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return {name: boto3.client(name, config=config) for name in ("lambda", "kinesis", "s3", "sqs", "iam")}


@pytest.fixture(scope="module")
def bucket(aws):
    name = f"esm-events-{uuid.uuid4().hex[:8]}"
    aws["s3"].create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def role(aws):
    return aws["iam"].create_role(RoleName=f"esm-test-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


@pytest.fixture
def deploy(aws, bucket, role):
    """deploy(mode) -> (function name, S3 prefix of the events it records)."""

    def _deploy(mode: str = "ok") -> tuple[str, str]:
        name = f"esm-fn-{uuid.uuid4().hex[:8]}"
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("app.py", textwrap.dedent(RECORDER))
        aws["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
            Timeout=30,
            Environment={"Variables": {"BUCKET": bucket, "PREFIX": name, "MODE": mode}},
        )
        return name, name

    return _deploy


@pytest.fixture
def stream(aws):
    """stream(shards) -> stream ARN."""

    def _stream(shards: int = 1) -> str:
        name = f"esm-stream-{uuid.uuid4().hex[:8]}"
        aws["kinesis"].create_stream(StreamName=name, ShardCount=shards)
        return aws["kinesis"].describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]

    return _stream


def put(aws, stream_arn: str, texts: list[str]) -> list[dict]:
    """Put records (partition key = position), 500 per PutRecords; returns SequenceNumber/ShardId each."""
    placed: list[dict] = []
    for start in range(0, len(texts), 500):
        chunk = texts[start : start + 500]
        answer = aws["kinesis"].put_records(
            StreamARN=stream_arn,
            Records=[{"Data": text.encode(), "PartitionKey": f"key-{start + i}"} for i, text in enumerate(chunk)],
        )
        assert answer["FailedRecordCount"] == 0
        placed += answer["Records"]
    return placed


def map_stream(aws, stream_arn: str, function: str, **settings) -> str:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    mapping = aws["lambda"].create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=function, **settings)
    wait_for_state(aws, mapping["UUID"], "Enabled" if settings.get("Enabled", True) else "Disabled")
    return mapping["UUID"]


def wait_for_state(aws, mapping_uuid: str, state: str) -> dict:
    return wait_until(
        lambda: (m := aws["lambda"].get_event_source_mapping(UUID=mapping_uuid))["State"] == state and m, timeout=10
    )


def events(aws, bucket: str, prefix: str) -> list[KinesisDataStreamModel]:
    """Every event the function received, in the order it received them, checked by Powertools."""
    pages = aws["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    return [
        KinesisDataStreamModel.model_validate_json(aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read())
        for key in keys
    ]


def texts_of(event: KinesisDataStreamModel) -> list[str]:
    return [record.kinesis.data.decode() for record in event.Records]


def count_records(aws, bucket: str, prefix: str) -> int:
    return sum(len(e.Records) for e in events(aws, bucket, prefix))


def queue(aws) -> tuple[str, str]:
    url = aws["sqs"].create_queue(QueueName=f"esm-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(aws, url: str) -> list[dict]:
    messages = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


# --- https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html -----------------------------


def test_with_kinesis_two_mappings_each_get_every_record_once_in_shard_order(aws, bucket, role, deploy, stream):
    stream_arn = stream(shards=2)
    (first, first_prefix), (second, second_prefix) = deploy(), deploy()
    map_stream(aws, stream_arn, first, BatchSize=150)
    map_stream(aws, stream_arn, second, BatchSize=200, MaximumBatchingWindowInSeconds=1)
    texts = [json.dumps({"InvoiceNo": f"{536365 + i}", "n": i}) for i in range(2000)]
    placed = put(aws, stream_arn, texts)
    expected: dict[str, list[tuple[str, str]]] = defaultdict(list)  # shard -> [(sequence number, text)] in order
    for text, where in zip(texts, placed):
        expected[where["ShardId"]].append((where["SequenceNumber"], text))
    assert len(expected) == 2

    for prefix, batch_size in ((first_prefix, 150), (second_prefix, 200)):
        wait_until(lambda: count_records(aws, bucket, prefix) >= 2000)
        received: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for event in events(aws, bucket, prefix):
            assert 1 <= len(event.Records) <= batch_size
            (shard,) = {record.eventID.split(":")[0] for record in event.Records}  # one shard per batch
            for record in event.Records:
                assert record.eventID == f"{shard}:{record.kinesis.sequenceNumber}"
                assert record.eventSourceARN == stream_arn and record.awsRegion == "us-east-1"
                assert record.invokeIdentityArn == role
                assert record.kinesis.kinesisSchemaVersion == "1.0"
                received[shard].append((record.kinesis.sequenceNumber, record.kinesis.data.decode()))
        assert received == expected  # each record once, in each shard's order


def test_with_kinesis_latest_skips_records_put_before_the_mapping(aws, bucket, deploy, stream):
    stream_arn = stream()
    function, prefix = deploy()
    put(aws, stream_arn, [f"before-{i}" for i in range(10)])
    map_stream(aws, stream_arn, function, StartingPosition="LATEST")
    put(aws, stream_arn, [f"after-{i}" for i in range(10)])
    wait_until(lambda: count_records(aws, bucket, prefix) >= 10)
    time.sleep(0.5)  # room for a wrongly delivered record to show up
    assert [t for e in events(aws, bucket, prefix) for t in texts_of(e)] == [f"after-{i}" for i in range(10)]


def test_with_kinesis_at_timestamp_starts_at_the_first_record_at_or_after_it(aws, bucket, deploy, stream):
    stream_arn = stream()
    function, prefix = deploy()
    put(aws, stream_arn, [f"early-{i}" for i in range(5)])
    time.sleep(0.3)
    boundary = time.time()
    time.sleep(0.3)
    put(aws, stream_arn, [f"late-{i}" for i in range(5)])
    map_stream(aws, stream_arn, function, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=boundary)
    wait_until(lambda: count_records(aws, bucket, prefix) >= 5)
    time.sleep(0.5)
    assert [t for e in events(aws, bucket, prefix) for t in texts_of(e)] == [f"late-{i}" for i in range(5)]


def test_with_kinesis_disabling_stops_delivery_and_enabling_resumes_where_it_stopped(aws, bucket, deploy, stream):
    stream_arn = stream()
    function, prefix = deploy()
    mapping = map_stream(aws, stream_arn, function)
    put(aws, stream_arn, [f"one-{i}" for i in range(5)])
    wait_until(lambda: count_records(aws, bucket, prefix) >= 5)

    answer = aws["lambda"].update_event_source_mapping(UUID=mapping, Enabled=False)
    assert answer["State"] == "Disabling"
    wait_for_state(aws, mapping, "Disabled")
    put(aws, stream_arn, [f"two-{i}" for i in range(5)])
    time.sleep(1.0)  # an enabled mapping would have delivered them by now
    assert count_records(aws, bucket, prefix) == 5

    assert aws["lambda"].update_event_source_mapping(UUID=mapping, Enabled=True)["State"] == "Enabling"
    wait_for_state(aws, mapping, "Enabled")
    wait_until(lambda: count_records(aws, bucket, prefix) >= 10)
    received = [t for e in events(aws, bucket, prefix) for t in texts_of(e)]
    assert received == [f"one-{i}" for i in range(5)] + [f"two-{i}" for i in range(5)]


# --- https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html -----------


def test_kinesis_on_failure_destination_bisect_leaves_only_the_bad_record_in_the_queue(aws, bucket, deploy, stream):
    stream_arn = stream()
    function, prefix = deploy("raise_on_poison")
    dlq_url, dlq_arn = queue(aws)
    texts = [f"good-{i}" for i in range(40)]
    texts[17] = "poison"
    placed = put(aws, stream_arn, texts)
    map_stream(
        aws,
        stream_arn,
        function,
        BatchSize=40,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    (document,) = wait_until(lambda: drain(aws, dlq_url))
    poison_sequence = placed[17]["SequenceNumber"]
    assert document["KinesisBatchInfo"] == {
        "shardId": placed[17]["ShardId"],
        "startSequenceNumber": poison_sequence,
        "endSequenceNumber": poison_sequence,
        "approximateArrivalOfFirstRecord": document["KinesisBatchInfo"]["approximateArrivalOfFirstRecord"],
        "approximateArrivalOfLastRecord": document["KinesisBatchInfo"]["approximateArrivalOfFirstRecord"],
        "batchSize": 1,
        "streamArn": stream_arn,
    }
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 2  # the first try and one retry
    assert document["requestContext"]["functionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    assert document["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert document["version"] == "1.0" and document["timestamp"].endswith("Z")

    def processed() -> list[str]:  # records of the invocations that succeeded
        return [t for e in events(aws, bucket, prefix) if "poison" not in texts_of(e) for t in texts_of(e)]

    wait_until(lambda: len(processed()) >= 39)
    assert sorted(processed()) == sorted(t for t in texts if t != "poison")  # every good record once
    assert drain(aws, dlq_url) == []  # exactly that one record was left behind


def test_kinesis_on_failure_destination_maximum_retry_attempts_then_the_shard_moves_on(aws, bucket, deploy, stream):
    stream_arn = stream()
    function, prefix = deploy("always_raise")
    dlq_url, dlq_arn = queue(aws)
    mapping = map_stream(
        aws,
        stream_arn,
        function,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    put(aws, stream_arn, ["a", "b", "c"])
    (document,) = wait_until(lambda: drain(aws, dlq_url))
    assert document["requestContext"]["approximateInvokeCount"] == 3
    assert document["KinesisBatchInfo"]["batchSize"] == 3
    assert [texts_of(e) for e in events(aws, bucket, prefix)] == [["a", "b", "c"]] * 3
    assert aws["lambda"].get_event_source_mapping(UUID=mapping)["LastProcessingResult"] == "PROBLEM: Function call failed"

    put(aws, stream_arn, ["d"])  # the discarded batch no longer blocks the shard
    (later,) = wait_until(lambda: drain(aws, dlq_url))
    assert later["KinesisBatchInfo"]["batchSize"] == 1


# --- https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html ---


def test_batchfailurereporting_retries_from_the_failed_sequence_number(aws, bucket, deploy, stream):
    stream_arn = stream()
    function, prefix = deploy("fail_each_marked_record_once")
    texts = [f"fine-{i}" for i in range(30)]
    texts[12] = "retry-me"
    placed = put(aws, stream_arn, texts)
    mapping = map_stream(
        aws,
        stream_arn,
        function,
        BatchSize=30,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    wait_until(lambda: len(events(aws, bucket, prefix)) >= 2)
    time.sleep(0.5)
    first, second = events(aws, bucket, prefix)
    assert texts_of(first) == texts
    assert texts_of(second) == texts[12:]
    assert second.Records[0].kinesis.sequenceNumber == placed[12]["SequenceNumber"]
    assert aws["lambda"].get_event_source_mapping(UUID=mapping)["LastProcessingResult"] == "OK"


# --- https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html ------------


def test_api_create_event_source_mapping_answer_then_enabled(aws, deploy, stream):
    stream_arn = stream()
    function, _ = deploy()
    created = aws["lambda"].create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function, StartingPosition="LATEST", Tags={"team": "data"}
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert {k: created[k] for k in ("State", "StateTransitionReason", "LastProcessingResult")} == {
        "State": "Creating",
        "StateTransitionReason": "User action",
        "LastProcessingResult": "No records processed",
    }
    assert {k: created[k] for k in ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor",
                                     "MaximumRecordAgeInSeconds", "MaximumRetryAttempts", "BisectBatchOnFunctionError",
                                     "TumblingWindowInSeconds", "FunctionResponseTypes", "DestinationConfig")} == {
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "MaximumRecordAgeInSeconds": -1,
        "MaximumRetryAttempts": -1,
        "BisectBatchOnFunctionError": False,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "DestinationConfig": {"OnFailure": {}},
    }
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    assert created["EventSourceMappingArn"] == f"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:{created['UUID']}"
    wait_for_state(aws, created["UUID"], "Enabled")
    assert aws["lambda"].list_tags(Resource=created["EventSourceMappingArn"])["Tags"] == {"team": "data"}

    listed = aws["lambda"].list_event_source_mappings(EventSourceArn=stream_arn)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [created["UUID"]]
    assert [m["UUID"] for m in aws["lambda"].list_event_source_mappings(FunctionName=function)["EventSourceMappings"]] == [
        created["UUID"]
    ]


def test_api_update_event_source_mapping_applies_settings_asynchronously(aws, deploy, stream):
    stream_arn = stream()
    function, _ = deploy()
    mapping = map_stream(aws, stream_arn, function)
    answer = aws["lambda"].update_event_source_mapping(UUID=mapping, BatchSize=500, MaximumRetryAttempts=3)
    # "Updated settings are applied asynchronously and aren't reflected in the output until the process completes"
    assert (answer["State"], answer["BatchSize"]) == ("Updating", 100)
    updated = wait_for_state(aws, mapping, "Enabled")
    assert (updated["BatchSize"], updated["MaximumRetryAttempts"]) == (500, 3)


def test_api_delete_event_source_mapping_then_it_is_gone(aws, deploy, stream):
    stream_arn = stream()
    function, _ = deploy()
    mapping = map_stream(aws, stream_arn, function)
    assert aws["lambda"].delete_event_source_mapping(UUID=mapping)["State"] == "Deleting"

    def gone() -> bool:
        try:
            aws["lambda"].get_event_source_mapping(UUID=mapping)
        except ClientError as error:
            return error.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_until(gone, timeout=10)


def test_api_list_event_source_mappings_shows_moto_kept_sources_too(aws, deploy):
    function, _ = deploy()
    _, queue_arn = queue(aws)
    sqs_mapping = aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function)["UUID"]
    listed = aws["lambda"].list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [sqs_mapping]


@pytest.mark.parametrize(
    ("settings", "code", "message"),
    [
        ({"BatchSize": 10001}, "ValidationException", "Member must have value less than or equal to 10000"),
        ({"BatchSize": 0}, "ValidationException", "Member must have value greater than or equal to 1"),
        ({"MaximumBatchingWindowInSeconds": 301}, "ValidationException", "at 'maximumBatchingWindowInSeconds'"),
        ({"ParallelizationFactor": 11}, "ValidationException", "at 'parallelizationFactor'"),
        ({"MaximumRetryAttempts": 10001}, "ValidationException", "at 'maximumRetryAttempts'"),
        ({"StartingPosition": "OLDEST"}, "ValidationException", "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"),
        ({"StartingPosition": None}, "InvalidParameterValueException", "Value null at 'startingPosition'"),
        ({"MaximumRecordAgeInSeconds": 30}, "InvalidParameterValueException", "MaximumRecordAgeInSeconds must be -1"),
        ({"StartingPositionTimestamp": 1}, "InvalidParameterValueException", "Timestamp only valid with StartingPosition AT_TIMESTAMP"),
        ({"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}}},
         "InvalidParameterValueException", "Unsupported DestinationConfig parameter"),
        ({"FunctionName": "no-such-function"}, "ResourceNotFoundException", "Function not found"),
        ({"EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/no-such-stream"},
         "InvalidParameterValueException", "Stream not found"),
    ],
)
def test_api_create_event_source_mapping_validation_errors(aws, deploy, stream, settings, code, message):
    # Without client-side validation, so that what AWS's front end would reject reaches the server.
    unchecked = boto3.client("lambda", config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    function, _ = deploy()
    request = {"EventSourceArn": stream(), "FunctionName": function, "StartingPosition": "LATEST", **settings}
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as caught:
        unchecked.create_event_source_mapping(**request)
    assert caught.value.response["Error"]["Code"] == code
    assert message in caught.value.response["Error"]["Message"]


def test_api_create_event_source_mapping_refuses_a_second_mapping_of_the_same_pair(aws, deploy, stream):
    stream_arn = stream()
    function, _ = deploy()
    first = map_stream(aws, stream_arn, function)
    with pytest.raises(ClientError) as caught:
        aws["lambda"].create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=function, StartingPosition="LATEST")
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert first in caught.value.response["Error"]["Message"]


def test_api_get_event_source_mapping_unknown_uuid(aws):
    with pytest.raises(ClientError) as caught:
        aws["lambda"].get_event_source_mapping(UUID=str(uuid.uuid4()))
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_with_kinesis_records_put_after_a_split_are_all_delivered(aws, bucket, deploy, stream):
    # Resharding is partly emulated (see helpers/localcloud/planes/kinesis_mappings.py): no record is lost.
    stream_arn = stream()
    function, prefix = deploy()
    map_stream(aws, stream_arn, function)
    put(aws, stream_arn, [f"before-{i}" for i in range(10)])
    wait_until(lambda: count_records(aws, bucket, prefix) >= 10)
    aws["kinesis"].split_shard(StreamARN=stream_arn, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    put(aws, stream_arn, [f"after-{i}" for i in range(10)])
    wait_until(lambda: count_records(aws, bucket, prefix) >= 20)
    time.sleep(0.5)
    assert sorted(t for e in events(aws, bucket, prefix) for t in texts_of(e)) == sorted(
        [f"before-{i}" for i in range(10)] + [f"after-{i}" for i in range(10)]
    )
