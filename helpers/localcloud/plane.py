"""What every data plane shares: its interface, the server's context, and request helpers.

moto serves the control planes (create a stream, a table, a function...). A *data plane* is one
AWS behaviour moto lacks, such as running a Lambda function's code. Each lives in its own module
under ``helpers.localcloud.planes``; the server offers every request to the planes in order and
hands it to moto when none claims it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
import json
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Context:
    """What a plane knows about the server it runs in."""

    endpoint_url: str  # how code started by the local cloud (handlers, jobs) calls back into it
    state_dir: Path  # files that outlive a request: logs, databases
    # Services served by a process of their own (service -> URL): code the local cloud starts
    # calls them there directly (planes/dynamodb_process.py).
    service_endpoints: dict[str, str] = field(default_factory=dict)

    def backend(self, service: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
        """moto's in-memory backend for a service, e.g. ``ctx.backend("lambda", "us-east-1")``."""
        from moto.backends import get_backend

        return get_backend(service)[account_id][region]  # type: ignore[call-overload]


class DataPlane:
    """One emulated AWS behaviour. Subclasses set ``name`` and override what they need."""

    name = "plane"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def handles(self, request: Request) -> bool:
        """True when this plane answers the request instead of moto."""
        return False

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def start(self) -> None:
        """Start background work (pollers, schedulers). Called once when the server starts."""

    def stop(self) -> None:
        """Stop background work. Called once when the server stops."""


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def signing_scope(request: Request) -> tuple[str | None, str | None]:
    """(region, service) from a SigV4 ``Authorization`` header, or (None, None) if unsigned."""
    match = _CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
    return (match.group(1), match.group(2)) if match else (None, None)


def amz_target(request: Request) -> str:
    """The ``X-Amz-Target`` header of JSON-protocol APIs, e.g. ``RedshiftData.ExecuteStatement``."""
    return request.headers.get("X-Amz-Target", "")


def json_error(status: int, error_type: str, message: str, **headers: str) -> Response:
    """An error in the shape of AWS's JSON protocols (``__type`` and ``message``)."""
    response = Response(
        json.dumps({"__type": error_type, "message": message}),
        status=status,
        content_type="application/x-amz-json-1.1",
    )
    response.headers["x-amzn-ErrorType"] = error_type
    for name, value in headers.items():
        response.headers[name] = value
    return response


JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


class ApiError(Exception):
    """An AWS JSON-protocol error: ``__type``, the message (under ``message_key``) and any members."""

    message_key = "message"

    def __init__(self, error_type: str, message: str, status: int = 400, **members: Any) -> None:
        super().__init__(message)
        self.error_type, self.message, self.status, self.members = error_type, message, status, members

    def response(self) -> Response:
        body = {"__type": self.error_type, self.message_key: self.message, **self.members}
        response = Response(json.dumps(body), status=self.status, content_type=JSON_CONTENT_TYPE)
        response.headers["x-amzn-ErrorType"] = self.error_type
        return response


class JsonApiPlane(DataPlane):
    """A plane answering a whole JSON-protocol API (``X-Amz-Target: <prefix><Action>``) itself.

    Subclasses set ``target_prefix``, ``service_label`` and ``error_class`` and fill ``self.actions``
    with ``Action -> operation(region, body) -> dict``; an action they lack answers 501.
    """

    target_prefix = ""
    service_label = ""
    error_class: type[ApiError] = ApiError

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.actions: dict[str, Callable[[str, dict], dict]] = {}

    def handles(self, request: Request) -> bool:
        return amz_target(request).startswith(self.target_prefix)

    def call(self, operation: Callable[[str, dict], dict], region: str, body: dict) -> dict:
        """Run one operation; a subclass may wrap it (for example in its state's lock)."""
        return operation(region, body)

    def handle(self, request: Request) -> Response:
        action = amz_target(request)[len(self.target_prefix) :]
        region = signing_scope(request)[0] or "us-east-1"
        error = self.error_class
        try:
            operation = self.actions.get(action)
            if operation is None:
                raise error("NotImplemented", f"The local cloud does not emulate {self.service_label}.{action}", status=501)
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError as bad_json:
                raise error("SerializationException", "The request body is not valid JSON") from bad_json
            result = self.call(operation, region, body)
        except ApiError as failure:
            return failure.response()
        return Response(json.dumps(result), content_type=JSON_CONTENT_TYPE)
