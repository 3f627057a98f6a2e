"""COPY's pure rules: reading the statement, splitting records, converting values.

AWS pages: r_COPY.html and its parameter pages (copy-parameters-*), copy-usage_notes-copy-from-json.html,
r_Load_Error_Reference.html.
"""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from helpers.localcloud.warehouse import copy_command, copy_formats
from helpers.localcloud.warehouse.copy_command import CopyCommand
from helpers.localcloud.warehouse.copy_formats import RecordProblem, SourceRecord
from helpers.localcloud.warehouse.copy_values import JsonNumber, LoadError, TargetColumn, ValueConverter
from helpers.localcloud.warehouse.redshift_types import RedshiftType
from helpers.localcloud.warehouse.sql_errors import SqlError
from helpers.localcloud.warehouse.translate import tokenize


def parse(sql: str) -> CopyCommand:
    return copy_command.parse(sql, tokenize(sql))


# --- the statement (r_COPY.html) ------------------------------------------------------------------


def test_copy_reads_table_columns_source_and_parameters():
    command = parse(
        "COPY public.Sales (InvoiceNo, quantity) FROM 's3://bucket/raw/2010' IAM_ROLE default "
        "FORMAT AS JSON 'auto ignorecase' GZIP MAXERROR AS 10 TIMEFORMAT 'auto' REGION 'eu-west-1' TRUNCATECOLUMNS"
    )
    assert (command.schema, command.table, command.columns) == ("public", "sales", ("invoiceno", "quantity"))
    assert (command.bucket, command.key) == ("bucket", "raw/2010")
    assert command.format == "JSON" and command.json_option == "auto ignorecase"
    assert command.compression == "GZIP" and command.max_error == 10 and command.time_format == "auto"
    assert command.region == "eu-west-1" and command.truncate_columns


def test_csv_options_and_delimiter_escapes():
    command = parse(r"COPY t FROM 's3://b/x.csv' CREDENTIALS 'aws_iam_role=arn:aws:iam::1:role/r' CSV QUOTE AS '''' IGNOREHEADER 1 NULL AS 'NULL' DELIMITER '\t'")
    assert command.format == "CSV" and command.quote == "'" and command.ignore_header == 1
    assert command.null_as == "NULL" and command.field_delimiter == "\t"
    assert parse("COPY t FROM 's3://b/x' IAM_ROLE default DELIMITER '\\174'").field_delimiter == "|"
    assert parse("COPY t FROM 's3://b/x' IAM_ROLE default").field_delimiter == "|"  # the default: pipe-delimited text
    assert parse("COPY t FROM 's3://b/x' IAM_ROLE default").null_as == "\\N"


def test_firehose_style_copy_with_manifest_and_credentials():
    command = parse(
        "COPY invoices (invoiceno, country) FROM 's3://b/manifests/2024/01/02/03/s-1-2024-01-02-03-04-05-uuid' "
        "CREDENTIALS 'aws_iam_role=arn:aws:iam::123456789012:role/firehose' MANIFEST json 'auto ignorecase';"
    )
    assert command.manifest and command.authorization == "CREDENTIALS" and command.columns == ("invoiceno", "country")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("COPY t FROM 's3://b/x'", "needs authorization"),
        ("COPY t FROM 'dynamodb://tbl' IAM_ROLE default", "not supported by the local warehouse"),
        ("COPY t FROM 'ftp://b/x' IAM_ROLE default", "LOAD source is not supported"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default CSV ESCAPE", "CSV cannot be used with ESCAPE"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default JSON 'auto' DELIMITER ','", "DELIMITER argument is not supported for JSON"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default FORMAT AS AVRO 'auto'", "AVRO is not supported"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default LZOP", "LZOP compression is not supported"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default MAXERROR 1 MAXERROR 2", "conflicting or redundant options"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default IGNOREALLERRORS MAXERROR 2", "IGNOREALLERRORS cannot be used with MAXERROR"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default JSON 'AUTO'", "lower case"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default PARQUET IGNOREHEADER 1", "not a valid option for COPY from PARQUET"),
        ("COPY t FROM 's3://b/x' IAM_ROLE default FOO", 'syntax error at or near "FOO"'),
    ],
)
def test_statements_copy_refuses(sql, message):
    with pytest.raises(SqlError) as raised:
        parse(sql)
    assert message in raised.value.message


# --- records of a file (copy-parameters-data-format.html) -------------------------------------------


def split(text: str, sql_options: str, columns: list[str], jsonpaths=None) -> list:
    command = parse(f"COPY t FROM 's3://b/x' IAM_ROLE default {sql_options}")
    return list(copy_formats.records(text, command, columns, jsonpaths))


def test_text_format_fields_null_and_positions():
    [record] = split("1|two|\\N\n", "", ["a", "b", "c"])
    assert isinstance(record, SourceRecord)
    assert record.values == ["1", "two", None] and record.positions == [0, 2, 6]


def test_text_format_missing_and_extra_fields_are_load_errors():
    missing, extra = split("1|2\n1|2|3|4\n", "", ["a", "b", "c"])
    assert (missing.code, missing.reason, missing.line_number) == (1214, "Delimiter not found", 1)
    assert (extra.code, extra.reason, extra.line_number) == (1202, "Extra column(s) found", 2)
    [filled] = split("1|2\n", "FILLRECORD", ["a", "b", "c"])
    assert filled.values == ["1", "2", ""]


def test_text_escape_and_removequotes():
    [escaped] = split("a\\|b|c\\\nd\n", "ESCAPE", ["x", "y"])
    assert escaped.values == ["a|b", "c\nd"]
    [quoted] = split("'A|B'|\"x\"\n", "REMOVEQUOTES", ["x", "y"])
    assert quoted.values == ["A|B", "x"]


def test_csv_quotes_newlines_and_header():
    text = 'id,name\n1,"Smith, ""J"""\n2,"multi\nline"\n3,\n'
    records = split(text, "CSV IGNOREHEADER 1", ["id", "name"])
    assert [r.values for r in records] == [["1", 'Smith, "J"'], ["2", "multi\nline"], ["3", ""]]
    assert [r.line_number for r in records] == [2, 3, 5]


def test_csv_bad_quoting_is_a_load_error():
    [problem] = split('1,"abc"x\n', "CSV", ["a", "b"])
    assert isinstance(problem, RecordProblem) and problem.code == 1216


def test_json_auto_matches_lower_case_keys_only():
    text = '{"InvoiceNo": "1", "quantity": 2}{"invoiceno": "2"}\n'
    first, second = split(text, "JSON 'auto'", ["invoiceno", "quantity"])
    assert first.values == [None, "2"] and second.values == ["2", None]
    first, _ = split(text, "JSON 'auto ignorecase'", ["invoiceno", "quantity"])
    assert first.values == ["1", "2"]


def test_json_numbers_keep_their_text_and_nested_values_load_as_json_text():
    [record] = split('{"a": 3.0, "b": {"x": [1, 2.50]}}', "JSON 'auto'", ["a", "b"])
    assert record.values == ["3.0", '{"x":[1,2.50]}'] and isinstance(record.values[0], JsonNumber)


def test_json_garbage_between_objects_is_an_error_each_time():
    records = split('{"a": 1}\nnot json\n{"a": 2}\n', "JSON 'auto'", ["a"])
    assert [type(r).__name__ for r in records] == ["SourceRecord", "RecordProblem", "SourceRecord"]
    assert records[1].line_number == 2 and records[2].line_number == 3


def test_jsonpaths_bracket_and_dot_notation():
    paths = copy_formats.parse_jsonpaths(b'{"jsonpaths": ["$.id", "$.store.book.title", "$.location[0]"]}', "s3://b/p")
    [record] = split('{"id": 7, "store": {"book": {"title": "T"}}, "location": ["x", "y"]}', "JSON 's3://b/p'", ["a", "b", "c"], paths)
    assert record.values == ["7", "T", "x"]
    assert copy_formats.parse_jsonpaths(b'{"paths": ["$.id"]}', "s3://b/p") is None  # not "jsonpaths": 'auto' instead
    with pytest.raises(SqlError, match="wildcards"):
        copy_formats.parse_jsonpaths(b'{"jsonpaths": ["$.items[*]"]}', "s3://b/p")


# --- values (copy-parameters-data-conversion.html, r_Load_Error_Reference.html) -------------------


def column(type_name: str, nullable: bool = True, **kwargs) -> TargetColumn:
    return TargetColumn("c", RedshiftType(type_name, **kwargs), nullable)


def convert(raw, target: TargetColumn, options: str = ""):
    return ValueConverter(parse(f"COPY t FROM 's3://b/x' IAM_ROLE default {options}")).convert(raw, target)


def load_error(raw, target: TargetColumn, options: str = "") -> LoadError:
    with pytest.raises(LoadError) as raised:
        convert(raw, target, options)
    return raised.value


def test_integers_report_the_invalid_digit_as_redshift_does():
    assert convert("-42", column("int4")) == -42
    error = load_error("20200407.0", column("int8"))
    assert (error.code, error.reason) == (1207, "Invalid digit, Value '.', Pos 8, Type: Long")
    assert load_error("C536379", column("int4")).reason == "Invalid digit, Value 'C', Pos 0, Type: Integer"
    assert load_error("40000", column("int2")).code == 1204
    assert convert("", column("int4")) is None and convert("   ", column("int4")) is None


def test_decimals_truncate_unless_roundec():
    target = column("numeric", precision=8, scale=2)
    assert convert("20.259", target) == decimal.Decimal("20.25")
    assert convert("20.259", target, "ROUNDEC") == decimal.Decimal("20.26")
    assert load_error("1234567.1", target).code == 1204
    assert convert(JsonNumber("2.5e1"), target) == decimal.Decimal("25.00")


def test_strings_count_bytes_and_truncatecolumns_cuts_whole_characters():
    target = column("varchar", length=4)
    assert load_error("héllo", target).reason == "String length exceeds DDL length"
    assert convert("héllo", target, "TRUNCATECOLUMNS") == "hél"
    assert convert("", target) == "" and convert("", target, "EMPTYASNULL") is None
    assert convert("  ", target, "BLANKSASNULL") is None
    assert convert("ab  ", target, "TRIMBLANKS") == "ab"


def test_invalid_utf8_fails_unless_acceptinvchars():
    raw = b"ab\xffc".decode("utf-8", "surrogateescape")
    assert load_error(raw, column("varchar", length=10)).code == 1220
    assert convert(raw, column("varchar", length=10), "ACCEPTINVCHARS '^'") == "ab^c"


def test_not_null_columns_refuse_missing_data():
    assert load_error(None, column("varchar", nullable=False, length=5)).code == 1213


def test_dates_and_timestamps_default_auto_and_explicit_formats():
    assert convert("2010-12-01 08:26:00", column("timestamp")) == dt.datetime(2010, 12, 1, 8, 26)
    assert convert("2010-12-01", column("date")) == dt.date(2010, 12, 1)
    assert load_error("12/1/2010 8:26", column("timestamp")).code == 1206
    assert convert("12/1/2010 8:26", column("timestamp"), "TIMEFORMAT 'auto'") == dt.datetime(2010, 12, 1, 8, 26)
    assert convert("2019-02-11T05:09:12.195Z", column("timestamp"), "TIMEFORMAT 'auto'") == dt.datetime(2019, 2, 11, 5, 9, 12, 195000)
    assert convert("01/12/2010 08:26", column("timestamp"), "TIMEFORMAT 'DD/MM/YYYY HH24:MI'") == dt.datetime(2010, 12, 1, 8, 26)
    assert convert("1291191960", column("timestamp"), "TIMEFORMAT 'epochsecs'") == dt.datetime(2010, 12, 1, 8, 26)
    assert load_error("2010", column("date")).reason == "Invalid Date Format - length must be 10 or more"
    assert convert("nonsense", column("date"), "ACCEPTANYDATE DATEFORMAT 'auto'") is None


def test_booleans_and_super():
    assert convert("yes", column("bool")) is True and convert(False, column("bool")) is False
    assert load_error("maybe", column("bool")).code == 1210
    assert convert('{"a":1}', column("super"), "CSV") == '{"a":1}'
    assert load_error("{oops", column("super"), "CSV").code == 1224
