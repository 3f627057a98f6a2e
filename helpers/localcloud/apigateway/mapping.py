"""Mapping templates around a non-proxy (``AWS``) integration: ``$input`` and ``$util``, the choice
of request template (with the passthrough behaviours) and of integration response.

- Variables: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
- Passthrough: https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
- Integration responses: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-integration-settings-integration-response.html

JSONPath is the subset templates use: ``$``, ``$.a.b``, ``$['a']``, ``$.a[0]``. Anything else
(``..``, ``*``, filters, slices) raises TemplateError. A path that finds nothing gives ``""`` from
``$input.json`` and null from ``$input.path``. A body that is not JSON is, for JSONPath, one
string. An empty body reads as ``{}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from helpers.localcloud.apigateway.deployments import IntegrationConfig, IntegrationResponseConfig
from helpers.localcloud.apigateway.responses import GatewayError, internal_error
from helpers.localcloud.apigateway.templates import TemplateError, VtlObject, from_json, to_json

JSONPATH_STEP = re.compile(r"\.([A-Za-z_$@][\w$@-]*)|\[\s*(-?\d+)\s*\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_MISSING = object()


def jsonpath(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``, or ``_MISSING``."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise TemplateError(f"JSONPath must start with '$': {path!r}")
    value, pos = document, 1
    while pos < len(path):
        step = JSONPATH_STEP.match(path, pos)
        if step is None:
            raise TemplateError(f"JSONPath {path!r} is beyond what the local API Gateway evaluates (at {path[pos:]!r})")
        pos = step.end()
        key, index = step.group(1) or step.group(3) or step.group(4), step.group(2)
        if index is not None:
            if not isinstance(value, list) or not -len(value) <= int(index) < len(value):
                return _MISSING
            value = value[int(index)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return _MISSING
    return value


def escape_javascript(text: str) -> str:
    """``$util.escapeJavaScript``: JavaScript string rules as Apache Commons Lang applies them,
    so ``'`` becomes ``\\'`` (which, as the AWS page warns, is not valid JSON)."""
    named = {
        "'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/",
        "\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r",
    }
    out = []
    for char in text:
        code = ord(char)
        if char in named:
            out.append(named[char])
        elif code < 32 or code > 0x7F:
            # Java strings are UTF-16: a character beyond the BMP is escaped as its surrogate pair.
            offset = code - 0x10000
            units = [code] if code <= 0xFFFF else [0xD800 + (offset >> 10), 0xDC00 + (offset & 0x3FF)]
            out.extend(f"\\u{unit:04X}" for unit in units)
        else:
            out.append(char)
    return "".join(out)


class UtilVariable(VtlObject):
    """``$util``."""

    vtl_name = "$util"

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        functions = {
            "escapeJavaScript": lambda s: escape_javascript(str(s)),
            "parseJson": lambda s: from_json(json.loads(s)),
            "urlEncode": lambda s: quote_plus(str(s), safe="*").replace("~", "%7E"),  # java.net.URLEncoder
            "urlDecode": lambda s: unquote_plus(str(s)),
            "base64Encode": lambda s: base64.b64encode(str(s).encode()).decode(),
            "base64Decode": lambda s: base64.b64decode(str(s), validate=True).decode(),
        }
        if name not in functions:
            raise TemplateError(f"unsupported method $util.{name}()")
        if len(args) != 1:
            raise TemplateError(f"$util.{name}() takes one argument, got {len(args)}")
        if args[0] is None:
            return None
        try:
            return functions[name](args[0])
        except (json.JSONDecodeError, binascii.Error, UnicodeDecodeError) as error:
            raise TemplateError(f"$util.{name}({args[0]!r}) failed: {error}") from error


class InputVariable(VtlObject):
    """``$input``: the payload (request body, or integration response body) and the request parameters."""

    vtl_name = "$input"

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self.parameters = {kind: dict(values) for kind, values in params.items()}
        self._document: Any = _MISSING

    @property
    def document(self) -> Any:
        if self._document is _MISSING:
            if not self.body.strip():
                self._document = {}
            else:
                try:
                    self._document = json.loads(self.body)
                except json.JSONDecodeError:
                    self._document = self.body
        return self._document

    def vtl_property(self, name: str) -> Any:
        if name == "body":
            return self.body if self.body else "{}"
        raise TemplateError(f"unsupported property $input.{name}")

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        if name == "json" and len(args) == 1:
            value = jsonpath(self.document, args[0])
            return "" if value is _MISSING else to_json(value)
        if name == "path" and len(args) == 1:
            value = jsonpath(self.document, args[0])
            return None if value is _MISSING else from_json(value)
        if name == "params" and not args:
            return self.parameters
        if name == "params" and len(args) == 1:
            return self.param(str(args[0]))
        raise TemplateError(f"unsupported call $input.{name}() with {len(args)} argument(s)")

    def param(self, name: str) -> str:
        """Path, then query string, then header (any case); "" when absent."""
        for kind in ("path", "querystring"):
            if name in self.parameters.get(kind, {}):
                return self.parameters[kind][name]
        for header, value in self.parameters.get("header", {}).items():
            if header.lower() == name.lower():
                return value
        return ""


def choose_request_template(integration: IntegrationConfig, content_type: str) -> str | None:
    """The request template for ``content_type``, None to pass the body through, or 415."""
    templates = {media.lower(): text for media, text in integration.request_templates.items()}
    if content_type in templates:
        return templates[content_type] or ""
    behavior = integration.passthrough_behavior
    if behavior == "WHEN_NO_MATCH" or (behavior == "WHEN_NO_TEMPLATES" and not templates):
        return None
    if behavior not in ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"):
        raise internal_error(f"unknown passthroughBehavior {behavior!r}")
    raise GatewayError("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type")


def choose_integration_response(
    responses: Mapping[str, IntegrationResponseConfig], error_message: str | None
) -> IntegrationResponseConfig:
    """For a Lambda integration: the response whose selectionPattern matches the whole
    ``errorMessage`` of a function error, else the default one (no pattern)."""
    ordered = sorted(responses.values(), key=lambda response: response.status_code)
    if error_message is not None:
        for response in ordered:
            if response.selection_pattern:
                try:
                    if re.fullmatch(response.selection_pattern, error_message):
                        return response
                except re.error as error:
                    pattern = response.selection_pattern
                    raise internal_error(f"selectionPattern {pattern!r} is not a regex: {error}") from error
    for response in ordered:
        if not response.selection_pattern:
            return response
    # AWS: "Execution failed due to configuration error: No match for output mapping and no
    # default output mapping configured" (the console adds a default 200; boto3 users must).
    raise internal_error(
        "no integration response matches and none is the default: add one with put_integration_response "
        "(statusCode '200', no selectionPattern) and its put_method_response"
    )


def choose_response_template(templates: Mapping[str, str | None], accept: str | None) -> tuple[str, str | None]:
    """(content type, template or None for passthrough): the first Accept media type if a template
    has it, else application/json, else the first template."""
    if not templates:
        return "application/json", None
    wanted = (accept or "").split(",")[0].split(";")[0].strip().lower()
    lowered = {media.lower(): media for media in templates}
    for media in (wanted, "application/json"):
        if media in lowered:
            return lowered[media], templates[lowered[media]] or None
    first = next(iter(templates))
    return first, templates[first] or None


def response_parameter(
    source: str, body: str, context: Mapping[str, Any], stage_variables: Mapping[str, str]
) -> str | None:
    """The value of an integration response's ``method.response.header.X`` mapping."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source == "integration.response.body" or source.startswith("integration.response.body."):
        path = "$" + source.removeprefix("integration.response.body")
        try:
            document = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError:
            document = body
        value = jsonpath(document, path)
        return None if value is _MISSING else value if isinstance(value, str) else to_json(value)
    if source.startswith("context."):
        value: Any = context
        for name in source.removeprefix("context.").split("."):
            value = value.get(name) if isinstance(value, Mapping) else None
        return None if value is None else str(value)
    if source.startswith("stageVariables."):
        return stage_variables.get(source.removeprefix("stageVariables."))
    raise internal_error(f"response parameter mapping {source!r} is not supported by the local API Gateway")
