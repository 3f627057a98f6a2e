"""Engine errors in Redshift's words, as DescribeStatement's ``Error`` shows them.

Redshift reports a failed statement as ``ERROR: <message>`` in PostgreSQL's wording (``relation
"x" does not exist``, ``column "y" does not exist``...). DuckDB words the same failures its own
way; the common ones are translated here, anything else keeps DuckDB's first line after
``ERROR:`` so that nothing is hidden.
"""

from __future__ import annotations

import re

_TYPE_NAMES = {
    "INT8": "smallint",
    "INT16": "smallint",
    "INT32": "integer",
    "INT64": "bigint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOL": "boolean",
    "BOOLEAN": "boolean",
}

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r'Table with name "?([^"!]+?)"? does not exist'), 'relation "{0}" does not exist'),
    (re.compile(r'View with name "?([^"!]+?)"? does not exist'), 'relation "{0}" does not exist'),
    (re.compile(r'Table with name "?([^"!]+?)"? already exists'), 'relation "{0}" already exists'),
    (re.compile(r'View with name "?([^"!]+?)"? already exists'), 'relation "{0}" already exists'),
    (re.compile(r'Schema with name "?([^"!]+?)"? does not exist'), 'schema "{0}" does not exist'),
    (re.compile(r'Schema with name "?([^"!]+?)"? already exists'), 'schema "{0}" already exists'),
    (re.compile(r'Referenced column "([^"]+)" not found'), 'column "{0}" does not exist'),
    (re.compile(r'Table "[^"]+" does not have a column named "([^"]+)"'), 'column "{0}" does not exist'),
    (re.compile(r'Scalar Function with name (\S+) does not exist'), "function {0} does not exist"),
    (re.compile(r'Aggregate Function with name (\S+) does not exist'), "function {0} does not exist"),
    (re.compile(r'Table Function with name (\S+) does not exist'), "function {0} does not exist"),
    (re.compile(r'syntax error at or near "([^"]*)"'), 'syntax error at or near "{0}"'),
    (re.compile(r"syntax error at end of input"), "syntax error at end of input"),
    (re.compile(r"NOT NULL constraint failed: [^.\s]+\.(\S+)"), "Cannot insert a NULL value into column {0}"),
    (re.compile(r"Division by zero"), "division by zero"),
    (re.compile(r"Malformed JSON"), "invalid json for type super"),
]

_VARCHAR_CHECK = re.compile(r"CHECK\(\(strlen\((?:\"?)([^)\"]+)(?:\"?)\) <= (\d+)\)\)")
_CONVERT = re.compile(r"Could not convert string '(.*)' to (\w+)")
_OUT_OF_RANGE = re.compile(r"Type \w+ with value (\S+) can't be cast because the value is out of range for the destination type (\w+)")


def redshift_message(duckdb_message: str) -> str:
    """``ERROR: ...`` for a DuckDB exception's text."""
    first_line = duckdb_message.strip().splitlines()[0] if duckdb_message.strip() else "unknown error"
    check = _VARCHAR_CHECK.search(duckdb_message)
    if check:
        return f"ERROR: value too long for type character varying({check[2]})"
    convert = _CONVERT.search(first_line)
    if convert:
        type_name = _TYPE_NAMES.get(convert[2].upper(), convert[2].lower())
        return f'ERROR: invalid input syntax for type {type_name}: "{convert[1]}"'
    out_of_range = _OUT_OF_RANGE.search(first_line)
    if out_of_range:
        type_name = _TYPE_NAMES.get(out_of_range[2].upper(), out_of_range[2].lower())
        return f'ERROR: value "{out_of_range[1]}" is out of range for type {type_name}'
    for pattern, template in _RULES:
        match = pattern.search(first_line)
        if match:
            return "ERROR: " + template.format(*match.groups())
    # Drop DuckDB's "<Kind> Error: " prefix; the rest is the engine's own explanation.
    return "ERROR: " + re.sub(r"^[A-Za-z ]+ Error: ", "", first_line)


class SqlError(Exception):
    """A statement failed; ``message`` is what DescribeStatement's ``Error`` shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StatementCancelled(Exception):
    """The statement was stopped by CancelStatement."""
