"""Secrets never reach the query history: passwords and credentials in SQL text are masked.

SYS_QUERY_HISTORY keeps every statement's text, and the notebooks show it. A `CREATE USER ...
PASSWORD 'md5...'` or a `COPY ... CREDENTIALS '...'` would otherwise keep a secret there. This is
the local cloud's choice, made for safety; Redshift's own logs mask such values too, but the exact
form they take there has not been checked against a live warehouse.
"""

from __future__ import annotations

import re

_SECRET_LITERAL = re.compile(
    r"(\b(?:PASSWORD|CREDENTIALS|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)\s+(?:AS\s+)?)'(?:[^']|'')*'",
    re.IGNORECASE,
)


def redact(sql: str) -> str:
    """The statement with every password or credential literal replaced by '***'."""
    return _SECRET_LITERAL.sub(r"\1'***'", sql)
