"""EventBridge scheduled rules that run: ``rate(...)`` and ``cron(...)`` rules invoke their targets.

moto stores rules with a ScheduleExpression and never runs them; it also accepts expressions AWS
rejects (``rate(1 minutes)``, ``cron(0 1 * * * *)``). This plane:

* answers PutRule for scheduled rules on the default bus, validating the expression as AWS does
  (``events.schedule_expression``: ``ValidationException: Parameter ScheduleExpression is not
  valid.``) before storing the rule in moto's backend;
* runs every ENABLED scheduled rule on time (``events.scheduler``), sending AWS's scheduled event
  (``events.scheduled_event``) to each target, shaped by its Input, InputPath or InputTransformer
  (``events.target_input``); a Lambda target is invoked asynchronously over the local cloud's Lambda
  API once its policy allows ``events.amazonaws.com`` (``events.delivery``).

To run a schedule's work *now* (a lesson should not wait for 02:00), do what the Lambda console's
"Test" button does, on either cloud: invoke the function with the event EventBridge would send,
``lambda.invoke(FunctionName=..., InvocationType="Event", Payload=json.dumps(helpers.schedules.
scheduled_event(rule_arn)))``. PutEvents cannot stand in for it: AWS answers
NotAuthorizedForSourceException to an event whose source starts with ``aws.``. Local-only, a
rule tag ``localcloud:minute-seconds`` speeds up its rate (see ``events.scheduler``).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from helpers.localcloud.events import delivery
from helpers.localcloud.events.schedule_expression import INVALID_MESSAGE, InvalidScheduleExpression, parse
from helpers.localcloud.events.scheduled_event import scheduled_event
from helpers.localcloud.events.scheduler import MINUTE_SECONDS_TAG, RuleScheduler, ScheduledRule
from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context, DataPlane, amz_target, json_error, signing_scope

log = logging.getLogger("localcloud.events")

RULE_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
CONTENT_TYPE = "application/x-amz-json-1.1"
DELIVERY_THREADS = 4


def _is_default_bus(name_or_arn: str | None) -> bool:
    return not name_or_arn or name_or_arn.rsplit("/", 1)[-1] == "default"


class EventSchedules(DataPlane):
    name = "event-schedules"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._scheduler = RuleScheduler(self._scheduled_rules, self._run_rule)
        self._deliveries = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="events-target")

    # -- plane interface --

    def handles(self, request: Request) -> bool:
        if request.method != "POST" or amz_target(request) != "AWSEvents.PutRule":
            return False
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return False
        return bool(body.get("ScheduleExpression")) and _is_default_bus(body.get("EventBusName"))

    def handle(self, request: Request) -> Response:
        from moto.core.exceptions import JsonRESTError

        body = json.loads(request.get_data())
        try:
            parse(body["ScheduleExpression"])
        except InvalidScheduleExpression as error:
            log.info("PutRule %s: %s", body.get("Name"), error)
            return json_error(400, "ValidationException", INVALID_MESSAGE)
        state = body.get("State")
        if state is not None and state not in RULE_STATES:
            return json_error(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(RULE_STATES)}]",
            )
        region = signing_scope(request)[0] or "us-east-1"
        try:
            rule = self.ctx.backend("events", region).put_rule(
                body.get("Name"),
                scheduled_expression=body["ScheduleExpression"],
                event_pattern=body.get("EventPattern"),
                state=state,
                description=body.get("Description"),
                role_arn=body.get("RoleArn"),
                event_bus_arn=body.get("EventBusName"),
                tags=body.get("Tags"),
            )
        except JsonRESTError as error:
            return json_error(error.code, error.error_type, error.message)
        self._scheduler.wake()
        return Response(json.dumps({"RuleArn": rule.arn}), content_type=CONTENT_TYPE)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.stop()
        self._deliveries.shutdown(wait=False, cancel_futures=True)

    # -- the rules moto stores --

    def _scheduled_rules(self) -> list[ScheduledRule]:
        from moto.events.models import events_backends

        found = []
        for account, regions in list(events_backends.items()):
            for region, backend in list(regions.items()):
                bus = backend.event_buses.get("default")
                for rule in list(bus.rules.values()) if bus else []:
                    if not rule.scheduled_expression:
                        continue
                    try:
                        schedule = parse(rule.scheduled_expression)
                    except InvalidScheduleExpression:  # stored before this plane saw it
                        continue
                    found.append(
                        ScheduledRule(
                            key=(account, region, rule.name),
                            arn=rule.arn,
                            name=rule.name,
                            expression=rule.scheduled_expression,
                            schedule=schedule,
                            enabled=rule.state != "DISABLED",
                            minute_seconds=self._minute_seconds(backend, rule.arn),
                        )
                    )
        return found

    @staticmethod
    def _minute_seconds(backend: Any, rule_arn: str) -> float:
        value = backend.tagger.get_tag_dict_for_resource(rule_arn).get(MINUTE_SECONDS_TAG)
        if value is None:
            return 60.0
        try:
            seconds = float(value)
        except ValueError:
            seconds = 0.0
        if seconds > 0:
            return seconds
        log.warning("rule %s: tag %s=%r is not a positive number; ignored", rule_arn, MINUTE_SECONDS_TAG, value)
        return 60.0

    def _run_rule(self, rule: ScheduledRule, moment: datetime) -> None:
        account, region, name = rule.key
        bus = self.ctx.backend("events", region, account).event_buses.get("default")
        stored = bus.rules.get(name) if bus else None
        if stored is None:
            return
        event = scheduled_event(rule.arn, moment)
        for target in list(stored.targets):
            self._deliveries.submit(
                delivery.deliver,
                self.ctx.endpoint_url,
                lambda acct, rgn: self.ctx.backend("lambda", rgn, acct),
                rule.arn,
                rule.name,
                target,
                event,
            )
