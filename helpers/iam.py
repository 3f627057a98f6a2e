"""Execution roles from the policy files in ``iam/``: render the placeholders, create or update.

``iam/<role key>/trust-policy.json`` says who may assume the role, ``permissions-policy.json`` what
it may do, scoped to the ARNs of the workbook's resources. The files hold placeholders in
``${Name}`` form (``${Region}``, ``${AccountId}``, ``${Bucket}``...), filled in here from the
configuration, so that one set of files serves every account and region. The role keys are those
of ``config.Names.roles`` (a function's name for the Lambda execution roles).

The permissions are an inline policy of the role (``PutRolePolicy``): it lives and dies with its
role, and putting it again replaces it, which makes ``ensure_role`` idempotent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template
from typing import Any, Mapping

from helpers import aws, config, stream

POLICY_DIR = config.REPO_ROOT / "iam"
TRUST_FILE = "trust-policy.json"
PERMISSIONS_FILE = "permissions-policy.json"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class PolicyError(ValueError):
    """A policy file that cannot be rendered."""


def partition(region: str) -> str:
    """The ARN partition of a region (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def policy_files() -> list[Path]:
    return sorted(POLICY_DIR.glob("*/*.json"))


def placeholders(path: Path) -> set[str]:
    return set(PLACEHOLDER.findall(path.read_text()))


def render(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    """The policy document of a file with its placeholders filled in; every one must have a value."""
    missing = placeholders(path) - set(values)
    if missing:
        raise PolicyError(f"{path}: no value for {', '.join(sorted('${' + m + '}' for m in missing))}")
    return json.loads(Template(path.read_text()).substitute(values))


def policy_values(function_name: str) -> dict[str, str]:
    """The placeholder values for one function's role, from the configuration and the account."""
    s = config.settings()
    names = s.names
    return {
        "Partition": partition(s.region),
        "Region": s.region,
        "AccountId": aws.account_id(),
        "FunctionName": function_name,
        "StreamName": names.stream,
        "Bucket": aws.bucket(),
        "RawPrefix": names.raw_prefix,
        "InvoiceTable": names.invoice_table,
        "CustomerTable": names.customer_table,
        "FailureQueue": stream.failure_queue_name(function_name),
    }


def ensure_role(role_key: str, values: Mapping[str, str]) -> str:
    """Create the role, or bring an existing one up to date (trust, permissions, tags); its ARN."""
    role_name = config.settings().names.roles[role_key]
    folder = POLICY_DIR / role_key
    trust = json.dumps(render(folder / TRUST_FILE, values))
    permissions = json.dumps(render(folder / PERMISSIONS_FILE, values))
    iam = aws.client("iam")
    try:
        arn = iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=trust,
            Description=f"Execution role of the workbook's {role_key}",
            Tags=aws.tag_list(),
        )["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
        iam.tag_role(RoleName=role_name, Tags=aws.tag_list())
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName=f"{role_name}-permissions", PolicyDocument=permissions)
    return arn


def firehose_policy_values() -> dict[str, str]:
    """The placeholder values for the Firehose stream's role (``iam/firehose/``): the Kinesis stream
    it reads, the bucket prefixes it stages in, its log group, the database user's secret."""
    s = config.settings()
    names = s.names
    return {
        "Partition": partition(s.region),
        "Region": s.region,
        "AccountId": aws.account_id(),
        "StreamName": names.stream,
        "Bucket": aws.bucket(),
        "FirehosePrefix": names.firehose_prefix,
        "FirehoseErrorsPrefix": names.firehose_errors_prefix,
        "DeliveryStreamName": names.firehose_stream,
        "FirehoseSecret": names.redshift_firehose_secret,
    }
