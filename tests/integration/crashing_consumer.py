"""Test-only Lambda handler: a stream consumer whose process is killed once, in the middle of a batch.

``test_reliability_delivery`` deploys this module beside an unchanged copy of a consumer from
``lambda_code/`` (named by WRAPPED_MODULE); production code has no crash switch. In the first batch
in which the consumer makes CRASH_AFTER_WRITES writes (S3 PutObject, DynamoDB PutItem or
UpdateItem), the process kills itself with SIGKILL right after the last of them, as an
out-of-memory kill would: those writes are stored, the rest of the batch is not, and Lambda sees a
``Runtime.ExitError``. An S3 object (CRASH_FLAG_BUCKET, CRASH_FLAG_KEY) records the crash, so that
it happens once and the retries can succeed.

Boto3 and the standard library only, like the consumers.
"""

from __future__ import annotations

import importlib
import os
import signal
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import ClientError

WRAPPED = importlib.import_module(os.environ["WRAPPED_MODULE"])
CRASH_AFTER_WRITES = int(os.environ["CRASH_AFTER_WRITES"])
FLAG_BUCKET = os.environ["CRASH_FLAG_BUCKET"]
FLAG_KEY = os.environ["CRASH_FLAG_KEY"]
WRITES = {"PutObject", "PutItem", "UpdateItem"}

_make_api_call = BaseClient._make_api_call
_flags = boto3.client("s3")
_batch = {"armed": False, "writes": 0}


def _counting_api_call(client: BaseClient, operation: str, parameters: dict[str, Any]) -> Any:
    """Every boto3 call of the wrapped handler passes here; the CRASH_AFTER_WRITES-th write kills it."""
    result = _make_api_call(client, operation, parameters)
    if _batch["armed"] and operation in WRITES:
        _batch["writes"] += 1
        if _batch["writes"] == CRASH_AFTER_WRITES:
            _make_api_call(_flags, "PutObject", {"Bucket": FLAG_BUCKET, "Key": FLAG_KEY, "Body": b"crashed"})
            os.kill(os.getpid(), signal.SIGKILL)
    return result


BaseClient._make_api_call = _counting_api_call


def _crashed_already() -> bool:
    try:
        _make_api_call(_flags, "HeadObject", {"Bucket": FLAG_BUCKET, "Key": FLAG_KEY})
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def handler(event: dict[str, Any], context: Any) -> Any:
    _batch.update(armed=not _crashed_already(), writes=0)
    return WRAPPED.handler(event, context)
