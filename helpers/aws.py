"""boto3 clients for the chosen target: one code path for the local cloud and for AWS."""

from __future__ import annotations

from functools import lru_cache

import boto3

from helpers import config


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """A boto3 session whose clients reach the configured target (see ``helpers.config``)."""
    s = config.apply_environment()
    return boto3.session.Session(region_name=s.region)


def client(service: str):
    """A boto3 client, e.g. ``client("kinesis")``. No endpoint argument: ``AWS_ENDPOINT_URL`` decides."""
    return session().client(service)


@lru_cache(maxsize=1)
def account_id() -> str:
    return client("sts").get_caller_identity()["Account"]


def bucket() -> str:
    """The workbook's S3 bucket, unique per account and region."""
    s = config.settings()
    return s.names.bucket(account_id(), s.region)


def tag_list() -> list[dict[str, str]]:
    """The workbook's tags as most AWS APIs take them: ``[{"Key": ..., "Value": ...}]``."""
    return [{"Key": k, "Value": v} for k, v in config.TAGS.items()]
