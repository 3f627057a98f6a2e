"""Redshift Data API on the local warehouse: statement round-trip latency.

One round trip is what a notebook does for a query: ExecuteStatement, DescribeStatement until
FINISHED (polled every 10 ms), GetStatementResult. Measured for a point lookup and for an
aggregate over a table of ``--rows`` rows, on a fresh local cloud, and printed as p50/p99.

    .venv/bin/python benchmarks/redshift_data.py [--runs 200] [--rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import boto3

from helpers import benchmarking

from harness import percentile  # benchmarks/harness.py, beside this script

WORKGROUP = "bench"
POLL_SECONDS = 0.01


def round_trip(rd, secret: str, sql: str) -> float:
    began = time.perf_counter()
    statement = rd.execute_statement(WorkgroupName=WORKGROUP, Database="dev", SecretArn=secret, Sql=sql)["Id"]
    while True:
        described = rd.describe_statement(Id=statement)
        if described["Status"] == "FINISHED":
            break
        if described["Status"] in ("FAILED", "ABORTED"):
            raise RuntimeError(f"{sql!r} ended {described['Status']}: {described.get('Error')}")
        time.sleep(POLL_SECONDS)
    if described["HasResultSet"]:
        rd.get_statement_result(Id=statement)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with benchmarking.benchmark_cloud() as s:
        rs = boto3.client("redshift-serverless", region_name=s.region)
        rd = boto3.client("redshift-data", region_name=s.region)
        secret = rs.create_namespace(namespaceName=WORKGROUP, manageAdminPassword=True)["namespace"]["adminPasswordSecretArn"]
        rs.create_workgroup(workgroupName=WORKGROUP, namespaceName=WORKGROUP, baseCapacity=8)
        while rs.get_workgroup(workgroupName=WORKGROUP)["workgroup"]["status"] != "AVAILABLE":
            time.sleep(0.1)
        round_trip(rd, secret, "create table sales (invoice_no varchar(20), quantity int, unit_price decimal(10,2)) distkey(invoice_no)")
        digits = " union all ".join(f"select {n} as n" for n in range(10))
        places = " cross join ".join(f"({digits}) d{p}" for p in range(len(str(args.rows - 1))))
        number = " + ".join(f"d{p}.n * {10 ** p}" for p in range(len(str(args.rows - 1))))
        round_trip(
            rd,
            secret,
            f"insert into sales select 'INV' || ({number})::varchar, ({number}) % 12, (({number}) % 500) / 100.0 "
            f"from {places} where {number} < {args.rows}",
        )
        queries = {
            "point lookup": "select * from sales where invoice_no = 'INV42'",
            f"aggregate over {args.rows} rows": "select quantity, count(*), sum(quantity * unit_price) from sales group by 1 order by 1",
        }
        for label, sql in queries.items():
            round_trip(rd, secret, sql)  # warm
            times = [round_trip(rd, secret, sql) for _ in range(args.runs)]
            print(
                f"{label}: {args.runs} round trips, p50 {percentile(times, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(times, 0.99) * 1000:.1f} ms, mean {statistics.mean(times) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
