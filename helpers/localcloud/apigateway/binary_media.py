"""An API's ``binaryMediaTypes``, which moto 5.2.5 loses on the way in.

moto's CreateRestApi ignores ``binaryMediaTypes``, and its UpdateRestApi stores ``""`` for
``{"op": "add", "path": "/binaryMediaTypes/image~1png"}`` because the media type travels in the
path, JSON-Pointer escaped (``~1`` is ``/``, ``~0`` is ``~``), as the UpdateRestApi reference
describes (https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html). The plane
applies the requests' intent itself after moto has answered, so that both the invoke path and
GetRestApi see the right list.
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "/binaryMediaTypes/"


def _unescape(pointer_part: str) -> str:
    return pointer_part.replace("~1", "/").replace("~0", "~")


def created_types(body: bytes) -> list[str] | None:
    """The list a CreateRestApi body asks for, or None when it names none."""
    try:
        document = json.loads(body or b"{}")
    except json.JSONDecodeError:
        return None
    types = document.get("binaryMediaTypes") if isinstance(document, dict) else None
    return [str(t) for t in types] if isinstance(types, list) else None


def patched_types(current: list[str], body: bytes) -> list[str]:
    """``current`` after the UpdateRestApi patch operations that touch ``/binaryMediaTypes/...``."""
    try:
        operations: list[dict[str, Any]] = json.loads(body or b"{}").get("patchOperations") or []
    except (json.JSONDecodeError, AttributeError):
        return current
    types = [t for t in current if t]
    for operation in operations:
        path = str(operation.get("path", ""))
        if not path.startswith(PREFIX):
            continue
        media_type = _unescape(path.removeprefix(PREFIX))
        if operation.get("op") == "add" and media_type not in types:
            types.append(media_type)
        elif operation.get("op") == "remove" and media_type in types:
            types.remove(media_type)
        elif operation.get("op") == "replace" and media_type in types and operation.get("value"):
            types[types.index(media_type)] = str(operation["value"])
    return types
