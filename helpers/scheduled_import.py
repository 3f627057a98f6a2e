"""The scheduled batch import of notebook 09: the ``bulk_import`` Lambda and its EventBridge rule.

Idempotent: deploying, scheduling and permitting again changes only what differs.
"""

from __future__ import annotations

import json
from typing import Any

from helpers import aws, batch, config, deploy, iam, schedules, warehouse

RULE_DESCRIPTION = "Loads the raw objects that arrived since the last run into Redshift"
PERMISSION_ID = "events-invoke-bulk-import"


def deploy_function(wh: warehouse.Warehouse, copy_role_arn: str, settle_seconds: int) -> str:
    """The execution role and the function (with write_kinesis_to_dynamodb in its package); its ARN."""
    names = config.settings().names
    role_arn = iam.ensure_role("bulk_import", batch.policy_values(names.fn_bulk_import, wh.secret_arn))
    environment = {
        "BUCKET": aws.bucket(),
        "RAW_PREFIX": names.raw_prefix,
        "STATE_PREFIX": batch.BULK_IMPORT_PREFIX,
        "TARGET_TABLE": f"public.{names.redshift_table}",
        "WORKGROUP": wh.workgroup,
        "DATABASE": wh.database,
        "SECRET_ARN": wh.secret_arn,
        "COPY_ROLE_ARN": copy_role_arn,
        "SETTLE_SECONDS": str(settle_seconds),
        "INVOICE_TABLE": names.invoice_table,
        "CUSTOMER_TABLE": names.customer_table,
    }
    return deploy.deploy_function(
        names.fn_bulk_import, "bulk_import", role_arn, environment, timeout_s=300, description=RULE_DESCRIPTION,
        imported_modules=("write_kinesis_to_dynamodb",),  # its DynamoDB writes, reused as they are
    )


def ensure_schedule(function_arn: str, expression: str) -> str:
    """The rule, the permission that lets EventBridge invoke the function, and the target; the rule's ARN."""
    names = config.settings().names
    events = aws.client("events")
    rule_arn = events.put_rule(
        Name=names.schedule_rule, ScheduleExpression=expression, State="ENABLED",
        Description=RULE_DESCRIPTION, Tags=aws.tag_list(),
    )["RuleArn"]
    lam = aws.client("lambda")
    try:
        lam.remove_permission(FunctionName=names.fn_bulk_import, StatementId=PERMISSION_ID)
    except lam.exceptions.ResourceNotFoundException:
        pass
    lam.add_permission(
        FunctionName=names.fn_bulk_import, StatementId=PERMISSION_ID, Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=rule_arn,
    )
    failed = events.put_targets(Rule=names.schedule_rule, Targets=[{"Id": names.fn_bulk_import, "Arn": function_arn}])
    if failed["FailedEntryCount"]:
        raise RuntimeError(f"put_targets failed: {failed['FailedEntries']}")
    return rule_arn


def function_policy() -> list[dict[str, Any]]:
    """The statements of the function's resource-based policy (who may invoke it)."""
    policy = aws.client("lambda").get_policy(FunctionName=config.settings().names.fn_bulk_import)["Policy"]
    return json.loads(policy)["Statement"]


def run_now(rule_arn: str) -> dict[str, Any]:
    """Invoke the function with the event the rule sends, and wait for its answer (the summary).

    EventBridge invokes asynchronously (``Event``); ``RequestResponse`` here only so that the
    notebook sees the result. A function error raises with its message.
    """
    response = aws.client("lambda").invoke(
        FunctionName=config.settings().names.fn_bulk_import,
        InvocationType="RequestResponse",
        Payload=json.dumps(schedules.scheduled_event(rule_arn)),
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"bulk_import failed: {payload}")
    return payload


def checkpoint() -> dict[str, Any] | None:
    """The function's checkpoint object, or None before its first run."""
    s3 = aws.client("s3")
    try:
        body = s3.get_object(Bucket=aws.bucket(), Key=f"{batch.BULK_IMPORT_PREFIX}checkpoint.json")["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)
