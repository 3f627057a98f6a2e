"""Loaded rows into the target table: one Arrow table, one INSERT, inside the COPY's transaction.

Every row of every file of one COPY goes in with a single INSERT, so that the COPY commits all or
nothing ("The COPY command is atomic and transactional ... even when the COPY command reads data
from multiple files", copy-usage_notes-multiple-files.html). The values are already of the
columns' types (``copy_values``); Arrow carries them to DuckDB without a text round trip, and the
SELECT casts only what Arrow has no type for (SUPER as JSON, TIMETZ).
"""

from __future__ import annotations

import itertools
from typing import Any

import pyarrow as pa

from helpers.localcloud.warehouse.copy_values import TargetColumn
from helpers.localcloud.warehouse.translate import RelationName

_registration_names = itertools.count(1)


def arrow_type(column: TargetColumn) -> pa.DataType:
    rtype = column.type
    simple = {
        "int2": pa.int16(),
        "int4": pa.int32(),
        "int8": pa.int64(),
        "float4": pa.float32(),
        "float8": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "time": pa.time64("us"),
        "varbyte": pa.binary(),
    }
    if rtype.name == "numeric":
        return pa.decimal128(rtype.precision, rtype.scale)
    return simple.get(rtype.name, pa.string())  # character types, SUPER (JSON text), TIMETZ (text)


def rows_to_arrow(columns: list[TargetColumn], rows: list[list[Any]]) -> pa.Table:
    arrays = []
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        if column.type.name == "timetz":
            values = [None if v is None else v.isoformat() for v in values]
        arrays.append(pa.array(values, type=arrow_type(column)))
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(columns))])


def insert(session: Any, relation: RelationName, columns: list[TargetColumn], table: pa.Table) -> None:
    """INSERT the Arrow table's columns (in order) into the relation's ``columns``."""
    name = f"copy_source_{next(_registration_names)}"
    target = ", ".join(_quoted(column.name) for column in columns)
    selected = ", ".join(_select(f"c{i}", column) for i, column in enumerate(columns))
    session.cursor.register(name, table)
    try:
        session.execute(
            f"INSERT INTO {_quoted(relation.database)}.{_quoted(relation.schema)}.{_quoted(relation.name)} ({target}) "
            f"SELECT {selected} FROM {name}"
        ).fetchall()
    finally:
        session.cursor.unregister(name)


def _select(source: str, column: TargetColumn) -> str:
    if column.type.name in ("super", "timetz"):
        return f"CAST({source} AS {column.type.duckdb_type})"
    return source


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
