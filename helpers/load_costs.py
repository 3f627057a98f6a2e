"""What loading the same rows costs the warehouse, three ways: per-row INSERT, Firehose, a Glue batch COPY.

Notebook 11 loads the same invoice lines, arriving one by one over a short window as a stream's
events do, into one table per method:

* **per-row INSERT**: one Data API ``ExecuteStatement`` per row as it arrives (what a Lambda
  function that inserts each event does);
* **Firehose** at several buffer intervals: each row ``PutRecord`` to a DirectPut delivery stream
  that loads the table with one ``COPY`` per buffer (notebook 07's settings otherwise);
* **the Glue batch COPY**: notebook 08's job, run once after the window over the same rows staged
  in S3, loads them in one transaction.

Each method's charge is read from the warehouse's own records: its statements in SYS_QUERY_HISTORY
(the sessions that wrote to its table), priced with Redshift Serverless's documented rule
("Billing for Amazon Redshift Serverless",
https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html): per second at the base
capacity while statements run, at least 60 seconds each time the workgroup wakes up. That is what
the method would be charged if it were the workgroup's only work; SYS_SERVERLESS_USAGE only has the
total of everything that ran, which the notebook shows beside it.

``day_costs`` applies the same rule to a whole day of steady traffic, to show where each method's
bill goes as traffic grows; it is a model, fed with the statement times measured here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers import aws, batch, config, firehose, warehouse
from helpers.localcloud.warehouse.usage import BillableQuery, active_periods  # the documented billing rule, pure Python

# "Understand buffering hints" (https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html):
# for a Redshift destination, 1-128 MiB (default 5) and 0-900 s (default 300); 0 s is zero buffering.
BUFFER_INTERVAL_RANGE_S = (0, 900)
BUFFER_SIZE_MB = 1  # the smallest: the experiment's rows never fill it, so the interval decides
# The statements that load a table; a session that ran one of them on a method's table is that method's.
LOAD_STATEMENT_TYPES = ("INSERT", "COPY", "DELETE", "UPDATE", "MERGE")
COLUMNS = ("eventid", "invoiceno", "stockcode", "description", "quantity", "invoicedate", "unitprice", "customerid", "country")
# Notebook 06's layout, so every method loads the same kind of table.
TABLE_DEFINITION = """(
    eventid varchar(1024) not null, invoiceno varchar(16) not null, stockcode varchar(32) not null,
    description varchar(4000), quantity integer not null, invoicedate timestamp not null,
    unitprice decimal(12,3) not null, customerid varchar(32), country varchar(256) not null,
    loaded_at timestamp default getdate()
) diststyle key distkey (invoiceno) compound sortkey (invoicedate)"""
# How each column's text is cast in a per-row INSERT (the Data API sends every parameter as text).
CASTS = {"quantity": "::integer", "invoicedate": "::timestamp", "unitprice": "::decimal(12,3)"}
EVENT_KEYS = {"eventid": "EventId", "invoiceno": "InvoiceNo", "stockcode": "StockCode", "description": "Description",
              "quantity": "Quantity", "invoicedate": "InvoiceDate", "unitprice": "UnitPrice", "customerid": "CustomerID",
              "country": "Country"}
GLUE_INPUT_FOLDER = "load-costs/"  # under the Glue temp prefix, which the Glue role may read


@dataclass(frozen=True)
class LoadMethod:
    key: str  # short id: insert, firehose_60s, glue
    label: str
    table: str  # schema-qualified
    stream: str | None = None  # the Firehose delivery stream, for Firehose methods
    buffer_interval_s: int | None = None


def load_methods(buffer_intervals_s: Iterable[int]) -> list[LoadMethod]:
    """The methods compared, with names derived from the workbook's configured names."""
    names = config.settings().names
    base = f"public.{names.redshift_stream_table}"
    methods = [LoadMethod("insert", "per-row INSERT", f"{base}_by_insert")]
    for interval in buffer_intervals_s:
        low, high = BUFFER_INTERVAL_RANGE_S
        if not low <= int(interval) <= high:
            raise ValueError(f"Firehose buffer interval {interval} s: a Redshift destination takes {low}-{high} s")
        methods.append(
            LoadMethod(f"firehose_{interval}s", f"Firehose, {interval} s buffer", f"{base}_by_firehose_{interval}s",
                       stream=f"{names.firehose_stream}-buffer-{interval}", buffer_interval_s=int(interval))
        )
    methods.append(LoadMethod("glue", "Glue batch COPY", f"{base}_by_glue"))
    return methods


# ---------------------------------------------------------------------------------------------
# Setting up: tables, delivery streams, the Glue job's input


def prepare_tables(methods: Sequence[LoadMethod]) -> None:
    """Each method's table, created if missing and emptied (a rerun replaces the rows, it does not add)."""
    for method in methods:
        warehouse.run_sql(f"create table if not exists {method.table} {TABLE_DEFINITION}")
        warehouse.run_sql(f"truncate {method.table}")


def firehose_grants(methods: Sequence[LoadMethod], user: str) -> list[str]:
    """What Firehose's database user needs to COPY into the Firehose methods' tables, and no more."""
    return [f"grant usage on schema public to {user}"] + [f"grant insert on table {m.table} to {user}" for m in methods if m.stream]


def ensure_delivery_streams(
    methods: Sequence[LoadMethod], *, role_arn: str, workgroup: str, secret_arn: str, log_group: str
) -> list[dict[str, Any]]:
    """A DirectPut delivery stream per Firehose method, created (or its destination updated), all ACTIVE."""
    client = aws.client("firehose")
    streams = [m for m in methods if m.stream]
    for method in streams:
        destination = firehose.redshift_destination(
            role_arn=role_arn, workgroup=workgroup, table=method.table, secret_arn=secret_arn, log_group=log_group,
            buffering_hints={"SizeInMBs": BUFFER_SIZE_MB, "IntervalInSeconds": method.buffer_interval_s},
        )
        try:  # created side by side: each takes a minute or two on AWS
            client.create_delivery_stream(DeliveryStreamName=method.stream, DeliveryStreamType="DirectPut",
                                          RedshiftDestinationConfiguration=destination, Tags=aws.tag_list())
        except client.exceptions.ResourceInUseException:
            current = firehose.wait_active(method.stream)
            update = dict(destination, S3Update=destination["S3Configuration"])
            del update["S3Configuration"]
            client.update_destination(DeliveryStreamName=method.stream, CurrentDeliveryStreamVersionId=current["VersionId"],
                                      DestinationId=current["Destinations"][0]["DestinationId"], RedshiftDestinationUpdate=update)
    return [firehose.wait_active(method.stream) for method in streams]


def stage_for_glue(events: Sequence[dict[str, Any]]) -> str:
    """The rows as JSON lines in S3 and a catalog table over them (what the job reads); the table's name."""
    names = config.settings().names
    prefix = f"{names.glue_temp_prefix}{GLUE_INPUT_FOLDER}"
    body = "\n".join(json.dumps(event) for event in events) + "\n"
    aws.client("s3").put_object(Bucket=aws.bucket(), Key=f"{prefix}events.json", Body=body.encode())
    table = f"{names.glue_table}_load_costs"
    definition = {
        "Name": table,
        "Description": "Notebook 11: the rows the Glue batch COPY loads",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            "Columns": [],
            "Location": f"s3://{aws.bucket()}/{prefix}",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": batch.JSON_SERDE},
        },
    }
    glue = aws.client("glue")
    try:
        glue.create_table(DatabaseName=names.glue_database, TableInput=definition)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=names.glue_database, TableInput=definition)
    return table


# ---------------------------------------------------------------------------------------------
# Loading


def insert_statement(table: str, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """One row's INSERT with Data API parameters. A missing value is written as ``null`` in the SQL:
    the Data API takes no empty or null parameter values."""
    values, parameters = [], {}
    for column in COLUMNS:
        value = event.get(EVENT_KEYS[column])
        if value is None:
            values.append("null")
        else:
            values.append(f":{column}{CASTS.get(column, '')}")
            parameters[column] = str(value)
    return f"insert into {table} ({', '.join(COLUMNS)}) values ({', '.join(values)})", parameters


def stream_events(
    events: Sequence[dict[str, Any]], methods: Sequence[LoadMethod], window_s: float, out: Callable[[str], None] = print
) -> None:
    """Send each event, one by one, evenly over ``window_s`` seconds: an INSERT for the INSERT method
    (submitted at once, as a Lambda per event would), a PutRecord to each Firehose method's stream.
    Returns once every INSERT has finished (raises on the first that failed)."""
    inserts = [m for m in methods if m.key == "insert"]
    streams = [m.stream for m in methods if m.stream]
    client = aws.client("firehose")
    spacing = window_s / max(len(events) - 1, 1)
    submitted: list[tuple[str, str]] = []
    started = time.monotonic()
    for position, event in enumerate(events):
        time.sleep(max(0.0, started + position * spacing - time.monotonic()))
        for method in inserts:
            sql, parameters = insert_statement(method.table, event)
            submitted.append((warehouse.submit(sql, parameters), sql))
        for stream in streams:
            client.put_record(DeliveryStreamName=stream, Record={"Data": json.dumps(event).encode()})
    out(f"{len(events):,} events sent in {time.monotonic() - started:.0f} s "
        f"({len(submitted):,} INSERTs, {len(events) * len(streams):,} Firehose records)")
    for statement_id, sql in submitted:
        warehouse.wait(statement_id, sql)


def start_glue_load(method: LoadMethod, catalog_table: str) -> str:
    """A run of notebook 08's job over ``catalog_table`` into the method's table; the run's Id."""
    names = config.settings().names
    arguments = {"--table": catalog_table, "--target_table": method.table}
    return aws.client("glue").start_job_run(JobName=names.glue_job, Arguments=arguments)["JobRunId"]


def wait_glue_run(run_id: str, timeout_s: float = 1200) -> dict[str, Any]:
    """The run once it ended; raises if it did not succeed."""
    glue = aws.client("glue")
    name = config.settings().names.glue_job
    deadline = time.monotonic() + timeout_s
    while (run := glue.get_job_run(JobName=name, RunId=run_id)["JobRun"])["JobRunState"] not in batch.FINAL_RUN_STATES:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Glue run {run_id} still {run['JobRunState']} after {timeout_s:.0f} s")
        time.sleep(2)
    if run["JobRunState"] != "SUCCEEDED":
        raise RuntimeError(f"Glue run {run_id} {run['JobRunState']}: {run.get('ErrorMessage')}")
    return run


def row_counts(methods: Sequence[LoadMethod]) -> dict[str, int]:
    """Rows in each method's table."""
    return {m.key: int(warehouse.run_sql(f"select count(*) from {m.table}").iat[0, 0]) for m in methods}


# ---------------------------------------------------------------------------------------------
# Attributing the charge


def warehouse_now() -> dt.datetime:
    """The warehouse's clock (UTC), so that the history is cut where the experiment began."""
    return pd.Timestamp(warehouse.run_sql("select getdate() as now").iat[0, 0]).to_pydatetime()


def history_since(since: dt.datetime) -> pd.DataFrame:
    """Successful statements from SYS_QUERY_HISTORY that started at ``since`` or later."""
    return warehouse.run_sql(
        "select query_id, session_id, user_id, query_type, start_time, end_time, query_text from sys_query_history "
        "where status = 'success' and start_time >= :since::timestamp order by start_time",
        {"since": since.strftime("%Y-%m-%d %H:%M:%S")},
    )


def method_statements(history: pd.DataFrame, table: str) -> pd.DataFrame:
    """Every statement of the sessions that loaded ``table`` (INSERT, COPY, DELETE... naming it): a
    Glue job's temporary table and COPY run in the same session as its INSERT into the table."""
    name = re.compile(rf"\b{re.escape(table.split('.')[-1])}\b", re.IGNORECASE)
    loads = history["query_type"].isin(LOAD_STATEMENT_TYPES) & history["query_text"].fillna("").str.contains(name)
    return history[history["session_id"].isin(set(history.loc[loads, "session_id"]))]


def charge(intervals: Iterable[tuple[dt.datetime, dt.datetime]], base_rpu: int) -> dict[str, float]:
    """Billing's rule applied to statements alone: times the workgroup woke up, RPU-seconds the
    statements used, RPU-seconds charged (60-second minimum per wake-up, then per second)."""
    periods = active_periods([BillableQuery(start, end, base_rpu) for start, end in intervals])
    used = sum((end - start).total_seconds() for period in periods for start, end in period.busy)
    return {
        "wake-ups": len(periods),
        "RPU-seconds used": used * base_rpu,
        "RPU-seconds charged": float(sum(period.charged_seconds for period in periods)),
    }


def attribute(
    history: pd.DataFrame, methods: Sequence[LoadMethod], base_rpu: int, price_per_rpu_hour: float, rows: dict[str, int]
) -> pd.DataFrame:
    """One row per method: its statements, rows loaded, and what they would be charged on their own."""
    records = []
    for method in methods:
        statements = method_statements(history, method.table)
        intervals = [(s.to_pydatetime(), e.to_pydatetime()) for s, e in zip(statements["start_time"], statements["end_time"])]
        charged = charge(intervals, base_rpu)
        records.append({
            "method": method.label,
            "rows loaded": rows.get(method.key, 0),
            "statements": len(statements),
            **charged,
            "USD": charged["RPU-seconds charged"] / 3600 * price_per_rpu_hour,
        })
    return pd.DataFrame(records).set_index("method")


def statement_seconds(history: pd.DataFrame, methods: Sequence[LoadMethod]) -> dict[str, float]:
    """Measured time per load, per method: an INSERT's or a COPY's median, a Glue load's whole session."""
    seconds: dict[str, float] = {}
    for method in methods:
        statements = method_statements(history, method.table)
        if statements.empty:
            continue
        if method.key == "glue":
            spans = statements.groupby("session_id").agg(start=("start_time", "min"), end=("end_time", "max"))
            seconds[method.key] = float((spans["end"] - spans["start"]).dt.total_seconds().median())
        else:
            loads = statements[statements["query_type"].isin(LOAD_STATEMENT_TYPES)]
            seconds[method.key] = float((loads["end_time"] - loads["start_time"]).dt.total_seconds().median())
    return seconds


# ---------------------------------------------------------------------------------------------
# A day of steady traffic (a model)

DAY = dt.datetime(2024, 1, 1)  # any midnight: only the spacing of the statements matters


def flush_times(arrivals_s: np.ndarray, interval_s: float) -> list[float]:
    """When a Firehose buffer is delivered, for sorted arrival times, if the size hint is never
    reached: the oldest buffered record's arrival plus the interval (0: at once)."""
    flushes, position = [], 0
    while position < len(arrivals_s):
        due = arrivals_s[position] + interval_s
        flushes.append(float(due))
        position = int(np.searchsorted(arrivals_s, due, side="right"))
    return flushes


def _sequential(starts: Iterable[float], seconds: float) -> list[tuple[dt.datetime, dt.datetime]]:
    """Statements of ``seconds`` each, one after the other, none starting before its time."""
    intervals, free_at = [], 0.0
    for start in starts:
        begin = max(start, free_at)
        free_at = begin + seconds
        intervals.append((DAY + dt.timedelta(seconds=begin), DAY + dt.timedelta(seconds=free_at)))
    return intervals


def day_schedule(kind: str, events_per_hour: float, seconds: float, interval_s: int = 0) -> list[tuple[dt.datetime, dt.datetime]]:
    """The statements of one day of steady traffic: ``kind`` is insert, firehose or glue."""
    if events_per_hour <= 0:
        raise ValueError("events_per_hour must be positive")
    arrivals = np.arange(0.0, 86_400.0, 3600.0 / events_per_hour)
    if kind == "insert":
        return _sequential(arrivals, seconds)
    if kind == "firehose":
        return _sequential(flush_times(arrivals, interval_s), seconds)
    if kind == "glue":
        return _sequential([86_400.0 - seconds - 1], seconds)  # one load, at the end of the day
    raise ValueError(f"unknown load method kind {kind!r}: insert, firehose or glue")


def day_costs(
    rates_per_hour: Sequence[float],
    buffer_intervals_s: Sequence[int],
    seconds: dict[str, float],
    base_rpu: int,
    price_per_rpu_hour: float,
) -> pd.DataFrame:
    """USD per day per method (columns) for each steady traffic rate (rows), nothing else running.
    ``seconds``: time per statement, by kind (insert, firehose, glue)."""
    table: dict[str, dict[float, float]] = {}
    plans = [("per-row INSERT", "insert", 0)]
    plans += [(f"Firehose, {interval} s buffer", "firehose", interval) for interval in buffer_intervals_s]
    plans += [("Glue batch COPY, daily", "glue", 0)]
    for label, kind, interval in plans:
        charged = {rate: charge(day_schedule(kind, rate, seconds[kind], interval), base_rpu)["RPU-seconds charged"] for rate in rates_per_hour}
        table[label] = {rate: rpu_seconds / 3600 * price_per_rpu_hour for rate, rpu_seconds in charged.items()}
    return pd.DataFrame(table).rename_axis("events per hour")


# ---------------------------------------------------------------------------------------------
# Charts

COLOURS = {"insert": "#c44e52", "firehose": "#4c72b0", "glue": "#55a868"}


def _colour(label: str) -> str:
    return COLOURS["insert"] if "INSERT" in label else COLOURS["glue"] if "Glue" in label else COLOURS["firehose"]


def plot_measured(costs: pd.DataFrame, path: Path) -> Figure:
    """Charged RPU-seconds (with dollars) and statements per method, side by side."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    charged_axes, statements_axes = figure.subplots(1, 2, width_ratios=[1.6, 1])
    labels = list(costs.index)
    colours = [_colour(label) for label in labels]
    bars = charged_axes.bar(labels, costs["RPU-seconds charged"], color=colours)
    charged_axes.bar(labels, costs["RPU-seconds used"], color="black", width=0.25, label="used by its statements")
    amounts = [f"{c:,.0f} RPU-s\n${usd:,.3f}" for c, usd in zip(costs["RPU-seconds charged"], costs["USD"])]
    charged_axes.bar_label(bars, labels=amounts, padding=2, fontsize=8)
    charged_axes.set_ylabel("RPU-seconds charged")
    charged_axes.set_title("Charged for the same rows (alone on the workgroup)")
    charged_axes.margins(y=0.25)
    charged_axes.legend(loc="upper right", frameon=False, fontsize=8)
    counts = statements_axes.bar(labels, costs["statements"], color=colours)
    statements_axes.bar_label(counts, padding=2, fontsize=8)
    statements_axes.set_title("Statements run in the warehouse")
    statements_axes.margins(y=0.2)
    for axes in (charged_axes, statements_axes):
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)
        for tick in axes.get_xticklabels():
            tick.set_horizontalalignment("right")
    figure.suptitle(f"The same {int(costs['rows loaded'].max()):,} rows: per-row INSERT, Firehose, Glue batch COPY")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return figure


def plot_day_costs(costs: pd.DataFrame, path: Path, ceiling_usd: float | None = None) -> Figure:
    """USD per day against steady traffic, one line per method (log-log); ``ceiling_usd``: the cost
    of a workgroup awake all day, drawn as a reference."""
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    axes = figure.subplots()
    markers = ["o", "s", "^", "D", "v", "P"]
    for position, label in enumerate(costs.columns):
        axes.plot(costs.index, costs[label], marker=markers[position % len(markers)], markersize=5,
                  color=_colour(label), linestyle="-" if position % 2 == 0 else "--", label=label, alpha=0.85)
    if ceiling_usd:
        axes.axhline(ceiling_usd, color="grey", linewidth=0.8, linestyle=":")
        axes.annotate(f"awake all day: ${ceiling_usd:,.0f}", (costs.index[0], ceiling_usd), xytext=(0, 4),
                      textcoords="offset points", fontsize=8, color="grey")
    axes.set_xscale("log")
    axes.set_yscale("log")
    if ceiling_usd:
        axes.set_ylim(top=ceiling_usd * 2.5)  # room for the reference line's label
    axes.set_xlabel("events per hour, steady, all day")
    axes.set_ylabel("US dollars per day")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(frameon=False, fontsize=8, loc="center right", bbox_to_anchor=(1, 0.3))  # below the lines, above the batch
    axes.set_title("A day of traffic: warehouse compute by load method (model: 60 s minimum per wake-up)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return figure
