"""The key figures of a workbook run, read from the live target (local cloud or AWS) with boto3.

``snapshot()`` counts what the pipelines left behind: events in the S3 raw layer and records on the
Kinesis stream, items in the DynamoDB tables, objects under the S3 prefixes, rows in the Redshift
tables, and the RPU-seconds the Redshift Serverless workgroup charged. The runner takes it before
the teardown notebook (99) deletes all of that.

Each figure fails soft: a resource that does not exist gives a figure "not created", anything else
that goes wrong gives "error"; both say why, in the figure and in the log, and the other figures
are still read.

What "rows streamed" means: distinct EventIds in the S3 raw layer, i.e. source rows the API
accepted (PutRecords) and the S3 consumer delivered, each counted once however often it was sent or
delivered. The other stream figures count copies, and say so: lines in the raw layer (a row sent
twice is two lines; a batch Lambda delivers again rewrites its own object) and records on the
stream (every entry the API put, re-sends included, as long as the stream's retention keeps them).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from helpers import aws, config, sinks, storage, warehouse, warehouse_costs
from helpers.prerequisites import MissingPrerequisite

log = logging.getLogger(__name__)

OK, NOT_CREATED, ERROR = "ok", "not created", "error"
# Error codes AWS answers for a resource that does not exist (S3, Kinesis, DynamoDB, Lambda...).
MISSING_CODES = {"NoSuchBucket", "ResourceNotFoundException", "NotFoundException"}


class NotCreated(LookupError):
    """The resource a figure counts does not exist (yet, or any more)."""


@dataclass
class Figure:
    key: str  # stable name, for tests and CI
    group: str  # Stream, DynamoDB, S3, Redshift, Cost
    label: str  # what is counted, for a reader
    value: int | float | None = None
    status: str = OK  # ok, not created, error
    note: str = ""  # how it was counted, or why there is no value


@dataclass
class Snapshot:
    taken_at: str
    target: str
    region: str
    price_per_rpu_hour: float
    figures: list[Figure]

    def as_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at,
            "target": self.target,
            "region": self.region,
            "price_per_rpu_hour": self.price_per_rpu_hour,
            "figures": {f.key: asdict(f) for f in self.figures},
        }


def _missing(error: Exception) -> str | None:
    """Why ``error`` means "does not exist", or None if it means something else."""
    if isinstance(error, (NotCreated, MissingPrerequisite)):
        return str(error)
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in MISSING_CODES:
        return f"{error.response['Error']['Code']}: {error.response['Error'].get('Message', '')}".rstrip(": ")
    return None


def _read(figures: list[Figure], group: str, labels: dict[str, str], read: Callable[[], dict[str, tuple[Any, str]]]) -> None:
    """Run ``read`` (one lookup that gives several figures: key -> (value, note)); on failure every
    figure of ``labels`` gets the failure as its status and note."""
    try:
        values = read()
    except Exception as error:  # one figure's failure must not lose the others
        reason = _missing(error)
        status = NOT_CREATED if reason is not None else ERROR
        reason = reason or f"{type(error).__name__}: {error}"
        log.warning("run figures %s: %s (%s)", ", ".join(labels), status, reason)
        figures.extend(Figure(key, group, label, None, status, reason) for key, label in labels.items())
        return
    for key, label in labels.items():
        value, note = values[key]
        figures.append(Figure(key, group, label, value, OK, note))


def _raw_layer(bucket: str, prefix: str) -> dict[str, tuple[Any, str]]:
    raw = sinks.RawLayer(bucket, prefix)
    objects = raw.objects()  # NoSuchBucket if the bucket is gone
    events = raw.events()
    where = f"s3://{bucket}/{prefix}"
    distinct = len({event.get("EventId") for event in events})
    return {
        "rows_streamed": (distinct, f"distinct EventIds in {where}"),
        "raw_lines": (len(events), f"in {len(objects):,} objects; a redelivered batch rewrites its own object"),
    }


def _stream_records(stream_name: str) -> dict[str, tuple[Any, str]]:
    count = sum(1 for _ in storage.iter_records(stream_name))
    return {"kinesis_records": (count, f"GetRecords from TRIM_HORIZON on every shard of {stream_name}")}


def _item_count(table: str) -> int:
    """Scan with Select=COUNT, every page: exact now (DescribeTable's ItemCount is refreshed only
    about every six hours; "DescribeTable", Amazon DynamoDB API Reference)."""
    dynamodb = aws.client("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT", ConsistentRead=True)
    return sum(page["Count"] for page in pages)


def _objects(bucket: str, prefix: str, exclude: str | None = None) -> tuple[int, int]:
    """(objects, bytes) under ``prefix``; ListObjectsV2 answers NoSuchBucket if the bucket is gone."""
    s3 = aws.client("s3")
    count = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if exclude is None or not item["Key"].startswith(exclude):
                count, size = count + 1, size + item["Size"]
    return count, size


def _raw_objects(bucket: str, prefix: str) -> dict[str, tuple[Any, str]]:
    count, size = _objects(bucket, prefix)
    return {"s3_raw_objects": (count, f"{size:,} bytes in s3://{bucket}/{prefix}")}


def _firehose_objects(bucket: str, prefix: str) -> dict[str, tuple[Any, str]]:
    manifests = prefix + "manifests/"  # Firehose's COPY manifests, next to the data it delivered
    count, size = _objects(bucket, prefix, exclude=manifests)
    manifest_count, _ = _objects(bucket, manifests)
    return {"s3_firehose_objects": (count, f"{size:,} bytes in s3://{bucket}/{prefix}; {manifest_count:,} COPY manifests besides")}


def _public_tables(wh: warehouse.Warehouse) -> list[str]:
    """The tables (not views) in schema public, by ListTables."""
    pages = aws.client("redshift-data").get_paginator("list_tables").paginate(**wh.target(), SchemaPattern="public", TablePattern="%")
    return sorted(t["name"] for page in pages for t in page["Tables"] if t.get("type") == "TABLE")


def _workbook_tables(names: config.Names, find_warehouse: Callable[[], warehouse.Warehouse]) -> list[str]:
    """Notebooks 06-07's tables first (a figure each, even if missing), then any other table in public
    (notebook 11's, say)."""
    core = [names.redshift_stream_table, names.redshift_table]
    try:
        others = [t for t in _public_tables(find_warehouse()) if t not in core]
    except Exception as error:  # the core tables' figures say why
        if _missing(error) is None:
            log.warning("run figures: no list of Redshift tables (%s: %s)", type(error).__name__, error)
        others = []
    return core + others


def _table_rows(wh: warehouse.Warehouse, table: str) -> dict[str, tuple[Any, str]]:
    data = aws.client("redshift-data")
    listed = data.list_tables(**wh.target(), SchemaPattern="public", TablePattern=table)["Tables"]
    if not any(t["name"] == table for t in listed):  # the pattern is LIKE's: _ matches any character
        raise NotCreated(f"no table public.{table} in {wh.database} (ListTables)")
    columns = {c["name"] for c in data.describe_table(**wh.target(), Schema="public", Table=table)["ColumnList"]}
    distinct = "count(distinct eventid)" if "eventid" in columns else "null"
    counts = warehouse.run_sql(f"select count(*), {distinct} from public.{table}", warehouse=wh)
    events = counts.iat[0, 1]
    return {
        f"redshift_rows_{table}": (int(counts.iat[0, 0]), "count(*)"),
        f"redshift_events_{table}": (None, "no eventid column") if events is None else (int(events), "count(distinct eventid): a row loaded twice counts once"),
    }


def _usage(wh: warehouse.Warehouse, price_per_rpu_hour: float, is_local: bool) -> dict[str, tuple[Any, str]]:
    usage = warehouse.run_sql("select sum(charged_seconds) as charged, sum(compute_seconds) as used, count(*) as minutes from sys_serverless_usage", warehouse=wh)
    charged = float(usage.iat[0, 0] or 0)
    used = float(usage.iat[0, 1] or 0)
    minutes = int(usage.iat[0, 2])
    return {
        "rpu_seconds_charged": (round(charged, 1), f"sum(charged_seconds) from sys_serverless_usage, {minutes:,} billed minutes"),
        "rpu_seconds_used": (round(used, 1), "sum(compute_seconds): what the queries used; billing rounds up to 60 s per active period"),
        "cost_usd": (round(charged / 3600 * price_per_rpu_hour, 4), f"RPU-seconds charged / 3600 x ${price_per_rpu_hour} per RPU-hour"
                     + ("; local cloud: what AWS would charge for the same statements, nothing is billed" if is_local else "")),
    }


def snapshot(price_per_rpu_hour: float = warehouse_costs.PRICE_PER_RPU_HOUR) -> Snapshot:
    """Every key figure, read now. On AWS the Redshift counts are queries too: they wake the
    workgroup (billed, 60 s minimum), and SYS_SERVERLESS_USAGE shows them a few minutes later."""
    settings = config.settings()
    names = settings.names
    figures: list[Figure] = []
    find_warehouse = functools.cache(warehouse.find_warehouse)  # MissingPrerequisite without notebook 06

    _read(figures, "Stream", {
        "rows_streamed": "Rows streamed (distinct events in the S3 raw layer)",
        "raw_lines": "Lines in the S3 raw layer (a row sent twice is two lines)",
    }, lambda: _raw_layer(aws.bucket(), names.raw_prefix))
    _read(figures, "Stream", {"kinesis_records": f"Records on the Kinesis stream {names.stream} (re-sends included)"},
          lambda: _stream_records(names.stream))
    for table, key in ((names.invoice_table, "InvoiceNo"), (names.customer_table, "CustomerID")):
        _read(figures, "DynamoDB", {f"dynamodb_{table}_items": f"Items in DynamoDB table {table} (one per {key})"},
              lambda table=table: {f"dynamodb_{table}_items": (_item_count(table), "Scan, Select=COUNT")})
    _read(figures, "S3", {"s3_raw_objects": f"Objects under the raw prefix {names.raw_prefix}"},
          lambda: _raw_objects(aws.bucket(), names.raw_prefix))
    _read(figures, "S3", {"s3_firehose_objects": f"Objects Firehose delivered under {names.firehose_prefix}"},
          lambda: _firehose_objects(aws.bucket(), names.firehose_prefix))

    for table in _workbook_tables(names, find_warehouse):
        _read(figures, "Redshift tables", {
            f"redshift_rows_{table}": f"public.{table}: rows",
            f"redshift_events_{table}": f"public.{table}: distinct events",
        }, lambda table=table: _table_rows(find_warehouse(), table))
    _read(figures, "Cost", {
        "rpu_seconds_charged": "Redshift Serverless RPU-seconds charged",
        "rpu_seconds_used": "Redshift Serverless RPU-seconds used by queries",
        "cost_usd": "Redshift Serverless compute cost (USD)",
    }, lambda: _usage(find_warehouse(), price_per_rpu_hour, settings.is_local))  # last: it includes the counts above
    return Snapshot(
        taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        target=settings.target,
        region=settings.region,
        price_per_rpu_hour=price_per_rpu_hour,
        figures=figures,
    )
