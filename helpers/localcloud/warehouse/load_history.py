"""What COPY leaves in the system views: its load errors, its files and its outcome.

Kept in the warehouse's system catalog next to the query history, and shown through views with the
columns the AWS pages list (types widened to VARCHAR where Redshift uses blank-padded CHAR(n), so
``trim()`` still works and plain equality does too):

* SYS_LOAD_ERROR_DETAIL  https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
* STL_LOAD_ERRORS        https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html
* SYS_LOAD_HISTORY       https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html
* SYS_LOAD_DETAIL        https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_DETAIL.html
* STL_LOAD_COMMITS       https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html

AWS shows the STL views on provisioned clusters only; the local warehouse shows them everywhere.
The transaction id comes from SYS_QUERY_HISTORY's row of the same query. Rows are written by a
connection of their own, so the errors of a COPY that fails stay recorded, as on AWS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

VIEW_NAMES = ("sys_load_error_detail", "stl_load_errors", "sys_load_history", "sys_load_detail", "stl_load_commits")


@dataclass(frozen=True)
class LoadErrorRow:
    file_name: str
    line_number: int
    column_name: str
    column_type: str
    column_length: str
    position: int
    raw_line: str
    raw_field_value: str
    error_code: int
    error_message: str


@dataclass(frozen=True)
class LoadFileRow:
    file_name: str
    bytes_scanned: int
    lines_scanned: int
    errors: int
    file_format: str
    start_time: dt.datetime
    end_time: dt.datetime


@dataclass(frozen=True)
class LoadRun:
    """Who ran a COPY, where, and into what."""

    query_id: int
    user_id: int | None
    session_id: int
    database: str
    table_id: int | None
    table_name: str
    start_time: dt.datetime


def statements(schema: str) -> list[str]:
    """The tables and views, in the system catalog's schema (e.g. ``redshift_system.main``)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS {schema}.load_errors (
            query_id BIGINT, user_id INTEGER, session_id INTEGER, database_name VARCHAR, table_id BIGINT,
            start_time TIMESTAMP, file_name VARCHAR, line_number BIGINT, column_name VARCHAR, column_type VARCHAR,
            column_length VARCHAR, position INTEGER, raw_line VARCHAR, raw_field_value VARCHAR,
            error_code INTEGER, error_message VARCHAR)""",
        f"""CREATE TABLE IF NOT EXISTS {schema}.load_runs (
            query_id BIGINT, user_id INTEGER, session_id INTEGER, database_name VARCHAR, table_id BIGINT,
            table_name VARCHAR, status VARCHAR, start_time TIMESTAMP, end_time TIMESTAMP, data_source VARCHAR,
            file_format VARCHAR, loaded_rows BIGINT, loaded_bytes BIGINT, source_file_count INTEGER,
            source_file_bytes BIGINT, error_count BIGINT)""",
        f"""CREATE TABLE IF NOT EXISTS {schema}.load_files (
            query_id BIGINT, user_id INTEGER, table_id BIGINT, file_name VARCHAR, bytes_scanned BIGINT,
            lines_scanned BIGINT, errors BIGINT, file_format VARCHAR, start_time TIMESTAMP, end_time TIMESTAMP)""",
        f"""CREATE OR REPLACE VIEW {schema}.sys_load_error_detail AS
            SELECT e.user_id, e.query_id, q.transaction_id, e.session_id, e.database_name, e.table_id, e.start_time,
                   e.file_name, e.line_number, e.column_name, e.column_type, e.column_length, e.position,
                   e.error_code, e.error_message
            FROM {schema}.load_errors e LEFT JOIN {schema}.query_history q USING (query_id)""",
        f"""CREATE OR REPLACE VIEW {schema}.stl_load_errors AS
            SELECT user_id AS userid, 0 AS slice, table_id AS tbl, start_time AS starttime, session_id AS session,
                   query_id AS query, file_name AS filename, line_number, column_name AS colname,
                   column_type AS type, column_length AS col_length, position, raw_line, raw_field_value,
                   error_code AS err_code, left(error_message, 100) AS err_reason
            FROM {schema}.load_errors""",
        f"""CREATE OR REPLACE VIEW {schema}.sys_load_history AS
            SELECT r.user_id, r.query_id, q.transaction_id, r.session_id, r.database_name, r.status, r.table_name,
                   r.start_time, r.end_time,
                   CAST(date_diff('microsecond', r.start_time, r.end_time) AS BIGINT) AS duration,
                   r.data_source, r.file_format, r.loaded_rows, r.loaded_bytes, r.source_file_count,
                   r.source_file_bytes, r.source_file_count AS file_count_scanned,
                   r.source_file_bytes AS file_bytes_scanned, r.error_count, CAST(0 AS BIGINT) AS copy_job_id
            FROM {schema}.load_runs r LEFT JOIN {schema}.query_history q USING (query_id)""",
        f"""CREATE OR REPLACE VIEW {schema}.sys_load_detail AS
            SELECT user_id, query_id, file_name, bytes_scanned, lines_scanned, end_time AS record_time,
                   1 AS splits_scanned, start_time, end_time
            FROM {schema}.load_files""",
        f"""CREATE OR REPLACE VIEW {schema}.stl_load_commits AS
            SELECT user_id AS userid, query_id AS query, 0 AS slice, CAST(table_id AS VARCHAR) AS name,
                   file_name AS filename, CAST(0 AS BIGINT) AS byte_offset, lines_scanned, errors,
                   end_time AS curtime, 1 AS status, file_format, 0 AS is_partial, CAST(0 AS BIGINT) AS start_offset,
                   CAST(0 AS BIGINT) AS copy_job_id
            FROM {schema}.load_files""",
    ]


class LoadRecorder:
    """Writes one COPY's rows, through a connection (``cursor``) of its own, committed at once."""

    def __init__(self, cursor: Any, schema: str, run: LoadRun) -> None:
        self.cursor = cursor
        self.schema = schema
        self.run = run

    def errors(self, rows: list[LoadErrorRow]) -> None:
        if not rows:
            return
        run = self.run
        self.cursor.executemany(
            f"INSERT INTO {self.schema}.load_errors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (run.query_id, run.user_id, run.session_id, run.database, run.table_id, run.start_time,
                 row.file_name, row.line_number, row.column_name, row.column_type, row.column_length,
                 row.position, row.raw_line, row.raw_field_value, row.error_code, row.error_message)
                for row in rows
            ],
        )

    def files(self, rows: list[LoadFileRow]) -> None:
        if not rows:
            return
        run = self.run
        self.cursor.executemany(
            f"INSERT INTO {self.schema}.load_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (run.query_id, run.user_id, run.table_id, row.file_name, row.bytes_scanned, row.lines_scanned,
                 row.errors, row.file_format, row.start_time, row.end_time)
                for row in rows
            ],
        )

    def outcome(self, *, status: str, end_time: dt.datetime, data_source: str, file_format: str, loaded_rows: int,
                loaded_bytes: int, files: int, file_bytes: int, errors: int) -> None:
        run = self.run
        self.cursor.execute(
            f"INSERT INTO {self.schema}.load_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run.query_id, run.user_id, run.session_id, run.database, run.table_id, run.table_name, status,
             run.start_time, end_time, data_source, file_format, loaded_rows, loaded_bytes, files, file_bytes, errors],
        ).fetchall()
