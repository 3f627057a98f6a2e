"""DynamoDB in a process of its own (``helpers/localcloud/planes/dynamodb_process.py``).

The local cloud's endpoint forwards DynamoDB to a child process: one state whichever way a client
comes in, answers and errors unchanged, Lambda handlers sent to the child directly, and no child
left behind when the server stops or is killed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from helpers import benchmarking, config
from helpers.localcloud import lifecycle
from tests.integration.test_lambda_invoke import make_zip

pytestmark = pytest.mark.integration


def dynamodb_endpoint(s: config.Settings) -> str:
    health = requests.get(f"{s.local_endpoint}/_localcloud/health", timeout=10).json()
    return health["service_endpoints"]["dynamodb"]


@pytest.fixture
def table(local_cloud):
    name = f"dynamodb-process-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
    )  # fmt: skip
    yield name
    dynamodb.delete_table(TableName=name)


def test_the_endpoint_and_the_process_hold_one_state(local_cloud, table):
    through_endpoint = boto3.client("dynamodb")
    direct = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint(local_cloud))
    assert direct.meta.endpoint_url != through_endpoint.meta.endpoint_url
    item = {"k": {"S": "Fête"}, "bytes": {"B": b"\x00\xff"}, "lines": {"M": {"a": {"L": [{"N": "1.5"}, {"NULL": True}]}}}}
    through_endpoint.put_item(TableName=table, Item=item)
    assert direct.get_item(TableName=table, Key={"k": {"S": "Fête"}}, ConsistentRead=True)["Item"] == item
    direct.put_item(TableName=table, Item={"k": {"S": "direct"}})
    assert through_endpoint.get_item(TableName=table, Key={"k": {"S": "direct"}})["Item"] == {"k": {"S": "direct"}}
    assert table in through_endpoint.list_tables()["TableNames"]


def test_errors_come_back_as_the_process_gives_them(local_cloud, table):
    answers = []
    for client in (boto3.client("dynamodb"), boto3.client("dynamodb", endpoint_url=dynamodb_endpoint(local_cloud))):
        with pytest.raises(client.exceptions.ConditionalCheckFailedException) as failed:
            client.put_item(TableName=table, Item={"k": {"S": "x"}}, ConditionExpression="attribute_exists(k)")
        with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
            client.get_item(TableName=f"{table}-missing", Key={"k": {"S": "x"}})
        answers.append([(e.value.response["Error"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]) for e in (failed, missing)])
    assert answers[0] == answers[1]


def test_a_lambda_handler_calls_the_process_directly(local_cloud, table):
    """boto3 reads AWS_ENDPOINT_URL_DYNAMODB before AWS_ENDPOINT_URL (service-specific endpoints,
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html)."""
    source = (
        "import os, boto3\n"
        "def handler(event, context):\n"
        "    boto3.client('dynamodb').put_item(TableName=event['table'], Item={'k': {'S': 'from lambda'}})\n"
        "    return os.environ.get('AWS_ENDPOINT_URL_DYNAMODB')\n"
    )
    role = boto3.client("iam").create_role(RoleName=f"ddb-process-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda")
    name = f"fn-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": make_zip({"app.py": source})})
    try:
        answer = json.loads(lam.invoke(FunctionName=name, Payload=json.dumps({"table": table}))["Payload"].read())
    finally:
        lam.delete_function(FunctionName=name)
    assert answer == dynamodb_endpoint(local_cloud)
    assert boto3.client("dynamodb").get_item(TableName=table, Key={"k": {"S": "from lambda"}})["Item"] == {"k": {"S": "from lambda"}}


def gone(pid: int, within_s: float = 15.0) -> bool:
    deadline = time.monotonic() + within_s
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, not yet reaped by its new parent
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
@pytest.mark.parametrize("how", ["down", "SIGKILL"])
def test_the_process_ends_with_the_server(tmp_path, how):
    s = dataclasses.replace(config.load(), target="local", local_port=lifecycle.free_port(), state_dir=tmp_path)
    server = lifecycle.up(s).pid
    child = benchmarking.dynamodb_process_pid(server)
    assert child is not None, f"no DynamoDB process under the server {server}"
    try:
        if how == "down":
            lifecycle.down(s)
        else:
            os.kill(server, signal.SIGKILL)
        assert gone(child), f"the DynamoDB process {child} outlived the server ({how})"
    finally:
        lifecycle.down(s)
        if not gone(child, 0):
            os.kill(child, signal.SIGKILL)
