"""The workbook's batched stream design against the course's per-row one: same rows, same machine.

``compare(rows)`` streams the same N synthetic rows through each design, each on a fresh local
cloud of its own (``helpers.benchmarking.benchmark_cloud``) so that neither pays for the other's
leftovers: the per-row design with ``helpers.per_row_design.measure_per_row``, the batched one with
``helpers.benchmarking.measure_batched`` (without Firehose: the course's Firehose was a managed,
already batched delivery, so both designs are compared on client -> API -> Kinesis -> S3 and
DynamoDB). Both check that every row reached every sink before they report.

``stage_table`` and ``requests_table`` turn the figures into what notebook 12 shows, ``chart``
draws them. Figures depend on the machine and what else runs on it: ``Comparison`` keeps the load
average before and after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from helpers import config

# (label, key prefix in the figures) of the stages both designs report
STAGES = (
    ("client → API → Kinesis", "client"),
    ("Kinesis → S3", "s3"),
    ("Kinesis → DynamoDB", "dynamodb"),
    ("end to end", "end_to_end"),
)
PER_ROW, BATCHED = "per-row (course)", "batched (workbook)"
# us-east-1 list prices, as notebooks 03 and 05 quote them
API_GATEWAY_PER_MILLION = 3.50  # REST API requests
LAMBDA_PER_MILLION = 0.20  # invocations (GB-seconds come on top)
DYNAMODB_WRU_PER_MILLION = 0.625  # on-demand write request units (1 KB each)
DYNAMODB_RRU_PER_MILLION = 0.125  # on-demand read request units (4 KB strongly consistent)
API_BATCH = 500  # events per POST and per PutRecords in the batched design
COURSE_CONSUMER_BATCH = 100  # the console's default BatchSize, which the course kept
WORKBOOK_CONSUMER_BATCH = 500


@dataclass
class Comparison:
    rows: int
    per_row: dict[str, float]
    batched: dict[str, float]
    load_before: str
    load_after: str

    @property
    def ratio(self) -> float:
        """How many times faster the batched design takes the rows end to end."""
        return self.per_row["end_to_end_seconds"] / self.batched["end_to_end_seconds"]

    def summary(self) -> str:
        return (
            f"{self.rows:,} rows end to end: per-row {self.per_row['end_to_end_seconds']:.1f} s "
            f"({self.per_row['end_to_end_rows_per_s']:,.0f} rows/s), batched {self.batched['end_to_end_seconds']:.1f} s "
            f"({self.batched['end_to_end_rows_per_s']:,.0f} rows/s): batched is {self.ratio:.0f}× faster "
            f"(load average {self.load_before} before, {self.load_after} after; {os.cpu_count()} cores)"
        )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "n/a"


def compare(rows: int, *, concurrency: int = 4, csv_path: Path | None = None, shards: int | None = None) -> Comparison:
    """Measure both designs on ``rows`` rows of the synthetic data set (or of ``csv_path``), on
    streams of the same ``shards`` (default: what ``measure_batched`` picks for ``rows``, 2 up to
    120,000 rows). The batched client is paced under the shards' write limit, the per-row one is
    bound by its round trips, far below one shard's limit."""
    from helpers import benchmarking, per_row_design

    csv_path = csv_path or benchmarking.synthetic_csv(rows)
    before = load_average()
    with benchmarking.benchmark_cloud("bench-per-row-") as s:
        per_row = per_row_design.measure_per_row(
            rows, s, csv_path=csv_path, concurrency=concurrency, shards=shards or per_row_design.DEFAULT_SHARDS
        )
    with benchmarking.benchmark_cloud("bench-batched-") as s:
        batched = benchmarking.measure_batched(rows, s, firehose=False, csv_path=csv_path, shards=shards)
    return Comparison(rows, per_row, batched, before, load_average())


def stage_table(comparison: Comparison) -> pd.DataFrame:
    """Rows per second of each stage (from the first POST until that stage holds every row), per design."""
    table = pd.DataFrame(
        {
            PER_ROW: [comparison.per_row[f"{key}_rows_per_s"] for _, key in STAGES],
            BATCHED: [comparison.batched[f"{key}_rows_per_s"] for _, key in STAGES],
        },
        index=[label for label, _ in STAGES],
    )
    table["batched ÷ per-row"] = table[BATCHED] / table[PER_ROW]
    table.index.name = "stage (rows/s)"
    return table


def requests_per_million_rows(figures: dict[str, float], *, per_row: bool) -> dict[str, float]:
    """Billed requests for a million rows: API Gateway requests, Lambda invocations (the API's plus
    the two consumers' at full batches), DynamoDB writes and reads (as measured)."""
    million = 1_000_000
    api_requests = million if per_row else million / API_BATCH
    consumer_batch = COURSE_CONSUMER_BATCH if per_row else WORKBOOK_CONSUMER_BATCH
    return {
        "API Gateway requests": api_requests,
        "Lambda invocations": api_requests + 2 * million / consumer_batch,
        "DynamoDB writes": figures["dynamodb_writes_per_record"] * million,
        "DynamoDB reads": figures["dynamodb_reads_per_record"] * million,
    }


def request_charges(counts: dict[str, float]) -> float:
    """Their list price in dollars, counting one write unit per write and one read unit per
    (strongly consistent) read: a floor, since an item over 1 KB costs a write unit per KB."""
    return (
        counts["API Gateway requests"] * API_GATEWAY_PER_MILLION
        + counts["Lambda invocations"] * LAMBDA_PER_MILLION
        + counts["DynamoDB writes"] * DYNAMODB_WRU_PER_MILLION
        + counts["DynamoDB reads"] * DYNAMODB_RRU_PER_MILLION
    ) / 1_000_000


def requests_table(comparison: Comparison) -> pd.DataFrame:
    """Requests, and what they would cost on AWS at least, for a million rows through each design."""
    columns = {}
    for design, figures, per_row in ((PER_ROW, comparison.per_row, True), (BATCHED, comparison.batched, False)):
        counts = requests_per_million_rows(figures, per_row=per_row)
        columns[design] = {**counts, "request charges, $ (at least)": request_charges(counts)}
    table = pd.DataFrame(columns)
    table.index.name = "per million rows"
    return table


def chart(comparison: Comparison, path: Path | None = None) -> Figure:
    """Rows per second of each stage, both designs, on a log scale, with the ratio; saved as PNG
    (default ``12_per_row_vs_batched.png`` under ``config.FIGURES_DIR``) and returned for display."""
    table = stage_table(comparison)
    figure = Figure(figsize=(10, 4.4), layout="constrained")
    axes = figure.subplots()
    positions = list(range(len(table)))
    axes.barh([p + 0.2 for p in positions], table[PER_ROW], height=0.4, label=PER_ROW, color="#d62728")
    axes.barh([p - 0.2 for p in positions], table[BATCHED], height=0.4, label=BATCHED, color="#1f77b4")
    for position, (per_row, batched, ratio) in zip(positions, table.itertuples(index=False)):
        axes.text(batched * 1.15, position - 0.2, f"{batched:,.0f} rows/s  ({ratio:,.0f}×)", va="center", fontsize=9)
        axes.text(per_row * 1.15, position + 0.2, f"{per_row:,.0f} rows/s", va="center", fontsize=9)
    axes.set_xscale("log")
    axes.set_yticks(positions, table.index)
    axes.invert_yaxis()
    axes.set_xlim(left=min(table[PER_ROW].min(), table[BATCHED].min()) / 2, right=table[BATCHED].max() * 30)
    axes.set_xlabel("rows per second, from the first POST until the stage holds every row (log scale)")
    axes.set_title(f"{comparison.rows:,} rows through each design on the local cloud: "
                   f"batched is {comparison.ratio:,.0f}× faster end to end")  # fmt: skip
    axes.legend(loc="lower right")
    path = path or config.FIGURES_DIR / "12_per_row_vs_batched.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return figure
