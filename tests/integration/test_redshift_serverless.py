"""Redshift Serverless namespaces and workgroups on the local cloud, over HTTP with boto3.

API reference: https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/Welcome.html
Capacity: https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def rs(local_cloud):
    return boto3.client("redshift-serverless", region_name=local_cloud.region)


@pytest.fixture(scope="module")
def secrets(local_cloud):
    return boto3.client("secretsmanager", region_name=local_cloud.region)


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def wait_for(read, status: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = read()
        if current["status"] == status or time.monotonic() > deadline:
            return current
        time.sleep(0.1)


def test_namespace_lifecycle(rs):
    created = rs.create_namespace(
        namespaceName="rs-test-ns", adminUsername="awsuser", adminUserPassword="Passw0rdOK", dbName="sales"
    )["namespace"]
    assert created["status"] == "AVAILABLE"
    assert created["namespaceArn"] == f"arn:aws:redshift-serverless:us-east-1:123456789012:namespace/{created['namespaceId']}"
    assert (created["dbName"], created["adminUsername"], created["kmsKeyId"]) == ("sales", "awsuser", "AWS_OWNED_KMS_KEY")
    assert "adminUserPassword" not in created and "adminPasswordSecretArn" not in created

    assert rs.get_namespace(namespaceName="rs-test-ns")["namespace"]["namespaceId"] == created["namespaceId"]
    assert "rs-test-ns" in [ns["namespaceName"] for ns in rs.list_namespaces()["namespaces"]]

    updated = rs.update_namespace(namespaceName="rs-test-ns", logExports=["userlog"])["namespace"]
    assert updated["status"] == "MODIFYING" and updated["logExports"] == ["userlog"]
    assert wait_for(lambda: rs.get_namespace(namespaceName="rs-test-ns")["namespace"], "AVAILABLE")["status"] == "AVAILABLE"

    deleted = rs.delete_namespace(namespaceName="rs-test-ns")["namespace"]
    assert deleted["status"] == "DELETING"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            rs.get_namespace(namespaceName="rs-test-ns")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            break
        time.sleep(0.1)
    else:
        pytest.fail("the namespace was never deleted")


def test_namespace_errors(rs):
    rs.create_namespace(namespaceName="rs-test-dup")
    assert error_of(rs.create_namespace, namespaceName="rs-test-dup")[0] == "ConflictException"
    code, message = error_of(rs.get_namespace, namespaceName="rs-test-none")
    assert (code, message) == ("ResourceNotFoundException", "Serverless namespace rs-test-none not found.")
    code, message = error_of(rs.create_namespace, namespaceName="Bad_Name")
    assert code == "ValidationException" and "^[a-z0-9-]+$" in message
    code, message = error_of(rs.create_namespace, namespaceName="rs-test-x", adminUsername="admin")
    assert code == "ValidationException" and "together" in message
    code, message = error_of(rs.create_namespace, namespaceName="rs-test-x", manageAdminPassword=True, adminUserPassword="Passw0rdOK")
    assert (code, message) == ("ValidationException", "You can't use adminUserPassword if manageAdminPassword is true.")
    code, message = error_of(rs.create_namespace, namespaceName="rs-test-x", adminUsername="admin", adminUserPassword="short")
    assert code == "ValidationException" and "8 to 64 characters" in message


def test_managed_admin_password_lives_in_secrets_manager(rs, secrets):
    namespace = rs.create_namespace(namespaceName="rs-test-managed", manageAdminPassword=True)["namespace"]
    arn = namespace["adminPasswordSecretArn"]
    assert namespace["adminUsername"] == "admin"
    assert ":secret:redshift!rs-test-managed-admin" in arn
    credentials = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert credentials["username"] == "admin" and len(credentials["password"]) >= 8

    rs.delete_namespace(namespaceName="rs-test-managed")
    assert error_of(secrets.get_secret_value, SecretId=arn)[0] == "ResourceNotFoundException"


def test_workgroup_lifecycle(rs):
    rs.create_namespace(namespaceName="rs-test-wg-ns")
    created = rs.create_workgroup(workgroupName="rs-test-wg", namespaceName="rs-test-wg-ns", baseCapacity=8)["workgroup"]
    assert created["status"] == "CREATING"
    assert created["baseCapacity"] == 8
    assert created["endpoint"]["address"] == "rs-test-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com"
    assert created["endpoint"]["port"] == 5439
    assert {p["parameterKey"] for p in created["configParameters"]} >= {"search_path", "max_query_execution_time"}

    available = wait_for(lambda: rs.get_workgroup(workgroupName="rs-test-wg")["workgroup"], "AVAILABLE")
    assert available["status"] == "AVAILABLE"

    updated = rs.update_workgroup(workgroupName="rs-test-wg", baseCapacity=32)["workgroup"]
    assert (updated["status"], updated["baseCapacity"]) == ("MODIFYING", 32)
    code, message = error_of(rs.update_workgroup, workgroupName="rs-test-wg", baseCapacity=16)
    assert code == "ConflictException"
    wait_for(lambda: rs.get_workgroup(workgroupName="rs-test-wg")["workgroup"], "AVAILABLE")

    code, _ = error_of(rs.delete_namespace, namespaceName="rs-test-wg-ns")
    assert code == "ConflictException"  # its workgroup comes first

    assert rs.delete_workgroup(workgroupName="rs-test-wg")["workgroup"]["status"] == "DELETING"
    deadline = time.monotonic() + 10
    while "rs-test-wg" in [wg["workgroupName"] for wg in rs.list_workgroups()["workgroups"]]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    rs.delete_namespace(namespaceName="rs-test-wg-ns")


def test_workgroup_defaults_and_limits(rs):
    rs.create_namespace(namespaceName="rs-test-limits")
    workgroup = rs.create_workgroup(workgroupName="rs-test-limits", namespaceName="rs-test-limits")["workgroup"]
    assert workgroup["baseCapacity"] == 128  # the default base capacity
    for bad in (7, 12, 1025):
        code, message = error_of(rs.create_workgroup, workgroupName="rs-test-bad", namespaceName="rs-test-limits", baseCapacity=bad)
        assert code == "ValidationException" and "baseCapacity" in message
    code, _ = error_of(rs.create_workgroup, workgroupName="rs-test-other", namespaceName="rs-test-limits")
    assert code == "ConflictException"  # one workgroup per namespace
    code, message = error_of(rs.create_workgroup, workgroupName="rs-test-orphan", namespaceName="rs-test-none")
    assert (code, message) == ("ResourceNotFoundException", "Serverless namespace rs-test-none not found.")
    code, message = error_of(rs.get_workgroup, workgroupName="rs-test-none")
    assert (code, message) == ("ResourceNotFoundException", "Serverless workgroup rs-test-none not found.")
    wait_for(lambda: rs.get_workgroup(workgroupName="rs-test-limits")["workgroup"], "AVAILABLE")
    code, message = error_of(rs.update_workgroup, workgroupName="rs-test-limits", baseCapacity=16, port=5440)
    assert code == "ValidationException" and "multiple configurations" in message
    code, message = error_of(rs.update_workgroup, workgroupName="rs-test-limits", port=6000)
    assert code == "ValidationException" and "port" in message


def test_tags_find_resources(rs):
    namespace = rs.create_namespace(namespaceName="rs-test-tags", tags=[{"key": "project", "value": "workbook"}])["namespace"]
    arn = namespace["namespaceArn"]
    assert rs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "project", "value": "workbook"}]
    rs.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "test"}])
    assert {t["key"] for t in rs.list_tags_for_resource(resourceArn=arn)["tags"]} == {"project", "stage"}
    rs.untag_resource(resourceArn=arn, tagKeys=["stage"])
    assert [t["key"] for t in rs.list_tags_for_resource(resourceArn=arn)["tags"]] == ["project"]
    missing = arn.replace(namespace["namespaceId"], "00000000-0000-0000-0000-000000000000")
    assert error_of(rs.list_tags_for_resource, resourceArn=missing)[0] == "ResourceNotFoundException"


def test_list_pagination(rs):
    for n in range(3):
        rs.create_namespace(namespaceName=f"rs-test-page-{n}")
    names, token = [], None
    while True:
        page = rs.list_namespaces(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["namespaces"]) <= 2
        names += [ns["namespaceName"] for ns in page["namespaces"]]
        token = page.get("nextToken")
        if not token:
            break
    assert {f"rs-test-page-{n}" for n in range(3)} <= set(names)
    assert len(names) == len(set(names))


def test_unemulated_actions_say_so(rs):
    code, message = error_of(rs.list_snapshots)
    assert code == "NotImplemented" and "ListSnapshots" in message
