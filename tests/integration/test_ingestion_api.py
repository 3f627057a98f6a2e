"""Notebooks 03–05's building blocks on the local cloud: the ingestion API, the storage, the waits.

Each ``ensure_*`` must be idempotent (a notebook runs twice without creating anything twice) and
bring a changed setting back. Resources get names of their own (a suffix on ``config.Names``), so
that these tests never meet another test's API, stream or tables in the shared local cloud.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import requests

from helpers import aws, config, deploy, iam, ingestion_api, sinks, storage
from helpers.prerequisites import MissingPrerequisite
from tests.conftest import own_names

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def names(local_cloud):
    tag = uuid.uuid4().hex[:6]
    n = local_cloud.names
    with own_names(
        local_cloud,
        stream=f"{n.stream}-{tag}",
        invoice_table=f"{n.invoice_table}-{tag}",
        customer_table=f"{n.customer_table}-{tag}",
        api_name=f"{n.api_name}-{tag}",
        fn_kinesis_api=f"{n.fn_kinesis_api}-{tag}",
        roles={key: f"{role}-{tag}" for key, role in n.roles.items()},
    ) as (suffixed, _):
        yield suffixed


@pytest.fixture(scope="module")
def api(names):
    storage.ensure_stream(names.stream, 1)
    role_arn = iam.ensure_role("kinesis_api", iam.policy_values(names.fn_kinesis_api))
    environment = {"STREAM_NAME": names.stream, "INVOICE_TABLE": names.invoice_table, "CUSTOMER_TABLE": names.customer_table}
    deploy.deploy_function(names.fn_kinesis_api, "kinesis_api", role_arn, environment, timeout_s=25)
    return ingestion_api.ensure_api(names.fn_kinesis_api)


EVENT = {
    "EventId": "test.csv:1", "InvoiceNo": "536365", "StockCode": "85123A", "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
    "Quantity": 6, "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": 2.55, "CustomerID": "17850", "Country": "United Kingdom",
}  # fmt: skip


def test_building_the_api_again_creates_nothing(api, names):
    gateway = aws.client("apigateway")
    again = ingestion_api.ensure_api(names.fn_kinesis_api)
    assert again == api  # same API, key, plan and deployment: no redeployment
    assert ingestion_api.find_api() == api
    assert len(gateway.get_deployments(restApiId=api.api_id)["items"]) == 1
    assert [s["Sid"] for s in ingestion_api.permission_statements(names.fn_kinesis_api)] == [
        f"apigateway-{api.api_id}-post", f"apigateway-{api.api_id}-get",
    ]  # fmt: skip


def test_the_key_gates_the_api_and_the_model_gates_the_body(api):
    headers = api.headers()
    assert requests.post(api.url, json=EVENT, headers=headers, timeout=30).json() == {"accepted": 1, "failed": 0, "attempts": 1}
    assert requests.post(api.url, json=EVENT, timeout=30).status_code == 403
    refused = requests.post(api.url, json=[], headers=headers, timeout=30)
    assert (refused.status_code, refused.json()) == (400, {"message": "Invalid request body"})
    by_function = requests.post(api.url, json=[EVENT, {**EVENT, "Quantity": "six"}], headers=headers, timeout=30)
    assert by_function.status_code == 400 and by_function.json()["errors"][0]["index"] == 1
    assert requests.get(api.url, headers=headers, timeout=30).status_code == 400  # GET reaches the function


def test_changed_limits_update_the_plan_without_a_redeployment(api, names):
    changed = ingestion_api.ensure_api(names.fn_kinesis_api, throttle={"rateLimit": 5.0, "burstLimit": 10}, quota={"limit": 99, "period": "WEEK"})
    plan = aws.client("apigateway").get_usage_plan(usagePlanId=api.usage_plan_id)
    assert (plan["throttle"], plan["quota"]["limit"], plan["quota"]["period"]) == ({"rateLimit": 5.0, "burstLimit": 10}, 99, "WEEK")
    assert changed.deployment_id == api.deployment_id
    ingestion_api.ensure_api(names.fn_kinesis_api)  # back to the defaults for the other tests


def test_a_changed_model_is_replaced_and_deployed(api, names, monkeypatch):
    stricter = {**ingestion_api.POST_BODY_SCHEMA, "oneOf": [{"type": "array", "minItems": 1, "maxItems": 500, "items": {"type": "object"}}]}
    monkeypatch.setattr(ingestion_api, "POST_BODY_SCHEMA", stricter)
    changed = ingestion_api.ensure_api(names.fn_kinesis_api)
    assert changed.deployment_id != api.deployment_id
    headers = api.headers()
    assert requests.post(api.url, json=EVENT, headers=headers, timeout=30).status_code == 400  # one object: no longer allowed
    assert requests.post(api.url, json=[EVENT], headers=headers, timeout=30).status_code == 200
    monkeypatch.undo()
    assert ingestion_api.ensure_api(names.fn_kinesis_api).deployment_id not in (api.deployment_id, changed.deployment_id)


def test_storage_is_created_once_and_set_up_as_documented(names, local_cloud):
    first = storage.ensure_stream(names.stream, 1)
    with pytest.warns(UserWarning, match="is not applied"):
        again = storage.ensure_stream(names.stream, 3)
    assert (first["StreamARN"], again["OpenShardCount"], again["EncryptionType"]) == (again["StreamARN"], 1, "KMS")
    for _ in range(2):
        storage.ensure_table(names.invoice_table, "InvoiceNo")
        storage.ensure_bucket(aws.bucket(), local_cloud.region)
    row = storage.table_row(names.invoice_table)
    assert (row["billing"], row["point-in-time recovery"]) == ("PAY_PER_REQUEST", "ENABLED")
    assert dict(storage.bucket_rows(aws.bucket()))["public access blocked"] is True


def test_a_wait_that_cannot_end_says_how_far_it_got(api, names):
    """No consumer reads this stream: the wait must stop and name where to look."""
    storage.ensure_bucket(aws.bucket(), config.settings().region)
    with pytest.raises(sinks.NotArrivedError) as error:
        sinks.wait_for_raw_events(
            ["never-sent:1"], bucket=aws.bucket(), prefix="nothing-here/", function_name="no_such_consumer",
            stream_name=names.stream, before=Counter(), timeout_s=1, every_s=0.5,
        )  # fmt: skip
    message = str(error.value)
    assert "0 of 1 events" in message and "never-sent:1" in message and "/aws/lambda/no_such_consumer" in message


def test_a_missing_prerequisite_names_the_notebook(names):
    from helpers import prerequisites

    with pytest.raises(MissingPrerequisite, match="notebook 03"):
        prerequisites.stream_arn("no-such-stream")
    with pytest.raises(MissingPrerequisite, match="notebook 02"):
        prerequisites.role_arn("bulk_import")
