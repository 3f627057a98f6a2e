"""WithEvent: the Data API's "Redshift Data Statement Status Change" event on EventBridge.

When a statement submitted with ``WithEvent=true`` ends, the Data API puts this event on the
account's default event bus ("Monitoring events for the Amazon Redshift Data API in Amazon
EventBridge", https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-monitoring-events.html).

moto's PutEvents stops at the first rule whose target it cannot reach (a rule without a pattern,
such as a scheduled rule, matches every event in moto, and a Lambda target raises), and then no
rule gets the event. So the rules are matched here, with moto's own pattern matching, and each
target of a matching ENABLED rule gets the event through the local cloud's EventBridge delivery
(``events.delivery``: Lambda invoked asynchronously, SQS; other targets are logged as not
emulated). A rule without an event pattern takes no events, as on AWS.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from helpers.localcloud.events import delivery
from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context
from helpers.localcloud.warehouse.statements import RETENTION_SECONDS, Statement

SOURCE = "aws.redshift-data"
DETAIL_TYPE = "Redshift Data Statement Status Change"


def event(statement: Statement) -> dict[str, Any]:
    single = None if statement.is_batch else statement.subs[0]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": DEFAULT_ACCOUNT_ID,
        "time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": statement.region,
        "resources": [statement.target_arn],
        "detail": {
            "principal": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto",
            "statementName": statement.statement_name or "",
            "statementId": statement.id,
            "redshiftQueryId": single.query_id if single else -1,
            "state": statement.status,
            "rows": single.result_rows if single else -1,
            "expireAt": int(statement.created_at + RETENTION_SECONDS),
        },
    }


def put(ctx: Context, statement: Statement) -> None:
    """Send the statement's event to the targets of the default bus's matching rules."""
    message = event(statement)
    bus = ctx.backend("events", statement.region).describe_event_bus("default")
    for rule in list(bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.get_pattern():
            continue
        if not rule.event_pattern.matches_event(message):
            continue
        for target in list(rule.targets):
            delivery.deliver(
                ctx.endpoint_url,
                lambda account, region: ctx.backend("lambda", region, account),
                rule.arn,
                rule.name,
                target,
                message,
            )
