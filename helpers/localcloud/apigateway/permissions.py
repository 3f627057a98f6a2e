"""May API Gateway invoke this function? Lambda's resource-based policy decides.

On AWS an API method integrated with Lambda (without an integration ``credentials`` role) only
works once the function's policy lets ``apigateway.amazonaws.com`` call ``lambda:InvokeFunction``,
usually with a ``SourceArn`` such as ``arn:aws:execute-api:{region}:{account}:{api id}/*/POST/invoices``
(``lambda add-permission``; the console does it for you). Without it the client gets a 500 and the
execution log says "Invalid permissions on Lambda function"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html). The local cloud
keeps that rule so that a notebook missing ``add_permission`` fails here as it would on AWS.

The source ARN is ``{api id}/{stage}/{verb}/{resource path}``. Where AWS's exact form is not
documented (a method ``ANY``; the resource path template or the requested path), every reasonable
form is accepted: a statement matching any of them grants the call.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from typing import Any


log = logging.getLogger("localcloud.apigateway")

SERVICE_PRINCIPAL = "apigateway.amazonaws.com"


def source_arns(
    *, region: str, account_id: str, api_id: str, stage: str, verbs: set[str], paths: set[str]
) -> list[str]:
    return [
        f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{verb}/{path.lstrip('/')}"
        for verb in sorted(verbs)
        for path in sorted(paths)
    ]


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ArnLike: wildcards match within each of the six colon-separated parts."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    return len(pattern_parts) == len(arn_parts) == 6 and all(
        fnmatch.fnmatchcase(value, wanted) for wanted, value in zip(pattern_parts, arn_parts, strict=True)
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return SERVICE_PRINCIPAL in _as_list(principal.get("Service", [])) or "*" in _as_list(principal.get("AWS", []))
    return False


def _action_matches(action: Any) -> bool:
    return any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in _as_list(action))


def _conditions_hold(condition: dict[str, Any], candidates: list[str], account_id: str) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            values = _as_list(wanted)
            if key.lower() == "aws:sourcearn" and operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals"):
                exact = operator.endswith("Equals")
                if not any((c == v if exact else arn_like(v, c)) for c in candidates for v in values):
                    return False
            elif key.lower() == "aws:sourceaccount" and operator in ("StringEquals", "StringLike"):
                if not any(fnmatch.fnmatchcase(account_id, v) for v in values):
                    return False
            else:
                log.warning(
                    "API Gateway: Lambda policy condition %s %s is not evaluated locally; statement skipped",
                    operator,
                    key,
                )
                return False
    return True


def invoke_allowed(policy_document: str, candidates: list[str], account_id: str) -> bool:
    statements = json.loads(policy_document).get("Statement", [])
    applicable = [
        s
        for s in _as_list(statements)
        if _principal_matches(s.get("Principal"))
        and _action_matches(s.get("Action"))
        and _conditions_hold(s.get("Condition") or {}, candidates, account_id)
    ]
    if any(s.get("Effect") == "Deny" for s in applicable):
        return False
    return any(s.get("Effect") == "Allow" for s in applicable)
