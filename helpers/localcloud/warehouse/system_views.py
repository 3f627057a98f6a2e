"""The warehouse's system catalog: Redshift's system views over the local engine's own records.

Everything lives in one DuckDB database per namespace, attached as ``redshift_system``: the query
history the engine writes after each statement, the table attributes CREATE TABLE recorded
(DISTSTYLE, DISTKEY, SORTKEY, ENCODE, informational constraints), the database users, and the
serverless usage rows (recomputed from the history, see ``usage``, before a statement reads them).
The views keep the column names and types of the AWS pages they follow:

* SYS_QUERY_HISTORY  https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html
  (a subset of the columns; compile, planning and lock wait times are 0, compute_type 'primary');
* SYS_SERVERLESS_USAGE  https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html
  (see ``usage`` for the billing model);
* SVV_TABLE_INFO  https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
  (no row for empty tables, as AWS says; ``size`` is an estimate from the row count and the column
  widths, as DuckDB has no per-table block count; skew and unsorted figures are those of a
  single-slice warehouse).

Translation resolves these names before user tables, as Redshift's pg_catalog comes first.
"""

from __future__ import annotations

from typing import Any

from helpers.localcloud.warehouse import load_history  # COPY's views (SYS_LOAD_ERROR_DETAIL...)

SYSTEM_CATALOG = "redshift_system"
SYSTEM_SCHEMA = "main"
SYSTEM_VIEWS = ("sys_query_history", "sys_serverless_usage", "svv_table_info") + load_history.VIEW_NAMES
FIRST_USER_ID = 100  # Redshift's first user (the admin) has user id 100
FIRST_TABLE_ID = 100000

_S = f"{SYSTEM_CATALOG}.{SYSTEM_SCHEMA}"

TABLES = [
    f"CREATE SEQUENCE IF NOT EXISTS {_S}.query_ids START WITH 1000",
    f"CREATE SEQUENCE IF NOT EXISTS {_S}.table_ids START WITH {FIRST_TABLE_ID}",
    f"CREATE SEQUENCE IF NOT EXISTS {_S}.user_ids START WITH {FIRST_USER_ID}",
    f"""CREATE TABLE IF NOT EXISTS {_S}.query_history (
        query_id BIGINT PRIMARY KEY,
        statement_id VARCHAR,
        user_id INTEGER,
        user_name VARCHAR,
        transaction_id BIGINT,
        session_id INTEGER,
        database_name VARCHAR,
        query_type VARCHAR,
        status VARCHAR,
        submitted_time TIMESTAMP,
        start_time TIMESTAMP,
        end_time TIMESTAMP,
        error_message VARCHAR,
        returned_rows BIGINT,
        returned_bytes BIGINT,
        query_text VARCHAR,
        billable BOOLEAN,
        base_capacity INTEGER,
        storage_mb INTEGER
    )""",
    f"""CREATE TABLE IF NOT EXISTS {_S}.serverless_usage (
        start_time TIMESTAMP,
        end_time TIMESTAMP,
        compute_seconds DOUBLE,
        compute_capacity DOUBLE,
        data_storage INTEGER,
        cross_region_transferred_data INTEGER,
        charged_seconds INTEGER
    )""",
    f"""CREATE TABLE IF NOT EXISTS {_S}.table_attributes (
        database_name VARCHAR,
        schema_name VARCHAR,
        table_name VARCHAR,
        table_id BIGINT,
        diststyle VARCHAR,
        distkey VARCHAR,
        sortkey VARCHAR[],
        sortkey_style VARCHAR,
        backup BOOLEAN,
        constraints VARCHAR[],
        created TIMESTAMP,
        PRIMARY KEY (database_name, schema_name, table_name)
    )""",
    f"""CREATE TABLE IF NOT EXISTS {_S}.column_attributes (
        database_name VARCHAR,
        schema_name VARCHAR,
        table_name VARCHAR,
        column_name VARCHAR,
        ordinal INTEGER,
        type_name VARCHAR,
        length INTEGER,
        numeric_precision INTEGER,
        numeric_scale INTEGER,
        encoding VARCHAR,
        identity_seed BIGINT,
        identity_step BIGINT,
        not_null BOOLEAN,
        PRIMARY KEY (database_name, schema_name, table_name, column_name)
    )""",
    f"""CREATE TABLE IF NOT EXISTS {_S}.users (
        user_id INTEGER PRIMARY KEY,
        user_name VARCHAR UNIQUE,
        superuser BOOLEAN,
        created TIMESTAMP
    )""",
]

VIEWS = [
    f"""CREATE OR REPLACE VIEW {_S}.sys_query_history AS
    SELECT
        user_id,
        query_id,
        CAST('default' AS VARCHAR) AS query_label,
        transaction_id,
        session_id,
        database_name,
        query_type,
        status,
        FALSE AS result_cache_hit,
        start_time,
        end_time,
        CAST(date_diff('microsecond', start_time, end_time) AS BIGINT) AS elapsed_time,
        CAST(date_diff('microsecond', submitted_time, start_time) AS BIGINT) AS queue_time,
        CAST(date_diff('microsecond', start_time, end_time) AS BIGINT) AS execution_time,
        error_message,
        returned_rows,
        returned_bytes,
        left(query_text, 4000) AS query_text,
        CAST('primary' AS VARCHAR) AS compute_type,
        CAST(0 AS BIGINT) AS compile_time,
        CAST(0 AS BIGINT) AS planning_time,
        CAST(0 AS BIGINT) AS lock_wait_time
    FROM {_S}.query_history""",
    f"""CREATE OR REPLACE VIEW {_S}.sys_serverless_usage AS
    SELECT start_time, end_time, compute_seconds, compute_capacity, data_storage,
           cross_region_transferred_data, charged_seconds
    FROM {_S}.serverless_usage""",
    f"""CREATE OR REPLACE VIEW {_S}.svv_table_info AS
    WITH widths AS (
        SELECT database_name, schema_name, table_name,
               sum(CASE WHEN data_type IN ('BIGINT', 'DOUBLE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIME')
                        THEN 8 WHEN data_type LIKE 'DECIMAL%' THEN 16 WHEN data_type IN ('BOOLEAN', 'TINYINT') THEN 1
                        WHEN data_type = 'SMALLINT' THEN 2 WHEN data_type IN ('INTEGER', 'DATE', 'FLOAT') THEN 4
                        ELSE 16 END) AS row_width
        FROM duckdb_columns()
        GROUP BY ALL
    ),
    declared AS (
        SELECT database_name, schema_name, table_name,
               max(CASE WHEN type_name = 'varchar' THEN length END) AS max_varchar,
               bool_or(encoding IS NOT NULL) AS encoded
        FROM {_S}.column_attributes
        GROUP BY ALL
    )
    SELECT
        t.database_name AS database,
        t.schema_name AS schema,
        CAST(coalesce(a.table_id, t.table_oid) AS BIGINT) AS table_id,
        t.table_name AS "table",
        CASE WHEN coalesce(d.encoded, FALSE) THEN 'Y' ELSE 'N' END AS encoded,
        CASE coalesce(a.diststyle, 'AUTO')
            WHEN 'KEY' THEN 'KEY(' || a.distkey || ')'
            WHEN 'AUTO' THEN 'AUTO(ALL)'
            ELSE a.diststyle END AS diststyle,
        CASE WHEN a.sortkey_style = 'AUTO' THEN 'AUTO(SORTKEY)' ELSE a.sortkey[1] END AS sortkey1,
        d.max_varchar,
        CAST(coalesce(len(a.sortkey), 0) AS INTEGER) AS sortkey_num,
        CAST(greatest(1, ceil(t.estimated_size * coalesce(w.row_width, 16) / 1048576.0)) AS BIGINT) AS size,
        CAST(0 AS DOUBLE) AS pct_used,
        CAST(0 AS BIGINT) AS empty,
        CAST(0 AS DOUBLE) AS unsorted,
        CAST(0 AS DOUBLE) AS stats_off,
        CAST(t.estimated_size AS BIGINT) AS tbl_rows,
        CAST(t.estimated_size AS BIGINT) AS estimated_visible_rows,
        CAST(1 AS DOUBLE) AS skew_rows,
        a.created AS create_time
    FROM duckdb_tables() t
    LEFT JOIN {_S}.table_attributes a
        ON a.database_name = t.database_name AND a.schema_name = t.schema_name AND a.table_name = t.table_name
    LEFT JOIN declared d
        ON d.database_name = t.database_name AND d.schema_name = t.schema_name AND d.table_name = t.table_name
    LEFT JOIN widths w
        ON w.database_name = t.database_name AND w.schema_name = t.schema_name AND w.table_name = t.table_name
    WHERE t.database_name NOT IN ('{SYSTEM_CATALOG}', 'temp', 'system', 'memory')
      AND NOT t.temporary AND t.estimated_size > 0""",
]


def create(cursor: Any) -> None:
    """Create the system catalog's tables and (re)create its views."""
    for statement in TABLES + VIEWS + load_history.statements(_S):
        cursor.execute(statement)
