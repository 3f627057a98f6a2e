"""EventBridge scheduled rules on the local cloud: validated as PutRule does, run on time, with
AWS's scheduled event, seen through plain boto3.

Each test names the AWS documentation page whose behaviour it checks.
"""

from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError

from helpers import schedules

pytestmark = pytest.mark.integration

# The handler records each event it receives as an S3 object, so that the test can read them back.
RECORDER = """
import json, os, uuid
import boto3

def handler(event, context):
    boto3.client("s3").put_object(
        Bucket=os.environ["BUCKET"], Key=f"{os.environ['PREFIX']}{uuid.uuid4().hex}.json", Body=json.dumps(event)
    )
"""


def make_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def clients(local_cloud):
    return {name: boto3.client(name) for name in ("events", "lambda", "s3", "iam")}


@pytest.fixture(scope="module")
def bucket(clients):
    name = f"schedules-{uuid.uuid4().hex[:8]}"
    clients["s3"].create_bucket(Bucket=name)
    return name


@pytest.fixture
def recorder(clients, bucket):
    """A function that writes every event it gets under its own prefix: (name, arn, prefix)."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    role = clients["iam"].create_role(RoleName=f"sched-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=trust)
    name = f"recorder-{uuid.uuid4().hex[:8]}"
    prefix = f"{name}/"
    fn = clients["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": make_zip(RECORDER)},
        Environment={"Variables": {"BUCKET": bucket, "PREFIX": prefix}},
        Timeout=10,
    )
    return name, fn["FunctionArn"], prefix


def recorded_events(clients, bucket: str, prefix: str, at_least: int, timeout_s: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        listing = clients["s3"].list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if len(listing) >= at_least or time.monotonic() > deadline:
            return [
                json.loads(clients["s3"].get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                for item in listing
            ]
        time.sleep(0.2)


def allow_rule(clients, function_name: str, rule_arn: str) -> None:
    clients["lambda"].add_permission(
        FunctionName=function_name,
        StatementId=f"events-{uuid.uuid4().hex[:8]}",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )


FAST = [{"Key": "localcloud:minute-seconds", "Value": "1"}]  # local-only: a minute of rate lasts 1 s


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html ----


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(10 seconds)",
        "rate(10 MINUTES)",
        " rate(10 minutes)",
        "cron(0 1 * * * *)",  # day-of-month and day-of-week both given
        "cron(0 12 * * ?)",  # five fields
        "cron(71 8 1 * ? *)",
        "cron(*/60 * * * ? *)",
        "cron(0 dummy ? * MON-FRI *)",
        "every day",
    ],
)
def test_eb_scheduled_rule_pattern_put_rule_rejects_invalid_expressions(clients, expression):
    with pytest.raises(ClientError) as error:
        clients["events"].put_rule(Name=f"bad-{uuid.uuid4().hex[:8]}", ScheduleExpression=expression)
    assert error.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Parameter ScheduleExpression is not valid.",
    }


@pytest.mark.parametrize(
    "expression",
    ["rate(1 minute)", "rate(12 hours)", "cron(0/15 * * * ? *)", "cron(15 10 ? * 6L 2019-2030)", "cron(0 2 ? * SAT#3 *)"],
)
def test_eb_scheduled_rule_pattern_put_rule_accepts_valid_expressions(clients, expression):
    name = f"ok-{uuid.uuid4().hex[:8]}"
    arn = clients["events"].put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    assert arn.endswith(f":rule/{name}")
    described = clients["events"].describe_rule(Name=name)
    assert described["ScheduleExpression"] == expression and described["State"] == "ENABLED"


def test_eb_create_rule_schedule_only_on_the_default_bus(clients):
    bus = f"bus-{uuid.uuid4().hex[:8]}"
    clients["events"].create_event_bus(Name=bus)
    with pytest.raises(ClientError) as error:
        clients["events"].put_rule(Name="on-custom-bus", EventBusName=bus, ScheduleExpression="rate(1 minute)")
    assert error.value.response["Error"]["Message"] == "ScheduleExpression is supported only on the default event bus."


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html ------


def test_eb_create_rule_schedule_rate_rule_invokes_its_lambda_target_with_the_scheduled_event(
    clients, bucket, recorder
):
    name, function_arn, prefix = recorder
    rule = f"every-minute-{uuid.uuid4().hex[:8]}"
    rule_arn = clients["events"].put_rule(Name=rule, ScheduleExpression="rate(1 minute)", Tags=FAST)["RuleArn"]
    allow_rule(clients, name, rule_arn)
    clients["events"].put_targets(Rule=rule, Targets=[{"Id": "recorder", "Arn": function_arn}])

    events = recorded_events(clients, bucket, prefix, at_least=2)
    clients["events"].disable_rule(Name=rule)

    assert len(events) >= 2
    for event in events:
        parsed = EventBridgeModel(**event)  # the shape Powertools models for EventBridge events
        assert parsed.detail_type == "Scheduled Event" and parsed.source == "aws.events"
        assert event["resources"] == [rule_arn] and event["detail"] == {}
        assert event["account"] == "123456789012" and event["region"] == "us-east-1"
        assert event["time"].endswith("Z") and event["version"] == "0"
    assert len({event["id"] for event in events}) == len(events)


def test_eb_create_rule_schedule_disabled_rule_does_not_run(clients, bucket, recorder):
    name, function_arn, prefix = recorder
    rule = f"disabled-{uuid.uuid4().hex[:8]}"
    rule_arn = clients["events"].put_rule(
        Name=rule, ScheduleExpression="rate(1 minute)", State="DISABLED", Tags=FAST
    )["RuleArn"]
    allow_rule(clients, name, rule_arn)
    clients["events"].put_targets(Rule=rule, Targets=[{"Id": "recorder", "Arn": function_arn}])
    assert recorded_events(clients, bucket, prefix, at_least=1, timeout_s=3) == []


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html --------


def test_eb_use_resource_based_no_lambda_permission_no_invocation(clients, bucket, recorder):
    _, function_arn, prefix = recorder
    rule = f"no-permission-{uuid.uuid4().hex[:8]}"
    clients["events"].put_rule(Name=rule, ScheduleExpression="rate(1 minute)", Tags=FAST)
    clients["events"].put_targets(Rule=rule, Targets=[{"Id": "recorder", "Arn": function_arn}])
    assert recorded_events(clients, bucket, prefix, at_least=1, timeout_s=3) == []
    clients["events"].disable_rule(Name=rule)


# --- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html ----


def test_eb_transform_target_input_input_and_transformer_shape_what_the_target_gets(clients, bucket, recorder):
    name, function_arn, prefix = recorder
    rule = f"shaped-{uuid.uuid4().hex[:8]}"
    rule_arn = clients["events"].put_rule(Name=rule, ScheduleExpression="rate(1 minute)", Tags=FAST)["RuleArn"]
    allow_rule(clients, name, rule_arn)
    clients["events"].put_targets(
        Rule=rule,
        Targets=[
            {"Id": "constant", "Arn": function_arn, "Input": json.dumps({"mode": "bulk-import"})},
            {
                "Id": "transformed",
                "Arn": function_arn,
                "InputTransformer": {
                    "InputPathsMap": {"when": "$.time", "rule": "$.resources[0]"},
                    "InputTemplate": '{"at": <when>, "text": "run of <aws.events.rule-name> at <when>", "rule": <rule>}',
                },
            },
        ],
    )
    events = recorded_events(clients, bucket, prefix, at_least=2)
    clients["events"].disable_rule(Name=rule)
    assert {"mode": "bulk-import"} in events
    transformed = next(event for event in events if "at" in event)
    assert transformed["rule"] == rule_arn
    assert transformed["text"] == f"run of {rule} at {transformed['at']}"


# --- Running a schedule's work now, as the Lambda console's Test button does --------------------


def test_scheduled_event_helper_builds_the_event_a_rule_sends(clients, bucket, recorder):
    name, _, prefix = recorder
    rule_arn = clients["events"].put_rule(Name=f"nightly-{uuid.uuid4().hex[:8]}", ScheduleExpression="cron(0 2 * * ? *)")[
        "RuleArn"
    ]
    event = schedules.scheduled_event(rule_arn)
    clients["lambda"].invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    [received] = recorded_events(clients, bucket, prefix, at_least=1)
    assert received == event
    EventBridgeModel(**received)


# --- https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html -------------


def test_put_events_reaches_a_pattern_rules_lambda_even_beside_a_scheduled_rule(clients, bucket, recorder):
    name, function_arn, prefix = recorder
    scheduled = f"nightly-{uuid.uuid4().hex[:8]}"  # moto alone answers 500 to PutEvents once this exists
    clients["events"].put_rule(Name=scheduled, ScheduleExpression="cron(0 2 * * ? *)")
    clients["events"].put_targets(Rule=scheduled, Targets=[{"Id": "recorder", "Arn": function_arn}])
    rule = f"orders-{uuid.uuid4().hex[:8]}"
    rule_arn = clients["events"].put_rule(Name=rule, EventPattern=json.dumps({"source": ["workbook.orders"]}))["RuleArn"]
    allow_rule(clients, name, rule_arn)
    clients["events"].put_targets(Rule=rule, Targets=[{"Id": "recorder", "Arn": function_arn}])

    response = clients["events"].put_events(
        Entries=[
            {"Source": "workbook.orders", "DetailType": "Order Placed", "Detail": json.dumps({"InvoiceNo": "536365"})},
            {"Source": "aws.events", "DetailType": "Scheduled Event", "Detail": "{}"},
            {"Source": "workbook.orders", "DetailType": "Order Placed", "Detail": "[1, 2]"},
        ]
    )
    assert response["FailedEntryCount"] == 2
    assert response["Entries"][1] == {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
    assert response["Entries"][2]["ErrorCode"] == "MalformedDetail"

    [received] = recorded_events(clients, bucket, prefix, at_least=1)
    parsed = EventBridgeModel(**received)
    assert received["id"] == response["Entries"][0]["EventId"]
    assert parsed.source == "workbook.orders" and received["detail"] == {"InvoiceNo": "536365"}
