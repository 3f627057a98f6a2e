"""What a rule's target receives: the event itself, ``Input``, ``InputPath`` or ``InputTransformer``.

PutTargets (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html): ``Input``
is JSON text passed as it is, "nothing from the event itself is passed"; ``InputPath`` is a JSONPath
that picks part of the event. ``InputTransformer`` follows
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html: variables
from ``InputPathsMap`` (JSONPaths) and the predefined ``aws.events.*`` ones fill ``<name>``
placeholders of ``InputTemplate``. Outside a quoted string a value goes in as JSON (a string gets
its quotes); inside one it goes in as it is, unescaped; a variable whose path is not in the event
is not created and leaves nothing behind. JSONPaths here are the dotted/bracketed paths the API
examples use (``$.detail.state``, ``$.resources[0]``, ``$['detail-type']``).
"""

from __future__ import annotations

import json
import re
from typing import Any

PATH_TOKEN = re.compile(r"\.(?P<name>[^.\[\]]+)|\[(?P<index>\d+)\]|\['(?P<quoted>[^']*)'\]")
PLACEHOLDER = re.compile(r"<(?P<name>[A-Za-z0-9_.\-]+)>")
_MISSING = object()


class InvalidPath(ValueError):
    pass


def select(document: Any, path: str) -> Any:
    """The value at a JSONPath, or ``_MISSING``."""
    if not path.startswith("$"):
        raise InvalidPath(f"JSONPath {path!r} must start with $")
    position, value = 1, document
    while position < len(path):
        token = PATH_TOKEN.match(path, position)
        if token is None:
            raise InvalidPath(f"JSONPath {path!r} is not supported by the local cloud")
        position = token.end()
        if token.group("index") is not None:
            index = int(token.group("index"))
            if not isinstance(value, list) or index >= len(value):
                return _MISSING
            value = value[index]
        else:
            key = token.group("name") if token.group("name") is not None else token.group("quoted")
            if not isinstance(value, dict) or key not in value:
                return _MISSING
            value = value[key]
    return value


def render_template(template: str, variables: dict[str, Any]) -> str:
    """Fill ``<name>`` placeholders, knowing whether each stands inside a JSON string."""
    out: list[str] = []
    in_string, position = False, 0
    while position < len(template):
        char = template[position]
        if char == "\\" and in_string:
            out.append(template[position : position + 2])
            position += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            placeholder = PLACEHOLDER.match(template, position)
            if placeholder and placeholder.group("name") in variables:
                value = variables[placeholder.group("name")]
                if value is not _MISSING:
                    out.append(value if in_string and isinstance(value, str) else json.dumps(value))
                position = placeholder.end()
                continue
        out.append(char)
        position += 1
    return "".join(out)


def target_payload(target: dict, event: dict, rule_arn: str, rule_name: str) -> str:
    """The text the target is sent for ``event``, as its Input settings say."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        value = select(event, target["InputPath"])
        return json.dumps(None if value is _MISSING else value)
    transformer = target.get("InputTransformer")
    if transformer:
        variables: dict[str, Any] = {
            name: select(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()
        }
        variables.update(
            {
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_name,
                "aws.events.event": event,
                "aws.events.event.json": json.dumps(event),
                "aws.events.event.ingestion-time": event["time"],
            }
        )
        return render_template(transformer["InputTemplate"], variables)
    return json.dumps(event)
