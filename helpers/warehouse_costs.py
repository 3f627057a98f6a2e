"""What the Redshift Serverless workgroup costs: its usage view, the course's cost query, a chart,
and what Firehose's buffer interval does to the bill.

Billing ("Billing for Amazon Redshift Serverless",
https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html): while queries run, the
workgroup's capacity is billed in RPU-hours, per second, with a 60-second minimum each time it
becomes active; idle time costs nothing for compute. SYS_SERVERLESS_USAGE
(https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html) has one row per minute
with ``charged_seconds``, the RPU-seconds billed, and ``compute_seconds``, the RPU-seconds used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers import config, warehouse

# us-east-1 list price of one RPU-hour (Redshift pricing page); check yours for another region.
PRICE_PER_RPU_HOUR = 0.375
MINIMUM_CHARGE_S = 60
SECONDS_PER_DAY = 86_400


def daily_cost_sql(price_per_rpu_hour: float = PRICE_PER_RPU_HOUR) -> str:
    """The course's cost query: RPU-seconds charged per day, in RPU-hours, times the price."""
    return (
        'select trunc(start_time) "Day", '
        f"(sum(charged_seconds)/3600::double precision) * {float(price_per_rpu_hour)} as cost_incurred "
        "from sys_serverless_usage group by 1 order by 1"
    )


def usage_by_minute() -> pd.DataFrame:
    """SYS_SERVERLESS_USAGE, oldest minute first (only the minutes with billed time have a row)."""
    return warehouse.run_sql(
        "select start_time, end_time, compute_seconds, compute_capacity, charged_seconds, data_storage "
        "from sys_serverless_usage order by start_time"
    )


def plot_usage(usage: pd.DataFrame, daily: pd.DataFrame, path: Path | None = None) -> Figure:
    """Cost per day (the course's query) beside billed and used RPU-seconds per active minute;
    saved as a PNG (``config.FIGURES_DIR/07_redshift_serverless_usage.png`` by default). Drawn on a
    ``Figure`` (no pyplot state), so it works under any backend."""
    figure = Figure(figsize=(11, 3.8), layout="constrained")
    per_day, per_minute = figure.subplots(1, 2, width_ratios=[1, 2.4])
    days = daily["day"].dt.strftime("%Y-%m-%d")
    bars = per_day.bar(days, daily["cost_incurred"], color="#4c72b0", width=0.4)
    per_day.bar_label(bars, labels=[f"${v:,.3f}" for v in daily["cost_incurred"]], padding=2)
    per_day.set_xlim(-0.8, len(daily) - 0.2)
    per_day.set_title("Cost per day (the course's query)")
    per_day.set_ylabel("US dollars")
    per_day.margins(y=0.2)
    positions = list(range(len(usage)))
    charged = per_minute.bar(positions, usage["charged_seconds"], color="#dd8452", label="charged (billed)")
    per_minute.bar(positions, usage["compute_seconds"], color="#55a868", width=0.5, label="used by queries")
    if len(usage) <= 15:  # room for a label on each bar
        labels = [f"{c:,.0f} billed\n{u:,.1f} used" for c, u in zip(usage["charged_seconds"], usage["compute_seconds"])]
        per_minute.bar_label(charged, labels=labels, padding=2, fontsize=8)
    crowded = len(usage) > 12
    per_minute.set_xticks(positions, usage["start_time"].dt.strftime("%H:%M"), rotation=45 if crowded else 0, ha="right" if crowded else "center")
    per_minute.set_title("RPU-seconds per billed minute (UTC)")
    per_minute.set_ylabel("RPU-seconds")
    per_minute.margins(y=0.25)
    per_minute.legend(loc="upper left", frameon=False)
    figure.suptitle("Redshift Serverless usage (SYS_SERVERLESS_USAGE)")
    target = path or config.FIGURES_DIR / "07_redshift_serverless_usage.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    return figure


def usage_summary(usage: pd.DataFrame, price_per_rpu_hour: float = PRICE_PER_RPU_HOUR) -> pd.Series:
    """Active minutes, RPU-seconds used and charged, and what the charged ones cost."""
    charged = float(usage["charged_seconds"].sum())
    used = float(usage["compute_seconds"].sum())
    return pd.Series(
        {
            "billed minutes (rows)": len(usage),
            "RPU-seconds used by queries": round(used, 1),
            "RPU-seconds charged": round(charged),
            "charged / used": round(charged / used, 1) if used else None,
            "cost (USD)": round(charged / 3600 * price_per_rpu_hour, 4),
        },
        dtype=object,  # each figure keeps its own format
    )


def buffer_interval_costs(
    intervals_s: Iterable[int],
    *,
    base_capacity: int = warehouse.BASE_CAPACITY_RPU,
    copy_seconds: float = 5.0,
    price_per_rpu_hour: float = PRICE_PER_RPU_HOUR,
) -> pd.DataFrame:
    """Warehouse compute per day for a steady trickle of events that never fills the size buffer,
    so that Firehose runs one COPY per buffer interval and nothing else queries the warehouse.

    Each COPY is billed at least 60 s; a COPY that starts while the previous one's paid time runs
    shares it. So a day is billed min(interval, max(60 s, COPY time)) per interval: with an interval
    of 60 s or less the workgroup never goes idle.
    """
    rows = []
    for interval in intervals_s:
        copies = SECONDS_PER_DAY / max(interval, 1)
        billed_s = copies * min(max(interval, 1), max(MINIMUM_CHARGE_S, copy_seconds))
        rows.append(
            {
                "buffer interval (s)": interval,
                "COPYs per day": round(copies),
                "billed hours per day": round(billed_s / 3600, 2),
                "RPU-hours per day": round(billed_s / 3600 * base_capacity, 1),
                "USD per day": round(billed_s / 3600 * base_capacity * price_per_rpu_hour, 2),
                "USD per 30 days": round(billed_s / 3600 * base_capacity * price_per_rpu_hour * 30, 0),
                "rows visible after at most": f"{interval} s + COPY",
            }
        )
    return pd.DataFrame(rows).set_index("buffer interval (s)")


# ---------------------------------------------------------------------------------------------
# Per query: the bill of each minute shared among the statements that caused it (notebook 11)

QUERY_HISTORY_SQL = (
    "select query_id, user_id, session_id, query_type, status, start_time, end_time, query_text "
    "from sys_query_history where status = 'success' order by start_time"
)


def query_history() -> pd.DataFrame:
    """SYS_QUERY_HISTORY's successful statements, oldest first (on AWS: the last 7 days, as visible to you)."""
    return warehouse.run_sql(QUERY_HISTORY_SQL)


def cost_per_query(usage: pd.DataFrame, queries: pd.DataFrame, price_per_rpu_hour: float = PRICE_PER_RPU_HOUR) -> pd.DataFrame:
    """Each statement's share of the charged RPU-seconds, and its cost, most expensive first.

    SYS_SERVERLESS_USAGE bills minutes, not statements, so the charge is apportioned: a minute's
    ``charged_seconds`` go to the statements that ran in it, in proportion to their time in it;
    a billed minute in which nothing ran (the rest of a 60-second minimum) goes to the statement
    that woke the workgroup last before it: the one whose minimum it pays. A minute with no
    statement before it stays unattributed (query_id -1), so that the shares add up to the bill.
    """
    starts = queries["start_time"].to_numpy("datetime64[ns]")
    ends = queries["end_time"].to_numpy("datetime64[ns]")
    ids = queries["query_id"].to_numpy()
    waker_starts, waker_ids = _wakers(queries)
    shares: dict[int, float] = defaultdict(float)
    for minute in usage.itertuples(index=False):
        window_start, window_end = np.datetime64(minute.start_time, "ns"), np.datetime64(minute.end_time, "ns")
        running = (starts < window_end) & (ends >= window_start)
        if running.any():
            seconds = (np.minimum(ends[running], window_end) - np.maximum(starts[running], window_start)) / np.timedelta64(1, "s")
            weights = seconds + 1e-6  # an instant statement still takes its share
            for query_id, weight in zip(ids[running], weights / weights.sum()):
                shares[int(query_id)] += minute.charged_seconds * weight
            continue
        woke_before = waker_starts < window_start
        owner = int(waker_ids[woke_before][-1]) if woke_before.any() else -1
        shares[owner] += float(minute.charged_seconds)
    described = queries.set_index("query_id")[["query_type", "start_time", "query_text"]]
    result = pd.DataFrame({"charged_rpu_seconds": pd.Series(dict(shares), dtype="float64")}).rename_axis("query_id")
    result = result.join(described, how="left")
    result["cost_usd"] = result["charged_rpu_seconds"] / 3600 * price_per_rpu_hour
    return result.sort_values("charged_rpu_seconds", ascending=False)


def _wakers(queries: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Start times and ids of the statements that woke the workgroup: those that started after the
    paid time of the ones before (60 seconds from a wake-up, or to the end of a longer statement)."""
    starts, ids = [], []
    paid_until = None
    for row in queries.sort_values("start_time").itertuples(index=False):
        if paid_until is None or row.start_time > paid_until:
            starts.append(row.start_time)
            ids.append(row.query_id)
            paid_until = row.start_time + pd.Timedelta(seconds=MINIMUM_CHARGE_S)
        paid_until = max(paid_until, row.end_time)
    return np.array(starts, dtype="datetime64[ns]"), np.array(ids)


def _save(figure: Figure, path: Path) -> Figure:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return figure


def plot_cost_per_day(daily: pd.DataFrame, path: Path) -> Figure:
    """The course's query as bars: dollars per day."""
    figure = Figure(figsize=(7, 3.6), layout="constrained")
    axes = figure.subplots()
    days = daily["day"].dt.strftime("%Y-%m-%d")
    bars = axes.bar(days, daily["cost_incurred"], color="#4c72b0", width=0.5)
    axes.bar_label(bars, labels=[f"${v:,.3f}" for v in daily["cost_incurred"]], padding=2)
    axes.set_xlim(-0.8, len(daily) - 0.2)
    axes.set_ylabel("US dollars")
    axes.margins(y=0.2)
    axes.set_title("Redshift Serverless compute per day (SYS_SERVERLESS_USAGE)")
    return _save(figure, path)


def plot_cost_per_query(per_query: pd.DataFrame, path: Path, top: int = 15) -> Figure:
    """The ``top`` most expensive statements, each labelled with its type and the start of its SQL."""
    shown = per_query.head(top).iloc[::-1]
    labels = [
        "unattributed" if query_id == -1 else f"{query_id} {kind}: {' '.join(str(text).split())[:48]}"
        for query_id, kind, text in zip(shown.index, shown["query_type"], shown["query_text"])
    ]
    figure = Figure(figsize=(11, 0.32 * len(shown) + 1.4), layout="constrained")
    axes = figure.subplots()
    bars = axes.barh(labels, shown["charged_rpu_seconds"], color="#dd8452")
    axes.bar_label(bars, labels=[f"${v:,.4f}" for v in shown["cost_usd"]], padding=3, fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.set_xlabel("charged RPU-seconds (apportioned)")
    axes.margins(x=0.15)
    axes.set_title(f"The {len(shown)} most expensive statements (SYS_QUERY_HISTORY x SYS_SERVERLESS_USAGE)")
    return _save(figure, path)
