"""Firehose's pure rules: object and manifest names, buffering, and what CreateDeliveryStream accepts.

AWS pages: s3-object-name.html, s3-prefixes.html, API_BufferingHints.html, basic-deliver.html,
API_CreateDeliveryStream.html, API_RedshiftDestinationConfiguration.html.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from helpers.localcloud.firehose import names as firehose_names
from helpers.localcloud.firehose.buffer import MIB, BufferedRecord, BufferingHints, DeliveryBuffer
from helpers.localcloud.firehose.config import FirehoseError, RedshiftSettings, check_create, destination_of, with_defaults
from helpers.localcloud.firehose.redshift import classify, copy_statement

WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# --- names (s3-object-name.html, s3-prefixes.html) -------------------------------------------------


def test_default_and_static_prefixes_get_the_utc_hour_appended():
    assert re.fullmatch(rf"2024/01/02/03/api-1-2024-01-02-03-04-05-{UUID}", firehose_names.data_key(None, "api", "1", WHEN))
    assert firehose_names.data_key("raw/", "api", "2", WHEN).startswith("raw/2024/01/02/03/api-2-2024-01-02-03-04-05-")
    assert firehose_names.data_key("raw", "api", "1", WHEN).startswith("raw2024/01/02/03/api-1-")  # nothing inserted
    assert firehose_names.data_key(None, "api", "1", WHEN, ".gz").endswith(".gz")


def test_prefix_expressions_replace_the_default_time_prefix():
    prefix = "data/year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{firehose:random-string}/"
    evaluated = firehose_names.evaluate_prefix(prefix, WHEN)
    assert re.fullmatch(r"data/year=2024/month=01/[A-Za-z0-9]{11}/", evaluated)
    assert firehose_names.evaluate_prefix("d=!{timestamp:yyyy'-'MM'-'dd}/", WHEN) == "d=2024-01-02/"
    with pytest.raises(firehose_names.PrefixError, match="dynamic partitioning"):
        firehose_names.check_prefix("!{partitionKeyFromQuery:customer}/")


def test_manifest_and_error_manifest_keys():
    assert firehose_names.manifest_key("stage/", "api", "1", WHEN).startswith("stage/manifests/2024/01/02/03/api-1-2024-01-02-03-04-05-")
    assert firehose_names.error_manifest_key(None, "stage/", "api", "1", WHEN).startswith("stage/errors/manifests/2024/01/02/03/api-1-")
    assert firehose_names.error_manifest_key("failed/", "stage/", "api", "1", WHEN).startswith("failed/manifests/2024/01/02/03/")


# --- buffering (API_BufferingHints.html) -------------------------------------------------------------


def records(count: int, size: int, arrival: float = 100.0) -> list[BufferedRecord]:
    return [BufferedRecord(b"x" * size, arrival) for _ in range(count)]


def test_nothing_is_due_before_the_size_or_the_interval():
    buffer = DeliveryBuffer()
    buffer.add(records(3, 10))
    hints = BufferingHints(size_mb=1, interval_seconds=60)
    assert buffer.take_due(hints, now=159.9) == []
    assert len(buffer.take_due(hints, now=160.0)) == 3


def test_size_reached_gives_objects_of_at_most_the_buffer_size():
    buffer = DeliveryBuffer()
    buffer.add(records(5, MIB // 2))  # 2.5 MiB
    hints = BufferingHints(size_mb=1, interval_seconds=900)
    assert [len(buffer.take_due(hints, now=100.0)) for _ in range(3)] == [2, 2, 0]  # the last half waits
    assert len(buffer) == 1


def test_a_record_larger_than_the_buffer_goes_alone_and_zero_interval_sends_at_once():
    buffer = DeliveryBuffer()
    buffer.add(records(1, 2 * MIB) + records(1, 10))
    assert len(buffer.take_due(BufferingHints(1, 900), now=100.0)) == 1
    assert len(buffer.take_due(BufferingHints(1, 0), now=100.0)) == 1


# --- CreateDeliveryStream ----------------------------------------------------------------------------

BUCKET_ARN = "arn:aws:s3:::stage-bucket"
JDBC = "jdbc:redshift://wg.123456789012.us-east-1.redshift-serverless.amazonaws.com:5439/dev"


def redshift_config(**changes) -> dict:
    config = {
        "RoleARN": "arn:aws:iam::123456789012:role/r",
        "ClusterJDBCURL": JDBC,
        "CopyCommand": {"DataTableName": "invoices", "CopyOptions": "json 'auto ignorecase'"},
        "Username": "firehose_user",
        "Password": "Secret123",
        "S3Configuration": {"RoleARN": "arn:aws:iam::123456789012:role/r", "BucketARN": BUCKET_ARN},
    }
    config.update(changes)
    return config


def refused(body: dict, exists=lambda arn: True) -> str:
    with pytest.raises(FirehoseError) as raised:
        check_create(body, exists)
    return raised.value.message


def test_create_refuses_what_would_not_be_delivered():
    assert "Kinesis stream" in refused(
        {"DeliveryStreamType": "KinesisStreamAsSource",
         "KinesisStreamSourceConfiguration": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/x", "RoleARN": "r"},
         "RedshiftDestinationConfiguration": redshift_config()},
        exists=lambda arn: False,
    )
    assert "ZIP is not supported for the Amazon Redshift destination" in refused(
        {"RedshiftDestinationConfiguration": redshift_config(S3Configuration={"BucketARN": BUCKET_ARN, "RoleARN": "r", "CompressionFormat": "ZIP"})})
    assert "Username and Password" in refused({"RedshiftDestinationConfiguration": redshift_config(Password=None)})
    assert "ProcessingConfiguration" in refused(
        {"ExtendedS3DestinationConfiguration": {"BucketARN": BUCKET_ARN, "RoleARN": "r", "ProcessingConfiguration": {"Enabled": True}}})
    assert "Amazon S3 and Amazon Redshift only" in refused({"SplunkDestinationConfiguration": {"HECEndpoint": "x"}})
    assert "between 0 and 900" in refused(
        {"ExtendedS3DestinationConfiguration": {"BucketARN": BUCKET_ARN, "RoleARN": "r", "BufferingHints": {"IntervalInSeconds": 901}}})
    check_create({"RedshiftDestinationConfiguration": redshift_config()}, lambda arn: True)


def test_defaults_are_those_describe_shows_and_the_destination_reads_back():
    body = with_defaults({"RedshiftDestinationConfiguration": redshift_config()})
    redshift = body["RedshiftDestinationConfiguration"]
    assert redshift["RetryOptions"] == {"DurationInSeconds": 3600}
    assert redshift["S3Configuration"]["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    # moto stores S3Configuration as S3DestinationDescription
    stored = {**redshift, "S3DestinationDescription": redshift["S3Configuration"]}
    destination = destination_of({"Redshift": stored})
    assert (destination.kind, destination.bucket, destination.hints) == ("Redshift", "stage-bucket", BufferingHints(5, 300))
    assert destination.redshift.serverless_workgroup() == ("wg", "us-east-1") and destination.redshift.database == "dev"


def test_the_copy_firehose_issues_and_its_error_codes():
    settings = RedshiftSettings(JDBC, "u", "p", None, "invoices", "a,b", "json 'auto'", "arn:aws:iam::1:role/r", 60)
    assert copy_statement(settings, "stage-bucket", "manifests/m") == (
        "COPY invoices (a,b) FROM 's3://stage-bucket/manifests/m' CREDENTIALS 'aws_iam_role=arn:aws:iam::1:role/r' MANIFEST json 'auto';"
    )
    assert classify('FATAL: password authentication failed for user "u"').code == "Redshift.AuthenticationFailed"
    assert classify('ERROR: relation "invoices" does not exist').code == "Redshift.TableNotFound"
    assert classify('ERROR: column "x" of relation "invoices" does not exist').code == "Redshift.ColumnNotFound"
    assert classify("ERROR: Load into table 'invoices' failed. Check ...").code == "Redshift.DataLoadFailed"
