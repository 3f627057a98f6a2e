"""Concurrent PutRecords on one shard keep every record they report as stored (see planes/kinesis_puts.py)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

pytestmark = pytest.mark.integration


def test_put_records_every_record_with_a_sequence_number_is_in_the_shard(local_cloud):
    # https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
    name = f"puts-{uuid.uuid4().hex[:8]}"
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name)

    def put(batch: int) -> list[str]:
        records = [{"Data": f"{batch}-{i}".encode(), "PartitionKey": "one-shard"} for i in range(250)]
        answer = boto3.session.Session().client("kinesis").put_records(StreamName=name, Records=records)
        return [r["SequenceNumber"] for r in answer["Records"]]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(put, range(16)) for n in batch]

    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")
    stored = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=10_000)["Records"]
    assert len(set(numbers)) == len(numbers) == 4000
    assert {r["SequenceNumber"] for r in stored} == set(numbers)
