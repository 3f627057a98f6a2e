"""Glue job runs on the local cloud: StartJobRun runs the job's script with Glue's arguments, states
and logs, seen through plain boto3.

Each test names the AWS documentation page whose behaviour it checks.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration

FINAL = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")

# The argument parsing a script needs instead of awsglue.utils.getResolvedOptions.
RESOLVE = """
import argparse, sys

def resolved_options(argv, names):
    parser = argparse.ArgumentParser()
    for name in names:
        parser.add_argument(f"--{name}", required=True)
    return vars(parser.parse_known_args(argv[1:])[0])
"""


@pytest.fixture(scope="module")
def glue(local_cloud):
    return boto3.client("glue")


@pytest.fixture(scope="module")
def s3(local_cloud):
    return boto3.client("s3")


@pytest.fixture(scope="module")
def bucket(s3):
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def job(glue, s3, bucket):
    """job(script source, **CreateJob arguments) -> job name; a Python shell job by default."""

    def _job(source: str, command: str = "pythonshell", **kwargs) -> str:
        name = f"job-{uuid.uuid4().hex[:8]}"
        key = f"glue-scripts/{name}.py"
        s3.put_object(Bucket=bucket, Key=key, Body=textwrap.dedent(source).encode())
        glue.create_job(
            Name=name,
            Role="arn:aws:iam::123456789012:role/glue",
            Command={"Name": command, "ScriptLocation": f"s3://{bucket}/{key}", "PythonVersion": "3.9"},
            **kwargs,
        )
        return name

    return _job


def wait_run(glue, job_name: str, run_id: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        run = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
        if run["JobRunState"] in FINAL:
            return run
        assert time.monotonic() < deadline, f"run still {run['JobRunState']}"
        time.sleep(0.1)


def log_lines(group: str, stream: str) -> list[str]:
    logs = boto3.client("logs")
    return [event["message"] for event in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]]


# --- https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html ---------------------


def test_job_runs_api_script_writes_to_s3_and_run_succeeds(glue, s3, bucket, job):
    name = job(
        RESOLVE
        + textwrap.dedent(
            """
        import boto3
        args = resolved_options(sys.argv, ["JOB_NAME", "JOB_RUN_ID", "bucket", "key"])
        boto3.client("s3").put_object(Bucket=args["bucket"], Key=args["key"], Body=args["JOB_RUN_ID"].encode())
        print(f"wrote s3://{args['bucket']}/{args['key']} for {args['JOB_NAME']}")
        """
        ),
        DefaultArguments={"--bucket": bucket, "--key": "default.txt"},
    )
    run_id = glue.start_job_run(JobName=name, Arguments={"--key": "output/result.txt"})["JobRunId"]
    assert run_id.startswith("jr_")
    assert glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]["JobRunState"] in ("STARTING", "RUNNING", "SUCCEEDED")

    run = wait_run(glue, name, run_id)
    assert run["JobRunState"] == "SUCCEEDED"
    assert s3.get_object(Bucket=bucket, Key="output/result.txt")["Body"].read() == run_id.encode()
    assert run["Arguments"] == {"--key": "output/result.txt"}  # the run's own arguments
    assert run["ExecutionTime"] >= 0 and run["CompletedOn"] >= run["StartedOn"]
    assert (run["Attempt"], run["MaxCapacity"], run["LogGroupName"]) == (0, 0.0625, "/aws-glue/python-jobs")
    assert log_lines("/aws-glue/python-jobs/output", run_id) == [f"wrote s3://{bucket}/output/result.txt for {name}"]


def test_job_runs_api_failed_script_reports_its_error(glue, job):
    name = job(
        """
        print("starting")
        raise ValueError("no rows in s3://raw/")
        """
    )
    run_id = glue.start_job_run(JobName=name)["JobRunId"]
    run = wait_run(glue, name, run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: no rows in s3://raw/"
    errors = log_lines("/aws-glue/python-jobs/error", run_id)
    assert errors[0] == "Traceback (most recent call last):" and errors[-1] == "ValueError: no rows in s3://raw/"


def test_job_runs_api_timeout(glue, job):
    # Local-only tag: one minute of this job's Timeout lasts one second.
    name = job("import time\ntime.sleep(30)\n", Timeout=1, Tags={"localcloud:minute-seconds": "1"})
    run = wait_run(glue, name, glue.start_job_run(JobName=name)["JobRunId"])
    assert run["JobRunState"] == "TIMEOUT" and run["Timeout"] == 1


def test_job_runs_api_run_timeout_overrides_the_jobs(glue, job):
    name = job("import time\ntime.sleep(30)\n", Timeout=60, Tags={"localcloud:minute-seconds": "1"})
    run = wait_run(glue, name, glue.start_job_run(JobName=name, Timeout=1)["JobRunId"])
    assert run["JobRunState"] == "TIMEOUT" and run["Timeout"] == 1


def test_job_runs_api_max_concurrent_runs_and_batch_stop(glue, job):
    name = job("import time\ntime.sleep(30)\n")
    first = glue.start_job_run(JobName=name)["JobRunId"]
    with pytest.raises(ClientError) as error:
        glue.start_job_run(JobName=name)
    assert error.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"

    stopped = glue.batch_stop_job_run(JobName=name, JobRunIds=[first, "jr_unknown"])
    assert stopped["SuccessfulSubmissions"] == [{"JobName": name, "JobRunId": first}]
    assert stopped["Errors"][0]["ErrorDetail"]["ErrorCode"] == "EntityNotFoundException"
    assert wait_run(glue, name, first)["JobRunState"] == "STOPPED"


def test_job_runs_api_arguments_merge_and_glue_adds_its_own(glue, s3, bucket, job):
    name = job(
        """
        import json, sys, boto3
        pairs = dict(zip(sys.argv[1::2], sys.argv[2::2]))
        boto3.client("s3").put_object(Bucket=pairs["--bucket"], Key=pairs["--JOB_RUN_ID"], Body=json.dumps(pairs))
        """,
        DefaultArguments={"--bucket": bucket, "--mode": "full", "--day": "2010-12-01"},
        NonOverridableArguments={"--stage": "prod"},
    )
    run_id = glue.start_job_run(JobName=name, Arguments={"--mode": "incremental", "--stage": "dev"})["JobRunId"]
    assert wait_run(glue, name, run_id)["JobRunState"] == "SUCCEEDED"
    seen = json.loads(s3.get_object(Bucket=bucket, Key=run_id)["Body"].read())
    assert seen["--mode"] == "incremental" and seen["--day"] == "2010-12-01" and seen["--stage"] == "prod"
    assert seen["--JOB_NAME"] == name and seen["--JOB_RUN_ID"] == run_id and seen["--JOB_ID"].startswith("j_")
    assert seen["--TempDir"] == "s3://aws-glue-assets-123456789012-us-east-1/temporary/"


def test_job_runs_api_unknown_job(glue):
    with pytest.raises(ClientError) as error:
        glue.start_job_run(JobName="no-such-job")
    assert error.value.response["Error"]["Code"] == "EntityNotFoundException"


# --- https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html ------------------------------


def test_add_job_python_spark_scripts_fail_clearly(glue, job):
    name = job("from awsglue.context import GlueContext\n", command="glueetl")
    run = wait_run(glue, name, glue.start_job_run(JobName=name)["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"].startswith("Spark jobs are not supported by the local cloud")


def test_add_job_python_max_retries_start_new_attempts(glue, job):
    name = job("raise SystemExit(3)\n", MaxRetries=1)
    first = glue.start_job_run(JobName=name)["JobRunId"]
    assert wait_run(glue, name, first)["ErrorMessage"] == "Command failed with exit code 3"
    deadline = time.monotonic() + 20
    while len(runs := glue.get_job_runs(JobName=name)["JobRuns"]) < 2 or runs[0]["JobRunState"] not in FINAL:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    retry = runs[0]  # newest first
    assert (retry["Attempt"], retry["PreviousRunId"], retry["JobRunState"]) == (1, first, "FAILED")
    assert retry["Id"] == f"{first}_attempt_1"


# --- https://docs.aws.amazon.com/glue/latest/dg/about-triggers.html -----------------------------


def test_about_triggers_on_demand_trigger_starts_its_jobs_with_their_arguments(glue, s3, bucket, job):
    name = job(
        """
        import sys, boto3
        pairs = dict(zip(sys.argv[1::2], sys.argv[2::2]))
        boto3.client("s3").put_object(Bucket=pairs["--bucket"], Key="triggered/" + pairs["--JOB_RUN_ID"], Body=b"")
        """
    )
    trigger = f"now-{uuid.uuid4().hex[:6]}"
    glue.create_trigger(Name=trigger, Type="ON_DEMAND", Actions=[{"JobName": name, "Arguments": {"--bucket": bucket}}])
    glue.start_trigger(Name=trigger)
    deadline = time.monotonic() + 20
    while not (runs := glue.get_job_runs(JobName=name)["JobRuns"]) or runs[0]["JobRunState"] not in FINAL:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert runs[0]["JobRunState"] == "SUCCEEDED" and runs[0]["TriggerName"] == trigger
    assert s3.list_objects_v2(Bucket=bucket, Prefix="triggered/")["KeyCount"] == 1


def test_about_triggers_conditional_trigger_runs_after_a_job_succeeds(glue, job):
    first = job("print('extract')\n")
    second = job("print('load')\n")
    trigger = f"then-{uuid.uuid4().hex[:6]}"
    glue.create_trigger(
        Name=trigger,
        Type="CONDITIONAL",
        StartOnCreation=True,
        Predicate={"Logical": "ANY", "Conditions": [{"LogicalOperator": "EQUALS", "JobName": first, "State": "SUCCEEDED"}]},
        Actions=[{"JobName": second}],
    )
    wait_run(glue, first, glue.start_job_run(JobName=first)["JobRunId"])
    deadline = time.monotonic() + 20
    while not (runs := glue.get_job_runs(JobName=second)["JobRuns"]) or runs[0]["JobRunState"] not in FINAL:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert runs[0]["JobRunState"] == "SUCCEEDED" and runs[0]["TriggerName"] == trigger


def test_about_triggers_scheduled_trigger_needs_a_valid_cron(glue, job):
    name = job("print('nightly')\n")
    with pytest.raises(ClientError) as error:
        glue.create_trigger(Name="bad-cron", Type="SCHEDULED", Schedule="cron(0 2 * * * *)", Actions=[{"JobName": name}])
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
    glue.create_trigger(Name=f"nightly-{uuid.uuid4().hex[:6]}", Type="SCHEDULED", Schedule="cron(0 2 * * ? *)", Actions=[{"JobName": name}])


# --- https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html (UpdateJob) ----------


def test_update_job_overwrites_the_definition(glue, s3, bucket, job):
    name = job("print('v1')\n", DefaultArguments={"--mode": "full"}, MaxRetries=2)
    s3.put_object(Bucket=bucket, Key="glue-scripts/v2.py", Body=b"print('v2')\n")
    command = {"Name": "pythonshell", "ScriptLocation": f"s3://{bucket}/glue-scripts/v2.py"}
    assert glue.update_job(JobName=name, JobUpdate={"Role": "glue", "Command": command})["JobName"] == name
    updated = glue.get_job(JobName=name)["Job"]
    assert updated["Command"]["ScriptLocation"].endswith("v2.py")
    assert updated.get("DefaultArguments", {}) == {} and updated.get("MaxRetries", 0) == 0  # overwritten
    run_id = glue.start_job_run(JobName=name)["JobRunId"]
    assert wait_run(glue, name, run_id)["JobRunState"] == "SUCCEEDED"
    assert log_lines("/aws-glue/python-jobs/output", run_id) == ["v2"]
    with pytest.raises(ClientError) as error:
        glue.update_job(JobName=name, JobUpdate={"Description": "no role, no command"})
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
