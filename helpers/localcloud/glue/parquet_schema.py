"""The built-in Parquet classifier: the schema stored in the file's footer, as Hive types.

https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html: Parquet "reads the schema at the
end of the file to determine format". The row count is the footer's, so it is exact.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from helpers.localcloud.glue.glue_types import STRING, GlueType, Schema

MAGIC = b"PAR1"

_PRIMITIVES = {
    "bool": "boolean",
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "uint8": "smallint",
    "uint16": "int",
    "uint32": "bigint",
    "uint64": "bigint",
    "halffloat": "float",
    "float": "float",
    "double": "double",
    "string": "string",
    "large_string": "string",
    "binary": "binary",
    "large_binary": "binary",
    "date32[day]": "date",
    "date64[ms]": "date",
}


@dataclass(frozen=True)
class ParquetSample:
    schema: Schema
    records: int


def hive_type(arrow_type) -> GlueType:  # a pyarrow.DataType
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return GlueType("timestamp")
    if pa.types.is_decimal(arrow_type):
        return GlueType(f"decimal({arrow_type.precision},{arrow_type.scale})")
    if pa.types.is_dictionary(arrow_type):
        return hive_type(arrow_type.value_type)
    if pa.types.is_map(arrow_type):
        return GlueType("map", key=hive_type(arrow_type.key_type), element=hive_type(arrow_type.item_type))
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return GlueType("array", element=hive_type(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        members = [arrow_type.field(index) for index in range(arrow_type.num_fields)]
        fields = tuple((member.name.lower(), hive_type(member.type)) for member in members)
        return GlueType("struct", fields=fields)
    return GlueType(_PRIMITIVES.get(str(arrow_type), STRING.name))


def infer(data: bytes) -> ParquetSample | None:
    if len(data) < 12 or not (data.startswith(MAGIC) and data.endswith(MAGIC)):
        return None
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
    except Exception:  # pyarrow raises several types for a damaged footer
        return None
    schema = Schema()
    for arrow_field in parquet.schema_arrow:
        schema.add(arrow_field.name.lower(), hive_type(arrow_field.type))
    return ParquetSample(schema, parquet.metadata.num_rows)
