"""The stream consumers' event source mapping settings, and the queue that catches what they give up on.

Both consumers (``write_kinesis_to_s3``, ``write_kinesis_to_dynamodb``) read the ``api-data`` stream
through a Lambda event source mapping. These are the settings the workbook recommends, with why;
see "Using AWS Lambda with Amazon Kinesis" and "Configuring partial batch response with Kinesis
Data Streams and Lambda" in the Lambda Developer Guide.
"""

from __future__ import annotations

from typing import Any

from helpers import aws, config

RECOMMENDED_MAPPING: dict[str, Any] = {
    # Up to 500 records per invocation (Kinesis allows 10,000). The DynamoDB consumer writes once
    # per invoice and customer per batch, and the S3 consumer once per batch: bigger batches mean
    # fewer writes per record and fewer, larger S3 objects, far below Lambda's 6 MB payload limit.
    "BatchSize": 500,
    # Wait up to 2 s to fill a batch when traffic is light: fewer tiny invocations and objects,
    # for at most 2 s more latency.
    "MaximumBatchingWindowInSeconds": 2,
    # Read the stream from its oldest record: events sent before the mapping existed are not skipped.
    "StartingPosition": "TRIM_HORIZON",
    # The handlers report the records they could not process (batchItemFailures); without this
    # response type Lambda would ignore that list and count the batch as a success.
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    # On a failed invocation, split the batch in two and retry each half: a bad record ends up
    # alone, and the good records around it get through.
    "BisectBatchOnFunctionError": True,
    # Retries are bounded: the default (-1) retries until the record expires from the stream,
    # blocking its shard for up to the retention period.
    "MaximumRetryAttempts": 3,
    # -1 (the default): no age limit. Retries are already bounded, and a learner who creates the
    # mapping hours after streaming must not see old records discarded.
    "MaximumRecordAgeInSeconds": -1,
    # One concurrent batch per shard keeps the simplest ordering guarantee. (Up to 10 would still
    # keep the records of one partition key, hence of one invoice, in order.)
    "ParallelizationFactor": 1,
}

# SQS keeps messages 4 days by default; a failure record is worth keeping the maximum, 14 days.
FAILURE_QUEUE_RETENTION_S = 14 * 24 * 3600


def failure_queue_name(function_name: str) -> str:
    """One on-failure queue per consumer, so that a failure record says which consumer gave up."""
    return f"{function_name}-failures"


def mapping_settings(failure_queue_arn: str) -> dict[str, Any]:
    """The recommended settings plus the on-failure destination (the metadata of the records that
    failed every retry: shard, sequence numbers, arrival times, not the records themselves)."""
    return {**RECOMMENDED_MAPPING, "DestinationConfig": {"OnFailure": {"Destination": failure_queue_arn}}}


def ensure_failure_queue(function_name: str) -> str:
    """Create the consumer's on-failure queue if needed; return its ARN. Idempotent."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(
        QueueName=failure_queue_name(function_name),
        Attributes={"MessageRetentionPeriod": str(FAILURE_QUEUE_RETENTION_S)},
        tags=config.TAGS,
    )["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
