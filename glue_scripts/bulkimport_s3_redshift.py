"""Glue Python shell job ``bulkimport_s3_redshift``: the raw layer's invoice lines into Redshift.

Reads the Data Catalog table the crawler made over the raw stream data (newline-delimited JSON under
Hive-style ``year=/month=/day=/hour=`` folders), maps it to the warehouse's columns and types,
deduplicates it by EventId (the raw layer is at-least-once), stages it as CSV under ``--TempDir`` and
loads it into the Redshift table through the Redshift Data API, in one transaction:

    COPY into a temporary table; DELETE the target's rows with the same eventid; INSERT them.

So a rerun over the same data replaces those rows instead of adding copies, and rows loaded by
another path for the same events (the scheduled Lambda of notebook 09) are not duplicated either.

Runs unchanged on AWS Glue (Python shell, "analytics" libraries: awswrangler, boto3, pandas) and on
the workbook's local cloud. Arguments as Glue passes them (``--name value``), read like
``awsglue.utils.getResolvedOptions``, which is not installed locally:

    --database --table            the catalog table to read
    --workgroup --redshift_database --target_table --secret_arn   where to load it
    --copy_role_arn               the role Redshift assumes to read the staged files (on the namespace)
    --TempDir                     where to stage them (Glue sets it)

Progress goes to standard output (CloudWatch Logs ``/aws-glue/python-jobs/output``).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from decimal import Decimal

import awswrangler as wr
import boto3
import pandas as pd

ARGUMENTS = (
    "JOB_NAME",
    "TempDir",
    "database",
    "table",
    "workgroup",
    "redshift_database",
    "target_table",
    "secret_arn",
    "copy_role_arn",
)
# Source field (as the crawler names it: lowercase) -> target column, in the target's column order.
TARGET_COLUMNS = {
    "eventid": "eventid",
    "invoiceno": "invoiceno",
    "stockcode": "stockcode",
    "description": "description",
    "quantity": "quantity",
    "invoicedate": "invoicedate",
    "unitprice": "unitprice",
    "customerid": "customerid",
    "country": "country",
}
# The staging table's columns, as the target declares them (notebook 06).
STAGE_COLUMNS = (
    "eventid varchar(1024), invoiceno varchar(16), stockcode varchar(32), description varchar(4000), "
    "quantity integer, invoicedate timestamp, unitprice decimal(12,3), customerid varchar(32), country varchar(256)"
)
REQUIRED = ("eventid", "invoiceno", "stockcode", "quantity", "invoicedate", "unitprice", "country")
STATEMENT_POLL_S = 1.0
STATEMENT_TIMEOUT_S = 900


def resolved_options(argv: list[str], names: tuple[str, ...]) -> dict[str, str]:
    """What ``getResolvedOptions(sys.argv, names)`` returns: each ``--name value``; others ignored."""
    parser = argparse.ArgumentParser()
    for name in names:
        parser.add_argument(f"--{name}", required=True)
    return vars(parser.parse_known_args(argv[1:])[0])


def read_catalog_table(database: str, table: str) -> pd.DataFrame:
    """Every object under the table's location; values as JSON typed them (no pandas guessing)."""
    location = wr.catalog.get_table_location(database=database, table=table)
    print(f"reading {database}.{table} at {location}")
    frame = wr.s3.read_json(location, lines=True, dataset=True, dtype=False, convert_dates=False)
    frame.columns = [column.lower() for column in frame.columns]
    print(f"read {len(frame):,} raw rows, columns {list(frame.columns)}")
    return frame


def to_text(value: object) -> str | None:
    """A JSON value as text; NULL stays NULL ("resolve choice": a code read as a number becomes text)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)  # kept as it is: descriptions can end in spaces, and the stream path keeps them
    return text or None


def map_schema(raw: pd.DataFrame) -> pd.DataFrame:
    """The target's columns and types. Raises on rows missing a required field: none is dropped silently.

    CustomerID stays NULL when absent: about a quarter of the lines have none, and a made-up value
    such as 'UNKNOWN' would count as one big customer in every ``count(distinct customerid)``.
    """
    missing_columns = [name for name in TARGET_COLUMNS if name not in raw.columns]
    for name in missing_columns:  # e.g. no line of this data has a customerid at all
        raw[name] = None
    frame = pd.DataFrame({target: raw[source].map(to_text) for source, target in TARGET_COLUMNS.items()})
    frame["quantity"] = pd.to_numeric(frame["quantity"], errors="raise").astype("Int64")
    frame["unitprice"] = frame["unitprice"].map(lambda v: None if v is None else Decimal(v).quantize(Decimal("0.001")))
    frame["invoicedate"] = pd.to_datetime(frame["invoicedate"], format="%Y-%m-%d %H:%M:%S", errors="raise")
    incomplete = frame[list(REQUIRED)].isna().any(axis=1)
    if incomplete.any():
        examples = frame.loc[incomplete, "eventid"].head(5).tolist()
        raise ValueError(f"{int(incomplete.sum())} rows miss a required field (first eventids: {examples})")
    return frame


def deduplicate(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per EventId: a batch written twice to the raw layer holds the same events twice."""
    unique = frame.drop_duplicates(subset="eventid", keep="last")
    print(f"{len(frame):,} rows, {len(unique):,} distinct EventIds ({len(frame) - len(unique):,} duplicates dropped)")
    return unique


def stage(frame: pd.DataFrame, temp_dir: str, job_name: str) -> str:
    """The rows as CSV under TempDir; the prefix COPY reads."""
    prefix = f"{temp_dir.rstrip('/')}/{job_name}/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}/"
    out = frame.copy()
    out["invoicedate"] = out["invoicedate"].dt.strftime("%Y-%m-%d %H:%M:%S")
    wr.s3.to_csv(out, path=f"{prefix}part-0000.csv", index=False, header=False)
    print(f"staged {len(out):,} rows under {prefix}")
    return prefix


def load_statements(target: str, staged: str, copy_role_arn: str) -> list[str]:
    """One transaction: COPY into a temporary table, replace the target's rows with the same eventid."""
    columns = ", ".join(TARGET_COLUMNS.values())
    return [
        f"create temp table bulkimport_stage ({STAGE_COLUMNS})",
        f"""copy bulkimport_stage ({columns}) from '{staged}' iam_role '{copy_role_arn}'
            format as csv emptyasnull timeformat 'YYYY-MM-DD HH:MI:SS'""",
        f"delete from {target} using bulkimport_stage where {target}.eventid = bulkimport_stage.eventid",
        f"insert into {target} ({columns}) select {columns} from bulkimport_stage",
    ]


def run_batch(data_api, target: dict[str, str], sqls: list[str]) -> dict:
    """BatchExecuteStatement (one transaction) and poll it to the end; raises with Redshift's error."""
    statement_id = data_api.batch_execute_statement(Sqls=sqls, **target)["Id"]
    deadline = time.monotonic() + STATEMENT_TIMEOUT_S
    while True:
        description = data_api.describe_statement(Id=statement_id)
        if description["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            break
        if time.monotonic() > deadline:  # the job's own Timeout stops it; this says why
            raise TimeoutError(f"statement {statement_id} still {description['Status']} after {STATEMENT_TIMEOUT_S} s")
        time.sleep(STATEMENT_POLL_S)
    if description["Status"] != "FINISHED":
        raise RuntimeError(f"load {description['Status']}: {description.get('Error')}")
    return description


def main(argv: list[str]) -> None:
    args = resolved_options(argv, ARGUMENTS)
    print(f"job {args['JOB_NAME']}: {args['database']}.{args['table']} -> {args['workgroup']}/{args['target_table']}")
    rows = deduplicate(map_schema(read_catalog_table(args["database"], args["table"])))
    if rows.empty:
        print("no rows to load")
        return
    staged = stage(rows, args["TempDir"], args["JOB_NAME"])
    data_api = boto3.client("redshift-data")
    target = {"WorkgroupName": args["workgroup"], "Database": args["redshift_database"], "SecretArn": args["secret_arn"]}
    try:
        description = run_batch(data_api, target, load_statements(args["target_table"], staged, args["copy_role_arn"]))
    finally:
        wr.s3.delete_objects(staged)  # the staged copy is only needed by the COPY
    inserted = description["SubStatements"][-1]["ResultRows"]
    print(f"loaded {inserted:,} rows into {args['target_table']} in {description['Duration'] / 1e9:.1f} s")


if __name__ == "__main__":
    main(sys.argv)
