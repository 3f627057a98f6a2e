"""Redshift types, Data API fields and error wording (redshift_types, sql_errors).

Mapping of data types: "Using the Amazon Redshift Data API",
https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html (integers as longValue, floating
point as doubleValue, DECIMAL and dates as stringValue); the GetStatementResult example there gives
the column metadata (int4 precision 10, int8 19, timestamp 29/6).
"""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlglot
from sqlglot import exp

from helpers.localcloud.warehouse.dialect import WarehouseRedshift
from helpers.localcloud.warehouse.redshift_types import RedshiftType, field, from_declared, from_duckdb, text_value
from helpers.localcloud.warehouse.sql_errors import redshift_message


def declared(type_text: str) -> RedshiftType:
    return from_declared(sqlglot.parse_one(f"create table x (c {type_text})", dialect=WarehouseRedshift).find(exp.DataType))


@pytest.mark.parametrize(
    "type_text, expected",
    [
        ("integer", RedshiftType("int4")),
        ("bigint", RedshiftType("int8")),
        ("smallint", RedshiftType("int2")),
        ("decimal(10,2)", RedshiftType("numeric", precision=10, scale=2)),
        ("numeric", RedshiftType("numeric", precision=18, scale=0)),
        ("varchar", RedshiftType("varchar", length=256)),
        ("varchar(max)", RedshiftType("varchar", length=65535)),
        ("text", RedshiftType("varchar", length=256)),
        ("char", RedshiftType("bpchar", length=1)),
        ("bpchar", RedshiftType("bpchar", length=256)),
        ("double precision", RedshiftType("float8")),
        ("real", RedshiftType("float4")),
        ("timestamptz", RedshiftType("timestamptz")),
        ("boolean", RedshiftType("bool")),
    ],
)
def test_declared_types(type_text, expected):
    assert declared(type_text) == expected


def test_types_print_as_redshift_does():
    assert declared("varchar(20)").ddl == "character varying(20)"
    assert declared("decimal(10,2)").ddl == "numeric(10,2)"
    assert declared("timestamp").ddl == "timestamp without time zone"


@pytest.mark.parametrize(
    "duckdb_type, name",
    [("INTEGER", "int4"), ("BIGINT", "int8"), ("HUGEINT", "int8"), ("DOUBLE", "float8"), ("DECIMAL(18,3)", "numeric"),
     ("VARCHAR", "varchar"), ("DATE", "date"), ("TIMESTAMP WITH TIME ZONE", "timestamptz"), ("BOOLEAN", "bool"),
     ("INTEGER[]", "super"), ("JSON", "super")],
)
def test_duckdb_result_types(duckdb_type, name):
    assert from_duckdb(duckdb_type).name == name


def test_column_metadata_matches_the_data_api_example():
    assert RedshiftType("int4").column_metadata("userid")["precision"] == 10
    timestamp = RedshiftType("timestamp").column_metadata("starttime")
    assert (timestamp["precision"], timestamp["scale"], timestamp["typeName"]) == (29, 6, "timestamp")
    label = RedshiftType("varchar", length=320).column_metadata("label")
    assert (label["precision"], label["isCaseSensitive"], label["isSigned"]) == (320, True, False)


def test_fields():
    assert field(None, RedshiftType("int4")) == {"isNull": True}
    assert field(7, RedshiftType("int8")) == {"longValue": 7}
    assert field(decimal.Decimal("12"), RedshiftType("int8")) == {"longValue": 12}  # DuckDB's HUGEINT sums
    assert field(1.5, RedshiftType("float8")) == {"doubleValue": 1.5}
    assert field(decimal.Decimal("2.50"), RedshiftType("numeric", precision=10, scale=2)) == {"stringValue": "2.50"}
    assert field(True, RedshiftType("bool")) == {"booleanValue": True}
    assert field(b"\x01", RedshiftType("varbyte", length=1)) == {"blobValue": "AQ=="}


def test_dates_and_times_print_as_postgres_does():
    assert text_value(dt.datetime(2020, 8, 21, 17, 33, 51, 887120), RedshiftType("timestamp")) == "2020-08-21 17:33:51.88712"
    assert text_value(dt.datetime(2020, 8, 21, 17, 33, 51), RedshiftType("timestamp")) == "2020-08-21 17:33:51"
    utc = dt.datetime(2020, 8, 21, 17, 33, 51, tzinfo=dt.timezone.utc)
    assert text_value(utc, RedshiftType("timestamptz")) == "2020-08-21 17:33:51+00"
    assert text_value(dt.date(2020, 8, 21), RedshiftType("date")) == "2020-08-21"


@pytest.mark.parametrize(
    "duckdb_message, redshift",
    [
        ("Catalog Error: Table with name nosuch does not exist!\nDid you mean ...", 'ERROR: relation "nosuch" does not exist'),
        ('Catalog Error: Table with name "t" already exists!', 'ERROR: relation "t" already exists'),
        ('Binder Error: Referenced column "x" not found in FROM clause!', 'ERROR: column "x" does not exist'),
        ("Constraint Error: NOT NULL constraint failed: sales.qty", "ERROR: Cannot insert a NULL value into column qty"),
        (
            'Constraint Error: CHECK constraint failed on table "t" with expression CHECK((strlen(a) <= 3))',
            "ERROR: value too long for type character varying(3)",
        ),
        ("Conversion Error: Could not convert string 'abc' to INT32", 'ERROR: invalid input syntax for type integer: "abc"'),
        ("Invalid Input Error: Division by zero in expression", "ERROR: division by zero"),
        ("Catalog Error: Scalar Function with name foo does not exist!", "ERROR: function foo does not exist"),
        ("Binder Error: something DuckDB says", "ERROR: something DuckDB says"),
    ],
)
def test_engine_errors_in_redshift_words(duckdb_message, redshift):
    assert redshift_message(duckdb_message) == redshift
