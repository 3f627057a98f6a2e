"""The policy files in iam/: valid, least privilege, and fully rendered by helpers.iam."""

from __future__ import annotations

import json

import pytest

from helpers import aws, config, iam

FILES = iam.policy_files()
STREAM_FUNCTIONS = ("kinesis_api", "write_kinesis_to_s3", "write_kinesis_to_dynamodb")
# Actions that only read. Everything else counts as a write ("Policy grammar" and the Service
# Authorization Reference classify List/Get/Describe actions as List or Read access levels).
READ_PREFIXES = ("Describe", "Get", "List")


def statements(document):
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_stream_function_has_a_trust_and_a_permissions_policy():
    for function in STREAM_FUNCTIONS:
        assert (iam.POLICY_DIR / function / iam.TRUST_FILE).is_file()
        assert (iam.POLICY_DIR / function / iam.PERMISSIONS_FILE).is_file()
        assert function in config.Names().roles


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_file_is_a_2012_10_17_policy(path):
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        assert "Action" in statement
        assert ("Principal" in statement) == (path.name == iam.TRUST_FILE)


@pytest.mark.parametrize("path", [p for p in FILES if p.name == iam.PERMISSIONS_FILE], ids=lambda p: p.parent.name)
def test_no_write_action_on_every_resource(path):
    for statement in statements(json.loads(path.read_text())):
        actions = as_list(statement["Action"])
        assert not any("*" in action for action in actions), "name each action"
        if "*" in as_list(statement["Resource"]):
            writes = [a for a in actions if not a.split(":", 1)[1].startswith(READ_PREFIXES)]
            assert writes == [], f"{path.parent.name}: {writes} on Resource '*'"


def test_lambda_assumes_every_stream_role():
    for function in STREAM_FUNCTIONS:
        trust = json.loads((iam.POLICY_DIR / function / iam.TRUST_FILE).read_text())
        assert [s["Principal"] for s in statements(trust)] == [{"Service": "lambda.amazonaws.com"}]


@pytest.mark.parametrize("function", STREAM_FUNCTIONS)
def test_rendering_fills_every_placeholder(function, monkeypatch):
    monkeypatch.setattr(aws, "account_id", lambda: "111122223333")
    monkeypatch.setattr(aws, "bucket", lambda: "aws-project-111122223333-eu-west-1")
    values = iam.policy_values(function)
    for name in (iam.TRUST_FILE, iam.PERMISSIONS_FILE):
        rendered = json.dumps(iam.render(iam.POLICY_DIR / function / name, values))
        assert "${" not in rendered
    permissions = iam.render(iam.POLICY_DIR / function / iam.PERMISSIONS_FILE, values)
    resources = [r for s in statements(permissions) for r in as_list(s["Resource"])]
    assert f"arn:aws:logs:{values['Region']}:111122223333:log-group:/aws/lambda/{function}:*" in resources


def test_a_missing_value_is_a_clear_error():
    with pytest.raises(iam.PolicyError, match=r"\$\{AccountId\}"):
        iam.render(iam.POLICY_DIR / "kinesis_api" / iam.PERMISSIONS_FILE, {"Partition": "aws", "Region": "us-east-1"})


@pytest.mark.parametrize("region, partition", [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_partition_follows_the_region(region, partition):
    assert iam.partition(region) == partition
