"""Notebook 11's load comparison on the local cloud: the same rows by per-row INSERT and by an
unbuffered Firehose stream, each method's statements found in SYS_QUERY_HISTORY and priced with the
billing rule, a rerun that replaces rather than adds, and the per-query shares of the real
SYS_SERVERLESS_USAGE adding up to its bill.

("Billing for Amazon Redshift Serverless", https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html;
"Understand buffering hints", https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html: 0 s is zero buffering.)
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from helpers import aws, client, data, firehose, load_costs, storage, warehouse, warehouse_costs, warehouse_users
from tests.conftest import own_names

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/load-costs-test"
ROWS = 6


@pytest.fixture(scope="module")
def names(local_cloud):
    tag = uuid.uuid4().hex[:6]
    n = local_cloud.names
    with own_names(
        local_cloud,
        bucket_prefix=f"lc-{tag}",
        redshift_namespace=f"lc-{tag}",
        redshift_workgroup=f"lc-{tag}",
        redshift_stream_table=f"lines_{tag}",
        redshift_firehose_user=f"firehose_{tag}",
        redshift_firehose_secret=f"{n.redshift_firehose_secret}-{tag}",
        firehose_stream=f"lc-{tag}",
        glue_database=f"lc-{tag}",
    ) as (suffixed, patch):
        patch.setattr(warehouse, "_current", None)
        storage.ensure_bucket(aws.bucket(), local_cloud.region)
        yield suffixed


@pytest.fixture(scope="module")
def wh(names):
    return warehouse.ensure_warehouse()


@pytest.fixture(scope="module")
def events():
    path = data.sample_path()
    return client.to_events(client.select_rows(data.load_invoices(path), limit=ROWS, offset=10), path.name)


def load_once(names, wh, methods, events) -> tuple[pd.DataFrame, dict[str, int]]:
    load_costs.prepare_tables(methods)
    secret_arn = warehouse_users.create_database_user(
        names.redshift_firehose_user, names.redshift_firehose_secret, load_costs.firehose_grants(methods, names.redshift_firehose_user)
    )
    load_costs.ensure_delivery_streams(methods, role_arn=ROLE, workgroup=wh.workgroup, secret_arn=secret_arn,
                                       log_group=firehose.ensure_log_stream(names.firehose_stream))
    since = load_costs.warehouse_now()
    load_costs.stream_events(events, methods, window_s=1.0, out=lambda _: None)
    for method in methods:
        warehouse.wait_for_count(f"select count(*) from {method.table}", len(events), timeout_s=30, every_s=0.5, out=lambda _: None)
    return load_costs.history_since(since), load_costs.row_counts(methods)


def test_the_same_rows_by_insert_and_by_firehose_each_charged_on_their_own(names, wh, events):
    methods = [m for m in load_costs.load_methods([0]) if m.key != "glue"]
    history, counts = load_once(names, wh, methods, events)
    assert counts == {"insert": ROWS, "firehose_0s": ROWS}
    costs = load_costs.attribute(history, methods, base_rpu=8, price_per_rpu_hour=0.375, rows=counts)
    inserts = costs.loc["per-row INSERT"]
    assert inserts["statements"] == ROWS  # one INSERT per row, each in its own Data API session
    assert (inserts["RPU-seconds charged"] >= 480) and inserts["RPU-seconds charged"] % 8 == 0
    copies = load_costs.method_statements(history, methods[1].table)
    assert not copies.empty and set(copies["query_type"]) == {"COPY"}
    loaded = warehouse.run_sql(f"select eventid, customerid, description from {methods[0].table} order by eventid")
    expected = sorted(events, key=lambda e: e["EventId"])
    assert loaded["eventid"].tolist() == [e["EventId"] for e in expected]
    assert loaded["customerid"].tolist() == [e["CustomerID"] for e in expected]  # None stays NULL


def test_a_rerun_replaces_the_rows_and_updates_the_streams(names, wh, events):
    methods = [m for m in load_costs.load_methods([0]) if m.key != "glue"]
    _, counts = load_once(names, wh, methods, events)
    assert counts == {"insert": ROWS, "firehose_0s": ROWS}
    described = aws.client("firehose").describe_delivery_stream(DeliveryStreamName=methods[1].stream)["DeliveryStreamDescription"]
    assert described["DeliveryStreamType"] == "DirectPut" and int(described["VersionId"]) >= 2
    hints = described["Destinations"][0]["RedshiftDestinationDescription"]["S3DestinationDescription"]["BufferingHints"]
    assert hints == {"SizeInMBs": 1, "IntervalInSeconds": 0}
    tags = aws.client("firehose").list_tags_for_delivery_stream(DeliveryStreamName=methods[1].stream)["Tags"]
    assert {"Key": "project", "Value": "aws-data-engineering-workbook"} in tags


def test_the_glue_input_is_staged_with_a_catalog_table_over_it(names, events):
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": names.glue_database})
    table = load_costs.stage_for_glue(events)
    assert load_costs.stage_for_glue(events[:2]) == table  # a rerun updates the table and replaces the rows
    location = glue.get_table(DatabaseName=names.glue_database, Name=table)["Table"]["StorageDescriptor"]["Location"]
    bucket, key = location.removeprefix("s3://").split("/", 1)
    body = aws.client("s3").get_object(Bucket=bucket, Key=f"{key}events.json")["Body"].read().decode()
    assert [json.loads(line)["EventId"] for line in body.splitlines()] == [e["EventId"] for e in events[:2]]


def test_per_query_shares_add_up_to_the_workgroups_bill(wh):
    warehouse.run_sql("create table if not exists public.share_check (n integer)")
    warehouse.run_sql("insert into public.share_check values (1), (2)")
    usage = warehouse_costs.usage_by_minute()
    per_query = warehouse_costs.cost_per_query(usage, warehouse_costs.query_history(), price_per_rpu_hour=0.375)
    assert per_query["charged_rpu_seconds"].sum() == pytest.approx(usage["charged_seconds"].sum())
    assert per_query["cost_usd"].sum() == pytest.approx(usage["charged_seconds"].sum() / 3600 * 0.375)
    assert per_query.index.min() >= 0  # every billed minute has a statement in the history
