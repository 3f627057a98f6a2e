"""Notebook 00's logic: choose the target and show that it answers.

``local``: start (or reuse) the local cloud and show it is healthy.
``aws``: check the credentials with STS and show the account and region. Nothing is created.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from helpers import aws, config, outage
from helpers.localcloud import lifecycle


@dataclass
class Connection:
    target: str
    region: str
    account_id: str
    endpoint: str  # where boto3 sends requests
    detail: str  # one line for the learner

    def as_rows(self) -> list[tuple[str, str]]:
        return [
            ("target", self.target),
            ("region", self.region),
            ("account", self.account_id),
            ("endpoint", self.endpoint),
            ("status", self.detail),
        ]


def save_target(target: str) -> None:
    """Remember the choice in ``.env`` so that the other notebooks (each its own kernel) follow it."""
    if target not in config.TARGETS:
        raise config.ConfigError(f"target {target!r}: choose one of {', '.join(config.TARGETS)}")
    path = config.REPO_ROOT / ".env"
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if not re.match(r"\s*WORKBOOK_TARGET\s*=", line)]
    path.write_text("\n".join([*kept, f"WORKBOOK_TARGET={target}"]) + "\n")
    os.environ["WORKBOOK_TARGET"] = target
    _forget_cached_settings()


def _forget_cached_settings() -> None:
    config.settings.cache_clear()
    aws.session.cache_clear()
    aws.account_id.cache_clear()


def connect() -> Connection:
    """Reach the configured target, starting the local cloud if that is the target."""
    s = config.settings()
    if s.is_local:
        status = lifecycle.up(s)
        detail = status.describe()
        endpoint = s.local_endpoint
        outage.watch_notebook()  # a local cloud lost later in the notebook gets a clear message
    else:
        endpoint = f"https://<service>.{s.region}.amazonaws.com (boto3's defaults)"
        detail = "credentials accepted by STS"
    identity = aws.client("sts").get_caller_identity()  # fails clearly without valid credentials
    return Connection(s.target, s.region, identity["Account"], endpoint, detail)
