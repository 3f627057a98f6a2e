"""COPY from Amazon S3 into a warehouse table: the handler the engine gives COPY statements to.

https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html. The statement is read by
``copy_command``; the files come from S3 (``copy_sources``, in-process through moto); each record
of each file is split into fields (``copy_formats``, or ``copy_parquet`` for Parquet) and each
value converted to its column's type with Redshift's rules (``copy_values``). A value that cannot
be loaded makes its row a load error: the row is skipped and recorded, with its file, line,
column, raw text, error code and reason, in SYS_LOAD_ERROR_DETAIL and STL_LOAD_ERRORS
(``load_history``). When the errors reach MAXERROR ("If the load returns the error_count number of
errors or greater, the load fails"; 0, the default, and 1 both fail on the first), the COPY fails
with "Load into table 't' failed. Check 'sys_load_error_detail' system table for details." and
loads nothing; otherwise every good row of every file goes in with one INSERT (``copy_rows``):
a COPY commits all or nothing. NOLOAD checks the files and loads nothing.

Authorization (IAM_ROLE, CREDENTIALS, access keys) is required as on AWS but not checked: the
local cloud does not enforce IAM, so any role or key reads any bucket of the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from helpers.localcloud.warehouse import catalog, copy_command, copy_formats, copy_rows, special_statements
from helpers.localcloud.warehouse.copy_command import CopyCommand
from helpers.localcloud.warehouse.copy_formats import RecordProblem, SourceRecord
from helpers.localcloud.warehouse.copy_parquet import parquet_table
from helpers.localcloud.warehouse.copy_sources import NO_SUCH_KEY, SourceFiles, decompressed
from helpers.localcloud.warehouse.copy_values import LoadError, TargetColumn, ValueConverter
from helpers.localcloud.warehouse.load_history import LoadErrorRow, LoadFileRow, LoadRecorder, LoadRun
from helpers.localcloud.warehouse.engine import utcnow
from helpers.localcloud.warehouse.results import StatementOutcome
from helpers.localcloud.warehouse.s3_objects import S3Object, S3Objects
from helpers.localcloud.warehouse.sql_errors import SqlError
from helpers.localcloud.warehouse.system_views import SYSTEM_CATALOG, SYSTEM_SCHEMA
from helpers.localcloud.warehouse.translate import RelationName

if TYPE_CHECKING:
    from helpers.localcloud.warehouse.session import Session
    from helpers.localcloud.warehouse.special_statements import SpecialStatement

SYSTEM = f"{SYSTEM_CATALOG}.{SYSTEM_SCHEMA}"
FILE_FORMATS = {"TEXT": "txt", "CSV": "csv", "JSON": "json", "PARQUET": "parquet"}


@dataclass
class LoadResult:
    """What reading every file of one COPY gave."""

    rows: list[list[Any]] = field(default_factory=list)  # converted rows (text formats)
    tables: list[pa.Table] = field(default_factory=list)  # converted rows (Parquet), one table per file
    errors: list[LoadErrorRow] = field(default_factory=list)
    files: list[LoadFileRow] = field(default_factory=list)
    source_bytes: int = 0


def copy_from_s3(session: Session, statement: SpecialStatement) -> StatementOutcome:
    command = copy_command.parse(statement.sql, statement.tokens, session.case_sensitive)
    relation, columns = _target(session, command)
    recorder = LoadRecorder(session.warehouse.cursor(), SYSTEM, _run(session, relation))
    try:
        return _copy(session, command, relation, columns, recorder)
    finally:
        recorder.cursor.close()


def _copy(session: Session, command: CopyCommand, relation: RelationName, columns: list[TargetColumn], recorder: LoadRecorder) -> StatementOutcome:
    result = LoadResult()
    loaded, loaded_bytes = 0, 0
    try:
        sources = SourceFiles(S3Objects(session.context), command.region or session.region)
        files = sources.data_files(command)
        result.source_bytes = sum(len(file.data) for file in files)
        jsonpaths = _jsonpaths(sources, command, columns)
        if command.format == "PARQUET":
            _read_parquet(files, columns, command, result)
        else:
            _read_text(files, columns, command, jsonpaths, result)
        recorder.errors(result.errors)
        recorder.files(result.files)
        if result.errors and not command.ignore_all_errors and len(result.errors) >= max(command.max_error, 1):
            raise SqlError(f"ERROR: Load into table '{relation.name}' failed. Check 'sys_load_error_detail' system table for details.")
        if not command.no_load:
            loaded, loaded_bytes = _insert(session, relation, columns, result)
    except SqlError:
        _record_outcome(recorder, command, result, "aborted", 0, 0)
        raise
    _record_outcome(recorder, command, result, "completed", loaded, loaded_bytes)
    return StatementOutcome(query_type="COPY", billable=True, rows_affected=loaded)


def _target(session: Session, command: CopyCommand) -> tuple[RelationName, list[TargetColumn]]:
    """The table COPY loads and the columns it fills, in the order the data gives them."""
    shown = f"{command.schema}.{command.table}" if command.schema else command.table
    relation = session.catalog().resolve(command.schema, command.table)
    if relation is None:
        raise SqlError(f'ERROR: relation "{shown}" does not exist')
    is_view = session.cursor.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = $d AND schema_name = $s AND view_name = $n",
        {"d": relation.database, "s": relation.schema, "n": relation.name},
    ).fetchall()[0][0]
    if is_view:
        raise SqlError(f'ERROR: cannot copy to view "{relation.name}"')
    declared = catalog.declared_columns(session.cursor, relation)
    identity = {name for name, _, _, default in declared if default and "nextval(" in str(default)}
    by_name = {name: TargetColumn(name, rtype, nullable) for name, rtype, nullable, _ in declared}
    if not command.columns:
        return relation, [by_name[name] for name, *_ in declared if command.explicit_ids or name not in identity]
    seen: set[str] = set()
    for name in command.columns:
        if name not in by_name:
            raise SqlError(f'ERROR: column "{name}" of relation "{relation.name}" does not exist')
        if name in seen:
            raise SqlError(f'ERROR: column "{name}" specified more than once')
        if name in identity and not command.explicit_ids:
            raise SqlError(f'ERROR: cannot set an identity column to a value (column "{name}"); use EXPLICIT_IDS')
        seen.add(name)
    return relation, [by_name[name] for name in command.columns]


def _run(session: Session, relation: RelationName) -> LoadRun:
    # The Data API's worker numbers each statement just before running it, one statement at a time
    # per warehouse, so the sequence's current value is this COPY's query id.
    query_id = session.cursor.execute(f"SELECT currval('{SYSTEM}.query_ids')").fetchall()[0][0]
    table_id = session.cursor.execute(
        f"SELECT table_id FROM {SYSTEM}.table_attributes WHERE database_name = $d AND schema_name = $s AND table_name = $t",
        {"d": relation.database, "s": relation.schema, "t": relation.name},
    ).fetchall()
    return LoadRun(
        query_id=query_id,
        user_id=session.warehouse.user_id(session.user),
        session_id=session.pid,
        database=session.database,
        table_id=table_id[0][0] if table_id else None,
        table_name=relation.name,
        start_time=utcnow(),
    )


def _jsonpaths(sources: SourceFiles, command: CopyCommand, columns: list[TargetColumn]) -> list[Any] | None:
    if command.format != "JSON" or not command.json_option.startswith("s3://"):
        return None
    found = sources.object(command.json_option)
    if found is None:
        raise SqlError(f"ERROR: Problem reading JSONPaths file - {NO_SUCH_KEY} ({command.json_option})")
    paths = copy_formats.parse_jsonpaths(found.data, found.url)
    if paths is not None and len(paths) != len(columns):
        raise SqlError(
            "ERROR: Number of jsonpaths and the number of columns should match. "
            f"JSONPath size: {len(paths)}, Number of columns in table or column list: {len(columns)}"
        )
    return paths


def _read_text(files: list[S3Object], columns: list[TargetColumn], command: CopyCommand, jsonpaths: list[Any] | None, result: LoadResult) -> None:
    converter = ValueConverter(command)
    names = [column.name for column in columns]
    for file in files:
        started = utcnow()
        text = decompressed(file, command.compression).decode("utf-8", "surrogateescape")
        errors_before, lines = len(result.errors), 0
        for record in copy_formats.records(text, command, names, jsonpaths):
            lines = record.line_number
            if isinstance(record, RecordProblem):
                result.errors.append(_problem_row(file.url, record, columns))
                continue
            row = _converted_row(converter, record, columns, file.url)
            if isinstance(row, LoadErrorRow):
                result.errors.append(row)
            else:
                result.rows.append(row)
        result.files.append(
            LoadFileRow(file.url, len(file.data), lines, len(result.errors) - errors_before, FILE_FORMATS[command.format], started, utcnow())
        )


def _converted_row(converter: ValueConverter, record: SourceRecord, columns: list[TargetColumn], url: str) -> list[Any] | LoadErrorRow:
    row = []
    for index, (raw, column) in enumerate(zip(record.values, columns)):
        try:
            row.append(converter.convert(raw, column))
        except LoadError as error:
            return LoadErrorRow(
                file_name=url,
                line_number=record.line_number,
                column_name=column.name,
                column_type=column.type.name,
                column_length=column.length_text,
                position=record.position(index),
                raw_line=copy_formats.printable(record.text),
                raw_field_value=record.raw_field_value(index),
                error_code=error.code,
                error_message=error.reason,
            )
    return row


def _problem_row(url: str, problem: RecordProblem, columns: list[TargetColumn]) -> LoadErrorRow:
    column = columns[problem.column] if problem.column is not None and problem.column < len(columns) else None
    return LoadErrorRow(
        file_name=url,
        line_number=problem.line_number,
        column_name=column.name if column else "",
        column_type=column.type.name if column else "",
        column_length=column.length_text if column else "",
        position=problem.position,
        raw_line=problem.raw_line,
        raw_field_value=problem.raw_field_value,
        error_code=problem.code,
        error_message=problem.reason,
    )


def _read_parquet(files: list[S3Object], columns: list[TargetColumn], command: CopyCommand, result: LoadResult) -> None:
    for file in files:
        started = utcnow()
        table = parquet_table(file, columns, command)
        result.tables.append(table)
        result.files.append(LoadFileRow(file.url, len(file.data), table.num_rows, 0, "parquet", started, utcnow()))


def _insert(session: Session, relation: RelationName, columns: list[TargetColumn], result: LoadResult) -> tuple[int, int]:
    table = pa.concat_tables(result.tables) if result.tables else copy_rows.rows_to_arrow(columns, result.rows)
    if table.num_rows:
        copy_rows.insert(session, relation, columns, table)
    return table.num_rows, int(table.nbytes)


def _record_outcome(recorder: LoadRecorder, command: CopyCommand, result: LoadResult, status: str, loaded: int, loaded_bytes: int) -> None:
    recorder.outcome(
        status=status,
        end_time=utcnow(),
        data_source=command.source,
        file_format=FILE_FORMATS[command.format],
        loaded_rows=loaded,
        loaded_bytes=loaded_bytes,
        files=len(result.files),
        file_bytes=result.source_bytes,
        errors=len(result.errors),
    )


special_statements.register("COPY", copy_from_s3)
