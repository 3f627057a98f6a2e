"""Firehose stream settings: what CreateDeliveryStream accepts, the defaults AWS fills in, and the
destination as the delivery code reads it back from moto's stored configuration.

moto stores the configuration (and answers DescribeDeliveryStream and UpdateDestination from it);
this module checks a request before moto sees it, for the rules the local cloud can honour:
sources DirectPut and KinesisStreamAsSource; destinations Amazon S3 (ExtendedS3 or S3) and
Amazon Redshift; compression UNCOMPRESSED or GZIP. A feature it would silently not perform (data
transformation with Lambda, format conversion, dynamic partitioning, S3 backup, other destinations)
is refused with InvalidArgumentException naming it. Limits follow the API reference
(https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html,
API_BufferingHints.html, API_RedshiftRetryOptions.html, API_RedshiftDestinationConfiguration.html).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from helpers.localcloud.firehose.buffer import DEFAULT_INTERVAL_SECONDS, DEFAULT_SIZE_MB, BufferingHints
from helpers.localcloud.firehose.names import PrefixError, check_prefix

SUPPORTED_SOURCES = ("DirectPut", "KinesisStreamAsSource")
SUPPORTED_DESTINATIONS = ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration", "RedshiftDestinationConfiguration")
OTHER_DESTINATIONS = (
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
)
SUPPORTED_COMPRESSION = ("UNCOMPRESSED", "GZIP")
REDSHIFT_REFUSED_COMPRESSION = ("ZIP", "Snappy", "HADOOP_SNAPPY")  # COPY cannot read them
DEFAULT_RETRY_SECONDS = 3600  # RedshiftRetryOptions: "The default value is 3600 seconds (60 minutes)."
_BUCKET_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$")
_KINESIS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[a-zA-Z0-9_.-]+$")
_JDBC_URL = re.compile(r"^jdbc:(redshift|postgresql)://([^:/]+):(\d{1,5})/([a-zA-Z0-9_$-]+)$")
_SERVERLESS_HOST = re.compile(r"^([a-z0-9-]+)\.(\d{12})\.([a-z0-9-]+)\.redshift-serverless\.amazonaws\.com$")
_CLUSTER_HOST = re.compile(r"^([a-zA-Z0-9-]+)\.([a-zA-Z0-9]+)\.([a-z0-9-]+)\.redshift\.amazonaws\.com$")


class FirehoseError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def invalid(message: str) -> FirehoseError:
    return FirehoseError("InvalidArgumentException", message)


def _range(value: Any, low: int, high: int, member: str) -> None:
    if value is None:
        return
    if not isinstance(value, int) or not low <= value <= high:
        raise FirehoseError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must have value between {low} and {high}",
        )


# --- CreateDeliveryStream ---------------------------------------------------------------------------


def check_create(body: dict, kinesis_stream_exists: Any) -> None:
    """Refuse what the local cloud cannot deliver, before moto stores it."""
    stream_type = body.get("DeliveryStreamType", "DirectPut")
    if stream_type not in SUPPORTED_SOURCES:
        raise invalid(f"DeliveryStreamType {stream_type} is not supported by the local cloud (DirectPut and KinesisStreamAsSource are).")
    source = body.get("KinesisStreamSourceConfiguration")
    if stream_type == "KinesisStreamAsSource":
        if not source:
            raise invalid("KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource delivery stream type.")
        arn = source.get("KinesisStreamARN", "")
        if not _KINESIS_ARN.match(arn):
            raise invalid(f"Invalid KinesisStreamARN {arn}.")
        if not kinesis_stream_exists(arn):
            raise invalid(f"The Kinesis stream {arn} does not exist.")
    others = [name for name in OTHER_DESTINATIONS if body.get(name)]
    if others:
        raise invalid(f"{others[0]}: the local cloud delivers to Amazon S3 and Amazon Redshift only.")
    given = [name for name in SUPPORTED_DESTINATIONS if body.get(name)]
    if len(given) != 1:
        raise invalid("Exactly one destination configuration is supported for a Firehose")
    destination = body[given[0]]
    if given[0] == "RedshiftDestinationConfiguration":
        _check_redshift(destination)
    else:
        _check_s3(destination, "S3" if given[0] == "S3DestinationConfiguration" else "ExtendedS3")


def _check_s3(config: dict, kind: str, redshift: bool = False) -> None:
    if not _BUCKET_ARN.match(config.get("BucketARN", "")):
        raise invalid(f"Invalid BucketARN {config.get('BucketARN')}.")
    hints = config.get("BufferingHints") or {}
    _range(hints.get("SizeInMBs"), 1, 128, "bufferingHints.sizeInMBs")
    _range(hints.get("IntervalInSeconds"), 0, 900, "bufferingHints.intervalInSeconds")
    compression = config.get("CompressionFormat", "UNCOMPRESSED")
    if redshift and compression in REDSHIFT_REFUSED_COMPRESSION:
        raise invalid(f"Compression format {compression} is not supported for the Amazon Redshift destination.")
    if compression not in SUPPORTED_COMPRESSION:
        raise invalid(f"CompressionFormat {compression} is not supported by the local cloud (UNCOMPRESSED and GZIP are).")
    for feature in ("ProcessingConfiguration", "DataFormatConversionConfiguration", "DynamicPartitioningConfiguration"):
        if (config.get(feature) or {}).get("Enabled"):
            raise invalid(f"{feature} is not supported by the local cloud: records are delivered as they are put.")
    if config.get("S3BackupMode", "Disabled") != "Disabled":
        raise invalid("S3BackupMode Enabled is not supported by the local cloud.")
    if (config.get("EncryptionConfiguration") or {}).get("KMSEncryptionConfig"):
        raise invalid("KMS encryption of delivered objects is not supported by the local cloud.")
    try:
        check_prefix(config.get("Prefix"))
        check_prefix(config.get("ErrorOutputPrefix"))
    except PrefixError as error:
        raise invalid(str(error)) from error


def _check_redshift(config: dict) -> None:
    url = config.get("ClusterJDBCURL", "")
    if not _JDBC_URL.match(url):
        raise invalid(f"Invalid ClusterJDBCURL {url}: expected jdbc:redshift://<endpoint>:<port>/<database>.")
    secret = config.get("SecretsManagerConfiguration") or {}
    if not secret.get("Enabled") and not (config.get("Username") and config.get("Password")):
        raise invalid("Username and Password are required unless SecretsManagerConfiguration is enabled.")
    if secret.get("Enabled") and not secret.get("SecretARN"):
        raise invalid("SecretsManagerConfiguration.SecretARN is required when SecretsManagerConfiguration is enabled.")
    if not (config.get("CopyCommand") or {}).get("DataTableName"):
        raise invalid("CopyCommand.DataTableName is required.")
    _range((config.get("RetryOptions") or {}).get("DurationInSeconds"), 0, 7200, "retryOptions.durationInSeconds")
    if (config.get("ProcessingConfiguration") or {}).get("Enabled"):
        raise invalid("ProcessingConfiguration is not supported by the local cloud: records are delivered as they are put.")
    if config.get("S3BackupMode", "Disabled") != "Disabled":
        raise invalid("S3BackupMode Enabled is not supported by the local cloud.")
    _check_s3(config.get("S3Configuration") or {}, "Redshift", redshift=True)


def with_defaults(body: dict) -> dict:
    """The request with the values AWS fills in and DescribeDeliveryStream shows."""
    body = copy.deepcopy(body)
    for name in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration"):
        if body.get(name):
            _s3_defaults(body[name], backup_mode=name == "ExtendedS3DestinationConfiguration")
    redshift = body.get("RedshiftDestinationConfiguration")
    if redshift:
        redshift.setdefault("RetryOptions", {"DurationInSeconds": DEFAULT_RETRY_SECONDS})
        redshift.setdefault("S3BackupMode", "Disabled")
        redshift.setdefault("CloudWatchLoggingOptions", {"Enabled": False})
        _s3_defaults(redshift["S3Configuration"], backup_mode=False)
    return body


def _s3_defaults(config: dict, backup_mode: bool) -> None:
    hints = config.setdefault("BufferingHints", {})
    hints.setdefault("SizeInMBs", DEFAULT_SIZE_MB)
    hints.setdefault("IntervalInSeconds", DEFAULT_INTERVAL_SECONDS)
    config.setdefault("CompressionFormat", "UNCOMPRESSED")
    config.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
    config.setdefault("CloudWatchLoggingOptions", {"Enabled": False})
    if backup_mode:
        config.setdefault("S3BackupMode", "Disabled")


# --- the destination, read back from moto -------------------------------------------------------------


@dataclass(frozen=True)
class RedshiftSettings:
    jdbc_url: str
    username: str | None
    password: str | None
    secret_arn: str | None
    table: str
    columns: str | None
    copy_options: str
    role_arn: str
    retry_seconds: int

    @property
    def database(self) -> str:
        return urlparse(self.jdbc_url[len("jdbc:") :]).path.lstrip("/")

    @property
    def host(self) -> str:
        return urlparse(self.jdbc_url[len("jdbc:") :]).hostname or ""

    def serverless_workgroup(self) -> tuple[str, str] | None:
        """(workgroup, region) for a Redshift Serverless endpoint."""
        match = _SERVERLESS_HOST.match(self.host)
        return (match.group(1), match.group(3)) if match else None

    def cluster(self) -> tuple[str, str] | None:
        """(cluster identifier, region) for a provisioned cluster's endpoint."""
        match = _CLUSTER_HOST.match(self.host)
        return (match.group(1), match.group(3)) if match else None


@dataclass(frozen=True)
class Destination:
    kind: str  # "S3" or "Redshift"
    bucket: str
    prefix: str | None
    error_prefix: str | None
    hints: BufferingHints
    compression: str
    extension: str
    log_group: str | None
    log_stream: str | None
    redshift: RedshiftSettings | None = None


def destination_of(moto_destination: dict) -> Destination:
    """The delivery settings of moto's stored destination (its description's field names)."""
    if "Redshift" in moto_destination:
        redshift = moto_destination["Redshift"]
        s3 = redshift["S3DestinationDescription"]
        copy_command = redshift.get("CopyCommand") or {}
        secret = redshift.get("SecretsManagerConfiguration") or {}
        settings = RedshiftSettings(
            jdbc_url=redshift["ClusterJDBCURL"],
            username=redshift.get("Username"),
            password=redshift.get("Password"),
            secret_arn=secret.get("SecretARN") if secret.get("Enabled") else None,
            table=copy_command["DataTableName"],
            columns=copy_command.get("DataTableColumns") or None,
            copy_options=copy_command.get("CopyOptions") or "",
            role_arn=redshift.get("RoleARN", ""),
            retry_seconds=(redshift.get("RetryOptions") or {}).get("DurationInSeconds", DEFAULT_RETRY_SECONDS),
        )
        return _s3_destination("Redshift", s3, logging=redshift.get("CloudWatchLoggingOptions"), redshift=settings)
    s3 = moto_destination.get("ExtendedS3") or moto_destination["S3"]
    return _s3_destination("S3", s3, logging=s3.get("CloudWatchLoggingOptions"))


def _s3_destination(kind: str, s3: dict, logging: dict | None, redshift: RedshiftSettings | None = None) -> Destination:
    compression = s3.get("CompressionFormat", "UNCOMPRESSED")
    extension = s3.get("FileExtension") or (".gz" if compression == "GZIP" else "")
    logging = logging or {}
    enabled = bool(logging.get("Enabled"))
    return Destination(
        kind=kind,
        bucket=_BUCKET_ARN.match(s3["BucketARN"]).group(1),
        prefix=s3.get("Prefix") or None,
        error_prefix=s3.get("ErrorOutputPrefix") or None,
        hints=BufferingHints.from_config(s3.get("BufferingHints")),
        compression=compression,
        extension=extension,
        log_group=logging.get("LogGroupName") if enabled else None,
        log_stream=logging.get("LogStreamName") if enabled else None,
        redshift=redshift,
    )
