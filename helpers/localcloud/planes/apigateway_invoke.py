"""API Gateway (REST API) invoke: a request to a deployed stage reaches its Lambda integration.

The local invoke URL
--------------------
On AWS a stage answers at ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/{path}``.
Locally it answers at::

    {endpoint}/restapis/{api_id}/{stage}/_user_request_/{path}

(the form moto and LocalStack use; ``helpers.apigateway.invoke_url`` gives the right URL for the
chosen target). Query strings, headers and bodies are passed as they are.

What happens to a request, in AWS's order
-----------------------------------------
1. The stage serves the snapshot its deployment took (``apigateway_deployments``): changes need
   a new deployment, as on AWS. An unknown stage is 403 ``Forbidden``.
2. The path and verb select a resource and method (``apigateway_routing``); none is 403
   ``Missing Authentication Token``.
3. Authorization ``NONE`` passes; ``AWS_IAM`` needs a SigV4 ``Authorization`` header (its
   signature is not verified locally); Lambda and Cognito authorizers are not emulated (500 and a
   log line).
4. ``apiKeyRequired``: the ``x-api-key`` header must name an enabled key of a usage plan that
   includes the stage (403 ``Forbidden``); then the plan's throttle and the stage's and account's
   (429 ``Too Many Requests``) and the plan's quota (429 ``Limit Exceeded``)
   (``apigateway_usage``). A body over 10 MB is 413.
5. The method's request validator (400, ``apigateway_validation``).
6. The integration: ``AWS_PROXY`` (Lambda proxy) or ``AWS`` (Lambda with mapping templates, see
   ``apigateway_mapping`` and ``apigateway_templates``), once the function's resource policy lets
   API Gateway invoke it (``apigateway_permissions``). The function runs through the Lambda Invoke
   API on the local endpoint. Other integration types (HTTP, HTTP_PROXY, MOCK, other AWS
   services) are not emulated: 500 and a log line naming the type.
7. Responses carry ``x-amzn-RequestId``, ``x-amz-apigw-id`` and ``X-Amzn-Trace-Id``; errors made
   by API Gateway itself are gateway responses (``apigateway_responses``), customisable per API.

The plane also completes three control-plane calls after moto has answered them:
CreateDeployment (to take the snapshot), CreateRestApi and UpdateRestApi (moto loses
``binaryMediaTypes``, see ``apigateway_binary_media``).

Local limits: the WSGI server loses the case of header names (``x-api-key`` arrives as
``X-Api-Key``, so header lookups ignore case) and joins repeated headers with commas;
``requestContext.domainName`` is the AWS host name of the API; binary payloads are supported on
proxy integrations only; there is no caching, canary, WAF, resource policy, mutual TLS, custom
domain or access logging.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from helpers.localcloud.plane import Context, DataPlane, signing_scope
from helpers.localcloud.apigateway import binary_media as apigateway_binary_media, permissions as apigateway_permissions
from helpers.localcloud.apigateway.deployments import DeployedApi, DeploymentSnapshots, MethodConfig, snapshot
from helpers.localcloud.apigateway.lambda_integration import (
    LambdaInvoker,
    function_arn,
    matches_media_type,
    proxy_event,
    proxy_result,
    text_body,
)
from helpers.localcloud.apigateway.mapping import (
    InputVariable,
    UtilVariable,
    choose_integration_response,
    choose_request_template,
    choose_response_template,
    response_parameter,
)
from helpers.localcloud.apigateway.request import ApiRequest, Identity, context_variables
from helpers.localcloud.apigateway.responses import GatewayError, internal_error, render_gateway_error
from helpers.localcloud.apigateway.routing import Route, route
from helpers.localcloud.awslambda import function_policy
from helpers.localcloud.apigateway.templates import TemplateError, render
from helpers.localcloud.apigateway.usage import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    KeyUse,
    Quotas,
    Throttles,
    client_limit,
    find_key,
    stage_limit,
)
from helpers.localcloud.apigateway.validation import validate_request

log = logging.getLogger("localcloud.apigateway")

INVOKE_PATH = re.compile(r"^/restapis/(?P<api_id>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
DEPLOYMENTS_PATH = re.compile(r"^/restapis/(?P<api_id>[^/]+)/deployments/?$")
REST_APIS_PATH = re.compile(r"^/restapis/?$")
REST_API_PATH = re.compile(r"^/restapis/(?P<api_id>[^/]+)/?$")
USER_REQUEST_MARKER = "/_user_request_"
# "Payload size: 10 MB" (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


def _find_api(api_id: str) -> tuple[Any, Any] | None:
    """(moto backend, RestAPI) for an API id, whichever account and region holds it."""
    from moto.backends import get_backend

    for account_backends in list(get_backend("apigateway").values()):
        for backend in list(account_backends.values()):
            api = backend.apis.get(api_id)
            if api is not None:
                return backend, api
    return None


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def _raw_path(request: Request) -> tuple[str, str]:
    """(path after the stage, query string), from the undecoded request URI when the server kept it."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    raw_path, _, query = raw.partition("?")
    after = raw_path.split(USER_REQUEST_MARKER, 1)[1] if USER_REQUEST_MARKER in raw_path else "/"
    return after or "/", query


class ApiGatewayInvoke(DataPlane):
    name = "apigateway-invoke"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.snapshots = DeploymentSnapshots()
        self.throttles = Throttles()
        self.quotas = Quotas()
        self.lambdas = LambdaInvoker(ctx.endpoint_url)
        self._moto_app: Any = None
        self._moto_lock = threading.Lock()
        self._warned_live: set[tuple[str, str | None]] = set()

    # ---------------------------------------------------------------------------- dispatch

    def handles(self, request: Request) -> bool:
        if INVOKE_PATH.match(request.path):
            return True
        return self._control_call(request) is not None

    def _control_call(self, request: Request) -> str | None:
        """The control-plane calls the plane completes after moto: CreateDeployment (snapshot),
        CreateRestApi and UpdateRestApi (binaryMediaTypes)."""
        if signing_scope(request)[1] != "apigateway":
            return None
        if request.method == "POST" and DEPLOYMENTS_PATH.match(request.path):
            return "CreateDeployment"
        if request.method == "POST" and REST_APIS_PATH.match(request.path):
            return "CreateRestApi"
        if request.method == "PATCH" and REST_API_PATH.match(request.path):
            return "UpdateRestApi"
        return None

    def handle(self, request: Request) -> Response:
        if INVOKE_PATH.match(request.path):
            return self.invoke(request)
        return self.complete_control_call(request)

    def complete_control_call(self, request: Request) -> Response:
        """moto answers the call; then the plane keeps what moto does not."""
        call = self._control_call(request)
        body = request.get_data()
        request.environ["wsgi.input"] = io.BytesIO(body)  # for moto to read again
        path_match = DEPLOYMENTS_PATH.match(request.path) or REST_API_PATH.match(request.path)
        found = _find_api(path_match.group("api_id")) if path_match else None
        types_before = list(found[1].binaryMediaTypes) if found else []
        response = Response.from_app(self._moto(), request.environ, buffered=True)
        if response.status_code not in (200, 201):
            return response
        result = json.loads(response.get_data())
        if call == "CreateDeployment":
            if found is not None and result.get("id"):
                self.snapshots.record(snapshot(found[1], result["id"]))
            return response
        if call == "CreateRestApi":
            found = _find_api(result.get("id", ""))
            types = apigateway_binary_media.created_types(body)
        else:
            types = apigateway_binary_media.patched_types(types_before, body)
        if found is not None and types is not None:
            found[1].binaryMediaTypes = types
            response.set_data(json.dumps(found[1].to_dict()))
        return response

    # ------------------------------------------------------------------ moto, and its snapshots

    def _moto(self) -> Any:
        with self._moto_lock:
            if self._moto_app is None:
                from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

                self._moto_app = DomainDispatcherApplication(create_backend_app)
            return self._moto_app

    def _deployed(self, rest_api: Any, deployment_id: str | None) -> DeployedApi:
        recorded = (
            self.snapshots.get(rest_api.account_id, rest_api.region_name, rest_api.id, deployment_id)
            if deployment_id
            else None
        )
        if recorded is not None:
            return recorded
        if (rest_api.id, deployment_id) not in self._warned_live:
            self._warned_live.add((rest_api.id, deployment_id))
            log.warning(
                "API Gateway: no snapshot of deployment %s of API %s (created before this server or outside "
                "CreateDeployment): serving the API's current configuration",
                deployment_id,
                rest_api.id,
            )
        return snapshot(rest_api, deployment_id)

    # --------------------------------------------------------------------------------- invoke

    def invoke(self, request: Request) -> Response:
        match = INVOKE_PATH.match(request.path)
        assert match is not None
        api_id, stage_name = match.group("api_id"), match.group("stage")
        path, raw_query = _raw_path(request)
        headers = list(request.headers.items()) + [
            # What API Gateway adds in front of the integration.
            (name, value)
            for name, value in (
                ("X-Amzn-Trace-Id", _trace_id()),
                ("X-Forwarded-For", request.remote_addr or "127.0.0.1"),
                ("X-Forwarded-Port", str(request.environ.get("SERVER_PORT", ""))),
                ("X-Forwarded-Proto", request.scheme),
            )
            if name not in request.headers
        ]
        api_request = ApiRequest.build(
            method=request.method,
            path=path,
            raw_query=raw_query,
            headers=headers,
            body=request.get_data(),
            source_ip=request.remote_addr or "127.0.0.1",
            protocol=request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        )
        base_headers = {
            "x-amzn-RequestId": api_request.request_id,
            "x-amz-apigw-id": api_request.extended_request_id,
        }
        found = _find_api(api_id)
        if found is None:
            body = json.dumps({"message": f"No REST API {api_id} in the local cloud"})
            return Response(body, status=404, headers={**base_headers, "x-amzn-ErrorType": "NotFoundException"},
                            content_type="application/json")
        backend, rest_api = found
        stage = rest_api.stages.get(stage_name)
        if stage is None or rest_api.disableExecuteApiEndpoint:
            forbidden = render_gateway_error(
                GatewayError("ACCESS_DENIED", "Forbidden"), api=None, context=None, stage_variables=None,
                request_values={}, base_headers=base_headers,
            )
            forbidden.headers["x-amzn-ErrorType"] = "ForbiddenException"
            return forbidden
        api = self._deployed(rest_api, stage.deployment_id)
        stage_variables = dict(stage.variables or {})
        identity = Identity(source_ip=api_request.source_ip, user_agent=api_request.header("User-Agent"))
        context = context_variables(
            account_id=api.account_id, api_id=api.api_id, region=api.region, stage=stage_name, request=api_request,
            resource_id=None, resource_path=None, identity=identity,
        )
        request_values = {"header": api_request.single_headers(), "querystring": api_request.single_query(), "path": {}}
        try:
            if len(api_request.body) > MAX_PAYLOAD_BYTES:
                raise GatewayError("REQUEST_TOO_LARGE", "Request Too Long")
            matched = route(api.resources, api_request.method, api_request.path)
            if matched is None:
                raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            request_values["path"] = matched.path_parameters
            context.update(resourceId=matched.resource.id, resourcePath=matched.resource.path)
            self._authorize(matched.method, api_request)
            key_use = self._check_key_and_limits(backend, api, stage, matched, api_request)
            if key_use is not None:
                identity = Identity(identity.source_ip, identity.user_agent, key_use.key_value, key_use.key_id)
                context["identity"] = identity.as_context()
            validate_request(api, matched.method, api_request, matched.path_parameters)
            response = self._integrate(api, stage_name, stage_variables, matched, api_request, context)
        except GatewayError as error:
            return render_gateway_error(
                error, api=api, context=context, stage_variables=stage_variables,
                request_values=request_values, base_headers=base_headers,
            )
        for name, value in base_headers.items():
            response.headers[name] = value
        return response

    @staticmethod
    def _authorize(method: MethodConfig, request: ApiRequest) -> None:
        kind = method.authorization_type
        if kind == "NONE":
            return
        if kind == "AWS_IAM":
            if not (request.header("Authorization") or "").startswith("AWS4-HMAC-SHA256"):
                raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            return
        raise internal_error(f"authorizationType {kind} (authorizers) is not emulated by the local cloud")

    def _check_key_and_limits(
        self, backend: Any, api: DeployedApi, stage: Any, matched: Route, request: ApiRequest
    ) -> KeyUse | None:
        """API key, then throttling (client, stage, account), then quota."""
        key_use = None
        if matched.method.api_key_required:
            if api.api_key_source != "HEADER":
                raise internal_error(f"apiKeySource {api.api_key_source} (keys from an authorizer) is not emulated")
            key_use = find_key(backend, api.api_id, stage.name, request.header("x-api-key"))
        now = time.monotonic()
        resource_path, verb = matched.resource.path, matched.method.http_method
        limits: list[tuple[tuple, tuple[float, int] | None]] = []
        if key_use is not None:
            limits.append(client_limit(key_use, api.api_id, stage.name, resource_path, verb))
        limits.append((("stage", api.api_id, stage.name, resource_path, verb),
                       stage_limit(stage.method_settings or {}, resource_path, verb)))
        limits.append((("account", api.account_id, api.region), (ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT)))
        for scope, limit in limits:
            if limit is not None and not self.throttles.allow(scope, limit[0], limit[1], now):
                raise GatewayError("THROTTLED", "Too Many Requests")
        if key_use is not None and (key_use.plan.quota or {}).get("limit") is not None:
            if not self.quotas.allow(key_use.plan.id, key_use.key_id, key_use.plan.quota, request.received):
                raise GatewayError("QUOTA_EXCEEDED", "Limit Exceeded")
        return key_use

    # ---------------------------------------------------------------------------- integrations

    def _integrate(
        self, api: DeployedApi, stage: str, stage_variables: dict[str, str], matched: Route, request: ApiRequest,
        context: dict[str, Any],
    ) -> Response:
        integration = matched.method.integration
        if integration is None:
            raise internal_error(f"{matched.method.http_method} {matched.resource.path} has no integration")
        if integration.type not in ("AWS_PROXY", "AWS") or ":lambda:path/" not in (integration.uri or ""):
            raise internal_error(
                f"integration type {integration.type} with uri {integration.uri!r} is not emulated by the local "
                "cloud (only Lambda, proxy and non-proxy)"
            )
        arn = function_arn(integration.uri, stage_variables)
        if integration.credentials is None:
            self._check_permission(api, stage, matched, request, arn)
        if integration.type == "AWS_PROXY":
            return self._lambda_proxy(api, stage_variables, matched, request, context, arn)
        return self._lambda_custom(api, stage_variables, matched, request, context, arn)

    def _check_permission(self, api: DeployedApi, stage: str, matched: Route, request: ApiRequest, arn: str) -> None:
        try:
            region, account_id = arn.split(":")[3:5]
            policy = function_policy.policy_document(self.ctx.backend("lambda", region, account_id), arn)
        except LookupError as error:
            raise internal_error(f"Execution failed due to configuration error: {error}") from error
        candidates = apigateway_permissions.source_arns(
            region=api.region, account_id=api.account_id, api_id=api.api_id, stage=stage,
            verbs={request.method, matched.method.http_method}, paths={matched.resource.path, request.path},
        )
        if policy is None or not apigateway_permissions.invoke_allowed(json.dumps(policy), candidates, api.account_id):
            raise internal_error(
                f"Execution failed due to configuration error: Invalid permissions on Lambda function {arn}: "
                f"its policy does not let apigateway.amazonaws.com invoke it from {candidates[0]} "
                "(call lambda add_permission, as the console does, or give the integration credentials)"
            )

    def _lambda_proxy(
        self, api: DeployedApi, stage_variables: dict[str, str], matched: Route, request: ApiRequest,
        context: dict[str, Any], arn: str,
    ) -> Response:
        integration = matched.method.integration
        assert integration is not None
        event = proxy_event(
            request,
            resource_path=matched.resource.path,
            path_parameters=matched.path_parameters,
            stage_variables=stage_variables,
            request_context=context,
            binary_media_types=api.binary_media_types,
        )
        outcome = self.lambdas.invoke(arn, json.dumps(event).encode(), timeout_ms=integration.timeout_ms)
        if outcome.function_error:
            raise internal_error(
                f"Lambda function {arn} failed ({outcome.function_error}): {outcome.payload[:500]!r}",
                status=502,
                response_type="DEFAULT_5XX",
            )
        result = proxy_result(outcome.payload, request, api.binary_media_types)
        response = Response(result.body, status=result.status)
        response.headers.clear()
        for name, value in result.headers:
            response.headers.add(name, value)
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        response.headers["X-Amzn-Trace-Id"] = request.header("X-Amzn-Trace-Id") or ""
        return response

    def _lambda_custom(
        self, api: DeployedApi, stage_variables: dict[str, str], matched: Route, request: ApiRequest,
        context: dict[str, Any], arn: str,
    ) -> Response:
        integration = matched.method.integration
        assert integration is not None
        if integration.content_handling or matches_media_type(request.content_type, api.binary_media_types):
            raise internal_error("binary payloads and contentHandling on non-proxy integrations are not emulated")
        params = {
            "path": matched.path_parameters,
            "querystring": request.single_query(),
            "header": request.single_headers(),
        }
        template_context = {
            **context,
            "requestOverride": {"header": {}, "querystring": {}, "path": {}},
            "responseOverride": {"header": {}},
        }
        template = choose_request_template(integration, request.content_type)
        body_text = text_body(request.body)
        if template is None:
            payload = body_text
        else:
            payload = self._render(template, body_text, params, template_context, stage_variables, "request")
        try:
            json.loads(payload if payload.strip() else "{}")
        except json.JSONDecodeError as error:
            raise GatewayError("DEFAULT_4XX", f"Could not parse request body into json: {error}") from error
        invocation_type = "RequestResponse"
        if integration.request_parameters.get("integration.request.header.X-Amz-Invocation-Type") == "'Event'":
            invocation_type = "Event"
        outcome = self.lambdas.invoke(
            arn, (payload if payload.strip() else "{}").encode(), timeout_ms=integration.timeout_ms,
            invocation_type=invocation_type,
        )
        output = outcome.payload.decode("utf-8", errors="replace")
        error_message = None
        if outcome.function_error:
            try:
                error_message = str(json.loads(output).get("errorMessage", ""))
            except (json.JSONDecodeError, AttributeError):
                error_message = output
        chosen = choose_integration_response(integration.responses, error_message)
        content_type, response_template = choose_response_template(chosen.response_templates, request.header("Accept"))
        body = output if response_template is None else self._render(
            response_template, output, params, template_context, stage_variables, "response"
        )
        override = template_context["responseOverride"]
        try:
            status = int(override.get("status") or chosen.status_code)
        except ValueError as error:
            wrong = override.get("status") or chosen.status_code
            raise internal_error(f"response status {wrong!r} is not a number") from error
        response = Response(body, status=status, content_type=content_type)
        for target, source in chosen.response_parameters.items():
            if target.startswith("method.response.header."):
                value = response_parameter(source, output, context, stage_variables)
                if value is not None:
                    response.headers[target.removeprefix("method.response.header.")] = value
        for name, value in (override.get("header") or {}).items():
            response.headers[name] = str(value)
        response.headers["X-Amzn-Trace-Id"] = request.header("X-Amzn-Trace-Id") or ""
        return response

    @staticmethod
    def _render(
        template: str, body: str, params: dict[str, dict[str, str]], context: dict[str, Any],
        stage_variables: dict[str, str], which: str,
    ) -> str:
        variables = {
            "input": InputVariable(body, params),
            "util": UtilVariable(),
            "context": context,
            "stageVariables": stage_variables,
        }
        try:
            return render(template, variables)
        except TemplateError as error:
            raise internal_error(
                f"Execution failed due to configuration error: Unable to transform {which}: {error}"
            ) from error
