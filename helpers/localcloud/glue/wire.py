"""Glue's JSON protocol: responses with epoch-second timestamps, and errors with ``__type``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from werkzeug.wrappers import Response

from helpers.localcloud.plane import json_error

CONTENT_TYPE = "application/x-amz-json-1.1"


def to_wire(value: Any) -> Any:
    """Timestamps as epoch seconds (moto's naive datetimes are UTC); members whose value is None
    left out, as AWS omits them."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    return value


def ok(body: dict) -> Response:
    return Response(json.dumps(to_wire(body)), content_type=CONTENT_TYPE)


class GlueError(Exception):
    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type, self.message, self.status = error_type, message, status

    def response(self) -> Response:
        return json_error(self.status, self.error_type, self.message)


def entity_not_found(message: str) -> GlueError:
    return GlueError("EntityNotFoundException", message)
