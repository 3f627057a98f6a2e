"""API Gateway REST API invoke on the local cloud: APIs built with boto3 as a notebook builds them,
called over HTTP with ``requests`` at the URL ``helpers.apigateway.invoke_url`` gives.

Each test names the AWS documentation page whose behaviour it checks.
"""

from __future__ import annotations

import base64
import io
import json
import textwrap
import uuid
import zipfile

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from helpers.apigateway import METHOD_REQUEST_PASSTHROUGH, invoke_url

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REGION = "us-east-1"

HANDLERS = {
    # Lambda proxy: the event comes back as the body.
    "echo_proxy": """
        import json
        def handler(event, context):
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
        """,
    # Non-proxy: the (mapped) event comes back as the result.
    "echo_custom": """
        def handler(event, context):
            if isinstance(event, dict) and event.get("fail"):
                raise LookupError("invoice not found: " + event["fail"])
            return {"received": event}
        """,
    "malformed": """
        def handler(event, context):
            return {"status": 200, "payload": "not the proxy response shape"}
        """,
    "crashes": """
        def handler(event, context):
            raise RuntimeError("boom")
        """,
    "slow": """
        import time
        def handler(event, context):
            time.sleep(1.5)
            return {"statusCode": 200, "body": "late"}
        """,
    "binary": """
        import base64
        def handler(event, context):
            return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                    "body": base64.b64encode(b"\\x00\\x01binary\\xff").decode(), "isBase64Encoded": True}
        """,
}


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def aws(local_cloud):
    class Clients:
        apigateway = boto3.client("apigateway")
        lam = boto3.client("lambda")
        logs = boto3.client("logs")

    return Clients


@pytest.fixture(scope="module")
def functions(aws):
    """Every test function, deployed once: name -> (function name, function ARN)."""
    role = boto3.client("iam").create_role(
        RoleName=f"apigw-test-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    deployed = {}
    for key, source in HANDLERS.items():
        name = f"{key}-{uuid.uuid4().hex[:8]}"
        arn = aws.lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": zipped(source)},
            Timeout=5,
        )["FunctionArn"]
        deployed[key] = (name, arn)
    return deployed


def lambda_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


class Api:
    """A REST API built call by call, as a notebook does it."""

    def __init__(self, aws, functions, **create_args) -> None:
        self.aws, self.functions = aws, functions
        self.client = aws.apigateway
        self.id = self.client.create_rest_api(name=f"test-{uuid.uuid4().hex[:8]}", **create_args)["id"]
        self.root = next(r["id"] for r in self.client.get_resources(restApiId=self.id)["items"] if r["path"] == "/")

    def resource(self, path_part: str, parent: str | None = None) -> str:
        return self.client.create_resource(restApiId=self.id, parentId=parent or self.root, pathPart=path_part)["id"]

    def proxy_method(self, resource: str, verb: str, function: str = "echo_proxy", **method_args) -> None:
        self.client.put_method(restApiId=self.id, resourceId=resource, httpMethod=verb, authorizationType="NONE",
                               **method_args)
        self.client.put_integration(
            restApiId=self.id, resourceId=resource, httpMethod=verb, type="AWS_PROXY", integrationHttpMethod="POST",
            uri=lambda_uri(self.functions[function][1]),
        )
        self.allow(function)

    def custom_method(self, resource: str, verb: str, templates: dict[str, str], passthrough: str = "WHEN_NO_TEMPLATES",
                      function: str = "echo_custom") -> None:
        self.client.put_method(restApiId=self.id, resourceId=resource, httpMethod=verb, authorizationType="NONE")
        self.client.put_integration(
            restApiId=self.id, resourceId=resource, httpMethod=verb, type="AWS", integrationHttpMethod="POST",
            uri=lambda_uri(self.functions[function][1]), requestTemplates=templates, passthroughBehavior=passthrough,
        )
        self.client.put_method_response(restApiId=self.id, resourceId=resource, httpMethod=verb, statusCode="200",
                                        responseModels={"application/json": "Empty"})
        self.client.put_integration_response(restApiId=self.id, resourceId=resource, httpMethod=verb, statusCode="200",
                                             responseTemplates={"application/json": ""})
        self.allow(function)

    def allow(self, function: str) -> None:
        """What the console does for you: let API Gateway invoke the function."""
        self.aws.lam.add_permission(
            FunctionName=self.functions[function][0], StatementId=f"apigw-{self.id}-{uuid.uuid4().hex[:6]}",
            Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.id}/*/*/*",
        )

    def deploy(self, stage: str = "prod", **kwargs) -> None:
        self.client.create_deployment(restApiId=self.id, stageName=stage, **kwargs)

    def url(self, path: str, stage: str = "prod") -> str:
        return invoke_url(self.id, stage, path)


@pytest.fixture
def api(aws, functions):
    return Api(aws, functions)


def starts(aws, function_name: str) -> int:
    """How many times the function ran: its START lines in CloudWatch Logs."""
    try:
        events = aws.logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")["events"]
    except aws.logs.exceptions.ResourceNotFoundException:
        return 0
    return sum(event["message"].startswith("START RequestId") for event in events)


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html ---


def test_set_up_lambda_proxy_integrations_get_with_query_string_gives_the_rest_event(api):
    invoices = api.resource("invoices")
    api.proxy_method(invoices, "GET")
    api.deploy(variables={"table": "invoice"})

    response = requests.get(api.url("invoices"), params=[("InvoiceNo", "536365"), ("tag", "a"), ("tag", "b")],
                            headers={"greeter": "jane"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-RequestId"] and response.headers["x-amz-apigw-id"]
    event = APIGatewayProxyEventModel.model_validate(response.json())  # the powertools model of the v1 event
    assert (event.resource, event.path, event.httpMethod) == ("/invoices", "/invoices", "GET")
    assert event.queryStringParameters == {"InvoiceNo": "536365", "tag": "b"}  # the last value, as on AWS
    assert event.multiValueQueryStringParameters == {"InvoiceNo": ["536365"], "tag": ["a", "b"]}
    assert event.headers["Greeter"] == "jane" and event.multiValueHeaders["Greeter"] == ["jane"]
    assert event.stageVariables == {"table": "invoice"}
    assert event.pathParameters is None and event.body is None and event.isBase64Encoded is False
    context = event.requestContext
    assert (context.apiId, context.stage, context.resourcePath) == (api.id, "prod", "/invoices")
    assert context.httpMethod == "GET"
    assert context.accountId == ACCOUNT and context.path == "/prod/invoices" and context.protocol == "HTTP/1.1"
    assert context.requestId == response.headers["x-amzn-RequestId"]
    assert context.extendedRequestId == response.headers["x-amz-apigw-id"]
    assert response.json()["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert context.identity.userAgent.startswith("python-requests")
    assert context.identity.apiKey is None


def test_set_up_lambda_proxy_integrations_post_json_to_a_path_variable(api):
    invoices = api.resource("invoices")
    api.proxy_method(api.resource("{InvoiceNo}", parent=invoices), "POST")
    api.deploy()
    line = {"InvoiceNo": "536365", "StockCode": "85123A", "Quantity": 6, "UnitPrice": 2.55}

    response = requests.post(api.url("invoices/536365"), json=line)

    assert response.status_code == 200
    event = APIGatewayProxyEventModel.model_validate(response.json())
    assert event.resource == "/invoices/{InvoiceNo}" and event.path == "/invoices/536365"
    assert event.pathParameters == {"InvoiceNo": "536365"}
    assert json.loads(event.body) == line and event.isBase64Encoded is False
    assert event.headers["Content-Type"] == "application/json"


def test_set_up_lambda_proxy_integrations_greedy_proxy_resource_with_any_method(api):
    api.proxy_method(api.resource("{proxy+}"), "ANY")
    api.deploy()

    response = requests.delete(api.url("produce/vegetables/carrot"))

    event = APIGatewayProxyEventModel.model_validate(response.json())
    assert event.resource == "/{proxy+}" and event.httpMethod == "DELETE"
    assert event.pathParameters == {"proxy": "produce/vegetables/carrot"}


def test_set_up_lambda_proxy_integrations_malformed_response_or_function_error_is_502(api):
    api.proxy_method(api.resource("malformed"), "GET", function="malformed")
    api.proxy_method(api.resource("crashes"), "GET", function="crashes")
    api.deploy()

    for path in ("malformed", "crashes"):
        response = requests.get(api.url(path))
        assert response.status_code == 502
        assert response.json() == {"message": "Internal server error"}


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (integration timeout) ---


def test_limits_integration_timeout_is_504(aws, functions, api):
    slow = api.resource("slow")
    api.client.put_method(restApiId=api.id, resourceId=slow, httpMethod="GET", authorizationType="NONE")
    api.client.put_integration(restApiId=api.id, resourceId=slow, httpMethod="GET", type="AWS_PROXY",
                               integrationHttpMethod="POST", uri=lambda_uri(functions["slow"][1]), timeoutInMillis=300)
    api.allow("slow")
    api.deploy()

    response = requests.get(api.url("slow"))

    assert response.status_code == 504 and response.json() == {"message": "Endpoint request timed out"}


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html ---


def test_lambda_proxy_binary_media_is_base64_both_ways_when_the_media_type_is_binary(aws, functions):
    api = Api(aws, functions, binaryMediaTypes=["application/octet-stream"])
    api.proxy_method(api.resource("echo"), "POST")
    api.proxy_method(api.resource("file"), "GET", function="binary")
    api.deploy()

    binary = {"Content-Type": "application/octet-stream"}
    event = requests.post(api.url("echo"), data=b"\x00\xffraw", headers=binary).json()
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xffraw"
    as_binary = requests.get(api.url("file"), headers={"Accept": "application/octet-stream"})
    assert as_binary.content == b"\x00\x01binary\xff"
    as_text = requests.get(api.url("file"), headers={"Accept": "application/json"})  # not a binary media type
    assert base64.b64decode(as_text.text) == b"\x00\x01binary\xff"


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-custom-integrations.html ---
# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html ---


def test_lambda_custom_integration_with_the_method_request_passthrough_template(api):
    invoices = api.resource("invoices")
    for verb in ("GET", "POST"):
        api.custom_method(invoices, verb, {"application/json": METHOD_REQUEST_PASSTHROUGH})
    api.deploy(variables={"table": "invoice"})

    got = requests.get(api.url("invoices"), params={"InvoiceNo": "536365"}, headers={"X-Source": "notebook"})
    posted = requests.post(api.url("invoices"), json={"InvoiceNo": "536365", "Quantity": 6})

    assert got.status_code == 200 and got.headers["Content-Type"] == "application/json"
    event = got.json()["received"]
    assert event["body-json"] == {}
    assert event["params"]["querystring"] == {"InvoiceNo": "536365"}
    assert event["params"]["header"]["X-Source"] == "notebook" and event["params"]["path"] == {}
    assert event["stage-variables"] == {"table": "invoice"}
    assert event["context"]["http-method"] == "GET" and event["context"]["stage"] == "prod"
    assert event["context"]["resource-path"] == "/invoices" and event["context"]["api-id"] == api.id
    assert event["context"]["request-id"] == got.headers["x-amzn-RequestId"]
    assert event["context"]["api-key"] == "" and event["context"]["authorizer-principal-id"] == ""  # nulls render empty
    assert posted.json()["received"]["body-json"] == {"InvoiceNo": "536365", "Quantity": 6}
    assert posted.json()["received"]["context"]["http-method"] == "POST"


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html ---


def test_integration_passthrough_behaviors(api):
    templates = {"application/json": '{"mapped": $input.json(\'$\')}'}
    api.custom_method(api.resource("match"), "POST", templates, passthrough="WHEN_NO_MATCH")
    api.custom_method(api.resource("templates"), "POST", templates, passthrough="WHEN_NO_TEMPLATES")
    api.custom_method(api.resource("never"), "POST", templates, passthrough="NEVER")
    api.deploy()
    xml = {"data": '{"raw": true}', "headers": {"Content-Type": "application/xml"}}

    assert requests.post(api.url("match"), json={"a": 1}).json() == {"received": {"mapped": {"a": 1}}}
    assert requests.post(api.url("match"), **xml).json() == {"received": {"raw": True}}  # sent as-is
    for path in ("templates", "never"):
        rejected = requests.post(api.url(path), **xml)
        assert rejected.status_code == 415 and rejected.json() == {"message": "Unsupported Media Type"}


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html ---


def test_handle_errors_in_lambda_integration_selection_pattern_matches_the_error_message(api):
    invoices = api.resource("invoices")
    api.custom_method(invoices, "POST", {"application/json": "$input.json('$')"})
    api.client.put_method_response(restApiId=api.id, resourceId=invoices, httpMethod="POST", statusCode="404")
    api.client.put_integration_response(
        restApiId=api.id, resourceId=invoices, httpMethod="POST", statusCode="404",
        selectionPattern="invoice not found.*",
        responseTemplates={"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'},
    )
    api.deploy()

    missing = requests.post(api.url("invoices"), json={"fail": "C536379"})
    found = requests.post(api.url("invoices"), json={"InvoiceNo": "536365"})

    assert missing.status_code == 404 and missing.json() == {"error": "invoice not found: C536379"}
    assert found.status_code == 200 and found.json() == {"received": {"InvoiceNo": "536365"}}


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html ---


def key_and_plan(api, *, enabled: bool = True, **plan_args) -> str:
    key = api.client.create_api_key(name=f"key-{uuid.uuid4().hex[:6]}", enabled=enabled)
    plan = api.client.create_usage_plan(
        name=f"plan-{uuid.uuid4().hex[:6]}", apiStages=[{"apiId": api.id, "stage": "prod"}], **plan_args
    )
    api.client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


def test_api_usage_plans_key_required_post_with_and_without_a_key(api):
    api.proxy_method(api.resource("invoices"), "POST", apiKeyRequired=True)
    api.deploy()
    good = key_and_plan(api)
    disabled = key_and_plan(api, enabled=False)
    outside = api.client.create_api_key(name="in-no-plan", enabled=True)["value"]

    for headers in ({}, {"x-api-key": "wrong-value-1234567890"}, {"x-api-key": disabled}, {"x-api-key": outside}):
        refused = requests.post(api.url("invoices"), json={}, headers=headers)
        assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}
        assert refused.headers["x-amzn-ErrorType"] == "ForbiddenException"
    accepted = requests.post(api.url("invoices"), json={}, headers={"x-api-key": good})
    assert accepted.status_code == 200
    identity = APIGatewayProxyEventModel.model_validate(accepted.json()).requestContext.identity
    assert identity.apiKey == good and identity.apiKeyId


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html ---


def test_api_gateway_request_throttling_usage_plan_token_bucket(api):
    api.proxy_method(api.resource("invoices"), "GET", apiKeyRequired=True)
    api.deploy()
    key = key_and_plan(api, throttle={"rateLimit": 0.01, "burstLimit": 1})

    first = requests.get(api.url("invoices"), headers={"x-api-key": key})
    second = requests.get(api.url("invoices"), headers={"x-api-key": key})

    assert first.status_code == 200
    assert second.status_code == 429 and second.json() == {"message": "Too Many Requests"}


def test_api_gateway_request_throttling_stage_default_method_throttling(api):
    api.proxy_method(api.resource("invoices"), "GET")
    api.deploy()
    api.client.update_stage(restApiId=api.id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.01"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"},
    ])

    statuses = [requests.get(api.url("invoices")).status_code for _ in range(2)]

    assert statuses == [200, 429]


# --- https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html ---


def test_quota_settings_limit_per_day_and_offset(api):
    api.proxy_method(api.resource("invoices"), "GET", apiKeyRequired=True)
    api.deploy()
    key = key_and_plan(api, quota={"limit": 2, "period": "DAY"})
    offset_key = key_and_plan(api, quota={"limit": 3, "offset": 2, "period": "DAY"})

    statuses = [requests.get(api.url("invoices"), headers={"x-api-key": key}).status_code for _ in range(3)]
    over = requests.get(api.url("invoices"), headers={"x-api-key": key})
    offset_statuses = [
        requests.get(api.url("invoices"), headers={"x-api-key": offset_key}).status_code for _ in range(2)
    ]

    assert statuses == [200, 200, 429]
    assert over.json() == {"message": "Limit Exceeded"} and over.headers["x-amzn-ErrorType"] == "LimitExceededException"
    assert offset_statuses == [200, 429]  # 3 - 2 requests in the first period


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html ---


def test_method_request_validation_rejects_before_the_lambda_runs(aws, functions, api):
    api.client.create_model(restApiId=api.id, name="InvoiceLine", contentType="application/json", schema=json.dumps({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["InvoiceNo", "Quantity"],
        "properties": {"InvoiceNo": {"type": "string"}, "Quantity": {"type": "integer"}},
    }))
    validator = api.client.create_request_validator(restApiId=api.id, name="all", validateRequestBody=True,
                                                    validateRequestParameters=True)["id"]
    invoices = api.resource("invoices")
    api.proxy_method(invoices, "POST", function="crashes", requestValidatorId=validator,
                     requestModels={"application/json": "InvoiceLine"},
                     requestParameters={"method.request.querystring.source": True})
    api.deploy()
    crashes = functions["crashes"][0]
    runs_before = starts(aws, crashes)

    bad_body = requests.post(api.url("invoices"), params={"source": "pos"}, json={"InvoiceNo": 536365})
    no_param = requests.post(api.url("invoices"), json={"InvoiceNo": "536365", "Quantity": 6})
    blank_param = requests.post(api.url("invoices"), params={"source": ""}, json={"InvoiceNo": "536365", "Quantity": 6})

    assert bad_body.status_code == 400 and bad_body.json() == {"message": "Invalid request body"}
    assert no_param.status_code == 400
    assert no_param.json() == {"message": "Missing required request parameters: [source]"}
    assert blank_param.json() == no_param.json()
    assert starts(aws, crashes) == runs_before  # the (failing) function never ran
    valid = requests.post(api.url("invoices"), params={"source": "pos"}, json={"InvoiceNo": "536365", "Quantity": 6})
    assert valid.status_code == 502 and starts(aws, crashes) == runs_before + 1  # a valid request does reach it


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html ---


def test_gateway_response_types_unknown_path_or_method_is_missing_authentication_token(api):
    api.proxy_method(api.resource("invoices"), "GET")
    api.deploy()

    for response in (requests.get(api.url("customers")), requests.put(api.url("invoices"), json={})):
        assert response.status_code == 403 and response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert requests.get(api.url("invoices", stage="dev")).json() == {"message": "Forbidden"}  # no such stage


def test_customize_gateway_responses_status_header_and_template(api):
    api.proxy_method(api.resource("invoices"), "GET")
    api.client.put_gateway_response(
        restApiId=api.id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        responseTemplates={"application/json": '{"error": $context.error.messageString, "path": "$context.path"}'},
    )
    api.deploy()

    response = requests.get(api.url("nowhere"))

    assert response.status_code == 404 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json() == {"error": "Missing Authentication Token", "path": "/prod/nowhere"}


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html ---


def test_how_to_deploy_api_changes_need_a_new_deployment(api):
    invoices = api.resource("invoices")
    api.proxy_method(invoices, "GET")
    api.deploy()
    api.proxy_method(invoices, "POST")  # added after the deployment

    before = requests.post(api.url("invoices"), json={})
    api.deploy()
    after = requests.post(api.url("invoices"), json={})

    assert before.status_code == 403 and after.status_code == 200


# --- https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html ---


def test_permissions_lambda_without_a_resource_policy_for_api_gateway_is_500(aws, functions, api):
    invoices = api.resource("invoices")
    api.client.put_method(restApiId=api.id, resourceId=invoices, httpMethod="GET", authorizationType="NONE")
    api.client.put_integration(restApiId=api.id, resourceId=invoices, httpMethod="GET", type="AWS_PROXY",
                               integrationHttpMethod="POST", uri=lambda_uri(functions["echo_proxy"][1]))
    gone = api.resource("gone")
    api.client.put_method(restApiId=api.id, resourceId=gone, httpMethod="GET", authorizationType="NONE")
    api.client.put_integration(restApiId=api.id, resourceId=gone, httpMethod="GET", type="AWS_PROXY",
                               integrationHttpMethod="POST", uri=lambda_uri(functions["echo_proxy"][1] + "-deleted"))
    api.deploy()  # no lambda add_permission for this API

    for path in ("invoices", "gone"):
        response = requests.get(api.url(path))
        assert response.status_code == 500 and response.json() == {"message": "Internal server error"}
