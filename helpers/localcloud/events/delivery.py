"""Sending a scheduled rule's event to its targets, through the local cloud's own API.

EventBridge invokes a Lambda target asynchronously (InvocationType ``Event``,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html), once the function's
policy allows it (``lambda_permission``); an SQS target gets the text as a message. Other target
types are not emulated: the server log says so for every event they miss.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from helpers.localcloud.events import lambda_permission
from helpers.localcloud.events.target_input import InvalidPath, target_payload
from helpers.localcloud.awslambda import function_policy
from helpers.localcloud.awslambda.sandbox import local_client

log = logging.getLogger("localcloud.events")


def deliver(
    endpoint_url: str,
    lambda_backend: Callable[[str, str], Any],
    rule_arn: str,
    rule_name: str,
    target: dict,
    event: dict,
) -> None:
    """Send ``event`` to one target; failures are logged, as EventBridge counts FailedInvocations."""
    arn: str = target["Arn"]
    parts = arn.split(":")
    service, region, account = (parts[2], parts[3], parts[4]) if len(parts) >= 6 else ("", "", "")
    try:
        payload = target_payload(target, event, rule_arn, rule_name)
    except InvalidPath as error:
        log.error("rule %s, target %s: %s; event not delivered", rule_name, target.get("Id"), error)
        return
    try:
        if service == "lambda":
            try:
                policy = function_policy.policy_document(lambda_backend(account, region), arn)
            except LookupError as error:
                log.error("rule %s: %s; FailedInvocations", rule_name, error)
                return
            if not lambda_permission.invoke_allowed(policy, rule_arn, event["account"]):
                log.error(
                    "rule %s: the policy of %s does not let %s invoke it (lambda add-permission); FailedInvocations",
                    rule_name,
                    arn,
                    lambda_permission.SERVICE_PRINCIPAL,
                )
                return
            local_client("lambda", endpoint_url, region).invoke(FunctionName=arn, InvocationType="Event", Payload=payload)
        elif service == "sqs":
            sqs = local_client("sqs", endpoint_url, region)
            queue_url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=payload)
        else:
            log.error("rule %s: target %s is not emulated by the local cloud; event not delivered", rule_name, arn)
    except Exception:
        log.exception("rule %s: delivery to %s failed; FailedInvocations", rule_name, arn)
