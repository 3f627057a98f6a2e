"""Redshift Serverless compute billing, minute by minute, as SYS_SERVERLESS_USAGE reports it.

What AWS documents (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html and
https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html): while queries run you
are billed for the capacity used, in RPU-hours on a per-second basis, with a minimum charge of 60
seconds; when no queries run, nothing is billed for compute; the view has one-minute granularity,
``charged_seconds`` (integer RPU-seconds) is what the bill is computed from, and a query's usage is
recorded once its transaction ends.

The model here, for a workgroup that never scales above its base capacity:

* the workgroup becomes active when a billable query starts while it is idle; that opens an
  *active period* charged from the start of that second for at least 60 seconds;
* a query that starts before the period's paid-for time runs out joins the period (the compute is
  still allocated) and extends it to the end of that query, second by second; a query starting
  later opens a new period, with a new 60-second minimum;
* a period is charged ``billed seconds x base RPUs``; the billed window is cut at minute
  boundaries into rows: ``charged_seconds`` = RPU-seconds billed within the minute,
  ``compute_seconds`` = RPU-seconds of actual query time (the union of the query intervals) within
  the minute, ``compute_capacity`` = RPUs allocated, averaged over the minute;
* minutes without billed time have no row. ``data_storage`` is the namespace's size in MB after
  the latest query of the minute; ``cross_region_transferred_data`` is 0 (no data sharing here).

Rows older than seven days are dropped, as AWS retains the view for seven days.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

MINIMUM_CHARGE_SECONDS = 60
RETENTION = dt.timedelta(days=7)
MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class BillableQuery:
    start: dt.datetime
    end: dt.datetime
    capacity: int  # base RPUs of the workgroup when the query ran
    storage_mb: int = 0


@dataclass(frozen=True)
class ActivePeriod:
    start: dt.datetime  # the second the workgroup became active
    billed_until: dt.datetime  # start + max(60 s, time until the last query ended), whole seconds
    capacity: int
    busy: tuple[tuple[dt.datetime, dt.datetime], ...]  # the union of the query intervals
    storage_mb: int

    @property
    def billed_seconds(self) -> int:
        return int((self.billed_until - self.start).total_seconds())

    @property
    def charged_seconds(self) -> int:
        return self.billed_seconds * self.capacity


@dataclass(frozen=True)
class UsageMinute:
    start_time: dt.datetime
    end_time: dt.datetime
    compute_seconds: float
    compute_capacity: float
    data_storage: int
    cross_region_transferred_data: int
    charged_seconds: int


def _floor_second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def _ceil_second(moment: dt.datetime) -> dt.datetime:
    floored = _floor_second(moment)
    return floored if floored == moment else floored + dt.timedelta(seconds=1)


def _union(intervals: list[tuple[dt.datetime, dt.datetime]]) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def active_periods(queries: list[BillableQuery]) -> list[ActivePeriod]:
    """Group queries into the periods the workgroup was active, each with its billed window."""
    periods: list[ActivePeriod] = []
    group: list[BillableQuery] = []
    start = billed_until = dt.datetime.min

    def close() -> None:
        periods.append(
            ActivePeriod(
                start=start,
                billed_until=billed_until,
                capacity=max(q.capacity for q in group),
                busy=_union([(q.start, q.end) for q in group]),
                storage_mb=max(q.storage_mb for q in group),
            )
        )

    for query in sorted(queries, key=lambda q: q.start):
        if group and query.start <= billed_until:
            group.append(query)
            billed_until = max(billed_until, _ceil_second(query.end))
            continue
        if group:
            close()
        group = [query]
        start = _floor_second(query.start)
        billed_until = max(start + dt.timedelta(seconds=MINIMUM_CHARGE_SECONDS), _ceil_second(query.end))
    if group:
        close()
    return periods


def _overlap_seconds(start: dt.datetime, end: dt.datetime, window_start: dt.datetime, window_end: dt.datetime) -> float:
    return max(0.0, (min(end, window_end) - max(start, window_start)).total_seconds())


def usage_minutes(queries: list[BillableQuery], now: dt.datetime | None = None) -> list[UsageMinute]:
    """SYS_SERVERLESS_USAGE's rows for these finished queries (times in UTC, naive)."""
    if now is not None:
        queries = [q for q in queries if q.end >= now - RETENTION]
    rows: dict[dt.datetime, dict] = {}
    for period in active_periods(queries):
        minute = period.start.replace(second=0)
        while minute < period.billed_until:
            following = minute + MINUTE
            billed = _overlap_seconds(period.start, period.billed_until, minute, following)
            busy = sum(_overlap_seconds(s, e, minute, following) for s, e in period.busy)
            row = rows.setdefault(minute, {"charged": 0, "compute": 0.0, "allocated": 0.0, "storage": 0})
            row["charged"] += int(billed) * period.capacity
            row["compute"] += busy * period.capacity
            row["allocated"] += billed * period.capacity / 60
            row["storage"] = max(row["storage"], period.storage_mb)
            minute = following
    return [
        UsageMinute(
            start_time=minute,
            end_time=minute + MINUTE,
            compute_seconds=round(row["compute"], 6),
            compute_capacity=round(row["allocated"], 6),
            data_storage=row["storage"],
            cross_region_transferred_data=0,
            charged_seconds=row["charged"],
        )
        for minute, row in sorted(rows.items())
    ]


def storage_mb(size_bytes: int) -> int:
    return math.ceil(size_bytes / (1024 * 1024))
