"""Gateway responses: the answers API Gateway itself gives when a request never reaches, or
fails in, the integration (403 Missing Authentication Token, 429 Too Many Requests...).

Default status codes and types: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
An API can customise them (PutGatewayResponse): status code, headers (static values or request
parameters) and body templates, in which API Gateway substitutes ``$context`` and
``$stageVariables`` variables without running Velocity
(https://docs.aws.amazon.com/apigateway/latest/developerguide/customize-gateway-responses.html).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from helpers.localcloud.apigateway.deployments import DeployedApi, GatewayResponseConfig

log = logging.getLogger("localcloud.apigateway")


@dataclass(frozen=True)
class ResponseType:
    name: str
    status: int
    error_type: str  # the x-amzn-ErrorType header


# The types this plane raises (DEFAULT_4XX / DEFAULT_5XX are the APIs' fallbacks).
RESPONSE_TYPES = {
    kind.name: kind
    for kind in (
        ResponseType("ACCESS_DENIED", 403, "AccessDeniedException"),
        ResponseType("API_CONFIGURATION_ERROR", 500, "InternalServerErrorException"),
        ResponseType("BAD_REQUEST_BODY", 400, "BadRequestException"),
        ResponseType("BAD_REQUEST_PARAMETERS", 400, "BadRequestException"),
        ResponseType("INTEGRATION_TIMEOUT", 504, "InternalServerErrorException"),
        ResponseType("INVALID_API_KEY", 403, "ForbiddenException"),
        ResponseType("MISSING_AUTHENTICATION_TOKEN", 403, "MissingAuthenticationTokenException"),
        ResponseType("QUOTA_EXCEEDED", 429, "LimitExceededException"),
        ResponseType("REQUEST_TOO_LARGE", 413, "RequestTooLargeException"),
        ResponseType("THROTTLED", 429, "TooManyRequestsException"),
        ResponseType("UNSUPPORTED_MEDIA_TYPE", 415, "UnsupportedMediaTypeException"),
        ResponseType("DEFAULT_4XX", 400, "BadRequestException"),
        ResponseType("DEFAULT_5XX", 500, "InternalServerErrorException"),
    )
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
CONTEXT_REFERENCE = re.compile(r"\$(context|stageVariables)((?:\.[A-Za-z0-9_]+)+)")


class GatewayError(Exception):
    """Raised anywhere in the request pipeline; becomes the matching gateway response.

    ``status`` overrides the type's default where AWS answers with another code for the same
    type (a malformed Lambda proxy response is a DEFAULT_5XX with status 502). ``spaced`` keeps
    the body of the integration errors as AWS writes it: ``{"message": "Internal server error"}``.
    """

    def __init__(self, response_type: str, message: str, *, status: int | None = None, spaced: bool = False) -> None:
        super().__init__(message)
        self.response_type = RESPONSE_TYPES[response_type]
        self.message = message
        self.status = status
        self.spaced = spaced


def internal_error(why: str, *, status: int = 500, response_type: str = "API_CONFIGURATION_ERROR") -> GatewayError:
    """AWS's ``{"message": "Internal server error"}``; ``why`` goes to the local cloud's log."""
    log.warning("API Gateway: %s", why)
    return GatewayError(response_type, "Internal server error", status=status, spaced=True)


def _configured(api: DeployedApi | None, kind: ResponseType) -> GatewayResponseConfig | None:
    """The API's own gateway response for this type, else its DEFAULT_4XX/DEFAULT_5XX."""
    if api is None:
        return None
    if kind.name in api.gateway_responses:
        return api.gateway_responses[kind.name]
    return api.gateway_responses.get("DEFAULT_5XX" if kind.status >= 500 else "DEFAULT_4XX")


def _substitute(template: str, variables: Mapping[str, Any]) -> str:
    """Plain ``$context.x.y`` / ``$stageVariables.x`` substitution (no Velocity)."""

    def value_of(match: re.Match[str]) -> str:
        value: Any = variables.get(match.group(1))
        for name in match.group(2).strip(".").split("."):
            value = value.get(name) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)

    return CONTEXT_REFERENCE.sub(value_of, template)


def _header_value(source: str, request_values: Mapping[str, Mapping[str, str]]) -> str | None:
    if source.startswith("'") and source.endswith("'") and len(source) >= 2:
        return source[1:-1]
    parts = source.split(".", 3)  # method.request.header.Name
    if len(parts) == 4 and parts[:2] == ["method", "request"] and parts[2] in request_values:
        values = request_values[parts[2]]
        wanted = parts[3].lower() if parts[2] == "header" else parts[3]
        for name, value in values.items():
            if (name.lower() if parts[2] == "header" else name) == wanted:
                return value
        return None
    log.warning("API Gateway: gateway response header mapping %r is not supported; header left out", source)
    return None


def render_gateway_error(
    error: GatewayError,
    *,
    api: DeployedApi | None,
    context: Mapping[str, Any] | None,
    stage_variables: Mapping[str, str] | None,
    request_values: Mapping[str, Mapping[str, str]],
    base_headers: Mapping[str, str],
) -> Response:
    """The HTTP response for ``error``, customised by the API's gateway responses if it has any."""
    kind = error.response_type
    configured = _configured(api, kind)
    status = error.status or kind.status
    templates: Mapping[str, str] = {"application/json": DEFAULT_TEMPLATE}
    headers = dict(base_headers)
    if configured is not None:
        if configured.status_code:
            status = int(configured.status_code)
        templates = configured.response_templates or templates
        for target, source in configured.response_parameters.items():
            name = target.removeprefix("gatewayresponse.header.")
            value = _header_value(source, request_values)
            if value is not None:
                headers[name] = value
    content_type, template = next(iter(templates.items()))
    variables = {
        "context": {
            **(context or {}),
            "error": {
                "message": error.message,
                "messageString": json.dumps(error.message),
                "responseType": kind.name,
                "validationErrorString": "",
            },
        },
        "stageVariables": stage_variables or {},
    }
    if configured is None and error.spaced:
        body = json.dumps({"message": error.message})
    else:
        body = _substitute(template or "", variables)
    headers["Content-Type"] = content_type
    headers["x-amzn-ErrorType"] = kind.error_type
    return Response(body, status=status, headers=headers)
