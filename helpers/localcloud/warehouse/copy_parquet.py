"""COPY ... FORMAT AS PARQUET: columns matched by position, types checked, values cast by Arrow.

"COPY inserts values into the target table's columns in the same order as the columns occur in the
columnar data files. The number of columns in the target table and the number of columns in the
data file must match." A column whose Parquet type cannot become the target type fails the whole
COPY (MAXERROR does not apply to columnar formats), as do a NULL in a NOT NULL column and a string
longer than its VARCHAR unless TRUNCATECOLUMNS is given.
https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from helpers.localcloud.warehouse.copy_command import CopyCommand
from helpers.localcloud.warehouse.copy_rows import arrow_type
from helpers.localcloud.warehouse.copy_values import TargetColumn
from helpers.localcloud.warehouse.s3_objects import S3Object
from helpers.localcloud.warehouse.sql_errors import SqlError

# Which Parquet (Arrow) type families each Redshift type accepts.
_ACCEPTS = {
    "int2": ("integer",),
    "int4": ("integer",),
    "int8": ("integer",),
    "numeric": ("integer", "decimal"),
    "float4": ("integer", "decimal", "floating"),
    "float8": ("integer", "decimal", "floating"),
    "bool": ("boolean",),
    "varchar": ("string",),
    "bpchar": ("string",),
    "date": ("date", "timestamp"),
    "timestamp": ("date", "timestamp"),
    "timestamptz": ("date", "timestamp"),
    "varbyte": ("binary", "string"),
}


def _family(datatype: pa.DataType) -> str:
    if pa.types.is_integer(datatype):
        return "integer"
    if pa.types.is_decimal(datatype):
        return "decimal"
    if pa.types.is_floating(datatype):
        return "floating"
    if pa.types.is_boolean(datatype):
        return "boolean"
    if pa.types.is_string(datatype) or pa.types.is_large_string(datatype) or pa.types.is_dictionary(datatype):
        return "string"
    if pa.types.is_date(datatype):
        return "date"
    if pa.types.is_timestamp(datatype):
        return "timestamp"
    if pa.types.is_binary(datatype) or pa.types.is_large_binary(datatype):
        return "binary"
    return str(datatype)


def parquet_table(file: S3Object, columns: list[TargetColumn], command: CopyCommand) -> pa.Table:
    """The file's rows as an Arrow table of the target columns' types, or ``SqlError``."""
    try:
        table = pq.read_table(io.BytesIO(file.data))
    except (pa.ArrowInvalid, OSError) as error:
        raise SqlError(f"ERROR: Spectrum Scan Error: {file.url} is not a valid Parquet file ({error})") from error
    if table.num_columns != len(columns):
        raise SqlError(
            "ERROR: Spectrum Scan Error: Unmatched number of columns between table and file. "
            f"Table columns: {len(columns)}, Data columns: {table.num_columns}, File name: {file.url}"
        )
    arrays = []
    for index, column in enumerate(columns):
        source = table.column(index)
        if pa.types.is_dictionary(source.type):
            source = source.cast(source.type.value_type)
        family = _family(source.type)
        if family not in _ACCEPTS.get(column.type.name, ()):
            raise SqlError(
                f"ERROR: Spectrum Scan Error: incompatible Parquet schema for column '{column.name}'. "
                f"Column type: {column.type.ddl}, Parquet schema: {source.type} (file {file.url})"
            )
        arrays.append(_converted(source, column, command, file))
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(columns))])


def _converted(source: pa.ChunkedArray, column: TargetColumn, command: CopyCommand, file: S3Object) -> pa.ChunkedArray:
    if not column.nullable and source.null_count:
        raise SqlError(f"ERROR: Cannot insert a NULL value into column {column.name} (file {file.url})")
    if column.type.name in ("varchar", "bpchar"):
        source = source.cast(pa.string())
        too_long = pc.greater(pc.binary_length(source), column.type.length)
        if pc.any(too_long).as_py():
            if not command.truncate_columns:
                raise SqlError(f"ERROR: Value too long for character type: column {column.name} is {column.type.ddl} (file {file.url})")
            source = pa.chunked_array(
                [pa.array([_truncated(v, column.type.length) for v in chunk.to_pylist()], pa.string()) for chunk in source.chunks]
            )
        return source
    try:
        return source.cast(arrow_type(column))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise SqlError(f"ERROR: Spectrum Scan Error: column '{column.name}' of {file.url} does not fit {column.type.ddl} ({error})") from error


def _truncated(value: str | None, length: int) -> str | None:
    return None if value is None else value.encode("utf-8")[:length].decode("utf-8", "ignore")
