"""The records of one COPY data file: character-delimited text, CSV or JSON, field by field.

Each format yields, per record, the values for the target columns in order (``None`` for NULL;
text, or the JSON value) with where they came from (line number, the raw line, each field's raw
text and its position in the line), or a ``RecordProblem`` for a record that cannot be split into
fields (a missing delimiter, malformed JSON...). Converting the values to the column types is
``copy_values``' job.

* Text (the default): one record per line; fields split at DELIMITER (default ``|``, several
  characters allowed); NULL AS (default ``\\N``) marks NULL; ESCAPE makes the backslash escape the
  next character (delimiter, newline, backslash); REMOVEQUOTES strips surrounding quotes, keeping
  delimiters inside them; FILLRECORD fills missing trailing fields.
* CSV: fields enclosed in QUOTE (default ``"``) may hold delimiters, newlines and doubled quotes;
  white space between a delimiter and a quote is ignored; a field is NULL when it is unquoted
  and equals NULL AS.
* JSON: a sequence of objects (or arrays, with a JSONPaths file) separated by white space only;
  'auto' matches object keys to column names exactly ("matching JSON field names must also be
  lowercase"), 'auto ignorecase' in any case, a JSONPaths file by position; an object or array
  value loads as its JSON text; any other text between records is a load error of its own.
https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html
https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from helpers.localcloud.warehouse.copy_command import CopyCommand
from helpers.localcloud.warehouse.copy_values import JsonComposite, JsonNumber, json_text
from helpers.localcloud.warehouse.sql_errors import SqlError

MAX_JSON_RECORD_BYTES = 4 * 1024 * 1024  # "The maximum size of a single JSON object or array ... is 4 MB."
RAW_TEXT_LIMIT = 1024  # raw_line and raw_field_value are character(1024)
_JSON_DECODER = json.JSONDecoder(parse_float=JsonNumber, parse_int=JsonNumber)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_JSONPATH_DOT = re.compile(r"\.([^.\[\]']+)|\[(\d+)\]")
_JSONPATH_BRACKET = re.compile(r"\['([^']*)'\]|\[(\d+)\]")


@dataclass
class SourceRecord:
    line_number: int
    text: str  # the record as read; printable(text) is STL_LOAD_ERRORS.raw_line
    values: list[Any]  # one per target column
    fields: list[str] | None  # text formats: each field's text before NULL AS (raw_field_value)
    positions: list[int] | None  # text formats: where each field starts in the line (position)

    def raw_field_value(self, index: int) -> str:
        if self.fields is not None:
            return self.fields[index][:RAW_TEXT_LIMIT]
        value = self.values[index]
        return "" if value is None else str(value)[:RAW_TEXT_LIMIT]

    def position(self, index: int) -> int:
        return self.positions[index] if self.positions is not None else 0


@dataclass
class RecordProblem:
    line_number: int
    raw_line: str
    code: int
    reason: str
    column: int | None = None  # index of the column it concerns, if any
    raw_field_value: str = ""
    position: int = 0


def printable(text: str) -> str:
    """raw_line as STL_LOAD_ERRORS keeps it: "multibyte characters in the load data are replaced
    with a period", cut to 1024 characters."""
    text = text[:RAW_TEXT_LIMIT]
    if text.isascii():
        return text
    return "".join(c if ord(c) < 128 else "." for c in text)


def records(text: str, command: CopyCommand, columns: list[str], jsonpaths: list[Any] | None) -> Iterator[SourceRecord | RecordProblem]:
    """The records of one decoded data file."""
    if command.format == "JSON":
        return _json_records(text, command, columns, jsonpaths)
    if command.format == "CSV":
        return _delimited_records(text, command, len(columns), _csv_fields)
    return _delimited_records(text, command, len(columns), _text_fields)


# --- character-delimited text and CSV -------------------------------------------------------------


@dataclass
class _Field:
    text: str
    start: int
    quoted: bool = False


def _delimited_records(text: str, command: CopyCommand, column_count: int, split: Any) -> Iterator[SourceRecord | RecordProblem]:
    lines = _physical_lines(text)
    index = command.ignore_header  # IGNOREHEADER: "treats the specified number_rows as a file header"
    while index < len(lines):
        line_number = index + 1  # a record is numbered by the line it starts on
        if lines[index] == "" and command.ignore_blank_lines:
            index += 1
            continue
        result = split(lines, index, command)
        if isinstance(result, RecordProblem):
            result.line_number = line_number
            yield result
            index += 1
            continue
        fields, record_text, index = result
        yield _record_from_fields(fields, record_text, line_number, command, column_count)


def _physical_lines(text: str) -> list[str]:
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last record does not start another
    return lines


def _record_from_fields(fields: list[_Field], record_text: str, line_number: int, command: CopyCommand, column_count: int) -> SourceRecord | RecordProblem:
    if len(fields) > column_count:
        extra = fields[column_count]
        return RecordProblem(line_number, printable(record_text), 1202, "Extra column(s) found", None, extra.text[:RAW_TEXT_LIMIT], extra.start)
    if len(fields) < column_count:
        if not command.fill_record:
            return RecordProblem(line_number, printable(record_text), 1214, "Delimiter not found", len(fields), "", len(record_text))
        fields = fields + [_Field("", len(record_text)) for _ in range(column_count - len(fields))]
    values: list[Any] = []
    for field in fields:
        values.append(None if not field.quoted and field.text == command.null_as else field.text)
    return SourceRecord(
        line_number=line_number,
        text=record_text,
        values=values,
        fields=[field.text for field in fields],
        positions=[field.start for field in fields],
    )


def _text_fields(lines: list[str], index: int, command: CopyCommand) -> tuple[list[_Field], str, int] | RecordProblem:
    """One record of character-delimited text, from lines[index] (ESCAPE may join lines)."""
    line = lines[index]
    index += 1
    delimiter = command.field_delimiter
    if not command.escape and not command.remove_quotes:
        fields, start = [], 0
        for part in line.split(delimiter):
            fields.append(_Field(part, start))
            start += len(part) + len(delimiter)
        return fields, line, index
    record = line
    while command.escape and _ends_with_escape(record) and index < len(lines):
        record = record[:-1] + "\n" + lines[index]  # an escaped newline belongs to the value
        index += 1
    fields = []
    current: list[str] = []
    start, position = 0, 0
    quote: str | None = None
    while position < len(record):
        char = record[position]
        if command.escape and char == "\\" and position + 1 < len(record):
            current.append(record[position + 1])
            position += 2
            continue
        if command.remove_quotes and quote is None and not current and char in "'\"":
            quote = char
            position += 1
            continue
        if quote is not None and char == quote:
            quote = None
            position += 1
            continue
        if quote is None and record.startswith(delimiter, position):
            fields.append(_Field("".join(current), start))
            current = []
            position += len(delimiter)
            start = position
            continue
        current.append(char)
        position += 1
    if quote is not None:
        return RecordProblem(0, printable(record), 1216, "Unterminated quoted string (REMOVEQUOTES)", None, "".join(current)[:RAW_TEXT_LIMIT], start)
    fields.append(_Field("".join(current), start))
    return fields, record, index


def _ends_with_escape(text: str) -> bool:
    backslashes = len(text) - len(text.rstrip("\\"))
    return backslashes % 2 == 1


def _csv_fields(lines: list[str], index: int, command: CopyCommand) -> tuple[list[_Field], str, int] | RecordProblem:
    """One CSV record from lines[index]; a quoted field may run over several lines."""
    quote, delimiter = command.quote, command.field_delimiter
    line = lines[index].removesuffix("\r")
    if quote not in line:
        fields, start = [], 0
        for part in line.split(delimiter):
            fields.append(_Field(part, start))
            start += len(part) + 1
        return fields, line, index + 1
    record = line
    index += 1
    fields: list[_Field] = []
    position = 0
    while True:
        start = position
        probe = position
        while probe < len(record) and record[probe] in " \t" and record[probe] != delimiter:
            probe += 1
        if probe < len(record) and record[probe] == quote:
            position = probe + 1
            value: list[str] = []
            while True:
                if position >= len(record):
                    if index >= len(lines):
                        return RecordProblem(0, printable(record), 1216, "Unterminated quoted field (CSV)", None, "".join(value)[:RAW_TEXT_LIMIT], start)
                    record += "\n" + lines[index].removesuffix("\r")
                    index += 1
                    continue
                char = record[position]
                if char == quote:
                    if position + 1 < len(record) and record[position + 1] == quote:
                        value.append(quote)
                        position += 2
                        continue
                    position += 1
                    break
                value.append(char)
                position += 1
            while position < len(record) and record[position] in " \t" and record[position] != delimiter:
                position += 1
            fields.append(_Field("".join(value), start, quoted=True))
            if position >= len(record):
                return fields, record, index
            if record[position] != delimiter:
                return RecordProblem(0, printable(record), 1216, "Invalid quote formatting for CSV", None, record[start:position + 1][:RAW_TEXT_LIMIT], start)
            position += 1
            if position == len(record):
                fields.append(_Field("", position))
                return fields, record, index
            continue
        end = record.find(delimiter, position)
        if end == -1:
            fields.append(_Field(record[position:], start))
            return fields, record, index
        fields.append(_Field(record[position:end], start))
        position = end + 1


# --- JSON -----------------------------------------------------------------------------------------


def parse_jsonpaths(document: bytes, url: str) -> list[Any] | None:
    """The paths of a JSONPaths file, each a list of keys and indexes; None when its one key is not
    "jsonpaths" (COPY then "ignores jsonpaths_file and uses the 'auto' argument instead")."""
    try:
        parsed = json.loads(document.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SqlError(f"ERROR: Manifest file is invalid: the JSONPaths file {url} is not valid JSON ({error})") from error
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise SqlError(f"ERROR: the JSONPaths file {url} must hold exactly one JSON object with one key")
    key, paths = next(iter(parsed.items()))
    if key != "jsonpaths":
        return None
    if not isinstance(paths, list) or not paths:
        raise SqlError(f"ERROR: Invalid JSONPath format: the \"jsonpaths\" value in {url} must be a non-empty array")
    parsed_paths = [_jsonpath(path) for path in paths]
    notations = {"bracket" if "['" in path else "dot" for path in paths if isinstance(path, str) and len(path) > 1}
    if len(notations) > 1:
        raise SqlError("ERROR: Invalid JSONPath format: bracket notation and dot notation cannot be mixed")
    return parsed_paths


def _jsonpath(path: Any) -> list[str | int]:
    if not isinstance(path, str) or not path.startswith("$"):
        raise SqlError(f"ERROR: Invalid JSONPath format: {json.dumps(path)} (an expression starts with $)")
    rest = path[1:]
    pattern = _JSONPATH_BRACKET if rest.startswith("['") else _JSONPATH_DOT
    steps: list[str | int] = []
    position = 0
    while position < len(rest):
        match = pattern.match(rest, position)
        if match is None:
            other = _JSONPATH_DOT if pattern is _JSONPATH_BRACKET else _JSONPATH_BRACKET
            if other.match(rest, position):
                raise SqlError(f"ERROR: Invalid JSONPath format: {path}: bracket notation and dot notation cannot be mixed")
            raise SqlError(f"ERROR: Invalid JSONPath format: {path} (wildcards and filters are not supported)")
        name, index = match.group(1), match.group(2)
        steps.append(int(index) if index is not None else name)
        position = match.end()
    return steps


def _json_records(text: str, command: CopyCommand, columns: list[str], jsonpaths: list[Any] | None) -> Iterator[SourceRecord | RecordProblem]:
    if text.startswith("\ufeff"):
        text = text[1:]
    position = _skip_header_lines(text, command.ignore_header)
    line = text.count("\n", 0, position) + 1
    ignore_case = command.json_option == "auto ignorecase"
    while True:
        start = _WHITESPACE.match(text, position).end()
        line += text.count("\n", position, start)  # ``line`` is the line ``start`` is on
        if start >= len(text):
            return
        try:
            value, position = _JSON_DECODER.raw_decode(text, start)
        except ValueError as error:
            end = text.find("\n", start)
            end = len(text) if end == -1 else end
            yield RecordProblem(line, printable(text[start:end]), 1216, f"Invalid JSON: {error.msg}", None, "", error.pos - start)
            position = end
            continue
        line += text.count("\n", start, position)  # "the last line of the JSON object"
        raw = text[start:position]
        if len(raw.encode("utf-8", "surrogateescape")) > MAX_JSON_RECORD_BYTES:
            raise SqlError(f"ERROR: a JSON object at line {line} is larger than the 4 MB COPY accepts for one object")
        yield _json_record(value, raw, line, columns, ignore_case, jsonpaths)


def _skip_header_lines(text: str, count: int) -> int:
    position = 0
    for _ in range(count):
        newline = text.find("\n", position)
        if newline == -1:
            return len(text)
        position = newline + 1
    return position


def _json_record(
    value: Any, raw: str, line: int, columns: list[str], ignore_case: bool, jsonpaths: list[Any] | None
) -> SourceRecord | RecordProblem:
    values: list[Any] = [None] * len(columns)
    if jsonpaths is None:
        if not isinstance(value, dict):
            return RecordProblem(line, printable(raw), 1216, "Invalid JSONPath format: Member is not an object (arrays need a JSONPaths file)")
        positions = {(name.lower() if ignore_case else name): index for index, name in enumerate(columns)}
        for key, item in value.items():
            index = positions.get(key.lower() if ignore_case else key)
            if index is not None:
                values[index] = _loadable(item)
    else:
        for index, path in enumerate(jsonpaths):
            found = _follow(value, path)
            if isinstance(found, RecordProblem):
                found.line_number, found.raw_line, found.column = line, printable(raw), index
                return found
            values[index] = _loadable(found)
    return SourceRecord(line_number=line, text=raw, values=values, fields=None, positions=None)


def _follow(value: Any, path: list[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return RecordProblem(0, "", 1216, "Invalid JSONPath format: Not an array or index out of range.")
            value = value[step]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
            if value is None:
                return None
    return value


def _loadable(item: Any) -> Any:
    """A JSON value as COPY loads it: objects and arrays as their JSON text, the rest as is."""
    if isinstance(item, (dict, list)):
        return JsonComposite(json_text(item))
    return item
