"""Glue's pure parts: classifiers and types, tables and partitions from folders, exclusions, the
catalog a crawl writes, job arguments and error messages, conditional triggers.

Each test names the AWS page it follows.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json

import pandas as pd
import pytest
from moto.glue.models import GlueBackend

from helpers.localcloud.glue.catalog_writer import CatalogWriter, WriterSettings
from helpers.localcloud.glue.classify import classify
from helpers.localcloud.glue.csv_schema import cell_type
from helpers.localcloud.glue.exclusions import Exclusions
from helpers.localcloud.glue.glue_types import GlueType, merge, of_json
from helpers.localcloud.glue.job_arguments import merged_arguments, script_argv
from helpers.localcloud.glue.job_launch import LaunchError, check_script, missing_modules
from helpers.localcloud.glue.job_process import error_message
from helpers.localcloud.glue.table_layout import CrawledFile, plan_tables
from helpers.localcloud.glue.triggers import ConditionTracker


def types(data: bytes) -> dict[str, str]:
    return {column["Name"]: column["Type"] for column in classify(data).schema.catalog_columns()}


# --- https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html -----------------------------


def test_json_types_and_merging():
    assert str(of_json({"a": 1, "b": [{"x": 2.5}], "c": None})) == "struct<a:int,b:array<struct<x:double>>,c:null>"
    assert merge(GlueType("int"), GlueType("bigint")) == GlueType("bigint")
    assert merge(GlueType("bigint"), GlueType("double")) == GlueType("double")
    assert merge(GlueType("int"), GlueType("string")) == GlueType("string")
    assert merge(GlueType("boolean"), GlueType("int")) == GlueType("string")


def test_json_records_merge_across_lines_and_lowercase_names():
    data = b'{"Id": 1, "Tags": [], "Seen": null}\n{"Id": 3000000000, "Tags": ["a"], "Extra": {"K": true}}\n'
    assert types(data) == {"id": "bigint", "tags": "array<string>", "seen": "string", "extra": "struct<k:boolean>"}
    assert classify(data).json_paths == ("Extra", "Id", "Seen", "Tags")


def test_json_pretty_printed_records_and_top_level_array():
    assert types(b'{\n  "a": 1\n}\n{\n  "a": 2\n}\n') == {"a": "int"}
    assert types(b'[{"a": 1}, {"a": 2, "b": "x"}]') == {"array": "array<struct<a:int,b:string>>"}


def test_compressed_json():
    data = b'{"a": 1}\n' * 100
    gzipped, bzipped = classify(gzip.compress(data)), classify(bz2.compress(data))
    assert (gzipped.classification, gzipped.compression) == ("json", "gzip")
    assert (bzipped.classification, bzipped.compression) == ("json", "bzip2")
    assert gzipped.record_count == 100


@pytest.mark.parametrize(
    ("cell", "kind"),
    [("12", "bigint"), ("-3", "bigint"), ("2.55", "double"), ("1e3", "double"), ("TRUE", "boolean"), ("12/1/2010 8:26", "string"), ("2010-12-01 08:26:00", "string"), ("", "null")],
)
def test_csv_cell_types(cell, kind):
    assert cell_type(cell).name == kind


def test_csv_header_rules():
    assert types(b"name,qty\napple,3\npear,4\n") == {"name": "string", "qty": "bigint"}
    # every row is text: the first row is not different enough to be a header
    assert types(b"name,colour\napple,red\npear,green\n") == {"col0": "string", "col1": "string"}
    # a numeric first row is data
    assert types(b"1,2\n3,4\n") == {"col0": "bigint", "col1": "bigint"}
    # a header cell of 150 characters or more is not a header
    assert list(types(("x" * 150 + ",qty\napple,3\npear,4\n").encode())) == ["col0", "col1"]


def test_csv_delimiters_and_minimum_shape():
    assert classify(b"a;b\n1;2\n3;4\n").csv.delimiter == ";"
    assert classify(b"a\tb\n1\t2\n").csv.delimiter == "\t"
    assert classify(b"just one column\nof text\n").classification == "UNKNOWN"
    assert classify(b"a,b\n").classification == "UNKNOWN"  # one row only


def test_parquet_types():
    frame = pd.DataFrame({"n": pd.Series([1], dtype="int32"), "when": pd.to_datetime(["2024-01-01"]), "d": [pd.Timestamp("2024-01-01").date()], "tags": [["a"]]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    assert types(buffer.getvalue()) == {"n": "int", "when": "timestamp", "d": "date", "tags": "array<string>"}


# --- https://docs.aws.amazon.com/glue/latest/dg/crawler-s3-folder-table-partition.html ----------


def crawled(key: str, data: bytes) -> CrawledFile:
    return CrawledFile(key, len(data), classify(data))


def test_hive_partitions_make_one_table_named_after_the_folder():
    files = [
        crawled("aws-project/kinesis-stream/year=2010/month=12/day=01/a.json", b'{"a": 1, "b": 1, "c": 1}\n'),
        crawled("aws-project/kinesis-stream/year=2010/month=12/day=02/b.json", b'{"a": 2, "b": 1, "c": 1, "d": 1}\n'),
    ]
    [table] = plan_tables("bkt", "aws-project/kinesis-stream/", files)  # 3 of 4 columns: similar
    assert (table.name, table.location) == ("kinesis_stream", "s3://bkt/aws-project/kinesis-stream/")
    assert table.partition_keys == ["year", "month", "day"]
    assert [p.values for p in table.partitions] == [("2010", "12", "01"), ("2010", "12", "02")]


def test_schemas_sharing_under_70_percent_of_the_columns_make_separate_tables():
    files = [crawled("t/year=1/a.json", b'{"a": 1}\n'), crawled("t/year=2/b.json", b'{"a": 2, "b": "x"}\n')]
    assert sorted(table.name for table in plan_tables("bkt", "t/", files)) == ["year_1", "year_2"]


def test_plain_folders_are_partition_n():
    files = [crawled("data/2024/05/a.json", b'{"a": 1}\n'), crawled("data/2024/06/b.json", b'{"a": 2}\n')]
    [table] = plan_tables("bkt", "data/", files)
    assert table.partition_keys == ["partition_0", "partition_1"]
    assert table.partitions[1].values == ("2024", "06")


def test_incompatible_formats_and_files_at_the_root_make_separate_tables():
    files = [
        crawled("lake/orders.csv", b"id,qty\n1,2\n3,4\n"),
        crawled("lake/events/a.json", b'{"a": 1}\n'),
    ]
    names = sorted(table.name for table in plan_tables("bkt", "lake/", files))
    assert names == ["events", "orders_csv"]


def test_table_level_configuration():
    files = [crawled("lake/sales/eu/a.json", b'{"a": 1}\n'), crawled("lake/sales/us/b.json", b'{"a": 1}\n')]
    names = sorted(table.name for table in plan_tables("bkt", "lake/", files, table_level=4))
    assert names == ["eu", "us"]


# --- https://docs.aws.amazon.com/glue/latest/dg/define-crawler-choose-data-sources.html ---------


@pytest.mark.parametrize(
    ("pattern", "key", "excluded"),
    [
        ("*.csv", "a.csv", True),
        ("*.csv", "sub/a.csv", False),
        ("**.csv", "sub/a.csv", True),
        ("departments/**", "departments/hr/a.json", True),
        ("*.{csv,avro}", "a.avro", True),
        ("foo.?", "foo.1", True),
        ("myfolder/*", "myfolder/a/b.json", False),
        ("[!a]*.json", "a.json", False),
    ],
)
def test_exclude_patterns(pattern, key, excluded):
    assert Exclusions([pattern]).excludes(key) is excluded


# --- https://docs.aws.amazon.com/glue/latest/dg/crawler-schema-changes-prevent.html -------------


def settings(**overrides) -> WriterSettings:
    return WriterSettings(
        **{"crawler_name": "c", "crawl_id": "id-1", "database": "db", "table_prefix": "", "created_by": "arn", **overrides}
    )


def test_catalog_writer_creates_updates_and_deprecates():
    backend = GlueBackend("us-east-1", "123456789012")
    backend.create_database("db", {"Name": "db"})
    log: list[str] = []
    [plan] = plan_tables("bkt", "t/", [crawled("t/year=1/a.json", b'{"a": 1}\n')])

    writer = CatalogWriter(backend, settings(), log.append)
    writer.write(plan)
    assert writer.result.tables_created == ["t"] and writer.result.partitions_added == 1
    table = backend.get_table("db", "t").as_dict()
    assert table["Parameters"]["UPDATED_BY_CRAWLER"] == "c" and table["PartitionKeys"] == [{"Name": "year", "Type": "string"}]

    writer = CatalogWriter(backend, settings(crawl_id="id-2"), log.append)
    writer.write(plan)  # same data: nothing to update
    assert writer.result.tables_updated == []

    [changed] = plan_tables("bkt", "t/", [crawled("t/year=1/a.json", b'{"a": 1, "b": 2}\n')])
    writer = CatalogWriter(backend, settings(update_behavior="LOG"), log.append)
    writer.write(changed)
    assert writer.result.tables_updated == [] and len(backend.get_table("db", "t").as_dict()["StorageDescriptor"]["Columns"]) == 1

    writer = CatalogWriter(backend, settings(merge_new_columns=True), log.append)
    writer.write(changed)
    assert [c["Name"] for c in backend.get_table("db", "t").as_dict()["StorageDescriptor"]["Columns"]] == ["a", "b"]

    writer = CatalogWriter(backend, settings(), log.append)
    writer.retire(["s3://bkt/t/"])
    assert writer.result.tables_deleted == ["t"]
    assert "DEPRECATED_BY_CRAWLER" in backend.get_table("db", "t").as_dict()["Parameters"]


def test_catalog_writer_name_collision_gets_a_hash_suffix():
    backend = GlueBackend("us-east-1", "123456789012")
    backend.create_database("db", {"Name": "db"})
    first = plan_tables("bkt", "a/data/", [crawled("a/data/x.json", b'{"a": 1}\n')])[0]
    second = plan_tables("bkt", "b/data/", [crawled("b/data/x.json", b'{"a": 1}\n')])[0]
    writer = CatalogWriter(backend, settings(), lambda text: None)
    writer.write(first)
    writer.write(second)
    assert writer.result.tables_created[0] == "data"
    assert writer.result.tables_created[1].startswith("data_") and len(writer.result.tables_created[1]) == len("data_") + 8


# --- https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html -----


def test_arguments_merge_in_glue_order():
    merged = merged_arguments({"--a": "1", "--b": "1"}, {"--b": "2", "--c": "2"}, {"--c": "3"})
    assert merged == {"--a": "1", "--b": "2", "--c": "3"}
    argv = script_argv(merged, job_name="j", run_id="jr_1", temp_dir="s3://tmp/")
    pairs = dict(zip(argv[::2], argv[1::2]))
    assert pairs["--JOB_NAME"] == "j" and pairs["--JOB_RUN_ID"] == "jr_1" and pairs["--TempDir"] == "s3://tmp/"
    assert pairs["--c"] == "3"


# --- https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html ------------------------------


def test_error_message_is_the_tracebacks_last_line():
    tail = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>', "KeyError: 'InvoiceNo'"]
    assert error_message(tail, 1) == "KeyError: 'InvoiceNo'"
    assert error_message(['  File "x.py", line 3', "    import boto3", "IndentationError: unexpected indent"], 1) == (
        "IndentationError: unexpected indent"
    )
    assert error_message(["some log line"], 2) == "Command failed with exit code 2"


def test_scripts_the_local_cloud_cannot_run_fail_clearly():
    with pytest.raises(LaunchError, match="Spark jobs are not supported"):
        check_script("glueetl", "import sys\nfrom pyspark.context import SparkContext\n")
    with pytest.raises(LaunchError, match="argparse"):
        check_script("pythonshell", "from awsglue.utils import getResolvedOptions\n")
    with pytest.raises(LaunchError, match="gluestreaming"):
        check_script("gluestreaming", "print(1)\n")
    check_script("glueetl", "import pandas\n")
    assert missing_modules("pandas==3.1.1, no-such-module-xyz>=1") == ["no-such-module-xyz>=1"]


# --- https://docs.aws.amazon.com/glue/latest/dg/about-triggers.html -----------------------------


class FakeTrigger:
    def __init__(self, name: str, logical: str, conditions: list[dict]) -> None:
        self.name = name
        self._described = {"Type": "CONDITIONAL", "State": "ACTIVATED", "Predicate": {"Logical": logical, "Conditions": conditions}}

    def as_dict(self) -> dict:
        return self._described


def test_conditional_triggers_and_any():
    both = FakeTrigger(
        "both",
        "AND",
        [{"JobName": "a", "State": "SUCCEEDED"}, {"CrawlerName": "c", "CrawlState": "SUCCEEDED"}],
    )
    either = FakeTrigger("either", "ANY", [{"JobName": "a", "State": "FAILED"}, {"JobName": "b", "State": "SUCCEEDED"}])
    tracker = ConditionTracker()
    assert tracker.observe("r", [both, either], job="a", state="SUCCEEDED") == []
    assert tracker.observe("r", [both, either], crawler="c", state="SUCCEEDED") == [both]
    assert tracker.observe("r", [both, either], crawler="c", state="SUCCEEDED") == []  # reset after firing
    assert tracker.observe("r", [both, either], job="b", state="SUCCEEDED") == [either]
    assert tracker.watched_crawlers([both, either]) == {"c"}
    assert json.dumps(both.as_dict())


# --- https://docs.aws.amazon.com/glue/latest/dg/monitor-data-warehouse-schedule.html ------------


def test_scheduled_triggers_and_crawler_schedules_fire_in_matching_minutes(tmp_path):
    from datetime import datetime, timezone

    from moto.glue.models import glue_backends
    from moto.glue.utils import Action

    from helpers.localcloud.plane import Context
    from helpers.localcloud.planes.glue_crawlers import GlueCrawlers
    from helpers.localcloud.planes.glue_jobs import GlueJobs

    region = "ap-southeast-2"  # a region of its own in this process's moto backends
    backend = glue_backends["123456789012"][region]
    backend.create_trigger(
        name="nightly", workflow_name=None, trigger_type="SCHEDULED", schedule="cron(0 2 * * ? *)", predicate=None,
        actions=[Action({"JobName": "load"})], description=None, start_on_creation=True, tags={},
        event_batching_condition=None,
    )
    backend.create_crawler(
        name="hourly", role="r", database_name="db", description=None, targets={}, schedule="cron(5 * * * ? *)",
        classifiers=[], table_prefix="", schema_change_policy={}, recrawl_policy={}, lineage_configuration={},
        configuration=None, crawler_security_configuration=None, tags={},
    )
    ctx = Context(endpoint_url="http://127.0.0.1:9", state_dir=tmp_path)
    jobs, crawlers = GlueJobs(ctx), GlueCrawlers(ctx)
    fired: list[str] = []
    jobs._fire = lambda region_name, trigger: fired.append(trigger.name)  # type: ignore[method-assign]
    crawlers._start = lambda region_name, crawler: fired.append(crawler.name)  # type: ignore[method-assign]

    for minute in (datetime(2024, 5, 1, 1, 59, tzinfo=timezone.utc), datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)):
        jobs._on_minute(minute)
    crawlers._on_minute(datetime(2024, 5, 1, 2, 5, tzinfo=timezone.utc))
    crawlers._StopCrawlerSchedule(region, {"CrawlerName": "hourly"})
    crawlers._on_minute(datetime(2024, 5, 1, 3, 5, tzinfo=timezone.utc))
    assert fired == ["nightly", "hourly"]


# --- https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-crawling.html (StopCrawler) -


def test_a_crawl_stopped_before_it_writes_is_cancelled(tmp_path):
    from moto.glue.models import glue_backends
    from moto.s3.models import s3_backends

    from helpers.localcloud.glue.crawl import Crawl, CrawlerDefinition, CrawlRunner
    from helpers.localcloud.plane import Context

    region = "ap-southeast-2"
    s3 = s3_backends["123456789012"]["aws"]
    s3.create_bucket("crawl-stop-unit", region)
    s3.put_object("crawl-stop-unit", "t/a.json", b'{"a": 1}\n')
    glue = glue_backends["123456789012"][region]
    glue.create_database("stopdb", {"Name": "stopdb"})
    definition = CrawlerDefinition(
        name="c", role="r", database="stopdb", targets={"S3Targets": [{"Path": "s3://crawl-stop-unit/t/"}]},
        table_prefix="", schema_change_policy={}, recrawl_policy={}, configuration=None, classifiers=[],
    )
    ctx = Context(endpoint_url="http://127.0.0.1:9", state_dir=tmp_path)

    stopped = Crawl("c")
    stopped.stop_requested.set()
    CrawlRunner(ctx, region, definition, stopped).run()
    assert (stopped.state, stopped.last_crawl_status) == ("STOPPED", "CANCELLED")
    assert "t" not in glue.get_database("stopdb").tables

    completed = Crawl("c")
    CrawlRunner(ctx, region, definition, completed).run()
    assert (completed.state, completed.last_crawl_status) == ("COMPLETED", "SUCCEEDED")
    assert "t" in glue.get_database("stopdb").tables
