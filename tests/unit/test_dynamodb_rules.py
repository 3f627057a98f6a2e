"""The DynamoDB rules the local cloud keeps where moto does not (``planes/dynamodb_rules.py``)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from helpers.localcloud.planes import dynamodb_rules

SMALL = {"k": {"S": "a"}, "note": {"S": "fits"}}
OVERSIZED = {"k": {"S": "b"}, "note": {"S": "x" * 410_000}}


def batch_write(monkeypatch, *, rule: bool) -> tuple[str | None, list]:
    with monkeypatch.context() as patch:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        if rule:
            patch.setattr(DynamoHandler, "batch_write_item", dynamodb_rules._batch_write_item_rejected_whole(DynamoHandler.batch_write_item))
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName="t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            )  # fmt: skip
            try:
                client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": SMALL}}, {"PutRequest": {"Item": OVERSIZED}}]})
                error = None
            except client.exceptions.ClientError as raised:
                error = raised.response["Error"]["Code"]
            return error, client.scan(TableName="t")["Items"]


def test_batchwriteitem_with_an_item_over_400_kb_is_rejected_entirely(monkeypatch):
    """API Reference, BatchWriteItem: "DynamoDB rejects the entire batch write operation: ... Any
    individual item in a batch exceeds 400 KB"."""
    assert batch_write(monkeypatch, rule=True) == ("ValidationException", [])


def test_moto_alone_writes_the_items_before_the_oversized_one(monkeypatch):
    """Why the rule exists; if moto changes this, the rule can go."""
    assert batch_write(monkeypatch, rule=False) == ("ValidationException", [SMALL])


def test_the_rule_lets_valid_batches_and_moto_s_own_errors_through(monkeypatch):
    checked = dynamodb_rules._batch_write_item_rejected_whole(lambda self: "moto's answer")

    class Request:
        def __init__(self, body: dict, padding: int = 0) -> None:
            self.body, self.raw_body = body, json.dumps(body) + " " * padding

    mixed = {"RequestItems": {"t": [{"PutRequest": {"Item": SMALL}}, {"DeleteRequest": {"Key": {"k": {"S": "c"}}}}, {"PutRequest": {"Item": {"k": {"Z": 1}}}}]}}
    assert checked(Request(mixed)) == checked(Request(mixed, padding=500_000)) == "moto's answer"  # small body, or checked
    with pytest.raises(Exception, match="Item size has exceeded"):
        checked(Request({"RequestItems": {"t": [{"PutRequest": {"Item": OVERSIZED}}]}}))
