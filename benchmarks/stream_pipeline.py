"""The stream pipeline on the local cloud: rows per second and DynamoDB requests per record.

    .venv/bin/python benchmarks/stream_pipeline.py [CSV ...]

For each file (default: the bundled sample), on a fresh local cloud with the pipeline built by
``helpers.benchmarking`` as the integration tests build it (the API with a key, three functions,
two mappings with the recommended settings):

- client -> API Gateway -> kinesis_api -> Kinesis: accepted rows per second, as the client sees it;
- through both consumers: rows per second from the first POST until write_kinesis_to_s3 and
  write_kinesis_to_dynamodb have both logged every record (this includes the 2 s batching window);
- DynamoDB writes and reads per record, and the consumers' summed invocation durations (from
  their REPORT lines), which show where the time goes.

Figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from helpers import benchmarking, data


def report_durations(built: benchmarking.Pipeline) -> str:
    figures = benchmarking.report_durations(built)
    return "; ".join(f"{module}: {figures[module]['invocations']:.0f} invocations, {figures[module]['seconds']:.1f} s in all" for module in benchmarking.CONSUMERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="*", type=Path, help="invoice CSV files (default: the bundled sample)")
    args = parser.parse_args()
    files = args.csv or [data.sample_path()]
    with benchmarking.benchmark_cloud("bench-stream-") as s:
        for path in files:
            with benchmarking.pipeline_for(s, uuid.uuid4().hex[:6]) as built:
                run = benchmarking.stream_file(built, path)
                print(run.figures(built, path.name).strip())
                print("  " + report_durations(built))


if __name__ == "__main__":
    main()
