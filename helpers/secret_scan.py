"""Check that no secret value appears in executed notebooks (their outputs and HTML renderings).

The secrets are read live from the target and kept in memory only: the API keys' values, the
passwords in the workbook's Secrets Manager secrets (the Redshift admin's, which Redshift manages,
and the Firehose database user's) and, on AWS, the credentials boto3 signs with. The scan reports
which secret (by its label, never its value) appears in which notebook.

``make run`` reads the secrets before the teardown notebook deletes them, then scans every
executed notebook; a finding fails the run.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from helpers import aws, config, ingestion_api

# Shorter values would match by chance (and no secret the workbook handles is this short).
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class Finding:
    file: str
    secret: str  # the label, e.g. "API key aws-project-api-key"

    def __str__(self) -> str:
        return f"{self.file}: contains the value of {self.secret}"


def api_key_values() -> dict[str, str]:
    """The value of the workbook's API key (GetApiKeys with includeValues)."""
    gateway = aws.client("apigateway")
    name = ingestion_api.key_name()
    keys = gateway.get_api_keys(nameQuery=name, includeValues=True, limit=500)["items"]
    return {f"API key {k['name']}": k["value"] for k in keys if k["name"].startswith(name)}


def _workbook_secret_ids() -> list[str]:
    """The workbook's secrets: those with its project tag, and the admin secret Redshift manages for
    the namespace (created by Redshift, so without the workbook's tag)."""
    sm = aws.client("secretsmanager")
    ids = []
    for page in sm.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            tags = {t["Key"]: t["Value"] for t in secret.get("Tags", [])}
            if all(tags.get(k) == v for k, v in config.TAGS.items()):
                ids.append(secret["ARN"])
    try:
        namespace = aws.client("redshift-serverless").get_namespace(namespaceName=config.settings().names.redshift_namespace)
        ids.append(namespace["namespace"]["adminPasswordSecretArn"])
    except (ClientError, KeyError):
        pass  # no namespace (yet, or any more), or not a managed password
    return list(dict.fromkeys(ids))


def secret_values() -> dict[str, str]:
    """Each workbook secret's password (or whole string when it is not JSON)."""
    sm = aws.client("secretsmanager")
    found = {}
    for secret_id in _workbook_secret_ids():
        response = sm.get_secret_value(SecretId=secret_id)
        text = response.get("SecretString") or ""
        try:
            value = json.loads(text).get("password", "")
        except (ValueError, AttributeError):
            value = text
        found[f"secret {response['Name']}"] = value
    return found


def credential_values() -> dict[str, str]:
    """The secret access key and session token boto3 signs with, unless they are the local dummies."""
    if config.settings().is_local:
        return {}
    credentials = aws.session().get_credentials().get_frozen_credentials()
    return {"AWS secret access key": credentials.secret_key or "", "AWS session token": credentials.token or ""}


def collect() -> dict[str, str]:
    """Every secret value to look for, by label. A part that does not exist yet is simply absent."""
    secrets: dict[str, str] = {}
    for part in (api_key_values, secret_values, credential_values):
        try:
            secrets.update(part())
        except ClientError:
            continue  # e.g. no permission to list secrets: scan for what could be read
    return {label: value for label, value in secrets.items() if len(value) >= MIN_SECRET_LENGTH}


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def notebook_text(path: Path) -> str:
    """Everything a reader of an executed notebook sees in its outputs (text, HTML, images'
    base64, tracebacks), not its source; an HTML rendering is read whole."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8", errors="replace")
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join(_strings([cell.get("outputs", []) for cell in notebook["cells"]]))


def scan(paths: Iterable[Path], secrets: Mapping[str, str]) -> list[Finding]:
    """Which secret appears in which file, also JSON- or HTML-escaped (a value with a quote)."""
    findings = []
    for path in paths:
        text = notebook_text(path)
        for label, value in secrets.items():
            if any(form in text for form in (value, json.dumps(value)[1:-1], html.escape(value))):
                findings.append(Finding(path.name, label))
    return findings
