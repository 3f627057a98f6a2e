"""Notebook 01's data-quality table and charts, and the notebook's own shape."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers import config, data, explore

NOTEBOOK = config.REPO_ROOT / "notebooks" / "01_explore_data.ipynb"


def invoice_lines(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=data.COLUMNS)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    return frame.astype(data.DTYPES)


@pytest.fixture
def lines() -> pd.DataFrame:
    """Eight lines with known quirks: a duplicate, a repeated product, a cancellation, an adjustment."""
    return invoice_lines(
        [
            ("600000", "10001", "CAFÉ MUG", 2, "2010-12-01 09:00", 2.5, "20001", "United Kingdom"),
            ("600000", "10001", "CAFÉ MUG", 2, "2010-12-01 09:00", 2.5, "20001", "United Kingdom"),  # exact duplicate
            ("600000", "10001", "CAFÉ MUG", 5, "2010-12-01 09:00", 2.5, "20001", "United Kingdom"),  # repeated product
            ("600001", "10002", "TEA TOWEL ", 1, "2010-12-08 10:00", 1000.0, None, "United Kingdom"),
            ("C600002", "10001", "CAFÉ MUG", -2, "2010-12-09 11:00", 2.5, "20001", "United Kingdom"),
            ("600003", "10003", None, -4, "2010-12-09 12:00", 0.0, None, "United Kingdom"),  # stock adjustment
            ("600004", "10004", "LANTERN", 10, "2010-12-13 13:00", 3.0, "20002", "France"),
            ("600005", "10005", "LANTERN", 1, "2010-12-14 14:00", 7.0, "20003", "EIRE"),
        ]
    )


def test_quality_summary_counts(lines):
    summary = explore.quality_summary(lines)
    value = summary["value"]
    assert value["lines"] == 8
    assert value["invoices"] == 6
    assert value["customers"] == 3
    assert value["countries"] == 3
    assert value["lines without CustomerID"] == 2
    assert summary.loc["lines without CustomerID", "share of lines"] == pytest.approx(0.25)
    assert value["cancellation lines"] == 1
    assert value["lines with negative Quantity"] == 2
    assert value["negative Quantity outside cancellations"] == 1
    assert value["exact duplicate lines"] == 1
    assert value["repeated StockCode in an invoice"] == 2
    assert value["lines without Description"] == 1
    assert value["lines with non-ASCII Description"] == 4
    assert value["first InvoiceDate"] == pd.Timestamp("2010-12-01 09:00")
    assert value["last InvoiceDate"] == pd.Timestamp("2010-12-14 14:00")
    assert pd.isna(summary.loc["lines", "share of lines"])


def test_revenue_over_time_per_week(lines):
    weeks = explore.revenue_over_time(lines, "W")
    assert list(weeks.columns) == ["sales", "cancellations", "net"]
    # Weeks end on Sunday: 5, 12 and 19 December 2010.
    assert list(weeks.index) == list(pd.to_datetime(["2010-12-05", "2010-12-12", "2010-12-19"]))
    assert weeks["sales"].tolist() == pytest.approx([22.5, 1000.0, 37.0])
    assert weeks["cancellations"].tolist() == pytest.approx([0, 5.0, 0])
    assert (weeks["net"] == weeks["sales"] - weeks["cancellations"]).all()
    assert weeks["net"].sum() == pytest.approx(data.line_revenue(lines).sum())


def test_revenue_over_time_rejects_other_periods(lines):
    with pytest.raises(ValueError, match="freq must be one of D, W, MS"):
        explore.revenue_over_time(lines, "Q")


def test_revenue_by_country_largest_first(lines):
    revenue = explore.revenue_by_country(lines)
    assert list(revenue.index) == ["United Kingdom", "France", "EIRE"]
    assert revenue["United Kingdom"] == pytest.approx(1017.5)


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sales_chart_is_labelled_and_saved(tmp_path, monkeypatch, lines):
    monkeypatch.setattr(config, "FIGURES_DIR", tmp_path / "figures")
    figure = explore.plot_sales_over_time(lines, freq="D")
    path = tmp_path / "figures" / "01_sales_over_time.png"
    assert is_png(path)
    axes = figure.axes[0]
    assert axes.get_title() == "Revenue per day, 1 Dec 2010 – 14 Dec 2010"
    assert axes.get_ylabel() == "revenue per day (£)"
    assert axes.yaxis.get_major_formatter()(1234567, 0) == "£1,234,567"
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["net revenue (sales − cancellations)", "cancelled"]
    assert any(line.get_ydata()[0] == 0 for line in axes.get_lines()[2:])  # a zero line: 9 Dec nets below zero


def test_country_chart_bars_and_labels(tmp_path, monkeypatch, lines):
    monkeypatch.setattr(config, "FIGURES_DIR", tmp_path / "figures")
    figure = explore.plot_revenue_by_country(lines, top=2)
    assert is_png(tmp_path / "figures" / "01_revenue_by_country.png")
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["France", "United Kingdom"]  # largest on top
    bar_labels = [text.get_text() for text in axes.texts]
    assert bar_labels == [" £30 (2.8%)", " £1,018 (96.5%)"]
    assert axes.get_xlabel() == "net revenue (£)"
    assert axes.xaxis.get_major_formatter()(25000, 0) == "£25,000"


def test_country_chart_without_the_uk(tmp_path, lines):
    figure = explore.plot_revenue_by_country(lines, exclude=("United Kingdom",), path=tmp_path / "c.png")
    assert is_png(tmp_path / "c.png")
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["EIRE", "France"]
    assert "without United Kingdom" in axes.get_title()


def test_country_chart_needs_a_bar(lines):
    with pytest.raises(ValueError, match="top must be at least 1"):
        explore.plot_revenue_by_country(lines, top=0)


def test_notebook_is_stored_clean_with_a_parameters_cell():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "csv_path = None" in code[0].source and "top_countries = 10" in code[0].source
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
