"""COPY from Amazon S3 into the local warehouse, through the Redshift Data API over HTTP.

AWS pages: COPY https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html (and its parameter
pages), COPY from JSON format copy-usage_notes-copy-from-json.html, using a manifest
loading-data-files-using-manifest.html, COPY from columnar formats copy-usage_notes-copy-from-columnar.html,
SYS_LOAD_ERROR_DETAIL, STL_LOAD_ERRORS and SYS_LOAD_HISTORY, the load error reference
r_Load_Error_Reference.html.
"""

from __future__ import annotations

import gzip
import io
import json
import time

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import client, data

pytestmark = pytest.mark.integration

WORKGROUP = "copy-test"
BUCKET = "copy-test-bucket"
INVOICES_DDL = """
create table {name} (
    eventid varchar(64),
    invoiceno varchar(10) not null,
    stockcode varchar(20),
    description varchar(256),
    quantity integer,
    invoicedate timestamp,
    unitprice decimal(10, 2),
    customerid varchar(10),
    country varchar(40)
)"""


class Sql:
    def __init__(self, rd, secret_arn: str) -> None:
        self.rd, self.secret = rd, secret_arn

    def run(self, sql: str) -> dict:
        statement_id = self.rd.execute_statement(WorkgroupName=WORKGROUP, Database="dev", SecretArn=self.secret, Sql=sql)["Id"]
        deadline = time.monotonic() + 60
        while True:
            described = self.rd.describe_statement(Id=statement_id)
            if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                return described
            assert time.monotonic() < deadline, described
            time.sleep(0.02)

    def ok(self, sql: str) -> dict:
        described = self.run(sql)
        assert described["Status"] == "FINISHED", described.get("Error")
        return described

    def error(self, sql: str) -> str:
        described = self.run(sql)
        assert described["Status"] == "FAILED", described
        return described["Error"]

    def rows(self, sql: str) -> list[list]:
        described = self.ok(sql)
        records = self.rd.get_statement_result(Id=described["Id"])["Records"]
        return [[None if f.get("isNull") else next(iter(f.values())) for f in record] for record in records]


@pytest.fixture(scope="module")
def s3(local_cloud):
    s3 = boto3.client("s3", region_name=local_cloud.region)
    s3.create_bucket(Bucket=BUCKET)
    return s3


@pytest.fixture(scope="module")
def sql(local_cloud):
    rs = boto3.client("redshift-serverless", region_name=local_cloud.region)
    secret = rs.create_namespace(namespaceName=WORKGROUP, manageAdminPassword=True)["namespace"]["adminPasswordSecretArn"]
    rs.create_workgroup(workgroupName=WORKGROUP, namespaceName=WORKGROUP, baseCapacity=8)
    deadline = time.monotonic() + 10
    while rs.get_workgroup(workgroupName=WORKGROUP)["workgroup"]["status"] != "AVAILABLE":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return Sql(boto3.client("redshift-data", region_name=local_cloud.region), secret)


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return client.to_events(data.load_invoices(data.sample_path()), data.SAMPLE_FILE)


def revenue_by_country(events: list[dict]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for event in events:
        totals[event["Country"]] = totals.get(event["Country"], 0.0) + event["Quantity"] * event["UnitPrice"]
    return totals


def json_lines(events: list[dict], lower_keys: bool = False) -> bytes:
    rows = ({k.lower(): v for k, v in e.items()} if lower_keys else e for e in events)
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def test_json_auto_ignorecase_loads_the_sample_with_its_revenue_per_country(s3, sql, events):
    s3.put_object(Bucket=BUCKET, Key="json/sample.json", Body=json_lines(events))
    sql.ok(INVOICES_DDL.format(name="invoices_json"))
    copied = sql.ok(f"copy invoices_json from 's3://{BUCKET}/json/' iam_role default format as json 'auto ignorecase' timeformat 'auto'")
    assert copied["ResultRows"] == len(events) == 5000
    loaded = {country: float(total) for country, total in sql.rows(
        "select country, sum(quantity * unitprice) from invoices_json group by country")}
    expected = revenue_by_country(events)
    assert loaded.keys() == expected.keys()
    assert all(abs(loaded[c] - expected[c]) < 0.01 for c in expected)
    [[nulls]] = sql.rows("select count(*) from invoices_json where customerid is null")
    assert nulls == sum(1 for e in events if e["CustomerID"] is None)


def test_json_auto_matches_keys_case_sensitively(s3, sql, events):
    # "Column names in Amazon Redshift tables are always lowercase, so when you use the 'auto'
    # option, matching JSON field names must also be lowercase": CamelCase keys load nothing...
    s3.put_object(Bucket=BUCKET, Key="auto/camel.json", Body=json_lines(events[:3]))
    s3.put_object(Bucket=BUCKET, Key="auto-lower/lower.json", Body=json_lines(events[:3], lower_keys=True))
    sql.ok(INVOICES_DDL.format(name="invoices_auto").replace("invoiceno varchar(10) not null", "invoiceno varchar(10)"))
    sql.ok(f"copy invoices_auto from 's3://{BUCKET}/auto/' iam_role default json 'auto'")
    assert sql.rows("select count(*), count(invoiceno) from invoices_auto") == [[3, 0]]
    # ...and lower-case keys load.
    sql.ok(f"copy invoices_auto from 's3://{BUCKET}/auto-lower/' iam_role default json 'auto'")
    assert sql.rows("select count(invoiceno), sum(quantity) from invoices_auto") == [[3, sum(e["Quantity"] for e in events[:3])]]


def test_jsonpaths_file_maps_nested_fields_by_position(s3, sql):
    s3.put_object(Bucket=BUCKET, Key="paths/jsonpaths.json", Body=b'{"jsonpaths": ["$.invoice.no", "$[\'lines\'][0].qty", "$.country"]}')
    s3.put_object(Bucket=BUCKET, Key="nested/a.json", Body=b'{"invoice": {"no": "536365"}, "lines": [{"qty": 6}], "country": "France"}')
    sql.ok("create table nested (no varchar(10), qty int, country varchar(20))")
    error = sql.error(f"copy nested from 's3://{BUCKET}/nested/' iam_role default json 's3://{BUCKET}/paths/jsonpaths.json'")
    assert "bracket notation and dot notation cannot be mixed" in error
    s3.put_object(Bucket=BUCKET, Key="paths/jsonpaths.json", Body=b'{"jsonpaths": ["$.invoice.no", "$.lines[0].qty", "$.country"]}')
    sql.ok(f"copy nested from 's3://{BUCKET}/nested/' iam_role default json 's3://{BUCKET}/paths/jsonpaths.json'")
    assert sql.rows("select no, qty, country from nested") == [["536365", 6, "France"]]
    assert "Number of jsonpaths and the number of columns should match" in sql.error(
        f"copy nested (no, qty) from 's3://{BUCKET}/nested/' iam_role default json 's3://{BUCKET}/paths/jsonpaths.json'")


def test_csv_with_header_quotes_nulls_and_gzip(s3, sql):
    text = 'id,name,price,day\n1,"Smith, ""J""",2.5,2010-12-01\n2,,NULL,\n3,"two\nlines",4,2010-12-03\n'
    s3.put_object(Bucket=BUCKET, Key="csv/plain.csv", Body=text.encode())
    s3.put_object(Bucket=BUCKET, Key="csvgz/part.csv.gz", Body=gzip.compress(text.encode()))
    sql.ok("create table people (id int, name varchar(20), price decimal(6,2), day date)")
    sql.ok(f"copy people from 's3://{BUCKET}/csv/plain.csv' iam_role default csv ignoreheader 1 null as 'NULL' emptyasnull")
    sql.ok(f"copy people from 's3://{BUCKET}/csvgz/' iam_role default format as csv ignoreheader 1 null as 'NULL' gzip")
    assert sql.rows("select id, name, price, day from people order by id, name nulls first") == [
        [1, 'Smith, "J"', "2.50", "2010-12-01"],
        [1, 'Smith, "J"', "2.50", "2010-12-01"],
        [2, None, None, None],  # EMPTYASNULL: the empty name is NULL...
        [2, "", None, None],  # ...without it, an empty string
        [3, "two\nlines", "4.00", "2010-12-03"],
        [3, "two\nlines", "4.00", "2010-12-03"],
    ]


def test_parquet_columns_by_position(s3, sql):
    table = pa.table({"a": pa.array([1, 2], pa.int64()), "b": ["x", None], "c": pa.array([1.5, 2.25])})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    s3.put_object(Bucket=BUCKET, Key="parquet/part-0.parquet", Body=buffer.getvalue())
    sql.ok("create table pq (id bigint, label varchar(5), amount double precision)")
    assert sql.ok(f"copy pq from 's3://{BUCKET}/parquet/' iam_role default format as parquet")["ResultRows"] == 2
    assert sql.rows("select id, label, amount from pq order by id") == [[1, "x", 1.5], [2, None, 2.25]]
    sql.ok("create table pq2 (id bigint, label varchar(5))")
    assert "Unmatched number of columns" in sql.error(f"copy pq2 from 's3://{BUCKET}/parquet/' iam_role default parquet")


def test_manifest_loads_its_entries_and_honours_mandatory(s3, sql):
    s3.put_object(Bucket=BUCKET, Key="many/a.txt", Body=b"1|a\n2|b\n")
    s3.put_object(Bucket=BUCKET, Key="many/b.txt", Body=b"3|c\n")
    manifest = {"entries": [{"url": f"s3://{BUCKET}/many/a.txt", "mandatory": True},
                            {"url": f"s3://{BUCKET}/many/b.txt", "mandatory": True},
                            {"url": f"s3://{BUCKET}/many/missing.txt", "mandatory": False}]}
    s3.put_object(Bucket=BUCKET, Key="manifests/ok.manifest", Body=json.dumps(manifest).encode())
    sql.ok("create table pipes (id int, tag char(1))")
    sql.ok(f"copy pipes from 's3://{BUCKET}/manifests/ok.manifest' iam_role default manifest")
    assert sql.rows("select count(*), sum(id) from pipes") == [[3, 6]]
    manifest["entries"][2]["mandatory"] = True
    s3.put_object(Bucket=BUCKET, Key="manifests/bad.manifest", Body=json.dumps(manifest).encode())
    assert "NoSuchKey" in sql.error(f"copy pipes from 's3://{BUCKET}/manifests/bad.manifest' iam_role default manifest")
    assert "does not exist" in sql.error(f"copy pipes from 's3://{BUCKET}/nothing-here' iam_role default")
    assert sql.rows("select count(*) from pipes") == [[3]]


def test_load_errors_are_recorded_with_file_line_column_and_reason(s3, sql):
    s3.put_object(Bucket=BUCKET, Key="errors/lines.txt", Body=b"1|ok\nC2|bad number\n3|" + b"x" * 30 + b"\n")
    sql.ok("create table checked (id int, note varchar(10))")
    error = sql.error(f"copy checked from 's3://{BUCKET}/errors/' iam_role default")
    assert error == "ERROR: Load into table 'checked' failed. Check 'sys_load_error_detail' system table for details."
    [[query_id]] = sql.rows("select max(query_id) from sys_load_error_detail")
    rows = sql.rows(
        "select trim(file_name), line_number, trim(column_name), trim(column_type), column_length, error_code, trim(error_message) "
        f"from sys_load_error_detail where query_id = {query_id} order by line_number"
    )
    url = f"s3://{BUCKET}/errors/lines.txt"
    assert rows == [
        [url, 2, "id", "int4", "0", 1207, "Invalid digit, Value 'C', Pos 0, Type: Integer"],
        [url, 3, "note", "varchar", "10", 1204, "String length exceeds DDL length"],
    ]
    [[raw_line, raw_value, position, err_code]] = sql.rows(
        f"select raw_line, raw_field_value, position, err_code from stl_load_errors where query = {query_id} and line_number = 3")
    assert (raw_line, raw_value, position, err_code) == ("3|" + "x" * 30, "x" * 30, 2, 1204)
    assert sql.rows("select count(*) from checked") == [[0]]
    [[status, errors]] = sql.rows(f"select status, error_count from sys_load_history where query_id = {query_id}")
    assert (status, errors) == ("aborted", 2)


def test_maxerror_tolerates_fewer_errors_than_it_names(s3, sql):
    # "If the load returns the error_count number of errors or greater, the load fails."
    sql.ok("create table tolerant (id int, note varchar(10))")
    copy = f"copy tolerant from 's3://{BUCKET}/errors/' iam_role default maxerror {{}}"
    assert "Load into table 'tolerant' failed" in sql.error(copy.format(2))  # 2 errors, MAXERROR 2
    assert sql.ok(copy.format(3))["ResultRows"] == 1  # 2 errors, MAXERROR 3: the good row loads
    assert sql.ok(f"copy tolerant from 's3://{BUCKET}/errors/' iam_role default truncatecolumns maxerror 2")["ResultRows"] == 2
    assert sql.rows("select id, note from tolerant order by id") == [[1, "ok"], [1, "ok"], [3, "xxxxxxxxxx"]]


def test_a_copy_of_many_files_with_one_bad_file_commits_nothing(s3, sql, events):
    for part in range(4):
        s3.put_object(Bucket=BUCKET, Key=f"parts/part-{part}.json", Body=json_lines(events[part * 100:(part + 1) * 100]))
    bad = [dict(e) for e in events[400:410]]
    bad[5]["Quantity"] = "six"
    s3.put_object(Bucket=BUCKET, Key="parts/part-4.json", Body=json_lines(bad))
    sql.ok(INVOICES_DDL.format(name="invoices_parts"))
    error = sql.error(f"copy invoices_parts from 's3://{BUCKET}/parts/part-' iam_role default json 'auto ignorecase'")
    assert "Load into table 'invoices_parts' failed" in error
    assert sql.rows("select count(*) from invoices_parts") == [[0]]
    assert sql.rows("select trim(file_name), line_number, trim(column_name) from sys_load_error_detail "
                    "where file_name like '%parts/part-4.json'") == [[f"s3://{BUCKET}/parts/part-4.json", 6, "quantity"]]
    [[files, rows]] = sql.rows("select count(*), sum(lines_scanned) from sys_load_detail "
                               "where query_id = (select max(query_id) from sys_load_detail)")
    assert (files, rows) == (5, 410)


def test_a_bucket_in_another_region_needs_region(local_cloud, sql):
    # "If the Amazon S3 buckets that hold the data files don't reside in the same AWS Region as your
    # cluster, you must use the REGION parameter" (copy-parameters-data-source-s3.html).
    s3_eu = boto3.client("s3", region_name="eu-west-1")
    s3_eu.create_bucket(Bucket="copy-test-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3_eu.put_object(Bucket="copy-test-eu", Key="rows.txt", Body=b"7|z\n")
    sql.ok("create table regional (id int, tag varchar(1))")
    assert "PermanentRedirect" in sql.error("copy regional from 's3://copy-test-eu/rows' iam_role default")
    sql.ok("copy regional from 's3://copy-test-eu/rows' iam_role default region 'eu-west-1'")
    assert sql.rows("select id, tag from regional") == [[7, "z"]]
