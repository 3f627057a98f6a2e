"""The configuration of a Kinesis event source mapping: validation, defaults and API shape.

Follows https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html and
https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html. AWS checks a
request in two steps, and so does this module:

1. the service model's constraints (ranges, enums, lengths, patterns), all at once, answered with
   ``ValidationException: N validation error(s) detected: Value '...' at 'batchSize' failed to
   satisfy constraint: ...``. The constraints are read from botocore's copy of the Lambda model,
   so they are AWS's own numbers;
2. the rules of a Kinesis source (StartingPosition required, MaximumRecordAgeInSeconds -1 or
   60..604800, OnFailure only...), answered with ``InvalidParameterValueException``.

Where AWS documents the message text it is reproduced; elsewhere the error type is AWS's and the
wording says plainly what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
MIN_RECORD_AGE_SECONDS = 60  # "from 60 seconds to 7 days", besides -1 (infinite)
DESTINATION_SERVICES = ("sqs", "sns")

# Defaults a Kinesis mapping reports when the request leaves them out (GetEventSourceMapping).
KINESIS_DEFAULTS: dict[str, Any] = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "MaximumRecordAgeInSeconds": -1,
    "BisectBatchOnFunctionError": False,
    "MaximumRetryAttempts": -1,
    "TumblingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
    "DestinationConfig": {"OnFailure": {}},
}

# Settings a Kinesis mapping may carry, besides the source and the function.
KINESIS_SETTINGS = (
    "Enabled",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "ParallelizationFactor",
    "StartingPosition",
    "StartingPositionTimestamp",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "FunctionResponseTypes",
    "FilterCriteria",
    "KMSKeyArn",
    "MetricsConfig",
    "Tags",
)
# Settings of other sources (SQS, Kafka, MQ, DocumentDB): wrong for a Kinesis stream.
OTHER_SOURCE_SETTINGS = (
    "Queues",
    "Topics",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "SelfManagedKafkaEventSourceConfig",
    "AmazonManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ScalingConfig",
    "ProvisionedPollerConfig",
)


class MappingError(Exception):
    """An API error in AWS's shape: HTTP status, error type, message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def invalid_parameter(message: str) -> MappingError:
    return MappingError(400, "InvalidParameterValueException", message)


@dataclass(frozen=True)
class PollingSettings:
    """What a shard poller needs, fixed for the life of the poller (an update restarts pollers)."""

    uuid: str
    region: str
    function_arn: str
    stream_arn: str
    batch_size: int
    batching_window_seconds: int
    maximum_retry_attempts: int  # -1: until the record expires
    maximum_record_age_seconds: int  # -1: no limit
    bisect_on_error: bool
    report_batch_item_failures: bool
    on_failure_destination: str | None

    @classmethod
    def from_config(cls, uuid: str, region: str, config: dict[str, Any]) -> PollingSettings:
        return cls(
            uuid=uuid,
            region=region,
            function_arn=config["FunctionArn"],
            stream_arn=config["EventSourceArn"],
            batch_size=config["BatchSize"],
            batching_window_seconds=config["MaximumBatchingWindowInSeconds"],
            maximum_retry_attempts=config["MaximumRetryAttempts"],
            maximum_record_age_seconds=config["MaximumRecordAgeInSeconds"],
            bisect_on_error=config["BisectBatchOnFunctionError"],
            report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES in config["FunctionResponseTypes"],
            on_failure_destination=config["DestinationConfig"].get("OnFailure", {}).get("Destination") or None,
        )


# --- step 1: the service model's constraints -------------------------------------------------


@lru_cache(maxsize=None)
def _operation_input(operation: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    return model.operation_model(operation).input_shape


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


# AWS lists some enums in its own order, not the model's (recorded against AWS by LocalStack).
_ENUM_ORDER_SEEN_FROM_AWS = {"EventSourcePosition": ["LATEST", "AT_TIMESTAMP", "TRIM_HORIZON"]}


def _violations(shape: Any, value: Any) -> list[str]:
    """The constraint texts AWS reports for one value, in its wording."""
    meta = shape.metadata
    found: list[str] = []
    if shape.type_name == "integer" and isinstance(value, int) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            found.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.append(f"Member must have value less than or equal to {meta['max']}")
    elif shape.type_name == "string" and isinstance(value, str):
        if getattr(shape, "enum", None) and value not in shape.enum:
            listed = _ENUM_ORDER_SEEN_FROM_AWS.get(shape.name, shape.enum)
            found.append(f"Member must satisfy enum value set: [{', '.join(listed)}]")
        if "max" in meta and len(value) > meta["max"]:
            found.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            found.append(f"Member must have length greater than or equal to {meta['min']}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            found.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            found.append(f"Member must have length less than or equal to {meta['max']}")
        for item in value:
            inner = _violations(shape.member, item)
            if inner:
                found.append(f"Member must satisfy constraint: [{inner[0]}]")
                break
    return found


def _type_errors(shape: Any, name: str, value: Any) -> str | None:
    expected = {"integer": int, "boolean": bool, "string": str, "list": list, "structure": dict, "map": dict}
    python_type = expected.get(shape.type_name)
    if python_type is None or value is None:
        return None
    ok = isinstance(value, python_type) and not (python_type is int and isinstance(value, bool))
    return None if ok else f"{name} must be of type {shape.type_name}, not {type(value).__name__}"


def check_model_constraints(operation: str, body: dict[str, Any]) -> None:
    """Raise AWS's ValidationException listing every constraint the request breaks."""
    members = _operation_input(operation).members
    errors: list[str] = []
    for name, value in body.items():
        shape = members.get(name)
        if shape is None or shape.serialization.get("location") == "uri":
            continue
        wrong_type = _type_errors(shape, name, value)
        if wrong_type:
            raise MappingError(400, "SerializationException", wrong_type)
        for constraint in _violations(shape, value):
            errors.append(
                f"Value {_quoted(value)} at '{_lower_camel(name)}' failed to satisfy constraint: {constraint}"
            )
    if errors:
        count = len(errors)
        raise MappingError(
            400,
            "ValidationException",
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors),
        )


def _quoted(value: Any) -> str:
    return "null" if value is None else f"'{_shown(value)}'"


# --- step 2: the rules of a Kinesis source ---------------------------------------------------


def check_kinesis_rules(body: dict[str, Any], *, creating: bool) -> None:
    """InvalidParameterValueException for settings that do not fit a Kinesis stream source."""
    for name in OTHER_SOURCE_SETTINGS:
        if name in body:
            raise invalid_parameter(f"{name} is not valid for an Amazon Kinesis event source.")
    if creating:
        position = body.get("StartingPosition")
        if position is None:
            # AWS's own wording for this case (recorded against AWS by LocalStack's parity tests).
            raise invalid_parameter(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
                "constraint: Member must not be null."
            )
        has_timestamp = body.get("StartingPositionTimestamp") is not None
        if has_timestamp and position != "AT_TIMESTAMP":
            raise invalid_parameter("Timestamp only valid with StartingPosition AT_TIMESTAMP")
        if position == "AT_TIMESTAMP" and not has_timestamp:
            raise invalid_parameter("StartingPositionTimestamp is required with StartingPosition AT_TIMESTAMP")
        if has_timestamp and not isinstance(body["StartingPositionTimestamp"], (int, float, str)):
            raise invalid_parameter("StartingPositionTimestamp must be a timestamp")
    age = body.get("MaximumRecordAgeInSeconds")
    if isinstance(age, int) and age != -1 and age < MIN_RECORD_AGE_SECONDS:
        raise invalid_parameter(
            f"MaximumRecordAgeInSeconds must be -1 (infinite) or between {MIN_RECORD_AGE_SECONDS} and 604800, "
            f"not {age}."
        )
    _check_destination(body.get("DestinationConfig"))
    _check_locally_unsupported(body)


def _check_destination(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid_parameter("DestinationConfig must be an object")
    if config.get("OnSuccess"):
        # https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html: streams
        # only keep records of failed batches.
        raise invalid_parameter("Unsupported DestinationConfig parameter for given event source mapping type.")
    destination = (config.get("OnFailure") or {}).get("Destination")
    if not destination:
        return
    parts = destination.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise invalid_parameter(f"The destination ARN {destination} is invalid.")
    if parts[2] == "s3":
        raise invalid_parameter(
            "Amazon S3 on-failure destinations are not supported by the workbook's local cloud; "
            "use an Amazon SQS queue or an Amazon SNS topic."
        )
    if parts[2] not in DESTINATION_SERVICES:
        raise invalid_parameter(
            f"The destination ARN {destination} is invalid: an on-failure destination of a Kinesis "
            "event source mapping is an Amazon SQS queue, Amazon SNS topic or Amazon S3 bucket."
        )


def _check_locally_unsupported(body: dict[str, Any]) -> None:
    """Fail clearly on what the local cloud does not emulate, rather than ignore it."""
    filters = (body.get("FilterCriteria") or {}).get("Filters")
    if filters:
        raise invalid_parameter(
            "FilterCriteria (event filtering) is not supported by the workbook's local cloud; "
            "filter the records in the function instead."
        )
    if body.get("TumblingWindowInSeconds"):
        raise invalid_parameter("TumblingWindowInSeconds (tumbling windows) is not supported by the workbook's local cloud.")


# --- the configuration a mapping reports ----------------------------------------------------


def starting_timestamp(value: Any) -> float:
    """StartingPositionTimestamp as epoch seconds (botocore sends a number; accept ISO text too)."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError as error:
        raise invalid_parameter(f"StartingPositionTimestamp {value!r} is not a timestamp") from error


def new_config(body: dict[str, Any], *, function_arn: str) -> dict[str, Any]:
    """The stored configuration of a new mapping: the request's settings over Kinesis defaults."""
    config: dict[str, Any] = {key: _copy(value) for key, value in KINESIS_DEFAULTS.items()}
    for key in KINESIS_SETTINGS:
        if key in body and key not in ("Enabled", "Tags") and body[key] is not None:
            config[key] = _copy(body[key])
    if "StartingPositionTimestamp" in config:
        config["StartingPositionTimestamp"] = starting_timestamp(config["StartingPositionTimestamp"])
    config["DestinationConfig"] = normalized_destination(config["DestinationConfig"])
    config["EventSourceArn"] = body["EventSourceArn"]
    config["FunctionArn"] = function_arn
    return config


def updated_config(config: dict[str, Any], body: dict[str, Any], *, function_arn: str | None) -> dict[str, Any]:
    """The configuration after an UpdateEventSourceMapping request."""
    new = {key: _copy(value) for key, value in config.items()}
    for key in KINESIS_SETTINGS:
        if key in body and key not in ("Enabled", "Tags", "StartingPosition", "StartingPositionTimestamp"):
            new[key] = _copy(body[key])
    new["DestinationConfig"] = normalized_destination(new.get("DestinationConfig"))
    if function_arn:
        new["FunctionArn"] = function_arn
    return new


def normalized_destination(config: Any) -> dict[str, Any]:
    """AWS reports ``{"OnFailure": {}}`` for a Kinesis mapping without a destination."""
    destination = ((config or {}).get("OnFailure") or {}).get("Destination")
    return {"OnFailure": {"Destination": destination}} if destination else {"OnFailure": {}}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- function names ---------------------------------------------------------------------------

_FUNCTION_NAME = re.compile(
    r"(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:)?"
    r"(?P<account>\d{12}:)?(?:function:)?(?P<name>[a-zA-Z0-9-_.]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
)


@dataclass(frozen=True)
class FunctionReference:
    name: str
    qualifier: str | None
    region: str | None
    account: str | None


def parse_function_name(function_name: str) -> FunctionReference:
    """Name, partial ARN, full ARN or alias/version ARN, as CreateEventSourceMapping accepts."""
    match = _FUNCTION_NAME.fullmatch(function_name)
    if not match:
        raise invalid_parameter(f"FunctionName {function_name} is not a function name or ARN.")
    return FunctionReference(
        name=match.group("name"),
        qualifier=match.group("qualifier"),
        region=(match.group("region") or "").rstrip(":") or None,
        account=(match.group("account") or "").rstrip(":") or None,
    )
