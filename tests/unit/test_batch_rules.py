"""Pure functions of the batch pipeline: the Glue script's schema mapping and argument parsing, and the
scheduled Lambda's listing window and manifest."""

from __future__ import annotations

import base64
import importlib.util
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd
import pytest

from helpers import config


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load(config.REPO_ROOT / "glue_scripts" / "bulkimport_s3_redshift.py", "bulkimport_s3_redshift")
# bulk_import imports write_kinesis_to_dynamodb as it sits beside it in its deployment package.
sys.path.insert(0, str(config.REPO_ROOT / "lambda_code"))
bulk_import = load(config.REPO_ROOT / "lambda_code" / "bulk_import.py", "bulk_import")


def raw(**overrides):
    row = {
        "eventid": "online_retail.csv:1", "invoiceno": "536365", "stockcode": "85123A", "description": "HEART",
        "quantity": 6, "invoicedate": "2010-12-01 08:26:00", "unitprice": 2.55, "customerid": "17850",
        "country": "United Kingdom",
    }
    return {**row, **overrides}


def test_resolved_options_reads_glue_style_arguments_and_ignores_the_rest():
    argv = ["script.py", "--JOB_ID", "j_1", "--JOB_NAME", "job", "--table", "t", "library-set", "analytics"]
    assert script.resolved_options(argv, ("JOB_NAME", "table")) == {"JOB_NAME": "job", "table": "t"}
    with pytest.raises(SystemExit):
        script.resolved_options(["script.py"], ("table",))


def test_map_schema_types_codes_as_text_and_keeps_a_missing_customer_null():
    frame = script.map_schema(pd.DataFrame([raw(stockcode=22423.0, customerid=None), raw(unitprice=1.0)]))
    assert frame["stockcode"].tolist() == ["22423", "85123A"]  # a code read as a number becomes text
    assert frame["customerid"].isna().tolist() == [True, False]
    assert frame["unitprice"].tolist() == [Decimal("2.550"), Decimal("1.000")]
    assert frame["invoicedate"].iloc[0] == pd.Timestamp("2010-12-01 08:26:00")


def test_map_schema_refuses_rows_without_a_required_field():
    with pytest.raises(ValueError, match="1 rows miss a required field"):
        script.map_schema(pd.DataFrame([raw(), raw(eventid="online_retail.csv:2", country=None)]))


def test_deduplicate_keeps_one_row_per_event_id():
    frame = script.map_schema(pd.DataFrame([raw(), raw(), raw(eventid="online_retail.csv:2")]))
    assert script.deduplicate(frame)["eventid"].tolist() == ["online_retail.csv:1", "online_retail.csv:2"]


def test_the_lambda_lists_the_hour_partitions_since_the_hour_before_its_watermark():
    since = datetime(2010, 12, 1, 8, 30, tzinfo=timezone.utc)
    until = datetime(2010, 12, 1, 10, 5, tzinfo=timezone.utc)
    assert [p.removeprefix(bulk_import.RAW_PREFIX) for p in bulk_import.hour_prefixes(since, until)] == [
        "year=2010/month=12/day=01/hour=07/",
        "year=2010/month=12/day=01/hour=08/",
        "year=2010/month=12/day=01/hour=09/",
        "year=2010/month=12/day=01/hour=10/",
    ]


def test_the_manifest_names_exactly_the_new_objects_as_mandatory():
    objects = [{"key": "raw/a.json"}, {"key": "raw/b.json"}]
    assert bulk_import.manifest("bkt", objects) == {
        "entries": [{"url": "s3://bkt/raw/a.json", "mandatory": True}, {"url": "s3://bkt/raw/b.json", "mandatory": True}]
    }


def test_raw_lines_become_the_kinesis_records_write_kinesis_to_dynamodb_decodes():
    records = bulk_import.as_kinesis_records([b'{"EventId": "a"}', b'{"EventId": "b"}'], 500)
    assert [r["kinesis"]["sequenceNumber"] for r in records] == ["500", "501"]
    assert base64.b64decode(records[1]["kinesis"]["data"]) == b'{"EventId": "b"}'
