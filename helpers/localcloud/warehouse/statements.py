"""Data API statements: what ExecuteStatement and BatchExecuteStatement submit, and how they run.

A statement is SUBMITTED when the call returns, PICKED when the warehouse's worker takes it,
STARTED while its SQL runs, and ends FINISHED, FAILED (``Error`` holds the engine's ``ERROR: ...``)
or ABORTED (CancelStatement). A batch runs its SQL in order in one session: by default in one
transaction (ExecutionMode TRANSACTION: all or nothing; a failure rolls back the statements before
it and leaves the ones after it unrun), or each on its own (AUTO_COMMIT, stopping at the first
failure). Sub-statements have the batch's Id with ``:1``, ``:2``... Statement descriptions and
results are kept 24 hours, as the Data API keeps them, then forgotten.
https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from helpers.localcloud.warehouse.engine import QueryRecord, Warehouse, utcnow
from helpers.localcloud.warehouse.redaction import redact
from helpers.localcloud.warehouse.results import ResultPages
from helpers.localcloud.warehouse.sql_errors import SqlError, StatementCancelled
from helpers.localcloud.warehouse.translate import leading_words

RETENTION_SECONDS = 24 * 3600
ACTIVE = ("SUBMITTED", "PICKED", "STARTED")
DONE = ("FINISHED", "FAILED", "ABORTED")
HISTORY_STATUS = {"FINISHED": "success", "FAILED": "failed", "ABORTED": "canceled"}
CANCEL_PATIENCE_SECONDS = 30
USAGE_VIEW = "sys_serverless_usage"


def query_type_of(sql: str) -> str:
    """SYS_QUERY_HISTORY's query_type for a statement that failed before it could be classified."""
    try:
        words = leading_words(sql, 4)
    except Exception:
        return "OTHER"
    first = words[0] if words else ""
    if first in ("SELECT", "WITH", "VALUES"):
        return "SELECT"
    if first in ("INSERT", "UPDATE", "DELETE", "COPY", "UNLOAD"):
        return first
    if first == "CREATE" and "TABLE" in words and "AS" in words:
        return "CTAS"
    if first in ("CREATE", "DROP", "ALTER", "TRUNCATE", "COMMENT"):
        return "DDL"
    if first in ("SET", "SHOW", "RESET", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "VACUUM", "ANALYZE", "GRANT", "REVOKE"):
        return "UTILITY"
    return "OTHER"


@dataclass
class SubStatement:
    """One SQL statement: a whole ExecuteStatement, or one of a batch."""

    id: str
    sql: str
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    status: str = "SUBMITTED"
    error: str | None = None
    duration_ns: int = -1
    result_rows: int = -1
    result_size: int = -1
    has_result_set: bool = False
    query_id: int = 0
    result: ResultPages | None = None

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = time.time()

    def describe(self) -> dict:
        body = {
            "Id": self.id,
            "QueryString": self.sql,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Duration": self.duration_ns,
            "ResultRows": self.result_rows,
            "ResultSize": self.result_size,
            "HasResultSet": self.has_result_set,
            "RedshiftQueryId": self.query_id,
        }
        if self.error is not None:
            body["Error"] = self.error
        return body


@dataclass
class Statement:
    """What one ExecuteStatement or BatchExecuteStatement call submitted."""

    id: str
    subs: list[SubStatement]
    is_batch: bool
    region: str
    database: str
    db_user: str
    parameters: list[dict]  # the call's [{"name", "value"}]
    target_arn: str  # the workgroup or cluster, for events
    workgroup_name: str | None = None
    cluster_identifier: str | None = None
    secret_arn: str | None = None
    given_db_user: str | None = None  # DbUser as the caller gave it
    statement_name: str | None = None
    with_event: bool = False
    result_format: str = "JSON"
    execution_mode: str = "TRANSACTION"
    client_token: str | None = None
    connection_error: str | None = None  # why the session cannot log in (e.g. a wrong password)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    status: str = "SUBMITTED"
    error: str | None = None
    pid: int = field(default_factory=lambda: random.randint(1073741824, 1073807359))
    done: threading.Event = field(default_factory=threading.Event)
    cancel_requested: bool = False
    running: object | None = None  # the Session while its SQL runs

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    @property
    def queries(self) -> list[str]:
        return [sub.sql for sub in self.subs]

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = time.time()

    def expired(self, now: float) -> bool:
        return now - self.created_at > RETENTION_SECONDS

    def describe(self) -> dict:
        """DescribeStatement's answer for the statement's own Id."""
        common = {
            "Id": self.id,
            "Database": self.database,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Status": self.status,
            "RedshiftPid": self.pid,
            "ResultFormat": self.result_format,
        }
        common.update(self.target_fields())
        if self.parameters:
            common["QueryParameters"] = self.parameters
        if not self.is_batch:
            sub = self.subs[0].describe()
            sub.pop("CreatedAt")
            return {**sub, **common, "Status": self.status, "UpdatedAt": self.updated_at}
        # A batch reports no query or row counts of its own; they belong to its sub-statements.
        subs = [sub.describe() for sub in self.subs]
        durations = [sub.duration_ns for sub in self.subs if sub.duration_ns >= 0]
        body = {
            **common,
            "Duration": sum(durations) if self.status in DONE else -1,
            "HasResultSet": any(sub.has_result_set for sub in self.subs),
            "ResultRows": -1,
            "ResultSize": -1,
            "RedshiftQueryId": 0,
            "SubStatements": subs,
        }
        if self.error is not None:
            body["Error"] = self.error
        return body

    def target_fields(self) -> dict:
        """WorkgroupName or ClusterIdentifier, and SecretArn or DbUser, as the call gave them."""
        target = {
            "WorkgroupName": self.workgroup_name,
            "ClusterIdentifier": self.cluster_identifier,
            "SecretArn": self.secret_arn,
            "DbUser": self.given_db_user,
        }
        return {key: value for key, value in target.items() if value is not None}

    def summary(self) -> dict:
        """ListStatements' entry."""
        body = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "IsBatchStatement": self.is_batch,
            "ResultFormat": self.result_format,
        }
        if self.is_batch:
            body["QueryStrings"] = self.queries
        else:
            body["QueryString"] = self.subs[0].sql
        optional = {"SecretArn": self.secret_arn, "StatementName": self.statement_name}
        body.update({key: value for key, value in optional.items() if value is not None})
        if self.parameters:
            body["QueryParameters"] = self.parameters
        return body


class StatementStore:
    """Every statement of the last 24 hours, by Id (sub-statements by ``<Id>:<n>``)."""

    def __init__(self) -> None:
        self._statements: dict[str, Statement] = {}
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def _purge(self) -> None:
        now = time.time()
        for statement_id in [i for i, s in self._statements.items() if s.expired(now)]:
            statement = self._statements.pop(statement_id)
            if statement.client_token:
                self._tokens.pop(statement.client_token, None)

    def add(self, statement: Statement) -> None:
        with self._lock:
            self._purge()
            self._statements[statement.id] = statement
            if statement.client_token:
                self._tokens[statement.client_token] = statement.id

    def by_client_token(self, token: str) -> Statement | None:
        with self._lock:
            self._purge()
            statement_id = self._tokens.get(token)
            return self._statements.get(statement_id) if statement_id else None

    def find(self, statement_id: str) -> tuple[Statement, SubStatement | None] | None:
        """The statement and, for an Id with a ``:n`` suffix, its sub-statement."""
        base, _, suffix = statement_id.partition(":")
        with self._lock:
            self._purge()
            statement = self._statements.get(base)
        if statement is None:
            return None
        if not suffix:
            return statement, None
        sub = next((s for s in statement.subs if s.id == statement_id), None)
        return (statement, sub) if sub else None

    def all(self) -> list[Statement]:
        with self._lock:
            self._purge()
            return sorted(self._statements.values(), key=lambda s: s.created_at, reverse=True)

    def active_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._statements.values() if s.status in ACTIVE)


@dataclass(frozen=True)
class ExecutionContext:
    """What running a statement needs from its workgroup or cluster, read when it runs."""

    warehouse: Warehouse
    base_capacity: Callable[[], int | None]  # None for a provisioned cluster (no RPU billing)
    session_parameters: Callable[[], dict[str, str]]  # the workgroup's search_path and the like
    on_done: Callable[[Statement], None]


def cancel(statement: Statement) -> None:
    """Stop a statement that is waiting or running (the caller checked it is not done).

    DuckDB's interrupt only stops the query running at that moment, and the session runs short
    catalog queries around the user's SQL; so the interrupt is repeated until the statement ends.
    """
    statement.cancel_requested = True

    def keep_interrupting() -> None:
        deadline = time.monotonic() + CANCEL_PATIENCE_SECONDS
        while not statement.done.is_set() and time.monotonic() < deadline:
            session = statement.running
            if session is not None:
                session.interrupt()
            statement.done.wait(0.05)

    threading.Thread(target=keep_interrupting, name=f"cancel-{statement.id}", daemon=True).start()


def execute(statement: Statement, context: ExecutionContext) -> None:
    """Run a submitted statement to its end (on the warehouse's worker thread)."""
    if statement.cancel_requested:
        _finish(statement, "ABORTED", None, context)
        return
    statement.set_status("PICKED")
    warehouse = context.warehouse
    if any(USAGE_VIEW in sub.sql.lower() for sub in statement.subs):
        warehouse.refresh_usage()
    submitted = dt.datetime.fromtimestamp(statement.created_at, dt.timezone.utc).replace(tzinfo=None)
    try:
        if statement.connection_error:
            raise SqlError(statement.connection_error)
        session = warehouse.open_session(statement.database, statement.db_user, statement.pid, context.session_parameters())
    except SqlError as error:
        for sub in statement.subs:
            sub.error = error.message
            sub.set_status("FAILED")
        _finish(statement, "FAILED", error.message, context)
        return
    statement.running = session
    values = {p["name"]: p["value"] for p in statement.parameters}
    transaction = statement.is_batch and statement.execution_mode == "TRANSACTION"
    outcome_status, outcome_error = "FINISHED", None
    transaction_id = warehouse.next_transaction_id()
    try:
        statement.set_status("STARTED")
        if transaction:
            session.begin()
        for index, sub in enumerate(statement.subs):
            if statement.cancel_requested:
                raise StatementCancelled()
            status, error = _run_one(sub, session, values, statement, transaction_id, submitted, context)
            if status != "FINISHED":
                outcome_status, outcome_error = status, error
                for later in statement.subs[index + 1 :]:
                    later.set_status("ABORTED")
                break
        if outcome_status == "FINISHED" and transaction:
            try:
                session.commit()
            except SqlError as error:
                outcome_status, outcome_error = "FAILED", error.message
        elif transaction:
            session.rollback()
    except StatementCancelled:
        outcome_status, outcome_error = "ABORTED", None
        for sub in statement.subs:
            if sub.status not in DONE:
                sub.set_status("ABORTED")
    finally:
        statement.running = None
        session.close()
    _finish(statement, outcome_status, outcome_error, context)


def _run_one(
    sub: SubStatement,
    session,
    values: dict[str, str],
    statement: Statement,
    transaction_id: int,
    submitted: dt.datetime,
    context: ExecutionContext,
) -> tuple[str, str | None]:
    warehouse = context.warehouse
    sub.query_id = warehouse.next_query_id()
    sub.set_status("STARTED")
    start = utcnow()
    started = time.perf_counter_ns()
    status, error, outcome = "FINISHED", None, None
    try:
        outcome = session.run(sub.sql, values)
    except SqlError as failure:
        status, error = "FAILED", failure.message
    except StatementCancelled:
        status = "ABORTED"
    sub.duration_ns = time.perf_counter_ns() - started
    end = utcnow()
    if outcome is not None:
        sub.has_result_set = outcome.has_result_set
        sub.result_rows = outcome.result_rows
        sub.result_size = outcome.result_bytes
        if outcome.has_result_set:
            sub.result = ResultPages(outcome.columns, outcome.table)
    sub.error = error
    warehouse.record_query(
        QueryRecord(
            query_id=sub.query_id,
            statement_id=sub.id,
            user_name=statement.db_user,
            transaction_id=transaction_id,
            session_id=statement.pid,
            database=statement.database,
            query_type=outcome.query_type if outcome else query_type_of(sub.sql),
            status=HISTORY_STATUS[status],
            submitted=submitted,
            start=start,
            end=end,
            error=error,
            returned_rows=max(sub.result_rows, 0),
            returned_bytes=max(sub.result_size, 0),
            query_text=redact(sub.sql),
            billable=bool(outcome and outcome.billable),
            base_capacity=context.base_capacity(),
        )
    )
    sub.set_status(status)
    if status == "ABORTED":
        raise StatementCancelled()
    return status, error


def _finish(statement: Statement, status: str, error: str | None, context: ExecutionContext) -> None:
    statement.error = error
    statement.set_status(status)
    statement.done.set()
    context.on_done(statement)
