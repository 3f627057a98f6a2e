"""COPY from S3 and Firehose delivery into the local warehouse: throughput and latency.

    .venv/bin/python benchmarks/firehose_copy.py [--runs 3]

1. COPY throughput: the bundled sample (5,000 invoice lines) as newline-delimited JSON events in
   S3, loaded with ``COPY ... JSON 'auto ignorecase'`` through the Redshift Data API; rows per
   second from ExecuteStatement to FINISHED (median of the runs). The same for the sample as CSV,
   and for the real December 2010 slice (28,492 lines, ../shared/data) when it is present.
2. Firehose end-to-end latency: a Kinesis -> Firehose -> Redshift stream with a 1 s buffer
   interval; the time from PutRecords of 50 events until the rows are visible to a SELECT
   (median of the runs). Expected: the interval, plus up to one poll of the shard (0.1 s), plus the
   COPY, plus the client's own polling.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from helpers import client, config, data
from helpers.localcloud import lifecycle

WORKGROUP = "bench"
BUCKET = "bench-bucket"
ROLE = "arn:aws:iam::123456789012:role/bench"
REAL_SLICE = config.REPO_ROOT.parent / "shared" / "data" / "online_retail_2010-12.csv"
DDL = """create table {name} (eventid varchar(64), invoiceno varchar(10), stockcode varchar(20), description varchar(256),
    quantity integer, invoicedate timestamp, unitprice decimal(10, 2), customerid varchar(10), country varchar(40))"""


class Warehouse:
    def __init__(self, boto3, region: str) -> None:
        rs = boto3.client("redshift-serverless", region_name=region)
        self.secret = rs.create_namespace(namespaceName=WORKGROUP, manageAdminPassword=True)["namespace"]["adminPasswordSecretArn"]
        rs.create_workgroup(workgroupName=WORKGROUP, namespaceName=WORKGROUP, baseCapacity=8)
        while rs.get_workgroup(workgroupName=WORKGROUP)["workgroup"]["status"] != "AVAILABLE":
            time.sleep(0.1)
        self.rd = boto3.client("redshift-data", region_name=region)

    def run(self, sql: str, poll: float = 0.01) -> dict:
        statement_id = self.rd.execute_statement(WorkgroupName=WORKGROUP, Database="dev", SecretArn=self.secret, Sql=sql)["Id"]
        while True:
            described = self.rd.describe_statement(Id=statement_id)
            if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                if described["Status"] != "FINISHED":
                    raise RuntimeError(described.get("Error"))
                return described
            time.sleep(poll)

    def count(self, table: str) -> int:
        described = self.run(f"select count(*) from {table}")
        return self.rd.get_statement_result(Id=described["Id"])["Records"][0][0]["longValue"]


def time_copy(warehouse: Warehouse, table: str, copy_sql: str, runs: int) -> tuple[float, int]:
    seconds = []
    rows = 0
    for run in range(runs):
        warehouse.run(f"drop table if exists {table}")
        warehouse.run(DDL.format(name=table))
        started = time.perf_counter()
        rows = warehouse.run(copy_sql)["ResultRows"]
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = dataclasses.replace(
        config.load(), target="local", local_port=lifecycle.free_port(), state_dir=Path(tempfile.mkdtemp(prefix="bench-firehose-"))
    )
    lifecycle.up(settings)
    os.environ.update(config.client_environment(settings))
    import boto3

    try:
        s3 = boto3.client("s3", region_name=settings.region)
        s3.create_bucket(Bucket=BUCKET)
        warehouse = Warehouse(boto3, settings.region)
        events = client.to_events(data.load_invoices(data.sample_path()), data.SAMPLE_FILE)
        s3.put_object(Bucket=BUCKET, Key="json/sample.json", Body="".join(json.dumps(e) + "\n" for e in events).encode())
        s3.put_object(Bucket=BUCKET, Key="csv/sample.csv", Body=data.sample_path().read_bytes())

        print("1. COPY throughput (Data API ExecuteStatement to FINISHED, median of", args.runs, "runs)")
        median, rows = time_copy(warehouse, "json_copy", f"copy json_copy from 's3://{BUCKET}/json/' iam_role default json 'auto ignorecase'", args.runs)
        print(f"   sample as JSON events: {rows:,} rows in {median:.3f} s = {rows / median:,.0f} rows/s")
        csv_columns = "invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country"
        median, rows = time_copy(
            warehouse, "csv_copy",
            f"copy csv_copy ({csv_columns}) from 's3://{BUCKET}/csv/' iam_role default csv ignoreheader 1 timeformat 'auto' acceptinvchars",
            args.runs,
        )
        print(f"   sample as CSV:         {rows:,} rows in {median:.3f} s = {rows / median:,.0f} rows/s")
        if REAL_SLICE.exists():
            real = client.to_events(data.load_invoices(REAL_SLICE), REAL_SLICE.name)
            s3.put_object(Bucket=BUCKET, Key="real/dec2010.json", Body="".join(json.dumps(e) + "\n" for e in real).encode())
            median, rows = time_copy(warehouse, "real_copy", f"copy real_copy from 's3://{BUCKET}/real/' iam_role default json 'auto ignorecase'", args.runs)
            print(f"   Dec 2010 slice, JSON:  {rows:,} rows in {median:.3f} s = {rows / median:,.0f} rows/s")

        print("2. Firehose Kinesis -> Redshift, 1 s buffer interval: PutRecords to rows visible")
        kinesis, firehose = boto3.client("kinesis", region_name=settings.region), boto3.client("firehose", region_name=settings.region)
        kinesis.create_stream(StreamName="bench-stream", ShardCount=1)
        stream_arn = kinesis.describe_stream(StreamName="bench-stream")["StreamDescription"]["StreamARN"]
        warehouse.run("create user firehose_user password 'Firehose1234'")
        warehouse.run(DDL.format(name="delivered"))
        firehose.create_delivery_stream(
            DeliveryStreamName="bench-firehose",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
            RedshiftDestinationConfiguration={
                "RoleARN": ROLE,
                "ClusterJDBCURL": f"jdbc:redshift://{WORKGROUP}.123456789012.{settings.region}.redshift-serverless.amazonaws.com:5439/dev",
                "CopyCommand": {"DataTableName": "delivered", "CopyOptions": "json 'auto ignorecase'"},
                "Username": "firehose_user",
                "Password": "Firehose1234",
                "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}", "Prefix": "firehose/",
                                    "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 1}},
            },
        )
        while firehose.describe_delivery_stream(DeliveryStreamName="bench-firehose")["DeliveryStreamDescription"]["DeliveryStreamStatus"] != "ACTIVE":
            time.sleep(0.1)
        latencies = []
        for run in range(args.runs):
            batch = events[run * 50:(run + 1) * 50]
            expected = warehouse.count("delivered") + len(batch)
            started = time.perf_counter()
            kinesis.put_records(StreamName="bench-stream", Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["InvoiceNo"]} for e in batch])
            while warehouse.count("delivered") < expected:
                time.sleep(0.05)
            latencies.append(time.perf_counter() - started)
        print(f"   median {statistics.median(latencies):.2f} s (runs: {', '.join(f'{s:.2f}' for s in latencies)})")
    finally:
        lifecycle.down(settings)


if __name__ == "__main__":
    main()
