"""Kinesis -> Lambda event source mapping on the local cloud: throughput, reading cost, idle CPU.

    .venv/bin/python benchmarks/kinesis_mappings.py [--records 20000] [--shards 2] [--batch-size 500]

1. Throughput: records per second from the first PutRecords until a near no-op handler (it only
   notes each batch's size in a small S3 object, so that the benchmark can tell when every record
   was delivered) has seen them all; then the mapping alone, draining the same records already in
   a stream (StartingPosition TRIM_HORIZON).
2. Reading a shard: the poller reads moto's backend in-process; the same records over HTTP with
   GetShardIterator + GetRecords, as a Kinesis consumer would, for comparison.
3. Idle CPU of the local cloud with the mapping enabled and nothing to read.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

from helpers import config
from helpers.localcloud import lifecycle

HANDLER = """
import os, uuid
import boto3
s3 = boto3.client("s3")
def handler(event, context):
    s3.put_object(Bucket=os.environ["BUCKET"], Key=f"batches/{uuid.uuid4().hex}", Body=str(len(event["Records"])))
"""


def delivered(s3, bucket: str) -> tuple[int, int]:
    """(records delivered, invocations) so far."""
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])]
    return sum(int(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys), len(keys)


def empty(s3, bucket: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


def put_all(kinesis, stream: str, count: int) -> None:
    payload = json.dumps({"InvoiceNo": "536365", "StockCode": "85123A", "Quantity": 6}).encode()
    for start in range(0, count, 500):
        kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": payload, "PartitionKey": f"key-{i}"} for i in range(start, min(start + 500, count))],
        )


def map_and_wait(lam, stream_arn: str, batch_size: int) -> str:
    mapping = lam.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="bench-no-op", StartingPosition="TRIM_HORIZON",
        BatchSize=batch_size, MaximumBatchingWindowInSeconds=1,
    )["UUID"]
    while lam.get_event_source_mapping(UUID=mapping)["State"] != "Enabled":
        time.sleep(0.02)
    return mapping


def wait_delivered(s3, bucket: str, count: int) -> int:
    delivered_count, invocations = 0, 0
    while delivered_count < count:
        time.sleep(0.1)
        delivered_count, invocations = delivered(s3, bucket)
    return invocations


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_over_http(kinesis, stream: str, shard_ids: list[str], limit: int) -> int:
    count = 0
    for shard_id in shard_ids:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while True:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=limit)
            count += len(answer["Records"])
            if not answer["Records"]:
                break
            iterator = answer["NextShardIterator"]
    return count


def read_in_process(records: int, shards: int, limit: int) -> tuple[int, float]:
    """The poller's way, on an in-memory moto backend of this process filled the same way."""
    import base64

    from moto.kinesis.models import kinesis_backends

    from helpers.localcloud.kinesis.shard_reader import shard_readers

    backend = kinesis_backends[config.LOCAL_ACCOUNT_ID]["us-east-1"]
    stream = backend.create_stream("in-process", shard_count=shards, stream_mode=None, retention_period_hours=None)
    data = base64.b64encode(b'{"InvoiceNo": "536365", "Quantity": 6}').decode()
    for i in range(records):
        stream.put_record(f"key-{i}", None, data)
    began = time.perf_counter()
    count = 0
    for reader in shard_readers(stream):
        position = reader.first_sequence_number()
        while batch := reader.read(position, limit):
            count += len(batch)
            position = batch[-1].sequence_number + 1
    return count, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    settings = dataclasses.replace(
        config.load(), target="local", local_port=lifecycle.free_port(), state_dir=Path(tempfile.mkdtemp(prefix="bench-esm-"))
    )
    status = lifecycle.up(settings)
    os.environ.update(config.client_environment(settings))
    import boto3

    try:
        lam, kinesis, s3, iam = (boto3.client(n) for n in ("lambda", "kinesis", "s3", "iam"))
        bucket = "bench-esm-batches"
        s3.create_bucket(Bucket=bucket)
        role = iam.create_role(RoleName="bench-esm", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("app.py", HANDLER)
        lam.create_function(
            FunctionName="bench-no-op", Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": archive.getvalue()}, Timeout=60, Environment={"Variables": {"BUCKET": bucket}},
        )
        lam.invoke(FunctionName="bench-no-op", Payload=b'{"Records": []}')  # warm the worker, outside the timing
        s3.delete_object(Bucket=bucket, Key=next(iter(s3.list_objects_v2(Bucket=bucket)["Contents"]))["Key"])
        kinesis.create_stream(StreamName="bench", ShardCount=args.shards)
        stream_arn = kinesis.describe_stream_summary(StreamName="bench")["StreamDescriptionSummary"]["StreamARN"]
        map_and_wait(lam, stream_arn, args.batch_size)
        began = time.perf_counter()
        put_all(kinesis, "bench", args.records)
        put_seconds = time.perf_counter() - began
        invocations = wait_delivered(s3, bucket, args.records)
        total_seconds = time.perf_counter() - began
        print(f"records {args.records} on {args.shards} shards, BatchSize {args.batch_size}, batching window 1 s")
        print(f"  PutRecords alone:            {args.records / put_seconds:9.0f} records/s ({put_seconds:.2f} s)")
        print(f"  put -> delivered end to end: {args.records / total_seconds:9.0f} records/s ({total_seconds:.2f} s)")
        print(f"  invocations {invocations}, {args.records / invocations:.0f} records per batch on average")

        empty(s3, bucket)
        kinesis.create_stream(StreamName="bench-backlog", ShardCount=args.shards)
        put_all(kinesis, "bench-backlog", args.records)
        backlog_arn = kinesis.describe_stream_summary(StreamName="bench-backlog")["StreamDescriptionSummary"]["StreamARN"]
        began = time.perf_counter()
        map_and_wait(lam, backlog_arn, args.batch_size)
        invocations = wait_delivered(s3, bucket, args.records)
        drain_seconds = time.perf_counter() - began
        print(f"  draining a backlog:          {args.records / drain_seconds:9.0f} records/s ({drain_seconds:.2f} s, "
              f"{invocations} invocations, mapping creation included)")

        shard_ids = [s["ShardId"] for s in kinesis.list_shards(StreamName="bench")["Shards"]]
        began = time.perf_counter()
        over_http = read_over_http(kinesis, "bench", shard_ids, args.batch_size)
        http_seconds = time.perf_counter() - began
        in_process, in_process_seconds = read_in_process(args.records, args.shards, args.batch_size)
        print(f"reading {over_http} records in batches of {args.batch_size}:")
        print(f"  GetShardIterator + GetRecords over HTTP: {http_seconds * 1000:8.1f} ms")
        print(f"  in-process from moto's backend (poller): {in_process_seconds * 1000:8.1f} ms ({in_process} records)")

        assert status.pid is not None
        before = cpu_seconds(status.pid)
        time.sleep(10)
        idle = cpu_seconds(status.pid) - before
        print(f"idle local cloud with the mapping enabled: {idle / 10 * 100:.2f} % of one core over 10 s")
    finally:
        lifecycle.down(settings)


if __name__ == "__main__":
    main()
