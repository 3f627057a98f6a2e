"""PutEvents: check each entry, match it against the bus's rules, hand it to their targets.

Follows https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html and
API_PutEventsRequestEntry.html: at most 10 entries; each needs ``Source``, ``DetailType`` and a
``Detail`` that is a JSON object, and a source starting with ``aws.`` is refused
(``NotAuthorizedForSourceException``); a failed entry gets an ``ErrorCode`` and ``ErrorMessage``
in its place and counts in ``FailedEntryCount``, the others get an ``EventId``.

Only rules with an event pattern match events ("Rules with EventPatterns are triggered when a
matching event is observed. Rules with ScheduleExpressions self-trigger based on the given
schedule.", API_PutRule.html), and only ENABLED ones. moto 5.2.5 gets both wrong (a scheduled rule
matches every event, a DISABLED rule still matches) and cannot deliver to Lambda: PutEvents on a
bus holding a scheduled rule with a Lambda target answers HTTP 500. Here the matching uses moto's
pattern matcher; Lambda targets are invoked asynchronously through the local cloud's Lambda API
(``delivery``); every other target type goes through moto's own delivery (SQS, CloudWatch Logs,
archives, other buses).
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger("localcloud.events")

MAX_ENTRIES = 10


class TooManyEntries(ValueError):
    pass


@dataclass(frozen=True)
class LambdaDelivery:
    rule_arn: str
    rule_name: str
    target: dict
    event: dict  # as the target receives it, "time" in ISO form


def _entry_error(entry: dict) -> tuple[str, str] | None:
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            return "InvalidArgument", f"Parameter {member} is not valid. Reason: {member} is a required argument."
    if entry["Source"].startswith("aws."):
        return "NotAuthorizedForSourceException", "Not authorized for the source."
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        return "MalformedDetail", "Detail is malformed."
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    return None


def _bus_name(name_or_arn: str | None) -> str:
    return (name_or_arn or "default").rsplit("/", 1)[-1]


def put_events(backend: Any, entries: list[dict]) -> tuple[list[dict], list[LambdaDelivery]]:
    """(the response's Entries, the Lambda invocations to make). moto's targets are sent to here."""
    if len(entries) > MAX_ENTRIES:
        raise TooManyEntries(
            "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_ENTRIES}"
        )
    results: list[dict] = []
    lambdas: list[LambdaDelivery] = []
    for entry in entries:
        error = _entry_error(entry)
        bus = backend.event_buses.get(_bus_name(entry.get("EventBusName")))
        if error is None and bus is None:
            error = ("ResourceNotFoundException", f"Event bus {_bus_name(entry.get('EventBusName'))} does not exist.")
        if error is not None:
            results.append({"ErrorCode": error[0], "ErrorMessage": error[1]})
            continue
        event_id = str(uuid.uuid4())
        results.append({"EventId": event_id})
        when = float(entry["Time"]) if entry.get("Time") is not None else time.time()
        moto_event = {  # the shape moto's target senders expect: times as epoch seconds
            "version": "0",
            "id": event_id,
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": backend.account_id,
            "time": when,
            "region": backend.region_name,
            "resources": entry.get("Resources") or [],
            "detail": json.loads(entry["Detail"]),
            "ingestion-time": time.time(),
        }
        target_event = {key: value for key, value in moto_event.items() if key != "ingestion-time"}
        target_event["time"] = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for rule in list(bus.rules.values()):
            if rule.state == "DISABLED" or not rule.event_pattern.get_pattern():
                continue
            if not rule.event_pattern.matches_event(moto_event):
                continue
            for target in list(rule.targets):
                if target["Arn"].split(":")[2:3] == ["lambda"]:
                    lambdas.append(LambdaDelivery(rule.arn, rule.name, target, target_event))
                else:
                    _send_with_moto(rule, target, moto_event)
    return results, lambdas


def _send_with_moto(rule: Any, target: dict, moto_event: dict) -> None:
    """One non-Lambda target, through moto (which edits the event it is given, hence the copy)."""
    proxy = copy.copy(rule)
    proxy.targets = [target]
    try:
        proxy.send_to_targets(copy.deepcopy(moto_event))
    except Exception:  # a target type moto does not deliver to: EventBridge counts FailedInvocations
        log.exception("rule %s: delivery to %s failed or is not emulated", rule.name, target.get("Arn"))
