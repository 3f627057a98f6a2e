"""Amazon Data Firehose delivery in the local cloud: buffering, S3 objects, and COPY into Redshift.

AWS pages: CreateDeliveryStream https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html,
BufferingHints API_BufferingHints.html, "Understand data delivery" basic-deliver.html (buffering,
Redshift COPY, failure handling), "Configure Amazon S3 object name format" s3-object-name.html,
"Write to Firehose using Kinesis Data Streams" writing-with-kinesis-streams.html.
"""

from __future__ import annotations

import functools
import gzip
import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import benchmarking, client, data

pytestmark = pytest.mark.integration

BUCKET = "firehose-test-bucket"
WORKGROUP = "fh-test"
ROLE = "arn:aws:iam::123456789012:role/firehose-test"
DB_USER, DB_PASSWORD = "firehose_user", "Firehose1234"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def object_name_pattern(prefix: str, stream: str) -> re.Pattern[str]:
    """<prefix>YYYY/MM/dd/HH/<stream>-<version>-YYYY-MM-dd-HH-MM-SS-<uuid> (s3-object-name.html)."""
    return re.compile(rf"^{re.escape(prefix)}(\d{{4}})/(\d{{2}})/(\d{{2}})/(\d{{2}})/{re.escape(stream)}-1-\1-\2-\3-\4-\d{{2}}-\d{{2}}-{UUID}$")


@pytest.fixture(scope="module")
def aws(local_cloud):
    region = local_cloud.region
    clients = {name: boto3.client(name, region_name=region) for name in ("s3", "firehose", "kinesis", "redshift-serverless", "redshift-data", "logs")}
    clients["s3"].create_bucket(Bucket=BUCKET)
    return clients


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return client.to_events(data.load_invoices(data.sample_path()), data.SAMPLE_FILE)


wait_until = functools.partial(benchmarking.wait_until, timeout=30.0, every=0.1)


def wait_active(firehose, name: str) -> dict:
    statuses = []

    def active():
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        statuses.append(description["DeliveryStreamStatus"])
        return description if statuses[-1] == "ACTIVE" else None

    description = wait_until(active, timeout=10)
    assert statuses[0] == "CREATING"  # CreateDeliveryStream "is an asynchronous operation"
    return description


def keys(s3, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def put_batches(firehose, name: str, records: list[bytes]) -> None:
    for start in range(0, len(records), 500):
        answer = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records[start:start + 500]])
        assert answer["FailedPutCount"] == 0


def s3_destination(prefix: str, size_mb: int, interval: int) -> dict:
    return {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "Prefix": prefix,
        "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval},
    }


def test_size_reached_first_gives_objects_of_the_buffer_size(aws, events):
    firehose, s3 = aws["firehose"], aws["s3"]
    records = [(json.dumps(e) + "\n").encode() for e in events]  # about 1.28 MB
    firehose.create_delivery_stream(DeliveryStreamName="fh-size", ExtendedS3DestinationConfiguration=s3_destination("size/", 1, 2))
    wait_active(firehose, "fh-size")
    put_batches(firehose, "fh-size", records)
    delivered = wait_until(lambda: len(keys(s3, "size/")) == 2 and keys(s3, "size/"))
    bodies = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in delivered]
    sizes = sorted(len(body) for body in bodies)
    assert sizes[1] <= 1024 * 1024 < sizes[1] + len(records[0]) + 200  # one object of the buffer size...
    assert sum(sizes) == sum(len(r) for r in records)  # ...and the rest, delivered at the interval
    assert b"".join(sorted(bodies, key=len, reverse=True)) == b"".join(records)  # in order, nothing lost
    assert all(object_name_pattern("size/", "fh-size").match(key) for key in delivered)


def test_interval_reached_first_gives_one_object(aws):
    firehose, s3 = aws["firehose"], aws["s3"]
    firehose.create_delivery_stream(
        DeliveryStreamName="fh-interval",
        ExtendedS3DestinationConfiguration={**s3_destination("", 5, 1), "Prefix": "", "CompressionFormat": "GZIP"},
    )
    description = wait_active(firehose, "fh-interval")
    extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 1}
    for n in range(3):
        firehose.put_record(DeliveryStreamName="fh-interval", Record={"Data": f"record {n}\n".encode()})
    [key] = wait_until(lambda: [k for k in keys(s3, "") if "fh-interval" in k])
    # No prefix: Firehose's default UTC time prefix; GZIP adds .gz.
    assert re.match(rf"^\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/fh-interval-1-\d{{4}}(-\d{{2}}){{5}}-{UUID}\.gz$", key)
    assert gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == b"record 0\nrecord 1\nrecord 2\n"


def test_api_rules(aws):
    firehose, kinesis = aws["firehose"], aws["kinesis"]
    kinesis.create_stream(StreamName="fh-rules", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="fh-rules")["StreamDescription"]["StreamARN"]
    firehose.create_delivery_stream(
        DeliveryStreamName="fh-rules",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=s3_destination("rules/", 1, 60),
    )
    with pytest.raises(ClientError) as creating:
        firehose.put_record(DeliveryStreamName="fh-rules", Record={"Data": b"x"})
    assert creating.value.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidArgumentException")
    description = wait_active(firehose, "fh-rules")
    assert description["Source"]["KinesisStreamSourceDescription"]["DeliveryStartTimestamp"]
    with pytest.raises(ClientError) as from_kinesis:
        firehose.put_record(DeliveryStreamName="fh-rules", Record={"Data": b"x"})
    assert from_kinesis.value.response["Error"] == {
        "Code": "InvalidArgumentException",
        "Message": "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
    }
    with pytest.raises(ClientError) as unsupported:
        firehose.create_delivery_stream(
            DeliveryStreamName="fh-http",
            HttpEndpointDestinationConfiguration={"EndpointConfiguration": {"Url": "https://example.com"}, "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}"}},
        )
    assert unsupported.value.response["Error"]["Code"] == "InvalidArgumentException"
    firehose.delete_delivery_stream(DeliveryStreamName="fh-rules")
    assert "fh-rules" not in firehose.list_delivery_streams()["DeliveryStreamNames"]


@pytest.fixture(scope="module")
def warehouse(aws):
    """A workgroup with the table the stream loads and a dedicated database user for Firehose."""
    rs, rd = aws["redshift-serverless"], aws["redshift-data"]
    secret = rs.create_namespace(namespaceName=WORKGROUP, manageAdminPassword=True)["namespace"]["adminPasswordSecretArn"]
    rs.create_workgroup(workgroupName=WORKGROUP, namespaceName=WORKGROUP, baseCapacity=8)
    wait_until(lambda: rs.get_workgroup(workgroupName=WORKGROUP)["workgroup"]["status"] == "AVAILABLE", timeout=10)

    def sql(statement: str) -> list[list]:
        statement_id = rd.execute_statement(WorkgroupName=WORKGROUP, Database="dev", SecretArn=secret, Sql=statement)["Id"]
        described = wait_until(lambda: (d := rd.describe_statement(Id=statement_id))["Status"] in ("FINISHED", "FAILED") and d)
        assert described["Status"] == "FINISHED", described.get("Error")
        if not described["HasResultSet"]:
            return []
        records = rd.get_statement_result(Id=statement_id)["Records"]
        return [[None if f.get("isNull") else next(iter(f.values())) for f in record] for record in records]

    sql(f"create user {DB_USER} password '{DB_PASSWORD}'")
    sql("""create table invoices (
        eventid varchar(64), invoiceno varchar(10) not null, stockcode varchar(20), description varchar(256),
        quantity integer, invoicedate timestamp, unitprice decimal(10, 2), customerid varchar(10), country varchar(40))""")
    return sql


def redshift_destination(prefix: str, username: str = DB_USER, retry_seconds: int = 60, **extra) -> dict:
    return {
        "RoleARN": ROLE,
        "ClusterJDBCURL": f"jdbc:redshift://{WORKGROUP}.123456789012.us-east-1.redshift-serverless.amazonaws.com:5439/dev",
        "CopyCommand": {
            "DataTableName": "invoices",
            "DataTableColumns": "eventid,invoiceno,stockcode,description,quantity,invoicedate,unitprice,customerid,country",
            "CopyOptions": "json 'auto ignorecase' timeformat 'auto'",
        },
        "Username": username,
        "Password": DB_PASSWORD,
        "RetryOptions": {"DurationInSeconds": retry_seconds},
        "S3Configuration": {
            "RoleARN": ROLE,
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "Prefix": prefix,
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
        },
        **extra,
    }


def test_kinesis_to_redshift_delivers_the_sample(aws, warehouse, events):
    kinesis, firehose, s3 = aws["kinesis"], aws["firehose"], aws["s3"]
    kinesis.create_stream(StreamName="fh-api-data", ShardCount=2)
    stream_arn = kinesis.describe_stream(StreamName="fh-api-data")["StreamDescription"]["StreamARN"]
    kinesis.put_record(StreamName="fh-api-data", Data=b'{"InvoiceNo": "before"}', PartitionKey="x")  # before the stream: not read
    firehose.create_delivery_stream(
        DeliveryStreamName="fh-redshift",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
        RedshiftDestinationConfiguration=redshift_destination("redshift/"),
    )
    description = wait_active(firehose, "fh-redshift")
    assert "Password" not in description["Destinations"][0]["RedshiftDestinationDescription"]
    for start in range(0, len(events), 500):
        batch = events[start:start + 500]
        answer = kinesis.put_records(StreamName="fh-api-data", Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["InvoiceNo"]} for e in batch])
        assert answer["FailedRecordCount"] == 0
    wait_until(lambda: warehouse("select count(*) from invoices") == [[len(events)]], timeout=40, every=0.3)

    loaded = {country: float(total) for country, total in warehouse("select country, sum(quantity * unitprice) from invoices group by country")}
    expected: dict[str, float] = {}
    for event in events:
        expected[event["Country"]] = expected.get(event["Country"], 0.0) + event["Quantity"] * event["UnitPrice"]
    assert loaded.keys() == expected.keys() and all(abs(loaded[c] - expected[c]) < 0.01 for c in expected)

    data_keys = [k for k in keys(s3, "redshift/") if not k.startswith("redshift/manifests/")]
    assert data_keys and all(object_name_pattern("redshift/", "fh-redshift").match(k) for k in data_keys)
    manifests = keys(s3, "redshift/manifests/")
    assert manifests and all(object_name_pattern("redshift/manifests/", "fh-redshift").match(k) for k in manifests)
    listed = [entry["url"] for key in manifests for entry in json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["entries"]]
    assert sorted(listed) == sorted(f"s3://{BUCKET}/{k}" for k in data_keys)  # every object loaded once
    # One COPY per manifest, each in the warehouse's query history.
    copies = warehouse("select count(*) from sys_query_history where query_type = 'COPY' and status = 'success' "
                       "and query_text like '%/manifests/%fh-redshift-1-%'")
    assert copies == [[len(manifests)]]


def test_failed_copies_are_retried_then_skipped_to_errors_manifests(aws, warehouse):
    firehose, s3, logs = aws["firehose"], aws["s3"], aws["logs"]
    group = "/aws/kinesisfirehose/fh-no-user"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="RedshiftDelivery")
    firehose.create_delivery_stream(
        DeliveryStreamName="fh-no-user",
        RedshiftDestinationConfiguration=redshift_destination(
            "bad/",
            username="nobody",  # never created in the warehouse
            retry_seconds=1,
            CloudWatchLoggingOptions={"Enabled": True, "LogGroupName": group, "LogStreamName": "RedshiftDelivery"},
        ),
    )
    wait_active(firehose, "fh-no-user")
    firehose.put_record(DeliveryStreamName="fh-no-user", Record={"Data": b'{"InvoiceNo": "X1", "Quantity": 1}'})
    [error_manifest] = wait_until(lambda: keys(s3, "bad/errors/manifests/"), timeout=15)
    assert object_name_pattern("bad/errors/manifests/", "fh-no-user").match(error_manifest)
    [entry] = json.loads(s3.get_object(Bucket=BUCKET, Key=error_manifest)["Body"].read())["entries"]
    assert entry["url"].startswith(f"s3://{BUCKET}/bad/") and s3.get_object(Bucket=BUCKET, Key=entry["url"].split("/", 3)[3])
    events = logs.get_log_events(logGroupName=group, logStreamName="RedshiftDelivery")["events"]
    codes = {json.loads(e["message"])["errorCode"] for e in events}
    assert codes == {"Redshift.AuthenticationFailed"} and len(events) >= 2  # the first attempt and at least one retry
    assert warehouse("select count(*) from invoices where invoiceno = 'X1'") == [[0]]


def test_the_notebook_helper_creates_then_updates_the_stream(aws, warehouse, local_cloud):
    """helpers.firehose.ensure_delivery_stream, run twice as a notebook cell may be: create, then update."""
    import dataclasses

    from helpers import aws as workbook_aws
    from helpers import config
    from helpers import firehose as workbook_firehose

    names = dataclasses.replace(local_cloud.names, bucket_prefix="fh-helper")
    settings = dataclasses.replace(local_cloud, names=names)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "settings", lambda: settings)
        workbook_aws.session.cache_clear()
        workbook_aws.account_id.cache_clear()
        try:
            aws["s3"].create_bucket(Bucket=workbook_aws.bucket())
            aws["kinesis"].create_stream(StreamName="fh-helper-stream", ShardCount=1)
            stream_arn = aws["kinesis"].describe_stream(StreamName="fh-helper-stream")["StreamDescription"]["StreamARN"]
            destination = workbook_firehose.redshift_destination(
                role_arn=ROLE, workgroup=WORKGROUP, table="invoices", username=DB_USER, password=DB_PASSWORD)
            first = workbook_firehose.ensure_delivery_stream("fh-helper", source_stream_arn=stream_arn, role_arn=ROLE, destination=destination)
            redshift = first["Destinations"][0]["RedshiftDestinationDescription"]
            assert redshift["ClusterJDBCURL"] == f"jdbc:redshift://{WORKGROUP}.123456789012.{settings.region}.redshift-serverless.amazonaws.com:5439/dev"
            assert redshift["S3DestinationDescription"]["Prefix"] == names.firehose_prefix
            destination["CopyCommand"]["CopyOptions"] += " maxerror 10"
            second = workbook_firehose.ensure_delivery_stream("fh-helper", source_stream_arn=stream_arn, role_arn=ROLE, destination=destination)
            assert second["VersionId"] == "2"
            assert second["Destinations"][0]["RedshiftDestinationDescription"]["CopyCommand"]["CopyOptions"].endswith("maxerror 10")
            assert workbook_firehose.delivery_report()["error_manifests"] == 0
        finally:
            workbook_aws.session.cache_clear()
            workbook_aws.account_id.cache_clear()
