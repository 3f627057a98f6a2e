"""The whole stream pipeline at full scale: 541,909 rows from the client to S3, DynamoDB and Redshift.

    .venv/bin/python benchmarks/full_pipeline.py              # every row of the synthetic full set
    .venv/bin/python benchmarks/full_pipeline.py --rows 20000 # the first 20,000
    .venv/bin/python benchmarks/full_pipeline.py --no-firehose

On a fresh local cloud (a free port, a temporary state directory), ``helpers.benchmarking`` builds
the batched pipeline of notebooks 02-07 under names of its own: the API with a key, kinesis_api,
the stream (enough shards for the client's pace within Kinesis's 1,000 records per second per
shard), the S3 and DynamoDB consumers with the recommended mapping settings, and Firehose loading
the warehouse table with COPY (10 s buffer interval). The client streams the rows; each sink is
watched while it fills, then checked row by row (every EventId in S3, in the invoice items and in
the warehouse; one item per invoice and per customer). Prints rows per second per stage,
end-to-end time, DynamoDB requests per record and peak memory, with the machine's load average
before and after (other work on the same cores slows every figure).
"""

from __future__ import annotations

import argparse
import os
import time

from helpers import benchmarking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="stream the first N rows (default: all 541,909)")
    parser.add_argument("--no-firehose", action="store_true", help="leave out Firehose -> Redshift")
    parser.add_argument("--shards", type=int, help="Kinesis shards (default: enough for the client's pace, 2 to 4)")
    args = parser.parse_args()
    started = time.monotonic()
    path = benchmarking.synthetic_csv()  # the full set, written once; --rows takes its first N rows
    print(f"data: {path} ({time.monotonic() - started:.1f} s to prepare); load average before: {os.getloadavg()[0]:.2f}")
    with benchmarking.benchmark_cloud("bench-full-") as settings:
        figures = benchmarking.measure_batched(args.rows, settings, firehose=not args.no_firehose, csv_path=path, shards=args.shards)
    width = max(map(len, figures))
    for name, value in figures.items():
        shown = f"{value:,.0f}" if value.is_integer() else f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
        print(f"{name:<{width}}  {shown}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
