"""The secret scan reads the workbook's live secrets from the target (the local cloud here)."""

from __future__ import annotations

import json

import pytest

from helpers import aws, config, ingestion_api, secret_scan
from tests.conftest import own_names

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def names(local_cloud):
    with own_names(local_cloud, api_name="secret-scan-api", redshift_namespace="secret-scan-ns") as (n, _):
        yield n


def test_collect_finds_the_api_key_and_the_tagged_secrets_only(names):
    key = aws.client("apigateway").create_api_key(name=ingestion_api.key_name(), enabled=True, tags=config.TAGS)
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="scan/tagged", SecretString=json.dumps({"username": "u", "password": "Tagged-Passw0rd"}), Tags=aws.tag_list())
    sm.create_secret(Name="scan/someone-elses", SecretString="not-the-workbooks-secret")
    secrets = secret_scan.collect()
    assert secrets[f"API key {ingestion_api.key_name()}"] == key["value"]
    assert secrets["secret scan/tagged"] == "Tagged-Passw0rd"
    assert "not-the-workbooks-secret" not in secrets.values()


def test_the_namespace_admin_secret_managed_by_redshift_is_included(names):
    namespace = aws.client("redshift-serverless").create_namespace(
        namespaceName=names.redshift_namespace, adminUsername="admin", manageAdminPassword=True
    )["namespace"]
    sm = aws.client("secretsmanager")
    secret = sm.get_secret_value(SecretId=namespace["adminPasswordSecretArn"])
    assert secret_scan.collect()[f"secret {secret['Name']}"] == json.loads(secret["SecretString"])["password"]
