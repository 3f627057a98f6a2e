"""What the warehouse knows about its relations: DuckDB's catalog plus Redshift's declared types.

DuckDB's own catalog (``duckdb_tables()``, ``duckdb_columns()``) says which tables exist and what
DuckDB stores; the system catalog's ``table_attributes``/``column_attributes`` add what Redshift
declared and DuckDB drops (VARCHAR lengths, DISTKEY, SORTKEY, ENCODE, IDENTITY). This module reads
and writes both, for the translator (``Catalog`` protocol), the Data API's ListSchemas, ListTables
and DescribeTable, and the upkeep after CREATE TABLE and DROP TABLE. DuckDB lets one transaction write to one
attached database only, so the records in the system catalog are written once the user's
transaction has committed (``Session`` defers them), by the warehouse's own connection.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers.localcloud.warehouse import redshift_types
from helpers.localcloud.warehouse.redshift_types import RedshiftType
from helpers.localcloud.warehouse.system_views import SYSTEM_CATALOG, SYSTEM_SCHEMA
from helpers.localcloud.warehouse.translate import ColumnDefinition, RelationName, TableDefinition, identity_sequence_name

_S = f"{SYSTEM_CATALOG}.{SYSTEM_SCHEMA}"
HIDDEN_SCHEMAS = ("main", "pg_catalog", "information_schema")  # DuckDB's own; Redshift lists its own below
REDSHIFT_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


class SessionCatalog:
    """The ``translate.Catalog`` of one session: its database and search path."""

    def __init__(self, cursor: Any, database: str, user: str, search_path: list[str]) -> None:
        self.cursor = cursor
        self.database = database
        self.user = user
        self.search_path = search_path

    def resolve(self, schema: str | None, name: str) -> RelationName | None:
        rows = self.cursor.execute(
            """SELECT database_name, schema_name FROM duckdb_tables() WHERE table_name = $name
               UNION ALL
               SELECT database_name, schema_name FROM duckdb_views() WHERE view_name = $name AND NOT internal""",
            {"name": name},
        ).fetchall()
        found = {(database, schema_name) for database, schema_name in rows}
        candidates = [(self.database, schema)] if schema else [("temp", "main")] + [(self.database, s) for s in self.search_path]
        for database, schema_name in candidates:
            if (database, schema_name) in found:
                return RelationName(database, schema_name, name)
        return None

    def creation_schema(self) -> str:
        return self.search_path[0] if self.search_path else "public"

    def column_types(self, relation: RelationName) -> dict[str, str]:
        rows = self.cursor.execute(
            """SELECT column_name, data_type FROM duckdb_columns()
               WHERE database_name = $d AND schema_name = $s AND table_name = $t ORDER BY column_index""",
            {"d": relation.database, "s": relation.schema, "t": relation.name},
        ).fetchall()
        return dict(rows)


def existing_schemas(cursor: Any, database: str) -> list[str]:
    rows = cursor.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = $d AND NOT internal ORDER BY 1",
        {"d": database},
    ).fetchall()
    return [name for (name,) in rows if name not in HIDDEN_SCHEMAS]


def schemas(cursor: Any, database: str) -> list[str]:
    """ListSchemas: the user's schemas and Redshift's system schemas."""
    return sorted(set(existing_schemas(cursor, database)) | set(REDSHIFT_SYSTEM_SCHEMAS))


def tables(cursor: Any, database: str) -> list[tuple[str, str, str]]:
    """ListTables: (schema, name, type) of the user's tables and views."""
    rows = cursor.execute(
        """SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = $d AND NOT temporary
           UNION ALL
           SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() WHERE database_name = $d AND NOT internal AND NOT temporary
           ORDER BY 1, 2""",
        {"d": database},
    ).fetchall()
    return [row for row in rows if row[0] not in HIDDEN_SCHEMAS]


def declared_columns(cursor: Any, relation: RelationName) -> list[tuple[str, RedshiftType, bool, str | None]]:
    """(name, Redshift type, nullable, default) of a relation's columns, declared types first."""
    declared = {
        name: RedshiftType(type_name, length or 0, precision or 0, scale or 0)
        for name, type_name, length, precision, scale in cursor.execute(
            f"""SELECT column_name, type_name, length, numeric_precision, numeric_scale FROM {_S}.column_attributes
                WHERE database_name = $d AND schema_name = $s AND table_name = $t""",
            {"d": relation.database, "s": relation.schema, "t": relation.name},
        ).fetchall()
    }
    rows = cursor.execute(
        """SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns()
           WHERE database_name = $d AND schema_name = $s AND table_name = $t ORDER BY column_index""",
        {"d": relation.database, "s": relation.schema, "t": relation.name},
    ).fetchall()
    return [
        (name, declared.get(name) or redshift_types.from_duckdb(data_type), bool(nullable), default)
        for name, data_type, nullable, default in rows
    ]


def record_table(cursor: Any, definition: TableDefinition, duckdb_columns: dict[str, str]) -> None:
    """Remember a new table's Redshift attributes (replacing any left by a table of that name)."""
    relation = definition.relation
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    forget_table(cursor, relation)
    cursor.execute(
        f"""INSERT INTO {_S}.table_attributes
            VALUES ($d, $s, $t, nextval('{_S}.table_ids'), $style, $distkey, $sortkey, $sortstyle, $backup, $constraints, $now)""",
        {
            "d": relation.database,
            "s": relation.schema,
            "t": relation.name,
            "style": definition.diststyle,
            "distkey": definition.distkey,
            "sortkey": list(definition.sortkey),
            "sortstyle": definition.sortkey_style,
            "backup": definition.backup,
            "constraints": list(definition.constraints),
            "now": now,
        },
    )
    columns = definition.columns or tuple(
        # CREATE TABLE AS: the types DuckDB gave the result.
        ColumnDefinition(name, redshift_types.from_duckdb(data_type), encoding=None, identity=None, not_null=False)
        for name, data_type in duckdb_columns.items()
    )
    for ordinal, column in enumerate(columns, start=1):
        seed, step = column.identity or (None, None)
        cursor.execute(
            f"""INSERT INTO {_S}.column_attributes
                VALUES ($d, $s, $t, $c, $o, $type, $length, $precision, $scale, $encoding, $seed, $step, $not_null)""",
            {
                "d": relation.database,
                "s": relation.schema,
                "t": relation.name,
                "c": column.name,
                "o": ordinal,
                "type": column.type.name,
                "length": column.type.length,
                "precision": column.type.precision,
                "scale": column.type.scale,
                "encoding": column.encoding,
                "seed": seed,
                "step": step,
                "not_null": column.not_null,
            },
        )


def drop_identity_sequences(cursor: Any, relation: RelationName) -> None:
    """After DROP TABLE, in its transaction: the sequences that numbered its IDENTITY columns."""
    rows = cursor.execute(
        f"""SELECT column_name FROM {_S}.column_attributes
            WHERE database_name = $d AND schema_name = $s AND table_name = $t AND identity_seed IS NOT NULL""",
        {"d": relation.database, "s": relation.schema, "t": relation.name},
    ).fetchall()
    for (column,) in rows:
        sequence = identity_sequence_name(relation.name, column)
        cursor.execute(f'DROP SEQUENCE IF EXISTS "{relation.database}"."{relation.schema}"."{sequence}"')


def forget_table(cursor: Any, relation: RelationName) -> None:
    """After DROP TABLE commits: forget its recorded attributes."""
    for table in ("table_attributes", "column_attributes"):
        cursor.execute(
            f"DELETE FROM {_S}.{table} WHERE database_name = $d AND schema_name = $s AND table_name = $t",
            {"d": relation.database, "s": relation.schema, "t": relation.name},
        )


def rename_table(cursor: Any, relation: RelationName, new_name: str) -> None:
    """After ALTER TABLE ... RENAME TO commits: the attributes follow the table."""
    for table in ("table_attributes", "column_attributes"):
        cursor.execute(
            f"UPDATE {_S}.{table} SET table_name = $new WHERE database_name = $d AND schema_name = $s AND table_name = $t",
            {"new": new_name, "d": relation.database, "s": relation.schema, "t": relation.name},
        )


def forget_database(cursor: Any, database: str) -> None:
    for table in ("table_attributes", "column_attributes"):
        cursor.execute(f"DELETE FROM {_S}.{table} WHERE database_name = $d", {"d": database})
