"""Scheduled rules' pure parts: AWS cron and rate expressions, the scheduler's clock, target input,
Lambda permissions, and the notebook helper's event. No waiting: the scheduler runs on a fake clock.

Each test names the AWS page it follows.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from helpers import schedules
from helpers.localcloud.events import lambda_permission
from helpers.localcloud.events.cron import CronExpression, InvalidCron
from helpers.localcloud.events.schedule_expression import (
    CronSchedule,
    InvalidScheduleExpression,
    RateSchedule,
    parse,
)
from helpers.localcloud.events.scheduled_event import scheduled_event
from helpers.localcloud.events.scheduler import RuleScheduler, ScheduledRule
from helpers.localcloud.events.target_input import render_template, select, target_payload

RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/nightly"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html ----


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [("rate(1 minute)", 1), ("rate(5 minutes)", 5), ("rate(1 hour)", 60), ("rate(12 hours)", 720), ("rate(2 days)", 2880)],
)
def test_rate_expressions(expression, minutes):
    assert parse(expression) == RateSchedule(minutes)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(1 hours)",
        "rate(1 days)",
        "rate(10 minute)",
        "rate(0 minutes)",
        "rate(-10 minutes)",
        "rate(foo minutes)",
        "rate(10 seconds)",
        "rate(10 years)",
        "rate()",
        "rate(10)",
        "rate(10 MINUTES)",
        "rate( 10 minutes )",
        " rate(10 minutes)",
        "cron(0 1 * * * *)",
        "cron(0 1 ? * ? *)",
        "cron(7 20 * * NOT *)",
        "cron(INVALID)",
        "cron(0 dummy ? * MON-FRI *)",
        "cron(71 8 1 * ? *)",
        "cron(*/60 * * * ? *)",
        "cron(0 12 * * ?)",
        "cron(0 12 * * ? 2300)",
        "cron(0 2 ? * 2#1,4#3 *)",
        "cron(0 2 ? * 2/2 *)",
    ],
)
def test_invalid_expressions(expression):
    with pytest.raises(InvalidScheduleExpression):
        parse(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 2 ? * SAT *)",
        "cron(5,35 14 * * ? *)",
        "cron(15 10 ? * 6L 2002-2005)",
        "cron(0 2 ? * SAT#3 *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0/30 20-2 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0 9 LW * ? *)",
        "cron(0 9 15W * ? *)",
        "cron(0 18 ? JAN-MAR mon-fri *)",
    ],
)
def test_valid_cron_expressions(expression):
    assert isinstance(parse(expression), CronSchedule)


def cron(fields: str) -> CronExpression:
    return CronExpression.parse(fields)


def test_cron_every_15_minutes():
    expression = cron("0/15 * * * ? *")
    assert expression.next_after(utc(2024, 5, 1, 10, 7)) == utc(2024, 5, 1, 10, 15)
    assert expression.next_after(utc(2024, 5, 1, 10, 45)) == utc(2024, 5, 1, 11, 0)


def test_cron_weekdays_and_wrapping_hours():
    expression = cron("0/30 20-2 ? * MON-FRI *")
    # Each minute is judged on its own day: after Friday 2024-05-03 23:30, Saturday's and Sunday's
    # early hours do not match MON-FRI, so the next run is Monday 00:00.
    assert expression.next_after(utc(2024, 5, 3, 23, 30)) == utc(2024, 5, 6, 0, 0)
    assert expression.matches(utc(2024, 5, 6, 1, 30)) and not expression.matches(utc(2024, 5, 6, 3, 0))


def test_cron_last_friday_nth_weekday_and_nearest_weekday():
    assert cron("15 10 ? * 6L *").next_after(utc(2024, 5, 1)) == utc(2024, 5, 31, 10, 15)
    assert cron("0 2 ? * 7#3 *").next_after(utc(2024, 5, 1)) == utc(2024, 5, 18, 2, 0)  # 3rd Saturday
    assert cron("0 9 1W * ? *").next_after(utc(2024, 6, 1)) == utc(2024, 6, 3, 9, 0)  # June 1st 2024 is a Saturday
    assert cron("0 9 L * ? *").next_after(utc(2024, 2, 1)) == utc(2024, 2, 29, 9, 0)
    assert cron("0 9 LW * ? *").next_after(utc(2024, 8, 1)) == utc(2024, 8, 30, 9, 0)  # Aug 31st is a Saturday


def test_cron_years_and_impossible_dates():
    assert cron("0 0 1 1 ? 2030").next_after(utc(2024, 1, 1)) == utc(2030, 1, 1)
    assert cron("0 0 30 2 ? *").next_after(utc(2024, 1, 1)) is None


def test_cron_field_errors_say_what_is_wrong():
    with pytest.raises(InvalidCron, match="minutes: 71 is outside 0-59"):
        cron("71 8 1 * ? *")


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html ------


def rule(expression: str, enabled: bool = True, minute_seconds: float = 60.0, name: str = "r") -> ScheduledRule:
    return ScheduledRule(("123456789012", "us-east-1", name), f"{RULE_ARN}-{name}", name, expression, parse(expression), enabled, minute_seconds)


def test_scheduler_rate_runs_one_interval_after_creation_then_every_interval():
    runs: list[tuple[str, datetime]] = []
    rules = [rule("rate(5 minutes)")]
    scheduler = RuleScheduler(lambda: rules, lambda r, moment: runs.append((r.name, moment)))
    start = utc(2024, 5, 1, 10, 0, 20).timestamp()
    scheduler.tick(start)  # the rule is first seen: its cadence starts
    assert scheduler.tick(start + 299) <= start + 300 and runs == []
    scheduler.tick(start + 300)
    scheduler.tick(start + 600.5)
    assert [moment for _, moment in runs] == [utc(2024, 5, 1, 10, 5, 20), datetime.fromtimestamp(start + 600.5, timezone.utc)]


def test_scheduler_cron_runs_once_in_each_matching_minute_and_not_when_disabled():
    runs: list[datetime] = []
    rules = [rule("cron(0/15 * * * ? *)")]
    scheduler = RuleScheduler(lambda: rules, lambda r, moment: runs.append(moment))
    scheduler.tick(utc(2024, 5, 1, 10, 14, 30).timestamp())
    scheduler.tick(utc(2024, 5, 1, 10, 15, 0, 10).timestamp())
    scheduler.tick(utc(2024, 5, 1, 10, 15, 40).timestamp())  # same minute: not again
    rules[0] = rule("cron(0/15 * * * ? *)", enabled=False)
    scheduler.tick(utc(2024, 5, 1, 10, 30, 1).timestamp())
    assert runs == [utc(2024, 5, 1, 10, 15)]


def test_scheduler_minute_seconds_tag_speeds_up_rates():
    runs: list[datetime] = []
    rules = [rule("rate(1 minute)", minute_seconds=1.0)]
    scheduler = RuleScheduler(lambda: rules, lambda r, moment: runs.append(moment))
    scheduler.tick(1000.0)
    assert scheduler.tick(1000.5) == 1001.0
    scheduler.tick(1001.0)
    scheduler.tick(1002.0)
    assert len(runs) == 2


def test_scheduled_event_shape():
    event = scheduled_event(RULE_ARN, utc(2024, 5, 1, 2, 0))
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2024-05-01T02:00:00Z",
        "region": "us-east-1",
        "resources": [RULE_ARN],
        "detail": {},
    }


def test_notebook_helper_builds_the_same_event():
    built = schedules.scheduled_event(RULE_ARN, utc(2024, 5, 1, 2, 0))
    assert {k: v for k, v in built.items() if k != "id"} == {
        k: v for k, v in scheduled_event(RULE_ARN, utc(2024, 5, 1, 2, 0)).items() if k != "id"
    }
    with pytest.raises(ValueError):
        schedules.scheduled_event("arn:aws:lambda:us-east-1:123456789012:function:f")


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html ----

EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
VARIABLES = {"instance": "i-0123456789", "state": "RUNNING"}


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        ('{"instance" : <instance>, "state": <state>}', '{"instance" : "i-0123456789", "state": "RUNNING"}'),
        ('{"state": [ 9, <state>, true ], "Transformed" : "Yes"}', '{"state": [ 9, "RUNNING", true ], "Transformed" : "Yes"}'),
        ('{"s": "instance \\"<instance>\\" is in <state>"}', '{"s": "instance \\"i-0123456789\\" is in RUNNING"}'),
        ("{\"missing\": \"<nothing>\"}", "{\"missing\": \"<nothing>\"}"),
    ],
)
def test_input_template_examples(template, output):
    assert render_template(template, VARIABLES) == output


def test_input_transformer_with_paths_and_predefined_variables():
    target = {
        "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "InputTransformer": {
            "InputPathsMap": {"instance": "$.detail.instance-id", "gone": "$.detail.nothing", "first": "$.resources[0]"},
            "InputTemplate": '{"instance": <instance>, "gone": "<gone>", "rule": <aws.events.rule-name>, "event": <aws.events.event>, "first": <first>}',
        },
    }
    payload = json.loads(target_payload(target, EC2_EVENT, RULE_ARN, "nightly"))
    assert payload == {
        "instance": "i-0123456789",
        "gone": "",
        "rule": "nightly",
        "event": EC2_EVENT,
        "first": EC2_EVENT["resources"][0],
    }


def test_input_and_input_path():
    assert target_payload({"Input": '{"fixed": 1}'}, EC2_EVENT, RULE_ARN, "r") == '{"fixed": 1}'
    assert json.loads(target_payload({"InputPath": "$.detail"}, EC2_EVENT, RULE_ARN, "r")) == EC2_EVENT["detail"]
    assert json.loads(target_payload({}, EC2_EVENT, RULE_ARN, "r")) == EC2_EVENT
    assert select(EC2_EVENT, "$['detail-type']") == EC2_EVENT["detail-type"]


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html --------


def statement(**condition) -> dict:
    found = {
        "Sid": "s",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
    }
    if condition:
        found["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [found]}


def test_lambda_permission_for_the_rule():
    assert lambda_permission.invoke_allowed(statement(ArnLike={"AWS:SourceArn": RULE_ARN}), RULE_ARN, "123456789012")
    assert lambda_permission.invoke_allowed(statement(), RULE_ARN, "123456789012")
    assert lambda_permission.invoke_allowed(
        statement(ArnLike={"AWS:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/*"}), RULE_ARN, "123456789012"
    )
    assert not lambda_permission.invoke_allowed(
        statement(ArnLike={"AWS:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/other"}), RULE_ARN, "123456789012"
    )
    assert not lambda_permission.invoke_allowed(None, RULE_ARN, "123456789012")
    other_service = statement()
    other_service["Statement"][0]["Principal"] = {"Service": "apigateway.amazonaws.com"}
    assert not lambda_permission.invoke_allowed(other_service, RULE_ARN, "123456789012")


# --- https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html -------------


def test_put_events_matches_only_enabled_pattern_rules():
    from moto.events.models import events_backends
    from moto.sqs.models import sqs_backends

    from helpers.localcloud.events.put_events import TooManyEntries, put_events

    region = "ap-southeast-2"
    backend = events_backends["123456789012"][region]
    queue = sqs_backends["123456789012"][region].create_queue("orders-unit")
    function = "arn:aws:lambda:ap-southeast-2:123456789012:function:f"
    backend.put_rule("scheduled", scheduled_expression="rate(1 day)")
    backend.put_targets("scheduled", "default", [{"Id": "f", "Arn": function}])
    pattern = json.dumps({"source": ["unit.orders"]})
    backend.put_rule("orders", event_pattern=pattern)
    backend.put_targets("orders", "default", [{"Id": "f", "Arn": function}, {"Id": "q", "Arn": queue.queue_arn}])
    backend.put_rule("off", event_pattern=pattern, state="DISABLED")
    backend.put_targets("off", "default", [{"Id": "f", "Arn": function}])

    entries, lambdas = put_events(backend, [{"Source": "unit.orders", "DetailType": "t", "Detail": '{"n": 1}'}])
    assert "EventId" in entries[0]
    assert [(item.rule_name, item.event["detail"]) for item in lambdas] == [("orders", {"n": 1})]
    [message] = queue.messages
    assert json.loads(message.body)["id"] == entries[0]["EventId"]

    entries, _ = put_events(backend, [{"Source": "x", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"}])
    assert entries[0]["ErrorCode"] == "ResourceNotFoundException"
    with pytest.raises(TooManyEntries):
        put_events(backend, [{"Source": "x", "DetailType": "t", "Detail": "{}"}] * 11)
