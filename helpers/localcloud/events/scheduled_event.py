"""The event EventBridge sends a scheduled rule's targets.

As the sample event of https://docs.aws.amazon.com/lambda/latest/dg/services-cloudwatchevents.html
shows it: version "0", a fresh id, detail-type "Scheduled Event", source "aws.events", the time
the rule ran, the rule's ARN as the only resource and an empty detail.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


def event_time(moment: datetime) -> str:
    """EventBridge's ``time``: UTC to the second, with a ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event(rule_arn: str, moment: datetime) -> dict:
    _, _, _, region, account, _ = rule_arn.split(":", 5)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": event_time(moment),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
