"""The batch pipeline of notebook 08: crawl the raw layer, run the Glue job that loads it into Redshift.

Every function is idempotent: it creates what is missing and brings what exists up to date.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import awswrangler as wr

from helpers import aws, config, iam, storage, warehouse

SCRIPT = config.REPO_ROOT / "glue_scripts" / "bulkimport_s3_redshift.py"
BULK_IMPORT_PREFIX = "aws-project/bulk-import/"  # the scheduled Lambda's checkpoint and manifests
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"  # what a crawler gives JSON tables
PYTHON_SHELL_DPU = 0.0625  # the smallest Python shell capacity (1/16 DPU)
JOB_TIMEOUT_MINUTES = 15
FINAL_RUN_STATES = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED")


def policy_values(function_name: str, secret_arn: str) -> dict[str, str]:
    """Placeholder values of the batch roles (glue, redshift, bulk_import)."""
    names = config.settings().names
    return {
        **iam.policy_values(function_name),
        "GlueScriptsPrefix": names.glue_scripts_prefix,
        "GlueTempPrefix": names.glue_temp_prefix,
        "GlueDatabase": names.glue_database,
        "BulkImportPrefix": BULK_IMPORT_PREFIX,
        "WarehouseSecretArn": secret_arn,
    }


def ensure_copy_role(wh: warehouse.Warehouse) -> str:
    """The role Redshift assumes to read S3 in COPY, associated with the namespace; its ARN."""
    arn = iam.ensure_role("redshift", policy_values("redshift", wh.secret_arn))
    rs = aws.client("redshift-serverless")
    namespace = rs.get_namespace(namespaceName=wh.namespace)["namespace"]
    roles = [role for role in namespace.get("iamRoles", []) if isinstance(role, str)]
    if arn not in roles or namespace.get("defaultIamRoleArn") != arn:
        rs.update_namespace(namespaceName=wh.namespace, iamRoles=sorted(set(roles) | {arn}), defaultIamRoleArn=arn)
        warehouse._wait(lambda: rs.get_namespace(namespaceName=wh.namespace)["namespace"], f"namespace {wh.namespace}")
    return arn


def raw_location() -> str:
    return f"s3://{aws.bucket()}/{config.settings().names.raw_prefix}"


def ensure_table() -> str:
    """The catalog table over the raw prefix, created by the workbook under the course's name; its name.

    A crawler with S3 targets would name the table after the folder (``kinesis_stream``). Creating
    the table and crawling it as a catalog target keeps the name and lets the crawler fill in the
    columns, partition keys and partitions (API CatalogTarget,
    https://docs.aws.amazon.com/glue/latest/webapi/API_CatalogTarget.html). An existing table is
    left as the last crawl made it."""
    names = config.settings().names
    glue = aws.client("glue")
    try:
        glue.create_database(DatabaseInput={"Name": names.glue_database, "Description": "The workbook's data lake"})
    except glue.exceptions.AlreadyExistsException:
        pass
    table = {
        "Name": names.glue_table,
        "Description": f"The raw layer; columns and partitions kept up to date by crawler {names.glue_crawler}",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            "Columns": [],
            "Location": raw_location(),
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": JSON_SERDE},
        },
    }
    try:
        glue.create_table(DatabaseName=names.glue_database, TableInput=table)
    except glue.exceptions.AlreadyExistsException:
        pass
    return names.glue_table


def ensure_crawler(role_arn: str) -> dict[str, Any]:
    """The catalog table and a crawler that keeps it up to date (a catalog target); the crawler's definition."""
    names = config.settings().names
    glue = aws.client("glue")
    ensure_table()
    definition = {
        "Role": role_arn,
        "DatabaseName": names.glue_database,
        "Targets": {"CatalogTargets": [{"DatabaseName": names.glue_database, "Tables": [names.glue_table]}]},
        # A crawler over catalog tables must only log what it finds deleted.
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
    }
    try:
        glue.create_crawler(Name=names.glue_crawler, Tags=config.TAGS, **definition)
    except glue.exceptions.AlreadyExistsException:
        wait_for_crawler(glue, names.glue_crawler)
        glue.update_crawler(Name=names.glue_crawler, **definition)
    return glue.get_crawler(Name=names.glue_crawler)["Crawler"]


def wait_for_crawler(glue: Any, name: str, timeout_s: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (crawler := glue.get_crawler(Name=name)["Crawler"])["State"] != "READY":
        if time.monotonic() > deadline:
            raise TimeoutError(f"crawler {name} still {crawler['State']} after {timeout_s:.0f} s")
        time.sleep(2)
    return crawler


def crawl(out: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the crawler once and wait; its LastCrawl. Raises if the crawl did not succeed."""
    name = config.settings().names.glue_crawler
    glue = aws.client("glue")
    started = time.monotonic()
    glue.start_crawler(Name=name)
    time.sleep(1)
    crawler = wait_for_crawler(glue, name)
    last = crawler["LastCrawl"]
    out(f"crawl {last['Status']} in {time.monotonic() - started:.0f} s")
    if last["Status"] != "SUCCEEDED":
        raise RuntimeError(f"crawl {last['Status']}: {last.get('ErrorMessage')}")
    return last


def upload_script() -> str:
    """The job's script in S3, where Glue reads it; its s3:// URI."""
    names = config.settings().names
    key = f"{names.glue_scripts_prefix}{SCRIPT.name}"
    aws.client("s3").put_object(Bucket=aws.bucket(), Key=key, Body=SCRIPT.read_bytes())
    return f"s3://{aws.bucket()}/{key}"


def job_arguments(wh: warehouse.Warehouse, copy_role_arn: str, table: str) -> dict[str, str]:
    """The job's DefaultArguments: what to read, where to load, where to stage."""
    names = config.settings().names
    return {
        "--TempDir": f"s3://{aws.bucket()}/{names.glue_temp_prefix}",
        "--database": names.glue_database,
        "--table": table,
        "--workgroup": wh.workgroup,
        "--redshift_database": wh.database,
        "--target_table": f"public.{names.redshift_table}",
        "--secret_arn": wh.secret_arn,
        "--copy_role_arn": copy_role_arn,
        "library-set": "analytics",  # Python shell 3.9's set with awswrangler and pandas
    }


def ensure_job(role_arn: str, script_location: str, arguments: dict[str, str]) -> dict[str, Any]:
    """The Python shell job, created or updated to this definition; the job."""
    name = config.settings().names.glue_job
    glue = aws.client("glue")
    definition = {
        "Role": role_arn,
        "Command": {"Name": "pythonshell", "ScriptLocation": script_location, "PythonVersion": "3.9"},
        "DefaultArguments": arguments,
        "MaxCapacity": PYTHON_SHELL_DPU,
        "Timeout": JOB_TIMEOUT_MINUTES,
        "MaxRetries": 0,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
    }
    try:
        glue.get_job(JobName=name)
        glue.update_job(JobName=name, JobUpdate=definition)
    except glue.exceptions.EntityNotFoundException:
        glue.create_job(Name=name, Tags=config.TAGS, **definition)
    return glue.get_job(JobName=name)["Job"]


def run_job(timeout_s: float = 1200, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Start a run and wait for it, printing each state change; the JobRun."""
    name = config.settings().names.glue_job
    glue = aws.client("glue")
    run_id = glue.start_job_run(JobName=name)["JobRunId"]
    started, state = time.monotonic(), None
    while True:
        run = glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]
        if run["JobRunState"] != state:
            state = run["JobRunState"]
            out(f"{time.monotonic() - started:5.0f} s: {state}")
        if state in FINAL_RUN_STATES:
            return run
        if time.monotonic() > started + timeout_s:
            raise TimeoutError(f"run {run_id} still {state} after {timeout_s:.0f} s")
        time.sleep(2)


def job_log(run_id: str, stream: str = "output") -> list[str]:
    """The run's standard output (or ``error``) as Glue wrote it to CloudWatch Logs."""
    logs = aws.client("logs")
    try:
        events = logs.get_log_events(logGroupName=f"/aws-glue/python-jobs/{stream}", logStreamName=run_id, startFromHead=True)
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"].rstrip() for event in events["events"]]


def raw_distinct_events() -> tuple[int, int]:
    """(lines, distinct EventIds) in the raw layer, read straight from S3."""
    raw = wr.s3.read_json(raw_location(), lines=True, dtype=False, convert_dates=False, boto3_session=aws.session())
    return len(raw), raw["EventId"].nunique()


def ensure_bucket() -> str:
    bucket = aws.bucket()
    storage.ensure_bucket(bucket, config.settings().region)
    return bucket
