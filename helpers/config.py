"""Every resource name, the region and the target, in one place.

The target decides where boto3 goes: ``local`` (the default) points every client at the
workbook's own local cloud through the standard ``AWS_ENDPOINT_URL`` setting, with dummy
credentials; ``aws`` leaves boto3's usual credential chain and endpoints alone.

Settings come from the environment first, then from a ``.env`` file at the repository root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
# Executed notebooks, charts and the report; WORKBOOK_BUILD_DIR moves them (parallel runs, tests).
BUILD_DIR = Path(os.environ.get("WORKBOOK_BUILD_DIR") or REPO_ROOT / "build")
FIGURES_DIR = BUILD_DIR / "figures"  # charts the notebooks write as PNG files
TARGETS = ("local", "aws")
DEFAULT_LOCAL_PORT = 5055
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
# Tag on everything the workbook creates, so teardown can find it.
TAGS = {"project": "aws-data-engineering-workbook"}


@dataclass(frozen=True)
class Names:
    """Names of the AWS resources the notebooks create (the course's names where it has one)."""

    stream: str = "api-data"
    invoice_table: str = "invoice"
    customer_table: str = "customer"
    bucket_prefix: str = "aws-project"  # bucket = <prefix>-<account id>-<region>
    raw_prefix: str = "aws-project/kinesis-stream/"
    firehose_prefix: str = "aws-project/firehose/"
    firehose_errors_prefix: str = "aws-project/firehose-errors/"
    glue_scripts_prefix: str = "aws-project/glue-scripts/"
    glue_temp_prefix: str = "aws-project/glue-temp/"
    glue_database: str = "aws-project"
    # The course's table name, over raw_prefix. The workbook creates this table (helpers.batch.ensure_table)
    # and a crawler with it as a catalog target keeps its columns and partitions up to date.
    glue_table: str = "s3_bulkimport"
    glue_crawler: str = "aws-project-crawler"
    glue_job: str = "bulkimport_s3_redshift"
    redshift_namespace: str = "aws-project"
    redshift_workgroup: str = "aws-project"
    redshift_database: str = "dev"
    redshift_table: str = "dev_public_bulkimport"
    redshift_stream_table: str = "invoice_lines"  # loaded by Firehose (notebook 07)
    redshift_firehose_user: str = "firehose_user"  # Firehose's own database user
    redshift_firehose_secret: str = "aws-project/redshift-firehose-user"  # its credentials
    redshift_secret: str = "aws-project/redshift-admin"
    firehose_stream: str = "api-data-to-redshift"
    api_name: str = "aws-project-api"
    api_stage: str = "prod"
    api_resource: str = "invoices"
    fn_kinesis_api: str = "kinesis_api"
    fn_kinesis_to_s3: str = "write_kinesis_to_s3"
    fn_kinesis_to_dynamodb: str = "write_kinesis_to_dynamodb"
    fn_bulk_import: str = "bulk_import"
    schedule_rule: str = "aws-project-bulk-import"
    roles: dict[str, str] = field(
        default_factory=lambda: {
            "kinesis_api": "aws-project-kinesis-api-role",
            "write_kinesis_to_s3": "aws-project-kinesis-to-s3-role",
            "write_kinesis_to_dynamodb": "aws-project-kinesis-to-dynamodb-role",
            "bulk_import": "aws-project-bulk-import-role",
            "firehose": "aws-project-firehose-role",
            "glue": "aws-project-glue-role",
            "redshift": "aws-project-redshift-role",
        }
    )

    def bucket(self, account_id: str, region: str) -> str:
        """S3 bucket names are global: deriving from account and region keeps them unique."""
        return f"{self.bucket_prefix}-{account_id}-{region}"


@dataclass(frozen=True)
class Settings:
    target: str
    region: str
    local_host: str
    local_port: int
    state_dir: Path
    names: Names = field(default_factory=Names)

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def local_endpoint(self) -> str:
        return f"http://{self.local_host}:{self.local_port}"


class ConfigError(ValueError):
    """A setting has a value the workbook cannot use."""


def _read(name: str, dotenv: dict, default: str) -> str:
    value = os.environ.get(name)
    if value in (None, ""):
        value = dotenv.get(name)
    return default if value in (None, "") else str(value).strip()


def load(env_file: Path | None = None) -> Settings:
    """Read the settings from the environment, then ``.env``, then the defaults."""
    path = env_file or REPO_ROOT / ".env"
    dotenv = dotenv_values(path) if path.exists() else {}
    target = _read("WORKBOOK_TARGET", dotenv, "local").lower()
    if target not in TARGETS:
        raise ConfigError(f"WORKBOOK_TARGET={target!r}: choose one of {', '.join(TARGETS)}")
    port_text = _read("WORKBOOK_LOCAL_PORT", dotenv, str(DEFAULT_LOCAL_PORT))
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"WORKBOOK_LOCAL_PORT={port_text!r} is not a TCP port number")
    region = _read("AWS_REGION", dotenv, _read("AWS_DEFAULT_REGION", dotenv, "us-east-1"))
    state_dir = Path(_read("WORKBOOK_STATE_DIR", dotenv, str(REPO_ROOT / ".localcloud")))
    return Settings(
        target=target,
        region=region,
        local_host=_read("WORKBOOK_LOCAL_HOST", dotenv, "127.0.0.1"),
        local_port=int(port_text),
        state_dir=state_dir.resolve(),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process (read once)."""
    return load()


def client_environment(s: Settings) -> dict[str, str]:
    """Environment variables that point boto3 at the chosen target.

    Local: the standard ``AWS_ENDPOINT_URL`` plus dummy credentials, so real credentials are never
    sent to the local endpoint. AWS: only the region; boto3's own credential chain does the rest.
    """
    env = {"AWS_REGION": s.region, "AWS_DEFAULT_REGION": s.region}
    if s.is_local:
        env.update(
            AWS_ENDPOINT_URL=s.local_endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
        )
    return env


def apply_environment(s: Settings | None = None) -> Settings:
    """Set this process's environment so that every boto3 client reaches the chosen target."""
    s = s or settings()
    os.environ.update(client_environment(s))
    if not s.is_local:  # undo what a local run of this process set
        os.environ.pop("AWS_ENDPOINT_URL", None)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if os.environ.get(name) == "testing":
                del os.environ[name]
    return s
