"""Pure parts of notebooks 06-07's helpers: Firehose's role, the password hash, the cost model,
the Data API's typed values, the destination's credentials."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from helpers import aws, config, firehose, iam, warehouse, warehouse_costs, warehouse_network, warehouse_users

FIREHOSE_DIR = iam.POLICY_DIR / "firehose"


@pytest.fixture
def firehose_values(monkeypatch):
    monkeypatch.setattr(aws, "account_id", lambda: "111122223333")
    monkeypatch.setattr(aws, "bucket", lambda: "aws-project-111122223333-eu-west-1")
    return iam.firehose_policy_values()


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_firehose_role_is_a_configured_role_with_both_policy_files():
    assert "firehose" in config.Names().roles
    assert (FIREHOSE_DIR / iam.TRUST_FILE).is_file() and (FIREHOSE_DIR / iam.PERMISSIONS_FILE).is_file()


def test_only_firehose_of_this_account_assumes_the_role(firehose_values):
    # "Allow Firehose to assume an IAM role" (Firehose Developer Guide): sts:ExternalId is the account id.
    [statement] = iam.render(FIREHOSE_DIR / iam.TRUST_FILE, firehose_values)["Statement"]
    assert statement["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "111122223333"}}


def test_firehose_permissions_are_rendered_and_scoped(firehose_values):
    document = iam.render(FIREHOSE_DIR / iam.PERMISSIONS_FILE, firehose_values)
    assert "${" not in json.dumps(document)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    objects = by_sid["StageObjectsAndManifestsForTheCopyUnderTheFirehosePrefixesOnly"]
    bucket = "arn:aws:s3:::aws-project-111122223333-eu-west-1"
    names = config.Names()
    assert as_list(objects["Resource"]) == [f"{bucket}/{names.firehose_prefix}*", f"{bucket}/{names.firehose_errors_prefix}*"]
    assert "s3:DeleteObject" not in as_list(objects["Action"])
    region = firehose_values["Region"]
    secret = by_sid["ReadTheDatabaseUsersCredentials"]["Resource"]
    assert secret == f"arn:aws:secretsmanager:{region}:111122223333:secret:{names.redshift_firehose_secret}-??????"
    assert by_sid["ReadTheSourceStream"]["Resource"] == f"arn:aws:kinesis:{region}:111122223333:stream/{names.stream}"
    assert all("*" != r for s in document["Statement"] for r in as_list(s["Resource"]))


def test_the_sql_carries_the_md5_form_of_the_password():
    # CREATE USER: 'md5' followed by the MD5 hash of the password concatenated with the user name.
    expected = "md5" + hashlib.md5(b"Secret1passwordfirehose_user").hexdigest()
    assert warehouse_users.md5_password("firehose_user", "Secret1password") == expected


def test_the_course_cost_query():
    assert warehouse_costs.daily_cost_sql(0.375) == (
        'select trunc(start_time) "Day", (sum(charged_seconds)/3600::double precision) * 0.375 as cost_incurred '
        "from sys_serverless_usage group by 1 order by 1"
    )


def test_a_buffer_interval_of_a_minute_or_less_keeps_the_workgroup_awake_all_day():
    costs = warehouse_costs.buffer_interval_costs([30, 60, 300, 900], base_capacity=8, price_per_rpu_hour=0.375)
    assert costs.loc[30, "billed hours per day"] == costs.loc[60, "billed hours per day"] == 24.0
    assert costs.loc[60, "USD per day"] == 72.0  # 8 RPUs x 24 h x $0.375
    assert costs.loc[300, "COPYs per day"] == 288 and costs.loc[300, "USD per day"] == 14.4
    assert costs.loc[900, "USD per day"] == 4.8  # 96 COPYs x 60 s minimum


def test_usage_summary_counts_charged_against_used_seconds():
    usage = pd.DataFrame({"compute_seconds": [0.5, 1.5], "charged_seconds": [360, 120]})
    summary = warehouse_costs.usage_summary(usage, price_per_rpu_hour=0.375)
    assert summary["RPU-seconds charged"] == 480 and summary["charged / used"] == 240.0
    assert summary["cost (USD)"] == 0.05


def test_data_api_values_become_typed_columns():
    records = [
        {"longValue": 3},
        {"isNull": True},
        {"stringValue": "12.345"},
        {"stringValue": "2010-12-01 08:26:00"},
    ]
    assert [warehouse._field_value(f) for f in records] == [3, None, "12.345", "2010-12-01 08:26:00"]
    assert warehouse._typed(pd.Series(["12.345", None]), "numeric").tolist()[0] == 12.345
    assert str(warehouse._typed(pd.Series(["2010-12-01 08:26:00"]), "timestamp").dtype).startswith("datetime64")
    assert warehouse._typed(pd.Series(["a"]), "varchar").tolist() == ["a"]


def test_a_failed_statement_says_what_redshift_said():
    error = warehouse.SqlError("select * from nowhere", "FAILED", 'ERROR: relation "nowhere" does not exist')
    assert 'ERROR: relation "nowhere" does not exist' in str(error) and "select * from nowhere" in str(error)


def test_destination_credentials_are_a_secret_or_a_user_and_password(monkeypatch):
    monkeypatch.setattr(firehose, "jdbc_url", lambda workgroup, database: "jdbc:redshift://wg.1.eu-west-1.redshift-serverless.amazonaws.com:5439/dev")
    monkeypatch.setattr(aws, "bucket", lambda: "b")
    common = {"role_arn": "arn:aws:iam::111122223333:role/r", "workgroup": "wg", "table": "public.t"}
    with pytest.raises(ValueError):
        firehose.redshift_destination(**common)
    with pytest.raises(ValueError):
        firehose.redshift_destination(**common, secret_arn="arn:s", username="u", password="p")
    with_secret = firehose.redshift_destination(**common, secret_arn="arn:s", buffering_hints={"SizeInMBs": 2, "IntervalInSeconds": 900}, log_group="g")
    assert with_secret["SecretsManagerConfiguration"] == {"Enabled": True, "SecretARN": "arn:s"}
    assert "Password" not in with_secret and "Username" not in with_secret
    assert with_secret["S3Configuration"]["BufferingHints"] == {"SizeInMBs": 2, "IntervalInSeconds": 900}
    assert with_secret["CloudWatchLoggingOptions"] == {"Enabled": True, "LogGroupName": "g", "LogStreamName": firehose.DELIVERY_LOG_STREAM}


def test_firehose_cidr_blocks_per_region():
    # "VPC access to an Amazon Redshift provisioned cluster or Amazon Redshift Serverless workgroup"
    assert warehouse_network.firehose_cidr("us-east-1") == "52.70.63.192/27"
    assert warehouse_network.firehose_cidr("eu-west-1") == "52.19.239.192/27"
    with pytest.raises(warehouse_network.NetworkSetupError, match="no Firehose CIDR block known for xx-test-1"):
        warehouse_network.firehose_cidr("xx-test-1")
