"""Build the stream pipeline under names of its own, stream invoice rows through it, and measure.

The batched design of notebooks 02-07, end to end on a local cloud:

    client (helpers.client) -> API Gateway (proxy integration, API key, usage plan) -> Lambda
    kinesis_api -> Kinesis -> Lambda write_kinesis_to_s3 (S3 raw layer)
                           -> Lambda write_kinesis_to_dynamodb (tables invoice and customer)
                           -> Firehose -> S3 staging -> COPY -> Redshift (optional)

Every resource gets a suffix on ``config.Names``, so a pipeline never meets another's stream,
tables or API in a shared local cloud. The integration tests (tests/integration/
test_stream_pipeline.py), the benchmarks (benchmarks/) and notebook 12 build it from here.

``measure_batched(rows, settings)`` streams ``rows`` synthetic rows (``helpers.synthetic``; None:
the full 541,909), watches each sink fill while the client sends, then checks that every row is
in each sink, and returns the figures (see its docstring).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import apigateway, aws, client, config, data, deploy, iam, storage, stream, synthetic

HANDLERS = {  # function -> the environment it is deployed with
    "kinesis_api": ("STREAM_NAME", "INVOICE_TABLE", "CUSTOMER_TABLE"),
    "write_kinesis_to_s3": ("BUCKET", "RAW_PREFIX"),
    "write_kinesis_to_dynamodb": ("INVOICE_TABLE", "CUSTOMER_TABLE"),
}
CONSUMERS = {"write_kinesis_to_s3": "batch written", "write_kinesis_to_dynamodb": "batch merged"}
CONSUMED_TIMEOUT_S = 240
# Kinesis: "Each shard can support writes up to 1,000 records per second, up to a maximum data write
# total of 1 MiB per second" (Kinesis Data Streams Developer Guide, "Quotas and limits"). The local
# cloud does not throttle, so a benchmark paces its client under this many records per shard-second.
SHARD_WRITE_RECORDS_PER_S = 1000
PACE_SHARE = 0.9  # of the shard limit: the hash spread over shards is not perfectly even
# Firehose: IntervalInSeconds may be 0 to 900 and SizeInMBs 1 to 128 (Firehose API Reference,
# BufferingHints); 10 s keeps the warehouse's lag behind the stream short during a benchmark.
BENCHMARK_BUFFERING = {"SizeInMBs": 8, "IntervalInSeconds": 10}
WAREHOUSE_COLUMNS = """
    eventid varchar(1024) not null, invoiceno varchar(16) not null, stockcode varchar(32) not null,
    description varchar(4000), quantity integer not null, invoicedate timestamp not null,
    unitprice decimal(12,3) not null, customerid varchar(32), country varchar(256) not null,
    loaded_at timestamp default getdate()"""
FIREHOSE_USER_PASSWORD = "Benchmark-only-1"  # a throwaway user in a throwaway local warehouse


@dataclass
class Pipeline:
    settings: config.Settings
    url: str
    api_key: str
    bucket: str
    warehouse_table: str | None = None  # set when built with Firehose -> Redshift

    @property
    def names(self) -> config.Names:
        return self.settings.names

    def function(self, module: str) -> str:
        return getattr(self.names, {"kinesis_api": "fn_kinesis_api", "write_kinesis_to_s3": "fn_kinesis_to_s3",
                                    "write_kinesis_to_dynamodb": "fn_kinesis_to_dynamodb"}[module])  # fmt: skip


def suffixed_settings(base: config.Settings, tag: str) -> config.Settings:
    """The configured names with a suffix, so that each pipeline is its own."""
    n = base.names
    names = dataclasses.replace(
        n,
        stream=f"{n.stream}-{tag}",
        invoice_table=f"{n.invoice_table}-{tag}",
        customer_table=f"{n.customer_table}-{tag}",
        bucket_prefix=f"{n.bucket_prefix}-{tag}",
        api_name=f"{n.api_name}-{tag}",
        fn_kinesis_api=f"{n.fn_kinesis_api}-{tag}",
        fn_kinesis_to_s3=f"{n.fn_kinesis_to_s3}-{tag}",
        fn_kinesis_to_dynamodb=f"{n.fn_kinesis_to_dynamodb}-{tag}",
        firehose_stream=f"{n.firehose_stream}-{tag}",
        redshift_namespace=f"{n.redshift_namespace}-{tag}",
        redshift_workgroup=f"{n.redshift_workgroup}-{tag}",
        roles={key: f"{role}-{tag}" for key, role in n.roles.items()},
    )
    return dataclasses.replace(base, names=names)


@contextmanager
def workbook_settings(s: config.Settings) -> Iterator[None]:
    """Make every helper (they all read config.settings()) use ``s``; clear what they cached.
    The client discovers the API; a WORKBOOK_API_URL in the developer's .env must not redirect it."""
    saved = config.settings, client._setting
    config.settings = lambda: s  # type: ignore[assignment]
    client._setting = lambda name: None  # type: ignore[assignment]
    aws.session.cache_clear()
    aws.account_id.cache_clear()
    try:
        yield
    finally:
        config.settings, client._setting = saved  # type: ignore[assignment]
        aws.session.cache_clear()
        aws.account_id.cache_clear()


def build(s: config.Settings, *, shards: int = 2, firehose: bool = False) -> Pipeline:
    """What notebooks 02-05 do (and 06-07 with ``firehose``): storage, roles, functions, the API
    with a key, the two mappings; the warehouse table and the Firehose stream that loads it."""
    names = s.names
    bucket = aws.bucket()
    storage.ensure_bucket(bucket, s.region)  # as the notebooks: private, encrypted, tagged
    stream_arn = storage.ensure_stream(names.stream, shards)["StreamARN"]
    for table, key in ((names.invoice_table, "InvoiceNo"), (names.customer_table, "CustomerID")):
        storage.ensure_table(table, key)

    environment = {
        "STREAM_NAME": names.stream,
        "BUCKET": bucket,
        "RAW_PREFIX": names.raw_prefix,
        "INVOICE_TABLE": names.invoice_table,
        "CUSTOMER_TABLE": names.customer_table,
    }
    pipeline = Pipeline(s, url="", api_key="", bucket=bucket)
    arns = {}
    for module, variables in HANDLERS.items():
        name = pipeline.function(module)
        role_arn = iam.ensure_role(module, iam.policy_values(name))
        arns[module] = deploy.deploy_function(name, module, role_arn, {v: environment[v] for v in variables})
    for module in CONSUMERS:
        name = pipeline.function(module)
        queue_arn = stream.ensure_failure_queue(name)
        deploy.ensure_event_source_mapping(name, stream_arn, stream.mapping_settings(queue_arn))
    if firehose:
        pipeline.warehouse_table = _build_firehose_to_redshift(stream_arn)

    gateway = aws.client("apigateway")
    api_id = gateway.create_rest_api(name=names.api_name, tags=config.TAGS)["id"]
    root = next(r["id"] for r in gateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource_id = gateway.create_resource(restApiId=api_id, parentId=root, pathPart=names.api_resource)["id"]
    gateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY", authorizationType="NONE", apiKeyRequired=True)
    gateway.put_integration(
        restApiId=api_id, resourceId=resource_id, httpMethod="ANY", type="AWS_PROXY", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{s.region}:lambda:path/2015-03-31/functions/{arns['kinesis_api']}/invocations",
    )  # fmt: skip
    aws.client("lambda").add_permission(
        FunctionName=pipeline.function("kinesis_api"), StatementId=f"apigateway-{api_id}", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{s.region}:{aws.account_id()}:{api_id}/*/*/{names.api_resource}",
    )  # fmt: skip
    gateway.create_deployment(restApiId=api_id, stageName=names.api_stage)
    key = gateway.create_api_key(name=f"{names.api_name}-key", enabled=True, tags=config.TAGS)
    plan = gateway.create_usage_plan(
        name=f"{names.api_name}-plan", apiStages=[{"apiId": api_id, "stage": names.api_stage}],
        throttle={"rateLimit": 1000, "burstLimit": 200}, tags=config.TAGS,
    )  # fmt: skip
    gateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    pipeline.url = apigateway.invoke_url(api_id, names.api_stage, names.api_resource)
    pipeline.api_key = key["value"]
    return pipeline


def _build_firehose_to_redshift(stream_arn: str) -> str:
    """Notebooks 06-07 in short: a warehouse, the stream table, Firehose's user and role, the
    delivery stream (created before any row is sent: it reads from its creation time on)."""
    from helpers import firehose, warehouse

    names = config.settings().names
    wh = warehouse.ensure_warehouse()
    table = f"public.{names.redshift_stream_table}"
    warehouse.run_sql(f"create table if not exists {table} ({WAREHOUSE_COLUMNS}) diststyle key distkey (invoiceno)")
    user = names.redshift_firehose_user
    warehouse.run_sql(f"create user {user} password '{FIREHOSE_USER_PASSWORD}'")
    warehouse.run_sql(f"grant usage on schema public to {user}")
    warehouse.run_sql(f"grant insert on table {table} to {user}")
    role_arn = iam.ensure_role("firehose", iam.firehose_policy_values())
    destination = firehose.redshift_destination(
        role_arn=role_arn, workgroup=wh.workgroup, table=table, username=user, password=FIREHOSE_USER_PASSWORD,
        buffering_hints=BENCHMARK_BUFFERING,
    )  # fmt: skip
    firehose.ensure_delivery_stream(names.firehose_stream, source_stream_arn=stream_arn, role_arn=role_arn, destination=destination)
    return table


@contextmanager
def pipeline_for(local_cloud: config.Settings, tag: str, *, shards: int = 2, firehose: bool = False) -> Iterator[Pipeline]:
    s = suffixed_settings(local_cloud, tag)
    with workbook_settings(s):
        yield build(s, shards=shards, firehose=firehose)


# --- reading the sinks -----------------------------------------------------------------------------


def wait_until(condition: Callable[[], Any], timeout: float = CONSUMED_TIMEOUT_S, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition.__name__}")
        time.sleep(every)


def consumer_logs(pipeline: Pipeline, module: str, start_ms: int | None = None) -> list[dict]:
    """The structured log lines of one consumer's batches (logged at or after ``start_ms``)."""
    logs = aws.client("logs")
    args: dict[str, Any] = {"logGroupName": f"/aws/lambda/{pipeline.function(module)}", "filterPattern": f'"{CONSUMERS[module]}"'}
    if start_ms is not None:
        args["startTime"] = start_ms
    found = []
    for page in logs.get_paginator("filter_log_events").paginate(**args):
        found += [{**json.loads(e["message"]), "_id": e["eventId"], "_ms": e["timestamp"]} for e in page["events"] if e["message"].startswith("{")]
    return found


def records_consumed(pipeline: Pipeline, module: str) -> int:
    return sum(entry["records"] for entry in consumer_logs(pipeline, module))


def raw_lines(pipeline: Pipeline) -> tuple[list[str], list[dict]]:
    s3 = aws.client("s3")
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline.bucket, Prefix=pipeline.names.raw_prefix)
        for obj in page.get("Contents", [])
    ]
    events = [
        json.loads(text)
        for key in keys
        for text in s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read().decode().splitlines()
    ]
    return keys, events


def scan(table: str) -> list[dict]:
    table = aws.session().resource("dynamodb").Table(table)
    items, start = [], {}
    while True:
        page = table.scan(ConsistentRead=True, **start)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def report_durations(pipeline: Pipeline) -> dict[str, dict[str, float]]:
    """Per function, from its REPORT lines: invocations, seconds in all, peak memory (MB)."""
    logs = aws.client("logs")
    figures = {}
    for module in HANDLERS:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{pipeline.function(module)}", filterPattern='"REPORT RequestId"'
        )
        messages = [e["message"] for page in pages for e in page["events"]]
        durations = [float(m.group(1)) for text in messages if (m := re.search(r"\tDuration: ([\d.]+) ms", text))]
        memory = [float(m.group(1)) for text in messages if (m := re.search(r"\tMax Memory Used: (\d+) MB", text))]
        figures[module] = {"invocations": len(durations), "seconds": sum(durations) / 1000, "max_memory_mb": max(memory, default=0.0)}
    return figures


# --- the measurement ---------------------------------------------------------------------------------


@dataclass
class Run:
    frame: pd.DataFrame
    events: list[dict]
    summary: client.Summary
    seconds: float  # from the first POST until both consumers have every record

    def figures(self, pipeline: Pipeline, name: str) -> str:
        merged = consumer_logs(pipeline, "write_kinesis_to_dynamodb")
        writes = sum(entry["dynamodb_items_written"] for entry in merged)
        reads = sum(entry["dynamodb_reads"] for entry in merged)
        rows = len(self.events)
        return (
            f"\n{name}: {rows:,} rows; client -> API -> Kinesis {self.summary.rows_per_second:,.0f} rows/s; "
            f"through both consumers {rows / self.seconds:,.0f} rows/s ({self.seconds:.1f} s); "
            f"DynamoDB per record: {writes / rows:.3f} writes, {reads / rows:.3f} reads ({len(merged)} batches)"
        )


def stream_file(pipeline: Pipeline, path: Path, limit: int | None = None) -> Run:
    """Stream a file (its first ``limit`` rows) through the API with the client (URL and key
    discovered from API Gateway), then wait until both consumers have logged every record."""
    frame = client.select_rows(data.load_invoices(path), limit=limit)
    events = client.to_events(frame, path.name)
    already = {module: records_consumed(pipeline, module) for module in CONSUMERS}
    started = time.monotonic()
    summary = client.stream_rows(path, limit=limit, concurrency=4, progress=False)
    for module in CONSUMERS:
        wait_until(lambda: records_consumed(pipeline, module) >= already[module] + len(events))
    return Run(frame, events, summary, time.monotonic() - started)


@contextmanager
def benchmark_cloud(prefix: str = "bench-") -> Iterator[config.Settings]:
    """A fresh local cloud on a free port with its state in a temporary directory; boto3 in this
    process points at it (AWS_ENDPOINT_URL and dummy credentials) until it is stopped, and its
    directory deleted, on exit."""
    from helpers.localcloud import lifecycle

    s = dataclasses.replace(
        config.load(), target="local", local_port=lifecycle.free_port(), state_dir=Path(tempfile.mkdtemp(prefix=prefix))
    )
    saved = dict(os.environ)
    lifecycle.up(s)
    os.environ.update(config.client_environment(s))
    try:
        yield s
    finally:
        lifecycle.down(s)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(s.state_dir, ignore_errors=True)  # its warehouse, logs and function code


def local_cloud_pid(s: config.Settings) -> int | None:
    from helpers.localcloud import lifecycle

    return lifecycle.status(s).pid


def dynamodb_process_pid(server_pid: int | None) -> int | None:
    """The local cloud's DynamoDB process (``planes/dynamodb_process.py``), a child of its server."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == server_pid and b"dynamodb_process" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except (OSError, IndexError, ValueError):
            continue
    return None


def peak_rss_mb(pid: int | None) -> float:
    """Peak resident memory of a running process (VmHWM), in MB; 0 when it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def synthetic_csv(rows: int | None = None, seed: int = synthetic.DEFAULT_SEED) -> Path:
    """``rows`` synthetic invoice lines (None: the full 541,909) as CSV, written once and reused."""
    rows = rows or synthetic.FULL_SCALE_ROWS
    path = config.BUILD_DIR / "benchmarks" / f"online_retail_synthetic_{rows}_{seed}.csv"
    if not path.exists():
        scratch = path.with_suffix(".partial")
        synthetic.write_kaggle_csv(synthetic.generate(rows, seed), scratch)
        scratch.replace(path)
    return path


class _SinkWatch(threading.Thread):
    """Polls each sink's progress while the client sends; notes when each holds ``rows`` rows
    (``done_at``, epoch seconds). For S3 and DynamoDB that is the time their consumer logged its last
    batch, as ``per_row_design`` measures, not when a poll found it: a poll comes up to ``every_s``
    later. The warehouse has no such log line: its time is the poll's."""

    def __init__(self, pipeline: Pipeline, rows: int, start_ms: int, every_s: float = 1.0) -> None:
        super().__init__(name="sink-watch", daemon=True)
        self.pipeline, self.rows, self.start_ms, self.every_s = pipeline, rows, start_ms, every_s
        self.done_at: dict[str, float] = {}
        self.seen: dict[str, dict[str, dict]] = {module: {} for module in CONSUMERS}
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def sinks(self) -> list[str]:
        return ["s3", "dynamodb"] + (["warehouse"] if self.pipeline.warehouse_table else [])

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            while not self._halt.is_set() and len(self.done_at) < len(self.sinks()):
                self._poll()
                self._halt.wait(self.every_s)
        except BaseException as error:  # reported by measure_batched
            self.error = error

    def _poll(self) -> None:
        for module, sink in (("write_kinesis_to_s3", "s3"), ("write_kinesis_to_dynamodb", "dynamodb")):
            if sink in self.done_at:
                continue
            seen = self.seen[module]
            since = max((e["_ms"] for e in seen.values()), default=self.start_ms)
            for entry in consumer_logs(self.pipeline, module, start_ms=since):
                seen[entry["_id"]] = entry
            if sum(e["records"] - e.get("failed", 0) for e in seen.values()) >= self.rows:
                self.done_at[sink] = max(e["_ms"] for e in seen.values()) / 1000
        if self.pipeline.warehouse_table and "warehouse" not in self.done_at:
            from helpers import warehouse

            if int(warehouse.run_sql(f"select count(*) from {self.pipeline.warehouse_table}").iat[0, 0]) >= self.rows:
                self.done_at["warehouse"] = time.time()


def check_sinks(pipeline: Pipeline, frame: pd.DataFrame, source_name: str) -> dict[str, int]:
    """Every row in every sink, by EventId; raises AssertionError naming the sink that differs."""
    expected_ids = {client.event_id(source_name, int(position)) for position in frame.index}
    _, raw = raw_lines(pipeline)
    raw_ids = {e["EventId"] for e in raw}
    assert raw_ids == expected_ids, f"S3 raw layer: {len(expected_ids - raw_ids)} rows missing, {len(raw_ids - expected_ids)} unexpected"
    invoices = scan(pipeline.names.invoice_table)
    stored = {event_id for item in invoices for group in item.values() if isinstance(group, dict) for event_id in group}
    assert stored == expected_ids, f"DynamoDB invoice: {len(expected_ids - stored)} lines missing, {len(stored - expected_ids)} unexpected"
    assert len(invoices) == frame["InvoiceNo"].nunique(), "DynamoDB invoice: not one item per invoice"
    customers = scan(pipeline.names.customer_table)
    assert len(customers) == frame["CustomerID"].dropna().nunique(), "DynamoDB customer: not one item per customer"
    checked = {"s3_lines": len(raw), "invoices": len(invoices), "customers": len(customers)}
    if pipeline.warehouse_table:
        from helpers import warehouse

        loaded = warehouse.run_sql(f"select count(*) as n, count(distinct eventid) as d from {pipeline.warehouse_table}")
        rows, distinct = int(loaded.iat[0, 0]), int(loaded.iat[0, 1])
        assert distinct == len(expected_ids), f"warehouse: {distinct:,} distinct events of {len(expected_ids):,}"
        checked["warehouse_rows"] = rows
    return checked


def measure_batched(
    rows: int | None,
    settings: config.Settings,
    *,
    firehose: bool = True,
    csv_path: Path | None = None,
    shards: int | None = None,
    concurrency: int = 4,
    tag: str | None = None,
) -> dict[str, float]:
    """Build the batched pipeline in the local cloud ``settings`` points at (``benchmark_cloud()``),
    stream ``rows`` rows of ``csv_path`` (default: synthetic; None: every row), wait until S3,
    DynamoDB and (``firehose``) the warehouse hold every row, check them row by row, and return:

    rows; client_seconds and client_rows_per_s (client -> API -> Kinesis, as the client sees it);
    s3_/dynamodb_/warehouse_seconds and _rows_per_s (from the first POST until that sink holds every
    row); end_to_end_seconds and end_to_end_rows_per_s (first POST until the last sink is complete);
    shards and paced_rows_per_s (the client's pace: under the Kinesis write limit of the shards);
    dynamodb_writes/reads/requests_per_record (writes: items written, as DynamoDB bills them;
    reads: items read; requests: write requests, plus one BatchGetItem per 100 keys read);
    peak_rss_mb_benchmark (this process: the client, pandas), peak_rss_mb_local_cloud (the server
    process), peak_rss_mb_dynamodb_process (its DynamoDB process), peak_rss_mb_lambda (largest "Max
    Memory Used" of the three functions' REPORT lines); lambda_seconds_<function> (summed
    invocation durations); check_seconds.
    """
    path = csv_path or synthetic_csv(rows)
    frame = client.select_rows(data.load_invoices(path), limit=rows)
    count = len(frame)
    # Enough shards for the pace at which this machine can send (measured: at most about 4,000
    # rows/s), within Kinesis's per-shard write limit; at least 2, as the notebooks create.
    shards = shards or max(2, min(4, math.ceil(count / 60 / SHARD_WRITE_RECORDS_PER_S)))
    pace = shards * SHARD_WRITE_RECORDS_PER_S * PACE_SHARE
    with pipeline_for(settings, tag or os.urandom(3).hex(), shards=shards, firehose=firehose) as pipeline:
        watch = _SinkWatch(pipeline, count, start_ms=int(time.time() * 1000) - 1000)
        watch.start()
        summary = client.stream_rows(
            path, api_url=pipeline.url, api_key=pipeline.api_key, limit=rows, rate=pace, concurrency=concurrency, progress=False
        )
        first_post = time.time() - summary.seconds  # epoch seconds, as the watch's
        if summary.accepted != count or summary.failed or summary.rejected:
            watch.stop()
            raise RuntimeError(f"the API did not accept every row: {summary}")
        watch.join(CONSUMED_TIMEOUT_S + count / 100)  # generous: a busy machine is slow, not wrong
        watch.stop()
        if watch.error is not None:
            raise watch.error
        missing = [sink for sink in watch.sinks() if sink not in watch.done_at]
        if missing:
            raise TimeoutError(f"not every row reached {', '.join(missing)}")
        checked_at = time.monotonic()
        check_sinks(pipeline, frame, path.name)
        check_seconds = time.monotonic() - checked_at
        merged = consumer_logs(pipeline, "write_kinesis_to_dynamodb")
        writes = sum(e["dynamodb_items_written"] for e in merged)
        write_requests = sum(e["dynamodb_writes"] for e in merged)
        reads = sum(e["dynamodb_reads"] for e in merged)
        batch_gets = sum(math.ceil(e["dynamodb_reads"] / 100) for e in merged)
        durations = report_durations(pipeline)
    figures: dict[str, float] = {
        "rows": float(count),
        "shards": float(shards),
        "paced_rows_per_s": pace,
        "client_seconds": summary.seconds,
        "client_rows_per_s": summary.rows_per_second,
    }
    for sink in watch.sinks():
        figures[f"{sink}_seconds"] = watch.done_at[sink] - first_post
        figures[f"{sink}_rows_per_s"] = count / figures[f"{sink}_seconds"]
    figures["end_to_end_seconds"] = max(watch.done_at.values()) - first_post
    figures["end_to_end_rows_per_s"] = count / figures["end_to_end_seconds"]
    figures["dynamodb_writes_per_record"] = writes / count
    figures["dynamodb_reads_per_record"] = reads / count
    figures["dynamodb_requests_per_record"] = (write_requests + batch_gets) / count
    figures["peak_rss_mb_benchmark"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server_pid = local_cloud_pid(settings)
    figures["peak_rss_mb_local_cloud"] = peak_rss_mb(server_pid)
    figures["peak_rss_mb_dynamodb_process"] = peak_rss_mb(dynamodb_process_pid(server_pid))
    figures["peak_rss_mb_lambda"] = max(d["max_memory_mb"] for d in durations.values())
    for module, d in durations.items():
        figures[f"lambda_seconds_{module}"] = d["seconds"]
    figures["check_seconds"] = check_seconds
    return figures
