"""What a notebook needs from the notebooks before it, found or reported clearly.

The numbered notebooks build on each other (03 deploys functions with 02's roles, 04 reads 03's
stream...). Each lookup here returns the resource's ARN or name, or raises ``MissingPrerequisite``
naming the notebook to run first, instead of a bare ``NoSuchEntity`` from deep inside boto3.
"""

from __future__ import annotations

from helpers import aws, config


class MissingPrerequisite(RuntimeError):
    """A resource an earlier notebook creates is not there."""


def role_arn(role_key: str) -> str:
    """The ARN of an execution role of notebook 02 (``role_key`` as in ``config.Names.roles``)."""
    name = config.settings().names.roles[role_key]
    iam = aws.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        raise MissingPrerequisite(f"IAM role {name} does not exist: run notebook 02 (IAM roles) first") from None


def stream_arn(stream_name: str) -> str:
    """The ARN of notebook 03's Kinesis stream, once it is ACTIVE."""
    kinesis = aws.client("kinesis")
    try:
        summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    except kinesis.exceptions.ResourceNotFoundException:
        raise MissingPrerequisite(f"Kinesis stream {stream_name} does not exist: run notebook 03 first") from None
    if summary["StreamStatus"] not in ("ACTIVE", "UPDATING"):
        raise MissingPrerequisite(f"Kinesis stream {stream_name} is {summary['StreamStatus']}: run notebook 03 again")
    return summary["StreamARN"]
