"""Redshift's SIMILAR TO patterns as the regular expressions DuckDB matches with.

Redshift ("SIMILAR TO", Amazon Redshift Database Developer Guide) matches the whole string against a
SQL standard pattern: ``%`` any sequence, ``_`` any one character, ``|`` ``*`` ``+`` ``?`` ``{m,n}``
``()`` ``[...]`` as in regular expressions, every other character literal (``.`` ``^`` ``$``
included), and the escape character (default ``\\``) makes the next one literal. DuckDB's own
SIMILAR TO takes a regular expression instead, so ``'ab' SIMILAR TO 'a%'`` would be false there.
"""

from __future__ import annotations

import re

REGEX_OPERATORS = set("|*+?{}()")


def to_regex(pattern: str, escape: str = "\\") -> str:
    """The anchored regular expression that matches what ``pattern`` matches under SIMILAR TO."""
    if len(escape) > 1:
        raise ValueError(f"the ESCAPE character must be one character, not {escape!r}")
    parts, index, in_brackets = [], 0, False
    while index < len(pattern):
        char = pattern[index]
        if escape and char == escape and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if in_brackets:
            parts.append(char)
            in_brackets = char != "]"
        elif char == "[":
            parts.append(char)
            in_brackets = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char in REGEX_OPERATORS or char == ",":
            parts.append(char)
        else:
            parts.append(re.escape(char))
        index += 1
    return "^(?:" + "".join(parts) + ")$"
