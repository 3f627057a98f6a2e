"""Teardown on a real local cloud: a dry run lists, deletes nothing; the deletion removes everything;
a second teardown finds nothing and fails on nothing.

Teardown finds resources by the workbook's **tag** as well as its names, so in the shared session
cloud it would find (and delete) other test modules' resources. This module runs in a local cloud of
its own, started with ``lifecycle.up`` on a free port, where it builds a representative set with the
workbook's own helpers: the stream path (stream, bucket with object versions, tables, functions,
mapping, failure queue, API with key and plan), the warehouse, the Firehose user's secret, the
Glue catalog, crawler and job, a schedule rule, a budget, plus a tagged resource with a suffixed
name (as benchmarks create) and an untagged stranger that teardown must leave alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from helpers import aws, batch, budgets, cloud_census, config, deploy, firehose, iam, ingestion_api, stream
from helpers import storage, teardown, warehouse, warehouse_network, warehouse_users
from helpers.localcloud import lifecycle

pytestmark = pytest.mark.integration

STRANGER_STREAM = "not-the-workbooks"  # untagged, under no configured name
SUFFIXED_TABLE_SUFFIX = "-benchmark"


@pytest.fixture(scope="module")
def own_cloud(tmp_path_factory) -> Iterator[config.Settings]:
    """A local cloud for this module alone, with boto3 and every helper pointed at it."""
    s = dataclasses.replace(
        config.load(), target="local", local_port=lifecycle.free_port(), state_dir=tmp_path_factory.mktemp("teardown-cloud")
    )
    lifecycle.up(s)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in config.client_environment(s).items():
            patch.setenv(key, value)
        patch.setattr(config, "settings", lambda: s)
        aws.session.cache_clear()
        aws.account_id.cache_clear()
        try:
            yield s
        finally:
            aws.session.cache_clear()
            aws.account_id.cache_clear()
            lifecycle.down(s)


def _build(names: config.Names) -> None:
    """The workbook's resources, as notebooks 02-09 create them (without streaming data)."""
    summary = storage.ensure_stream(names.stream, 1)
    bucket = aws.bucket()
    storage.ensure_bucket(bucket, config.settings().region)
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):  # two versions of one key, then a delete marker
        s3.put_object(Bucket=bucket, Key=f"{names.raw_prefix}a.json", Body=body)
    s3.delete_object(Bucket=bucket, Key=f"{names.raw_prefix}a.json")
    for table, key in ((names.invoice_table, "InvoiceNo"), (names.customer_table, "CustomerID")):
        storage.ensure_table(table, key)
    storage.ensure_table(names.invoice_table + SUFFIXED_TABLE_SUFFIX, "InvoiceNo")  # tagged, suffixed name
    for fn, module in ((names.fn_kinesis_api, "kinesis_api"), (names.fn_kinesis_to_s3, "write_kinesis_to_s3")):
        role = iam.ensure_role(fn, iam.policy_values(fn))
        deploy.deploy_function(fn, module, role, {"STREAM_NAME": names.stream, "BUCKET": bucket, "RAW_PREFIX": names.raw_prefix})
    queue = stream.ensure_failure_queue(names.fn_kinesis_to_s3)
    deploy.ensure_event_source_mapping(names.fn_kinesis_to_s3, summary["StreamARN"], stream.mapping_settings(queue))
    ingestion_api.ensure_api(names.fn_kinesis_api)
    wh = warehouse.ensure_warehouse()
    warehouse_network.open_to_firehose(wh.workgroup)
    warehouse_users._ensure_secret(names.redshift_firehose_secret, names.redshift_firehose_user)
    glue_role = iam.ensure_role("glue", batch.policy_values("glue", wh.secret_arn))
    batch.ensure_crawler(glue_role)
    batch.ensure_job(glue_role, f"s3://{bucket}/{names.glue_scripts_prefix}script.py", {"--database": names.glue_database})
    events = aws.client("events")
    events.put_rule(Name=names.schedule_rule, ScheduleExpression="rate(1 day)", State="DISABLED", Tags=aws.tag_list())
    function_arn = aws.client("lambda").get_function_configuration(FunctionName=names.fn_kinesis_to_s3)["FunctionArn"]
    events.put_targets(Rule=names.schedule_rule, Targets=[{"Id": "fn", "Arn": function_arn}])
    firehose_role = iam.ensure_role("firehose", iam.firehose_policy_values())
    firehose.ensure_log_stream(names.firehose_stream)
    firehose.ensure_delivery_stream(
        names.firehose_stream, source_stream_arn=summary["StreamARN"], role_arn=firehose_role,
        destination=firehose.s3_destination(role_arn=firehose_role),
    )
    aws.client("sns").create_topic(Name=f"{names.stream}-alarms", Tags=aws.tag_list())  # tagged, suffixed name
    aws.client("scheduler").create_schedule(  # schedules take no tags: found by the rule's name and a suffix
        Name=f"{names.schedule_rule}-hourly", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue, "RoleArn": firehose_role},
    )
    budgets.ensure_budget(5, "learner@example.com")
    budgets.ensure_budget(8, "learner@example.com")  # run again with another amount: replaced, not added
    aws.client("kinesis").create_stream(StreamName=STRANGER_STREAM, ShardCount=1)


@pytest.fixture(scope="module")
def built(own_cloud) -> config.Names:
    _build(own_cloud.names)
    return own_cloud.names


def _kinds(resources: list[teardown.Resource]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for r in resources:
        kinds.setdefault(r.kind, []).append(r.name)
    return kinds


def test_the_dry_run_lists_every_resource_and_deletes_nothing(built):
    census_before = cloud_census.census()
    found = teardown.find()
    kinds = _kinds(found)
    assert set(kinds) == set(teardown.KIND_ORDER) - {"tagged resource", "Glue run logs"}
    assert sorted(kinds["DynamoDB table"]) == sorted([built.customer_table, built.invoice_table, built.invoice_table + SUFFIXED_TABLE_SUFFIX])
    assert kinds["Kinesis stream"] == [built.stream]  # the untagged stranger is not the workbook's
    assert len(kinds["IAM role"]) == 4 and kinds["budget"] == [budgets.budget_name()]
    assert budgets.describe(budgets.budget_name())["BudgetLimit"]["Amount"] == "8.00"
    assert {r.found_by for r in found if r.kind == "DynamoDB table"} == {"name and tag", "tag"}
    assert found == teardown.ordered(found)
    assert cloud_census.census() == census_before  # listing deleted nothing


def test_the_deletion_removes_everything_and_nothing_is_left(built):
    results = teardown.delete(teardown.find(), out=lambda line: None)
    failed = [row for row in results if row["result"].startswith(("FAILED", "NOT"))]
    assert not failed
    assert [row["result"] for row in results if row["type"] == "secret"] == [
        f"scheduled for deletion in {teardown.SECRET_RECOVERY_DAYS} days (restore_secret undoes it until then)"
    ]
    assert teardown.find() == []
    left = cloud_census.leftovers()
    assert left == [{"service": "kinesis", "type": "streams", "count": 1, "names": STRANGER_STREAM}]


def test_a_second_teardown_finds_nothing_and_a_stale_listing_is_already_gone(built):
    assert teardown.delete(teardown.find(), out=lambda line: None) == []
    stale = [teardown.Resource("dynamodb", "DynamoDB table", built.invoice_table, "name"),
             teardown.Resource("s3", "S3 bucket", aws.bucket(), "name"),
             teardown.Resource("iam", "IAM role", built.roles["glue"], "name"),
             teardown.Resource("budgets", "budget", budgets.budget_name(), "name"),
             teardown.Resource("redshift-serverless", "Redshift namespace", built.redshift_namespace, "name")]  # fmt: skip
    assert {row["result"] for row in teardown.delete(stale, out=lambda line: None)} == {"already gone"}


def test_deleting_on_aws_needs_the_account_id(own_cloud):
    on_aws = dataclasses.replace(own_cloud, target="aws")
    teardown.check_confirmation(own_cloud, "123456789012", "")  # local: no confirmation needed
    teardown.check_confirmation(on_aws, "123456789012", " 123456789012 ")
    for wrong in ("", "True", "210987654321"):
        with pytest.raises(teardown.DeletionNotConfirmed, match="-p confirm_delete 123456789012"):
            teardown.check_confirmation(on_aws, "123456789012", wrong)
