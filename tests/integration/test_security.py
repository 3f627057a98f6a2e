"""Data at rest is private and encrypted where the workbook creates it, as AWS itself reports it.

The notebooks create their bucket, tables and stream only through ``helpers.storage`` (checked
statically below), and ``storage`` sets: S3 Block Public Access (all four settings) and default
encryption SSE-S3; DynamoDB point-in-time recovery; Kinesis server-side encryption with the
AWS-managed key. The checks read the settings back with the services' own calls, not with the
helpers' summaries.
"""

from __future__ import annotations

import re

import pytest

from helpers import aws, config, storage
from tests.conftest import own_names

pytestmark = pytest.mark.integration

# Calls that create a bucket, a stream or a DynamoDB table. Glue's create_table (a catalog table) is
# not storage and is told apart by its client's name.
CREATING_STORAGE = re.compile(r"\.(create_bucket|create_stream)\(|(?<!glue)\.create_table\(")
SOURCES = [
    *sorted((config.REPO_ROOT / "notebooks").glob("*.ipynb")),
    *(p for p in sorted((config.REPO_ROOT / "helpers").glob("*.py")) if p.name != "storage.py"),
    *sorted((config.REPO_ROOT / "lambda_code").glob("*.py")),
    *sorted((config.REPO_ROOT / "glue_scripts").glob("*.py")),
]


@pytest.fixture(scope="module")
def names(local_cloud):
    tag = "sec"
    with own_names(local_cloud, stream=f"api-data-{tag}", invoice_table=f"invoice-{tag}", bucket_prefix=f"security-{tag}") as (n, _):
        yield n


def test_storage_is_created_only_through_helpers_storage():
    offenders = [f"{p.relative_to(config.REPO_ROOT)}: {m.group(0)}" for p in SOURCES for m in CREATING_STORAGE.finditer(p.read_text())]
    assert offenders == [], "create buckets, streams and tables with helpers.storage, which secures them"


def test_the_static_check_recognises_a_direct_create():
    assert CREATING_STORAGE.search('s3.create_bucket(Bucket="b")')
    assert CREATING_STORAGE.search('ddb.create_table(TableName="t")')
    assert not CREATING_STORAGE.search("glue.create_table(DatabaseName=d, TableInput=t)")


def test_bucket_blocks_public_access_and_encrypts_by_default(names, local_cloud):
    """"Blocking public access to your Amazon S3 storage" and "Setting default server-side
    encryption behavior for Amazon S3 buckets" (S3 User Guide)."""
    bucket = aws.bucket()
    storage.ensure_bucket(bucket, local_cloud.region)
    s3 = aws.client("s3")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3.put_object(Bucket=bucket, Key="security/probe.json", Body=b"{}")  # no encryption asked for
    assert s3.head_object(Bucket=bucket, Key="security/probe.json")["ServerSideEncryption"] == "AES256"


def test_dynamodb_table_has_point_in_time_recovery(names):
    """"Point-in-time recovery for DynamoDB" (DynamoDB Developer Guide): continuous backups, 35 days."""
    storage.ensure_table(names.invoice_table, "InvoiceNo")
    backups = aws.client("dynamodb").describe_continuous_backups(TableName=names.invoice_table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_kinesis_stream_is_encrypted_with_the_aws_managed_key(names):
    """"Data protection in Amazon Kinesis Data Streams" (server-side encryption with AWS KMS)."""
    storage.ensure_stream(names.stream, 1)
    summary = aws.client("kinesis").describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", storage.KINESIS_MANAGED_KEY)
