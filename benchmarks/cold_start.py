"""Local cloud cold start: from `up` (new process) to a healthy answer, and `down`.

    .venv/bin/python benchmarks/cold_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from helpers import config
from helpers.localcloud import lifecycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    starts, stops = [], []
    with tempfile.TemporaryDirectory() as state:
        s = dataclasses.replace(config.load(), target="local", local_port=lifecycle.free_port(), state_dir=Path(state))
        for _ in range(args.runs):
            status = lifecycle.up(s)
            starts.append(status.seconds_to_healthy)
            began = time.perf_counter()
            lifecycle.down(s)
            stops.append(time.perf_counter() - began)
    print(f"cold start to healthy over {args.runs} runs: median {statistics.median(starts):.2f} s, "
          f"max {max(starts):.2f} s; down: median {statistics.median(stops):.2f} s")


if __name__ == "__main__":
    main()
