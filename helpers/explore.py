"""What notebook 01 shows about the invoice lines: a data-quality table and two charts.

Pure functions of a DataFrame from ``helpers.data.load_invoices``. Charts are drawn on
``matplotlib.figure.Figure`` objects (no pyplot state, so they work under any backend, Agg included),
saved as PNG files in ``config.FIGURES_DIR`` and returned for display.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from helpers import config
from helpers.data import is_cancellation, line_revenue

POUNDS = FuncFormatter(lambda value, _: f"£{value:,.0f}")
FREQUENCIES = {"D": "day", "W": "week", "MS": "month"}
PERIOD_LABELS = {
    "D": "day",
    "W": "week, ending on Sunday (the first and last weeks may be partial)",
    "MS": "month (the first and last months may be partial)",
}


def quality_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The data's traits that a pipeline must handle, as counts and shares of all lines."""
    rows = len(frame)
    cancellation = is_cancellation(frame)
    negative = frame["Quantity"] < 0
    description = frame["Description"].fillna("")
    measures = [
        ("lines", rows, "invoice lines (rows)"),
        ("invoices", frame["InvoiceNo"].nunique(), "distinct InvoiceNo"),
        ("customers", frame["CustomerID"].nunique(), "distinct CustomerID"),
        ("countries", frame["Country"].nunique(), "distinct Country"),
        ("lines without CustomerID", int(frame["CustomerID"].isna().sum()), "blank: no customer to attach them to"),
        ("cancellation lines", int(cancellation.sum()), "InvoiceNo starts with C"),
        ("lines with negative Quantity", int(negative.sum()), "cancellations and stock adjustments"),
        ("negative Quantity outside cancellations", int((negative & ~cancellation).sum()), "stock adjustments"),
        ("exact duplicate lines", int(frame.duplicated().sum()), "copies of an earlier identical line"),
        (
            "repeated StockCode in an invoice",
            int(frame.duplicated(["InvoiceNo", "StockCode"]).sum()),
            "lines whose product already appears in the invoice",
        ),
        ("lines without Description", int(frame["Description"].isna().sum()), "blank product name"),
        ("lines with non-ASCII Description", int((~description.map(str.isascii)).sum()), "accented letters"),
    ]
    table = pd.DataFrame(measures, columns=["measure", "value", "meaning"]).set_index("measure")
    table.insert(1, "share of lines", [value / rows if rows else float("nan") for value in table["value"]])
    table.loc[["lines", "invoices", "customers", "countries"], "share of lines"] = float("nan")
    dates = pd.DataFrame(
        {"value": [frame["InvoiceDate"].min(), frame["InvoiceDate"].max()], "meaning": ["earliest line", "latest line"]},
        index=pd.Index(["first InvoiceDate", "last InvoiceDate"], name="measure"),
    )
    return pd.concat([table.astype({"value": object}), dates])


def revenue_over_time(frame: pd.DataFrame, freq: str = "W") -> pd.DataFrame:
    """Sales, cancellations and net revenue (£) per period (``D`` day, ``W`` week, ``MS`` month)."""
    if freq not in FREQUENCIES:
        raise ValueError(f"freq must be one of {', '.join(FREQUENCIES)}, not {freq!r}")
    revenue = line_revenue(frame)
    cancelled = is_cancellation(frame)
    table = pd.DataFrame(
        {
            "period": frame["InvoiceDate"],
            "sales": revenue.where(~cancelled, 0.0),
            "cancellations": -revenue.where(cancelled, 0.0),
            "net": revenue,
        }
    )
    return table.groupby(pd.Grouper(key="period", freq=freq)).sum()


def revenue_by_country(frame: pd.DataFrame) -> pd.Series:
    """Net revenue (£) per country, largest first."""
    return line_revenue(frame).groupby(frame["Country"]).sum().sort_values(ascending=False)


def plot_sales_over_time(frame: pd.DataFrame, freq: str = "W", path: Path | None = None) -> Figure:
    """Line chart of sales and cancellations per period, saved as PNG (default: 01_sales_over_time.png)."""
    table = revenue_over_time(frame, freq)
    unit = FREQUENCIES[freq]
    figure = Figure(figsize=(10, 4.8), layout="constrained")
    axes = figure.subplots()
    marker = "o" if len(table) <= 60 else None  # few periods: show where the points are
    axes.plot(table.index, table["net"], color="tab:blue", linewidth=2, marker=marker, label="net revenue (sales − cancellations)")
    axes.plot(table.index, table["cancellations"], color="tab:red", linewidth=1.2, marker=marker, label="cancelled")
    axes.fill_between(table.index, table["net"], color="tab:blue", alpha=0.12)
    axes.set_title(f"Revenue per {unit}, {_span(frame)}")
    axes.set_xlabel(PERIOD_LABELS[freq])
    axes.set_ylabel(f"revenue per {unit} (£)")
    axes.yaxis.set_major_formatter(POUNDS)
    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if table["net"].min() >= 0:
        axes.set_ylim(bottom=0)
    else:  # a period where cancellations exceed sales
        axes.axhline(0, color="black", linewidth=0.8)
    axes.grid(axis="y", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=2, frameon=False)  # below the chart: never over the data
    return _save(figure, path or config.FIGURES_DIR / "01_sales_over_time.png")


def plot_revenue_by_country(
    frame: pd.DataFrame, top: int = 10, exclude: tuple[str, ...] = (), path: Path | None = None
) -> Figure:
    """Horizontal bars of the ``top`` countries by net revenue, each labelled with its £ and share.

    ``exclude`` leaves countries out (e.g. the dominant United Kingdom, to compare the others);
    shares stay shares of the total of all countries.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    revenue = revenue_by_country(frame)
    total = revenue.sum()
    shown = revenue.drop(list(exclude), errors="ignore").head(top)[::-1]  # largest at the top
    figure = Figure(figsize=(10, 0.45 * len(shown) + 1.6), layout="constrained")
    axes = figure.subplots()
    bars = axes.barh(shown.index, shown.to_numpy(), color="tab:blue")
    axes.bar_label(bars, labels=[f" £{v:,.0f} ({v / total:.1%})" for v in shown], fontsize=9)
    left_out = f", without {', '.join(exclude)}" if exclude else ""
    axes.set_title(f"Net revenue by country: top {len(shown)}{left_out}, {_span(frame)}")
    axes.set_xlabel("net revenue (£)")
    axes.xaxis.set_major_formatter(POUNDS)
    axes.set_xlim(right=shown.max() * 1.3 if len(shown) and shown.max() > 0 else None)
    axes.grid(axis="x", alpha=0.3)
    name = "_without_" + "_".join(country.lower().replace(" ", "_") for country in exclude) if exclude else ""
    return _save(figure, path or config.FIGURES_DIR / f"01_revenue_by_country{name}.png")


def _span(frame: pd.DataFrame) -> str:
    first, last = frame["InvoiceDate"].min(), frame["InvoiceDate"].max()
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def _save(figure: Figure, path: Path) -> Figure:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return figure
