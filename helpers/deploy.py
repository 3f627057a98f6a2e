"""Deploy a handler from ``lambda_code/`` and connect it to the stream, idempotently.

``deploy_function`` zips one module and creates the function, or updates only what changed (code,
configuration), waiting each time until Lambda is done (State Active, LastUpdateStatus Successful:
"Lambda function states", https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html).
``ensure_event_source_mapping`` creates the Kinesis mapping or brings it to the given settings.
"""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile
from pathlib import Path
from typing import Any, Mapping

from helpers import aws, config

LAMBDA_CODE_DIR = config.REPO_ROOT / "lambda_code"
RUNTIME = "python3.12"
LOG_RETENTION_DAYS = 14  # Lambda's own log group never expires; the workbook's do
# A role just created can take a few seconds to be usable by Lambda (IAM is eventually consistent).
ROLE_PROPAGATION_ATTEMPTS = 10
ROLE_PROPAGATION_WAIT_S = 3
MAPPING_WAIT_S = 300
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same source gives the same zip and CodeSha256


def package(module: str, *imported_modules: str, code_dir: Path = LAMBDA_CODE_DIR) -> bytes:
    """A deployment package holding ``<code_dir>/<module>.py`` at its root, and the other
    ``code_dir`` modules it imports (``imported_modules``) beside it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in (module, *imported_modules):
            source = code_dir / f"{name}.py"
            if not source.is_file():
                raise FileNotFoundError(f"no handler module {source}")
            entry = zipfile.ZipInfo(f"{name}.py", date_time=_ZIP_TIMESTAMP)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, source.read_bytes())
    return buffer.getvalue()


def code_sha256(package_bytes: bytes) -> str:
    """The package's hash as Lambda reports it (CodeSha256: base64 of the SHA-256 digest)."""
    return base64.b64encode(hashlib.sha256(package_bytes).digest()).decode()


def _role_not_ready(error: Exception) -> bool:
    return "cannot be assumed by Lambda" in str(error) or "role defined for the function" in str(error)


def ensure_log_group(function_name: str) -> None:
    """The function's log group, with a retention, before Lambda creates one that keeps logs forever."""
    logs = aws.client("logs")
    group = f"/aws/lambda/{function_name}"
    try:
        logs.create_log_group(logGroupName=group, tags=config.TAGS)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)


def deploy_function(
    name: str,
    module: str,
    role_arn: str,
    environment: Mapping[str, str],
    *,
    timeout_s: int = 60,
    memory_mb: int = 256,
    description: str = "",
    imported_modules: tuple[str, ...] = (),
    code_dir: Path = LAMBDA_CODE_DIR,
) -> str:
    """Create or update the function running ``<code_dir>/<module>.py`` (default ``lambda_code/``);
    its ARN once it is ready."""
    lam = aws.client("lambda")
    code = package(module, *imported_modules, code_dir=code_dir)
    settings = {
        "Role": role_arn,
        "Handler": f"{module}.handler",
        "Runtime": RUNTIME,
        "Timeout": timeout_s,
        "MemorySize": memory_mb,
        "Environment": {"Variables": dict(environment)},
        "Description": description,
    }
    ensure_log_group(name)
    try:
        current = lam.get_function_configuration(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        for attempt in range(ROLE_PROPAGATION_ATTEMPTS):
            try:
                lam.create_function(FunctionName=name, Code={"ZipFile": code}, Tags=config.TAGS, **settings)
                break
            except lam.exceptions.InvalidParameterValueException as error:
                if not _role_not_ready(error) or attempt == ROLE_PROPAGATION_ATTEMPTS - 1:
                    raise
                time.sleep(ROLE_PROPAGATION_WAIT_S)
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return lam.get_function_configuration(FunctionName=name)["FunctionArn"]

    if current["CodeSha256"] != code_sha256(code):
        lam.update_function_code(FunctionName=name, ZipFile=code)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    if _configuration_differs(current, settings):
        lam.update_function_configuration(FunctionName=name, **settings)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    return current["FunctionArn"]


def _configuration_differs(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "Environment":
            if current.get("Environment", {}).get("Variables", {}) != value["Variables"]:
                return True
        elif current.get(key, "" if key == "Description" else None) != value:
            return True
    return False


def ensure_event_source_mapping(function_name: str, stream_arn: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Create the stream -> function mapping, or update the existing one; the mapping once Enabled.

    The starting position only applies to a new mapping (UpdateEventSourceMapping does not take it).
    """
    lam = aws.client("lambda")
    existing = lam.list_event_source_mappings(EventSourceArn=stream_arn, FunctionName=function_name)["EventSourceMappings"]
    if existing:
        uuid = existing[0]["UUID"]
        _wait_for_mapping(lam, uuid)  # an update is refused while the mapping is changing state
        changes = {k: v for k, v in settings.items() if k not in ("StartingPosition", "StartingPositionTimestamp")}
        lam.update_event_source_mapping(UUID=uuid, FunctionName=function_name, Enabled=True, **changes)
    else:
        uuid = lam.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=function_name, Enabled=True, Tags=config.TAGS, **settings
        )["UUID"]
    mapping = _wait_for_mapping(lam, uuid)
    if mapping["State"] != "Enabled":
        raise RuntimeError(f"event source mapping {uuid} is {mapping['State']}: {mapping.get('StateTransitionReason')}")
    return mapping


def _wait_for_mapping(lam: Any, uuid: str) -> dict[str, Any]:
    """Poll until the mapping settles, Enabled or Disabled (boto3 has no waiter for mappings)."""
    deadline = time.monotonic() + MAPPING_WAIT_S
    while True:
        mapping = lam.get_event_source_mapping(UUID=uuid)
        if mapping["State"] in ("Enabled", "Disabled"):
            return mapping
        if time.monotonic() > deadline:
            raise TimeoutError(f"event source mapping {uuid} still {mapping['State']} after {MAPPING_WAIT_S} s")
        time.sleep(0.5)
