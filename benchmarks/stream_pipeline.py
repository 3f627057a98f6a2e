"""The stream pipeline on the local cloud: rows per second and DynamoDB requests per record.

    .venv/bin/python benchmarks/stream_pipeline.py [CSV ...]

For each file (default: the bundled sample), on a fresh local cloud with the pipeline built as
tests/integration/test_stream_pipeline.py builds it (the API with a key, three functions, two
mappings with the recommended settings):

- client -> API Gateway -> kinesis_api -> Kinesis: accepted rows per second, as the client sees it;
- through both consumers: rows per second from the first POST until write_kinesis_to_s3 and
  write_kinesis_to_dynamodb have both logged every record (this includes the 2 s batching window);
- DynamoDB writes and reads per record, and the consumers' summed invocation durations (from
  their REPORT lines), which show where the time goes.

Figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import tempfile
import uuid
from pathlib import Path

from helpers import aws, config, data
from helpers.localcloud import lifecycle

sys.path.insert(0, str(config.REPO_ROOT))  # the pipeline is built as its integration test builds it
from tests.integration import test_stream_pipeline as pipeline  # noqa: E402


def report_durations(built: pipeline.Pipeline) -> str:
    logs = aws.client("logs")
    parts = []
    for module in pipeline.CONSUMERS:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{built.function(module)}", filterPattern='"REPORT RequestId"'
        )
        durations = [float(m.group(1)) for page in pages for e in page["events"] if (m := re.search(r"\tDuration: ([\d.]+) ms", e["message"]))]
        parts.append(f"{module}: {len(durations)} invocations, {sum(durations) / 1000:.1f} s in all")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="*", type=Path, help="invoice CSV files (default: the bundled sample)")
    args = parser.parse_args()
    files = args.csv or [data.sample_path()]
    s = dataclasses.replace(
        config.load(), target="local", local_port=lifecycle.free_port(), state_dir=Path(tempfile.mkdtemp(prefix="bench-stream-"))
    )
    lifecycle.up(s)
    os.environ.update(config.client_environment(s))
    try:
        for path in files:
            with pipeline.pipeline_for(s, uuid.uuid4().hex[:6]) as built:
                run = pipeline.stream_file(built, path)
                print(run.figures(built, path.name).strip())
                print("  " + report_durations(built))
    finally:
        lifecycle.down(s)


if __name__ == "__main__":
    main()
