"""The stream path's storage, created idempotently: the Kinesis stream, the S3 bucket, the DynamoDB tables.

Each ``ensure_*`` creates the resource when it is missing and otherwise brings the settings the
workbook chose back to what they should be, so that running a notebook twice changes nothing.
``iter_records`` reads a stream back (GetShardIterator + GetRecords), for looking at what the API
put on it and for counting what the consumers still have to read.
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

from helpers import aws, config

# Server-side encryption with the AWS managed key: no key to create or pay for monthly, and no
# extra IAM permission for producers or consumers ("Permissions to use user-generated KMS keys",
# https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html).
KINESIS_MANAGED_KEY = "alias/aws/kinesis"
DEFAULT_RETENTION_HOURS = 24  # Kinesis's default; up to 168 hours costs extra per shard-hour
GET_RECORDS_LIMIT = 10_000  # records per GetRecords call (Kinesis API Reference, GetRecords)
PITR_WAIT_S = 120


# ---------------------------------------------------------------------------------------------
# Kinesis


def ensure_stream(name: str, shard_count: int, retention_hours: int = DEFAULT_RETENTION_HOURS) -> dict[str, Any]:
    """A provisioned stream with ``shard_count`` shards, encrypted, tagged; its DescribeStreamSummary.

    An existing stream keeps its shards: resharding (UpdateShardCount) is a deliberate operation
    that splits or merges shards, so a different ``shard_count`` only raises a warning.
    """
    kinesis = aws.client("kinesis")
    try:
        kinesis.create_stream(StreamName=name, ShardCount=shard_count, StreamModeDetails={"StreamMode": "PROVISIONED"})
    except kinesis.exceptions.ResourceInUseException:
        pass
    kinesis.get_waiter("stream_exists").wait(StreamName=name)
    kinesis.add_tags_to_stream(StreamName=name, Tags=config.TAGS)
    summary = _stream_summary(name)
    if summary["OpenShardCount"] != shard_count:
        warnings.warn(
            f"stream {name} already exists with {summary['OpenShardCount']} open shards; shard_count={shard_count} "
            "is not applied (reshard with UpdateShardCount, or delete the stream, if you mean it)",
            stacklevel=2,
        )
    if summary.get("EncryptionType") != "KMS":
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=KINESIS_MANAGED_KEY)
        kinesis.get_waiter("stream_exists").wait(StreamName=name)  # UPDATING until encryption is on
    current = summary["RetentionPeriodHours"]
    if current < retention_hours:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=retention_hours)
    elif current > retention_hours:
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=retention_hours)
    if current != retention_hours:
        kinesis.get_waiter("stream_exists").wait(StreamName=name)
    return _stream_summary(name)


def _stream_summary(name: str) -> dict[str, Any]:
    return aws.client("kinesis").describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def stream_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The settings of a stream worth showing, as (setting, value) rows."""
    return [
        ("name", summary["StreamName"]),
        ("ARN", summary["StreamARN"]),
        ("status", summary["StreamStatus"]),
        ("capacity mode", summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")),
        ("open shards", summary["OpenShardCount"]),
        ("retention (hours)", summary["RetentionPeriodHours"]),
        ("encryption", f"{summary.get('EncryptionType', 'NONE')} {summary.get('KeyId', '')}".strip()),
    ]


def iter_records(stream_name: str) -> Iterator[dict[str, Any]]:
    """Every record on the stream, shard by shard from the oldest (TRIM_HORIZON) to the newest.

    Each record is GetRecords's (Data, PartitionKey, SequenceNumber, ApproximateArrivalTimestamp)
    plus its ShardId. A shard is read until it reports MillisBehindLatest 0 (no newer record) or,
    for a closed shard, until it has no next iterator.
    """
    kinesis = aws.client("kinesis")
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]  # at most 1,000: far more than the workbook's
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
            for record in page["Records"]:
                yield {**record, "ShardId": shard["ShardId"]}
            iterator = page.get("NextShardIterator")
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break


def peek(stream_name: str, limit: int = 10) -> list[dict[str, Any]]:
    """The first records of the stream as rows: shard, sequence number, partition key, event."""
    rows = []
    for record in iter_records(stream_name):
        event = json.loads(record["Data"])
        rows.append(
            {
                "ShardId": record["ShardId"],
                "SequenceNumber": record["SequenceNumber"],
                "PartitionKey": record["PartitionKey"],
                "arrived": record["ApproximateArrivalTimestamp"],
                "EventId": event.get("EventId"),
                "StockCode": event.get("StockCode"),
            }
        )
        if len(rows) >= limit:
            break
    return rows


def lambda_event(stream_name: str, records: list[dict[str, Any]], role_arn: str) -> dict[str, Any]:
    """The event Lambda hands a function for these stream records (GetRecords's shape, plus ShardId).

    The shape is that of "Using AWS Lambda with Amazon Kinesis" (example event), so invoking a
    consumer with it replays a batch exactly as the event source mapping would deliver it again.
    """
    summary = _stream_summary(stream_name)
    region = summary["StreamARN"].split(":")[3]
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record["PartitionKey"],
                    "sequenceNumber": record["SequenceNumber"],
                    "data": base64.b64encode(record["Data"]).decode(),
                    "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{record['ShardId']}:{record['SequenceNumber']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role_arn,
                "awsRegion": region,
                "eventSourceARN": summary["StreamARN"],
            }
            for record in records
        ]
    }


def shard_records(stream_name: str, shard_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """The records of one shard from sequence number ``first`` to ``last``, both included."""
    kinesis = aws.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=first
    )["ShardIterator"]
    found: list[dict[str, Any]] = []
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        for record in page["Records"]:
            if int(record["SequenceNumber"]) > int(last):
                return found
            found.append({**record, "ShardId": shard_id})
        if found and found[-1]["SequenceNumber"] == last:
            return found
        iterator = page.get("NextShardIterator")
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            break
    raise LookupError(f"{shard_id} of {stream_name} has no record {last} after {first} (expired from the stream?)")


# ---------------------------------------------------------------------------------------------
# S3


def ensure_bucket(name: str, region: str) -> None:
    """A private bucket, encrypted at rest with S3-managed keys (SSE-S3), tagged.

    AWS has applied both to new buckets by default since 2023; setting them explicitly keeps the
    guarantee for a bucket created before, and states the intent.
    """
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise  # 403: the name is taken by another account, or credentials lack access
        arguments: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**arguments)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.get_waiter("bucket_exists").wait(Bucket=name)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": aws.tag_list()})


def bucket_rows(name: str) -> list[tuple[str, Any]]:
    s3 = aws.client("s3")
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    return [
        ("bucket", name),
        ("public access blocked", all(block.values())),
        ("default encryption", rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]),
        ("tags", ", ".join(f"{t['Key']}={t['Value']}" for t in s3.get_bucket_tagging(Bucket=name)["TagSet"])),
    ]


# ---------------------------------------------------------------------------------------------
# DynamoDB


def ensure_table(name: str, key: str) -> dict[str, Any]:
    """An on-demand table keyed by the string ``key``, with point-in-time recovery; its description."""
    dynamodb = aws.client("dynamodb")
    try:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=aws.tag_list(),
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    table = dynamodb.describe_table(TableName=name)["Table"]
    if [k["AttributeName"] for k in table["KeySchema"]] != [key]:
        raise ValueError(f"table {name} exists with the key {table['KeySchema']}, not {key}: delete it first")
    dynamodb.tag_resource(ResourceArn=table["TableArn"], Tags=aws.tag_list())
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
        _enable_point_in_time_recovery(dynamodb, name)
    return table


def _enable_point_in_time_recovery(dynamodb: Any, name: str) -> None:
    """Continuous backups of a table just created are not ready at once: AWS answers
    ContinuousBackupsUnavailableException for a while, so try again (UpdateContinuousBackups,
    DynamoDB API Reference)."""
    deadline = time.monotonic() + PITR_WAIT_S
    while True:
        try:
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            return
        except dynamodb.exceptions.ContinuousBackupsUnavailableException:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)


def table_row(name: str) -> dict[str, Any]:
    """What a table is and how it is set up, as one row."""
    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=name)["Table"]
    recovery = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    return {
        "table": name,
        "key": ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in table["KeySchema"]),
        "billing": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        "point-in-time recovery": recovery.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus"),
        "deletion protection": table.get("DeletionProtectionEnabled", False),
        "status": table["TableStatus"],
    }
