"""Glue on the local cloud: how long a crawl and a trivial job run take.

    .venv/bin/python benchmarks/glue_batch.py [--records 5000] [--objects 10] [--runs 10]

Crawl: newline-delimited JSON invoices in Hive partitions (one object per hour folder), crawled
from StartCrawler until the crawler is READY again (that includes the local STOPPING pause), and
the crawl itself as GetCrawlerMetrics' LastRuntimeSeconds reports it. Job: a Python shell script
that only prints, from StartJobRun to RUNNING and to SUCCEEDED. Times are client-side, polling
every 10 ms, through boto3 and HTTP as a notebook sees them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from helpers import benchmarking

POLL_S = 0.01


def invoice(number: int) -> dict:
    return {
        "InvoiceNo": str(536365 + number // 4),
        "StockCode": f"85{number % 1000:03d}A",
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity": number % 12 + 1,
        "InvoiceDate": "2010-12-01T08:26:00",
        "UnitPrice": 2.55,
        "CustomerID": None if number % 3 == 0 else str(17850 + number % 100),
        "Country": "United Kingdom",
    }


def crawl_figures(glue, s3, records: int, objects: int) -> tuple[float, float, int]:
    s3.create_bucket(Bucket="bench-crawl")
    per_object = records // objects
    for index in range(objects):
        lines = [json.dumps(invoice(index * per_object + n)) for n in range(per_object)]
        key = f"aws-project/kinesis-stream/year=2010/month=12/day=01/hour={index:02d}/part-{index}.json"
        s3.put_object(Bucket="bench-crawl", Key=key, Body=("\n".join(lines) + "\n").encode())
    glue.create_database(DatabaseInput={"Name": "bench"})
    glue.create_crawler(
        Name="bench",
        Role="glue",
        DatabaseName="bench",
        Targets={"S3Targets": [{"Path": "s3://bench-crawl/aws-project/kinesis-stream/"}]},
    )
    began = time.perf_counter()
    glue.start_crawler(Name="bench")
    while glue.get_crawler(Name="bench")["Crawler"]["State"] != "READY":
        time.sleep(POLL_S)
    ready_s = time.perf_counter() - began
    metrics = glue.get_crawler_metrics(CrawlerNameList=["bench"])["CrawlerMetricsList"][0]
    partitions = len(glue.get_partitions(DatabaseName="bench", TableName="kinesis_stream")["Partitions"])
    return ready_s, metrics["LastRuntimeSeconds"], partitions


def job_figures(glue, s3, runs: int) -> tuple[list[float], list[float]]:
    s3.create_bucket(Bucket="bench-jobs")
    s3.put_object(Bucket="bench-jobs", Key="noop.py", Body=b"print('ok')\n")
    glue.create_job(Name="noop", Role="glue", Command={"Name": "pythonshell", "ScriptLocation": "s3://bench-jobs/noop.py"})
    to_running, to_succeeded = [], []
    for _ in range(runs):
        began = time.perf_counter()
        run_id = glue.start_job_run(JobName="noop")["JobRunId"]
        running_at = None
        while True:
            state = glue.get_job_run(JobName="noop", RunId=run_id)["JobRun"]["JobRunState"]
            if running_at is None and state != "STARTING":
                running_at = time.perf_counter()
            if state in ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"):
                assert state == "SUCCEEDED", state
                break
            time.sleep(POLL_S)
        to_running.append((running_at - began) * 1000)
        to_succeeded.append((time.perf_counter() - began) * 1000)
    return to_running, to_succeeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with benchmarking.benchmark_cloud():
        import boto3

        glue, s3 = boto3.client("glue"), boto3.client("s3")
        ready_s, crawl_s, partitions = crawl_figures(glue, s3, args.records, args.objects)
        to_running, to_succeeded = job_figures(glue, s3, args.runs)
    print(
        f"crawl of {args.records} records in {args.objects} objects ({partitions} partitions): "
        f"{crawl_s:.2f} s crawling, {ready_s:.2f} s from StartCrawler to READY"
    )
    print(
        f"trivial Python shell job over {args.runs} runs: StartJobRun to RUNNING median "
        f"{statistics.median(to_running):.0f} ms, to SUCCEEDED median {statistics.median(to_succeeded):.0f} ms "
        f"(max {max(to_succeeded):.0f} ms)"
    )


if __name__ == "__main__":
    main()
