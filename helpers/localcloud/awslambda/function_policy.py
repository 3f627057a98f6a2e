"""A function's resource-based policy, as Lambda's GetPolicy would return it, read from moto's backend.

Shared by the services that invoke functions on their own (API Gateway, EventBridge): each checks
that the policy lets it invoke the function before it does (AWS Lambda Developer Guide,
"Viewing resource-based IAM policies in Lambda").
"""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda.exceptions import GenericResourcNotFound, UnknownFunctionException


def policy_document(lambda_backend: Any, function_arn: str) -> dict | None:
    """The policy of the function (or version, or alias) the ARN names, None when it has no
    statement; LookupError when the function does not exist."""
    name, _, qualifier = function_arn.split(":function:", 1)[1].partition(":")
    try:
        function = lambda_backend.get_function(name, qualifier or None)
    except UnknownFunctionException as error:
        raise LookupError(f"function {function_arn} does not exist") from error
    try:
        return json.loads(json.dumps(function.policy.get_policy()["Policy"]))  # a copy, not moto's own
    except GenericResourcNotFound:  # a function without any policy statement
        return None
