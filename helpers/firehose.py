"""The Firehose stream from Kinesis ``api-data`` to Redshift (or S3), created idempotently.

The settings the workbook recommends, with why; see "Understand data delivery in Amazon Data
Firehose" (basic-deliver.html) and "Configure destination settings" in the Firehose Developer
Guide, and "COPY" in the Redshift Database Developer Guide.

``ensure_delivery_stream`` creates the stream, or brings an existing one's destination to the
given settings with UpdateDestination (its source cannot change: delete and create again for
that), and waits until it is ACTIVE. ``delivery_report`` lists what it delivered to S3: objects,
COPY manifests, and the manifests of batches it gave up on (to load by hand with COPY ... MANIFEST).
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

from helpers import aws, config

ACTIVE_WAIT_S = 600  # creating a Firehose stream takes a minute or two on AWS
# Buffer 1 MiB or 60 s, whichever comes first: for a workbook, rows appear in Redshift within a
# minute while a stream of events still makes few, reasonably sized COPYs. (Defaults: 5 MiB, 300 s.)
BUFFERING_HINTS = {"SizeInMBs": 1, "IntervalInSeconds": 60}
# Retry a failed COPY for 10 minutes (default: 60), then skip the batch: its manifest goes to the
# errors/ folder for backfill, and later data is not held up behind it.
RETRY_SECONDS = 600
DELIVERY_LOG_STREAM = "DestinationDelivery"  # the log stream the Firehose console creates
LOG_RETENTION_DAYS = 14
# The events keep the source's column names (InvoiceNo, UnitPrice...); Redshift column names are
# lower case and 'auto' matches keys case-sensitively, so 'auto ignorecase' is what loads them.
# TIMEFORMAT 'auto' reads InvoiceDate as the events write it (2010-12-01 08:26:00).
COPY_OPTIONS = "json 'auto ignorecase' timeformat 'auto'"
INVOICE_COLUMNS = ("eventid", "invoiceno", "stockcode", "description", "quantity", "invoicedate", "unitprice", "customerid", "country")


class FirehoseSetupError(RuntimeError):
    """The stream exists in a form that cannot be updated to what was asked, or never became ACTIVE."""


def jdbc_url(workgroup: str, database: str) -> str:
    """The workgroup's JDBC URL, from its endpoint (what Firehose's ClusterJDBCURL takes)."""
    endpoint = aws.client("redshift-serverless").get_workgroup(workgroupName=workgroup)["workgroup"]["endpoint"]
    return f"jdbc:redshift://{endpoint['address']}:{endpoint['port']}/{database}"


def redshift_destination(
    *,
    role_arn: str,
    workgroup: str,
    table: str,
    username: str | None = None,
    password: str | None = None,
    secret_arn: str | None = None,
    columns: tuple[str, ...] = INVOICE_COLUMNS,
    copy_options: str = COPY_OPTIONS,
    buffering_hints: Mapping[str, int] = BUFFERING_HINTS,
    log_group: str | None = None,
) -> dict[str, Any]:
    """RedshiftDestinationConfiguration: COPY into ``table`` as a dedicated database user, staging in
    the workbook's bucket under its Firehose prefix.

    The user's credentials: ``secret_arn``, a Secrets Manager secret ``{"username", "password"}``
    that Firehose reads with its role (so the password is in no stream configuration), or
    ``username`` and ``password``. ``log_group``: where Firehose logs delivery errors (stream
    ``DELIVERY_LOG_STREAM``; create both with ``ensure_log_stream``).
    """
    if (secret_arn is None) == (username is None or password is None):
        raise ValueError("give either secret_arn, or username and password")
    credentials: dict[str, Any] = (
        {"SecretsManagerConfiguration": {"Enabled": True, "SecretARN": secret_arn}}
        if secret_arn
        else {"Username": username, "Password": password}
    )
    s = config.settings()
    destination: dict[str, Any] = {
        "RoleARN": role_arn,
        "ClusterJDBCURL": jdbc_url(workgroup, s.names.redshift_database),
        "CopyCommand": {"DataTableName": table, "DataTableColumns": ",".join(columns), "CopyOptions": copy_options},
        **credentials,
        "RetryOptions": {"DurationInSeconds": RETRY_SECONDS},
        "S3Configuration": _s3_configuration(role_arn, buffering_hints),
    }
    if log_group:
        destination["CloudWatchLoggingOptions"] = {"Enabled": True, "LogGroupName": log_group, "LogStreamName": DELIVERY_LOG_STREAM}
    return destination


def s3_destination(*, role_arn: str, buffering_hints: Mapping[str, int] = BUFFERING_HINTS) -> dict[str, Any]:
    """ExtendedS3DestinationConfiguration: the events as delivered, under the Firehose prefix."""
    return _s3_configuration(role_arn, buffering_hints)


def _s3_configuration(role_arn: str, buffering_hints: Mapping[str, int]) -> dict[str, Any]:
    names = config.settings().names
    return {
        "RoleARN": role_arn,
        "BucketARN": f"arn:aws:s3:::{aws.bucket()}",
        "Prefix": names.firehose_prefix,
        "ErrorOutputPrefix": names.firehose_errors_prefix,
        "BufferingHints": dict(buffering_hints),
        "CompressionFormat": "UNCOMPRESSED",
    }


def log_group_name(stream_name: str) -> str:
    """The log group the Firehose console would create for the stream."""
    return f"/aws/kinesisfirehose/{stream_name}"


def ensure_log_stream(stream_name: str) -> str:
    """The stream's log group (with a retention) and its delivery log stream; the group's name.
    Firehose writes to them but does not create them when the stream is made with the API."""
    logs = aws.client("logs")
    group = log_group_name(stream_name)
    try:
        logs.create_log_group(logGroupName=group, tags=config.TAGS)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=DELIVERY_LOG_STREAM)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    return group


def delivery_errors(stream_name: str, limit: int = 10) -> list[dict[str, Any]]:
    """The newest delivery errors Firehose logged (errorCode, errorMessage...), oldest first."""
    logs = aws.client("logs")
    try:
        events = logs.get_log_events(
            logGroupName=log_group_name(stream_name), logStreamName=DELIVERY_LOG_STREAM, limit=limit, startFromHead=False
        )["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [_log_entry(event["message"]) for event in events]


def _log_entry(message: str) -> dict[str, Any]:
    """Firehose logs each error as a JSON object (errorCode, errorMessage...); anything else is kept as text."""
    try:
        entry = json.loads(message)
    except json.JSONDecodeError:
        return {"message": message}
    return entry if isinstance(entry, dict) else {"message": message}


def _destination_key(destination: dict[str, Any]) -> tuple[str, str]:
    """(CreateDeliveryStream parameter, UpdateDestination parameter) for a destination."""
    if "ClusterJDBCURL" in destination:
        return "RedshiftDestinationConfiguration", "RedshiftDestinationUpdate"
    return "ExtendedS3DestinationConfiguration", "ExtendedS3DestinationUpdate"


def ensure_delivery_stream(name: str, *, source_stream_arn: str, role_arn: str, destination: dict[str, Any]) -> dict[str, Any]:
    """Create the stream reading ``source_stream_arn``, or update its destination; its description once ACTIVE."""
    firehose = aws.client("firehose")
    create_key, update_key = _destination_key(destination)
    try:
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": source_stream_arn, "RoleARN": role_arn},
            **{create_key: destination},
            Tags=aws.tag_list(),
        )
    except firehose.exceptions.ResourceInUseException:
        current = wait_active(name)
        source = current.get("Source", {}).get("KinesisStreamSourceDescription", {})
        if source.get("KinesisStreamARN") != source_stream_arn:
            raise FirehoseSetupError(
                f"Firehose stream {name} reads {source.get('KinesisStreamARN') or 'no Kinesis stream'}, not {source_stream_arn}; "
                "a stream's source cannot change: delete it and run this again."
            ) from None
        update = dict(destination)
        if update_key == "RedshiftDestinationUpdate":
            update["S3Update"] = update.pop("S3Configuration")
        firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=current["VersionId"],
            DestinationId=current["Destinations"][0]["DestinationId"],
            **{update_key: update},
        )
    return wait_active(name)


def wait_active(name: str, timeout_s: float = ACTIVE_WAIT_S) -> dict[str, Any]:
    """DescribeDeliveryStream until ACTIVE; its description."""
    firehose = aws.client("firehose")
    deadline = time.monotonic() + timeout_s
    while True:
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        status = description["DeliveryStreamStatus"]
        if status == "ACTIVE":
            return description
        if status.endswith("FAILED"):
            raise FirehoseSetupError(f"Firehose stream {name} is {status}: {description.get('FailureDescription')}")
        if time.monotonic() > deadline:
            raise FirehoseSetupError(f"Firehose stream {name} is still {status} after {timeout_s:.0f} s")
        time.sleep(1)


def delivery_report(limit: int = 5) -> dict[str, Any]:
    """What the workbook's Firehose stream left in S3: data objects, COPY manifests and error
    manifests (counts, and the newest ``limit`` keys of each)."""
    names = config.settings().names
    s3 = aws.client("s3")
    bucket = aws.bucket()

    def keys(prefix: str) -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    manifests = keys(names.firehose_prefix + "manifests/")
    data = [k for k in keys(names.firehose_prefix) if k not in set(manifests)]
    errors = keys(names.firehose_errors_prefix + "manifests/")
    report: dict[str, Any] = {
        "objects": len(data),
        "manifests": len(manifests),
        "error_manifests": len(errors),
        "newest_objects": data[-limit:],
        "newest_error_manifests": errors[-limit:],
    }
    if errors:
        newest = s3.get_object(Bucket=bucket, Key=errors[-1])["Body"].read()
        report["newest_error_entries"] = [entry["url"] for entry in json.loads(newest)["entries"]]
    return report


def describe_rows(description: dict[str, Any]) -> list[tuple[str, Any]]:
    """A Redshift delivery stream's settings worth showing, from DescribeDeliveryStream, as rows
    (the credentials appear as the secret's name, or the user's; never a password)."""
    source = description.get("Source", {}).get("KinesisStreamSourceDescription", {})
    redshift = description["Destinations"][0]["RedshiftDestinationDescription"]
    s3 = redshift["S3DestinationDescription"]
    copy = redshift["CopyCommand"]
    secret = redshift.get("SecretsManagerConfiguration") or {}
    hints = s3["BufferingHints"]
    logging = redshift.get("CloudWatchLoggingOptions") or {}
    return [
        ("name", description["DeliveryStreamName"]),
        ("status", f"{description['DeliveryStreamStatus']} (version {description['VersionId']})"),
        ("source", f"{source.get('KinesisStreamARN', description['DeliveryStreamType'])}"),
        ("reads from", f"{source.get('DeliveryStartTimestamp', '')} (its creation: LATEST)"),
        ("buffering", f"{hints['SizeInMBs']} MiB or {hints['IntervalInSeconds']} s, whichever comes first"),
        ("staging objects", f"{s3['BucketARN'].split(':::')[1]}/{s3.get('Prefix', '')}"),
        ("failed batches", f"{s3['BucketARN'].split(':::')[1]}/{s3.get('ErrorOutputPrefix', '')}"),
        ("JDBC URL", redshift["ClusterJDBCURL"]),
        ("COPY into", f"{copy['DataTableName']} ({copy.get('DataTableColumns', 'all columns')})"),
        ("COPY options", copy.get("CopyOptions", "")),
        ("credentials", f"secret {secret['SecretARN'].split(':secret:')[1]}" if secret.get("Enabled") else f"user {redshift.get('Username')}"),
        ("retry a failed COPY for", f"{redshift.get('RetryOptions', {}).get('DurationInSeconds', 3600)} s"),
        ("error log", f"{logging['LogGroupName']} / {logging['LogStreamName']}" if logging.get("Enabled") else "off"),
        ("role", redshift["RoleARN"]),
    ]
