"""Redshift Serverless billing arithmetic (helpers.localcloud.warehouse.usage).

Billing for Amazon Redshift Serverless: https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html
(per-second metering, 60-second minimum, nothing while idle) and SYS_SERVERLESS_USAGE:
https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html (one-minute rows).
"""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.localcloud.warehouse.usage import BillableQuery, active_periods, storage_mb, usage_minutes

T0 = dt.datetime(2024, 3, 1, 10, 0, 10)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def query(start: float, end: float, capacity: int = 8, storage: int = 5) -> BillableQuery:
    return BillableQuery(at(start), at(end), capacity, storage)


def test_a_short_query_is_charged_the_60_second_minimum_at_base_capacity():
    periods = active_periods([query(0.2, 0.5)])
    assert len(periods) == 1
    assert periods[0].billed_seconds == 60
    assert periods[0].charged_seconds == 60 * 8


def test_a_long_query_is_charged_per_second_rounded_up():
    (period,) = active_periods([query(0, 90.3)])
    assert period.billed_seconds == 91
    assert period.charged_seconds == 91 * 8


def test_queries_inside_the_paid_minute_share_it():
    periods = active_periods([query(0, 1), query(20, 21), query(59, 59.5)])
    assert len(periods) == 1 and periods[0].billed_seconds == 60


def test_a_query_starting_in_the_paid_window_extends_it_second_by_second():
    (period,) = active_periods([query(0, 1), query(50, 75)])
    assert period.billed_seconds == 75


def test_after_an_idle_gap_the_next_query_pays_a_new_minimum():
    periods = active_periods([query(0, 1), query(200, 201)])
    assert [p.billed_seconds for p in periods] == [60, 60]
    assert sum(p.charged_seconds for p in periods) == 2 * 60 * 8


def test_idle_time_is_not_charged():
    rows = usage_minutes([query(0, 1), query(600, 601)])
    minutes = {row.start_time.minute for row in rows}
    assert minutes == {0, 1, 10, 11}  # two active minutes each (the window crosses a minute boundary)
    assert sum(row.charged_seconds for row in rows) == 2 * 480


def test_minute_rows_split_the_billed_window_at_minute_boundaries():
    rows = usage_minutes([query(0.5, 2.0)])  # active from 10:00:10 to 10:01:10
    assert [(r.start_time.time(), r.end_time.time()) for r in rows] == [
        (dt.time(10, 0), dt.time(10, 1)),
        (dt.time(10, 1), dt.time(10, 2)),
    ]
    assert [r.charged_seconds for r in rows] == [50 * 8, 10 * 8]
    assert sum(r.charged_seconds for r in rows) == 480
    assert rows[0].compute_capacity == pytest.approx(50 * 8 / 60)  # RPUs allocated, averaged over the minute
    assert rows[0].compute_seconds == 1.5 * 8  # RPU-seconds of actual query time
    assert rows[1].compute_seconds == 0
    assert rows[0].data_storage == 5 and rows[0].cross_region_transferred_data == 0


def test_the_course_cost_formula_on_the_rows():
    rows = usage_minutes([query(0, 1), query(300, 301)])
    rpu_hours = sum(r.charged_seconds for r in rows) / 3600
    assert round(rpu_hours * 0.375, 6) == round(2 * 480 / 3600 * 0.375, 6)


def test_capacity_is_the_base_capacity_when_the_query_ran():
    (period,) = active_periods([query(0, 1, capacity=32)])
    assert period.charged_seconds == 60 * 32


def test_usage_is_kept_seven_days():
    old = BillableQuery(at(0), at(1), 8)
    now = at(0) + dt.timedelta(days=8)
    assert usage_minutes([old], now=now) == []
    assert usage_minutes([old], now=at(0) + dt.timedelta(days=6)) != []


def test_storage_is_in_whole_megabytes():
    assert storage_mb(0) == 0
    assert storage_mb(1) == 1
    assert storage_mb(3 * 1024 * 1024) == 3
