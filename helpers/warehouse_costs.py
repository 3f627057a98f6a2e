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

from collections.abc import Iterable
from pathlib import Path

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
