"""Pure parts of notebook 11's load comparison (helpers.load_costs).

Billing rule: "Billing for Amazon Redshift Serverless"
(https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html): per second at the base
capacity, at least 60 seconds each time the workgroup becomes active. Buffering hints of a Redshift
destination: "Understand buffering hints" (https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html),
0-900 s and 1-128 MiB.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helpers import config, load_costs

T0 = dt.datetime(2024, 3, 1, 10, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_methods_take_their_names_from_the_configured_ones():
    names = config.Names()
    methods = load_costs.load_methods([0, 60])
    assert [m.key for m in methods] == ["insert", "firehose_0s", "firehose_60s", "glue"]
    assert methods[2].stream == f"{names.firehose_stream}-buffer-60" and methods[2].buffer_interval_s == 60
    assert methods[2].table == f"public.{names.redshift_stream_table}_by_firehose_60s"
    assert [m.stream for m in methods if m.stream] == [f"{names.firehose_stream}-buffer-0", f"{names.firehose_stream}-buffer-60"]


@pytest.mark.parametrize("interval", [-1, 901])
def test_buffer_intervals_outside_what_a_redshift_destination_takes_are_refused(interval):
    with pytest.raises(ValueError, match="0-900 s"):
        load_costs.load_methods([interval])


def test_firehose_grants_cover_its_tables_only():
    grants = load_costs.firehose_grants(load_costs.load_methods([30]), "firehose_user")
    assert grants[0] == "grant usage on schema public to firehose_user"
    assert [g.split()[4] for g in grants[1:]] == [f"public.{config.Names().redshift_stream_table}_by_firehose_30s"]


def test_a_per_row_insert_binds_values_and_writes_missing_ones_as_null():
    event = {"EventId": "s.csv:7", "InvoiceNo": "536365", "StockCode": "85123A", "Description": None, "Quantity": -2,
             "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": 2.55, "CustomerID": None, "Country": "France"}
    sql, parameters = load_costs.insert_statement("public.t", event)
    assert sql.startswith("insert into public.t (eventid, invoiceno, stockcode, description, quantity")
    assert "values (:eventid, :invoiceno, :stockcode, null, :quantity::integer, :invoicedate::timestamp, " \
           ":unitprice::decimal(12,3), null, :country)" in sql
    # The Data API refuses empty parameter values (SqlParameter.value: at least 1 character).
    assert parameters == {"eventid": "s.csv:7", "invoiceno": "536365", "stockcode": "85123A", "quantity": "-2",
                          "invoicedate": "2010-12-01 08:26:00", "unitprice": "2.55", "country": "France"}


def history(*rows: tuple[int, int, str, str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"query_id": q, "session_id": s, "user_id": 100, "query_type": kind, "query_text": text,
          "start_time": at(start), "end_time": at(end)} for q, s, kind, text, start, end in rows]
    )


def test_a_method_owns_every_statement_of_the_sessions_that_loaded_its_table():
    frame = history(
        (1, 10, "DDL", "create temp table stage (a int)", 0, 0.1),
        (2, 10, "COPY", "copy stage from 's3://b/k'", 0.1, 0.5),
        (3, 10, "INSERT", "insert into public.lines_by_glue select * from stage", 0.5, 0.6),
        (4, 11, "SELECT", "select count(*) from public.lines_by_glue", 1, 1.1),  # a poll: not a load
        (5, 12, "COPY", "COPY public.lines_by_firehose_60s (a) FROM 's3://b/m' MANIFEST", 2, 2.2),
        (6, 13, "INSERT", "insert into public.lines values (1)", 3, 3.1),
    )
    assert load_costs.method_statements(frame, "public.lines_by_glue")["query_id"].tolist() == [1, 2, 3]
    assert load_costs.method_statements(frame, "public.lines_by_firehose_0s").empty  # not a prefix match
    assert load_costs.method_statements(frame, "public.lines_by_firehose_60s")["query_id"].tolist() == [5]
    assert load_costs.method_statements(frame, "public.lines")["query_id"].tolist() == [6]


def test_one_short_statement_is_charged_the_60_second_minimum():
    assert load_costs.charge([(at(0), at(0.2))], 8) == {"wake-ups": 1, "RPU-seconds used": pytest.approx(1.6), "RPU-seconds charged": 480.0}


def test_statements_within_a_paid_minute_share_it_and_a_later_one_pays_again():
    shared = load_costs.charge([(at(0), at(0.1)), (at(30), at(30.1))], 8)
    apart = load_costs.charge([(at(0), at(0.1)), (at(200), at(200.1))], 8)
    assert shared["wake-ups"] == 1 and shared["RPU-seconds charged"] == 480
    assert apart["wake-ups"] == 2 and apart["RPU-seconds charged"] == 960


def test_attribute_prices_each_method_on_its_own():
    frame = history(
        (1, 1, "INSERT", "insert into public.t_by_insert values (1)", 0, 0.1),
        (2, 2, "INSERT", "insert into public.t_by_insert values (2)", 100, 100.1),
        (3, 3, "COPY", "COPY public.t_by_firehose_60s FROM 's3://b/m'", 50, 50.5),
    )
    methods = [load_costs.LoadMethod("insert", "per-row INSERT", "public.t_by_insert"),
               load_costs.LoadMethod("firehose_60s", "Firehose, 60 s buffer", "public.t_by_firehose_60s", "s", 60)]
    costs = load_costs.attribute(frame, methods, base_rpu=8, price_per_rpu_hour=0.375, rows={"insert": 2, "firehose_60s": 2})
    assert costs.loc["per-row INSERT", "statements"] == 2 and costs.loc["per-row INSERT", "RPU-seconds charged"] == 960
    assert costs.loc["Firehose, 60 s buffer", "RPU-seconds charged"] == 480  # alone, although it ran between the inserts
    assert costs.loc["per-row INSERT", "USD"] == pytest.approx(960 / 3600 * 0.375)


def test_firehose_delivers_a_buffer_its_interval_after_its_oldest_record():
    assert load_costs.flush_times(np.array([0.0, 10, 20, 70, 200]), 60) == [60.0, 130.0, 260.0]
    assert load_costs.flush_times(np.array([0.0, 0.0, 10.0]), 0) == [0.0, 10.0]  # zero buffering: at once


def test_a_day_of_traffic_follows_the_rule():
    seconds = {"insert": 0.02, "firehose": 0.05, "glue": 2.0}
    costs = load_costs.day_costs([1, 3600], [900], seconds, base_rpu=8, price_per_rpu_hour=0.375)
    minute = 60 * 8 / 3600 * 0.375  # $0.05: one wake-up at 8 RPUs
    assert costs.loc[1, "per-row INSERT"] == pytest.approx(24 * minute)  # an hour apart: one minimum each
    assert costs.loc[3600, "per-row INSERT"] == pytest.approx(24 * 8 * 0.375, rel=0.01)  # never asleep: $72
    assert costs.loc[3600, "Firehose, 900 s buffer"] == pytest.approx(96 * minute, rel=0.01)  # one COPY per 15 minutes
    assert costs["Glue batch COPY, daily"].tolist() == pytest.approx([minute, minute])


def test_a_day_schedule_refuses_what_it_cannot_model():
    with pytest.raises(ValueError, match="positive"):
        load_costs.day_schedule("insert", 0, 0.1)
    with pytest.raises(ValueError, match="unknown load method"):
        load_costs.day_schedule("lambda", 1, 0.1)
