"""Pure functions of the per-row design: the course's handlers (benchmarks/per_row/) and the
benchmark's accounting (helpers/per_row_design.py)."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from helpers import benchmarking, config, per_row_design


def handler_module(name: str):
    spec = importlib.util.spec_from_file_location(f"per_row_{name}", per_row_design.CODE_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROW = {"EventId": "f.csv:1", "InvoiceNo": "C600001", "StockCode": "85123A", "Description": "HEART", "Quantity": -6,
       "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": 2.55, "CustomerID": "20001", "Country": "United Kingdom"}  # fmt: skip


def test_the_api_puts_one_record_per_row_keyed_by_invoice():
    api = handler_module("course_kinesis_api")
    entry = api.kinesis_record(ROW)
    assert entry["PartitionKey"] == "C600001" and json.loads(entry["Data"]) == ROW


def test_the_dynamodb_consumer_makes_one_update_per_table_and_row():
    consumer = handler_module("course_write_kinesis_to_dynamodb")
    customer, invoice = consumer.updates_for(ROW)
    assert customer["Key"] == {"CustomerID": {"S": "20001"}} and set(customer["AttributeUpdates"]) == {"C600001"}
    assert invoice["Key"] == {"InvoiceNo": {"S": "C600001"}} and set(invoice["AttributeUpdates"]) == {"85123A"}
    assert json.loads(invoice["AttributeUpdates"]["85123A"]["Value"]["S"])["Quantity"] == -6


@pytest.mark.parametrize("customer", [None, ""])
def test_a_row_without_customer_updates_only_its_invoice(customer):
    consumer = handler_module("course_write_kinesis_to_dynamodb")
    [only] = consumer.updates_for({**ROW, "CustomerID": customer})
    assert only["Key"] == {"InvoiceNo": {"S": "C600001"}}


def test_the_s3_consumer_writes_one_object_per_batch_named_by_time_and_request():
    consumer = handler_module("course_write_kinesis_to_s3")
    records = [{"kinesis": {"data": base64.b64encode(json.dumps({"n": n}).encode()).decode()}} for n in range(3)]
    assert consumer.object_body(records).decode().splitlines() == ['{"n": 0}', '{"n": 1}', '{"n": 2}']
    at = datetime(2026, 11, 22, 7, 5, 9, 123456, tzinfo=timezone.utc)
    assert consumer.object_key("raw/", at, "req-1") == "raw/20261122-070509-123456-req-1.txt"


def test_the_api_role_also_allows_put_record():
    document = {"Statement": [{"Action": "kinesis:PutRecords", "Resource": "s"}, {"Action": ["logs:PutLogEvents"], "Resource": "l"}]}
    widened = per_row_design.per_row_permissions(document)
    assert widened["Statement"][0]["Action"] == ["kinesis:PutRecord", "kinesis:PutRecords"]
    assert widened["Statement"][1] == document["Statement"][1]
    assert per_row_design.per_row_permissions(widened) == widened


@pytest.mark.parametrize(
    ("status", "body", "failed"),
    [
        (200, '{"statusCode": 200, "body": "{}"}', False),
        (200, '{"errorMessage": "KeyError: \'context\'", "errorType": "KeyError"}', True),  # the course's pitfall
        (200, '{"statusCode": 501, "body": "no"}', True),
        (502, "Internal server error", True),
        (200, "not json", True),
    ],
)
def test_post_failure(status, body, failed):
    assert (per_row_design.post_failure(status, body) is not None) is failed


def test_expected_sinks_collapse_repeated_stock_codes_as_the_course_did():
    events = [ROW, {**ROW, "EventId": "f.csv:2", "Quantity": 1}, {**ROW, "EventId": "f.csv:3", "CustomerID": None}]
    expected = per_row_design.expected_sinks(events)
    assert expected["event_ids"] == Counter({"f.csv:1": 1, "f.csv:2": 1, "f.csv:3": 1})
    assert expected["invoice_attributes"] == {("C600001", "85123A")}
    assert expected["customer_attributes"] == {("20001", "C600001")}
    assert expected["update_item_calls"] == 5


def test_stored_attributes():
    items = [{"InvoiceNo": "600001", "A": "{}", "B": "{}"}, {"InvoiceNo": "600002", "A": "{}"}]
    assert per_row_design.stored_attributes(items, "InvoiceNo") == {("600001", "A"), ("600001", "B"), ("600002", "A")}


def test_the_per_row_design_gets_names_of_its_own():
    s = benchmarking.suffixed_settings(config.load(), "perrow-abc123")
    n, base = s.names, config.Names()
    assert (n.stream, n.invoice_table, n.api_name) == ("api-data-perrow-abc123", "invoice-perrow-abc123", "aws-project-api-perrow-abc123")
    assert n.bucket("123456789012", "us-east-1") == "aws-project-perrow-abc123-123456789012-us-east-1"
    assert all(role == f"{base.roles[key]}-perrow-abc123" for key, role in n.roles.items())
