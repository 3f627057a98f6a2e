"""The Redshift Data API on the local warehouse, over HTTP with boto3 and awswrangler.

API reference: https://docs.aws.amazon.com/redshift-data/latest/APIReference/Welcome.html
Using the Data API: https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html
System views: https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html,
https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html,
https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
"""

from __future__ import annotations

import json
import time

import awswrangler as wr
import boto3
import pytest
from botocore.exceptions import ClientError

WORKGROUP = "rd-test"
PRICE_PER_RPU_HOUR = 0.375  # us-east-1 on-demand price, as the course uses it


@pytest.fixture(scope="module")
def rs(local_cloud):
    return boto3.client("redshift-serverless", region_name=local_cloud.region)


@pytest.fixture(scope="module")
def rd(local_cloud):
    return boto3.client("redshift-data", region_name=local_cloud.region)


def create_workgroup(rs, name: str, base_capacity: int = 8) -> str:
    """A namespace with a managed admin secret and its workgroup, AVAILABLE; returns the secret ARN."""
    namespace = rs.create_namespace(namespaceName=name, manageAdminPassword=True)["namespace"]
    rs.create_workgroup(workgroupName=name, namespaceName=name, baseCapacity=base_capacity)
    deadline = time.monotonic() + 10
    while rs.get_workgroup(workgroupName=name)["workgroup"]["status"] != "AVAILABLE":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return namespace["adminPasswordSecretArn"]


@pytest.fixture(scope="module")
def secret(rs):
    return create_workgroup(rs, WORKGROUP)


class Sql:
    """Run SQL as a notebook does: submit, poll DescribeStatement, fetch the result."""

    def __init__(self, rd, workgroup: str, secret_arn: str) -> None:
        self.rd, self.workgroup, self.secret = rd, workgroup, secret_arn

    def submit(self, sql: str, **kwargs) -> str:
        return self.rd.execute_statement(WorkgroupName=self.workgroup, Database="dev", SecretArn=self.secret, Sql=sql, **kwargs)["Id"]

    def wait(self, statement_id: str) -> dict:
        deadline = time.monotonic() + 30
        while True:
            described = self.rd.describe_statement(Id=statement_id)
            if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                return described
            assert time.monotonic() < deadline, described
            time.sleep(0.02)

    def run(self, sql: str, **kwargs) -> dict:
        return self.wait(self.submit(sql, **kwargs))

    def ok(self, sql: str, **kwargs) -> dict:
        described = self.run(sql, **kwargs)
        assert described["Status"] == "FINISHED", described.get("Error")
        return described

    def rows(self, sql: str, **kwargs) -> list[list]:
        described = self.ok(sql, **kwargs)
        result = self.rd.get_statement_result(Id=described["Id"])
        return [[next(iter(field.values())) if not field.get("isNull") else None for field in record] for record in result["Records"]]


@pytest.fixture(scope="module")
def sql(rd, secret):
    return Sql(rd, WORKGROUP, secret)


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


SALES_DDL = """
create table sales (
    id bigint identity(1, 1),
    invoice_no varchar(20) not null encode zstd distkey,
    stock_code varchar(20) encode lzo,
    quantity integer,
    unit_price decimal(10, 2),
    invoice_date timestamp,
    customer_id integer,
    cancelled boolean,
    loaded_at timestamp default getdate()
)
compound sortkey (invoice_date, invoice_no)
"""


def test_create_table_insert_and_typed_records(sql, rd):
    sql.ok(SALES_DDL)
    inserted = sql.ok(
        "insert into sales (invoice_no, stock_code, quantity, unit_price, invoice_date, customer_id, cancelled) values "
        "('536365', '85123A', 6, 2.55, '2010-12-01 08:26:00', 17850, false), "
        "('536365', '71053', 6, 3.39, '2010-12-01 08:26:00', 17850, false), "
        "('C536379', 'D', -1, 27.50, '2010-12-01 09:41:00', null, true)"
    )
    assert inserted["ResultRows"] == 3 and inserted["HasResultSet"] is False

    described = sql.ok("select id, invoice_no, quantity, unit_price, invoice_date, customer_id, cancelled, "
                       "quantity * unit_price as line_total, count(*) over () as lines from sales order by id")
    assert described["ResultRows"] == 3 and described["HasResultSet"] is True
    result = rd.get_statement_result(Id=described["Id"])
    types = {column["name"]: column["typeName"] for column in result["ColumnMetadata"]}
    assert types == {
        "id": "int8", "invoice_no": "varchar", "quantity": "int4", "unit_price": "numeric", "invoice_date": "timestamp",
        "customer_id": "int4", "cancelled": "bool", "line_total": "numeric", "lines": "int8",
    }
    assert result["TotalNumRows"] == 3
    first, _, cancelled = result["Records"]
    assert first == [
        {"longValue": 1}, {"stringValue": "536365"}, {"longValue": 6}, {"stringValue": "2.55"},
        {"stringValue": "2010-12-01 08:26:00"}, {"longValue": 17850}, {"booleanValue": False},
        {"stringValue": "15.30"}, {"longValue": 3},
    ]
    assert cancelled[5] == {"isNull": True} and cancelled[2] == {"longValue": -1}


def test_table_attributes_show_in_svv_table_info(sql):
    row = sql.rows('select "schema", "table", diststyle, sortkey1, sortkey_num, encoded, tbl_rows, max_varchar '
                   "from svv_table_info where \"table\" = 'sales'")
    assert row == [["public", "sales", "KEY(invoice_no)", "invoice_date", 2, "Y", 3, 20]]


def test_redshift_functions_and_rules(sql):
    (row,) = sql.rows(
        "select getdate() = date_trunc('second', getdate()), "
        "dateadd(day, 30, '2010-12-01'::date), "
        "datediff(day, '2010-12-01'::date, '2011-01-01'::date), "
        "nvl(null, 'none'), "
        "7 / 2, "
        "trunc('2010-12-01 08:26:00'::timestamp), "
        "datepart(hour, '2010-12-01 08:26:00'::timestamp), "
        "len('Online Retail'), "
        "decode(2, 1, 'one', 2, 'two', 'many')"
    )
    assert row == [True, "2010-12-31 00:00:00", 31, "none", 3, "2010-12-01", 8, 13, "two"]
    (listed,) = sql.rows("select listagg(distinct invoice_no, ',') within group (order by invoice_no) from sales")
    assert listed == ["536365,C536379"]
    assert sql.rows("select avg(quantity), avg(unit_price) > 11 from sales") == [[3, True]]  # AVG(int) truncates
    failed = sql.run("insert into sales (invoice_no) values ('123456789012345678901')")
    assert (failed["Status"], failed["Error"]) == ("FAILED", "ERROR: value too long for type character varying(20)")


def test_identity_numbers_rows(sql):
    assert sql.rows("select max(id) from sales") == [[3]]


def test_parameters(sql, rd):
    rows = sql.rows(
        "select stock_code from sales where invoice_no = :invoice and quantity > :minimum order by stock_code",
        Parameters=[{"name": "invoice", "value": "536365"}, {"name": "minimum", "value": "5"}],
    )
    assert rows == [["71053"], ["85123A"]]
    described = sql.ok("select 1 from sales where invoice_no = :invoice", Parameters=[{"name": "invoice", "value": "x"}])
    assert rd.describe_statement(Id=described["Id"])["QueryParameters"] == [{"name": "invoice", "value": "x"}]
    code, message = error_of(rd.execute_statement, WorkgroupName=WORKGROUP, Database="dev", SecretArn=sql.secret, Sql="select :a")
    assert code == "ValidationException" and ":a" in message
    code, message = error_of(
        rd.execute_statement, WorkgroupName=WORKGROUP, Database="dev", SecretArn=sql.secret, Sql="select 1",
        Parameters=[{"name": "unused", "value": "1"}],
    )
    assert code == "ValidationException" and "unused" in message


DIGITS = "(select 0 as n union all select 1 union all select 2 union all select 3 union all select 4 union all " \
         "select 5 union all select 6 union all select 7 union all select 8 union all select 9)"


def test_a_large_result_comes_in_pages(sql, rd):
    big = f"select a.n + b.n * 10 + c.n * 100 + d.n * 1000 as num, repeat('x', 100) as pad " \
          f"from {DIGITS} a, {DIGITS} b, {DIGITS} c, {DIGITS} d order by num"
    described = sql.ok(big)
    assert described["ResultRows"] == 10000
    pages = list(rd.get_paginator("get_statement_result").paginate(Id=described["Id"]))
    assert len(pages) > 1
    numbers = [record[0]["longValue"] for page in pages for record in page["Records"]]
    assert numbers == list(range(10000))
    assert all(page["TotalNumRows"] == 10000 for page in pages)
    code, _ = error_of(rd.get_statement_result, Id=described["Id"], NextToken="bm90LWEtdG9rZW4=")
    assert code == "ValidationException"


def test_batch_is_all_or_nothing(sql, rd):
    failing = rd.batch_execute_statement(
        WorkgroupName=WORKGROUP, Database="dev", SecretArn=sql.secret,
        Sqls=["create table batch_demo (a varchar(3))", "insert into batch_demo values ('ok')", "insert into batch_demo values ('too long')"],
    )["Id"]
    described = sql.wait(failing)
    assert described["Status"] == "FAILED"
    assert described["Error"] == "ERROR: value too long for type character varying(3)"
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED", "FINISHED", "FAILED"]
    assert [s["Id"] for s in described["SubStatements"]] == [f"{failing}:1", f"{failing}:2", f"{failing}:3"]
    assert sql.run("select * from batch_demo")["Error"] == 'ERROR: relation "batch_demo" does not exist'  # rolled back

    passing = rd.batch_execute_statement(
        WorkgroupName=WORKGROUP, Database="dev", SecretArn=sql.secret,
        Sqls=["create table batch_demo (a varchar(3))", "insert into batch_demo values ('ok')", "select a from batch_demo"],
    )["Id"]
    described = sql.wait(passing)
    assert described["Status"] == "FINISHED" and described["HasResultSet"] is True
    code, message = error_of(rd.get_statement_result, Id=passing)
    assert (code, message) == ("ValidationException", "BatchExecuteStatement result can only be retrieved with sub-statement id.")
    assert rd.get_statement_result(Id=f"{passing}:3")["Records"] == [[{"stringValue": "ok"}]]


def test_a_failed_statement_has_aws_shape(sql, rd):
    described = sql.run("select * from no_such_table")
    assert described["Status"] == "FAILED"
    assert described["Error"] == 'ERROR: relation "no_such_table" does not exist'
    assert described["ResultRows"] == -1 and described["HasResultSet"] is False
    code, message = error_of(rd.get_statement_result, Id=described["Id"])
    assert (code, message) == ("ResourceNotFoundException", "Query does not have result. Please check query status with DescribeStatement.")
    no_rows = sql.ok("create table no_result (a int)")
    assert error_of(rd.get_statement_result, Id=no_rows["Id"])[0] == "ResourceNotFoundException"


def test_unsupported_constructs_fail_clearly(sql):
    described = sql.run("create table shapes (g geometry)")
    assert (described["Status"], described["Error"]) == ("FAILED", "ERROR: data type GEOMETRY is not supported by the local warehouse")
    unload = sql.run("unload ('select * from sales') to 's3://bucket/prefix/' iam_role default")
    assert (unload["Status"], unload["Error"]) == ("FAILED", "ERROR: UNLOAD is not supported by the local warehouse")
    several = sql.run("select 1; select 2")
    assert several["Error"] == "ERROR: cannot insert multiple commands into a prepared statement"


def test_catalog_calls(sql, rd):
    common = dict(WorkgroupName=WORKGROUP, SecretArn=sql.secret)
    assert "dev" in rd.list_databases(Database="dev", **common)["Databases"]
    assert {"public", "information_schema", "pg_catalog"} <= set(rd.list_schemas(Database="dev", **common)["Schemas"])
    tables = rd.list_tables(Database="dev", SchemaPattern="public", TablePattern="sal%", **common)["Tables"]
    assert tables == [{"name": "sales", "schema": "public", "type": "TABLE"}]
    columns = rd.describe_table(Database="dev", Schema="public", Table="sales", **common)["ColumnList"]
    invoice = next(c for c in columns if c["name"] == "invoice_no")
    assert (invoice["typeName"], invoice["length"], invoice["nullable"], invoice["tableName"]) == ("varchar", 20, 0, "sales")
    price = next(c for c in columns if c["name"] == "unit_price")
    assert (price["typeName"], price["precision"], price["scale"]) == ("numeric", 10, 2)
    code, message = error_of(rd.list_schemas, Database="nodb", **common)
    assert (code, message) == ("DatabaseConnectionException", 'FATAL: database "nodb" does not exist')


def test_search_path_is_per_session(sql, rd):
    batch = rd.batch_execute_statement(
        WorkgroupName=WORKGROUP, Database="dev", SecretArn=sql.secret,
        Sqls=["create schema mart", "set search_path to mart, public", "create table daily (d date)", "select count(*) from sales"],
    )["Id"]
    assert sql.wait(batch)["Status"] == "FINISHED"
    assert rd.get_statement_result(Id=f"{batch}:4")["Records"] == [[{"longValue": 3}]]  # public is still on the path
    assert sql.run("select * from daily")["Status"] == "FAILED"  # a new session has the default search path
    sql.ok("select * from mart.daily")


def test_query_history(sql, rd):
    described = sql.ok("select count(*) from sales where quantity > 0")
    rows = sql.rows(
        "select user_id, query_type, status, database_name, returned_rows, elapsed_time >= 0, query_text "
        f"from sys_query_history where query_id = {described['RedshiftQueryId']}"
    )
    assert rows == [[100, "SELECT", "success", "dev", 1, True, "select count(*) from sales where quantity > 0"]]
    failed = sql.rows("select count(*) from sys_query_history where status = 'failed' and error_message like '%no_such_table%'")
    assert failed[0][0] >= 1


def test_serverless_usage_and_the_course_cost_query(rs, rd):
    billing = Sql(rd, "rd-billing", create_workgroup(rs, "rd-billing", base_capacity=8))
    assert billing.rows("select count(*) from sys_serverless_usage") == [[0]]  # system views don't wake the compute
    billing.ok("create table billed (a int)")
    assert billing.rows("select sum(charged_seconds), max(compute_capacity) <= 8 from sys_serverless_usage") == [[8 * 60, True]]
    cost = billing.rows(
        'select trunc(start_time) "Day", (sum(charged_seconds)/3600::double precision) * '
        f"{PRICE_PER_RPU_HOUR} as cost_incurred from sys_serverless_usage group by 1 order by 1"
    )
    assert len(cost) == 1 and cost[0][1] == pytest.approx(8 * 60 / 3600 * PRICE_PER_RPU_HOUR)
    per_query = billing.rows(
        "select q.query_id, q.query_type, sum(u.charged_seconds) / 3600::double precision * "
        f"{PRICE_PER_RPU_HOUR} as cost from sys_query_history q "
        "join sys_serverless_usage u on q.start_time >= u.start_time and q.start_time < u.end_time "
        "where q.query_type <> 'UTILITY' and q.query_text not like '%sys_%' group by 1, 2 order by 1"
    )
    assert [row[1] for row in per_query] == ["DDL"] and per_query[0][2] > 0


def test_awswrangler_reads_through_the_data_api(sql, local_cloud):
    con = wr.data_api.redshift.connect(workgroup_name=WORKGROUP, database="dev", secret_arn=sql.secret)
    frame = wr.data_api.redshift.read_sql_query("select invoice_no, quantity, unit_price from sales order by id", con=con)
    assert list(frame.columns) == ["invoice_no", "quantity", "unit_price"]
    assert frame["invoice_no"].tolist() == ["536365", "536365", "C536379"]
    assert frame["quantity"].tolist() == [6, 6, -1]


def test_cancel_statement(sql, rd):
    forever = sql.submit(f"select count(*) from {DIGITS} a, {DIGITS} b, {DIGITS} c, {DIGITS} d, {DIGITS} e, "
                         f"{DIGITS} f, {DIGITS} g, {DIGITS} h, {DIGITS} i, {DIGITS} j, {DIGITS} k, {DIGITS} l")
    deadline = time.monotonic() + 10
    while rd.describe_statement(Id=forever)["Status"] != "STARTED":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert rd.cancel_statement(Id=forever)["Status"] is True
    assert sql.wait(forever)["Status"] == "ABORTED"
    code, message = error_of(rd.cancel_statement, Id=forever)
    assert code == "ValidationException" and "ABORTED" in message
    assert sql.rows("select 1") == [[1]]  # the workgroup goes on


def test_statement_errors(sql, rd):
    code, message = error_of(rd.describe_statement, Id="not-an-id")
    assert code == "ValidationException" and "regex" in message
    code, message = error_of(rd.describe_statement, Id="00000000-0000-0000-0000-000000000000")
    assert (code, message) == ("ResourceNotFoundException", "Query does not exist.")
    code, _ = error_of(rd.execute_statement, WorkgroupName="rd-none", Database="dev", Sql="select 1")
    assert code == "ResourceNotFoundException"
    code, message = error_of(rd.execute_statement, Database="dev", Sql="select 1")
    assert (code, message) == ("ValidationException", "Either ClusterIdentifier or WorkgroupName needs to be specified.")


def test_a_database_that_does_not_exist(sql, rd):
    statement = rd.execute_statement(WorkgroupName=WORKGROUP, Database="nodb", SecretArn=sql.secret, Sql="select 1")["Id"]
    described = sql.wait(statement)
    assert (described["Status"], described["Error"]) == ("FAILED", 'FATAL: database "nodb" does not exist')


def test_list_statements_and_names(sql, rd):
    named = sql.ok("select 42", StatementName="rd-test-answer")
    listed = rd.list_statements(StatementName="rd-test-", Status="FINISHED")["Statements"]
    assert [s["Id"] for s in listed] == [named["Id"]]
    assert listed[0]["QueryString"] == "select 42" and listed[0]["IsBatchStatement"] is False


def test_csv_result_format(sql, rd):
    described = sql.ok("select invoice_no, quantity from sales order by id limit 2", ResultFormat="CSV")
    result = rd.get_statement_result_v2(Id=described["Id"])
    assert result["Records"] == [{"CSVRecords": "536365,6\n536365,6\n"}]
    assert error_of(rd.get_statement_result, Id=described["Id"])[0] == "ValidationException"


def test_with_event_reaches_eventbridge(sql, local_cloud):
    events = boto3.client("events", region_name=local_cloud.region)
    sqs = boto3.client("sqs", region_name=local_cloud.region)
    queue_url = sqs.create_queue(QueueName="rd-test-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="rd-test-events", EventPattern=json.dumps({"source": ["aws.redshift-data"]}))
    events.put_targets(Rule="rd-test-events", Targets=[{"Id": "queue", "Arn": queue_arn}])
    described = sql.ok("select 1", WithEvent=True, StatementName="evented")
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert event["detail-type"] == "Redshift Data Statement Status Change"
    assert event["detail"]["statementId"] == described["Id"] and event["detail"]["state"] == "FINISHED"


def test_who_runs_the_sql(sql, rd, local_cloud):
    assert sql.rows("select current_user") == [["admin"]]
    statement = rd.execute_statement(WorkgroupName=WORKGROUP, Database="dev", Sql="select current_user")["Id"]
    assert rd.get_statement_result(Id=sql.wait(statement)["Id"])["Records"] == [[{"stringValue": "IAM:moto"}]]
    secrets = boto3.client("secretsmanager", region_name=local_cloud.region)
    wrong = secrets.create_secret(Name="rd-test-wrong", SecretString=json.dumps({"username": "admin", "password": "Wr0ngPassword"}))
    described = sql.wait(rd.execute_statement(WorkgroupName=WORKGROUP, Database="dev", SecretArn=wrong["ARN"], Sql="select 1")["Id"])
    assert (described["Status"], described["Error"]) == ("FAILED", 'FATAL: password authentication failed for user "admin"')


def test_a_provisioned_cluster_from_moto(rd, local_cloud):
    redshift = boto3.client("redshift", region_name=local_cloud.region)
    redshift.create_cluster(
        ClusterIdentifier="rd-test-cluster", NodeType="ra3.xlplus", MasterUsername="awsuser",
        MasterUserPassword="Passw0rdOK", DBName="dev", ClusterType="single-node",
    )
    statement = rd.execute_statement(ClusterIdentifier="rd-test-cluster", Database="dev", DbUser="awsuser", Sql="select current_user, 1 + 1")
    described = Sql(rd, WORKGROUP, "").wait(statement["Id"])
    assert described["Status"] == "FINISHED" and described["ClusterIdentifier"] == "rd-test-cluster"
    assert rd.get_statement_result(Id=statement["Id"])["Records"] == [[{"stringValue": "awsuser"}, {"longValue": 2}]]
    code, message = error_of(rd.execute_statement, ClusterIdentifier="rd-none", Database="dev", DbUser="awsuser", Sql="select 1")
    assert (code, message) == ("ValidationException", "Redshift endpoint doesn't exist in this region.")
