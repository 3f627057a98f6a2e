"""The course's per-row design (helpers/per_row_design.py, benchmarks/per_row/) on a real local
cloud: a small workload, one POST per row, reaches S3 and both DynamoDB tables row for row, with
one or two UpdateItem calls per record; and everything it built is deleted afterwards."""

from __future__ import annotations

import json
import uuid

import pytest

from helpers import aws, benchmarking, per_row_design, synthetic

pytestmark = pytest.mark.integration

ROWS = 50


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    path = tmp_path_factory.mktemp("per-row") / "synthetic.csv"
    synthetic.write_kaggle_csv(synthetic.generate(ROWS), path)
    return per_row_design.load_events(path)


@pytest.fixture(scope="module")
def per_row(local_cloud, workload):
    s = benchmarking.suffixed_settings(local_cloud, f"perrow-{uuid.uuid4().hex[:6]}")
    with benchmarking.workbook_settings(s):
        pipeline = per_row_design.build(s)
        figures = per_row_design.stream_and_wait(pipeline, workload, concurrency=4, timeout_s=120)
        yield pipeline, figures
        per_row_design.delete(pipeline)


def test_every_row_reaches_each_sink(per_row, workload):
    pipeline, figures = per_row
    names = pipeline.settings.names
    expected = per_row_design.expected_sinks(workload)

    assert per_row_design.raw_event_ids(pipeline.bucket, names.raw_prefix) == expected["event_ids"]
    invoices = benchmarking.scan(names.invoice_table)
    assert per_row_design.stored_attributes(invoices, "InvoiceNo") == expected["invoice_attributes"]
    customers = benchmarking.scan(names.customer_table)
    assert per_row_design.stored_attributes(customers, "CustomerID") == expected["customer_attributes"]
    first = workload[0]
    line = json.loads(next(i for i in invoices if i["InvoiceNo"] == first["InvoiceNo"])[first["StockCode"]])
    assert set(line) == {"Description", "Quantity", "UnitPrice", "CustomerID", "Country", "InvoiceDate"}


def test_the_figures_count_one_post_and_up_to_two_update_items_per_row(per_row, workload):
    _, figures = per_row
    with_customer = sum(1 for e in workload if e["CustomerID"] is not None)
    assert figures["rows"] == ROWS and figures["http_requests_per_record"] == 1.0
    assert figures["dynamodb_requests_per_record"] == (ROWS + with_customer) / ROWS
    assert 0 < figures["client_seconds"] <= figures["end_to_end_seconds"]
    assert figures["end_to_end_seconds"] == max(figures["s3_seconds"], figures["dynamodb_seconds"])


def test_the_api_is_the_courses_non_proxy_integration_without_a_key(per_row):
    pipeline, _ = per_row
    gateway = aws.client("apigateway")
    resource = next(r for r in gateway.get_resources(restApiId=pipeline.api_id)["items"] if r["path"] != "/")
    method = gateway.get_method(restApiId=pipeline.api_id, resourceId=resource["id"], httpMethod="POST")
    assert method["methodIntegration"]["type"] == "AWS" and not method.get("apiKeyRequired")


def test_the_per_row_design_refuses_the_aws_target(local_cloud):
    import dataclasses

    with pytest.raises(per_row_design.PerRowError, match="local cloud only"):
        per_row_design.measure_per_row(10, dataclasses.replace(local_cloud, target="aws"))
