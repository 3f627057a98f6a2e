"""The course's DynamoDB consumer, kept only to measure the per-row design against the workbook's
batched one (``helpers/per_row_design.py``). Not the workbook's handler: that is
``lambda_code/write_kinesis_to_dynamodb.py``.

As in the course: for every Kinesis record, one ``UpdateItem`` on ``customer`` (an attribute named
after the InvoiceNo, holding a placeholder overview) and one ``UpdateItem`` on ``invoice`` (an
attribute named after the StockCode, holding the line's other fields as a JSON string), with the
legacy ``AttributeUpdates`` parameter the course used. So a batch of 100 records costs up to 200
write requests, and a second line with the same StockCode in an invoice overwrites the first.

Where the course's code cannot run on the data, this one does what the workbook does: keys are
strings (the course declared them numbers, which "C536379" and a blank CustomerID are not), and a
row without a CustomerID updates only the invoice (the course's code would fail on it and Lambda
would retry the batch until the record expired).

One JSON log line per invocation counts the records and the UpdateItem calls: that is what the
benchmark reads.
"""

from __future__ import annotations

import base64
import json
import os
from functools import lru_cache
from typing import Any

import boto3

INVOICE_TABLE = os.environ.get("INVOICE_TABLE", "invoice")
CUSTOMER_TABLE = os.environ.get("CUSTOMER_TABLE", "customer")
CUSTOMER_OVERVIEW_PLACEHOLDER = "Some overview JSON for the UI goes here"
LINE_FIELDS = ("Description", "Quantity", "UnitPrice", "CustomerID", "Country", "InvoiceDate")


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    return boto3.client("dynamodb")


def updates_for(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The UpdateItem calls for one row: its customer (when it has one), then its invoice."""
    updates = []
    if row.get("CustomerID") not in (None, ""):
        updates.append({
            "TableName": CUSTOMER_TABLE,
            "Key": {"CustomerID": {"S": str(row["CustomerID"])}},
            "AttributeUpdates": {str(row["InvoiceNo"]): {"Value": {"S": CUSTOMER_OVERVIEW_PLACEHOLDER}, "Action": "PUT"}},
        })  # fmt: skip
    line = json.dumps({name: row.get(name) for name in LINE_FIELDS})
    updates.append({
        "TableName": INVOICE_TABLE,
        "Key": {"InvoiceNo": {"S": str(row["InvoiceNo"])}},
        "AttributeUpdates": {str(row["StockCode"]): {"Value": {"S": line}, "Action": "PUT"}},
    })  # fmt: skip
    return updates


def handler(event: dict[str, Any], context: Any) -> str:
    records = event["Records"]
    calls = 0
    for record in records:
        row = json.loads(base64.b64decode(record["kinesis"]["data"]))
        for update in updates_for(row):
            dynamodb().update_item(**update)
            calls += 1
    print(json.dumps({"message": "records updated", "records": len(records), "update_item_calls": calls}))
    return f"Successfully processed {len(records)} records."
