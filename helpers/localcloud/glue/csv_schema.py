"""The built-in CSV classifier: delimiter, header and column types from the first rows of a file.

Follows "Built-in CSV classifier" in https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html:

* delimiters tried: comma, pipe, tab, semicolon and Ctrl-A (``\\u0001``); the file must have at
  least two columns and two rows (locally: 90% of the sampled rows must have the first row's width,
  and rows of another width are left out of the typing);
* the first row is a header when every cell of it parses as a string, each (but a trailing empty
  last one) is under 150 characters, and the rows below are "sufficiently different": at least one
  column of the data parses as something other than a string. Otherwise the columns are named
  ``col0``, ``col1``... (the page says col1, col2; tables crawled on AWS number them from col0);
* the sample is the first 1,000 records or the first megabyte, whichever comes first (knowledge
  center, "How does the AWS Glue crawler detect the schema?").

Types are ``boolean``, ``bigint``, ``double`` or ``string``; date and time texts stay ``string``, as
crawled CSV tables show them. Quoted fields make the table use ``OpenCSVSerde`` instead of
``LazySimpleSerDe``.
"""

from __future__ import annotations

import collections
import csv
import io
import re
from dataclasses import dataclass

from helpers.localcloud.glue.glue_types import NULL, STRING, GlueType, Schema, merge

DELIMITERS = (",", "|", "\t", ";", "\x01")
SAMPLE_RECORDS = 1000
CONSISTENT_ROWS = 0.9  # a stray malformed row does not stop a file from being CSV
HEADER_CELL_LIMIT = 150
BIGINT = re.compile(r"[+-]?\d{1,18}")
DOUBLE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(NaN|Infinity)")
BOOLEAN = {"true", "false"}


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str
    has_header: bool
    quoted: bool


@dataclass(frozen=True)
class CsvSample:
    schema: Schema
    format: CsvFormat
    records: int  # data rows in the sample
    sample_bytes: int


def cell_type(cell: str) -> GlueType:
    value = cell.strip()
    if not value:
        return NULL
    if value.lower() in BOOLEAN:
        return GlueType("boolean")
    if BIGINT.fullmatch(value):
        return GlueType("bigint")
    if DOUBLE.fullmatch(value):
        return GlueType("double")
    return STRING


def _rows(text: str, delimiter: str) -> list[list[str]]:
    rows = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"'):
        if row:
            rows.append(row)
        if len(rows) > SAMPLE_RECORDS:
            break
    return rows


def _delimiter_rows(text: str) -> tuple[str, list[list[str]]] | None:
    """The first delimiter that splits nearly every row (``CONSISTENT_ROWS``) into the same number,
    at least two, of columns; with the rows of that width."""
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1] or text
    for delimiter in DELIMITERS:
        rows = _rows(complete, delimiter)
        if len(rows) < 2:
            continue
        width, count = collections.Counter(len(row) for row in rows).most_common(1)[0]
        if width >= 2 and count / len(rows) >= CONSISTENT_ROWS and len(rows[0]) == width:
            return delimiter, [row for row in rows if len(row) == width]
    return None


def _is_header(first: list[str], data: list[list[str]]) -> bool:
    last_column_empty = all(not row[-1].strip() for row in [first, *data])
    for index, cell in enumerate(first):
        is_last = index == len(first) - 1
        if is_last and last_column_empty:
            continue
        if cell_type(cell) != STRING or len(cell) >= HEADER_CELL_LIMIT:
            return False
    return any(cell_type(cell) not in (STRING, NULL) for row in data for cell in row)


def infer(text: str) -> CsvSample | None:
    found = _delimiter_rows(text)
    if found is None:
        return None
    delimiter, rows = found
    has_header = _is_header(rows[0], rows[1:])
    if has_header:
        names = _unique([cell.strip().lower() for cell in rows[0]])
        data = rows[1:]
    else:
        names = [f"col{index}" for index in range(len(rows[0]))]
        data = rows
    data = data[:SAMPLE_RECORDS]
    types: list[GlueType] = [NULL] * len(names)
    for row in data:
        for index, cell in enumerate(row):
            types[index] = merge(types[index], cell_type(cell))
    schema = Schema()
    for name, kind in zip(names, types, strict=True):
        schema.add(name, kind)
    used = "".join(_line_texts(text, len(data) + int(has_header)))
    return CsvSample(schema, CsvFormat(delimiter, has_header, '"' in used), len(data), len(used.encode("utf-8")))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result


def _line_texts(text: str, count: int) -> list[str]:
    """The first ``count`` physical lines (an approximation of the records' bytes)."""
    return text.splitlines(keepends=True)[:count]
