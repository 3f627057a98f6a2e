"""Sending an asynchronous invocation's record to its destination, through the local cloud's API.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html: the destination
is an SQS queue, an SNS topic, a Lambda function or an EventBridge event bus (S3 buckets, for
failures only, are not supported locally and are reported in the server's log).
"""

from __future__ import annotations

import json
import logging

from helpers.localcloud.awslambda.sandbox import local_client

log = logging.getLogger("localcloud.lambda")


def deliver(endpoint_url: str, region: str, destination_arn: str, record: dict) -> None:
    service = destination_arn.split(":")[2] if destination_arn.count(":") >= 5 else ""
    body = json.dumps(record)
    try:
        if service == "sqs":
            sqs = local_client("sqs", endpoint_url, region)
            account, queue = destination_arn.split(":")[4:6]
            queue_url = sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        elif service == "sns":
            local_client("sns", endpoint_url, region).publish(TopicArn=destination_arn, Message=body)
        elif service == "lambda":
            lam = local_client("lambda", endpoint_url, region)
            lam.invoke(FunctionName=destination_arn, InvocationType="Event", Payload=body)
        elif service == "events":
            success = record["requestContext"]["condition"] == "Success"
            local_client("events", endpoint_url, region).put_events(
                Entries=[
                    {
                        "Source": "lambda",
                        "DetailType": f"Lambda Function Invocation Result - {'Success' if success else 'Failure'}",
                        "Detail": body,
                        "Resources": [record["requestContext"]["functionArn"]],
                        "EventBusName": destination_arn,
                    }
                ]
            )
        else:
            log.error("destination %s is not supported by the local cloud; record dropped: %s", destination_arn, body)
    except Exception:
        log.exception("could not deliver an invocation record to %s", destination_arn)
