"""The course's per-row design against the workbook's batched one: the same N rows, end to end.

    .venv/bin/python benchmarks/per_row_vs_batched.py [--rows 20000] [--concurrency 4]

Each design runs on a fresh local cloud of its own, on the first N rows of the synthetic data set
(helpers/synthetic.py): per-row (one POST per row, one PutRecord per request, one UpdateItem per
record per table; helpers/per_row_design.py) then batched (helpers/benchmarking.py, without
Firehose). Both check that every row reached S3 and both DynamoDB tables. Prints each design's
figures, rows per second per stage, requests per million rows, and the end-to-end ratio, with the
load average (the figures depend on what else runs on the machine).
"""

from __future__ import annotations

import argparse

import pandas as pd

from helpers import design_comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the synthetic data set (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=4, help="per-row POSTs in flight (default: %(default)s, as helpers.client)")
    parser.add_argument("--shards", type=int, help="shards of both designs' streams (default: 2 up to 120,000 rows)")
    args = parser.parse_args()
    comparison = design_comparison.compare(args.rows, concurrency=args.concurrency, shards=args.shards)
    with pd.option_context("display.float_format", "{:,.3f}".format, "display.width", 140):
        print(pd.DataFrame({design_comparison.PER_ROW: comparison.per_row, design_comparison.BATCHED: comparison.batched}))
        print()
        print(design_comparison.stage_table(comparison))
        print()
        print(design_comparison.requests_table(comparison))
    print()
    print(comparison.summary())


if __name__ == "__main__":
    main()
