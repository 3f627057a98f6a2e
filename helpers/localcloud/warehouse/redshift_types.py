"""Redshift data types: names, column metadata and the Data API's typed values.

A column has a Redshift type, either declared (``varchar(20)`` in CREATE TABLE, recorded in the
catalog because DuckDB keeps no length) or derived from the DuckDB type of a result. The Data API
reports it as ``typeName`` with JDBC-style ``precision``/``scale`` (the figures of the
GetStatementResult example in "Using the Amazon Redshift Data API": int4 precision 10, int8 19,
timestamp 29/6...) and sends each value as one typed field, mapped as the "Mapping JDBC data
types" table says: integers as ``longValue``, floating point as ``doubleValue``, DECIMAL and
dates/times as ``stringValue``, booleans as ``booleanValue``, binary as ``blobValue``.
https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html
https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

DEFAULT_VARCHAR_LENGTH = 256  # VARCHAR and TEXT without a length are VARCHAR(256)
MAX_VARCHAR_LENGTH = 65535  # VARCHAR(MAX)
DEFAULT_BPCHAR_LENGTH = 256  # BPCHAR is CHAR(256); CHAR without a length is CHAR(1)
DEFAULT_NUMERIC = (18, 0)  # NUMERIC without precision is NUMERIC(18,0)
MAX_VARBYTE_LENGTH = 1024000
DEFAULT_VARBYTE_LENGTH = 64000

INTEGER_TYPES = {"int2": 5, "int4": 10, "int8": 19}
FLOAT_TYPES = {"float4": 8, "float8": 17}
CHARACTER_TYPES = ("varchar", "bpchar")
# Precision and scale reported for fixed-size types, as the Redshift JDBC metadata gives them.
FIXED_PRECISION = {
    "bool": (1, 0),
    "date": (13, 0),
    "timestamp": (29, 6),
    "timestamptz": (35, 6),
    "time": (15, 6),
    "timetz": (21, 6),
}

UNSUPPORTED_DECLARED = {
    exp.DType.GEOMETRY: "GEOMETRY",
    exp.DType.GEOGRAPHY: "GEOGRAPHY",
    exp.DType.HLLSKETCH: "HLLSKETCH",
}


class UnsupportedType(ValueError):
    """A Redshift type the local warehouse cannot store."""


@dataclass(frozen=True)
class RedshiftType:
    name: str  # the Data API's typeName: int4, varchar, numeric, timestamp...
    length: int = 0  # declared length of character and binary types
    precision: int = 0
    scale: int = 0

    @property
    def ddl(self) -> str:
        """The type as Redshift prints it (``pg_table_def.type``, ``format_type``)."""
        names = {
            "int2": "smallint",
            "int4": "integer",
            "int8": "bigint",
            "float4": "real",
            "float8": "double precision",
            "bool": "boolean",
            "timestamp": "timestamp without time zone",
            "timestamptz": "timestamp with time zone",
            "time": "time without time zone",
            "timetz": "time with time zone",
        }
        if self.name == "varchar":
            return f"character varying({self.length})"
        if self.name == "bpchar":
            return f"character({self.length})"
        if self.name == "numeric":
            return f"numeric({self.precision},{self.scale})"
        if self.name == "varbyte":
            return f"varbyte({self.length})"
        return names.get(self.name, self.name)

    @property
    def duckdb_type(self) -> str:
        """The DuckDB column type that stores it."""
        return {
            "int2": "SMALLINT",
            "int4": "INTEGER",
            "int8": "BIGINT",
            "float4": "REAL",
            "float8": "DOUBLE",
            "numeric": f"DECIMAL({self.precision},{self.scale})",
            "bool": "BOOLEAN",
            "varchar": "VARCHAR",
            "bpchar": "VARCHAR",
            "date": "DATE",
            "timestamp": "TIMESTAMP",
            "timestamptz": "TIMESTAMPTZ",
            "time": "TIME",
            "timetz": "TIMETZ",
            "super": "JSON",
            "varbyte": "BLOB",
            "interval": "INTERVAL",
        }[self.name]

    def column_metadata(self, name: str, nullable: bool = True, schema: str = "", table: str = "") -> dict:
        """A ``ColumnMetadata`` entry of GetStatementResult and DescribeTable."""
        if self.name in CHARACTER_TYPES or self.name == "varbyte":
            precision, scale = self.length, 0
        elif self.name in INTEGER_TYPES:
            precision, scale = INTEGER_TYPES[self.name], 0
        elif self.name in FLOAT_TYPES:
            precision = scale = FLOAT_TYPES[self.name]
        elif self.name == "numeric":
            precision, scale = self.precision, self.scale
        else:
            precision, scale = FIXED_PRECISION.get(self.name, (0, 0))
        return {
            "isCaseSensitive": self.name in CHARACTER_TYPES,
            "isCurrency": False,
            "isSigned": self.name in INTEGER_TYPES or self.name in FLOAT_TYPES or self.name == "numeric",
            "label": name,
            "length": 0,
            "name": name,
            "nullable": 1 if nullable else 0,
            "precision": precision,
            "scale": scale,
            "schemaName": schema,
            "tableName": table,
            "typeName": self.name,
        }


def _int_param(datatype: exp.DataType, index: int) -> int | None:
    params = datatype.expressions
    if len(params) <= index:
        return None
    text = params[index].sql().strip().upper()
    if text == "MAX":
        return MAX_VARCHAR_LENGTH
    if not text.isdigit():
        raise UnsupportedType(f"type parameter {text!r} of {datatype.sql('redshift')} is not a number")
    return int(text)


def from_declared(datatype: exp.DataType) -> RedshiftType:
    """The Redshift type of a column definition or cast, from sqlglot's parse of it."""
    kind = datatype.this
    if kind in UNSUPPORTED_DECLARED:
        raise UnsupportedType(f"data type {UNSUPPORTED_DECLARED[kind]} is not supported by the local warehouse")
    simple = {
        exp.DType.SMALLINT: "int2",
        exp.DType.INT: "int4",
        exp.DType.BIGINT: "int8",
        exp.DType.FLOAT: "float4",
        exp.DType.DOUBLE: "float8",
        exp.DType.BOOLEAN: "bool",
        exp.DType.DATE: "date",
        exp.DType.TIMESTAMP: "timestamp",
        exp.DType.TIMESTAMPTZ: "timestamptz",
        exp.DType.TIME: "time",
        exp.DType.TIMETZ: "timetz",
        exp.DType.SUPER: "super",
        exp.DType.INTERVAL: "interval",
    }
    if kind in simple:
        return RedshiftType(simple[kind])
    if kind == exp.DType.DECIMAL:
        precision = _int_param(datatype, 0) or DEFAULT_NUMERIC[0]
        scale = _int_param(datatype, 1) or 0
        if not 1 <= precision <= 38 or scale > precision:
            raise UnsupportedType(f"NUMERIC precision {precision} and scale {scale} are out of range (1 to 38, scale <= precision)")
        return RedshiftType("numeric", precision=precision, scale=scale)
    if kind in (exp.DType.VARCHAR, exp.DType.NVARCHAR, exp.DType.TEXT):
        length = DEFAULT_VARCHAR_LENGTH if kind == exp.DType.TEXT else _int_param(datatype, 0) or DEFAULT_VARCHAR_LENGTH
        if length > MAX_VARCHAR_LENGTH:
            raise UnsupportedType(f"length for type varchar cannot exceed {MAX_VARCHAR_LENGTH}")
        return RedshiftType("varchar", length=length)
    if kind in (exp.DType.CHAR, exp.DType.NCHAR, exp.DType.BPCHAR):
        default = DEFAULT_BPCHAR_LENGTH if kind == exp.DType.BPCHAR else 1
        length = _int_param(datatype, 0) or default
        if length > 4096:
            raise UnsupportedType("length for type bpchar cannot exceed 4096")
        return RedshiftType("bpchar", length=length)
    if kind == exp.DType.VARBINARY:
        length = _int_param(datatype, 0) or DEFAULT_VARBYTE_LENGTH
        if length > MAX_VARBYTE_LENGTH:
            raise UnsupportedType(f"length for type varbyte cannot exceed {MAX_VARBYTE_LENGTH}")
        return RedshiftType("varbyte", length=length)
    raise UnsupportedType(f"data type {datatype.sql('redshift')} is not supported by the local warehouse")


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def from_duckdb(type_text: str) -> RedshiftType:
    """The Redshift type reported for a DuckDB column type (results, tables created by CTAS)."""
    text = type_text.upper()
    decimal_match = _DECIMAL.fullmatch(text)
    if decimal_match:
        return RedshiftType("numeric", precision=int(decimal_match[1]), scale=int(decimal_match[2]))
    names = {
        "BOOLEAN": "bool",
        "TINYINT": "int2",
        "UTINYINT": "int2",
        "SMALLINT": "int2",
        "USMALLINT": "int4",
        "INTEGER": "int4",
        "UINTEGER": "int8",
        "BIGINT": "int8",
        # DuckDB widens SUM of integers to HUGEINT; Redshift returns BIGINT for it.
        "HUGEINT": "int8",
        "UBIGINT": "int8",
        "FLOAT": "float4",
        "DOUBLE": "float8",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP_S": "timestamp",
        "TIMESTAMP_MS": "timestamp",
        "TIMESTAMP_NS": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamptz",
        "TIME": "time",
        "TIME WITH TIME ZONE": "timetz",
        "INTERVAL": "interval",
        "BLOB": "varbyte",
        "JSON": "super",
    }
    if text in names:
        name = names[text]
        return RedshiftType(name, length=MAX_VARBYTE_LENGTH if name == "varbyte" else 0)
    if text == "VARCHAR" or text.startswith("VARCHAR(") or text == "UUID":
        return RedshiftType("varchar", length=MAX_VARCHAR_LENGTH)
    if text.endswith("[]") or text.startswith(("STRUCT", "MAP", "UNION", "LIST")) or re.search(r"\[\d+\]$", text):
        return RedshiftType("super")
    return RedshiftType("varchar", length=MAX_VARCHAR_LENGTH)


def _trim_fraction(text: str) -> str:
    """Postgres prints fractional seconds without trailing zeros (``17:33:51.88712``)."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def text_value(value: Any, rtype: RedshiftType) -> str:
    """A value as Redshift prints it in text form (stringValue fields and CSV results)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if rtype.name == "timestamptz" and value.tzinfo is not None:
            utc = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return _trim_fraction(utc.isoformat(sep=" ")) + "+00"
        return _trim_fraction(value.replace(tzinfo=None).isoformat(sep=" "))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _trim_fraction(value.replace(tzinfo=None).isoformat())
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=_json_default, separators=(",", ":"))
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "months") and hasattr(value, "nanoseconds"):  # Arrow's month-day-nano interval
        return _interval_text(value.months, value.days, value.nanoseconds)
    return str(value)


def _interval_text(months: int, days: int, nanoseconds: int) -> str:
    """An interval in Postgres's output style: ``1 year 2 mons 3 days 04:05:06.5``."""
    years, months = divmod(months, 12)
    parts = []
    for amount, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if amount:
            parts.append(f"{amount} {unit}{'' if abs(amount) == 1 else 's'}")
    if nanoseconds or not parts:
        micros = nanoseconds // 1000
        sign = "-" if micros < 0 else ""
        seconds, fraction = divmod(abs(micros), 1_000_000)
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        parts.append(sign + (_trim_fraction(f"{clock}.{fraction:06d}") if fraction else clock))
    return " ".join(parts)


def field(value: Any, rtype: RedshiftType) -> dict:
    """One value as a Data API ``Field``."""
    if value is None:
        return {"isNull": True}
    if rtype.name in INTEGER_TYPES and isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool):
        return {"longValue": int(value)}
    if rtype.name in FLOAT_TYPES and isinstance(value, (int, float)):
        number = float(value)
        return {"doubleValue": number} if math.isfinite(number) else {"stringValue": str(number)}
    if rtype.name == "bool" and isinstance(value, bool):
        return {"booleanValue": value}
    if rtype.name == "varbyte" and isinstance(value, bytes):
        return {"blobValue": base64.b64encode(value).decode("ascii")}
    return {"stringValue": text_value(value, rtype)}
