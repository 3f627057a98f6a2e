"""One Redshift session: the statements of one Data API call, run on one DuckDB cursor.

A Data API call (ExecuteStatement, or BatchExecuteStatement with all its SQL) is one database
session in Redshift: its temporary tables, SET parameters and open transaction end with it. Here
it is one DuckDB cursor (a connection of its own, so temporary objects die with it), set to UTC
and to integer division for integers, and to the session's database and search path.

``run`` takes one Redshift statement: a special statement goes to its handler
(``special_statements``), any other is translated (``translate``) and run. After CREATE TABLE,
DROP TABLE and ALTER TABLE ... RENAME TO, the system catalog's records follow once the
transaction commits (DuckDB writes one attached database per transaction); a rollback discards
them with the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import duckdb

from helpers.localcloud.warehouse import catalog, special_statements
from helpers.localcloud.warehouse.redshift_types import RedshiftType, from_duckdb
from helpers.localcloud.warehouse.results import ResultColumn, StatementOutcome
from helpers.localcloud.warehouse.sql_errors import SqlError, StatementCancelled, redshift_message
from helpers.localcloud.warehouse.translate import RelationName, TranslationError, tokenize, translate

if TYPE_CHECKING:
    from helpers.localcloud.warehouse.engine import Warehouse

# https://docs.aws.amazon.com/redshift/latest/dg/cm_chap_ConfigurationRef.html (the parameters SET
# accepts). search_path and enable_case_sensitive_identifier take effect; the others are kept.
DEFAULT_PARAMETERS = {
    "analyze_threshold_percent": "10",
    "datestyle": "ISO, MDY",
    "describe_field_name_in_uppercase": "off",
    "enable_case_sensitive_identifier": "off",
    "enable_case_sensitive_super_attribute": "off",
    "enable_numeric_rounding": "on",
    "enable_result_cache_for_session": "on",
    "error_on_nondeterministic_update": "off",
    "extra_float_digits": "0",
    "json_parse_dedup_attributes": "off",
    "max_concurrency_scaling_clusters": "1",
    "max_cursor_result_set_size": "default",
    "navigate_super_null_on_error": "on",
    "parse_super_null_on_error": "off",
    "query_group": "default",
    "search_path": "$user, public",
    "spectrum_query_maxerror": "-1",
    "statement_timeout": "0",
    "timezone": "UTC",
    "wlm_query_slot_count": "1",
}
TRUE_WORDS = ("on", "true", "1", "yes")
WRITE_TYPES = ("INSERT", "UPDATE", "DELETE", "CTAS", "DDL", "COPY")


class Session:
    def __init__(self, warehouse: Warehouse, database: str, user: str, pid: int, parameters: dict[str, str]) -> None:
        self.warehouse = warehouse
        self.database = database
        self.user = user
        self.pid = pid
        self.in_transaction = False
        self.cancelled = False
        self._after_commit: list[Callable[[], None]] = []
        self._defaults = {**DEFAULT_PARAMETERS, **parameters}
        self._parameters = dict(self._defaults)
        self.cursor = warehouse.cursor()
        self._path: list[str] | None = None
        # Redshift divides integers as integers (7/2 = 3); DuckDB only does with integer_division.
        self._apply_search_path("SET TimeZone = 'UTC'; SET integer_division = true;")

    @property
    def context(self) -> Any:
        """The local cloud's ``plane.Context`` (endpoint_url, backend())."""
        return self.warehouse.context

    @property
    def region(self) -> str:
        return self.warehouse.region

    @property
    def case_sensitive(self) -> bool:
        return self._parameters["enable_case_sensitive_identifier"].lower() in TRUE_WORDS

    # -- search path and parameters ------------------------------------------------------------

    def search_path(self) -> list[str]:
        """The schemas of the search path that exist, in order ($user is the session's user)."""
        if self._path is None:
            existing = set(catalog.existing_schemas(self.cursor, self.database))
            path = []
            for entry in self._parameters["search_path"].split(","):
                name = entry.strip().strip('"').strip("'")
                name = self.user if name == "$user" else name.lower()
                if name in existing and name not in path:
                    path.append(name)
            self._path = path
        return self._path

    def _apply_search_path(self, prefix: str = "") -> None:
        """Point DuckDB at the search path: USE its first schema (where CREATE puts relations) and
        resolve unqualified names along it."""
        self._path = None
        path = self.search_path()
        first = path[0] if path else "main"
        entries = ",".join(f'"{self.database}"."{schema}"' for schema in path) or f'"{self.database}".main'
        quoted = entries.replace("'", "''")
        self.cursor.execute(f"{prefix} USE \"{self.database}\".\"{first}\"; SET search_path = '{quoted}';")

    def _schemas_changed(self) -> None:
        """After DDL: a schema of the search path may have been created or dropped."""
        before = self._path
        self._path = None
        if self.search_path() != before:
            self._apply_search_path()

    def set_parameter(self, name: str, values: list[str]) -> None:
        if name not in DEFAULT_PARAMETERS:
            raise SqlError(f'ERROR: unrecognized configuration parameter "{name}"')
        if name == "timezone" and values[0].upper() not in ("UTC", "GMT"):
            raise SqlError("ERROR: the local warehouse only runs in UTC")
        self._parameters[name] = ", ".join(values)
        if name == "search_path":
            self._apply_search_path()

    def reset_parameter(self, name: str) -> None:
        if name not in DEFAULT_PARAMETERS:
            raise SqlError(f'ERROR: unrecognized configuration parameter "{name}"')
        self._parameters[name] = self._defaults[name]
        if name == "search_path":
            self._apply_search_path()

    def reset_all_parameters(self) -> None:
        self._parameters = dict(self._defaults)
        self._apply_search_path()

    def show_parameter(self, name: str) -> str:
        if name not in self._parameters:
            raise SqlError(f'ERROR: unrecognized configuration parameter "{name}"')
        return self._parameters[name]

    # -- transactions and execution ------------------------------------------------------------

    def begin(self) -> None:
        if not self.in_transaction:
            self.execute("BEGIN TRANSACTION")
            self.in_transaction = True

    def commit(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self.execute("COMMIT")
            pending, self._after_commit = self._after_commit, []
            for action in pending:
                action()

    def rollback(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self._after_commit = []
            self.execute("ROLLBACK")

    def on_commit(self, action: Callable[[], None]) -> None:
        """Do ``action`` once the session's work is committed (now, outside a transaction)."""
        if self.in_transaction:
            self._after_commit.append(action)
        else:
            action()

    def execute(self, sql: str, parameters: dict[str, Any] | list[Any] | None = None) -> Any:
        """Run DuckDB SQL on the session's cursor; engine errors become ``SqlError``."""
        if self.cancelled:
            raise StatementCancelled()
        try:
            return self.cursor.execute(sql, parameters) if parameters else self.cursor.execute(sql)
        except duckdb.InterruptException as error:
            raise StatementCancelled() from error
        except duckdb.Error as error:
            raise SqlError(redshift_message(str(error))) from error

    def catalog(self) -> catalog.SessionCatalog:
        return catalog.SessionCatalog(self.cursor, self.database, self.user, self.search_path())

    def columns(self, relation: RelationName) -> list[tuple[str, RedshiftType]]:
        return [(name, rtype) for name, rtype, _, _ in catalog.declared_columns(self.cursor, relation)]

    def interrupt(self) -> None:
        """Stop the running SQL (from another thread); later SQL of the session is refused."""
        self.cancelled = True
        self.cursor.interrupt()

    def close(self) -> None:
        try:
            if self.in_transaction:
                self.cursor.execute("ROLLBACK")
        finally:
            self.cursor.close()

    def run(self, sql: str, parameters: dict[str, str]) -> StatementOutcome:
        """Run one Redshift statement."""
        try:
            tokens = tokenize(sql)
            handler = special_statements.find(tokens)
            if handler:
                outcome = handler(self, special_statements.SpecialStatement(sql, tokens))
                if outcome.query_type == "DDL":
                    self._schemas_changed()
                return outcome
            session_catalog = self.catalog()
            translation = translate(sql, session_catalog, self.case_sensitive)
        except TranslationError as error:
            raise SqlError(error.message) from error
        missing = [name for name in translation.parameters if name not in parameters]
        if missing:
            raise SqlError(f"ERROR: no value was given for the parameter :{missing[0]}")
        bound = {name: parameters[name] for name in translation.parameters}
        table = translation.table
        created = table is not None and not table.temporary and session_catalog.resolve(table.relation.schema, table.relation.name) is None
        atomic = not self.in_transaction and (
            len(translation.statements) > 1 or created or bool(translation.dropped) or bool(translation.renamed)
        )
        if atomic:
            self.begin()
        try:
            for statement in translation.statements[:-1]:
                self.execute(statement)
            billable = bool(translation.user_relations) or translation.query_type in WRITE_TYPES
            if translation.returns_rows:
                outcome = self._rows(translation.statements[-1], bound, translation.query_type, billable)
            else:
                result = self.execute(translation.statements[-1], bound).fetchall()
                counted = translation.query_type in ("INSERT", "UPDATE", "DELETE", "CTAS")
                outcome = StatementOutcome(
                    query_type=translation.query_type,
                    billable=billable,
                    rows_affected=int(result[0][0]) if counted and result else 0,
                )
            if created:
                column_types = session_catalog.column_types(table.relation)
                self.on_commit(lambda: self.warehouse.record_table(table, column_types))
            for relation in translation.dropped:
                if relation.database != "temp":
                    catalog.drop_identity_sequences(self.cursor, relation)
                    self.on_commit(lambda relation=relation: self.warehouse.forget_table(relation))
            if translation.renamed and translation.renamed[0].database != "temp":
                relation, new_name = translation.renamed
                self.on_commit(lambda: self.warehouse.rename_table(relation, new_name))
            if atomic:
                self.commit()
        except BaseException:
            if atomic:
                self.rollback()
            raise
        if translation.query_type == "DDL":
            self._schemas_changed()
        return outcome

    def _rows(self, sql: str, parameters: dict[str, str], query_type: str, billable: bool) -> StatementOutcome:
        if self.cancelled:
            raise StatementCancelled()
        try:
            relation = self.cursor.sql(sql, params=parameters or None)
            table = relation.to_arrow_table()
        except duckdb.InterruptException as error:
            raise StatementCancelled() from error
        except duckdb.Error as error:
            raise SqlError(redshift_message(str(error))) from error
        columns = [ResultColumn(name, from_duckdb(str(kind))) for name, kind in zip(relation.columns, relation.types)]
        return StatementOutcome(query_type=query_type, billable=billable, columns=columns, table=table)
