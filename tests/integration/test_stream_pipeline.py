"""The stream pipeline end to end on the local cloud, built with the workbook's own helpers.

client (helpers.client) -> API Gateway (proxy integration, API key, usage plan) -> Lambda
kinesis_api -> Kinesis -> two event source mappings -> Lambda write_kinesis_to_s3 (S3 raw layer)
and Lambda write_kinesis_to_dynamodb (tables invoice and customer).

Every resource gets a name of its own (a suffix on ``config.Names``), so these tests never meet
another test's stream, tables or API in the shared local cloud. The December 2010 file of the real
data set (28k rows), when present, goes through the same checks in a separate test, marked
``full_data`` so that ``-m "not full_data"`` leaves it out.
"""

from __future__ import annotations

import json
import re
import uuid

import pandas as pd
import pytest
import requests

from helpers import apigateway, aws, client, config, data, deploy, iam, stream
from helpers.benchmarking import (
    CONSUMERS,
    Pipeline,
    consumer_logs,
    pipeline_for,
    raw_lines,
    scan,
    stream_file,
    wait_until,
)

pytestmark = pytest.mark.integration

FULL_DATA = config.REPO_ROOT.parent / "shared" / "data" / "online_retail_2010-12.csv"
RESENT_ROWS = 1500  # streamed a second time: enough to span batches, shards and repeated lines


def invoice_quantities(items: list[dict]) -> dict[str, int]:
    return {
        item["InvoiceNo"]: sum(int(line["Quantity"]) for group in item.values() if isinstance(group, dict) for line in group.values())
        for item in items
    }


def source_expectations(frame: pd.DataFrame) -> dict:
    customers = frame.dropna(subset=["CustomerID"])
    return {
        "quantities": frame.groupby("InvoiceNo")["Quantity"].sum().astype(int).to_dict(),
        "invoices_by_customer": customers.groupby("CustomerID")["InvoiceNo"].apply(set).to_dict(),
    }


def assert_everything_accounted_for(pipeline: Pipeline, events: list[dict], expected: dict, resent: int = 0) -> list[dict]:
    keys, raw = raw_lines(pipeline)
    assert all(re.search(r"/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/shardId-\d{12}-\d+-\d+\.json$", k) for k in keys)
    assert len(raw) == len(events) + resent  # the raw layer is at-least-once: a re-sent row is a new record
    assert {e["EventId"] for e in raw} == {e["EventId"] for e in events}
    invoices = scan(pipeline.names.invoice_table)
    assert invoice_quantities(invoices) == expected["quantities"]
    assert sum(len(g) for item in invoices for g in item.values() if isinstance(g, dict)) == len(events)
    customers = scan(pipeline.names.customer_table)
    assert len(customers) == len(expected["invoices_by_customer"])
    assert {c["CustomerID"]: {k for k in c if k != "CustomerID"} for c in customers} == expected["invoices_by_customer"]
    return invoices


def api_get(pipeline: Pipeline, **params) -> requests.Response:
    return requests.get(pipeline.url, params=params, headers={"x-api-key": pipeline.api_key}, timeout=30)


def api_post(pipeline: Pipeline, body) -> requests.Response:
    return requests.post(pipeline.url, json=body, headers={"x-api-key": pipeline.api_key}, timeout=30)


# --- the tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(local_cloud):
    with pipeline_for(local_cloud, uuid.uuid4().hex[:6]) as built:
        yield built


@pytest.fixture(scope="module")
def sample_run(pipeline):
    return stream_file(pipeline, data.sample_path())


def test_every_source_row_reaches_s3_and_dynamodb(pipeline, sample_run, capsys):
    summary = sample_run.summary
    assert (summary.accepted, summary.rejected, summary.failed) == (len(sample_run.events), [], [])
    assert_everything_accounted_for(pipeline, sample_run.events, source_expectations(sample_run.frame))
    with capsys.disabled():
        print(sample_run.figures(pipeline, data.sample_path().name))


def test_streaming_the_same_rows_again_changes_nothing(pipeline, sample_run):
    invoices, customers = scan(pipeline.names.invoice_table), scan(pipeline.names.customer_table)
    writes_before = sum(e["dynamodb_writes"] for e in consumer_logs(pipeline, "write_kinesis_to_dynamodb"))

    again = stream_file(pipeline, data.sample_path(), limit=RESENT_ROWS)

    assert again.summary.accepted == RESENT_ROWS
    by_key = lambda items, key: sorted(items, key=lambda item: item[key])  # noqa: E731
    assert by_key(scan(pipeline.names.invoice_table), "InvoiceNo") == by_key(invoices, "InvoiceNo")
    assert by_key(scan(pipeline.names.customer_table), "CustomerID") == by_key(customers, "CustomerID")
    assert sum(e["dynamodb_writes"] for e in consumer_logs(pipeline, "write_kinesis_to_dynamodb")) == writes_before
    assert_everything_accounted_for(pipeline, sample_run.events, source_expectations(sample_run.frame), resent=RESENT_ROWS)


def test_get_answers_invoices_and_customers_from_dynamodb(pipeline, sample_run):
    frame = sample_run.frame
    repeated = frame[frame.duplicated(["InvoiceNo", "StockCode"], keep=False)]
    invoice_no = repeated["InvoiceNo"].iloc[0]  # an invoice that lists a StockCode more than once
    lines = frame[frame["InvoiceNo"] == invoice_no]

    response = api_get(pipeline, InvoiceNo=invoice_no)

    assert response.status_code == 200
    invoice = response.json()
    assert invoice["LineCount"] == len(lines) and invoice["Quantity"] == int(lines["Quantity"].sum())
    assert sorted(line["EventId"] for line in invoice["Lines"]) == sorted(
        client.event_id(data.sample_path().name, i) for i in lines.index
    )
    customer_id = frame["CustomerID"].dropna().iloc[0]
    customer = api_get(pipeline, CustomerID=customer_id).json()
    assert {i["InvoiceNo"] for i in customer["Invoices"]} == set(frame[frame["CustomerID"] == customer_id]["InvoiceNo"])
    assert all({"InvoiceDate", "Country", "LineCount", "Total", "Cancelled"} <= set(i) for i in customer["Invoices"])


def test_get_errors(pipeline, sample_run):
    assert api_get(pipeline, InvoiceNo="599990").status_code == 404
    assert api_get(pipeline, CustomerID="99999").status_code == 404
    assert api_get(pipeline, InvoiceNo="not-an-invoice").status_code == 400
    assert api_get(pipeline).status_code == 400
    refused = requests.delete(pipeline.url, headers={"x-api-key": pipeline.api_key}, timeout=30)
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, POST"
    assert requests.get(pipeline.url, params={"InvoiceNo": "599990"}, timeout=30).status_code == 403  # no API key


def test_a_bad_post_writes_nothing(pipeline, sample_run):
    event = {**sample_run.events[0], "InvoiceNo": "599999", "CustomerID": None}
    refused = api_post(pipeline, [{**event, "EventId": "bad-post:1"}, {**event, "EventId": "bad-post:2", "Quantity": "many"}])
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"index": 1, "EventId": "bad-post:2", "fields": {"Quantity": "an integer (negative for a cancellation)"}}]
    # A later event of the same invoice (same partition key, so same shard, behind anything written
    # before it): once it is stored, the refused request's valid event would have been too.
    assert api_post(pipeline, {**event, "EventId": "bad-post:3"}).status_code == 200
    stored = wait_until(lambda: aws.session().resource("dynamodb").Table(pipeline.names.invoice_table).get_item(
        Key={"InvoiceNo": "599999"}, ConsistentRead=True).get("Item"))  # fmt: skip
    assert set(stored[event["StockCode"]]) == {"bad-post:3"}
    def raw_ids_once_the_later_event_is_in():
        ids = {e["EventId"] for e in raw_lines(pipeline)[1]}
        return ids if "bad-post:3" in ids else None

    assert "bad-post:1" not in wait_until(raw_ids_once_the_later_event_is_in)


def test_the_courses_non_proxy_integration_with_the_passthrough_template(pipeline, sample_run):
    """The course's setup: a Lambda custom integration whose request template is the console's
    "Method Request passthrough"; errors are mapped by selection patterns on the error message
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html)."""
    from tests.integration.test_apigateway_invoke import METHOD_REQUEST_PASSTHROUGH

    gateway = aws.client("apigateway")
    api_id = gateway.create_rest_api(name=f"{pipeline.names.api_name}-custom")["id"]
    root = next(r["id"] for r in gateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = gateway.create_resource(restApiId=api_id, parentId=root, pathPart="invoices")["id"]
    function_arn = aws.client("lambda").get_function_configuration(FunctionName=pipeline.function("kinesis_api"))["FunctionArn"]
    for verb in ("GET", "POST"):
        gateway.put_method(restApiId=api_id, resourceId=resource, httpMethod=verb, authorizationType="NONE")
        gateway.put_integration(
            restApiId=api_id, resourceId=resource, httpMethod=verb, type="AWS", integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{pipeline.settings.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
            requestTemplates={"application/json": METHOD_REQUEST_PASSTHROUGH}, passthroughBehavior="WHEN_NO_TEMPLATES",
        )  # fmt: skip
        for status, pattern in (("200", None), ("400", r"\[400\].*"), ("404", r"\[404\].*")):
            gateway.put_method_response(restApiId=api_id, resourceId=resource, httpMethod=verb, statusCode=status)
            gateway.put_integration_response(
                restApiId=api_id, resourceId=resource, httpMethod=verb, statusCode=status,
                **({"selectionPattern": pattern} if pattern else {}),
            )  # fmt: skip
    aws.client("lambda").add_permission(
        FunctionName=pipeline.function("kinesis_api"), StatementId=f"apigateway-{api_id}", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{pipeline.settings.region}:{aws.account_id()}:{api_id}/*/*/invoices",
    )  # fmt: skip
    gateway.create_deployment(restApiId=api_id, stageName="prod")
    url = apigateway.invoke_url(api_id, "prod", "invoices")
    event = {**sample_run.events[0], "EventId": "custom:1", "InvoiceNo": "599997"}

    assert requests.post(url, json=event, timeout=30).json() == {"accepted": 1, "failed": 0, "attempts": 1}
    assert requests.post(url, json={**event, "Quantity": None}, timeout=30).status_code == 400
    known = sample_run.events[0]["InvoiceNo"]
    found = requests.get(url, params={"InvoiceNo": known}, timeout=30)
    assert found.status_code == 200 and found.json()["InvoiceNo"] == known
    assert requests.get(url, params={"InvoiceNo": "599990"}, timeout=30).status_code == 404


def test_deploying_again_changes_nothing(pipeline):
    lam = aws.client("lambda")
    name = pipeline.function("write_kinesis_to_dynamodb")
    before = lam.get_function_configuration(FunctionName=name)
    role_arn = iam.ensure_role("write_kinesis_to_dynamodb", iam.policy_values(name))
    environment = before["Environment"]["Variables"]
    assert deploy.deploy_function(name, "write_kinesis_to_dynamodb", role_arn, environment) == before["FunctionArn"]
    after = lam.get_function_configuration(FunctionName=name)
    assert (after["LastModified"], after["CodeSha256"]) == (before["LastModified"], before["CodeSha256"])
    mappings = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    stream_arn = mappings[0]["EventSourceArn"]
    queue_arn = stream.ensure_failure_queue(name)
    again = deploy.ensure_event_source_mapping(name, stream_arn, stream.mapping_settings(queue_arn))
    assert [m["UUID"] for m in mappings] == [again["UUID"]]
    assert (again["BatchSize"], again["FunctionResponseTypes"]) == (500, ["ReportBatchItemFailures"])


def test_a_poison_record_ends_in_each_consumers_failure_queue(pipeline, sample_run):
    """Last in the module: the poison record stays in the stream."""
    put = aws.client("kinesis").put_record(StreamName=pipeline.names.stream, Data=b"not json", PartitionKey="599998")
    sqs = aws.client("sqs")
    for module in CONSUMERS:
        url = sqs.get_queue_url(QueueName=stream.failure_queue_name(pipeline.function(module)))["QueueUrl"]
        message = wait_until(lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"), timeout=120)[0]
        info = json.loads(message["Body"])["KinesisBatchInfo"]
        assert info["shardId"] == put["ShardId"] and info["startSequenceNumber"] == put["SequenceNumber"]


@pytest.mark.full_data
@pytest.mark.skipif(not FULL_DATA.exists(), reason=f"{FULL_DATA} is not here")
def test_the_real_december_2010_file(local_cloud, capsys):
    with pipeline_for(local_cloud, uuid.uuid4().hex[:6]) as built:
        run = stream_file(built, FULL_DATA)
        assert (run.summary.accepted, run.summary.rejected, run.summary.failed) == (len(run.events), [], [])
        assert_everything_accounted_for(built, run.events, source_expectations(run.frame))
        with capsys.disabled():
            print(run.figures(built, FULL_DATA.name))
