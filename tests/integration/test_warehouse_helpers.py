"""Notebooks 06-07's helpers on the local cloud: the warehouse, SQL through the Data API, Firehose's
database user and network path. Each ``ensure_*`` / ``create_*`` must be idempotent.

Resources get names of their own (a suffix on ``config.Names``), so that these tests never meet
another test's namespace, secret or security group in the shared local cloud.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from helpers import aws, config, warehouse, warehouse_network, warehouse_users
from tests.conftest import own_names

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def names(local_cloud):
    tag = uuid.uuid4().hex[:6]
    n = local_cloud.names
    with own_names(
        local_cloud,
        redshift_namespace=f"wh-{tag}",
        redshift_workgroup=f"wh-{tag}",
        redshift_firehose_user=f"firehose_{tag}",
        redshift_firehose_secret=f"{n.redshift_firehose_secret}-{tag}",
    ) as (suffixed, patch):
        patch.setattr(warehouse, "_current", None)
        yield suffixed


@pytest.fixture(scope="module")
def wh(names):
    return warehouse.ensure_warehouse()


def test_the_warehouse_is_created_once_with_a_managed_admin_password(names, wh):
    again = warehouse.ensure_warehouse()
    assert again == wh and warehouse.find_warehouse() == wh
    workgroup = aws.client("redshift-serverless").get_workgroup(workgroupName=names.redshift_workgroup)["workgroup"]
    assert workgroup["baseCapacity"] == warehouse.BASE_CAPACITY_RPU and workgroup["status"] == "AVAILABLE"
    assert f":secret:redshift!{names.redshift_namespace}-admin-" in wh.secret_arn
    rows = dict(warehouse.describe_rows(wh))
    password = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=wh.secret_arn)["SecretString"])["password"]
    assert rows["base capacity"] == "8 RPUs" and password not in str(rows)


def test_a_changed_base_capacity_is_applied(names, wh):
    warehouse.ensure_workgroup(names.redshift_workgroup, names.redshift_namespace, base_capacity=16)
    assert aws.client("redshift-serverless").get_workgroup(workgroupName=names.redshift_workgroup)["workgroup"]["baseCapacity"] == 16
    warehouse.ensure_workgroup(names.redshift_workgroup, names.redshift_namespace)


def test_run_sql_returns_typed_frames_and_binds_parameters(wh):
    warehouse.run_sql("create table if not exists public.prices (code varchar(8), price decimal(12,3), at timestamp, n integer)")
    warehouse.run_sql("insert into public.prices values ('A', 2.55, '2010-12-01 08:26:00', 6), ('B', 0.001, '2010-12-02 09:00:00', 2)")
    frame = warehouse.run_sql("select code, price, at, n from public.prices where n > :minimum order by code", {"minimum": 1})
    assert frame["code"].tolist() == ["A", "B"] and frame["price"].tolist() == [2.55, 0.001]
    assert frame["at"].iloc[0] == pd.Timestamp("2010-12-01 08:26:00") and frame["n"].tolist() == [6, 2]
    assert frame.attrs["result_rows"] == 2 and frame.attrs["statement_id"]
    assert warehouse.run_sql("delete from public.prices where code = 'B'").attrs["result_rows"] == 1


def test_a_failed_statement_raises_redshifts_message(wh):
    with pytest.raises(warehouse.SqlError, match='ERROR: relation "no_such_table" does not exist') as raised:
        warehouse.run_sql("select * from no_such_table")
    assert raised.value.status == "FAILED"


def test_wait_for_count_stops_after_its_timeout_saying_how_far_it_got(wh):
    lines = []
    with pytest.raises(TimeoutError, match="0 of 5"):
        warehouse.wait_for_count("select count(*) from public.prices where n < 0", 5, timeout_s=0.5, every_s=0.2, out=lines.append)
    assert lines and lines[0].endswith("0 of 5")


def test_the_database_user_keeps_its_password_in_the_secret_only(names, wh):
    user, secret_name = names.redshift_firehose_user, names.redshift_firehose_secret
    grants = [f"grant usage on schema public to {user}", f"grant insert on table public.prices to {user}"]
    first = warehouse_users.create_database_user(user, secret_name, grants)
    stored = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=first)["SecretString"])
    second = warehouse_users.create_database_user(user, secret_name, grants)  # altered to the same password
    assert first == second and stored["username"] == user
    assert json.loads(aws.client("secretsmanager").get_secret_value(SecretId=second)["SecretString"]) == stored
    texts = warehouse.run_sql(
        "select query_text from sys_query_history where query_text like :pattern", {"pattern": f"%USER {user}%"}
    )["query_text"]
    assert len(texts) == 3  # CREATE, then the second run's failed CREATE and its ALTER
    # Neither the password nor its hash reaches the history (helpers/localcloud/warehouse/redaction.py).
    assert all(stored["password"] not in text and "md5" not in text and "'***'" in text for text in texts)


def test_the_workgroup_is_opened_to_firehose_only_once(names, wh):
    first = dict(warehouse_network.open_to_firehose(names.redshift_workgroup))
    second = dict(warehouse_network.open_to_firehose(names.redshift_workgroup))
    assert first == second and second["publicly accessible"] is True
    group_id = second["workgroup's security groups"]
    [group] = aws.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    [rule] = group["IpPermissions"]
    cidr = warehouse_network.firehose_cidr(config.settings().region)
    assert (rule["FromPort"], rule["ToPort"], [r["CidrIp"] for r in rule["IpRanges"]]) == (5439, 5439, [cidr])


def test_a_secret_scheduled_for_deletion_is_restored_not_replaced(names):
    """Notebook 99 on AWS keeps secrets 7 days (DeleteSecret, RecoveryWindowInDays); a rerun of
    notebook 07 meanwhile takes the secret back (RestoreSecret) with its password."""
    sm = aws.client("secretsmanager")
    secret = f"{names.redshift_firehose_secret}-restored"
    sm.create_secret(Name=secret, SecretString=json.dumps({"username": "restored_user", "password": "Passw0rd-kept"}))
    sm.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
    _, password = warehouse_users._ensure_secret(secret, "restored_user")
    assert password == "Passw0rd-kept"
    assert "DeletedDate" not in sm.describe_secret(SecretId=secret)
