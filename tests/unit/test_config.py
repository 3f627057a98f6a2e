"""Configuration: target, port and names, from the environment and .env."""

from __future__ import annotations

import pytest

from helpers import config


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("WORKBOOK_TARGET", "WORKBOOK_LOCAL_PORT", "WORKBOOK_STATE_DIR", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_local_on_the_documented_port(clean_env, tmp_path):
    s = config.load(tmp_path / "missing.env")
    assert s.target == "local" and s.is_local
    assert s.local_port == config.DEFAULT_LOCAL_PORT
    assert s.local_endpoint == f"http://127.0.0.1:{config.DEFAULT_LOCAL_PORT}"
    assert s.region == "us-east-1"


def test_dotenv_is_read_and_the_environment_wins(clean_env, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("WORKBOOK_TARGET=aws\nWORKBOOK_LOCAL_PORT=6000\nAWS_REGION=eu-west-1\n")
    s = config.load(env_file)
    assert (s.target, s.local_port, s.region) == ("aws", 6000, "eu-west-1")
    clean_env.setenv("WORKBOOK_TARGET", "local")
    assert config.load(env_file).target == "local"


@pytest.mark.parametrize("name, value", [("WORKBOOK_TARGET", "azure"), ("WORKBOOK_LOCAL_PORT", "http")])
def test_bad_values_are_clear_errors(clean_env, tmp_path, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        config.load(tmp_path / "missing.env")


def test_local_environment_uses_the_standard_endpoint_setting_and_dummy_credentials(clean_env, tmp_path):
    env = config.client_environment(config.load(tmp_path / "missing.env"))
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{config.DEFAULT_LOCAL_PORT}"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


def test_aws_environment_leaves_endpoints_and_credentials_to_boto3(clean_env, tmp_path):
    clean_env.setenv("WORKBOOK_TARGET", "aws")
    env = config.client_environment(config.load(tmp_path / "missing.env"))
    assert "AWS_ENDPOINT_URL" not in env and "AWS_ACCESS_KEY_ID" not in env


def test_course_names_and_a_globally_unique_bucket():
    names = config.Names()
    assert (names.stream, names.invoice_table, names.customer_table) == ("api-data", "invoice", "customer")
    assert (names.glue_database, names.glue_table) == ("aws-project", "s3_bulkimport")
    assert names.redshift_table == "dev_public_bulkimport"
    assert names.raw_prefix == "aws-project/kinesis-stream/"
    assert names.bucket("111122223333", "eu-west-1") == "aws-project-111122223333-eu-west-1"
