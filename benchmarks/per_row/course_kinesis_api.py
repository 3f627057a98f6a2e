"""The course's API Lambda (POST half), kept only to measure the per-row design against the
workbook's batched one (``helpers/per_row_design.py``). Not the workbook's handler: that is
``lambda_code/kinesis_api.py``.

As in the course: a REST API with a Lambda custom (non-proxy) integration and the console's
"Method Request passthrough" template hands the function one CSV row as ``body-json``; the function
writes it to Kinesis with one ``PutRecord``. No validation, no batching, no retry of a throttled
put: one request in, one record out.

Two things differ from the course's code, both in the per-row design's favour or needed to run it:
- the Kinesis client is created once per execution environment, not once per request (AWS's
  advice, "Best practices for working with AWS Lambda functions"); a client per request would
  make the per-row design slower still;
- the partition key is the InvoiceNo (the course's was a constant string, which puts every record
  on one shard): both designs then spread the same rows over the same shards.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

import boto3

STREAM_NAME = os.environ.get("STREAM_NAME", "api-data")


@lru_cache(maxsize=1)
def kinesis() -> Any:
    return boto3.client("kinesis")


def kinesis_record(row: dict[str, Any]) -> dict[str, Any]:
    """The PutRecord arguments for one posted row."""
    return {"StreamName": STREAM_NAME, "Data": json.dumps(row), "PartitionKey": str(row["InvoiceNo"])}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event["context"]["http-method"]
    if method != "POST":
        return {"statusCode": 501, "body": json.dumps(f"{method} is not part of the per-row benchmark")}
    row = event["body-json"]
    kinesis().put_record(**kinesis_record(row))
    return {"statusCode": 200, "body": json.dumps(row)}
