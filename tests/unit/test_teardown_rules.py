"""The pure parts of teardown: which resources are the workbook's, in which order they go."""

from __future__ import annotations

import pytest

from helpers import config, teardown


def resource(kind: str, name: str = "x") -> teardown.Resource:
    return teardown.Resource("svc", kind, name, "name")


def test_every_kind_has_a_deleter_and_a_place_in_the_order():
    assert set(teardown.DELETERS) == set(teardown.KIND_ORDER)
    assert len(set(teardown.KIND_ORDER)) == len(teardown.KIND_ORDER)


@pytest.mark.parametrize(
    "before, after",
    [
        ("event source mapping", "Lambda function"),  # a mapping invokes its function
        ("event source mapping", "Kinesis stream"),  # and reads the stream
        ("Firehose stream", "Kinesis stream"),  # Firehose reads the stream...
        ("Firehose stream", "Redshift workgroup"),  # ... and loads the workgroup
        ("usage plan", "API key"),
        ("usage plan", "REST API"),  # a plan names the API's stage
        ("EventBridge rule", "Lambda function"),  # the rule's target
        ("Lambda function", "log group"),  # a function still invoked writes a new log group
        ("Glue crawler", "Glue table"),
        ("Glue table", "Glue database"),
        ("Redshift workgroup", "Redshift namespace"),  # a namespace with a workgroup cannot be deleted
        ("Redshift workgroup", "security group"),  # the workgroup uses the group
        ("Lambda function", "SQS queue"),  # the mapping's on-failure destination
        ("Lambda function", "IAM role"),
        ("Glue job", "IAM role"),
        ("S3 bucket", "IAM role"),
    ],
)
def test_what_uses_a_resource_is_deleted_before_it(before, after):
    order = teardown.ordered([resource(after), resource(before)])
    assert [r.kind for r in order] == [before, after]


def test_ordered_keeps_kinds_together_and_names_sorted():
    mixed = [resource("IAM role", "b"), resource("Kinesis stream", "s"), resource("IAM role", "a")]
    assert [(r.kind, r.name) for r in teardown.ordered(mixed)] == [("Kinesis stream", "s"), ("IAM role", "a"), ("IAM role", "b")]


@pytest.mark.parametrize(
    "tags, expected",
    [
        (dict(config.TAGS), True),
        ({**config.TAGS, "owner": "me"}, True),
        ([{"Key": k, "Value": v} for k, v in config.TAGS.items()], True),
        ([{"key": k, "value": v} for k, v in config.TAGS.items()], True),  # Redshift Serverless's spelling
        ({k: "other" for k in config.TAGS}, False),
        ({}, False),
        (None, False),
    ],
)
def test_tagged_needs_every_workbook_tag(tags, expected):
    assert teardown.tagged(tags) is expected


def test_how_found():
    assert teardown.how_found(True, True) == "name and tag"
    assert teardown.how_found(False, True) == "tag"
    assert teardown.how_found(True, False) == "name"
    assert teardown.how_found(False, False) is None


@pytest.mark.parametrize(
    "arn, expected",
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:kinesis_api", ("lambda", "function")),
        ("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:1a2b", ("lambda", "event-source-mapping")),
        ("arn:aws:apigateway:us-east-1::/restapis/abc123", ("apigateway", "restapis")),
        ("arn:aws:kinesis:us-east-1:123456789012:stream/api-data", ("kinesis", "stream")),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x", ("logs", "log-group")),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:aws-project/x-AbCdEf", ("secretsmanager", "secret")),
        ("arn:aws:s3:::aws-project-123456789012-us-east-1", ("s3", "*")),
        ("arn:aws:sqs:us-east-1:123456789012:write_kinesis_to_s3-failures", ("sqs", "*")),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:x", ("states", "stateMachine")),
    ],
)
def test_arn_type(arn, expected):
    assert teardown.arn_type(arn) == expected


def test_arn_type_refuses_what_is_not_an_arn():
    with pytest.raises(ValueError, match="not an ARN"):
        teardown.arn_type("api-data")
