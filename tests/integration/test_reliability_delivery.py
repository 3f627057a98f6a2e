"""Faults downstream of the API: a consumer killed mid-batch, the whole stream delivered again, a poison record.

One stream (``helpers.benchmarking``'s pipeline: API, Kinesis, the S3 and DynamoDB consumers) feeds
three sets of sinks:

- the **reference**: the pipeline's own consumers, raw prefix and tables. Once the rows are streamed,
  what they hold is a single delivery;
- the **faulty** copies of both consumers (their own raw prefix and tables), deployed with
  ``crashing_consumer``, a test-only wrapper around the unchanged handler whose process is killed
  once in the middle of a batch, after part of it was written. After the first delivery their
  mappings are deleted and created again from TRIM_HORIZON: Lambda delivers the whole stream again;
- the **warehouse**: notebook 07's Firehose stream from Kinesis into Redshift, COPY by COPY.

Then every row is streamed through the API a second time (a producer that re-sends everything:
new records, new sequence numbers). The faulty sinks, the reference and the warehouse must then
hold what the reference held after the single delivery. "Hold" is compared on content:

- DynamoDB: every item, every attribute, except ``Version``, the optimistic-locking counter, which
  counts writes, and so depends on how the stream was cut into batches (it differs between two
  clean deliveries too). The reference, which the second streaming does not write to, is compared
  with ``Version``.
- S3 raw layer: every line (event) by EventId, byte for byte. The raw layer is at-least-once at the
  object level, by design (``write_kinesis_to_s3``'s docstring): a batch delivered again with the
  same boundaries overwrites its object, but one cut differently (the halves of a bisected retry
  after the crash, a new mapping, records put again) is written as new objects, holding events
  already stored. Readers deduplicate by EventId (the Glue job and the bulk import do).
  ``test_the_raw_layer_holds_each_event_once`` states the stricter property, and fails: strict xfail.
- Redshift: Firehose delivers at least once ("Amazon Data Firehose data delivery": duplicates can
  occur when a delivery is retried; https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html)
  and Redshift enforces no key, so a record put again is loaded again. Notebook 07 makes the
  warehouse idempotent with a view that keeps one row per ``eventid``; that view's content (all
  columns but ``loaded_at``) must not change, while the table itself holds every copy.

Last, a poison record (not JSON) between valid events of one shard: each Lambda consumer sends it to
its on-failure queue and stores the rest. Firehose does not: one bad record fails the whole COPY of
its buffer, see ``test_the_rest_of_the_poisoned_shard_reaches_the_warehouse`` (strict xfail).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import aws, client, data, deploy, iam, stream, warehouse
from helpers.benchmarking import Pipeline, pipeline_for, scan, wait_until
from helpers.sinks import consumer_batches

pytestmark = pytest.mark.integration

ROWS = 1000  # two batches of 500 per shard at most: enough for a crash mid-batch and several invoices
TIMEOUT_S = 180
CONSUMERS = {"write_kinesis_to_s3": ("batch written", 1), "write_kinesis_to_dynamodb": ("batch merged", 3)}  # message, crash after N writes
FAULTY = "faulty"
# Notebook 07's deduplicated view (section 7).
DEDUPLICATED_VIEW = """create or replace view {view} as
    select eventid, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country, loaded_at
    from (select *, row_number() over (partition by eventid order by loaded_at) as copy_number from {table})
    where copy_number = 1"""
VIEW_COLUMNS = "eventid, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country"


@dataclass
class Sinks:
    """What one set of consumers wrote: raw prefix, tables, function names."""

    raw_prefix: str
    invoice_table: str
    customer_table: str
    functions: dict[str, str]  # consumer module -> function name


@dataclass
class Snapshot:
    raw_lines: list[str]  # every line of every object under the raw prefix
    invoices: dict[str, dict]
    customers: dict[str, dict]

    def events_by_id(self) -> dict[str, str]:
        by_id: dict[str, str] = {}
        for line in self.raw_lines:
            event_id = json.loads(line)["EventId"]
            assert by_id.setdefault(event_id, line) == line, f"two different lines for {event_id}"
        return by_id


def snapshot(pipeline: Pipeline, sinks: Sinks) -> Snapshot:
    s3 = aws.client("s3")
    keys = sorted(
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline.bucket, Prefix=sinks.raw_prefix)
        for obj in page.get("Contents", [])
    )
    lines = [line for key in keys for line in s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read().decode().splitlines()]
    return Snapshot(
        lines,
        {item["InvoiceNo"]: item for item in scan(sinks.invoice_table)},
        {item["CustomerID"]: item for item in scan(sinks.customer_table)},
    )  # fmt: skip


def without_version(items: dict[str, dict]) -> dict[str, dict]:
    return {key: {name: value for name, value in item.items() if name != "Version"} for key, item in items.items()}


def consumed(function_name: str, message: str) -> int:
    """Records of the batches the function finished (a killed invocation logs nothing)."""
    batches = consumer_batches(function_name, message)
    return 0 if batches.empty else int(batches["records"].sum())


def wait_consumed(sinks: Sinks, records: int) -> None:
    for module, (message, _) in CONSUMERS.items():
        name = sinks.functions[module]
        wait_until(lambda: consumed(name, message) >= records, timeout=TIMEOUT_S, every=0.5)


# --- building the faulty consumers and the warehouse ----------------------------------------------


def deploy_faulty_consumers(pipeline: Pipeline, stream_arn: str, code_dir: Path) -> Sinks:
    names = pipeline.names
    sinks = Sinks(
        f"{FAULTY}/{names.raw_prefix}", f"{names.invoice_table}-{FAULTY}", f"{names.customer_table}-{FAULTY}",
        {module: f"{pipeline.function(module)}-{FAULTY}" for module in CONSUMERS},
    )  # fmt: skip
    dynamodb = aws.client("dynamodb")
    for table, key in ((sinks.invoice_table, "InvoiceNo"), (sinks.customer_table, "CustomerID")):
        dynamodb.create_table(
            TableName=table, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
        dynamodb.get_waiter("table_exists").wait(TableName=table)
    shutil.copy(Path(__file__).with_name("crashing_consumer.py"), code_dir)
    for module, (_, crash_after) in CONSUMERS.items():
        shutil.copy(deploy.LAMBDA_CODE_DIR / f"{module}.py", code_dir)
        name = sinks.functions[module]
        environment = {
            "BUCKET": pipeline.bucket, "RAW_PREFIX": sinks.raw_prefix,
            "INVOICE_TABLE": sinks.invoice_table, "CUSTOMER_TABLE": sinks.customer_table,
            "WRAPPED_MODULE": module, "CRASH_AFTER_WRITES": str(crash_after),
            "CRASH_FLAG_BUCKET": pipeline.bucket, "CRASH_FLAG_KEY": f"crash-flags/{name}",
        }  # fmt: skip
        # The reference consumer's role: the local cloud does not enforce IAM (on AWS this role
        # would need the faulty tables and prefix, and the flag object).
        role_arn = iam.ensure_role(module, iam.policy_values(pipeline.function(module)))
        deploy.deploy_function(name, "crashing_consumer", role_arn, environment, imported_modules=(module,), code_dir=code_dir)
        deploy.ensure_event_source_mapping(name, stream_arn, stream.mapping_settings(stream.ensure_failure_queue(name)))
    return sinks


@dataclass
class Warehouse:
    target: warehouse.Warehouse
    table: str  # loaded by Firehose (the pipeline's builder makes it as notebooks 06-07 do)
    view: str  # notebook 07's deduplicated view

    def sql(self, statement: str) -> list[tuple]:
        return list(warehouse.run_sql(statement, warehouse=self.target).itertuples(index=False, name=None))

    def rows(self) -> int:
        return int(self.sql(f"select count(*) from {self.table}")[0][0])

    def deduplicated(self) -> list[tuple]:
        return self.sql(f"select {VIEW_COLUMNS} from {self.view} order by eventid")


def deduplicated_view(table: str) -> Warehouse:
    target = warehouse.find_warehouse()
    view = f"{table}_deduplicated"
    warehouse.run_sql(DEDUPLICATED_VIEW.format(view=view, table=table), warehouse=target)
    return Warehouse(target, table, view)


# --- the scenario -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    pipeline: Pipeline
    reference: Sinks
    faulty: Sinks
    warehouse: Warehouse
    single: Snapshot  # the reference after one delivery
    single_rows: list[tuple]  # the deduplicated view after one delivery
    faulty_first: Snapshot  # the faulty sinks after the first delivery, crash included


def stream_sample(rows: int) -> client.Summary:
    summary = client.stream_rows(data.sample_path(), limit=rows, concurrency=4, progress=False)
    assert (summary.accepted, summary.rejected, summary.failed) == (rows, [], [])
    return summary


def redeliver_from_trim_horizon(sinks: Sinks, stream_arn: str) -> None:
    """Delete each faulty consumer's mapping and create it again: it starts over at TRIM_HORIZON.
    (Lambda refuses a second mapping of the same stream and function.)"""
    lam = aws.client("lambda")
    for name in sinks.functions.values():
        [mapping] = lam.list_event_source_mappings(EventSourceArn=stream_arn, FunctionName=name)["EventSourceMappings"]
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
        wait_until(lambda: not lam.list_event_source_mappings(EventSourceArn=stream_arn, FunctionName=name)["EventSourceMappings"], every=0.2)
        deploy.ensure_event_source_mapping(name, stream_arn, stream.mapping_settings(stream.ensure_failure_queue(name)))


@pytest.fixture(scope="module")
def scenario(local_cloud, tmp_path_factory) -> Iterator[Scenario]:
    with pipeline_for(local_cloud, uuid.uuid4().hex[:6], firehose=True) as pipeline:
        n = pipeline.names
        stream_arn = aws.client("kinesis").describe_stream_summary(StreamName=n.stream)["StreamDescriptionSummary"]["StreamARN"]
        wh = deduplicated_view(pipeline.warehouse_table)
        reference = Sinks(n.raw_prefix, n.invoice_table, n.customer_table, {m: pipeline.function(m) for m in CONSUMERS})
        faulty = deploy_faulty_consumers(pipeline, stream_arn, tmp_path_factory.mktemp("crashing_consumer"))

        stream_sample(ROWS)  # the single delivery (the faulty consumers crash once each)
        wait_consumed(reference, ROWS)
        wait_consumed(faulty, ROWS)
        wait_until(lambda: wh.rows() >= ROWS, timeout=TIMEOUT_S)
        single, single_rows, faulty_first = snapshot(pipeline, reference), wh.deduplicated(), snapshot(pipeline, faulty)

        redeliver_from_trim_horizon(faulty, stream_arn)
        wait_consumed(faulty, 2 * ROWS)
        stream_sample(ROWS)  # every row again: new records
        wait_consumed(reference, 2 * ROWS)
        wait_consumed(faulty, 3 * ROWS)
        wait_until(lambda: wh.rows() >= 2 * ROWS, timeout=TIMEOUT_S)
        yield Scenario(pipeline, reference, faulty, wh, single, single_rows, faulty_first)


# --- the tests --------------------------------------------------------------------------------------


def test_each_faulty_consumer_was_killed_mid_batch_once(scenario):
    s3 = aws.client("s3")
    sqs = aws.client("sqs")
    for name in scenario.faulty.functions.values():
        s3.head_object(Bucket=scenario.pipeline.bucket, Key=f"crash-flags/{name}")  # the crash happened
        killed = aws.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern='"Runtime.ExitError"')["events"]
        assert killed, f"{name}: no invocation ended with Runtime.ExitError"
        url = sqs.get_queue_url(QueueName=stream.failure_queue_name(name))["QueueUrl"]
        assert "Messages" not in sqs.receive_message(QueueUrl=url)  # and the retries stored everything


def test_dynamodb_after_a_crash_and_two_redeliveries_is_the_single_delivery(scenario):
    single = scenario.single
    assert len(single.invoices) > 10 and len(single.customers) > 10
    final = snapshot(scenario.pipeline, scenario.faulty)
    assert without_version(scenario.faulty_first.invoices) == without_version(single.invoices)  # the crash changed nothing
    assert without_version(scenario.faulty_first.customers) == without_version(single.customers)
    assert final.invoices == scenario.faulty_first.invoices  # the redeliveries wrote nothing, Version included
    assert final.customers == scenario.faulty_first.customers
    again = snapshot(scenario.pipeline, scenario.reference)
    assert (again.invoices, again.customers) == (single.invoices, single.customers)  # re-sent rows: nothing written


def test_the_raw_layer_after_a_crash_and_two_redeliveries_holds_the_same_events(scenario):
    expected = scenario.single.events_by_id()
    assert len(expected) == ROWS and len(scenario.single.raw_lines) == ROWS
    for sinks in (scenario.faulty, scenario.reference):
        assert snapshot(scenario.pipeline, sinks).events_by_id() == expected  # same events, byte for byte


@pytest.mark.xfail(strict=True, reason="the raw layer is at-least-once per object: a batch cut differently is written again")
def test_the_raw_layer_holds_each_event_once(scenario):
    final = snapshot(scenario.pipeline, scenario.faulty)
    assert Counter(final.raw_lines) == Counter(scenario.single.raw_lines)


def test_the_warehouse_after_a_redelivery_is_the_single_delivery_through_the_deduplicated_view(scenario):
    wh = scenario.warehouse
    assert len(scenario.single_rows) == ROWS
    assert wh.deduplicated() == scenario.single_rows
    assert wh.rows() == 2 * ROWS  # the table keeps both copies of every re-sent row: Firehose is at-least-once


def test_a_poison_record_ends_in_the_failure_queues_and_the_rest_of_its_shard_gets_through(scenario):
    """Last: the poison record stays in the stream. Between two valid events of one invoice (same
    partition key, so the same shard), a record that is not JSON; then, once it was given up on, a
    third event. Every consumer sends the poison record's position to its on-failure queue
    ("Retaining discarded batch records for a Kinesis Data Streams event source",
    https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html) and stores the
    three events. Firehose, the third consumer, is left out: see the module docstring."""
    pipeline = scenario.pipeline
    kinesis, sqs = aws.client("kinesis"), aws.client("sqs")
    first = client.to_events(client.select_rows(data.load_invoices(data.sample_path()), limit=1), "poison.csv")[0]
    neighbours = [{**first, "InvoiceNo": "598001", "EventId": f"poison.csv:{i}"} for i in (1, 2, 3)]
    entry = lambda event: {"Data": json.dumps(event).encode(), "PartitionKey": "598001"}  # noqa: E731
    poison_entry = {"Data": b"not json", "PartitionKey": "598001"}
    put = kinesis.put_records(StreamName=pipeline.names.stream, Records=[entry(neighbours[0]), poison_entry, entry(neighbours[1])])
    poison = put["Records"][1]
    consumers = [*scenario.reference.functions.values(), *scenario.faulty.functions.values()]
    for name in consumers:
        url = sqs.get_queue_url(QueueName=stream.failure_queue_name(name))["QueueUrl"]
        message = wait_until(lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"), timeout=TIMEOUT_S)[0]
        info = json.loads(message["Body"])["KinesisBatchInfo"]
        # The range starts at the poison record; it may go on to records the handler stored (its batch).
        assert (info["shardId"], info["startSequenceNumber"]) == (poison["ShardId"], poison["SequenceNumber"])
    kinesis.put_records(StreamName=pipeline.names.stream, Records=[entry(neighbours[2])])
    expected = {e["EventId"] for e in neighbours}
    for sinks in (scenario.reference, scenario.faulty):
        def stored() -> bool:
            table = aws.session().resource("dynamodb").Table(sinks.invoice_table)
            item = table.get_item(Key={"InvoiceNo": "598001"}, ConsistentRead=True).get("Item", {})
            lines = {event_id for group in item.values() if isinstance(group, dict) for event_id in group}
            return lines == expected and expected <= set(snapshot(pipeline, sinks).events_by_id())
        wait_until(stored, timeout=TIMEOUT_S, every=0.5)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "one record that is not JSON fails Firehose's whole COPY (Redshift's MAXERROR is 0 by default): the "
    "buffer's valid rows wait while Firehose retries for RetryOptions (600 s in the workbook), then go to "
    "the errors manifest; COPY option MAXERROR, or a Firehose transformation that fails the record, would "
    "load them"))
def test_the_rest_of_the_poisoned_shard_reaches_the_warehouse(scenario):
    """After the poison test: Firehose, the third consumer, read the same three events and the poison."""
    wh = scenario.warehouse
    loaded = lambda: {row[0] for row in wh.sql(f"select eventid from {wh.table} where invoiceno = '598001'")}  # noqa: E731
    failed_copy = lambda: wh.sql("select count(*) from sys_query_history where query_type = 'COPY' and status = 'failed'")[0][0]  # noqa: E731
    wait_until(lambda: failed_copy() or len(loaded()) == 3, timeout=TIMEOUT_S, every=0.5)
    assert loaded() == {"poison.csv:1", "poison.csv:2", "poison.csv:3"}
