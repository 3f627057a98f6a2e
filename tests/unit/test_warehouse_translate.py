"""Redshift SQL to DuckDB SQL (helpers.localcloud.warehouse.translate), without an engine.

CREATE TABLE: https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
Names and identifiers: https://docs.aws.amazon.com/redshift/latest/dg/r_names.html
What actually runs on DuckDB is checked through the Data API in tests/integration/test_redshift_data.py.
"""

from __future__ import annotations

import pytest

from helpers.localcloud.warehouse.translate import (
    MULTIPLE_STATEMENTS,
    RelationName,
    TranslationError,
    leading_words,
    placeholder_names,
    translate,
)


class FakeCatalog:
    """A database ``dev`` with ``public.sales`` and the system views."""

    database = "dev"
    user = "admin"

    def __init__(self) -> None:
        self.tables = {
            ("public", "sales"): {"ts": "TIMESTAMP", "price": "DECIMAL(10,2)", "invoice_no": "VARCHAR", "quantity": "INTEGER"}
        }

    def resolve(self, schema, name):
        for table_schema, table_name in self.tables:
            if table_name == name and schema in (None, table_schema):
                return RelationName("dev", table_schema, table_name)
        return None

    def creation_schema(self):
        return "public"

    def column_types(self, relation):
        if relation.database == "redshift_system":
            return {"start_time": "TIMESTAMP", "charged_seconds": "INTEGER"}
        return self.tables.get((relation.schema, relation.name), {})


def t(sql: str):
    return translate(sql, FakeCatalog())


SALES_DDL = (
    "create table sales(id int identity(1,1), invoice_no varchar(20) encode zstd not null, "
    "price decimal(10,2), ts timestamp default getdate(), primary key(id)) "
    "diststyle key distkey(invoice_no) compound sortkey(ts, invoice_no)"
)


def test_table_attributes_are_recorded_and_not_given_to_duckdb():
    translation = t(SALES_DDL)
    table = translation.table
    assert table.relation == RelationName("dev", "public", "sales")
    assert (table.diststyle, table.distkey) == ("KEY", "invoice_no")
    assert (table.sortkey, table.sortkey_style) == (("ts", "invoice_no"), "COMPOUND")
    assert [c.encoding for c in table.columns] == [None, "zstd", None, None]
    assert table.constraints == ("PRIMARY KEY (id)",)
    duckdb_sql = " ".join(translation.statements).upper()
    for word in ("DISTKEY", "SORTKEY", "DISTSTYLE", "ENCODE", "PRIMARY KEY"):
        assert word not in duckdb_sql
    assert translation.query_type == "DDL" and not translation.returns_rows


def test_column_level_distkey_and_sortkey():
    table = t("create table t (a int distkey sortkey, b varchar)").table
    assert (table.distkey, table.sortkey, table.diststyle) == ("a", ("a",), "KEY")


@pytest.mark.parametrize(
    "clause, style, sortkey",
    [("interleaved sortkey(a, b)", "INTERLEAVED", ("a", "b")), ("sortkey auto", "AUTO", ()), ("sortkey(b)", "COMPOUND", ("b",))],
)
def test_sort_key_styles(clause, style, sortkey):
    table = t(f"create table t (a int, b int) {clause}").table
    assert (table.sortkey_style, table.sortkey) == (style, sortkey)


@pytest.mark.parametrize("style", ["even", "all", "auto"])
def test_distribution_styles(style):
    assert t(f"create table t (a int) diststyle {style}").table.diststyle == style.upper()


def test_default_distribution_is_auto():
    assert t("create table t (a int)").table.diststyle == "AUTO"


@pytest.mark.parametrize(
    "sql, message",
    [
        ("create table t (a int) distkey(b)", 'column "b"'),
        ("create table t (a int) diststyle key", "DISTSTYLE KEY requires a DISTKEY"),
        ("create table t (a int, b int) diststyle even distkey(a)", "cannot have a DISTKEY"),
        ("create table t (g geometry)", "GEOMETRY is not supported"),
        ("create table t (a varchar(70000))", "cannot exceed 65535"),
        ("create table t (a varchar(10) identity(1,1))", "must be INT or BIGINT"),
    ],
)
def test_bad_table_definitions_fail_with_redshift_style_errors(sql, message):
    with pytest.raises(TranslationError) as error:
        t(sql)
    assert error.value.message.startswith("ERROR: ") and message in error.value.message


def test_identity_becomes_a_sequence_and_a_default():
    translation = t("create table t (id bigint identity(100, 5), v int)")
    sequence, create = translation.statements
    assert 'CREATE SEQUENCE IF NOT EXISTS "dev"."public"."t_id_identity_seq" START WITH 100 INCREMENT BY 5' == sequence
    assert "NEXTVAL('dev.public.t_id_identity_seq')" in create
    assert translation.table.columns[0].identity == (100, 5)


def test_varchar_length_is_enforced_with_a_check():
    create = t("create table t (a varchar(3), b char(2))").statements[-1]
    assert 'CHECK (STRLEN("a") <= 3)' in create and 'CHECK (STRLEN("b") <= 2)' in create


def test_getdate_is_a_timestamp_to_the_second():
    sql = t("select getdate(), sysdate, current_date").statements[0]
    assert "CAST(DATE_TRUNC('second', CAST(NOW() AT TIME ZONE 'UTC' AS TIMESTAMP)) AS TIMESTAMP) AS \"getdate\"" in sql
    assert "CAST(NOW() AT TIME ZONE 'UTC' AS TIMESTAMP) AS \"timestamp\"" in sql
    assert 'TODAY() AS "current_date"' in sql


def test_select_into_creates_a_table():
    translation = t("select invoice_no into temp recent from sales")
    assert translation.query_type == "CTAS" and translation.table.temporary
    assert translation.statements[-1] == 'CREATE TEMPORARY TABLE recent AS SELECT invoice_no FROM sales'


def test_to_char_month_names():
    assert "STRFTIME(ts, '%b %d, %Y')" in t("select to_char(ts, 'Mon DD, YYYY') from sales").statements[0]


def test_dateadd_datediff_nvl_listagg():
    sql = t(
        "select dateadd(day, 1, ts), datediff(day, ts, getdate()), nvl(price, 0), "
        "listagg(invoice_no, ',') within group (order by invoice_no) from sales group by 1, 2, 3"
    ).statements[0]
    assert "INTERVAL 1 DAY" in sql
    assert "DATE_DIFF('DAY'" in sql
    assert "COALESCE(price, 0)" in sql
    assert "LISTAGG(invoice_no, ',' ORDER BY invoice_no)" in sql


def test_trunc_of_a_timestamp_is_its_date_and_trunc_of_a_number_stays():
    sql = t("select trunc(ts), trunc(price) from sales").statements[0]
    assert 'CAST(ts AS DATE) AS "trunc"' in sql and 'TRUNC(price) AS "trunc"' in sql


def test_the_course_cost_query_reads_the_system_view():
    translation = t(
        'select trunc(start_time) "Day", (sum(charged_seconds)/3600::double precision) * 0.375 as cost_incurred '
        "from sys_serverless_usage group by 1 order by 1"
    )
    (sql,) = translation.statements
    assert "FROM redshift_system.main.sys_serverless_usage" in sql
    assert 'CAST(start_time AS DATE) AS "day"' in sql  # identifiers fold to lower case, quoted ones too
    assert not translation.user_relations  # reading a system view does not wake the compute


def test_identifier_case_is_kept_when_the_workgroup_says_so():
    sql = translate('select 1 as "Day"', FakeCatalog(), case_sensitive=True).statements[0]
    assert '"Day"' in sql


def test_avg_of_an_integer_is_a_truncated_bigint():
    sql = t("select avg(quantity), avg(price), avg(quantity) over (partition by invoice_no) from sales").statements[0]
    assert 'CAST(TRUNC(AVG(quantity)) AS BIGINT) AS "avg"' in sql
    assert 'AVG(price) AS "avg"' in sql
    assert "CAST(TRUNC(AVG(quantity) OVER (PARTITION BY invoice_no)) AS BIGINT)" in sql


def test_listagg_distinct_keeps_its_delimiter():
    sql = t("select listagg(distinct invoice_no, ',') within group (order by invoice_no) from sales").statements[0]
    assert "LISTAGG(DISTINCT invoice_no, ',' ORDER BY invoice_no)" in sql


def test_ratio_to_report_is_a_share_of_the_partition_sum():
    sql = t("select ratio_to_report(price) over (partition by invoice_no) from sales").statements[0]
    assert "CAST(price AS DOUBLE) / SUM(price) OVER (PARTITION BY invoice_no)" in sql


def test_current_user_is_the_session_user():
    assert "CAST('admin' AS TEXT)" in t("select current_user").statements[0]


def test_datepart_with_a_bare_unit():
    assert "EXTRACT(HOUR FROM ts)" in t("select datepart(hour, ts) from sales").statements[0]


def test_unnamed_columns_get_postgres_names():
    sql = t("select count(*), sum(price), 1 + 1, price::int, case when 1=1 then 1 end from sales").statements[0]
    for name in ('"count"', '"sum"', '"?column?"', '"price"', '"case"'):
        assert f"AS {name}" in sql


def test_parameters_become_duckdb_named_parameters():
    translation = t("select * from sales where invoice_no = :inv and price > :min")
    assert translation.parameters == ("inv", "min")
    assert "$inv" in translation.statements[0] and "$min" in translation.statements[0]


def test_to_char_of_a_number_is_refused_clearly():
    with pytest.raises(TranslationError, match="TO_CHAR with a numeric argument"):
        t("select to_char(price, '999.99') from sales")


def test_statement_kinds():
    assert t("insert into sales (invoice_no) values ('x')").query_type == "INSERT"
    assert t("update sales set price = 1").query_type == "UPDATE"
    assert t("delete from sales").query_type == "DELETE"
    assert t("create table c as select * from sales").query_type == "CTAS"
    assert t("drop table sales").dropped == (RelationName("dev", "public", "sales"),)
    assert t("alter table sales rename to orders").renamed == (RelationName("dev", "public", "sales"), "orders")
    assert t("select 1 union select 2").returns_rows


def test_several_statements_in_one_call_fail_as_a_prepared_statement_does():
    with pytest.raises(TranslationError) as error:
        t("select 1; select 2")
    assert error.value.message == MULTIPLE_STATEMENTS


def test_unsupported_statements_name_the_construct():
    with pytest.raises(TranslationError, match=r"CREATE EXTERNAL SCHEMA .* is not supported"):
        t("create external schema spectrum from data catalog database 'x' iam_role 'arn:aws:iam::1:role/r'")


def test_syntax_errors_look_like_redshift_ones():
    with pytest.raises(TranslationError, match=r'^ERROR: syntax error at or near "'):
        t("select * from sales where")


def test_placeholders_skip_casts_strings_and_comments():
    assert placeholder_names("select :a, b::int, ':c' from t where x = :d -- :e") == ["a", "d"]


def test_leading_words():
    assert leading_words("  create   USER bob password 'x'") == ("CREATE", "USER", "BOB")


def test_similar_to_takes_redshifts_pattern_not_a_regex():
    """SIMILAR TO (Redshift Developer Guide): % and _ wildcards, the whole string must match."""
    import duckdb

    sql = t("select 'ab' similar to 'a%', 'a.c' similar to 'abc', 'x' not similar to 'y', '5%' similar to '5!%' escape '!'").statements[0]
    assert duckdb.sql(sql).fetchall() == [(True, False, True, True)]


def test_similar_to_a_computed_pattern_is_refused_clearly():
    with pytest.raises(TranslationError, match="SIMILAR TO with a pattern that is not a string literal"):
        t("select invoice_no similar to invoice_no from sales")
