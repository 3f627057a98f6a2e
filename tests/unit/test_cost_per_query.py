"""helpers.warehouse_costs.cost_per_query: SYS_SERVERLESS_USAGE's minutes shared among the statements of
SYS_QUERY_HISTORY (https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html,
https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from helpers import warehouse_costs

T0 = dt.datetime(2024, 3, 1, 10, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def usage(*minutes: tuple[int, int]) -> pd.DataFrame:
    return pd.DataFrame([{"start_time": at(60 * m), "end_time": at(60 * m + 60), "charged_seconds": c} for m, c in minutes])


def queries(*rows: tuple[int, str, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{"query_id": q, "query_type": kind, "start_time": at(s), "end_time": at(e), "query_text": f"sql {q}"}
                         for q, kind, s, e in rows])


def test_a_minute_is_shared_by_time_and_the_idle_rest_of_a_minimum_goes_to_who_woke_it():
    # Active 10:00:30 to 10:01:30: two statements in the first minute, nothing in the second.
    per_query = warehouse_costs.cost_per_query(
        usage((0, 240), (1, 240)), queries((1, "COPY", 30, 33), (2, "SELECT", 40, 41)), price_per_rpu_hour=0.375
    )
    assert per_query.loc[1, "charged_rpu_seconds"] == pytest.approx(240 * 3 / 4 + 240, rel=1e-4)
    assert per_query.loc[2, "charged_rpu_seconds"] == pytest.approx(240 / 4, rel=1e-4)
    assert per_query["charged_rpu_seconds"].sum() == pytest.approx(480)
    assert per_query.loc[1, "cost_usd"] == pytest.approx(per_query.loc[1, "charged_rpu_seconds"] / 3600 * 0.375)
    assert per_query.index[0] == 1 and per_query.loc[1, "query_type"] == "COPY"


def test_an_instant_statement_still_gets_its_minute():
    per_query = warehouse_costs.cost_per_query(usage((0, 480)), queries((7, "INSERT", 5, 5)))
    assert per_query.loc[7, "charged_rpu_seconds"] == pytest.approx(480)


def test_a_minute_with_no_statement_before_it_stays_unattributed():
    per_query = warehouse_costs.cost_per_query(usage((0, 480), (5, 480)), queries((1, "SELECT", 310, 311)))
    assert per_query.loc[-1, "charged_rpu_seconds"] == 480  # the history no longer has its statement (7 days)
    assert per_query["charged_rpu_seconds"].sum() == 960


def test_the_idle_rest_goes_to_the_statement_that_woke_the_workgroup_not_to_the_last_one():
    # 10:00:50 wakes it (paid to 10:01:50); 10:00:55 rides along; 10:01:00-10:01:50 is idle.
    per_query = warehouse_costs.cost_per_query(usage((0, 80), (1, 400)), queries((1, "COPY", 50, 52), (2, "SELECT", 55, 56)))
    assert per_query.loc[1, "charged_rpu_seconds"] == pytest.approx(80 * 2 / 3 + 400, rel=1e-4)
    assert per_query.loc[2, "charged_rpu_seconds"] == pytest.approx(80 / 3, rel=1e-4)
