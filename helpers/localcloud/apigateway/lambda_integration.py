"""Calling a Lambda function from an API method, as API Gateway does: over the Lambda Invoke API
(with plain boto3 against the local endpoint, where the Lambda plane runs the code).

- Integration URI: ``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations``,
  with ``${stageVariables.x}`` substituted.
- Proxy (``AWS_PROXY``) event and response: version 1.0 of
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
  A function error, or a response that is not ``{statusCode, headers, multiValueHeaders, body,
  isBase64Encoded}`` (no other key), is a 502 ``{"message": "Internal server error"}``.
- Binary bodies (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html):
  a request whose Content-Type matches the API's ``binaryMediaTypes`` reaches the function base64
  encoded (``isBase64Encoded: true``); a response with ``isBase64Encoded`` is decoded when the
  request's first ``Accept`` media type matches ``binaryMediaTypes``, else sent as the base64 text.
- The integration timeout (``timeoutInMillis``, 29 s by default) is a 504
  ``{"message": "Endpoint request timed out"}``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from helpers.localcloud.apigateway.request import ApiRequest
from helpers.localcloud.apigateway.responses import GatewayError, internal_error

log = logging.getLogger("localcloud.apigateway")

LAMBDA_URI = re.compile(
    r"^arn:aws[a-zA-Z-]*:apigateway:(?P<region>[a-z0-9-]+):lambda:path/2015-03-31/functions/"
    r"(?P<function>arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^/]+)/invocations$"
)
STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_.:-]+)\}")
PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
# Hop-by-hop and length headers API Gateway does not hand to the function.
DROPPED_REQUEST_HEADERS = {"content-length", "connection", "transfer-encoding"}


def function_arn(uri: str | None, stage_variables: dict[str, str]) -> str:
    """The function ARN of a Lambda integration URI (after stage variable substitution)."""
    if not uri:
        raise internal_error("the Lambda integration has no uri")

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in stage_variables:
            raise internal_error(f"integration uri uses ${{stageVariables.{match.group(1)}}}, which the stage lacks")
        return stage_variables[match.group(1)]

    resolved = STAGE_VARIABLE.sub(substitute, uri)
    match = LAMBDA_URI.match(resolved)
    if not match:
        raise internal_error(
            f"integration uri {resolved!r} is not a Lambda invocation URI "
            "(arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations)"
        )
    return match.group("function")


def matches_media_type(media_type: str, patterns: tuple[str, ...]) -> bool:
    """``binaryMediaTypes`` entries may hold wildcards (``image/*``, ``*/*``)."""
    return bool(media_type) and any(fnmatch.fnmatchcase(media_type, pattern.lower()) for pattern in patterns)


def text_body(body: bytes) -> str:
    """A body API Gateway treats as text (UTF-8). Bytes that are not UTF-8 are replaced, with a
    warning: on AWS too, only a binary media type carries them intact."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("API Gateway: a request body is not UTF-8 and its content type is not in binaryMediaTypes; "
                    "invalid bytes are replaced")
        return body.decode("utf-8", errors="replace")


def proxy_event(
    request: ApiRequest,
    *,
    resource_path: str,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    request_context: dict[str, Any],
    binary_media_types: tuple[str, ...],
) -> dict[str, Any]:
    """The version 1.0 proxy event ("Input format of a Lambda function for proxy integration")."""
    headers = [(name, value) for name, value in request.headers if name.lower() not in DROPPED_REQUEST_HEADERS]
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    is_binary = bool(request.body) and matches_media_type(request.content_type, binary_media_types)
    if not request.body:
        body = None
    elif is_binary:
        body = base64.b64encode(request.body).decode()
    else:
        body = text_body(request.body)
    return {
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": request.single_query() or None,
        "multiValueQueryStringParameters": request.multi_query() or None,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_binary,
    }


@dataclass(frozen=True)
class ProxyResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _header_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _malformed(why: str, payload: bytes) -> GatewayError:
    return internal_error(
        f"Execution failed due to configuration error: Malformed Lambda proxy response ({why}): {payload[:300]!r}",
        status=502,
        response_type="DEFAULT_5XX",
    )


def _well_formed(output: Any) -> str | None:
    """Why ``output`` is not a proxy response, or None when it is one."""
    if not isinstance(output, dict):
        return "not a JSON object"
    if set(output) - PROXY_RESPONSE_KEYS:
        return f"unexpected keys {sorted(set(output) - PROXY_RESPONSE_KEYS)}"
    status = output.get("statusCode")
    if status is not None and not (isinstance(status, int) or (isinstance(status, str) and status.isdigit())):
        return "statusCode is not a number"
    headers = output.get("headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(v, (str, bool)) for v in headers.values())
    ):
        return "headers is not a map of strings"
    multi = output.get("multiValueHeaders")
    if multi is not None and not (
        isinstance(multi, dict)
        and all(isinstance(vs, list) and all(isinstance(v, (str, bool)) for v in vs) for vs in multi.values())
    ):
        return "multiValueHeaders is not a map of string lists"
    if output.get("body") is not None and not isinstance(output["body"], str):
        return "body is not a string"
    if output.get("isBase64Encoded") is not None and not isinstance(output["isBase64Encoded"], bool):
        return "isBase64Encoded is not a boolean"
    return None


def proxy_result(payload: bytes, request: ApiRequest, binary_media_types: tuple[str, ...]) -> ProxyResult:
    """The HTTP response a proxy integration's function output stands for, or a 502."""
    try:
        output = json.loads(payload) if payload.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        output = None
    problem = _well_formed(output)
    if problem:
        raise _malformed(problem, payload)
    multi = output.get("multiValueHeaders") or {}
    in_multi = {name.lower() for name in multi}
    headers = [(k, _header_text(v)) for k, v in (output.get("headers") or {}).items() if k.lower() not in in_multi]
    for name, values in multi.items():  # multiValueHeaders wins over headers for the same name
        headers.extend((name, _header_text(v)) for v in values)
    text = output.get("body") or ""
    body = text.encode()
    accept = (request.header("Accept") or "").split(",")[0].split(";")[0].strip().lower()
    if output.get("isBase64Encoded") and matches_media_type(accept, binary_media_types):
        try:
            body = base64.b64decode(text, validate=True)
        except binascii.Error as error:
            raise _malformed(f"isBase64Encoded body is not base64: {error}", payload) from error
    return ProxyResult(status=int(output.get("statusCode") or 200), headers=headers, body=body)


@dataclass(frozen=True)
class LambdaOutcome:
    payload: bytes
    function_error: str | None  # "Unhandled" / "Handled" when the function failed


class LambdaInvoker:
    """boto3 Lambda clients for the local endpoint, one per (region, timeout)."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def _client(self, region: str, timeout_ms: int) -> Any:
        with self._lock:
            key = (region, timeout_ms)
            if key not in self._clients:
                self._clients[key] = boto3.session.Session().client(
                    "lambda",
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    config=Config(
                        read_timeout=timeout_ms / 1000,
                        connect_timeout=5,
                        retries={"total_max_attempts": 1},
                        max_pool_connections=50,
                    ),
                )
            return self._clients[key]

    def invoke(
        self, arn: str, payload: bytes, *, timeout_ms: int, invocation_type: str = "RequestResponse"
    ) -> LambdaOutcome:
        region = arn.split(":")[3]
        try:
            response = self._client(region, timeout_ms).invoke(
                FunctionName=arn, Payload=payload, InvocationType=invocation_type
            )
        except ReadTimeoutError as error:
            raise GatewayError("INTEGRATION_TIMEOUT", "Endpoint request timed out", spaced=True) from error
        except ClientError as error:
            raise internal_error(f"Lambda invoke of {arn} failed: {error}") from error
        except ConnectionError as error:
            raise internal_error(f"Lambda invoke of {arn} could not reach {self.endpoint_url}: {error}") from error
        return LambdaOutcome(payload=response["Payload"].read(), function_error=response.get("FunctionError"))
