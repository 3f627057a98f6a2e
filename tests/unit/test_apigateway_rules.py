"""The rules of the local API Gateway that need no server: routing, passthrough, integration
responses, proxy responses, throttling, quotas, validation, permissions, binary media types.

Each test names the AWS documentation page it follows.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from helpers import apigateway, config
from helpers.localcloud.apigateway.binary_media import created_types, patched_types
from helpers.localcloud.apigateway.deployments import (
    DeployedApi,
    IntegrationConfig,
    IntegrationResponseConfig,
    MethodConfig,
    ResourceConfig,
    ValidatorConfig,
)
from helpers.localcloud.apigateway.lambda_integration import function_arn, proxy_event, proxy_result
from helpers.localcloud.apigateway.mapping import (
    choose_integration_response,
    choose_request_template,
    choose_response_template,
)
from helpers.localcloud.apigateway.permissions import arn_like, invoke_allowed, source_arns
from helpers.localcloud.apigateway.request import ApiRequest
from helpers.localcloud.apigateway.responses import GatewayError
from helpers.localcloud.apigateway.routing import route
from helpers.localcloud.apigateway.usage import Quotas, TokenBucket, find_key, period_start, stage_limit
from helpers.localcloud.apigateway.validation import validate_request

FN = "arn:aws:lambda:us-east-1:123456789012:function:kinesis_api"


def method(verb: str = "GET", **overrides) -> MethodConfig:
    fields = dict(http_method=verb, authorization_type="NONE", api_key_required=False, request_parameters={},
                  request_models={}, request_validator_id=None, integration=None)
    return MethodConfig(**{**fields, **overrides})


def integration(templates: dict | None = None, passthrough: str = "WHEN_NO_MATCH", responses: dict | None = None):
    return IntegrationConfig(type="AWS", uri=None, http_method="POST", request_templates=templates or {},
                             request_parameters={}, passthrough_behavior=passthrough, content_handling=None,
                             timeout_ms=29000, credentials=None, responses=responses or {})


def request(
    method_: str = "GET", path: str = "/", query: str = "", headers: list | None = None, body: bytes = b""
) -> ApiRequest:
    return ApiRequest.build(method_, path, query, headers or [], body, "127.0.0.1", "HTTP/1.1")


def api(**overrides) -> DeployedApi:
    fields = dict(api_id="a1b2c3d4e5", account_id="123456789012", region="us-east-1", deployment_id="d1",
                  binary_media_types=(), api_key_source="HEADER", resources=(), models={}, validators={},
                  gateway_responses={})
    return DeployedApi(**{**fields, **overrides})


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html ---

RESOURCES = (
    ResourceConfig("root", "/", {"GET": method()}),
    ResourceConfig("inv", "/invoices", {"GET": method(), "POST": method("POST")}),
    ResourceConfig("one", "/invoices/{InvoiceNo}", {"GET": method()}),
    ResourceConfig("cancel", "/invoices/cancelled", {"GET": method()}),
    ResourceConfig("proxy", "/{proxy+}", {"ANY": method("ANY")}),
)


@pytest.mark.parametrize(
    "verb, path, resource, parameters",
    [
        ("GET", "/", "root", {}),
        ("GET", "/invoices/", "inv", {}),  # a trailing slash is ignored
        ("GET", "/invoices/cancelled", "cancel", {}),  # a literal beats a variable
        ("GET", "/invoices/536365", "one", {"InvoiceNo": "536365"}),
        ("PUT", "/invoices", "proxy", {"proxy": "invoices"}),  # /invoices has no PUT: the greedy ANY takes it
        ("DELETE", "/a/b/c", "proxy", {"proxy": "a/b/c"}),
        ("GET", "/Invoices", "proxy", {"proxy": "Invoices"}),  # paths are case-sensitive
    ],
)
def test_set_up_simple_proxy_most_specific_resource_wins(verb, path, resource, parameters):
    matched = route(RESOURCES, verb, path)
    assert matched is not None and matched.resource.id == resource and matched.path_parameters == parameters


def test_set_up_simple_proxy_greedy_variable_needs_a_segment_and_a_method():
    assert route(RESOURCES[1:], "POST", "/") is None  # {proxy+} does not match the root
    assert route(RESOURCES[:4], "PUT", "/invoices") is None  # no such method: 403 on AWS


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html ---


@pytest.mark.parametrize(
    "content_type, behavior, outcome",
    [
        # Example 1: one template, for application/json
        ("application/json", "WHEN_NO_MATCH", "template"),
        ("application/json", "NEVER", "template"),
        ("application/xml", "WHEN_NO_MATCH", "passthrough"),
        ("application/xml", "WHEN_NO_TEMPLATES", 415),
        ("application/xml", "NEVER", 415),
    ],
)
def test_integration_passthrough_behaviors_table(content_type, behavior, outcome):
    chosen = integration({"application/json": "T"}, behavior)
    if outcome == 415:
        with pytest.raises(GatewayError) as error:
            choose_request_template(chosen, content_type)
        assert error.value.response_type.status == 415 and error.value.message == "Unsupported Media Type"
    else:
        assert choose_request_template(chosen, content_type) == ("T" if outcome == "template" else None)


def test_integration_passthrough_behaviors_without_any_template():
    assert choose_request_template(integration({}, "WHEN_NO_TEMPLATES"), "text/plain") is None
    with pytest.raises(GatewayError):
        choose_request_template(integration({}, "NEVER"), "application/json")


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html ---


def response(status: str, pattern: str | None = None) -> IntegrationResponseConfig:
    return IntegrationResponseConfig(status, pattern, {}, {}, None)


def test_handle_errors_in_lambda_integration_selection_pattern_is_a_whole_match():
    responses = {"200": response("200"), "400": response("400", "Invalid.*"), "404": response("404", ".*not found.*")}
    assert choose_integration_response(responses, None).status_code == "200"
    assert choose_integration_response(responses, "Invalid quantity").status_code == "400"
    assert choose_integration_response(responses, "invoice not found").status_code == "404"
    assert choose_integration_response(responses, "an Invalid thing").status_code == "200"  # not a whole match
    with pytest.raises(GatewayError) as error:  # no default mapping: a 500 on AWS
        choose_integration_response({"400": response("400", "Invalid.*")}, None)
    assert error.value.response_type.status == 500


def test_response_template_follows_the_first_accept_media_type():
    templates = {"application/json": "J", "application/xml": None}
    assert choose_response_template(templates, "application/xml, application/json") == ("application/xml", None)
    assert choose_response_template(templates, None) == ("application/json", "J")
    assert choose_response_template({}, None) == ("application/json", None)


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html ---


def test_set_up_lambda_proxy_integrations_output_format():
    payload = json.dumps({"statusCode": 201, "headers": {"A": "1", "B": True, "C": "x"},
                          "multiValueHeaders": {"C": ["y", "z"]}, "body": "done"}).encode()
    result = proxy_result(payload, request(), ())
    assert result.status == 201 and result.body == b"done"
    assert result.headers == [("A", "1"), ("B", "true"), ("C", "y"), ("C", "z")]  # multiValueHeaders wins for C


@pytest.mark.parametrize("payload", [
    b"not json", b"[]", b"", b'{"statusCode": 200, "extra": 1}', b'{"statusCode": "abc"}',
    b'{"statusCode": 200, "body": {"a": 1}}', b'{"headers": {"n": 1}}', b'{"multiValueHeaders": {"n": "x"}}',
])
def test_set_up_lambda_proxy_integrations_malformed_output_is_502(payload):
    with pytest.raises(GatewayError) as error:
        proxy_result(payload, request(), ())
    assert error.value.status == 502 and error.value.message == "Internal server error"


def test_set_up_lambda_proxy_integrations_event_keeps_last_single_values_and_all_multi_values():
    event = proxy_event(
        request("POST", "/invoices/536365", "a=1&a=2&b=",
                [("Content-Type", "application/json"), ("Content-Length", "2")], b"{}"),
        resource_path="/invoices/{InvoiceNo}", path_parameters={"InvoiceNo": "536365"}, stage_variables={},
        request_context={}, binary_media_types=(),
    )
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"] == {"Content-Type": "application/json"}  # Content-Length is not handed over
    assert event["stageVariables"] is None and event["body"] == "{}" and event["isBase64Encoded"] is False


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html ---


def test_api_gateway_payload_encodings_binary_media_types_with_wildcards():
    png = request("POST", "/", headers=[("Content-Type", "image/png"), ("Accept", "image/png")], body=b"\x89PNG")
    event = proxy_event(png, resource_path="/", path_parameters={}, stage_variables={}, request_context={},
                        binary_media_types=("image/*",))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x89PNG"
    encoded = base64.b64encode(b"\x00\x01").decode()
    output = json.dumps({"statusCode": 200, "body": encoded, "isBase64Encoded": True}).encode()
    assert proxy_result(output, png, ("image/*",)).body == b"\x00\x01"
    assert proxy_result(output, png, ()).body == base64.b64encode(b"\x00\x01")  # not binary: base64 text as-is


def test_update_rest_api_binary_media_types_are_json_pointer_escaped_in_the_path():
    patch = json.dumps({"patchOperations": [
        {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        {"op": "add", "path": "/binaryMediaTypes/application~1x~0y"},
        {"op": "remove", "path": "/binaryMediaTypes/text~1csv"},
    ]}).encode()
    assert patched_types(["text/csv", ""], patch) == ["image/png", "application/x~y"]
    assert created_types(b'{"name": "a", "binaryMediaTypes": ["*/*"]}') == ["*/*"]
    assert created_types(b'{"name": "a"}') is None


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html ---


def test_api_gateway_request_throttling_token_bucket():
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]  # the burst, then empty
    assert bucket.take(0.5) and not bucket.take(0.5)  # 2 per second refill: one token after 0.5 s
    assert not TokenBucket(rate=0.0, burst=0, now=0.0).take(10.0)  # 0/0 blocks every request


def test_api_gateway_request_throttling_stage_method_setting_beats_the_stage_default():
    settings = {"*/*": {"throttlingRateLimit": 100.0, "throttlingBurstLimit": 50},
                "~1invoices/POST": {"throttlingRateLimit": 1.0, "throttlingBurstLimit": 2}}
    assert stage_limit(settings, "/invoices", "POST") == (1.0, 2)
    assert stage_limit(settings, "/invoices", "GET") == (100.0, 50)
    assert stage_limit({}, "/invoices", "GET") is None


# --- https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html ---


def test_quota_settings_periods_are_utc_calendar_periods():
    wednesday = datetime(2024, 5, 15, 13, 30, tzinfo=UTC)
    assert period_start("DAY", wednesday) == datetime(2024, 5, 15, tzinfo=UTC)
    assert period_start("WEEK", wednesday) == datetime(2024, 5, 12, tzinfo=UTC)  # Sunday
    assert period_start("MONTH", wednesday) == datetime(2024, 5, 1, tzinfo=UTC)


def test_quota_settings_limit_offset_and_reset():
    quotas, quota = Quotas(), {"limit": 2, "offset": 1, "period": "DAY"}
    day1, day2 = datetime(2024, 5, 15, 9, tzinfo=UTC), datetime(2024, 5, 16, 9, tzinfo=UTC)
    assert [quotas.allow("plan", "key", quota, day1) for _ in range(2)] == [True, False]  # 2 - 1 on the first day
    assert [quotas.allow("plan", "key", quota, day2) for _ in range(3)] == [True, True, False]


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html ---


def test_api_usage_plans_a_key_must_be_enabled_and_in_a_plan_for_the_stage():
    key = SimpleNamespace(id="k1", value="v" * 30, enabled=True)
    plan = SimpleNamespace(id="p1", api_stages=[{"apiId": "a1", "stage": "prod"}], throttle={}, quota={})
    backend = SimpleNamespace(usage_plans={"p1": plan}, usage_plan_keys={"p1": {"k1": SimpleNamespace(id="k1")}},
                              keys={"k1": key})
    assert find_key(backend, "a1", "prod", "v" * 30).plan is plan
    for api_id, stage, value in (("a1", "dev", "v" * 30), ("a1", "prod", "w" * 30), ("a1", "prod", None)):
        with pytest.raises(GatewayError, match="Forbidden"):
            find_key(backend, api_id, stage, value)
    key.enabled = False
    with pytest.raises(GatewayError, match="Forbidden"):
        find_key(backend, "a1", "prod", "v" * 30)


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html ---


def test_method_request_validation_parameters_and_body():
    schema = {"type": "object", "required": ["InvoiceNo"], "properties": {"InvoiceNo": {"type": "string"}}}
    deployed = api(models={"Line": schema}, validators={"v": ValidatorConfig(True, True)})
    checked = method("POST", request_validator_id="v", request_models={"application/json": "Line"},
                     request_parameters={"method.request.querystring.q": True, "method.request.header.h1": True,
                                         "method.request.querystring.optional": False})

    with pytest.raises(GatewayError, match=r"^Missing required request parameters: \[q, h1\]$"):
        validate_request(deployed, checked, request("POST", query="q="), {})
    with pytest.raises(GatewayError, match="^Invalid request body$"):
        wrong_type = request("POST", query="q=1", headers=[("H1", "v")], body=b'{"InvoiceNo": 1}')
        validate_request(deployed, checked, wrong_type, {})
    with pytest.raises(GatewayError, match="^Invalid request body$"):  # an empty body is checked as {}
        validate_request(deployed, checked, request("POST", query="q=1", headers=[("H1", "v")]), {})
    ok = request("POST", query="q=1", headers=[("H1", "v")], body=b'{"InvoiceNo": "536365"}')
    validate_request(deployed, checked, ok, {})
    xml = request("POST", query="q=1", headers=[("H1", "v"), ("Content-Type", "application/xml")], body=b"<a/>")
    validate_request(deployed, checked, xml, {})  # no model for this content type: not checked


def test_method_request_validation_models_can_reference_other_models():
    deployed = api(models={
        "Line": {"type": "object", "properties": {"qty": {"type": "integer"}}, "required": ["qty"]},
        "Invoice": {"type": "object", "properties": {"lines": {"type": "array", "items": {
            "$ref": "https://apigateway.amazonaws.com/restapis/a1b2c3d4e5/models/Line"}}}},
    }, validators={"v": ValidatorConfig(True, False)})
    checked = method("POST", request_validator_id="v", request_models={"application/json": "Invoice"})
    validate_request(deployed, checked, request("POST", body=b'{"lines": [{"qty": 1}]}'), {})
    with pytest.raises(GatewayError, match="Invalid request body"):
        validate_request(deployed, checked, request("POST", body=b'{"lines": [{"qty": "one"}]}'), {})


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html ---


def test_permissions_source_arn_patterns():
    candidates = source_arns(region="us-east-1", account_id="123456789012", api_id="a1", stage="prod",
                             verbs={"POST"}, paths={"/invoices"})
    assert candidates == ["arn:aws:execute-api:us-east-1:123456789012:a1/prod/POST/invoices"]
    assert arn_like("arn:aws:execute-api:us-east-1:123456789012:a1/*/POST/invoices", candidates[0])
    assert not arn_like("arn:aws:execute-api:us-east-1:123456789012:a1/*/GET/invoices", candidates[0])
    assert not arn_like("arn:aws:execute-api:*:123456789012:b2/*", candidates[0])

    def policy(condition: dict, effect: str = "Allow") -> str:
        return json.dumps({"Statement": [{"Effect": effect, "Principal": {"Service": "apigateway.amazonaws.com"},
                                          "Action": "lambda:InvokeFunction", "Resource": FN, "Condition": condition}]})

    assert invoke_allowed(policy({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:a1/*/*/*"}}),
                          candidates, "123456789012")
    assert not invoke_allowed(policy({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:zz/*"}}),
                              candidates, "123456789012")
    assert not invoke_allowed(policy({}, effect="Deny"), candidates, "123456789012")


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-integrations.html ---


def test_lambda_integration_uri_with_a_stage_variable():
    uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
           "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}/invocations")
    assert function_arn(uri, {"fn": "kinesis_api:live"}) == FN + ":live"
    with pytest.raises(GatewayError):
        function_arn(uri, {})
    with pytest.raises(GatewayError):
        function_arn("arn:aws:apigateway:us-east-1:kinesis:action/PutRecord", {})


# --- helpers.apigateway.invoke_url ---
# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html ---


def test_how_to_call_api_invoke_url_for_each_target(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    base = dataclasses.replace(config.load(), region="eu-west-1", local_port=5055, local_host="127.0.0.1")
    on_aws = dataclasses.replace(base, target="aws")
    local = dataclasses.replace(base, target="local")
    assert apigateway.invoke_url("a1b2c3d4e5", "prod", "invoices", on_aws) == (
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/invoices")
    assert apigateway.invoke_url("a1b2c3d4e5", "prod", "/invoices", local) == (
        "http://127.0.0.1:5055/restapis/a1b2c3d4e5/prod/_user_request_/invoices")
