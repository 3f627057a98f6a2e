"""Request validators: required parameters and JSON Schema (draft 4) request models.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
- ``validateRequestParameters``: every parameter marked required in the method's
  ``requestParameters`` (``method.request.querystring.q``, ``.header.h``, ``.path.p``) must be
  present and not blank, else 400 ``Missing required request parameters: [q, h]``.
- ``validateRequestBody``: the body must satisfy the model the method names for the request's
  content type (``requestModels``; ``$default`` when none is named for it), else 400
  ``Invalid request body``. An empty body is checked as ``{}``. A content type with no model is
  not checked (the passthrough rules decide what happens to it).
Models may ``$ref`` other models of the API by their URL
``https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from helpers.localcloud.apigateway.deployments import DeployedApi, MethodConfig
from helpers.localcloud.apigateway.request import ApiRequest
from helpers.localcloud.apigateway.responses import GatewayError, internal_error

if TYPE_CHECKING:
    from jsonschema import Draft4Validator

log = logging.getLogger("localcloud.apigateway")


def model_url(api_id: str, name: str) -> str:
    return f"https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}"


def missing_parameters(method: MethodConfig, request: ApiRequest, path_parameters: dict[str, str]) -> list[str]:
    """Names of required parameters that are absent or blank, in the method's order."""
    present = {
        "querystring": request.single_query(),
        "header": {name.lower(): value for name, value in request.single_headers().items()},
        "path": path_parameters,
    }
    missing = []
    for key, required in method.request_parameters.items():
        parts = key.split(".", 3)
        if not required or len(parts) != 4 or parts[:2] != ["method", "request"] or parts[2] not in present:
            continue
        name = parts[3]
        value = present[parts[2]].get(name.lower() if parts[2] == "header" else name)
        if value is None or not value.strip():
            missing.append(name)
    return missing


def _validator(api: DeployedApi, model_name: str) -> Draft4Validator:
    # Imported here: jsonschema takes about 1.5 s to import (its URI grammar), which every start of
    # the local cloud would otherwise pay; only APIs with a request validator need it.
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    if model_name in api.broken_models:
        raise internal_error(f"model {model_name} of API {api.api_id} is unusable: {api.broken_models[model_name]}")
    schema = api.model_schema(model_name)
    if schema is None:
        raise internal_error(f"method names model {model_name!r}, which API {api.api_id} does not have")
    registry = Registry().with_resources(
        (model_url(api.api_id, name), Resource.from_contents(body, default_specification=DRAFT4))
        for name, body in api.models.items()
    )
    return Draft4Validator(schema, registry=registry)


def body_is_valid(api: DeployedApi, model_name: str, body: bytes) -> bool:
    validator = _validator(api, model_name)
    try:
        document: Any = json.loads(body) if body.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    for error in errors:
        log.info("API Gateway: request body fails model %s at %s: %s", model_name, list(error.path), error.message)
    return not errors


def validate_request(
    api: DeployedApi, method: MethodConfig, request: ApiRequest, path_parameters: dict[str, str]
) -> None:
    """Raise the 400 gateway error of the method's request validator, if the request fails it."""
    if not method.request_validator_id:
        return
    validator = api.validators.get(method.request_validator_id)
    if validator is None:
        raise internal_error(f"method names request validator {method.request_validator_id}, which the API lacks")
    if validator.validate_parameters:
        missing = missing_parameters(method, request, path_parameters)
        if missing:
            raise GatewayError("BAD_REQUEST_PARAMETERS", f"Missing required request parameters: [{', '.join(missing)}]")
    if validator.validate_body:
        models = {content_type.lower(): name for content_type, name in method.request_models.items()}
        model_name = models.get(request.content_type) or models.get("$default")
        if model_name and not body_is_valid(api, model_name, request.body):
            raise GatewayError("BAD_REQUEST_BODY", "Invalid request body")
