"""One API request as API Gateway sees it, and the ``$context`` variables it gives rise to.

The same map of context variables is the proxy event's ``requestContext`` and the ``$context`` of
mapping templates: "the key is the name of a $context variable property"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

DEFAULT_CONTENT_TYPE = "application/json"  # what API Gateway assumes when a request has none


def new_request_ids() -> tuple[str, str]:
    """(requestId, extendedRequestId): a UUID, and the 16-character id also sent as x-amz-apigw-id."""
    return str(uuid.uuid4()), base64.b64encode(os.urandom(11)).decode()


@dataclass(frozen=True)
class ApiRequest:
    """The client's request, after the local invoke prefix ``/restapis/{id}/{stage}/_user_request_``."""

    method: str
    path: str  # "/" or "/a/b", as the client sent it (percent-encoding kept), no trailing slash
    query: list[tuple[str, str]]  # decoded pairs, in the client's order
    headers: list[tuple[str, str]]  # the server joins repeated headers into one, comma-separated
    body: bytes
    source_ip: str
    protocol: str
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    ids: tuple[str, str] = field(default_factory=new_request_ids)

    @classmethod
    def build(
        cls, method: str, path: str, raw_query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str,
        protocol: str,
    ) -> ApiRequest:
        clean = "/" + path.strip("/")
        return cls(
            method=method.upper(),
            path=clean,
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers=headers,
            body=body,
            source_ip=source_ip,
            protocol=protocol,
        )

    @property
    def request_id(self) -> str:
        return self.ids[0]

    @property
    def extended_request_id(self) -> str:
        return self.ids[1]

    def header(self, name: str) -> str | None:
        """A header's value, whatever its case."""
        wanted = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters (``charset``...)."""
        raw = self.header("Content-Type")
        return raw.split(";")[0].strip().lower() if raw else DEFAULT_CONTENT_TYPE

    def single_headers(self) -> dict[str, str]:
        return {key: value for key, value in self.headers}

    def multi_headers(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for key, value in self.headers:
            values.setdefault(key, []).append(value)
        return values

    def single_query(self) -> dict[str, str]:
        """One value per name: the last one, as API Gateway keeps it."""
        return {key: value for key, value in self.query}

    def multi_query(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for key, value in self.query:
            values.setdefault(key, []).append(value)
        return values


@dataclass(frozen=True)
class Identity:
    """Who called: what ``$context.identity`` holds without an authorizer."""

    source_ip: str
    user_agent: str | None
    api_key: str | None = None
    api_key_id: str | None = None

    def as_context(self) -> dict[str, Any]:
        return {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "apiKey": self.api_key,
            "apiKeyId": self.api_key_id,
            "principalOrgId": None,
            "sourceIp": self.source_ip,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": self.user_agent,
            "user": None,
            "accessKey": None,
        }


def domain_name(api_id: str, region: str) -> str:
    """The API's default endpoint host on AWS; the local invoke URL stands in for it."""
    return f"{api_id}.execute-api.{region}.amazonaws.com"


def context_variables(
    *,
    account_id: str,
    api_id: str,
    region: str,
    stage: str,
    request: ApiRequest,
    resource_id: str | None,
    resource_path: str | None,
    identity: Identity,
) -> dict[str, Any]:
    """``$context`` / ``requestContext`` (mapping template reference, "$context Variables").

    The resource is None until the request is routed (a 403 for an unknown path has none).
    """
    received = request.received
    return {
        "resourceId": resource_id,
        "resourcePath": resource_path,
        "httpMethod": request.method,
        "extendedRequestId": request.extended_request_id,
        "requestTime": received.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{stage}{request.path}",  # "/prod/" for the root resource, as on AWS
        "accountId": account_id,
        "protocol": request.protocol,
        "stage": stage,
        "domainPrefix": api_id,
        "requestTimeEpoch": int(received.timestamp() * 1000),
        "requestId": request.request_id,
        "identity": identity.as_context(),
        "domainName": domain_name(api_id, region),
        "apiId": api_id,
    }
