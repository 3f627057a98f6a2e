"""Deployments: the frozen copy of a REST API that a stage serves.

On AWS, ``CreateDeployment`` takes a snapshot of the API's resources, methods, integrations,
models, validators and gateway responses; a stage serves its deployment's snapshot, so a change
made afterwards is invisible until the next deployment ("you must redeploy the API"; see
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html). moto keeps
only a deployment's id, so the plane copies the API here each time a deployment is created.
Usage plans, API keys and stage settings are not part of a deployment: they are read live.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT_MS = 29_000  # timeoutInMillis default (and maximum) of REST API integrations

# Models API Gateway creates in every new REST API (moto does not).
BUILTIN_MODELS = {
    "Empty": {"$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", "type": "object"},
    "Error": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Error Schema",
        "type": "object",
        "properties": {"message": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class IntegrationResponseConfig:
    status_code: str
    selection_pattern: str | None
    response_templates: dict[str, str | None]
    response_parameters: dict[str, str]
    content_handling: str | None


@dataclass(frozen=True)
class IntegrationConfig:
    type: str  # AWS_PROXY, AWS, MOCK, HTTP, HTTP_PROXY
    uri: str | None
    http_method: str | None
    request_templates: dict[str, str | None]
    request_parameters: dict[str, str]
    passthrough_behavior: str
    content_handling: str | None
    timeout_ms: int
    credentials: str | None
    responses: dict[str, IntegrationResponseConfig]


@dataclass(frozen=True)
class MethodConfig:
    http_method: str
    authorization_type: str
    api_key_required: bool
    request_parameters: dict[str, bool]
    request_models: dict[str, str]
    request_validator_id: str | None
    integration: IntegrationConfig | None


@dataclass(frozen=True)
class ResourceConfig:
    id: str
    path: str
    methods: dict[str, MethodConfig]


@dataclass(frozen=True)
class ValidatorConfig:
    validate_body: bool
    validate_parameters: bool


@dataclass(frozen=True)
class GatewayResponseConfig:
    status_code: str | None
    response_parameters: dict[str, str]
    response_templates: dict[str, str]


@dataclass(frozen=True)
class DeployedApi:
    """What a stage serves: the API as it was when the deployment was created."""

    api_id: str
    account_id: str
    region: str
    deployment_id: str | None
    binary_media_types: tuple[str, ...]
    api_key_source: str
    resources: tuple[ResourceConfig, ...]
    models: dict[str, Any]  # name -> schema (parsed JSON)
    validators: dict[str, ValidatorConfig]
    gateway_responses: dict[str, GatewayResponseConfig]
    broken_models: dict[str, str] = field(default_factory=dict)  # name -> why its schema is unusable

    def model_schema(self, name: str) -> Any | None:
        if name in self.models:
            return self.models[name]
        return BUILTIN_MODELS.get(name)


def _integration(integration: Any) -> IntegrationConfig:
    responses = {
        str(code): IntegrationResponseConfig(
            status_code=str(response.status_code),
            selection_pattern=response.selection_pattern or None,
            response_templates=dict(response.response_templates or {}),
            response_parameters=dict(response.response_parameters or {}),
            content_handling=response.content_handling,
        )
        for code, response in (integration.integration_responses or {}).items()
    }
    timeout = integration.timeout_in_millis
    return IntegrationConfig(
        type=str(integration.integration_type).upper(),
        uri=integration.uri,
        http_method=integration.http_method,
        request_templates=dict(integration.request_templates or {}),
        request_parameters=dict(integration.request_parameters or {}),
        passthrough_behavior=(integration.passthrough_behaviour or "WHEN_NO_MATCH").upper(),
        content_handling=integration.content_handling,
        timeout_ms=int(timeout) if timeout else DEFAULT_TIMEOUT_MS,
        credentials=integration.credentials,
        responses=responses,
    )


def _method(method: Any) -> MethodConfig:
    return MethodConfig(
        http_method=method.http_method,
        authorization_type=(method.authorization_type or "NONE").upper(),
        api_key_required=bool(method.api_key_required),
        request_parameters={k: bool(v) for k, v in (method.request_parameters or {}).items()},
        request_models=dict(method.request_models or {}),
        request_validator_id=method.request_validator_id or None,
        integration=_integration(method.method_integration) if method.method_integration else None,
    )


def snapshot(rest_api: Any, deployment_id: str | None) -> DeployedApi:
    """Copy moto's ``RestAPI`` into plain, independent values."""
    models: dict[str, Any] = {}
    broken: dict[str, str] = {}
    for name, model in rest_api.models.items():
        try:
            models[name] = json.loads(model.schema) if isinstance(model.schema, str) else copy.deepcopy(model.schema)
        except json.JSONDecodeError as error:
            broken[name] = f"schema is not JSON: {error}"
    return DeployedApi(
        api_id=rest_api.id,
        account_id=rest_api.account_id,
        region=rest_api.region_name,
        deployment_id=deployment_id,
        binary_media_types=tuple(rest_api.binaryMediaTypes or ()),
        api_key_source=(rest_api.api_key_source or "HEADER").upper(),
        resources=tuple(
            ResourceConfig(
                id=resource.id,
                path=resource.get_path(),
                methods={verb: _method(method) for verb, method in resource.resource_methods.items()},
            )
            for resource in list(rest_api.resources.values())
        ),
        models=models,
        validators={
            validator_id: ValidatorConfig(
                validate_body=bool(validator.validate_request_body),
                validate_parameters=bool(validator.validate_request_parameters),
            )
            for validator_id, validator in rest_api.request_validators.items()
        },
        gateway_responses={
            kind: GatewayResponseConfig(
                status_code=str(response.status_code) if response.status_code is not None else None,
                response_parameters=dict(response.response_parameters or {}),
                response_templates=dict(response.response_templates or {}),
            )
            for kind, response in rest_api.gateway_responses.items()
        },
        broken_models=broken,
    )


class DeploymentSnapshots:
    """Snapshots by (account, region, api id, deployment id); safe to use from server threads."""

    def __init__(self) -> None:
        self._snapshots: dict[tuple[str, str, str, str], DeployedApi] = {}
        self._lock = threading.Lock()

    def record(self, deployed: DeployedApi) -> None:
        assert deployed.deployment_id is not None
        with self._lock:
            self._snapshots[(deployed.account_id, deployed.region, deployed.api_id, deployed.deployment_id)] = deployed

    def get(self, account_id: str, region: str, api_id: str, deployment_id: str) -> DeployedApi | None:
        with self._lock:
            return self._snapshots.get((account_id, region, api_id, deployment_id))
