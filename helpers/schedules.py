"""Running a scheduled rule's work now, the same way on the local cloud and on AWS.

An EventBridge schedule runs when the clock says so (``cron(0 2 * * ? *)``: 02:00 UTC). To see its
work now, do what the Lambda console's "Test" button does: invoke the function with the event the
rule would send it (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudwatchevents.html)::

    event = schedules.scheduled_event(rule_arn)
    aws.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))

``InvocationType="Event"`` is how EventBridge itself invokes a target. ``events.put_events`` cannot
stand in for the rule: AWS answers ``NotAuthorizedForSourceException`` to
events whose ``Source`` starts with ``aws.``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


def scheduled_event(rule_arn: str, when: datetime | None = None) -> dict:
    """The event a scheduled rule sends its targets (``when`` defaults to now, in UTC)."""
    parts = rule_arn.split(":")
    if len(parts) != 6 or parts[2] != "events" or not parts[5].startswith("rule/"):
        raise ValueError(f"{rule_arn!r} is not an EventBridge rule ARN")
    moment = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": parts[4],
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3],
        "resources": [rule_arn],
        "detail": {},
    }
