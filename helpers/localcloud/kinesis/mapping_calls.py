"""How an event source mapping reaches other services: plain boto3 against the local endpoint.

The poller invokes the function exactly as AWS's poller does, with a synchronous (RequestResponse)
``lambda.invoke``; whichever plane serves Lambda Invoke on the local endpoint runs the code. Failure
records go to SQS or SNS the same way, so they land in moto's queues and topics like any message.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from helpers.localcloud.kinesis.batch_delivery import InvokeUnavailable
from helpers.localcloud.kinesis.batches import InvokeResult

_CLIENT_CONFIG = Config(
    read_timeout=910,  # longer than the longest function timeout (900 s)
    connect_timeout=5,
    retries={"total_max_attempts": 1, "mode": "standard"},  # the mapping has its own retry policy
    max_pool_connections=64,
)
# The local cloud ignores signatures; dummy keys keep real credentials away from it.
_LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_UNAVAILABLE = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,  # connection refused, read timeout...
)


class LocalServiceCalls:
    """Thread-safe boto3 clients, one per service and region, created on first use."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}
        self._queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _client(self, service: str, region: str) -> Any:
        with self._lock:  # creating clients is not thread-safe; using them is
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = boto3.session.Session().client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=_CLIENT_CONFIG,
                    **_LOCAL_CREDENTIALS,
                )
            return self._clients[key]

    def invoke(self, function_arn: str, payload: bytes) -> InvokeResult:
        region = function_arn.split(":")[3]
        try:
            response = self._client("lambda", region).invoke(
                FunctionName=function_arn, InvocationType="RequestResponse", Payload=payload
            )
            body = response["Payload"].read()
        except _UNAVAILABLE as error:
            raise InvokeUnavailable(str(error)) from error
        return InvokeResult(
            status_code=response["StatusCode"],
            function_error=response.get("FunctionError"),
            payload=body,
            executed_version=response.get("ExecutedVersion", "$LATEST"),
            request_id=response["ResponseMetadata"].get("RequestId", ""),
        )

    def send_failure_record(self, destination_arn: str, document: dict) -> None:
        _, _, service, region, account, resource = destination_arn.split(":", 5)
        message = json.dumps(document)
        if service == "sqs":
            sqs = self._client("sqs", region)
            if destination_arn not in self._queue_urls:
                self._queue_urls[destination_arn] = sqs.get_queue_url(
                    QueueName=resource, QueueOwnerAWSAccountId=account
                )["QueueUrl"]
            sqs.send_message(QueueUrl=self._queue_urls[destination_arn], MessageBody=message)
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=destination_arn, Message=message)
        else:  # validation only lets SQS and SNS through
            raise ValueError(f"unsupported on-failure destination {destination_arn}")
