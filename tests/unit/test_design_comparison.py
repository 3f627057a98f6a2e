"""The comparison of the two stream designs (helpers/design_comparison.py) and the `make run`
timer (benchmarks/make_run.py): the pure parts, on hand-made figures."""

from __future__ import annotations

import importlib.util

import pytest

from helpers import config, design_comparison


def figures(seconds: dict[str, float], rows: int = 1000, writes: float = 1.0, reads: float = 0.0) -> dict[str, float]:
    out = {"rows": float(rows), "dynamodb_writes_per_record": writes, "dynamodb_reads_per_record": reads}
    for key, value in seconds.items():
        out[f"{key}_seconds"], out[f"{key}_rows_per_s"] = value, rows / value
    return out


@pytest.fixture
def comparison():
    per_row = figures({"client": 50, "s3": 50, "dynamodb": 60, "end_to_end": 60}, writes=1.7)
    batched = figures({"client": 0.5, "s3": 1.5, "dynamodb": 2.0, "end_to_end": 2.0}, writes=0.1, reads=0.05)
    return design_comparison.Comparison(1000, per_row, batched, "1.00 1.00 1.00", "2.00 1.00 1.00")


def test_the_ratio_is_end_to_end_time(comparison):
    assert comparison.ratio == 30
    assert "batched is 30× faster" in comparison.summary()


def test_stage_table(comparison):
    table = design_comparison.stage_table(comparison)
    assert list(table.index) == [label for label, _ in design_comparison.STAGES]
    assert table.loc["client → API → Kinesis", "batched ÷ per-row"] == pytest.approx(100)
    assert table.loc["end to end", design_comparison.PER_ROW] == pytest.approx(1000 / 60)


def test_requests_per_million_rows(comparison):
    per_row = design_comparison.requests_per_million_rows(comparison.per_row, per_row=True)
    batched = design_comparison.requests_per_million_rows(comparison.batched, per_row=False)
    assert per_row == {"API Gateway requests": 1e6, "Lambda invocations": 1e6 + 2e4, "DynamoDB writes": 1.7e6, "DynamoDB reads": 0}
    assert batched["API Gateway requests"] == 2000 and batched["Lambda invocations"] == 2000 + 4000
    # $3.50 per million API requests, $0.20 per million invocations, $0.625 per million write units
    assert design_comparison.request_charges(per_row) == pytest.approx(3.5 + 0.2 * 1.02 + 0.625 * 1.7)


def test_requests_table_has_both_designs(comparison):
    table = design_comparison.requests_table(comparison)
    assert list(table.columns) == [design_comparison.PER_ROW, design_comparison.BATCHED]
    assert table.loc["request charges, $ (at least)"].is_monotonic_decreasing


def test_chart_is_saved_as_png(comparison, tmp_path):
    path = tmp_path / "12_per_row_vs_batched.png"
    figure = design_comparison.chart(comparison, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "30× faster" in figure.axes[0].get_title()


def test_make_run_reads_the_runners_summary():
    spec = importlib.util.spec_from_file_location("make_run", config.REPO_ROOT / "benchmarks" / "make_run.py")
    make_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_run)
    output = (
        "running 00_choose_target.ipynb ...\n  00_choose_target.ipynb  passed   3.2 s\n"
        "\nnotebook   status   duration\n00_choose_target.ipynb                   passed       3.2 s\n"
        "01_explore_data.ipynb                    failed      12.5 s  In [3] (cell 4): KeyError: 'x'\n"
        "02_iam_roles.ipynb                       skipped      0.0 s  an earlier notebook failed\n"
    )
    assert make_run.parse_durations(output) == [
        ("00_choose_target.ipynb", "passed", 3.2), ("01_explore_data.ipynb", "failed", 12.5), ("02_iam_roles.ipynb", "skipped", 0.0),
    ]  # fmt: skip
