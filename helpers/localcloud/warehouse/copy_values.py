"""One source value of a COPY into one column: Redshift's conversion rules and its load errors.

COPY converts the text of each field (or each JSON value) to the target column's type itself,
with its own rules, not with a cast: "Invalid digit, Value '.', Pos 8, Type: Long" for a decimal
point in an integer, DECIMAL values truncated to the column's scale (rounded with ROUNDEC),
VARCHAR lengths counted in bytes (TRUNCATECOLUMNS cuts instead of failing), empty and blank fields
of non-character columns loaded as NULL, and so on. The error codes are those of the "Load error
reference" (https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html); the
reasons follow the wording Redshift writes in STL_LOAD_ERRORS.err_reason where it is known
(invalid digit, string length, not-null, delimiter) and say plainly what failed elsewhere.
Parameters: https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from helpers.localcloud.warehouse.copy_command import CopyCommand
from helpers.localcloud.warehouse.redshift_types import RedshiftType

INTEGER_RANGES = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1), "int8": (-(2**63), 2**63 - 1)}
# The type names err_reason uses.
REASON_TYPE_NAMES = {"int2": "Short", "int4": "Integer", "int8": "Long", "numeric": "Decimal", "float4": "Float", "float8": "Double"}
TRUE_WORDS = ("t", "true", "y", "yes", "1")
FALSE_WORDS = ("f", "false", "n", "no", "0")
EPOCH = dt.datetime(1970, 1, 1)
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_DEFAULT_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")
_DEFAULT_TIMESTAMP = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")
_DEFAULT_TIMESTAMPTZ = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{1,2}(?::?\d{2})?)?")
_INVALID_CHARACTER = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape
# DATEFORMAT/TIMEFORMAT dateparts and timeparts, longest first (r_DATEFORMAT_and_TIMEFORMAT_strings).
_FORMAT_PARTS = [
    ("YYYY", "%Y"), ("HH24", "%H"), ("HH12", "%I"), ("MON", "%b"), ("YY", "%y"), ("MM", "%m"),
    ("DD", "%d"), ("HH", "%H"), ("MI", "%M"), ("SS", "%S"), ("AM", "%p"), ("PM", "%p"),
]
# What DATEFORMAT/TIMEFORMAT 'auto' recognises beyond ISO 8601 (automatic-recognition.html), as
# strptime formats; ISO forms go through datetime.fromisoformat.
_AUTO_FORMATS = [
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M",
    "%m/%d/%y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%m-%d-%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y%m%d %H%M%S",
    "%y%m%d %H%M%S", "%Y%m%d", "%Y.%j", "%b %d, %Y", "%b %d %Y", "%b-%d-%Y", "%d-%b-%Y", "%d %b %Y", "%d %b %Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S %Z", "%Y-%b-%d",
]


class JsonNumber(str):
    """A JSON number kept as written (so that 3.0 stays '3.0' and 20.259 is not rounded by a float)."""


class JsonComposite(str):
    """A JSON object or array, as its JSON text ("the entire object or array is loaded as a string")."""


class LoadError(Exception):
    """A value COPY cannot load: a row of STL_LOAD_ERRORS / SYS_LOAD_ERROR_DETAIL."""

    def __init__(self, code: int, reason: str, position_in_value: int | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.position_in_value = position_in_value


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type: RedshiftType
    nullable: bool

    @property
    def length_text(self) -> str:
        """STL_LOAD_ERRORS.col_length: the declared length of length-limited types, else 0."""
        if self.type.name in ("varchar", "bpchar", "varbyte"):
            return str(self.type.length)
        if self.type.name == "numeric":
            return f"{self.type.precision},{self.type.scale}"
        return "0"


def json_text(value: Any) -> str:
    """A decoded JSON value written back as JSON, numbers exactly as they were written."""
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class ValueConverter:
    """Converts source values for one COPY, by its parameters."""

    def __init__(self, command: CopyCommand) -> None:
        self.command = command
        self.date_parser = _date_parser(command.date_format)
        self.timestamp_parser = _timestamp_parser(command.time_format, with_zone=False)
        self.timestamptz_parser = _timestamp_parser(command.time_format, with_zone=True)

    def convert(self, raw: Any, column: TargetColumn) -> Any:
        """The Python value to store (None for NULL), or ``LoadError``."""
        value = self._to_value(raw, column)
        if value is None and not column.nullable:
            raise LoadError(1213, "Missing data for not-null field")
        return value

    def _to_value(self, raw: Any, column: TargetColumn) -> Any:
        kind = column.type.name
        if raw is None:
            return None
        if kind == "super":
            return self._super(raw)
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        text = str(raw)
        if kind in ("varchar", "bpchar"):
            return self._string(text, column)
        text = self._valid_utf8(text, accept=False)
        if text.strip() == "":
            return None  # "Empty fields for other data types, such as INT, are always loaded with NULL."
        if kind in INTEGER_RANGES:
            return _integer(text, kind)
        if kind == "numeric":
            return _decimal(text, column.type, self.command.round_decimals, json_number=isinstance(raw, JsonNumber))
        if kind in ("float4", "float8"):
            return _float(text, kind)
        if kind == "bool":
            return _boolean(text)
        if kind == "date":
            return self._temporal(text, self.date_parser, 1205, "Invalid Date Format")
        if kind == "timestamp":
            return self._temporal(text, self.timestamp_parser, 1206, "Invalid timestamp format or value")
        if kind == "timestamptz":
            return self._temporal(text, self.timestamptz_parser, 1206, "Invalid timestamptz format or value")
        if kind in ("time", "timetz"):
            return _time(text, with_zone=kind == "timetz")
        if kind == "varbyte":
            return _hex_bytes(text)
        raise LoadError(1223, f"Invalid data type: COPY into {column.type.ddl} is not supported by the local warehouse")

    # -- character types ---------------------------------------------------------------------

    def _string(self, text: str, column: TargetColumn) -> str | None:
        command = self.command
        if text == "" and command.empty_as_null:
            return None
        if command.blanks_as_null and text != "" and text.strip() == "":
            return None
        text = self._valid_utf8(text, accept=column.type.name == "varchar" and command.accept_inv_chars is not None)
        if command.trim_blanks and column.type.name == "varchar":
            text = text.rstrip()
        if column.type.name == "bpchar":
            multibyte = next((c for c in text if ord(c) > 127), None)
            if multibyte is not None:
                raise LoadError(1220, f"Multibyte character not supported for CHAR (Hint: try using VARCHAR). Invalid char: {multibyte.encode('utf-8').hex()}")
        encoded = text.encode("utf-8")
        if len(encoded) > column.type.length:
            if not command.truncate_columns:
                raise LoadError(1204, "String length exceeds DDL length")
            text = encoded[: column.type.length].decode("utf-8", "ignore")  # never half a character
        return text

    def _valid_utf8(self, text: str, accept: bool) -> str:
        found = _INVALID_CHARACTER.search(text)
        if found is None:
            return text
        if accept:
            return _INVALID_CHARACTER.sub(self.command.accept_inv_chars or "?", text)
        raise LoadError(
            1220,
            f"String contains invalid or unsupported UTF8 codepoints. Bad UTF8 hex sequence: {ord(found.group()) - 0xDC00:02x}",
            found.start(),
        )

    # -- SUPER -------------------------------------------------------------------------------

    def _super(self, raw: Any) -> str:
        if isinstance(raw, (JsonNumber, JsonComposite)):
            return str(raw)
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if self.command.format == "JSON":
            return json.dumps(raw, ensure_ascii=False)  # a JSON string value stays a string
        try:
            json.loads(raw)
        except ValueError as error:
            raise LoadError(1224, f"Invalid JSON for type super: {error}") from error
        return raw

    # -- dates and times ---------------------------------------------------------------------

    def _temporal(self, text: str, parse: Any, code: int, reason: str) -> Any:
        try:
            return parse(text)
        except (ValueError, OverflowError) as error:
            if self.command.accept_any_date:
                return None  # ACCEPTANYDATE: "Amazon Redshift inserts a NULL value into that field"
            detail = str(error) if isinstance(error, FormatMismatch) else f"value '{text}'"
            raise LoadError(code, f"{reason} - {detail}") from error


class FormatMismatch(ValueError):
    """A date or time that does not match the expected format (the message says which)."""


def _invalid_digit(text: str, kind: str, allowed: str) -> LoadError:
    position = next(
        (i for i, c in enumerate(text) if not (c.isdigit() or (c in "+-" and i == 0) or c in allowed)),
        len(text) - 1,
    )
    return LoadError(1207, f"Invalid digit, Value '{text[position]}', Pos {position}, Type: {REASON_TYPE_NAMES[kind]}", position)


def _integer(text: str, kind: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise _invalid_digit(text, kind, "")
    value = int(text)
    low, high = INTEGER_RANGES[kind]
    if not low <= value <= high:
        raise LoadError(1204, f"Overflow ({REASON_TYPE_NAMES[kind]} valid range {low} to {high})")
    return value


def _decimal(text: str, rtype: RedshiftType, round_decimals: bool, json_number: bool) -> decimal.Decimal:
    if not (_DECIMAL.fullmatch(text) or json_number):
        raise _invalid_digit(text, "numeric", ".")
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation as error:
        raise _invalid_digit(text, "numeric", ".eE") from error
    # "By default, COPY truncates values when necessary to fit the scale of the column."
    rounding = decimal.ROUND_HALF_UP if round_decimals else decimal.ROUND_DOWN
    quantum = decimal.Decimal(1).scaleb(-rtype.scale)
    value = value.quantize(quantum, rounding=rounding)
    integer_digits = len(str(abs(value).to_integral_value(decimal.ROUND_DOWN))) if abs(value) >= 1 else 0
    if integer_digits > rtype.precision - rtype.scale:
        raise LoadError(1204, f"Numeric data overflow (result precision), Value '{text}', Type: Decimal({rtype.precision},{rtype.scale})")
    return value


def _float(text: str, kind: str) -> float:
    special = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}
    if text.lower() in special:
        return special[text.lower()]
    try:
        value = float(text)
    except ValueError as error:
        raise LoadError(1208, _invalid_digit(text, kind, ".eE").reason) from error
    if kind == "float4" and math.isfinite(value) and abs(value) > 3.4028235e38:
        raise LoadError(1204, f"Overflow (Float valid range -3.40282e+38 to 3.40282e+38), Value '{text}'")
    return value


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise LoadError(1210, f"Invalid BOOLEAN value, Value '{text}' (use t/f, true/false, y/n, yes/no or 1/0)")


def _hex_bytes(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as error:
        raise LoadError(1219, f"Hexadecimal value contains an invalid digit, Value '{text}'") from error


def _time(text: str, with_zone: bool) -> Any:
    try:
        value = dt.time.fromisoformat(text.strip())
    except ValueError as error:
        raise LoadError(1206, f"Invalid time format or value - value '{text}'") from error
    return value if with_zone else value.replace(tzinfo=None)


# --- DATEFORMAT and TIMEFORMAT --------------------------------------------------------------------


def _strptime_format(redshift_format: str) -> str:
    """A DATEFORMAT/TIMEFORMAT string (YYYY-MM-DD HH24:MI:SS...) as a strptime format."""
    out, position = [], 0
    upper = redshift_format.upper()
    while position < len(redshift_format):
        for part, directive in _FORMAT_PARTS:
            if upper.startswith(part, position):
                out.append(directive)
                position += len(part)
                break
        else:
            char = redshift_format[position]
            out.append("%%" if char == "%" else char)
            position += 1
    return "".join(out)


def _explicit_parser(redshift_format: str) -> Any:
    pattern = _strptime_format(redshift_format)
    with_fraction = pattern.replace("%S", "%S.%f") if "%S" in pattern else None

    def parse(text: str) -> dt.datetime:
        for candidate in (pattern, with_fraction):
            if candidate is None:
                continue
            try:
                return dt.datetime.strptime(text.strip(), candidate)
            except ValueError:
                continue
        raise FormatMismatch(f"value '{text}' does not match the format '{redshift_format}'")

    return parse


def _auto(text: str) -> dt.datetime:
    """DATEFORMAT/TIMEFORMAT 'auto' (a subset of what Redshift recognises; see _AUTO_FORMATS)."""
    text = text.strip()
    if text.startswith("J") and text[1:].isdigit():  # Julian day number
        return dt.datetime(1, 1, 1) + dt.timedelta(days=int(text[1:]) - 1721426)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for pattern in _AUTO_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise FormatMismatch(f"value '{text}' is in no format 'auto' recognises")


def _date_parser(date_format: str | None) -> Any:
    if date_format == "auto":
        return lambda text: _auto(text).date()
    if date_format is not None:
        explicit = _explicit_parser(date_format)
        return lambda text: explicit(text).date()

    def default(text: str) -> dt.date:
        match = _DEFAULT_DATE.fullmatch(text.strip())
        if not match:
            if len(text.strip()) < 10:
                raise FormatMismatch("length must be 10 or more")
            raise FormatMismatch(f"value '{text}' is not YYYY-MM-DD")
        return dt.date(int(match[1]), int(match[2]), int(match[3]))

    return default


def _timestamp_parser(time_format: str | None, with_zone: bool) -> Any:
    def finish(value: dt.datetime) -> dt.datetime:
        if with_zone:
            return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    if time_format == "auto":
        return lambda text: finish(_auto(text))
    if time_format in ("epochsecs", "epochmillisecs"):
        scale = 1 if time_format == "epochsecs" else 1000

        def epoch(text: str) -> dt.datetime:
            return finish(EPOCH + dt.timedelta(seconds=float(text) / scale))

        return epoch
    if time_format is not None:
        explicit = _explicit_parser(time_format)
        return lambda text: finish(explicit(text))
    pattern = _DEFAULT_TIMESTAMPTZ if with_zone else _DEFAULT_TIMESTAMP
    shown = "YYYY-MM-DD HH24:MI:SSOF" if with_zone else "YYYY-MM-DD HH24:MI:SS"

    def default(text: str) -> dt.datetime:
        stripped = text.strip()
        if not pattern.fullmatch(stripped):
            raise FormatMismatch(f"value '{text}' does not match [{shown}]")
        return finish(dt.datetime.fromisoformat(_zero_padded(stripped)))

    return default


def _zero_padded(text: str) -> str:
    """2010-12-1 8:26:00 as fromisoformat wants it: 2010-12-01 08:26:00 (and +08 as +08:00)."""
    date_part, _, rest = text.replace("T", " ").partition(" ")
    year, month, day = date_part.split("-")
    out = f"{year}-{int(month):02d}-{int(day):02d}"
    if rest:
        zone = ""
        zone_match = re.search(r"(Z|[+-]\d{1,2}(?::?\d{2})?)$", rest)
        if zone_match:
            zone, rest = zone_match.group(), rest[: zone_match.start()]
            if zone != "Z":
                sign, digits = zone[0], zone[1:].replace(":", "")
                hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "00")
                zone = f"{sign}{int(hours):02d}:{minutes}"
            else:
                zone = "+00:00"
        clock = rest.split(":")
        clock[0] = f"{int(clock[0]):02d}"
        if len(clock) == 2:
            clock.append("00")
        out += " " + ":".join(clock) + zone
    return out
