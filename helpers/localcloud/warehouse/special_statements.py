"""Statements the warehouse runs itself instead of translating them for DuckDB: the seam.

Some Redshift statements have no DuckDB counterpart (COPY from S3, CREATE USER, GRANT, VACUUM,
SET search_path...). Each is recognised by its leading words and given to a *handler*:

    from helpers.localcloud.warehouse import special_statements

    def copy_from_s3(session, statement):            # session: session.Session
        ...                                          # statement.sql, statement.words, statement.tokens
        return StatementOutcome(query_type="COPY", billable=True, rows_affected=rows)

    special_statements.register("COPY", copy_from_s3)

A handler reads the statement (``statement.tokens`` are sqlglot's Redshift tokens), does its work
through the session (``session.execute(duckdb_sql, parameters)`` on the session's DuckDB cursor,
inside its transaction; ``session.catalog().resolve(schema, name)`` and
``session.columns(relation)`` for the target table and its Redshift column types;
``session.context`` and ``session.region`` to reach other local services such as S3 through
``context.backend("s3", region)`` or boto3 at ``context.endpoint_url``), and returns a
``StatementOutcome``, or raises ``SqlError("ERROR: ...")``: the Data API shows it as the statement's
Error. The longest registered prefix wins, so a more specific handler ("CREATE USER") is found
before a general one. A module that registers handlers is listed in ``EXTENSION_MODULES`` so that
it is imported before the first statement runs. The built-in handlers are below; COPY and UNLOAD
are registered as "not supported" until a module replaces them.
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import pyarrow as pa
from sqlglot.tokens import Token, TokenType

from helpers.localcloud.warehouse.redshift_types import RedshiftType
from helpers.localcloud.warehouse.results import ResultColumn, StatementOutcome
from helpers.localcloud.warehouse.sql_errors import SqlError

if TYPE_CHECKING:
    from helpers.localcloud.warehouse.session import Session

# Modules that register handlers when imported (for example the COPY from S3 support).
EXTENSION_MODULES: tuple[str, ...] = ("helpers.localcloud.warehouse.copy_from_s3",)


@dataclass(frozen=True)
class SpecialStatement:
    sql: str
    tokens: list[Token]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(token.text.upper() for token in self.tokens)


Handler = Callable[["Session", SpecialStatement], StatementOutcome]

_handlers: dict[tuple[str, ...], Handler] = {}
_extensions_loaded = False
_lock = threading.Lock()


def register(leading_words: str, handler: Handler) -> None:
    """Give statements starting with ``leading_words`` (e.g. "CREATE USER") to ``handler``."""
    _handlers[tuple(leading_words.upper().split())] = handler


def find(tokens: list[Token]) -> Handler | None:
    """The handler for a statement, by the longest registered prefix of its words."""
    global _extensions_loaded
    with _lock:
        if not _extensions_loaded:
            for module in EXTENSION_MODULES:
                importlib.import_module(module)
            _extensions_loaded = True
    words = tuple(token.text.upper() for token in tokens[:4])
    for length in range(len(words), 0, -1):
        handler = _handlers.get(words[:length])
        if handler:
            return handler
    return None


def _utility(query_type: str = "UTILITY") -> StatementOutcome:
    return StatementOutcome(query_type=query_type, billable=False)


# --- SET, RESET, SHOW: session parameters -------------------------------------------------------
# https://docs.aws.amazon.com/redshift/latest/dg/r_SET.html
# search_path and enable_case_sensitive_identifier change how later statements of the session
# resolve names; the other parameters are kept (SHOW returns them) without further effect.


def _set(session: Session, statement: SpecialStatement) -> StatementOutcome:
    tokens = statement.tokens[1:]
    if tokens and tokens[0].text.upper() in ("SESSION", "LOCAL"):
        if len(tokens) > 1 and tokens[1].text.upper() == "AUTHORIZATION":
            raise SqlError("ERROR: SET SESSION AUTHORIZATION is not supported by the local warehouse")
        tokens = tokens[1:]
    if len(tokens) < 3 or tokens[1].text.upper() not in ("TO", "="):
        raise SqlError(f'ERROR: syntax error at or near "{tokens[1].text if len(tokens) > 1 else "SET"}"')
    name = tokens[0].text.lower()
    values = [token.text for token in tokens[2:] if token.token_type != TokenType.COMMA]
    if len(values) == 1 and values[0].upper() == "DEFAULT":
        session.reset_parameter(name)
    else:
        session.set_parameter(name, values)
    return _utility()


def _reset(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if len(statement.tokens) != 2:
        raise SqlError("ERROR: RESET takes one parameter name or ALL")
    name = statement.tokens[1].text.lower()
    if name == "all":
        session.reset_all_parameters()
    else:
        session.reset_parameter(name)
    return _utility()


def _show(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if len(statement.tokens) != 2:
        raise SqlError("ERROR: SHOW takes one parameter name")
    name = statement.tokens[1].text.lower()
    value = session.show_parameter(name)
    table = pa.table({name: pa.array([value], pa.string())})
    return StatementOutcome(
        query_type="UTILITY",
        billable=False,
        columns=[ResultColumn(name, RedshiftType("varchar", length=len(value) or 1))],
        table=table,
    )


# --- Users, groups, roles, privileges ------------------------------------------------------------
# The local warehouse has no access control: users are recorded (SYS_QUERY_HISTORY shows their
# user_id); groups, roles and privileges are accepted and not enforced. Passwords are not stored.

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$.@+-]*$")


def _user_name(statement: SpecialStatement, position: int) -> str:
    if len(statement.tokens) <= position:
        raise SqlError("ERROR: a user name is required")
    name = statement.tokens[position].text
    if not _NAME.match(name):
        raise SqlError(f'ERROR: syntax error at or near "{name}"')
    return name.lower()


def _create_user(session: Session, statement: SpecialStatement) -> StatementOutcome:
    name = _user_name(statement, 2)
    if session.warehouse.user_id(name) is not None:
        raise SqlError(f'ERROR: user "{name}" already exists')
    superuser = "CREATEUSER" in statement.words
    session.warehouse.add_user(name, superuser=superuser)
    return _utility("DDL")


def _alter_user(session: Session, statement: SpecialStatement) -> StatementOutcome:
    name = _user_name(statement, 2)
    if session.warehouse.user_id(name) is None:
        raise SqlError(f'ERROR: user "{name}" does not exist')
    return _utility("DDL")


def _drop_user(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if_exists = statement.words[2:4] == ("IF", "EXISTS")
    name = _user_name(statement, 4 if if_exists else 2)
    if session.warehouse.user_id(name) is None:
        if if_exists:
            return _utility("DDL")
        raise SqlError(f'ERROR: user "{name}" does not exist')
    if name == session.user:
        raise SqlError("ERROR: current user cannot be dropped")
    session.warehouse.drop_user(name)
    return _utility("DDL")


def _accepted(query_type: str) -> Handler:
    def handler(session: Session, statement: SpecialStatement) -> StatementOutcome:
        return _utility(query_type)

    return handler


# --- VACUUM, ANALYZE -----------------------------------------------------------------------------
# DuckDB keeps no unsorted region or stale statistics to maintain, so both are no-ops; VACUUM keeps
# Redshift's rule that it cannot run inside a transaction block.


def _vacuum(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if session.in_transaction:
        raise SqlError("ERROR: VACUUM cannot run inside a transaction block")
    return _utility()


def _analyze(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if "COMPRESSION" in statement.words:
        raise SqlError("ERROR: ANALYZE COMPRESSION is not supported by the local warehouse")
    return _utility()


# --- CREATE DATABASE, DROP DATABASE --------------------------------------------------------------


def _database_name(statement: SpecialStatement, position: int) -> str:
    if len(statement.tokens) <= position:
        raise SqlError("ERROR: a database name is required")
    return statement.tokens[position].text.lower()


def _create_database(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if session.in_transaction:
        raise SqlError("ERROR: CREATE DATABASE cannot run inside a transaction block")
    name = _database_name(statement, 2)
    if len(statement.tokens) > 3:
        raise SqlError("ERROR: CREATE DATABASE options are not supported by the local warehouse")
    session.warehouse.create_database(name)
    return _utility("DDL")


def _drop_database(session: Session, statement: SpecialStatement) -> StatementOutcome:
    if session.in_transaction:
        raise SqlError("ERROR: DROP DATABASE cannot run inside a transaction block")
    if_exists = statement.words[2:4] == ("IF", "EXISTS")
    name = _database_name(statement, 4 if if_exists else 2)
    if name == session.database:
        raise SqlError("ERROR: cannot drop the currently open database")
    if name not in session.warehouse.databases():
        if if_exists:
            return _utility("DDL")
        raise SqlError(f'ERROR: database "{name}" does not exist')
    session.warehouse.drop_database(name)
    return _utility("DDL")


# --- Transaction control -------------------------------------------------------------------------
# PostgreSQL rules: BEGIN inside a transaction and COMMIT outside one only warn.


def _begin(session: Session, statement: SpecialStatement) -> StatementOutcome:
    session.begin()
    return _utility()


def _commit(session: Session, statement: SpecialStatement) -> StatementOutcome:
    session.commit()
    return _utility()


def _rollback(session: Session, statement: SpecialStatement) -> StatementOutcome:
    session.rollback()
    return _utility()


def _not_supported(what: str) -> Handler:
    def handler(session: Session, statement: SpecialStatement) -> StatementOutcome:
        raise SqlError(f"ERROR: {what} is not supported by the local warehouse")

    return handler


for _words, _handler in {
    "SET": _set,
    "RESET": _reset,
    "SHOW": _show,
    "CREATE USER": _create_user,
    "ALTER USER": _alter_user,
    "DROP USER": _drop_user,
    "CREATE GROUP": _accepted("DDL"),
    "ALTER GROUP": _accepted("DDL"),
    "DROP GROUP": _accepted("DDL"),
    "CREATE ROLE": _accepted("DDL"),
    "DROP ROLE": _accepted("DDL"),
    "GRANT": _accepted("UTILITY"),
    "REVOKE": _accepted("UTILITY"),
    "ALTER DEFAULT PRIVILEGES": _accepted("UTILITY"),
    "VACUUM": _vacuum,
    "ANALYZE": _analyze,
    "CREATE DATABASE": _create_database,
    "DROP DATABASE": _drop_database,
    "BEGIN": _begin,
    "START TRANSACTION": _begin,
    "COMMIT": _commit,
    "END": _commit,
    "ROLLBACK": _rollback,
    "ABORT": _rollback,
    "COPY": _not_supported("COPY (loading from S3)"),
    "UNLOAD": _not_supported("UNLOAD"),
}.items():
    register(_words, _handler)
