"""Lambda ``write_kinesis_to_dynamodb``: fold each batch of invoice lines into two tables.

``invoice`` (key InvoiceNo): one item per invoice. As in the course, one attribute per StockCode;
each holds a map EventId -> line, so an invoice that lists a StockCode twice, or repeats an exact
line, keeps every line (they are different source rows, so different EventIds):

    {"InvoiceNo": "536365", "InvoiceDate": "2010-12-01 08:26:00", "CustomerID": "17850",
     "Country": "United Kingdom", "Version": 2,
     "85123A": {"online_retail.csv:1": {"Description": "...", "Quantity": 6, "UnitPrice": 2.55,
                                        "InvoiceDate": "2010-12-01 08:26:00"}}, ...}

CustomerID and Country belong to the invoice; a line that disagrees with its invoice keeps its own
value in the line, so nothing is lost. InvoiceDate is kept per line (an invoice can span minutes)
and the item's InvoiceDate is the earliest.

``customer`` (key CustomerID): one attribute per InvoiceNo (the course's shape) holding that
invoice's summary: InvoiceDate, Country, LineCount, Quantity, Total, Cancelled. Lines without a
CustomerID land in ``invoice`` only.

Per batch: one consistent BatchGetItem for the invoices, merge in memory, then at most one write
per customer (UpdateItem of only that batch's invoice attributes) and one per invoice: new
invoices are put 25 to a BatchWriteItem request, a stored one gets an UpdateItem of its new lines
conditioned on the Version read. It is safe because PartitionKey = InvoiceNo keeps an invoice on
one shard, processed in order by one invocation at a time, so nobody else creates an invoice
between the read and the put (a stream resharded while it is consumed could break that for a
moment; the notebooks never reshard). A customer's invoices span shards, hence UpdateItem of
single attributes. A redelivered batch changes nothing and writes nothing: merging a line already
stored is a no-op. The customers are written before the invoices, so a stored invoice always has
its summary. Within each of those two steps the requests run concurrently (``WRITE_THREADS``):
each touches other items, so their order does not matter, and a batch waits for its slowest
request instead of the sum of them all.

Failed records are reported in ``batchItemFailures``; Lambda resumes from the lowest sequence
number reported and sends what still fails after the retries to the on-failure destination. An
invoice that would outgrow DynamoDB's 400 KB item limit fails that way (the largest invoice of
December 2010, 675 lines, is far below it).

Boto3 and the standard library only: this file is deployed to AWS Lambda (Python 3.12) as it is.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

INVOICE_TABLE = os.environ.get("INVOICE_TABLE", "invoice")
CUSTOMER_TABLE = os.environ.get("CUSTOMER_TABLE", "customer")

VERSION = "Version"
INVOICE_ATTRIBUTES = {"InvoiceNo", "InvoiceDate", "CustomerID", "Country", VERSION}  # not StockCodes
LINE_FIELDS = ("Description", "Quantity", "UnitPrice", "InvoiceDate")
BATCH_GET_LIMIT = 100  # keys per BatchGetItem call (DynamoDB API Reference, BatchGetItem)
BATCH_GET_ATTEMPTS = 5
BATCH_WRITE_LIMIT = 25  # put requests per BatchWriteItem call (DynamoDB API Reference, BatchWriteItem)
BATCH_WRITE_ATTEMPTS = 5
MAX_EXPRESSION_BYTES = 4000  # an expression string holds at most 4 KB
MAX_ASSIGNMENTS = 100  # well under the 300 operators an expression may hold
# Writes in flight at once; under botocore's default connection pool of 10 (max_pool_connections).
WRITE_THREADS = int(os.environ.get("WRITE_THREADS", "8"))


class PoisonRecord(ValueError):
    """A record that is not an invoice line this function can store."""


@dataclass
class Line:
    sequence_number: str
    event: dict[str, Any]


@dataclass
class BatchPlan:
    """What one batch does to the tables."""

    lines_by_invoice: dict[str, list[Line]] = field(default_factory=dict)
    poison: list[tuple[str, str]] = field(default_factory=list)  # (sequence number, reason)


@dataclass
class Counters:
    reads: int = 0  # items read (BatchGetItem keys)
    writes: int = 0  # write requests: BatchWriteItem, PutItem and UpdateItem calls
    items_written: int = 0  # what DynamoDB bills write units for: each item put or updated


# ---------------------------------------------------------------------------------------------
# Pure functions


def decode(record: dict[str, Any]) -> dict[str, Any]:
    """The invoice line in a Kinesis record; raises PoisonRecord. Numbers stay exact (Decimal)."""
    try:
        event = json.loads(base64.b64decode(record["kinesis"]["data"], validate=True), parse_float=Decimal)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise PoisonRecord(f"not base64-encoded UTF-8 JSON: {error}") from None
    if not isinstance(event, dict):
        raise PoisonRecord(f"a JSON {type(event).__name__}, not an object")
    problems = [
        name
        for name, ok in (
            ("EventId", isinstance(event.get("EventId"), str) and event["EventId"] != ""),
            ("InvoiceNo", isinstance(event.get("InvoiceNo"), str) and event["InvoiceNo"] != ""),
            ("StockCode", isinstance(event.get("StockCode"), str) and event.get("StockCode") not in INVOICE_ATTRIBUTES | {""}),
            ("Quantity", isinstance(event.get("Quantity"), int) and not isinstance(event.get("Quantity"), bool)),
            ("UnitPrice", isinstance(event.get("UnitPrice"), (int, Decimal)) and not isinstance(event.get("UnitPrice"), bool)),
            ("InvoiceDate", isinstance(event.get("InvoiceDate"), str)),
            ("CustomerID", event.get("CustomerID") is None or isinstance(event["CustomerID"], str)),
            ("Country", event.get("Country") is None or isinstance(event["Country"], str)),
        )
        if not ok
    ]
    if problems:
        raise PoisonRecord(f"missing or invalid fields: {', '.join(problems)}")
    if event.get("CustomerID") == "":
        event["CustomerID"] = None
    return event


def plan_batch(records: list[dict[str, Any]]) -> BatchPlan:
    """Decode a batch and group its lines by invoice, in stream order."""
    plan = BatchPlan()
    for record in records:
        number = record["kinesis"]["sequenceNumber"]
        try:
            event = decode(record)
        except PoisonRecord as error:
            plan.poison.append((number, str(error)))
            continue
        plan.lines_by_invoice.setdefault(event["InvoiceNo"], []).append(Line(number, event))
    return plan


def stock_code_groups(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The line attributes of an invoice item: StockCode -> {EventId: line}."""
    return {name: value for name, value in item.items() if name not in INVOICE_ATTRIBUTES and isinstance(value, dict)}


def merge_invoice(existing: dict[str, Any] | None, lines: list[Line]) -> dict[str, Any] | None:
    """The invoice item with the lines folded in, or None when they were all stored already.

    Lines are keyed by EventId: merging is idempotent, and a line repeated in the source is kept
    (another row, another EventId). CustomerID and Country come from the first line stored.
    """
    item = copy.deepcopy(existing) if existing else None
    changed = False
    for line in lines:
        event = line.event
        if item is None:
            item = {"InvoiceNo": event["InvoiceNo"], "Country": event.get("Country"), VERSION: 0}
            if event.get("CustomerID") is not None:
                item["CustomerID"] = event["CustomerID"]
        stored = {name: event.get(name) for name in LINE_FIELDS}
        for name in ("CustomerID", "Country"):  # kept in the line only when it disagrees
            if event.get(name) != item.get(name):
                stored[name] = event.get(name)
        group = item.setdefault(event["StockCode"], {})
        if group.get(event["EventId"]) != stored:
            group[event["EventId"]] = stored
            changed = True
    if not changed or item is None:
        return None
    item["InvoiceDate"] = min(
        line["InvoiceDate"] for group in stock_code_groups(item).values() for line in group.values()
    )
    item[VERSION] = int(item[VERSION]) + 1
    return item


def invoice_summary(item: dict[str, Any]) -> dict[str, Any]:
    """What the customer item keeps of one invoice."""
    lines = [line for group in stock_code_groups(item).values() for line in group.values()]
    return {
        "InvoiceDate": item["InvoiceDate"],
        "Country": item.get("Country"),
        "LineCount": len(lines),
        "Quantity": sum(int(line["Quantity"]) for line in lines),
        "Total": sum((Decimal(line["Quantity"]) * Decimal(line["UnitPrice"]) for line in lines), Decimal(0)),
        "Cancelled": item["InvoiceNo"].startswith("C"),
    }


def customer_update(invoice_summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """UpdateItem arguments that set only the given invoice attributes of a customer item."""
    names, values, assignments = {}, {}, []
    for index, (invoice_no, summary) in enumerate(sorted(invoice_summaries.items())):
        names[f"#i{index}"] = invoice_no
        values[f":s{index}"] = summary
        assignments.append(f"#i{index} = :s{index}")
    return {
        "UpdateExpression": "SET " + ", ".join(assignments),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def invoice_write(existing: dict[str, Any] | None, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """("put_item" | "update_item", arguments) that store ``item``, conditioned on the version read.

    A new invoice is put whole (on condition that it still does not exist). A stored one gets an
    UpdateItem of only what changed: new StockCode attributes, new lines in existing ones, the
    header and the version. That sends a few lines instead of the whole item (DynamoDB still bills
    the write by the item's size). When the changes do not fit one expression (4 KB, 300 operators:
    "Constraints in Amazon DynamoDB", expression parameters), the item is put whole instead.
    """
    if existing is None:
        return "put_item", {"Item": item, "ConditionExpression": "attribute_not_exists(InvoiceNo)"}
    names = {"#v": VERSION}
    values: dict[str, Any] = {":v": existing[VERSION], ":next": item[VERSION]}
    assignments = ["#v = :next"]

    def assign(path: list[str], value: Any) -> None:
        aliases = []
        for part in path:
            alias = f"#n{len(names)}"
            names[alias] = part
            aliases.append(alias)
        placeholder = f":x{len(values)}"
        values[placeholder] = value
        assignments.append(f"{'.'.join(aliases)} = {placeholder}")

    for name in ("InvoiceDate", "CustomerID", "Country"):
        if name in item and item[name] != existing.get(name):
            assign([name], item[name])
    for stock_code, lines in stock_code_groups(item).items():
        stored = existing.get(stock_code)
        if not isinstance(stored, dict):
            assign([stock_code], lines)
            continue
        for event_id, line in lines.items():
            if stored.get(event_id) != line:
                assign([stock_code, event_id], line)
    expression = "SET " + ", ".join(assignments)
    if len(expression) > MAX_EXPRESSION_BYTES or len(assignments) > MAX_ASSIGNMENTS:
        return "put_item", {
            "Item": item,
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": VERSION},
            "ExpressionAttributeValues": {":v": existing[VERSION]},
        }
    return "update_item", {
        "Key": {"InvoiceNo": item["InvoiceNo"]},
        "UpdateExpression": expression,
        "ConditionExpression": "#v = :v",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def batch_item_failures(sequence_numbers: list[str]) -> dict[str, Any]:
    """The partial batch response: Lambda resumes from the lowest sequence number reported
    (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html)."""
    ordered = sorted(set(sequence_numbers), key=int)
    return {"batchItemFailures": [{"itemIdentifier": number} for number in ordered]}


# ---------------------------------------------------------------------------------------------
# DynamoDB


def back_off(attempt: int) -> None:
    """Wait before retrying what DynamoDB left unprocessed: exponential backoff with full jitter."""
    time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))


def read_invoices(invoice_numbers: list[str], counters: Counters) -> dict[str, dict[str, Any]]:
    """The stored invoices, read consistently so that the previous batch's write is seen."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(invoice_numbers), BATCH_GET_LIMIT):
        keys = [{"InvoiceNo": number} for number in invoice_numbers[start : start + BATCH_GET_LIMIT]]
        counters.reads += len(keys)
        request = {INVOICE_TABLE: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = dynamodb().batch_get_item(RequestItems=request)
            for item in response["Responses"].get(INVOICE_TABLE, []):
                found[item["InvoiceNo"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            back_off(attempt)
        if request:
            raise RuntimeError(f"BatchGetItem left keys unprocessed after {BATCH_GET_ATTEMPTS} attempts")
    return found


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    counters = Counters()
    plan = plan_batch(records)
    failed = [number for number, _ in plan.poison]
    for number, reason in plan.poison:
        log("ERROR", "poison record", sequence_number=number, reason=reason)

    existing = read_invoices(sorted(plan.lines_by_invoice), counters)
    merged: dict[str, dict[str, Any]] = {}
    for invoice_no, lines in plan.lines_by_invoice.items():
        item = merge_invoice(existing.get(invoice_no), lines)
        if item is not None:
            merged[invoice_no] = item

    by_customer: dict[str, dict[str, dict[str, Any]]] = {}
    for invoice_no, item in merged.items():
        if item.get("CustomerID") is not None:
            by_customer.setdefault(item["CustomerID"], {})[invoice_no] = invoice_summary(item)
    # The low-level client (thread-safe) of the resource, which still takes and gives Python types.
    client = dynamodb().meta.client
    customer_writes = {
        customer_id: partial(client.update_item, TableName=CUSTOMER_TABLE, Key={"CustomerID": customer_id}, **customer_update(summaries))
        for customer_id, summaries in sorted(by_customer.items())
    }
    counters.writes += len(customer_writes)
    failed_invoices: set[str] = set()
    failed_customers = write_concurrently(customer_writes)
    counters.items_written += len(customer_writes) - len(failed_customers)
    for customer_id, error in failed_customers.items():
        log("ERROR", "customer update failed", customer_id=customer_id, error=str(error))
        failed_invoices.update(by_customer[customer_id])

    # Never store an invoice whose customer summary was not stored.
    new_invoices = [item for invoice_no, item in sorted(merged.items()) if invoice_no not in existing and invoice_no not in failed_invoices]
    chunks = [new_invoices[start : start + BATCH_WRITE_LIMIT] for start in range(0, len(new_invoices), BATCH_WRITE_LIMIT)]
    unwritten: set[str] = set()
    for chunk, future in [(chunk, writers().submit(put_new_invoices, client, chunk)) for chunk in chunks]:
        requests, left = future.result()
        counters.writes += requests
        counters.items_written += len(chunk) - len(left)
        unwritten.update(left)

    invoice_writes = {}
    for invoice_no, item in sorted(merged.items()):
        if invoice_no in failed_invoices or (invoice_no not in existing and invoice_no not in unwritten):
            continue
        operation, arguments = invoice_write(existing.get(invoice_no), item)
        invoice_writes[invoice_no] = partial(getattr(client, operation), TableName=INVOICE_TABLE, **arguments)
    counters.writes += len(invoice_writes)
    failed_writes = write_concurrently(invoice_writes)
    counters.items_written += len(invoice_writes) - len(failed_writes)
    for invoice_no, error in failed_writes.items():
        log("ERROR", "invoice write failed", invoice_no=invoice_no, error=str(error))
        failed_invoices.add(invoice_no)

    for invoice_no in failed_invoices:
        failed.extend(line.sequence_number for line in plan.lines_by_invoice[invoice_no])
    log(
        "INFO",
        "batch merged",
        request_id=getattr(context, "aws_request_id", None),
        records=len(records),
        invoices=len(plan.lines_by_invoice),
        invoices_changed=len(merged),
        customers_changed=len(by_customer),
        dynamodb_reads=counters.reads,
        dynamodb_writes=counters.writes,
        dynamodb_items_written=counters.items_written,
        writes_per_record=round(counters.writes / len(records), 4) if records else 0,
        reads_per_record=round(counters.reads / len(records), 4) if records else 0,
        failed=len(failed),
    )
    return batch_item_failures(failed)


def put_new_invoices(client: Any, items: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Put invoices not stored yet in one BatchWriteItem request (at most BATCH_WRITE_LIMIT);
    returns the requests made and the InvoiceNos left for the caller to write one at a time.

    DynamoDB rejects the whole request when one item is invalid (an invoice over 400 KB), so a
    rejected request's invoices are all handed back: written alone, only the invalid one fails.
    Items DynamoDB leaves unprocessed (throttling) are sent again with backoff, then handed back.
    """
    request = {INVOICE_TABLE: [{"PutRequest": {"Item": item}} for item in items]}
    requests = 0
    for attempt in range(BATCH_WRITE_ATTEMPTS):
        if attempt:
            back_off(attempt)
        requests += 1
        try:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        except ClientError as error:
            log("WARNING", "BatchWriteItem rejected; its invoices are written one at a time", error=str(error))
            break
        if not request:
            return requests, []
    return requests, [entry["PutRequest"]["Item"]["InvoiceNo"] for entry in request.get(INVOICE_TABLE, [])]


def write_concurrently(writes: dict[str, Callable[[], Any]]) -> dict[str, ClientError]:
    """Run the writes on the function's threads; the error of each one that failed, by its key."""
    futures = {key: writers().submit(write) for key, write in writes.items()}
    failed = {}
    for key, future in futures.items():
        try:
            future.result()
        except ClientError as error:
            failed[key] = error
    return failed


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    # The requests' shapes are fixed by this code and DynamoDB validates them again: botocore's
    # client-side check of every nested value cost a sixth of this function's CPU (Config,
    # parameter_validation: "You can disable parameter validation for performance reasons").
    return boto3.resource("dynamodb", config=Config(parameter_validation=False))


@lru_cache(maxsize=1)
def writers() -> ThreadPoolExecutor:
    """Kept with the execution environment, as the client is: threads start once, not per batch."""
    return ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="dynamodb-write")


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON object per line on stdout: CloudWatch Logs keeps each as one event to query."""
    print(json.dumps({"level": level, "message": message, **fields}, default=str))
