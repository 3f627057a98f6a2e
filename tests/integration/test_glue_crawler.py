"""Glue crawlers on the local cloud: StartCrawler infers tables from S3 into the Data Catalog, seen
through plain boto3 and awswrangler.

Each test names the AWS documentation page whose behaviour it checks.
"""

from __future__ import annotations

import io
import json
import time
import uuid

import awswrangler as wr
import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def glue(local_cloud):
    return boto3.client("glue")


@pytest.fixture(scope="module")
def s3(local_cloud):
    return boto3.client("s3")


@pytest.fixture(scope="module")
def bucket(s3):
    name = f"crawl-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def database(glue):
    name = f"db_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": name})
    return name


def ndjson(records: list[dict]) -> bytes:
    return ("\n".join(json.dumps(record) for record in records) + "\n").encode()


def invoice(number: int, **extra) -> dict:
    return {
        "InvoiceNo": f"5363{number:02d}",
        "StockCode": "85123A",
        "Quantity": number,
        "UnitPrice": 2.55,
        "CustomerID": None if number % 3 == 0 else f"178{number:02d}",
        "Country": "United Kingdom",
        "Source": {"shard": "shardId-000000000000", "sequence": number},
        **extra,
    }


def crawl(glue, name: str, database: str, path: str, timeout_s: float = 30, **kwargs) -> dict:
    """Create (or update) and run a crawler; wait until it is READY again; return it."""
    definition = dict(Role="arn:aws:iam::123456789012:role/glue", DatabaseName=database, Targets={"S3Targets": [{"Path": path}]}, **kwargs)
    try:
        glue.create_crawler(Name=name, **definition)
    except ClientError:
        glue.update_crawler(Name=name, **definition)
    glue.start_crawler(Name=name)
    return wait_ready(glue, name, timeout_s)


def wait_ready(glue, name: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        assert time.monotonic() < deadline, f"crawler {name} still {crawler['State']}"
        time.sleep(0.1)


def columns(table: dict) -> dict[str, str]:
    return {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]}


@pytest.fixture(scope="module")
def raw_stream(s3, bucket):
    """NDJSON in Hive-style partitions, as write_kinesis_to_s3 lays them out."""
    prefix = "aws-project/kinesis-stream/"
    for day, hour in (("01", "08"), ("01", "09"), ("02", "10")):
        for part in range(2):
            records = [invoice(10 * part + n) for n in range(1, 6)]
            if hour == "10":
                records[0]["Discount"] = 0.5  # a column that appears later
            key = f"{prefix}year=2010/month=12/day={day}/hour={hour}/shardId-000000000000-{part}.json"
            s3.put_object(Bucket=bucket, Key=key, Body=ndjson(records))
    s3.put_object(Bucket=bucket, Key=f"{prefix}_SUCCESS", Body=b"")
    return f"s3://{bucket}/{prefix}"


# --- https://docs.aws.amazon.com/glue/latest/dg/crawler-s3-folder-table-partition.html ----------


def test_crawler_s3_folder_table_partition_ndjson_with_hive_partitions(glue, database, raw_stream):
    crawler = crawl(glue, f"raw-{uuid.uuid4().hex[:6]}", database, raw_stream)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"

    [table] = glue.get_tables(DatabaseName=database)["TableList"]
    assert table["Name"] == "kinesis_stream"
    assert columns(table) == {
        "invoiceno": "string",
        "stockcode": "string",
        "quantity": "int",
        "unitprice": "double",
        "customerid": "string",
        "country": "string",
        "source": "struct<shard:string,sequence:int>",
        "discount": "double",
    }
    assert table["PartitionKeys"] == [{"Name": key, "Type": "string"} for key in ("year", "month", "day", "hour")]
    descriptor = table["StorageDescriptor"]
    assert descriptor["Location"] == raw_stream
    assert descriptor["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert table["Parameters"]["classification"] == "json"
    assert table["Parameters"]["objectCount"] == "6"
    assert table["TableType"] == "EXTERNAL_TABLE"

    partitions = glue.get_partitions(DatabaseName=database, TableName="kinesis_stream")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [
        ["2010", "12", "01", "08"],
        ["2010", "12", "01", "09"],
        ["2010", "12", "02", "10"],
    ]
    located = {p["StorageDescriptor"]["Location"] for p in partitions}
    assert f"{raw_stream}year=2010/month=12/day=02/hour=10/" in located


def test_crawler_s3_folder_table_partition_seen_by_awswrangler(glue, database, raw_stream):
    crawl(glue, f"wr-{uuid.uuid4().hex[:6]}", database, raw_stream)
    described = wr.catalog.table(database=database, table="kinesis_stream")
    partition_rows = described[described["Partition"]]
    assert list(partition_rows["Column Name"]) == ["year", "month", "day", "hour"]
    assert dict(zip(described["Column Name"], described["Type"]))["quantity"] == "int"
    partitions = wr.catalog.get_partitions(database=database, table="kinesis_stream")
    assert partitions[f"{raw_stream}year=2010/month=12/day=01/hour=08/"] == ["2010", "12", "01", "08"]
    assert wr.catalog.get_table_location(database=database, table="kinesis_stream") == raw_stream


def test_crawler_s3_folder_table_partition_dissimilar_folders_make_separate_tables(glue, s3, bucket, database):
    # The crawler-grouping-policy page's example: {A,B} and {C,D} are not similar enough for one table.
    s3.put_object(Bucket=bucket, Key="table1/year=2017/data1.json", Body=b'{"A": 1, "B": 2}\n')
    s3.put_object(Bucket=bucket, Key="table1/year=2018/data2.json", Body=b'{"C": 3, "D": 4}\n')
    crawl(glue, f"split-{uuid.uuid4().hex[:6]}", database, f"s3://{bucket}/table1/")
    names = sorted(t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"])
    assert names == ["year_2017", "year_2018"]


# --- https://docs.aws.amazon.com/glue/latest/dg/crawler-grouping-policy.html --------------------


def test_crawler_grouping_policy_combine_compatible_schemas_makes_one_table(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key="table2/year=2017/data1.json", Body=b'{"A": 1, "B": 2}\n')
    s3.put_object(Bucket=bucket, Key="table2/year=2018/data2.json", Body=b'{"C": 3, "D": 4}\n')
    configuration = json.dumps({"Version": 1.0, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"}})
    crawl(glue, f"combine-{uuid.uuid4().hex[:6]}", database, f"s3://{bucket}/table2/", Configuration=configuration)
    [table] = glue.get_tables(DatabaseName=database)["TableList"]
    assert table["Name"] == "table2"
    assert columns(table) == {"a": "int", "b": "int", "c": "int", "d": "int"}
    assert table["PartitionKeys"] == [{"Name": "year", "Type": "string"}]


# --- https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html (built-in classifiers) -----


def test_add_classifier_csv_with_header_and_quoted_fields(glue, s3, bucket, database):
    body = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        '536365,85123A,"WHITE HANGING HEART T-LIGHT HOLDER, RED",6,12/1/2010 8:26,2.55,17850,United Kingdom\n'
        "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,,United Kingdom\n"
        "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom\n"
    )
    s3.put_object(Bucket=bucket, Key="bulkimport/online_retail.csv", Body=body.encode())
    crawl(glue, f"csv-{uuid.uuid4().hex[:6]}", database, f"s3://{bucket}/bulkimport/", TablePrefix="s3_")
    table = glue.get_table(DatabaseName=database, Name="s3_bulkimport")["Table"]
    assert columns(table) == {
        "invoiceno": "string",
        "stockcode": "string",
        "description": "string",
        "quantity": "bigint",
        "invoicedate": "string",
        "unitprice": "double",
        "customerid": "bigint",
        "country": "string",
    }
    assert table["Parameters"]["classification"] == "csv"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert table["Parameters"]["delimiter"] == ","
    serde = table["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert serde["Parameters"]["separatorChar"] == ","


def test_add_classifier_csv_without_header_gets_numbered_columns(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key="noheader/data.csv", Body=b"536365|6|2.55\n536366|8|1.85\n")
    crawl(glue, f"nohdr-{uuid.uuid4().hex[:6]}", database, f"s3://{bucket}/noheader/")
    table = glue.get_table(DatabaseName=database, Name="noheader")["Table"]
    assert columns(table) == {"col0": "bigint", "col1": "bigint", "col2": "double"}
    assert "skip.header.line.count" not in table["Parameters"]
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"field.delim": "|"}


def test_add_classifier_parquet_schema_from_the_footer(glue, s3, bucket, database):
    frame = pd.DataFrame(
        {
            "invoice_no": ["536365", "536366"],
            "quantity": pd.Series([6, 8], dtype="int64"),
            "unit_price": [2.55, 1.85],
            "invoice_date": pd.to_datetime(["2010-12-01 08:26", "2010-12-01 08:28"]),
            "cancelled": [False, True],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    s3.put_object(Bucket=bucket, Key="curated/invoices/part-0.parquet", Body=buffer.getvalue())
    crawl(glue, f"pq-{uuid.uuid4().hex[:6]}", database, f"s3://{bucket}/curated/invoices/")
    table = glue.get_table(DatabaseName=database, Name="invoices")["Table"]
    assert columns(table) == {
        "invoice_no": "string",
        "quantity": "bigint",
        "unit_price": "double",
        "invoice_date": "timestamp",
        "cancelled": "boolean",
    }
    assert table["Parameters"]["classification"] == "parquet"
    assert table["Parameters"]["recordCount"] == "2"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")


# --- https://docs.aws.amazon.com/glue/latest/dg/define-crawler-choose-data-sources.html --------


def test_define_crawler_exclusions_leave_matching_objects_out(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key="mixed/keep/a.json", Body=b'{"id": 1}\n')
    s3.put_object(Bucket=bucket, Key="mixed/skip/b.csv", Body=b"x,y\n1,2\n3,4\n")
    glue.create_crawler(
        Name=(name := f"excl-{uuid.uuid4().hex[:6]}"),
        Role="glue",
        DatabaseName=database,
        Targets={"S3Targets": [{"Path": f"s3://{bucket}/mixed/", "Exclusions": ["skip/**"]}]},
    )
    glue.start_crawler(Name=name)
    wait_ready(glue, name)
    [table] = glue.get_tables(DatabaseName=database)["TableList"]
    assert table["Name"] == "mixed" and columns(table) == {"id": "int"}


# --- https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-crawling.html -------------


def test_crawler_api_states_last_crawl_logs_and_metrics(glue, database, raw_stream):
    name = f"states-{uuid.uuid4().hex[:6]}"
    glue.create_crawler(Name=name, Role="glue", DatabaseName=database, Targets={"S3Targets": [{"Path": raw_stream}]})
    assert glue.get_crawler(Name=name)["Crawler"]["State"] == "READY"
    with pytest.raises(ClientError) as idle:
        glue.stop_crawler(Name=name)
    assert idle.value.response["Error"]["Code"] == "CrawlerNotRunningException"

    glue.start_crawler(Name=name)
    assert glue.get_crawler(Name=name)["Crawler"]["State"] in ("RUNNING", "STOPPING")
    with pytest.raises(ClientError) as again:
        glue.start_crawler(Name=name)
    assert again.value.response["Error"]["Code"] == "CrawlerRunningException"

    crawler = wait_ready(glue, name)
    last = crawler["LastCrawl"]
    assert last["Status"] == "SUCCEEDED"
    assert last["LogGroup"] == "/aws-glue/crawlers" and last["LogStream"] == name
    messages = [
        event["message"]
        for event in boto3.client("logs").get_log_events(logGroupName="/aws-glue/crawlers", logStreamName=name)["events"]
    ]
    assert any(message.startswith(f"[{last['MessagePrefix']}] ") for message in messages)
    assert any("Created table kinesis_stream" in message for message in messages)

    [metrics] = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"], metrics["StillEstimating"]) == (1, 0, False)
    assert metrics["LastRuntimeSeconds"] > 0
    [entry] = glue.list_crawls(CrawlerName=name)["Crawls"]
    assert entry["State"] == "COMPLETED" and entry["CrawlId"] == last["MessagePrefix"]


def test_crawler_api_failed_crawl_reports_its_error(glue, bucket):
    name = f"nodb-{uuid.uuid4().hex[:6]}"
    crawler = crawl(glue, name, "no_such_database", f"s3://{bucket}/aws-project/")
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert crawler["LastCrawl"]["ErrorMessage"] == "Database no_such_database not found."


# --- https://docs.aws.amazon.com/glue/latest/dg/crawler-schema-changes-prevent.html -------------


def test_crawler_schema_change_policy_update_or_log(glue, s3, bucket, database):
    prefix = f"evolving-{uuid.uuid4().hex[:6]}/"
    s3.put_object(Bucket=bucket, Key=f"{prefix}a.json", Body=b'{"id": 1}\n')
    name = f"evolve-{uuid.uuid4().hex[:6]}"
    crawl(glue, name, database, f"s3://{bucket}/{prefix}")
    table_name = prefix.rstrip("/").replace("-", "_")

    s3.put_object(Bucket=bucket, Key=f"{prefix}a.json", Body=b'{"id": 1, "note": "x"}\n')
    crawl(glue, name, database, f"s3://{bucket}/{prefix}", SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    assert columns(glue.get_table(DatabaseName=database, Name=table_name)["Table"]) == {"id": "int"}

    crawl(glue, name, database, f"s3://{bucket}/{prefix}", SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE"})
    assert columns(glue.get_table(DatabaseName=database, Name=table_name)["Table"]) == {"id": "int", "note": "string"}
    [metrics] = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"]
    assert metrics["TablesUpdated"] == 1

    s3.delete_object(Bucket=bucket, Key=f"{prefix}a.json")
    crawl(glue, name, database, f"s3://{bucket}/{prefix}", SchemaChangePolicy={"DeleteBehavior": "DELETE_FROM_DATABASE"})
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName=database, Name=table_name)


# --- https://docs.aws.amazon.com/glue/latest/webapi/API_CatalogTarget.html ----------------------


def catalog_crawler(glue, name: str, database: str, tables: list[str], delete_behavior: str = "LOG") -> dict:
    glue.create_crawler(
        Name=name,
        Role="arn:aws:iam::123456789012:role/glue",
        DatabaseName=database,
        Targets={"CatalogTargets": [{"DatabaseName": database, "Tables": tables}]},
        SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": delete_behavior},
    )
    glue.start_crawler(Name=name)
    return wait_ready(glue, name)


def test_catalog_target_updates_the_existing_table_and_keeps_its_name(glue, database, raw_stream):
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": "s3_bulkimport",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "json"},
            "StorageDescriptor": {
                "Columns": [],
                "Location": raw_stream,
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
            },
        },
    )
    crawler = catalog_crawler(glue, f"cat-{uuid.uuid4().hex[:6]}", database, ["s3_bulkimport"])
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED", crawler["LastCrawl"].get("ErrorMessage")

    [table] = glue.get_tables(DatabaseName=database)["TableList"]  # no kinesis_stream table beside it
    assert table["Name"] == "s3_bulkimport"
    assert table["StorageDescriptor"]["Location"] == raw_stream
    assert columns(table)["quantity"] == "int" and columns(table)["discount"] == "double"
    assert [key["Name"] for key in table["PartitionKeys"]] == ["year", "month", "day", "hour"]
    assert table["Parameters"]["classification"] == "json"
    assert table["Parameters"]["UPDATED_BY_CRAWLER"] == crawler["Name"]
    partitions = glue.get_partitions(DatabaseName=database, TableName="s3_bulkimport")["Partitions"]
    assert len(partitions) == 3

    glue.start_crawler(Name=crawler["Name"])  # a second crawl finds nothing new
    again = wait_ready(glue, crawler["Name"])
    assert again["LastCrawl"]["Status"] == "SUCCEEDED"
    assert [t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"]] == ["s3_bulkimport"]


def test_catalog_target_missing_table_fails_the_crawl_clearly(glue, database):
    crawler = catalog_crawler(glue, f"cat-{uuid.uuid4().hex[:6]}", database, ["no_such_table"])
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert "Table no_such_table" in crawler["LastCrawl"]["ErrorMessage"]
    assert "not found" in crawler["LastCrawl"]["ErrorMessage"]


def test_catalog_target_needs_delete_behavior_log(glue, database):
    crawler = catalog_crawler(glue, f"cat-{uuid.uuid4().hex[:6]}", database, ["any"], "DEPRECATE_IN_DATABASE")
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert "DeleteBehavior" in crawler["LastCrawl"]["ErrorMessage"]
