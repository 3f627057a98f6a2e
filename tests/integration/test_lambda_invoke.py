"""Lambda Invoke on the local cloud: deployed zips run as on AWS, seen through plain boto3.

Each test names the AWS documentation page whose behaviour it checks.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import textwrap
import threading
import uuid
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import benchmarking

pytestmark = pytest.mark.integration

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30)


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def lam(local_cloud):
    return boto3.client("lambda", config=NO_RETRIES)


@pytest.fixture(scope="module")
def role(local_cloud):
    iam = boto3.client("iam")
    name = f"lambda-invoke-test-{uuid.uuid4().hex[:8]}"
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]


@pytest.fixture
def deploy(lam, role):
    """deploy(source or {file: source}, handler=..., **CreateFunction arguments) -> function name."""

    def _deploy(source: str | dict[str, str], handler: str = "app.handler", **kwargs) -> str:
        files = {"app.py": source} if isinstance(source, str) else source
        name = f"fn-{uuid.uuid4().hex[:10]}"
        kwargs.setdefault("Code", {"ZipFile": make_zip(files)})
        kwargs.setdefault("Timeout", 3)
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, **kwargs)
        return name

    return _deploy


def invoke(lam, name: str, event=None, **kwargs) -> tuple[dict, object]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


# --- https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html -------------------------


def test_api_invoke_request_response_returns_the_handlers_result(lam, deploy):
    name = deploy(
        """
        def handler(event, context):
            return {"total": sum(event["numbers"])}
        """
    )
    response, result = invoke(lam, name, {"numbers": [1, 2, 3.5]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert result == {"total": 6.5}


def test_api_createfunction_code_from_s3_bucket_and_key(lam, deploy):
    s3 = boto3.client("s3")
    bucket = f"code-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    package = make_zip({"app.py": "def handler(e, c):\n    return 'from s3'\n"})
    s3.put_object(Bucket=bucket, Key="pkg/app.zip", Body=package)
    name = deploy("", Code={"S3Bucket": bucket, "S3Key": "pkg/app.zip"})
    assert invoke(lam, name)[1] == "from s3"


def test_api_invoke_function_name_as_arn_and_partial_arn(lam, deploy):
    name = deploy("def handler(e, c):\n    return c.invoked_function_arn\n")
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert invoke(lam, arn)[1] == arn
    partial = arn.split(":", 4)[4]  # 123456789012:function:name
    assert invoke(lam, partial)[1] == arn
    assert invoke(lam, f"{name}:$LATEST")[1] == f"{arn}:$LATEST"


def test_api_invoke_unknown_function_is_resource_not_found(lam):
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    )


def test_api_invoke_payload_limits_and_invalid_json(lam, deploy):
    name = deploy("def handler(e, c):\n    return None\n")
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName=name, Payload=json.dumps({"x": "a" * 6_300_000}))
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"x": "a" * 1_100_000}))
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert "too large for the Event invocation type (limit 1048576 bytes)" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert error.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_api_invoke_response_too_large_is_a_function_error(lam, deploy):
    name = deploy("def handler(e, c):\n    return 'x' * 6_400_000\n")
    response, result = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Function.ResponseSizeTooLarge"


def test_api_invoke_dry_run_answers_204_without_running(lam, deploy):
    name = deploy("def handler(e, c):\n    raise RuntimeError('must not run')\n")
    response = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert response["Payload"].read() == b""


# --- https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html ---------------
# --- https://docs.aws.amazon.com/lambda/latest/dg/python-context.html -----------------------


def test_configuration_envvars_and_python_context_seen_by_the_handler(lam, deploy, local_cloud):
    name = deploy(
        """
        import os

        NAMES = ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER",
                 "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV",
                 "LAMBDA_TASK_ROOT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_ENDPOINT_URL", "TZ"]

        def handler(event, context):
            return {
                "env": {name: os.environ.get(name) for name in NAMES},
                "cwd": os.getcwd(),
                "context": {
                    "aws_request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining": context.get_remaining_time_in_millis(),
                    "client_custom": context.client_context.custom,
                },
            }
        """,
        MemorySize=256,
        Timeout=2,
        Environment={"Variables": {"GREETING": "hello", "AWS_LAMBDA_FUNCTION_NAME": "cannot-override"}},
    )
    client_context = base64.b64encode(json.dumps({"custom": {"caller": "notebook"}}).encode()).decode()
    response, result = invoke(lam, name, ClientContext=client_context)
    env, context = result["env"], result["context"]
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name  # reserved: the platform's value wins
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == local_cloud.region
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["LAMBDA_TASK_ROOT"] == result["cwd"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"] == local_cloud.local_endpoint
    assert env["TZ"] == ":UTC"
    stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert stream.split("/")[3].startswith("[$LATEST]") and len(stream.split("]")[1]) == 32
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == f"arn:aws:lambda:{local_cloud.region}:123456789012:function:{name}"
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["log_stream_name"] == stream
    assert 0 < context["remaining"] <= 2000
    assert context["client_custom"] == {"caller": "notebook"}


def test_lambda_python_runtime_provides_boto3_but_not_the_workbooks_other_packages(lam, deploy):
    # https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html: the runtime includes the SDK
    # for Python (Boto3); anything else must be in the deployment package or a layer.
    name = deploy("import boto3, botocore, dateutil, jmespath, s3transfer, urllib3\nimport pandas\n")
    response, result = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    assert result["errorMessage"] == "Unable to import module 'app': No module named 'pandas'"


RULES = "def is_cancellation(invoice_no):\n    return invoice_no.startswith('C')\n"


def test_python_layers_packages_packages_are_importable(lam, deploy):
    # https://docs.aws.amazon.com/lambda/latest/dg/python-layers.html: a layer's python/ directory
    # (and python/lib/python3.x/site-packages) is on the handler's path.
    layer = lam.publish_layer_version(
        LayerName=f"layer-{uuid.uuid4().hex[:8]}",
        Content={"ZipFile": make_zip({"python/invoice_rules.py": RULES})},
        CompatibleRuntimes=["python3.12"],
    )
    name = deploy(
        "from invoice_rules import is_cancellation\ndef handler(e, c):\n    return is_cancellation(e['InvoiceNo'])\n",
        Layers=[layer["LayerVersionArn"]],
    )
    assert invoke(lam, name, {"InvoiceNo": "C536379"})[1] is True


def test_handler_boto3_reaches_the_local_cloud_without_code_changes(lam, deploy):
    bucket = f"out-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    name = deploy(
        """
        import boto3

        s3 = boto3.client("s3")

        def handler(event, context):
            s3.put_object(Bucket=event["bucket"], Key="result.json", Body=b'{"ok": true}')
            return "written"
        """
    )
    assert invoke(lam, name, {"bucket": bucket})[1] == "written"
    assert boto3.client("s3").get_object(Bucket=bucket, Key="result.json")["Body"].read() == b'{"ok": true}'


# --- https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html -----------


def test_runtime_environment_is_reused_warm_and_replaced_after_updates(lam, deploy):
    source = """
        import os
        COLD_STARTS = []

        def handler(event, context):
            COLD_STARTS.append(1)
            return {"pid": os.getpid(), "calls": len(COLD_STARTS), "colour": os.environ.get("COLOUR"), "code": "v%s"}
        """
    name = deploy(source % 1, Environment={"Variables": {"COLOUR": "red"}})
    first = invoke(lam, name)[1]
    second = invoke(lam, name)[1]
    assert second["pid"] == first["pid"] and second["calls"] == 2  # same warm process, module state kept

    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": source % 2}))
    after_code = invoke(lam, name)[1]
    assert after_code["code"] == "v2" and after_code["pid"] != first["pid"] and after_code["calls"] == 1

    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOUR": "blue"}})
    after_config = invoke(lam, name)[1]
    assert after_config["colour"] == "blue" and after_config["pid"] != after_code["pid"]


def test_configuration_versions_and_aliases_run_their_own_code(lam, deploy):
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html
    name = deploy("def handler(e, c):\n    return ['one', c.function_version, c.invoked_function_arn]\n")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    new_code = make_zip({"app.py": "def handler(e, c):\n    return ['two']\n"})
    lam.update_function_code(FunctionName=name, ZipFile=new_code)
    assert invoke(lam, name)[1] == ["two"]
    old = invoke(lam, name, Qualifier=version)
    assert old[0]["ExecutedVersion"] == version
    assert old[1][:2] == ["one", version] and old[1][2].endswith(f":{name}:{version}")
    assert invoke(lam, name, Qualifier="live")[1][:2] == ["one", version]


def test_timeout_kills_the_invocation_with_sandbox_timedout(lam, deploy):
    # https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts
    name = deploy(
        """
        import os, time

        def handler(event, context):
            if event.get("sleep"):
                print("going to sleep")
                time.sleep(30)
            return os.getpid()
        """,
        Timeout=1,
    )
    pid = invoke(lam, name)[1]
    response, result = invoke(lam, name, {"sleep": True}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert result == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    log = base64.b64decode(response["LogResult"]).decode()
    assert "going to sleep" in log and f"{request_id} Task timed out after 1.00 seconds" in log
    assert "Status: timeout" in log
    assert invoke(lam, name)[1] != pid  # the timed-out environment was discarded


# --- https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html --------------------


def test_python_exceptions_unhandled_error_shape(lam, deploy):
    name = deploy(
        """
        def handler(event, context):
            raise ValueError("bad invoice " + event["id"])
        """
    )
    response, result = invoke(lam, name, {"id": "C536379"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert set(result) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert result["errorMessage"] == "bad invoice C536379"
    assert result["errorType"] == "ValueError"
    assert result["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert len(result["stackTrace"]) == 1
    assert result["stackTrace"][0].startswith('  File "') and "app.py\", line 3, in handler" in result["stackTrace"][0]


def test_python_exceptions_missing_module_and_missing_handler(lam, deploy):
    missing_module = deploy("def handler(e, c):\n    return 1\n", handler="nowhere.handler")
    response, result = invoke(lam, missing_module)
    assert response["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    assert result["errorMessage"] == "Unable to import module 'nowhere': No module named 'nowhere'"

    missing_handler = deploy("def other(e, c):\n    return 1\n", handler="app.handler")
    result = invoke(lam, missing_handler)[1]
    assert result["errorType"] == "Runtime.HandlerNotFound"
    assert result["errorMessage"] == "Handler 'handler' missing on module 'app'"


def test_python_handler_unserialisable_result_is_a_marshal_error(lam, deploy):
    name = deploy("import datetime\ndef handler(e, c):\n    return {'when': datetime.datetime(2010, 12, 1)}\n")
    response, result = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.MarshalError"
    assert result["errorMessage"] == "Unable to marshal response: Object of type datetime is not JSON serializable"


# --- https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html ---------------------


wait_for = functools.partial(benchmarking.wait_until, timeout=20.0, every=0.1)


def s3_keys(bucket: str, prefix: str = "") -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


MARKER_HANDLER = """
    import uuid
    import boto3

    s3 = boto3.client("s3")

    def handler(event, context):
        s3.put_object(Bucket=event["bucket"], Key=f"{context.aws_request_id}/{uuid.uuid4().hex}", Body=b"")
        if event.get("fail"):
            raise RuntimeError("failing on purpose")
        return {"done": True}
    """


def test_invocation_async_event_returns_202_and_runs_later(lam, deploy):
    bucket = f"async-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    name = deploy(MARKER_HANDLER)
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"bucket": bucket}))
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    keys = wait_for(lambda: s3_keys(bucket))
    assert keys[0].startswith(response["ResponseMetadata"]["RequestId"] + "/")
    # The deprecated InvokeAsync (https://docs.aws.amazon.com/lambda/latest/api/API_InvokeAsync.html) queues too.
    assert lam.invoke_async(FunctionName=name, InvokeArgs=json.dumps({"bucket": bucket}))["Status"] == 202
    wait_for(lambda: len(s3_keys(bucket)) == 2)


def test_invocation_async_error_is_retried_twice_then_sent_to_the_on_failure_destination(lam, deploy):
    # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html and
    # invocation-async-retain-records.html. The local-only tag shortens the 1 and 2 minute delays.
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    bucket = f"retry-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=f"failures-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = deploy(MARKER_HANDLER, Tags={"localcloud:async-retry-delay-seconds": "0.2"})
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    event = {"bucket": bucket, "fail": True}
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    request_id = response["ResponseMetadata"]["RequestId"]

    def record():
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        return json.loads(messages[0]["Body"]) if messages else None

    failure = wait_for(record)
    assert failure["requestContext"]["requestId"] == request_id
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestPayload"] == event
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["responsePayload"]["errorMessage"] == "failing on purpose"
    assert len(s3_keys(bucket, request_id)) == 3  # the first attempt and two retries


# --- https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html -----------------------
# --- https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html ------------


LOGGING_HANDLER = """
    import logging
    import sys

    logger = logging.getLogger()
    logger.setLevel(logging.INFO)

    def handler(event, context):
        print("printed line")
        print("to stderr", file=sys.stderr)
        logger.info("logged %s", "info")
        return context.log_stream_name
    """


def test_python_logging_log_type_tail_returns_the_invocations_log(lam, deploy):
    name = deploy(LOGGING_HANDLER)
    response, _ = invoke(lam, name, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "printed line" in lines and "to stderr" in lines
    info = next(line for line in lines if line.startswith("[INFO]"))
    assert info.split("\t")[2:] == [request_id, "logged info"]
    assert lines[-2] == f"END RequestId: {request_id}"
    report = lines[-1].split("\t")
    assert report[0] == f"REPORT RequestId: {request_id}"
    assert [field.split(":")[0] for field in report[1:6]] == [
        "Duration", "Billed Duration", "Memory Size", "Max Memory Used", "Init Duration"
    ]
    assert "LogResult" not in invoke(lam, name)[0]  # only when asked for


def test_monitoring_cloudwatchlogs_group_and_stream_hold_the_invocations(lam, deploy):
    name = deploy(LOGGING_HANDLER)
    first, stream = invoke(lam, name)
    second, _ = invoke(lam, name)
    logs = boto3.client("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]  # one stream per execution environment
    events = logs.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=stream)["events"]
    messages = [event["message"] for event in events]
    for response in (first, second):
        request_id = response["ResponseMetadata"]["RequestId"]
        assert f"START RequestId: {request_id} Version: $LATEST" in messages
        assert f"END RequestId: {request_id}" in messages
        assert any(m.startswith(f"REPORT RequestId: {request_id}\tDuration: ") for m in messages)
    assert messages.count("printed line") == 2


# --- https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html -------------------


SLEEPY_HANDLER = """
    import os, time

    def handler(event, context):
        started = time.time()
        time.sleep(event["seconds"])
        return {"pid": os.getpid(), "start": started, "end": time.time()}
    """


def invoke_concurrently(lam, name: str, count: int, seconds: float) -> list:
    outcomes: list = [None] * count

    def run(i: int) -> None:
        try:
            outcomes[i] = invoke(lam, name, {"seconds": seconds})[1]
        except ClientError as error:
            outcomes[i] = error.response["Error"]["Code"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def most_at_once(results: list[dict]) -> int:
    edges = sorted([(r["start"], 1) for r in results] + [(r["end"], -1) for r in results])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_lambda_concurrency_runs_invocations_in_parallel_within_a_bound(lam, deploy):
    name = deploy(SLEEPY_HANDLER)
    results = invoke_concurrently(lam, name, count=6, seconds=0.5)
    assert all(isinstance(r, dict) for r in results)  # the ones beyond the bound waited their turn
    assert 2 <= most_at_once(results) <= 4
    assert len({r["pid"] for r in results}) <= 4


def test_configuration_concurrency_reserved_limit_throttles_with_429(lam, deploy):
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    name = deploy(SLEEPY_HANDLER)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    outcomes = invoke_concurrently(lam, name, count=3, seconds=1.5)
    assert sum(isinstance(o, dict) for o in outcomes) == 2
    assert outcomes.count("TooManyRequestsException") == 1
    assert most_at_once([o for o in outcomes if isinstance(o, dict)]) == 2
