"""Which resource and method of a deployed REST API a request path reaches.

Resource paths hold literal segments, path variables ``{name}`` (one segment) and a greedy
variable ``{name+}`` (one or more segments, last in the path); a method ``ANY`` catches every
HTTP verb (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html).
When several resources match, the most specific wins, segment by segment: a literal beats a
variable, which beats a greedy variable. A resource that lacks the request's method (and ANY)
is passed over for the next match. No match is API Gateway's 403 "Missing Authentication Token".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from helpers.localcloud.apigateway.deployments import MethodConfig, ResourceConfig

VARIABLE = re.compile(r"^\{([^{}+]+)\}$")
GREEDY = re.compile(r"^\{([^{}+]+)\+\}$")
LITERAL, ONE_SEGMENT, GREEDY_SEGMENTS = 0, 1, 2  # specificity ranks: lower is more specific


@dataclass(frozen=True)
class Route:
    resource: ResourceConfig
    method: MethodConfig
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def match_resource(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(specificity, path parameters) when ``path`` fits the resource path ``template``."""
    pattern, actual = _segments(template), _segments(path)
    ranks: list[int] = []
    parameters: dict[str, str] = {}
    for position, part in enumerate(pattern):
        greedy = GREEDY.match(part)
        if greedy:
            rest = actual[position:]
            if position != len(pattern) - 1 or not rest or any(segment == "" for segment in rest):
                return None
            parameters[greedy.group(1)] = "/".join(rest)
            ranks.append(GREEDY_SEGMENTS)
            return tuple(ranks), parameters
        if position >= len(actual) or actual[position] == "":
            return None
        variable = VARIABLE.match(part)
        if variable:
            parameters[variable.group(1)] = actual[position]
            ranks.append(ONE_SEGMENT)
        elif part == actual[position]:
            ranks.append(LITERAL)
        else:
            return None
    if len(actual) != len(pattern):
        return None
    return tuple(ranks), parameters


def route(resources: Sequence[ResourceConfig], http_method: str, path: str) -> Route | None:
    """The resource and method serving ``http_method path``, or None (403 on AWS)."""
    candidates = []
    for resource in resources:
        matched = match_resource(resource.path, path)
        if matched is not None:
            candidates.append((matched[0], resource, matched[1]))
    candidates.sort(key=lambda candidate: candidate[0])
    for _, resource, parameters in candidates:
        method = resource.methods.get(http_method) or resource.methods.get("ANY")
        if method is not None:
            return Route(resource, method, parameters)
    return None
