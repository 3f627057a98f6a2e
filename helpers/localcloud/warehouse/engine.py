"""The local warehouse engine: one embedded DuckDB instance per Redshift namespace (or cluster).

Layout: ``<state dir>/redshift/namespaces/<namespace>/<database>.duckdb`` holds each database of
the namespace (``dev`` first), ``_system.duckdb`` the system catalog (query history, table
attributes, users, serverless usage; see ``system_views``). All are attached to one in-memory
DuckDB instance: a Redshift database is a DuckDB catalog, a Redshift schema a DuckDB schema
(``public`` is created with each database). The files belong to one namespace: a directory left by
a namespace of the same name that no longer exists (for example before the local cloud restarted,
since the control plane lives in memory) is emptied when the new namespace opens it, as a new
namespace on AWS starts empty.

Statements run in a single worker thread per warehouse, in the order submitted (``submit``): the
Data API's asynchronous execution. Each Data API call gets a ``session.Session`` (its own DuckDB
cursor); catalog look-ups for ListTables and DescribeTable use cursors of their own and run beside
the worker.

How a statement runs (``Session.run``):

1. **Special statements** first. A statement whose leading words are registered in
   ``special_statements`` (COPY, CREATE USER, GRANT, SET, VACUUM, CREATE DATABASE, BEGIN/COMMIT...)
   is handed to its handler, which does the work itself through the session and returns a
   ``results.StatementOutcome``. This is the seam for what Redshift has and DuckDB has not: to add
   COPY from S3, write a handler and ``special_statements.register("COPY", handler)``, listing the
   module in ``special_statements.EXTENSION_MODULES`` (see that module's docstring for the
   handler's contract).
2. **Everything else** is translated by ``translate`` (sqlglot, Redshift to DuckDB, plus the
   catalog-aware rules listed there) and run; errors are reworded by ``sql_errors``.
3. The worker records each statement in the query history (SYS_QUERY_HISTORY), with whether it
   ran on compute (billable); the minute rows of SYS_SERVERLESS_USAGE are recomputed from the
   history (see ``usage``) before a statement that reads them.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import duckdb

from helpers.localcloud.warehouse import catalog, system_views, usage
from helpers.localcloud.warehouse.session import Session
from helpers.localcloud.warehouse.sql_errors import SqlError
from helpers.localcloud.warehouse.translate import RelationName, TableDefinition

if TYPE_CHECKING:
    from helpers.localcloud.plane import Context

log = logging.getLogger("localcloud.warehouse")

SYSTEM_FILE = "_system.duckdb"
OWNER_FILE = "owner"
# Redshift database names: letters, digits, underscore and $, starting with a letter or underscore.
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,126}$")
RESERVED_DATABASES = ("redshift_system", "temp", "system", "memory", "main")
FIRST_TRANSACTION_ID = 5000
_S = f"{system_views.SYSTEM_CATALOG}.{system_views.SYSTEM_SCHEMA}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _quoted_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@dataclass(frozen=True)
class QueryRecord:
    """One row of SYS_QUERY_HISTORY."""

    query_id: int
    statement_id: str
    user_name: str
    transaction_id: int
    session_id: int
    database: str
    query_type: str
    status: str  # success, failed, canceled
    submitted: dt.datetime
    start: dt.datetime
    end: dt.datetime
    error: str | None
    returned_rows: int
    returned_bytes: int
    query_text: str
    billable: bool
    base_capacity: int | None  # None: a provisioned cluster, not billed per RPU


class Warehouse:
    def __init__(
        self,
        directory: Path,
        owner: str,
        default_database: str,
        admin_user: str | None,
        context: Context,
        region: str,
    ) -> None:
        self.directory = directory
        self.owner = owner
        self.context = context
        self.region = region
        owner_file = directory / OWNER_FILE
        if directory.exists() and (not owner_file.exists() or owner_file.read_text() != owner):
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        owner_file.write_text(owner)
        self.connection = duckdb.connect(":memory:")
        self._connection_lock = threading.Lock()
        self.connection.execute(f"ATTACH {_quoted_path(directory / SYSTEM_FILE)} AS {system_views.SYSTEM_CATALOG}")
        self._system = self.connection.cursor()  # history and users, committed on their own
        self._system_lock = threading.Lock()
        system_views.create(self._system)
        # Kept in memory as well, so that a statement does not query the catalog for them.
        self._databases: list[str] = []
        self._user_ids: dict[str, int] = dict(self._system.execute(f"SELECT user_name, user_id FROM {_S}.users").fetchall())
        self._last_transaction_id = self._system.execute(
            f"SELECT coalesce(max(transaction_id), {FIRST_TRANSACTION_ID - 1}) FROM {_S}.query_history"
        ).fetchall()[0][0]
        for path in sorted(directory.glob("*.duckdb")):
            if path.name != SYSTEM_FILE:
                self._attach(path.stem)
        if default_database not in self.databases():
            self.create_database(default_database)
        if admin_user and self.user_id(admin_user) is None:
            self.add_user(admin_user, superuser=True)
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name=f"warehouse-{directory.name}", daemon=True)
        self._worker.start()

    # -- the worker ----------------------------------------------------------------------------

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the worker thread, after the jobs submitted before it."""
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("warehouse job failed")

    def close(self, delete_files: bool = False) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=30)
        with self._connection_lock:
            self._system.close()
            self.connection.close()
        if delete_files:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- databases -----------------------------------------------------------------------------

    def cursor(self) -> Any:
        """A new DuckDB connection to the instance (the caller closes it)."""
        with self._connection_lock:
            return self.connection.cursor()

    def databases(self) -> list[str]:
        return sorted(self._databases)

    def _attach(self, name: str) -> None:
        with self._connection_lock:
            self.connection.execute(f'ATTACH {_quoted_path(self.directory / f"{name}.duckdb")} AS "{name}"')
        self._databases.append(name)

    def create_database(self, name: str) -> None:
        if not DATABASE_NAME.match(name) or name in RESERVED_DATABASES:
            raise SqlError(f'ERROR: "{name}" is not a valid database name')
        if name in self.databases():
            raise SqlError(f'ERROR: database "{name}" already exists')
        self._attach(name)
        with self._connection_lock:
            self.connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}".public')

    def drop_database(self, name: str) -> None:
        with self._connection_lock:
            self.connection.execute(f'DETACH "{name}"')
        self._databases.remove(name)
        for suffix in (".duckdb", ".duckdb.wal"):
            (self.directory / f"{name}{suffix}").unlink(missing_ok=True)
        with self._system_lock:
            catalog.forget_database(self._system, name)

    def record_table(self, definition: TableDefinition, column_types: dict[str, str]) -> None:
        with self._system_lock:
            catalog.record_table(self._system, definition, column_types)

    def forget_table(self, relation: RelationName) -> None:
        with self._system_lock:
            catalog.forget_table(self._system, relation)

    def rename_table(self, relation: RelationName, new_name: str) -> None:
        with self._system_lock:
            catalog.rename_table(self._system, relation, new_name)

    def open_session(self, database: str, user: str, pid: int, parameters: dict[str, str]) -> Session:
        if database not in self.databases():
            raise SqlError(f'FATAL: database "{database}" does not exist')
        if self.user_id(user) is None:
            # Users who reach the warehouse through IAM or a secret are created on first use.
            self.add_user(user, superuser=False)
        return Session(self, database, user, pid, parameters)

    # -- users ---------------------------------------------------------------------------------

    def _system_query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
        with self._system_lock:
            return self._system.execute(sql, parameters).fetchall() if parameters else self._system.execute(sql).fetchall()

    def user_id(self, name: str) -> int | None:
        return self._user_ids.get(name)

    def add_user(self, name: str, superuser: bool) -> int:
        rows = self._system_query(
            f"INSERT INTO {_S}.users VALUES (nextval('{_S}.user_ids'), $n, $s, $t) RETURNING user_id",
            {"n": name, "s": superuser, "t": utcnow()},
        )
        self._user_ids[name] = rows[0][0]
        return rows[0][0]

    def drop_user(self, name: str) -> None:
        self._system_query(f"DELETE FROM {_S}.users WHERE user_name = $n", {"n": name})
        self._user_ids.pop(name, None)

    # -- history and usage ---------------------------------------------------------------------

    def next_query_id(self) -> int:
        return self._system_query(f"SELECT nextval('{_S}.query_ids')")[0][0]

    def next_transaction_id(self) -> int:
        with self._system_lock:
            self._last_transaction_id += 1
            return self._last_transaction_id

    def storage_mb(self) -> int:
        return usage.storage_mb(sum(path.stat().st_size for path in self.directory.glob("*.duckdb*") if path.is_file()))

    def record_query(self, record: QueryRecord) -> None:
        user_id = self.user_id(record.user_name)
        billable = record.billable and record.base_capacity is not None
        self._system_query(
            f"""INSERT INTO {_S}.query_history VALUES (
                $query_id, $statement_id, $user_id, $user_name, $transaction_id, $session_id, $database,
                $query_type, $status, $submitted, $start, $end, $error, $rows, $bytes, $text, $billable,
                $capacity, $storage)""",
            {
                "query_id": record.query_id,
                "statement_id": record.statement_id,
                "user_id": user_id,
                "user_name": record.user_name,
                "transaction_id": record.transaction_id,
                "session_id": record.session_id,
                "database": record.database,
                "query_type": record.query_type,
                "status": record.status,
                "submitted": record.submitted,
                "start": record.start,
                "end": record.end,
                "error": record.error,
                "rows": record.returned_rows,
                "bytes": record.returned_bytes,
                "text": record.query_text,
                "billable": billable,
                "capacity": record.base_capacity,
                "storage": self.storage_mb(),
            },
        )

    def refresh_usage(self) -> None:
        """Recompute SYS_SERVERLESS_USAGE from the billable history of finished statements.

        Called before a session that reads the view opens (its transaction would not see a later
        write): usage is recorded when work ends, as AWS records it when a transaction ends."""
        with self._system_lock:
            self._refresh_usage()

    def _refresh_usage(self) -> None:
        rows = self._system.execute(
            f"SELECT start_time, end_time, base_capacity, storage_mb FROM {_S}.query_history WHERE billable"
        ).fetchall()
        queries = [usage.BillableQuery(start, end, capacity, storage) for start, end, capacity, storage in rows]
        minutes = usage.usage_minutes(queries, now=utcnow())
        self._system.execute("BEGIN TRANSACTION")
        try:
            self._system.execute(f"DELETE FROM {_S}.serverless_usage")
            if minutes:
                self._system.executemany(
                    f"INSERT INTO {_S}.serverless_usage VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            m.start_time,
                            m.end_time,
                            m.compute_seconds,
                            m.compute_capacity,
                            m.data_storage,
                            m.cross_region_transferred_data,
                            m.charged_seconds,
                        )
                        for m in minutes
                    ],
                )
            self._system.execute("COMMIT")
        except Exception:
            self._system.execute("ROLLBACK")
            raise
