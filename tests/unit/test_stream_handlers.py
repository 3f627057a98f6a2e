"""The stream pipeline's Lambda handlers: validation, grouping, naming, merging, failure reporting.

The API and S3 handlers are tested as pure functions (plus fakes for the Kinesis and S3 calls);
the DynamoDB handler runs against moto's in-process DynamoDB, so that its conditional writes and
expressions meet the real service model.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_code import kinesis_api as api
from lambda_code import write_kinesis_to_dynamodb as to_dynamodb
from lambda_code import write_kinesis_to_s3 as to_s3

CONTEXT = SimpleNamespace(aws_request_id="req-1", invoked_function_arn="arn:aws:lambda:eu-west-1:111122223333:function:f")


def line(**overrides):
    event = {
        "EventId": "sample.csv:1",
        "InvoiceNo": "536365",
        "StockCode": "85123A",
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity": 6,
        "InvoiceDate": "12/1/10 8:26",
        "UnitPrice": 2.55,
        "CustomerID": "17850",
        "Country": "United Kingdom",
    }
    event.update(overrides)
    return event


def proxy(method, body=None, query=None):
    return {"httpMethod": method, "body": body, "queryStringParameters": query, "isBase64Encoded": False}


def record(event, sequence, arrival=1291191960.0, shard="shardId-000000000000", raw=None):
    data = raw if raw is not None else base64.b64encode(json.dumps(event).encode()).decode()
    return {
        "kinesis": {"data": data, "sequenceNumber": str(sequence), "partitionKey": "p", "approximateArrivalTimestamp": arrival},
        "eventID": f"{shard}:{sequence}",
        "eventSource": "aws:kinesis",
    }


class FakeKinesis:
    """PutRecords that fails the records whose EventId is listed, a given number of times."""

    def __init__(self, fail_ids=(), times=1, whole_call_error=None):
        self.fail_ids, self.times, self.whole_call_error = set(fail_ids), times, whole_call_error
        self.calls = []

    def put_records(self, StreamName, Records):
        self.calls.append([json.loads(r["Data"])["EventId"] for r in Records])
        if self.whole_call_error and len(self.calls) <= self.times:
            raise ClientError({"Error": {"Code": self.whole_call_error, "Message": "slow down"}}, "PutRecords")
        results = []
        for entry in Records:
            if json.loads(entry["Data"])["EventId"] in self.fail_ids and len(self.calls) <= self.times:
                results.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "rate"})
            else:
                results.append({"SequenceNumber": str(len(self.calls)), "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}


@pytest.fixture
def fake_kinesis(monkeypatch):
    fake = FakeKinesis()
    monkeypatch.setattr(api, "kinesis_client", lambda: fake)
    monkeypatch.setattr(api.time, "sleep", lambda s: None)
    return fake


# --- kinesis_api: validation ------------------------------------------------------------------


def test_a_valid_event_is_normalised():
    event, errors = api.validate_event(line(CustomerID=17850.0, InvoiceNo=536365))
    assert errors == {}
    assert event["InvoiceDate"] == "2010-12-01 08:26:00"  # month/day/two-digit year, as the source writes
    assert event["CustomerID"] == "17850" and event["InvoiceNo"] == "536365"
    assert list(event) == list(api.FIELDS)


@pytest.mark.parametrize("blank", [None, ""])
def test_customer_id_is_optional(blank):
    event, errors = api.validate_event(line(CustomerID=blank))
    assert errors == {} and event["CustomerID"] is None
    event, errors = api.validate_event({k: v for k, v in line().items() if k != "CustomerID"})
    assert errors == {} and event["CustomerID"] is None


@pytest.mark.parametrize(
    "field, value",
    [
        ("InvoiceNo", "53636"),
        ("InvoiceNo", "X-536365"),
        ("StockCode", ""),
        ("StockCode", "Version"),  # would overwrite an invoice attribute
        ("Quantity", "6"),
        ("Quantity", 6.5),
        ("Quantity", True),
        ("UnitPrice", "2.55"),
        ("UnitPrice", float("inf")),
        ("UnitPrice", 1e12),
        ("InvoiceDate", "yesterday"),
        ("InvoiceDate", "13/45/10 8:26"),
        ("CustomerID", "17850;DROP"),
        ("Country", ""),
        ("EventId", ""),
        ("EventId", None),
        ("Description", 12),
    ],
)
def test_each_bad_field_is_named(field, value):
    event, errors = api.validate_event(line(**{field: value}))
    assert event is None and field in errors


def test_cancellations_and_iso_dates_are_valid():
    event, errors = api.validate_event(line(InvoiceNo="C536379", Quantity=-1, InvoiceDate="2010-12-01T09:41:00+00:00"))
    assert errors == {} and event["InvoiceDate"] == "2010-12-01 09:41:00"


def test_unknown_fields_are_refused():
    _, errors = api.validate_event(line(TotalPrice=15.3))
    assert "TotalPrice" in errors


def test_batch_errors_are_indexed_and_the_partition_key_is_the_invoice():
    entries, errors = api.validate_batch([line(), line(EventId="s:2", Quantity="x"), "not an object"])
    assert [e["index"] for e in errors] == [1, 2]
    assert errors[0]["EventId"] == "s:2" and "Quantity" in errors[0]["fields"]
    assert entries[0]["PartitionKey"] == "536365"


def test_a_record_over_the_kinesis_limit_is_refused(monkeypatch):
    monkeypatch.setattr(api, "MAX_RECORD_BYTES", 100)
    _, errors = api.validate_batch([line()])
    assert "bytes once encoded" in errors[0]["fields"]["event"]


# --- kinesis_api: PutRecords retries -----------------------------------------------------------


def test_only_failed_records_are_sent_again():
    fake = FakeKinesis(fail_ids={"s:2"}, times=1)
    entries, _ = api.validate_batch([line(EventId="s:1"), line(EventId="s:2"), line(EventId="s:3")])
    outcome = api.put_entries(fake, "api-data", entries, sleep=lambda s: None)
    assert fake.calls == [["s:1", "s:2", "s:3"], ["s:2"]]
    assert (outcome.accepted, outcome.failed, outcome.attempts) == (3, [], 2)


def test_records_failing_every_attempt_are_reported_by_index():
    fake = FakeKinesis(fail_ids={"s:2"}, times=99)
    entries, _ = api.validate_batch([line(EventId="s:1"), line(EventId="s:2")])
    outcome = api.put_entries(fake, "api-data", entries, sleep=lambda s: None)
    assert outcome.attempts == api.PUT_ATTEMPTS and outcome.accepted == 1
    assert outcome.failed == [{"index": 1, "EventId": "s:2", "ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "rate"}]


def test_a_throttled_call_is_retried_and_other_errors_raise():
    fake = FakeKinesis(whole_call_error="ProvisionedThroughputExceededException", times=1)
    entries, _ = api.validate_batch([line()])
    assert api.put_entries(fake, "api-data", entries, sleep=lambda s: None).accepted == 1
    with pytest.raises(ClientError):
        api.put_entries(FakeKinesis(whole_call_error="ResourceNotFoundException"), "api-data", entries, sleep=lambda s: None)


# --- kinesis_api: HTTP -------------------------------------------------------------------------


def test_post_accepts_an_object_or_an_array(fake_kinesis):
    response = api.handler(proxy("POST", json.dumps(line())), CONTEXT)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"accepted": 1, "failed": 0, "attempts": 1}
    response = api.handler(proxy("POST", json.dumps([line(), line(EventId="s:2")])), CONTEXT)
    assert json.loads(response["body"])["accepted"] == 2


def test_one_bad_event_refuses_the_request_and_writes_nothing(fake_kinesis):
    response = api.handler(proxy("POST", json.dumps([line(), line(EventId="s:2", UnitPrice="free")])), CONTEXT)
    body = json.loads(response["body"])
    assert response["statusCode"] == 400
    assert body["errors"] == [{"index": 1, "EventId": "s:2", "fields": {"UnitPrice": "a number"}}]
    assert fake_kinesis.calls == []


@pytest.mark.parametrize("text", ["{not json", '{"Quantity": NaN}', "[]", ""])
def test_malformed_or_empty_bodies_are_400(fake_kinesis, text):
    assert api.handler(proxy("POST", text), CONTEXT)["statusCode"] == 400
    assert fake_kinesis.calls == []


def test_too_large_or_too_many_is_413(fake_kinesis, monkeypatch):
    response = api.handler(proxy("POST", json.dumps([line(EventId=f"s:{i}") for i in range(501)])), CONTEXT)
    assert response["statusCode"] == 413
    monkeypatch.setattr(api, "MAX_BODY_BYTES", 50)
    assert api.handler(proxy("POST", json.dumps(line())), CONTEXT)["statusCode"] == 413
    assert fake_kinesis.calls == []


def test_events_kinesis_keeps_refusing_are_a_503_naming_them(fake_kinesis):
    fake_kinesis.fail_ids, fake_kinesis.times = {"s:2"}, 99
    response = api.handler(proxy("POST", json.dumps([line(), line(EventId="s:2")])), CONTEXT)
    body = json.loads(response["body"])
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"
    assert body["accepted"] == 1 and [f["index"] for f in body["failed_events"]] == [1]


def test_other_methods_are_405_with_allow():
    response = api.handler(proxy("DELETE", body="{not json"), CONTEXT)
    assert response["statusCode"] == 405 and response["headers"]["Allow"] == "GET, POST"


@pytest.mark.parametrize("query", [None, {"InvoiceNo": "536365", "CustomerID": "17850"}, {"InvoiceNo": "12"}, {"CustomerID": "a b"}])
def test_get_needs_exactly_one_valid_parameter(query):
    assert api.handler(proxy("GET", query=query), CONTEXT)["statusCode"] == 400


def test_the_passthrough_integration_gets_plain_objects_and_raised_errors(fake_kinesis):
    event = {"body-json": [line()], "params": {"querystring": {}}, "context": {"http-method": "POST"}}
    assert api.handler(event, CONTEXT) == {"accepted": 1, "failed": 0, "attempts": 1}
    bad = {"body-json": line(Quantity="six"), "params": {"querystring": {}}, "context": {"http-method": "POST"}}
    with pytest.raises(api.ApiError, match=r"^\[400\] .*Quantity"):
        api.handler(bad, CONTEXT)


def test_views_of_the_stored_items():
    item = {
        "InvoiceNo": "536365", "InvoiceDate": "2010-12-01 08:26:00", "CustomerID": "17850", "Country": "United Kingdom",
        "Version": Decimal(1),
        "85123A": {
            "s.csv:10": {"Quantity": Decimal(6), "UnitPrice": Decimal("2.55"), "Description": "A", "InvoiceDate": "x"},
            "s.csv:9": {"Quantity": Decimal(6), "UnitPrice": Decimal("2.55"), "Description": "A", "InvoiceDate": "x"},
        },
    }  # fmt: skip
    view = api.invoice_view(item)
    assert [line["EventId"] for line in view["Lines"]] == ["s.csv:9", "s.csv:10"]
    assert view["LineCount"] == 2 and view["Quantity"] == 12 and view["Total"] == Decimal("30.60")
    customer = api.customer_view({"CustomerID": "17850", "536365": {"InvoiceDate": "b"}, "536366": {"InvoiceDate": "a"}})
    assert [i["InvoiceNo"] for i in customer["Invoices"]] == ["536366", "536365"]


# --- write_kinesis_to_s3 -------------------------------------------------------------------------


def test_object_keys_are_hive_partitions_named_by_shard_and_sequence_numbers():
    hour = datetime(2010, 12, 1, 8, tzinfo=timezone.utc)
    key = to_s3.object_key("aws-project/kinesis-stream/", "shardId-000000000001", hour, "11", "42")
    assert key == "aws-project/kinesis-stream/year=2010/month=12/day=01/hour=08/shardId-000000000001-11-42.json"


def test_one_object_per_batch_split_at_hour_boundaries():
    records = [record(line(EventId=f"s:{i}"), i, arrival=1291193940.0 + 30 * i) for i in range(1, 5)]  # 08:59:30 -> 09:01
    objects, undecodable = to_s3.plan_objects(records)
    assert undecodable == []
    assert [(o.hour.hour, o.sequence_numbers) for o in objects] == [(8, ["1"]), (9, ["2", "3", "4"])]
    assert [json.loads(x)["EventId"] for x in objects[1].body().decode().splitlines()] == ["s:2", "s:3", "s:4"]


def test_undecodable_records_are_reported_and_split_the_object():
    records = [record(line(), 1), record(None, 2, raw="!!not base64"), record(None, 3, raw=base64.b64encode(b"[1]").decode()), record(line(), 4)]
    objects, undecodable = to_s3.plan_objects(records)
    assert [o.sequence_numbers for o in objects] == [["1"], ["4"]]
    assert [number for number, _ in undecodable] == ["2", "3"]


class FakeS3:
    def __init__(self, fail_keys=()):
        self.objects, self.fail_keys = {}, set(fail_keys)

    def put_object(self, Bucket, Key, Body, ContentType):
        if Key in self.fail_keys:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "busy"}}, "PutObject")
        self.objects[(Bucket, Key)] = Body


def test_a_redelivered_batch_overwrites_its_object(monkeypatch):
    fake = FakeS3()
    monkeypatch.setattr(to_s3, "s3", lambda: fake)
    monkeypatch.delenv("BUCKET", raising=False)
    batch = {"Records": [record(line(EventId=f"s:{i}"), i) for i in range(1, 4)]}
    assert to_s3.handler(batch, CONTEXT) == {"batchItemFailures": []}
    assert to_s3.handler(batch, CONTEXT) == {"batchItemFailures": []}
    assert list(fake.objects) == [
        ("aws-project-111122223333-eu-west-1", "aws-project/kinesis-stream/year=2010/month=12/day=01/hour=08/shardId-000000000000-1-3.json")
    ]


def test_records_of_an_object_that_could_not_be_written_are_reported(monkeypatch):
    records = [record(line(), 9, arrival=1291193990.0), record(line(), 10, arrival=1291194010.0), record(None, 11, raw="%%")]
    failing_key = to_s3.plan_objects(records)[0][1].key(to_s3.RAW_PREFIX)
    monkeypatch.setattr(to_s3, "s3", lambda: FakeS3(fail_keys={failing_key}))
    response = to_s3.handler({"Records": records}, CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": "10"}, {"itemIdentifier": "11"}]}


def test_failures_are_listed_in_numeric_sequence_order():
    assert to_s3.batch_item_failures(["100", "99", "100"]) == {"batchItemFailures": [{"itemIdentifier": "99"}, {"itemIdentifier": "100"}]}


# --- write_kinesis_to_dynamodb: pure merging -----------------------------------------------------


def stored(event_id, **overrides):
    event, errors = api.validate_event(line(EventId=event_id, **overrides))
    assert not errors
    return to_dynamodb.Line(event_id.split(":")[1], json.loads(json.dumps(event), parse_float=Decimal))


def test_merging_keeps_repeated_stock_codes_and_exact_duplicates():
    lines = [stored("s:1"), stored("s:2"), stored("s:3", Quantity=2), stored("s:4", StockCode="71053")]
    item = to_dynamodb.merge_invoice(None, lines)
    assert set(item["85123A"]) == {"s:1", "s:2", "s:3"} and set(item["71053"]) == {"s:4"}
    assert item["85123A"]["s:1"] == item["85123A"]["s:2"]  # the same line twice in the source: both kept
    assert item["Version"] == 1 and item["CustomerID"] == "17850" and item["InvoiceDate"] == "2010-12-01 08:26:00"
    summary = to_dynamodb.invoice_summary(item)
    assert (summary["LineCount"], summary["Quantity"], summary["Total"], summary["Cancelled"]) == (4, 20, Decimal("51.00"), False)


def test_merging_again_changes_nothing():
    lines = [stored("s:1"), stored("s:2")]
    item = to_dynamodb.merge_invoice(None, lines)
    assert to_dynamodb.merge_invoice(item, lines) is None
    grown = to_dynamodb.merge_invoice(item, lines + [stored("s:3", StockCode="22752")])
    assert grown["Version"] == 2 and set(grown) >= {"85123A", "22752"}


def test_a_line_that_disagrees_with_its_invoice_keeps_its_own_customer():
    item = to_dynamodb.merge_invoice(None, [stored("s:1"), stored("s:2", CustomerID=None)])
    assert "CustomerID" not in item["85123A"]["s:1"] and item["85123A"]["s:2"]["CustomerID"] is None


def test_the_earliest_line_dates_the_invoice_and_cancellations_are_flagged():
    item = to_dynamodb.merge_invoice(None, [stored("s:1", InvoiceNo="C536391", Quantity=-2, InvoiceDate="12/1/10 10:25"), stored("s:2", InvoiceNo="C536391", Quantity=-1, InvoiceDate="12/1/10 10:24")])
    summary = to_dynamodb.invoice_summary(item)
    assert summary["InvoiceDate"] == "2010-12-01 10:24:00" and summary["Cancelled"] is True and summary["Total"] < 0


def test_a_new_invoice_is_put_and_a_stored_one_gets_only_its_new_lines():
    first = to_dynamodb.merge_invoice(None, [stored("s:1")])
    operation, arguments = to_dynamodb.invoice_write(None, first)
    assert operation == "put_item" and arguments["ConditionExpression"] == "attribute_not_exists(InvoiceNo)"
    grown = to_dynamodb.merge_invoice(first, [stored("s:2"), stored("s:3", StockCode="22752")])
    operation, arguments = to_dynamodb.invoice_write(first, grown)
    assert operation == "update_item" and arguments["ConditionExpression"] == "#v = :v"
    names, values = arguments["ExpressionAttributeNames"], arguments["ExpressionAttributeValues"]
    assignments = {
        ".".join(names[alias] for alias in path.split(".")): values[value]
        for path, value in (a.split(" = ") for a in arguments["UpdateExpression"].removeprefix("SET ").split(", "))
    }
    assert assignments == {
        "Version": 2,
        "85123A.s:2": grown["85123A"]["s:2"],  # a new line in a stored StockCode attribute
        "22752": grown["22752"],  # a new StockCode attribute, whole
    }


def test_changes_too_large_for_one_expression_put_the_whole_item():
    first = to_dynamodb.merge_invoice(None, [stored("s:1")])
    grown = to_dynamodb.merge_invoice(first, [stored(f"s:{i}") for i in range(2, 150)])
    operation, arguments = to_dynamodb.invoice_write(first, grown)
    assert operation == "put_item" and arguments["Item"] is grown
    assert arguments["ExpressionAttributeValues"] == {":v": 1}


def test_poison_records_are_set_aside():
    plan = to_dynamodb.plan_batch([record(line(EventId="s:1"), 1), record(None, 2, raw="@@"), record({"EventId": "s:3"}, 3)])
    assert list(plan.lines_by_invoice) == ["536365"]
    assert [number for number, _ in plan.poison] == ["2", "3"]


# --- write_kinesis_to_dynamodb: against moto's DynamoDB ------------------------------------------


@pytest.fixture
def tables(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # an integration session may have set it
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        for name, key in (("invoice", "InvoiceNo"), ("customer", "CustomerID")):
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        to_dynamodb.dynamodb.cache_clear()
        yield dynamodb.Table("invoice"), dynamodb.Table("customer")
        to_dynamodb.dynamodb.cache_clear()


def normalised(**overrides):
    event, errors = api.validate_event(line(**overrides))
    assert not errors
    return json.loads(json.dumps(event, default=api._json_default))


def test_a_batch_is_written_once_per_invoice_and_customer_and_redelivery_writes_nothing(tables, capsys):
    invoices, customers = tables
    events = [normalised(EventId=f"s:{i}") for i in range(1, 4)] + [normalised(EventId="s:4", InvoiceNo="536366", CustomerID=None)]
    batch = {"Records": [record(e, i) for i, e in enumerate(events, start=1)]}
    assert to_dynamodb.handler(batch, CONTEXT) == {"batchItemFailures": []}
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (first["dynamodb_writes"], first["dynamodb_items_written"], first["records"]) == (2, 3, 4)  # 1 customer, 1 BatchWriteItem of 2 invoices
    assert len(invoices.get_item(Key={"InvoiceNo": "536365"})["Item"]["85123A"]) == 3
    assert "536366" in {i["InvoiceNo"] for i in invoices.scan()["Items"]}
    summary = customers.get_item(Key={"CustomerID": "17850"})["Item"]["536365"]
    assert summary["LineCount"] == 3 and summary["Total"] == Decimal("45.9")

    assert to_dynamodb.handler(batch, CONTEXT) == {"batchItemFailures": []}
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["dynamodb_writes"] == again["dynamodb_items_written"] == 0
    assert invoices.get_item(Key={"InvoiceNo": "536365"})["Item"]["Version"] == 1


def test_a_later_batch_adds_its_lines_to_the_stored_invoice(tables):
    invoices, customers = tables
    first = [normalised(EventId="s:1"), normalised(EventId="s:2", StockCode="71053")]
    later = [normalised(EventId="s:3"), normalised(EventId="s:4", StockCode="22752", Quantity=2)]
    to_dynamodb.handler({"Records": [record(e, i) for i, e in enumerate(first, start=1)]}, CONTEXT)
    assert to_dynamodb.handler({"Records": [record(e, i) for i, e in enumerate(later, start=3)]}, CONTEXT) == {"batchItemFailures": []}
    item = invoices.get_item(Key={"InvoiceNo": "536365"})["Item"]
    assert item == to_dynamodb.merge_invoice(None, [to_dynamodb.Line(str(i), json.loads(json.dumps(e), parse_float=Decimal)) for i, e in enumerate(first + later)]) | {"Version": 2}
    assert customers.get_item(Key={"CustomerID": "17850"})["Item"]["536365"]["LineCount"] == 4


def test_a_failed_invoice_write_reports_its_records_and_poison(tables, monkeypatch):
    invoices, _ = tables
    invoices.put_item(Item={"InvoiceNo": "536366", "Version": 5, "Country": "France"})
    stale = {"InvoiceNo": "536366", "Version": 4, "Country": "France"}  # as if read before another writer
    real_read = to_dynamodb.read_invoices
    monkeypatch.setattr(to_dynamodb, "read_invoices", lambda numbers, counters: {**real_read(numbers, counters), "536366": stale})
    records = [
        record(normalised(EventId="s:1"), 1),
        record(normalised(EventId="s:2", InvoiceNo="536366"), 2),
        record(None, 3, raw="??"),
        record(normalised(EventId="s:4", InvoiceNo="536366"), 4),
    ]
    response = to_dynamodb.handler({"Records": records}, CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}, {"itemIdentifier": "4"}]}
    assert invoices.get_item(Key={"InvoiceNo": "536365"})["Item"]["Version"] == 1  # the other invoice got through


def test_an_invoice_over_400_kb_fails_alone_when_its_batch_write_is_rejected(tables, monkeypatch, capsys):
    """DynamoDB rejects a whole BatchWriteItem when one item is over 400 KB (the local cloud's
    rule, planes/dynamodb_rules.py, kept here too): the function writes that request's invoices
    one at a time, so only the oversized one is reported."""
    from moto.dynamodb.responses import DynamoHandler

    from helpers.localcloud.planes import dynamodb_rules

    monkeypatch.setattr(DynamoHandler, "batch_write_item", dynamodb_rules._batch_write_item_rejected_whole(DynamoHandler.batch_write_item))
    invoices, _ = tables
    large = [normalised(EventId=f"s:{i}", InvoiceNo="536366", Description="x" * 1000) for i in range(2, 422)]  # 420 lines of 1 KB
    events = [normalised(EventId="s:1")] + large
    response = to_dynamodb.handler({"Records": [record(e, i) for i, e in enumerate(events, start=1)]}, CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": str(i)} for i in range(2, 422)]}
    assert [item["InvoiceNo"] for item in invoices.scan()["Items"]] == ["536365"]
    assert "rejected" in capsys.readouterr().out
