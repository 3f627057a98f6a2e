"""Notebooks 08-09's batch pipeline on the local cloud: the crawler over the raw layer, the Glue job
``glue_scripts/bulkimport_s3_redshift.py`` and the scheduled Lambda ``lambda_code/bulk_import.py``
(Redshift and DynamoDB).

The raw layer is written here as ``write_kinesis_to_s3`` writes it (JSON lines under
``year=/month=/day=/hour=``), from the bundled sample, with overlapping objects: the raw layer is
at-least-once, so both loaders must count each EventId once. A failing script's FAILED state and
error message are covered by tests/integration/test_glue_jobs.py.

Resources get names of their own (a suffix on ``config.Names``), so that these tests never meet
another test's in the shared local cloud.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest

from helpers import aws, batch, client, data, iam, scheduled_import, sinks, storage, warehouse
from tests.conftest import own_names

pytestmark = pytest.mark.integration

TABLE_COLUMNS = """eventid varchar(1024) not null, invoiceno varchar(16) not null, stockcode varchar(32) not null,
    description varchar(4000), quantity integer not null, invoicedate timestamp not null,
    unitprice decimal(12,3) not null, customerid varchar(32), country varchar(256) not null,
    loaded_at timestamp default getdate()"""


@pytest.fixture(scope="module")
def names(local_cloud):
    tag = uuid.uuid4().hex[:6]
    with own_names(
        local_cloud,
        raw_prefix=f"batch-{tag}/kinesis-stream/",
        glue_scripts_prefix=f"batch-{tag}/glue-scripts/",
        glue_temp_prefix=f"batch-{tag}/glue-temp/",
        glue_database=f"batch-{tag}",
        glue_crawler=f"crawler-{tag}",
        glue_job=f"job-{tag}",
        redshift_namespace=f"batch-{tag}",
        redshift_workgroup=f"batch-{tag}",
        fn_bulk_import=f"bulk_import_{tag}",
        invoice_table=f"invoice-{tag}",
        customer_table=f"customer-{tag}",
        schedule_rule=f"bulk-import-{tag}",
    ) as (suffixed, patch):
        patch.setattr(warehouse, "_current", None)
        patch.setattr(batch, "BULK_IMPORT_PREFIX", f"batch-{tag}/bulk-import/")
        yield suffixed


@pytest.fixture(scope="module")
def sample_events():
    path = data.sample_path()
    return client.to_events(client.select_rows(data.load_invoices(path), limit=400), path.name)


def put_raw_object(names, events: list[dict]) -> str:
    """One object as write_kinesis_to_s3 writes it: NDJSON under the partition of its arrival hour."""
    now = datetime.now(timezone.utc)
    partition = f"year={now:%Y}/month={now:%m}/day={now:%d}/hour={now:%H}"
    key = f"{names.raw_prefix}{partition}/shardId-000000000000-{uuid.uuid4().hex}.json"
    body = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
    aws.client("s3").put_object(Bucket=aws.bucket(), Key=key, Body=body.encode())
    return key


@pytest.fixture(scope="module")
def pipeline(names, sample_events):
    """The raw layer (rows 1-300, rows 151-200 written twice), the warehouse and its table, the
    DynamoDB tables, the roles."""
    batch.ensure_bucket()
    storage.ensure_table(names.invoice_table, "InvoiceNo")
    storage.ensure_table(names.customer_table, "CustomerID")
    put_raw_object(names, sample_events[:200])
    put_raw_object(names, sample_events[150:300])
    wh = warehouse.ensure_warehouse()
    warehouse.run_sql(f"create table if not exists public.{names.redshift_table} ({TABLE_COLUMNS})")
    copy_role = batch.ensure_copy_role(wh)
    glue_role = iam.ensure_role("glue", batch.policy_values("glue", wh.secret_arn))
    return {"wh": wh, "copy_role": copy_role, "glue_role": glue_role, "distinct": 300}


def table_counts(names) -> tuple[int, int]:
    frame = warehouse.run_sql(f"select count(*), count(distinct eventid) from public.{names.redshift_table}")
    return int(frame.iat[0, 0]), int(frame.iat[0, 1])


def dynamodb_event_ids(names, events: list[dict]) -> set[str]:
    items = sinks.invoice_items(names.invoice_table, {e["InvoiceNo"] for e in events})
    return sinks.stored_event_ids(items.values())


def test_the_crawled_schema_matches_the_raw_json(names, pipeline):
    batch.ensure_crawler(pipeline["glue_role"])
    assert batch.crawl(out=lambda _: None)["Status"] == "SUCCEEDED"
    table = aws.client("glue").get_table(DatabaseName=names.glue_database, Name=names.glue_table)["Table"]
    assert table["Name"] == "s3_bulkimport"  # the workbook's table, crawled as a catalog target
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns == {
        "eventid": "string", "invoiceno": "string", "stockcode": "string", "description": "string",
        "quantity": "int", "invoicedate": "string", "unitprice": "double", "customerid": "string", "country": "string",
    }
    assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day", "hour"]
    assert table["StorageDescriptor"]["Location"] == batch.raw_location()


def test_the_job_loads_each_distinct_event_once_and_a_rerun_replaces(names, pipeline, sample_events):
    batch.ensure_job(
        pipeline["glue_role"], batch.upload_script(),
        batch.job_arguments(pipeline["wh"], pipeline["copy_role"], names.glue_table),
    )
    first = batch.run_job(timeout_s=120, out=lambda _: None)
    assert first["JobRunState"] == "SUCCEEDED", batch.job_log(first["Id"], "error")
    assert table_counts(names) == (pipeline["distinct"], pipeline["distinct"])
    assert any("300 distinct EventIds (50 duplicates dropped)" in line for line in batch.job_log(first["Id"]))

    expected = sum(e["Quantity"] for e in sample_events[:300])
    totals = warehouse.run_sql(f"select sum(quantity), count(customerid) from public.{names.redshift_table}")
    assert int(totals.iat[0, 0]) == expected
    assert int(totals.iat[0, 1]) == sum(e["CustomerID"] is not None for e in sample_events[:300])  # NULL kept

    second = batch.run_job(timeout_s=120, out=lambda _: None)
    assert second["JobRunState"] == "SUCCEEDED"
    assert table_counts(names) == (pipeline["distinct"], pipeline["distinct"])


def test_the_scheduled_lambda_imports_only_new_objects(names, pipeline, sample_events):
    function_arn = scheduled_import.deploy_function(pipeline["wh"], pipeline["copy_role"], settle_seconds=1)
    rule_arn = scheduled_import.ensure_schedule(function_arn, "rate(1 day)")
    time.sleep(2.1)  # past the settling delay of the objects written by the fixture
    first = scheduled_import.run_now(rule_arn)
    assert (first["objects"], first["since"], first["dynamodb_lines"]) == (2, None, 350)
    assert table_counts(names) == (300, 300)  # the job's rows replaced, not duplicated
    assert dynamodb_event_ids(names, sample_events[:400]) == {e["EventId"] for e in sample_events[:300]}

    put_raw_object(names, sample_events[290:400])  # 100 new events, 10 already loaded
    time.sleep(2.1)
    second = scheduled_import.run_now(rule_arn)
    assert second["objects"] == 1 and second["rows"] == 110 and second["dynamodb_lines"] == 110
    assert table_counts(names) == (400, 400)
    assert dynamodb_event_ids(names, sample_events[:400]) == {e["EventId"] for e in sample_events[:400]}

    third = scheduled_import.run_now(rule_arn)
    assert (third["objects"], third["rows"], third["dynamodb_lines"]) == (0, 0, 0)
    assert table_counts(names) == (400, 400)
    assert scheduled_import.checkpoint()["watermark"] == third["until"]
