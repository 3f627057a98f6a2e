"""The ingestion REST API in front of the ``kinesis_api`` function, created or brought up to date.

``ensure_api`` builds, idempotently (everything is found by name, and changed only if it differs):

- a REGIONAL REST API (``config.Names.api_name``) with one resource, ``/invoices``;
- POST (send events) and GET (read an invoice or a customer) on it, both with ``apiKeyRequired``
  and an ``AWS_PROXY`` (Lambda proxy) integration with the function;
- a JSON Schema model of the POST body and a request validator that checks it at the gateway;
- the function's resource-based policy statements that let API Gateway invoke it, one per method,
  scoped to this API, method and path;
- a deployment to the stage (``config.Names.api_stage``), made again only when the API changed;
- an API key, a usage plan on the stage (throttle and quota per key) and the key in the plan.

moto's API Gateway does not implement UpdateModel, UpdateMethod or UpdateRequestValidator, so a
method, model or validator that differs is deleted and created again; that works on AWS as well
(a method goes first: AWS refuses to delete a model or validator a method still uses).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from helpers import apigateway, aws, config
from helpers.prerequisites import MissingPrerequisite

MODEL_NAME = "InvoiceEvents"
VALIDATOR_NAME = "validate-body"
MAX_EVENTS = 500  # one Kinesis PutRecords; kinesis_api's own limit
# The request envelope, checked by API Gateway before the function runs (and is billed). Each
# event's fields are checked by the function, which names every bad field by event index: a
# gateway validator can only refuse the whole request ("Invalid request body"), so a client
# sending 500 events could not tell which one was wrong and re-send the others.
POST_BODY_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": MODEL_NAME,
    "description": f"One invoice line (a JSON object) or a JSON array of 1 to {MAX_EVENTS} of them",
    "oneOf": [
        {"type": "object"},
        {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS, "items": {"type": "object"}},
    ],
}
# Per API key, shared by every stage of the plan. A client streams with a few concurrent POSTs
# of 500 events: 50 requests per second is 25,000 events per second, far above one shard's
# 1,000 records per second. The quota caps a leaked key's damage: 10,000 POSTs of 500 a day
# covers the whole data set (541,909 rows) nine times over.
THROTTLE = {"rateLimit": 50.0, "burstLimit": 100}
QUOTA = {"limit": 10_000, "period": "DAY"}
GET_PARAMETERS = {"method.request.querystring.InvoiceNo": False, "method.request.querystring.CustomerID": False}


@dataclass(frozen=True)
class IngestionApi:
    api_id: str
    stage: str
    url: str  # POST and GET address of the resource
    api_key_id: str
    usage_plan_id: str
    deployment_id: str

    def key_value(self) -> str:
        """The API key's value: a secret, to send in ``x-api-key``, never to print."""
        return aws.client("apigateway").get_api_key(apiKey=self.api_key_id, includeValue=True)["value"]

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key_value()}

    def rows(self) -> list[tuple[str, str]]:
        """What was built, for a table; the key appears masked."""
        gateway = aws.client("apigateway")
        plan = gateway.get_usage_plan(usagePlanId=self.usage_plan_id)
        key = gateway.get_api_key(apiKey=self.api_key_id, includeValue=True)
        return [
            ("REST API id", self.api_id),
            ("stage", self.stage),
            ("deployment", self.deployment_id),
            ("invoke URL", self.url),
            ("API key", f"{key['name']} (id {key['id']}, enabled: {key['enabled']}), value {mask(key['value'])}"),
            ("usage plan", f"{plan['name']} (id {plan['id']})"),
            ("throttle per key", f"{plan['throttle']['rateLimit']:g} requests/s, bursts of {plan['throttle']['burstLimit']}"),
            ("quota per key", f"{plan['quota']['limit']:,} requests per {plan['quota']['period']}"),
        ]


def mask(secret: str) -> str:
    """A secret as it may be shown: its length and last four characters."""
    return f"{'*' * 8}{secret[-4:]} ({len(secret)} characters)"


def key_name() -> str:
    return f"{config.settings().names.api_name}-key"


def plan_name() -> str:
    return f"{config.settings().names.api_name}-plan"


# ---------------------------------------------------------------------------------------------
# Build


def ensure_api(function_name: str | None = None, *, throttle: dict = THROTTLE, quota: dict = QUOTA) -> IngestionApi:
    """Create the API, or bring it up to date; deploy it if anything changed. See the module docstring."""
    n = config.settings().names
    function_arn = _function_arn(function_name or n.fn_kinesis_api)
    gateway = aws.client("apigateway")
    api_id = _ensure_rest_api(gateway, n.api_name)
    resource_id = _ensure_resource(gateway, api_id, n.api_resource)
    changed = _ensure_model(gateway, api_id, resource_id)
    validator_id, validator_changed = _ensure_validator(gateway, api_id, resource_id)
    methods = {
        "POST": {"requestValidatorId": validator_id, "requestModels": {"application/json": MODEL_NAME}},
        "GET": {"requestParameters": GET_PARAMETERS},
    }
    changed |= validator_changed
    for verb, settings in methods.items():
        changed |= _ensure_method(gateway, api_id, resource_id, verb, settings)
        changed |= _ensure_integration(gateway, api_id, resource_id, verb, function_arn)
        _ensure_invoke_permission(function_arn, api_id, verb, n.api_resource)
    fingerprint = _fingerprint(function_arn, methods, n.api_resource)
    deployment_id = _ensure_deployment(gateway, api_id, n.api_stage, fingerprint, changed)
    key_id = _ensure_api_key(gateway, key_name())
    plan_id = _ensure_usage_plan(gateway, plan_name(), api_id, n.api_stage, throttle, quota)
    if key_id not in {k["id"] for k in gateway.get_usage_plan_keys(usagePlanId=plan_id, limit=500)["items"]}:
        gateway.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    return IngestionApi(api_id, n.api_stage, apigateway.invoke_url(api_id, n.api_stage, n.api_resource), key_id, plan_id, deployment_id)


def find_api() -> IngestionApi:
    """The API notebook 03 built, its key and plan; MissingPrerequisite when any part is missing."""
    n = config.settings().names
    gateway = aws.client("apigateway")
    api_id = _find_rest_api(gateway, n.api_name)
    key_id = _find_by_name(gateway.get_api_keys(nameQuery=key_name(), limit=500)["items"], key_name())
    plan_id = _find_by_name(gateway.get_usage_plans(limit=500)["items"], plan_name())
    if api_id is None or key_id is None or plan_id is None:
        raise MissingPrerequisite(f"the REST API {n.api_name} with its key and usage plan is not there: run notebook 03 first")
    try:
        deployment_id = gateway.get_stage(restApiId=api_id, stageName=n.api_stage)["deploymentId"]
    except gateway.exceptions.NotFoundException:
        raise MissingPrerequisite(f"the REST API {n.api_name} has no stage {n.api_stage}: run notebook 03 again") from None
    url = apigateway.invoke_url(api_id, n.api_stage, n.api_resource)
    return IngestionApi(api_id, n.api_stage, url, key_id, plan_id, deployment_id)


def _function_arn(function_name: str) -> str:
    lam = aws.client("lambda")
    try:
        return lam.get_function_configuration(FunctionName=function_name)["FunctionArn"]
    except lam.exceptions.ResourceNotFoundException:
        raise MissingPrerequisite(f"Lambda function {function_name} does not exist: deploy it first (notebook 03)") from None


def _find_by_name(items: list[dict[str, Any]], name: str) -> str | None:
    """The id of the one item named ``name``; an error if there are several (which one to use?)."""
    ids = [item["id"] for item in items if item["name"] == name]
    if len(ids) > 1:
        raise RuntimeError(f"{len(ids)} API Gateway resources are named {name} ({', '.join(ids)}): delete the extra ones")
    return ids[0] if ids else None


def _find_rest_api(gateway: Any, name: str) -> str | None:
    return _find_by_name(gateway.get_rest_apis(limit=500)["items"], name)


def _ensure_rest_api(gateway: Any, name: str) -> str:
    api_id = _find_rest_api(gateway, name)
    if api_id is None:
        # REGIONAL: the clients are in or near the region; EDGE would add a CloudFront hop.
        api_id = gateway.create_rest_api(
            name=name,
            description="Invoice events in (POST), invoices and customers out (GET)",
            apiKeySource="HEADER",
            endpointConfiguration={"types": ["REGIONAL"]},
            tags=config.TAGS,
        )["id"]
    return api_id


def _ensure_resource(gateway: Any, api_id: str, path_part: str) -> str:
    resources = gateway.get_resources(restApiId=api_id, limit=500)["items"]
    for resource in resources:
        if resource["path"] == f"/{path_part}":
            return resource["id"]
    root = next(r["id"] for r in resources if r["path"] == "/")
    return gateway.create_resource(restApiId=api_id, parentId=root, pathPart=path_part)["id"]


def _delete_method_if_any(gateway: Any, api_id: str, resource_id: str, verb: str) -> None:
    try:
        gateway.delete_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb)
    except gateway.exceptions.NotFoundException:
        pass


def _ensure_model(gateway: Any, api_id: str, resource_id: str) -> bool:
    schema = json.dumps(POST_BODY_SCHEMA, indent=2)
    try:
        current = gateway.get_model(restApiId=api_id, modelName=MODEL_NAME)
    except gateway.exceptions.NotFoundException:
        current = None
    if current is not None and json.loads(current.get("schema", "null")) == POST_BODY_SCHEMA:
        return False
    if current is not None:
        _delete_method_if_any(gateway, api_id, resource_id, "POST")  # it uses the model
        gateway.delete_model(restApiId=api_id, modelName=MODEL_NAME)
    gateway.create_model(
        restApiId=api_id, name=MODEL_NAME, contentType="application/json", schema=schema,
        description=POST_BODY_SCHEMA["description"],
    )  # fmt: skip
    return True


def _ensure_validator(gateway: Any, api_id: str, resource_id: str) -> tuple[str, bool]:
    wanted = {"validateRequestBody": True, "validateRequestParameters": False}
    validators = [v for v in gateway.get_request_validators(restApiId=api_id, limit=500)["items"] if v["name"] == VALIDATOR_NAME]
    if validators and all(validators[0].get(k, False) == v for k, v in wanted.items()):
        return validators[0]["id"], False
    if validators:
        _delete_method_if_any(gateway, api_id, resource_id, "POST")  # it uses the validator
        gateway.delete_request_validator(restApiId=api_id, requestValidatorId=validators[0]["id"])
    return gateway.create_request_validator(restApiId=api_id, name=VALIDATOR_NAME, **wanted)["id"], True


def _ensure_method(gateway: Any, api_id: str, resource_id: str, verb: str, settings: dict[str, Any]) -> bool:
    wanted = {"authorizationType": "NONE", "apiKeyRequired": True, **settings}
    try:
        current = gateway.get_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb)
    except gateway.exceptions.NotFoundException:
        current = None
    if current is not None and all(current.get(k) == v for k, v in wanted.items()):
        return False
    if current is not None:
        gateway.delete_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb)
    gateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb, **wanted)
    return True


def _integration_uri(function_arn: str) -> str:
    partition, region = function_arn.split(":")[1], function_arn.split(":")[3]
    return f"arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def _ensure_integration(gateway: Any, api_id: str, resource_id: str, verb: str, function_arn: str) -> bool:
    # A Lambda integration is always called with POST, whatever the client's method.
    wanted = {"type": "AWS_PROXY", "httpMethod": "POST", "uri": _integration_uri(function_arn)}
    try:
        current = gateway.get_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb)
    except gateway.exceptions.NotFoundException:
        current = None
    if current is not None and all(current.get(k) == v for k, v in wanted.items()):
        return False
    gateway.put_integration(
        restApiId=api_id, resourceId=resource_id, httpMethod=verb, type="AWS_PROXY",
        integrationHttpMethod="POST", uri=wanted["uri"],
    )  # fmt: skip
    return True


def _ensure_invoke_permission(function_arn: str, api_id: str, verb: str, path_part: str) -> None:
    """Let API Gateway invoke the function for this API, method and path only (any stage)."""
    partition, region, account = function_arn.split(":")[1], function_arn.split(":")[3], function_arn.split(":")[4]
    source_arn = f"arn:{partition}:execute-api:{region}:{account}:{api_id}/*/{verb}/{path_part}"
    statement_id = f"apigateway-{api_id}-{verb.lower()}"
    lam = aws.client("lambda")
    try:
        statements = json.loads(lam.get_policy(FunctionName=function_arn)["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:  # no policy yet
        statements = []
    existing = next((s for s in statements if s.get("Sid") == statement_id), None)
    if existing is not None:
        if existing.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == source_arn:
            return
        lam.remove_permission(FunctionName=function_arn, StatementId=statement_id)
    lam.add_permission(
        FunctionName=function_arn, StatementId=statement_id, Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=source_arn,
    )  # fmt: skip


def _fingerprint(function_arn: str, methods: dict[str, Any], path_part: str) -> str:
    """A digest of what a deployment serves, kept in its description: a stage whose deployment
    carries another digest serves an older definition. (The validator's id is left out: it is
    the same validator when its settings are.)"""
    served = {verb: {k: v for k, v in s.items() if k != "requestValidatorId"} for verb, s in methods.items()}
    definition = {"schema": POST_BODY_SCHEMA, "methods": served, "function": function_arn, "path": path_part}
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]


def _ensure_deployment(gateway: Any, api_id: str, stage: str, fingerprint: str, changed: bool) -> str:
    """The stage's deployment: a new one when the API changed or the stage serves another definition.

    A stage serves the snapshot taken by its deployment; changes are invisible until redeployed.
    """
    description = f"workbook definition {fingerprint}"
    try:
        deployment_id = gateway.get_stage(restApiId=api_id, stageName=stage)["deploymentId"]
        current = gateway.get_deployment(restApiId=api_id, deploymentId=deployment_id).get("description")
    except gateway.exceptions.NotFoundException:
        deployment_id, current = None, None
    if deployment_id is not None and current == description and not changed:
        return deployment_id
    return gateway.create_deployment(restApiId=api_id, stageName=stage, description=description)["id"]


def _ensure_api_key(gateway: Any, name: str) -> str:
    key_id = _find_by_name(gateway.get_api_keys(nameQuery=name, limit=500)["items"], name)
    if key_id is None:
        # API Gateway generates the value (40 random characters): nothing to store in the code.
        key_id = gateway.create_api_key(name=name, enabled=True, description="The workbook's client", tags=config.TAGS)["id"]
    elif not gateway.get_api_key(apiKey=key_id)["enabled"]:
        raise RuntimeError(f"API key {name} ({key_id}) is disabled: enable it, or delete it to get a new one")
    return key_id


def _ensure_usage_plan(gateway: Any, name: str, api_id: str, stage: str, throttle: dict, quota: dict) -> str:
    plan_id = _find_by_name(gateway.get_usage_plans(limit=500)["items"], name)
    if plan_id is None:
        return gateway.create_usage_plan(
            name=name, description="Throttle and quota of the workbook's client",
            apiStages=[{"apiId": api_id, "stage": stage}], throttle=throttle, quota=quota, tags=config.TAGS,
        )["id"]  # fmt: skip
    plan = gateway.get_usage_plan(usagePlanId=plan_id)
    # A whole rate as "50", not "50.0": both are valid on AWS, and moto 5.2.5 parses it with int().
    operations = [
        {"op": "replace", "path": f"/{group}/{field}", "value": f"{value:g}" if isinstance(value, float) else str(value)}
        for group, wanted in (("throttle", throttle), ("quota", quota))
        for field, value in wanted.items()
        if plan.get(group, {}).get(field) != value
    ]
    if not any(s["apiId"] == api_id and s["stage"] == stage for s in plan.get("apiStages", [])):
        operations.append({"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"})
    if operations:
        gateway.update_usage_plan(usagePlanId=plan_id, patchOperations=operations)
    return plan_id


def permission_statements(function_name: str) -> list[dict[str, str]]:
    """The function's resource-based policy, one row per statement (who may invoke it, from where)."""
    lam = aws.client("lambda")
    try:
        statements = json.loads(lam.get_policy(FunctionName=function_name)["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:
        return []
    return [
        {
            "Sid": s.get("Sid", ""),
            "Principal": json.dumps(s.get("Principal")),
            "Action": s.get("Action", ""),
            "SourceArn": json.dumps(s.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", "")).strip('"'),
        }
        for s in statements
    ]
