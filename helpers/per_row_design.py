"""The course's per-row design, deployed beside the workbook's on a local cloud, and measured.

The course streamed its CSV one row per POST: API Gateway (non-proxy integration with the
"Method Request passthrough" template) -> one Lambda invocation -> one Kinesis ``PutRecord`` per
row; then a DynamoDB consumer made one ``UpdateItem`` per record per table (``invoice`` and
``customer``) and an S3 consumer wrote one text object per batch. Its handlers are re-stated in
``benchmarks/per_row/`` (kept only for this comparison; the workbook's own are in ``lambda_code/``).

``measure_per_row`` builds that design under suffixed names (``<name>-perrow-<hex>``, tagged like
everything the workbook creates), streams N rows of the synthetic data set through it, checks that
every row reached S3 and both tables, returns the same figures as
``helpers.benchmarking.measure_batched`` does for the batched design, and deletes what it built.

Local target only: on AWS it would create and bill a stream, three functions, an API, two tables
and a bucket, and make two DynamoDB writes per row.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from helpers import apigateway, aws, benchmarking, client, config, data, deploy, iam, sinks, storage

CODE_DIR = config.REPO_ROOT / "benchmarks" / "per_row"
# module in benchmarks/per_row -> (the workbook role whose policy it shares, its environment variables)
HANDLERS = {
    "course_kinesis_api": ("kinesis_api", ("STREAM_NAME",)),
    "course_write_kinesis_to_s3": ("write_kinesis_to_s3", ("BUCKET", "RAW_PREFIX")),
    "course_write_kinesis_to_dynamodb": ("write_kinesis_to_dynamodb", ("INVOICE_TABLE", "CUSTOMER_TABLE")),
}
CONSUMERS = {"course_write_kinesis_to_s3": "batch written", "course_write_kinesis_to_dynamodb": "records updated"}
# The Lambda console's defaults for a Kinesis trigger, as the course created it: 100 records per
# batch, no batching window, no bisecting, no on-failure destination.
COURSE_MAPPING = {"BatchSize": 100, "StartingPosition": "TRIM_HORIZON"}
DEFAULT_SHARDS = 2  # as helpers.benchmarking gives the batched design for up to 120,000 rows
DEFAULT_CONCURRENCY = 4  # POSTs in flight, as helpers.client's default (the course's client sent one at a time)
TIMEOUT_S = 1800


class PerRowError(RuntimeError):
    """The per-row design cannot be measured here, or a row went missing."""


# ---------------------------------------------------------------------------------------------
# Names and settings


def per_row_permissions(document: dict[str, Any]) -> dict[str, Any]:
    """The workbook's API role policy, allowing ``kinesis:PutRecord`` too (the per-row API's call)
    where it allows ``kinesis:PutRecords``."""
    statements = []
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "kinesis:PutRecords" in actions and "kinesis:PutRecord" not in actions:
            statement = {**statement, "Action": sorted({*actions, "kinesis:PutRecord"})}
        statements.append(statement)
    return {**document, "Statement": statements}


# ---------------------------------------------------------------------------------------------
# Building and deleting the design


@dataclass
class PerRowPipeline:
    settings: config.Settings
    url: str
    bucket: str
    api_id: str

    def function(self, module: str) -> str:
        n = self.settings.names
        return {"course_kinesis_api": n.fn_kinesis_api, "course_write_kinesis_to_s3": n.fn_kinesis_to_s3,
                "course_write_kinesis_to_dynamodb": n.fn_kinesis_to_dynamodb}[module]  # fmt: skip


def build(s: config.Settings, shards: int = DEFAULT_SHARDS) -> PerRowPipeline:
    """Stream, tables, bucket, roles, the three course handlers, their two mappings and the API,
    as the course set them up (call inside ``benchmarking.workbook_settings(s)``)."""
    names = s.names
    bucket = aws.bucket()
    storage.ensure_bucket(bucket, s.region)
    stream_arn = storage.ensure_stream(names.stream, shards)["StreamARN"]
    storage.ensure_table(names.invoice_table, "InvoiceNo")
    storage.ensure_table(names.customer_table, "CustomerID")
    environment = {"STREAM_NAME": names.stream, "BUCKET": bucket, "RAW_PREFIX": names.raw_prefix,
                   "INVOICE_TABLE": names.invoice_table, "CUSTOMER_TABLE": names.customer_table}  # fmt: skip
    pipeline = PerRowPipeline(s, url="", bucket=bucket, api_id="")
    arns = {}
    for module, (role_key, variables) in HANDLERS.items():
        name = pipeline.function(module)
        values = iam.policy_values(name)
        role_arn = iam.ensure_role(role_key, values)
        if module == "course_kinesis_api":
            document = per_row_permissions(iam.render(iam.POLICY_DIR / role_key / iam.PERMISSIONS_FILE, values))
            role = names.roles[role_key]
            aws.client("iam").put_role_policy(RoleName=role, PolicyName=f"{role}-permissions", PolicyDocument=json.dumps(document))
        arns[module] = deploy.deploy_function(
            name, module, role_arn, {v: environment[v] for v in variables},
            description="The course's per-row design, for the benchmark only", code_dir=CODE_DIR,
        )  # fmt: skip
    for module in CONSUMERS:
        deploy.ensure_event_source_mapping(pipeline.function(module), stream_arn, COURSE_MAPPING)
    pipeline.api_id = _course_api(s, arns["course_kinesis_api"], pipeline.function("course_kinesis_api"))
    pipeline.url = apigateway.invoke_url(pipeline.api_id, names.api_stage, names.api_resource, settings=s)
    return pipeline


def _course_api(s: config.Settings, function_arn: str, function_name: str) -> str:
    """A REST API whose POST is a Lambda custom integration with the passthrough template, no API
    key (the course's API had none); the API's id once deployed."""
    names = s.names
    gateway = aws.client("apigateway")
    api_id = gateway.create_rest_api(name=names.api_name, tags=config.TAGS)["id"]
    root = next(r["id"] for r in gateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = gateway.create_resource(restApiId=api_id, parentId=root, pathPart=names.api_resource)["id"]
    gateway.put_method(restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    gateway.put_integration(
        restApiId=api_id, resourceId=resource, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{s.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        requestTemplates={"application/json": apigateway.METHOD_REQUEST_PASSTHROUGH}, passthroughBehavior="WHEN_NO_TEMPLATES",
    )  # fmt: skip
    gateway.put_method_response(restApiId=api_id, resourceId=resource, httpMethod="POST", statusCode="200")
    gateway.put_integration_response(restApiId=api_id, resourceId=resource, httpMethod="POST", statusCode="200")
    aws.client("lambda").add_permission(
        FunctionName=function_name, StatementId=f"apigateway-{api_id}", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{s.region}:{aws.account_id()}:{api_id}/*/POST/{names.api_resource}",
    )  # fmt: skip
    gateway.create_deployment(restApiId=api_id, stageName=names.api_stage)
    return api_id


def delete(pipeline: PerRowPipeline) -> None:
    """Remove everything ``build`` made (call inside ``benchmarking.workbook_settings``)."""
    names = pipeline.settings.names
    lam, logs, iam_client = aws.client("lambda"), aws.client("logs"), aws.client("iam")
    aws.client("apigateway").delete_rest_api(restApiId=pipeline.api_id)
    for module, (role_key, _) in HANDLERS.items():
        function = pipeline.function(module)
        for mapping in lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]:
            lam.delete_event_source_mapping(UUID=mapping["UUID"])
        lam.delete_function(FunctionName=function)
        logs.delete_log_group(logGroupName=f"/aws/lambda/{function}")
        role = names.roles[role_key]
        iam_client.delete_role_policy(RoleName=role, PolicyName=f"{role}-permissions")
        iam_client.delete_role(RoleName=role)
    aws.client("kinesis").delete_stream(StreamName=names.stream, EnforceConsumerDeletion=True)
    dynamodb = aws.client("dynamodb")
    for table in (names.invoice_table, names.customer_table):
        dynamodb.delete_table(TableName=table)
    bucket = aws.session().resource("s3").Bucket(pipeline.bucket)
    bucket.objects.all().delete()
    bucket.delete()


# ---------------------------------------------------------------------------------------------
# The client: one POST per row


@dataclass
class PostSummary:
    accepted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (EventId, what the API answered)
    seconds: float = 0.0


def post_failure(status: int, body: str) -> str | None:
    """Why a per-row POST failed, or None. With the course's integration (one 200 integration
    response, no selection pattern) a function error also comes back as HTTP 200, its
    ``errorMessage`` in the body: the course's "200 but KeyError in the logs" pitfall."""
    if status != 200:
        return f"HTTP {status}: {body[:200]}"
    try:
        answer = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]}"
    if isinstance(answer, dict) and ("errorMessage" in answer or answer.get("statusCode", 200) != 200):
        return str(answer.get("errorMessage") or answer)[:200]
    return None


def post_rows(url: str, events: Sequence[dict[str, Any]], concurrency: int = DEFAULT_CONCURRENCY) -> PostSummary:
    """POST every event on its own, ``concurrency`` at a time, as the course's client did (it sent
    them one at a time)."""
    local = threading.local()

    def send(event: dict[str, Any]) -> str | None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(url, data=json.dumps(event), headers={"Content-Type": "application/json"}, timeout=60)
        return post_failure(response.status_code, response.text)

    summary = PostSummary()
    started = time.monotonic()
    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        for event, failure in zip(events, pool.map(send, events)):
            if failure is None:
                summary.accepted += 1
            else:
                summary.failed.append((event["EventId"], failure))
    summary.seconds = time.monotonic() - started
    return summary


# ---------------------------------------------------------------------------------------------
# Accounting for every row at each sink


def expected_sinks(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the per-row design should leave: every EventId once in S3; per invoice one attribute
    per distinct StockCode; per customer one attribute per InvoiceNo; and its UpdateItem count."""
    with_customer = [e for e in events if e.get("CustomerID") not in (None, "")]
    return {
        "event_ids": Counter(e["EventId"] for e in events),
        "invoice_attributes": {(str(e["InvoiceNo"]), str(e["StockCode"])) for e in events},
        "customer_attributes": {(str(e["CustomerID"]), str(e["InvoiceNo"])) for e in with_customer},
        "update_item_calls": len(events) + len(with_customer),
    }


def stored_attributes(items: Sequence[dict[str, Any]], key: str) -> set[tuple[str, str]]:
    return {(item[key], name) for item in items for name in item if name != key}


def raw_event_ids(bucket: str, prefix: str) -> Counter[str]:
    s3 = aws.client("s3")
    found: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            for line in s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode().splitlines():
                found[json.loads(line)["EventId"]] += 1
    return found


def account_for_every_row(pipeline: PerRowPipeline, events: Sequence[dict[str, Any]], update_calls: int) -> dict[str, float]:
    """Raise PerRowError unless S3 and both tables hold every row; the extra copies a redelivered
    batch left (Kinesis to Lambda is at-least-once) and the invoice lines the course's item shape
    overwrote (a repeated StockCode in an invoice), as figures."""
    names = pipeline.settings.names
    expected = expected_sinks(events)
    raw = raw_event_ids(pipeline.bucket, names.raw_prefix)
    problems = []
    if missing := len(expected["event_ids"] - raw):
        problems.append(f"{missing:,} rows missing from S3")
    if stored_attributes(benchmarking.scan(names.invoice_table), "InvoiceNo") != expected["invoice_attributes"]:
        problems.append(f"{names.invoice_table} does not hold one attribute per (InvoiceNo, StockCode)")
    if stored_attributes(benchmarking.scan(names.customer_table), "CustomerID") != expected["customer_attributes"]:
        problems.append(f"{names.customer_table} does not hold one attribute per (CustomerID, InvoiceNo)")
    if update_calls < expected["update_item_calls"]:
        problems.append(f"{update_calls:,} UpdateItem calls, fewer than the {expected['update_item_calls']:,} the rows need")
    if problems:
        raise PerRowError("; ".join(problems))
    return {
        "s3_extra_copies": float(sum((raw - expected["event_ids"]).values())),
        "dynamodb_redelivered_updates": float(update_calls - expected["update_item_calls"]),
        "invoice_lines_overwritten": float(len(events) - len(expected["invoice_attributes"])),
    }


# ---------------------------------------------------------------------------------------------
# The measurement


def _consumer_totals(pipeline: PerRowPipeline, module: str) -> tuple[int, int, float | None]:
    """(records, UpdateItem calls, epoch seconds of the last batch line) from a consumer's logs."""
    batches = sinks.consumer_batches(pipeline.function(module), CONSUMERS[module])
    if batches.empty:
        return 0, 0, None
    calls = int(batches["update_item_calls"].sum()) if "update_item_calls" in batches else 0
    return int(batches["records"].sum()), calls, batches["logged"].max().timestamp()


def stream_and_wait(pipeline: PerRowPipeline, events: Sequence[dict[str, Any]], concurrency: int, timeout_s: float) -> dict[str, float]:
    """POST every row, wait until both consumers have logged every record; the figures."""
    rows = len(events)
    started_epoch, started = time.time(), time.monotonic()
    posted = post_rows(pipeline.url, events, concurrency)
    if posted.failed:
        raise PerRowError(f"{len(posted.failed):,} of {rows:,} POSTs failed, e.g. {posted.failed[:3]}")
    done: dict[str, tuple[int, int, float]] = {}
    while len(done) < len(CONSUMERS):
        for module in CONSUMERS:
            records, calls, last = _consumer_totals(pipeline, module)
            if records >= rows and last is not None:
                done[module] = (records, calls, last - started_epoch)
        if time.monotonic() - started > timeout_s:
            raise PerRowError(f"not every record consumed within {timeout_s:.0f} s: {sorted(done)} finished")
        if len(done) < len(CONSUMERS):
            time.sleep(1.0)
    s3_s = max(done["course_write_kinesis_to_s3"][2], posted.seconds)
    dynamodb_s = max(done["course_write_kinesis_to_dynamodb"][2], posted.seconds)
    update_calls = done["course_write_kinesis_to_dynamodb"][1]
    end_to_end = max(s3_s, dynamodb_s)
    figures = {
        "rows": float(rows),
        "client_seconds": posted.seconds, "client_rows_per_s": rows / posted.seconds,
        "s3_seconds": s3_s, "s3_rows_per_s": rows / s3_s,
        "dynamodb_seconds": dynamodb_s, "dynamodb_rows_per_s": rows / dynamodb_s,
        "end_to_end_seconds": end_to_end, "end_to_end_rows_per_s": rows / end_to_end,
        "dynamodb_writes_per_record": update_calls / rows, "dynamodb_reads_per_record": 0.0,
        "dynamodb_requests_per_record": update_calls / rows,
        "http_requests_per_record": 1.0,
    }  # fmt: skip
    return {**figures, **account_for_every_row(pipeline, events, update_calls)}


def load_events(csv_path: Path) -> list[dict[str, Any]]:
    return client.to_events(data.load_invoices(csv_path), csv_path.name)


def measure_per_row(
    rows: int | None,
    settings: config.Settings,
    *,
    csv_path: Path | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    shards: int = DEFAULT_SHARDS,
    timeout_s: float = TIMEOUT_S,
    keep: bool = False,
) -> dict[str, float]:
    """Build the per-row design in the local cloud ``settings`` points at, stream ``rows`` synthetic
    rows (or the rows of ``csv_path``) through it, check every sink, return the figures (keys as
    ``helpers.benchmarking.measure_batched``'s), then delete it unless ``keep``."""
    if not settings.is_local:
        raise PerRowError("the per-row benchmark runs on the local cloud only: on AWS it would create and bill "
                          "a stream, three functions, an API, two tables and a bucket, and two DynamoDB writes per row")  # fmt: skip
    csv_path = csv_path or benchmarking.synthetic_csv(rows)
    events = load_events(Path(csv_path))[: rows if rows is not None else None]
    s = benchmarking.suffixed_settings(settings, f"perrow-{uuid.uuid4().hex[:6]}")  # names of its own
    with benchmarking.workbook_settings(s):
        pipeline = build(s, shards)
        try:
            return stream_and_wait(pipeline, events, concurrency, timeout_s)
        finally:
            if not keep:
                delete(pipeline)
