"""What every data plane shares: its interface, the server's context, and request helpers.

moto serves the control planes (create a stream, a table, a function...). A *data plane* is one
AWS behaviour moto lacks, such as running a Lambda function's code. Each lives in its own module
under ``helpers.localcloud.planes``; the server offers every request to the planes in order and
hands it to moto when none claims it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Context:
    """What a plane knows about the server it runs in."""

    endpoint_url: str  # how code started by the local cloud (handlers, jobs) calls back into it
    state_dir: Path  # files that outlive a request: logs, databases

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
    import json

    response = Response(
        json.dumps({"__type": error_type, "message": message}),
        status=status,
        content_type="application/x-amz-json-1.1",
    )
    response.headers["x-amzn-ErrorType"] = error_type
    for name, value in headers.items():
        response.headers[name] = value
    return response
