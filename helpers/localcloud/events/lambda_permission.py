"""May EventBridge invoke this function for this rule? The function's resource-based policy decides.

On AWS a rule's Lambda target is only invoked once the function's policy lets
``events.amazonaws.com`` call ``lambda:InvokeFunction``, usually with the rule's ARN as
``SourceArn`` (``lambda add-permission``; the console adds it for you). Without it the invocation
fails and only the rule's ``FailedInvocations`` metric tells
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions).
The local cloud keeps that rule, and says so in its log.
"""

from __future__ import annotations

import fnmatch
from typing import Any

SERVICE_PRINCIPAL = "events.amazonaws.com"
INVOKE_ACTIONS = ("lambda:InvokeFunction", "lambda:*", "*")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _arn_like(pattern: str, arn: str) -> bool:
    """IAM's ArnLike: wildcards match within each of the six colon-separated parts."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    return len(pattern_parts) == len(arn_parts) == 6 and all(
        fnmatch.fnmatchcase(value, wanted) for wanted, value in zip(pattern_parts, arn_parts, strict=True)
    )


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and (
        SERVICE_PRINCIPAL in _as_list(principal.get("Service", [])) or "*" in _as_list(principal.get("AWS", []))
    )


def _condition_holds(condition: dict[str, Any], rule_arn: str, account_id: str) -> bool:
    """Only the conditions add-permission writes (SourceArn, SourceAccount) are understood."""
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            values = _as_list(wanted)
            if key.lower() == "aws:sourcearn" and operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals"):
                exact = operator.endswith("Equals")
                if not any(rule_arn == v if exact else _arn_like(v, rule_arn) for v in values):
                    return False
            elif key.lower() == "aws:sourceaccount" and operator in ("StringEquals", "StringLike"):
                if not any(fnmatch.fnmatchcase(account_id, v) for v in values):
                    return False
            else:
                return False
    return True


def invoke_allowed(policy: dict | None, rule_arn: str, account_id: str) -> bool:
    """``policy`` is the function's policy document, None when it has no statement."""
    applicable = [
        statement
        for statement in _as_list((policy or {}).get("Statement", []))
        if _principal_matches(statement.get("Principal"))
        and any(action in INVOKE_ACTIONS for action in _as_list(statement.get("Action")))
        and _condition_holds(statement.get("Condition") or {}, rule_arn, account_id)
    ]
    if any(statement.get("Effect") == "Deny" for statement in applicable):
        return False
    return any(statement.get("Effect") == "Allow" for statement in applicable)
