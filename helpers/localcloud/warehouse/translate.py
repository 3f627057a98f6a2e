"""One Redshift statement into the DuckDB SQL that does the same, with sqlglot.

``sqlglot`` transpiles the dialect (functions, casts, operators); this module adds what a
transpiler cannot know without the warehouse's catalog or Redshift's own rules:

* Redshift's table attributes (DISTSTYLE, DISTKEY, SORTKEY, ENCODE, BACKUP) are accepted, checked
  and returned as a ``TableDefinition`` for the catalog (SVV_TABLE_INFO shows them); DuckDB gets
  the table without them. ``IDENTITY(seed, step)`` becomes a sequence and a column default;
  PRIMARY KEY, UNIQUE and FOREIGN KEY are informational in Redshift (not enforced), so they are
  recorded and not created; ``VARCHAR(n)``/``CHAR(n)`` lengths, which DuckDB ignores, are enforced
  with a CHECK so that a long value fails as in Redshift.
* Identifiers are folded to lower case, quoted ones too, as Redshift does unless the workgroup
  sets ``enable_case_sensitive_identifier``.
* The system views (SYS_QUERY_HISTORY...) resolve before user tables, as pg_catalog does.
* ``GETDATE()`` is a TIMESTAMP truncated to the second, SYSDATE a TIMESTAMP in UTC; one-argument
  ``TRUNC`` of a date or timestamp is a DATE and ``AVG`` of an integer a truncated BIGINT (the
  argument's type is looked up in the catalog); ``DATEPART(hour, x)``; ``LISTAGG(DISTINCT x, ',')``;
  ``RATIO_TO_REPORT``; ``SELECT ... INTO t``; ``/`` between integers divides as integers (set on
  the DuckDB connection); CURRENT_USER is the session's database user.
* Output columns of unnamed expressions get PostgreSQL's names (``count``, ``sum``, ``?column?``).

Anything sqlglot cannot parse, parses only as an opaque command, or cannot generate for DuckDB
raises ``TranslationError`` with a message naming the construct: nothing is dropped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema
from sqlglot.tokens import Token, TokenType

from helpers.localcloud.warehouse import redshift_types, similar_to
from helpers.localcloud.warehouse.dialect import (
    ColumnDistKey,
    ColumnSortKey,
    GetDate,
    TableEncode,
    TableSortKey,
    WarehouseRedshift,
)
from helpers.localcloud.warehouse.system_views import SYSTEM_CATALOG, SYSTEM_SCHEMA, SYSTEM_VIEWS

DIALECT = WarehouseRedshift
# sqlglot logs a warning before falling back to an opaque command; translate() raises instead.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
MULTIPLE_STATEMENTS = "ERROR: cannot insert multiple commands into a prepared statement"
MAX_INTERLEAVED_SORTKEY_COLUMNS = 8  # CREATE TABLE: "you can specify a maximum of 8 columns"
MAX_COMPOUND_SORTKEY_COLUMNS = 400
TEMPORAL = {
    exp.DType.DATE,
    exp.DType.TIMESTAMP,
    exp.DType.TIMESTAMPNTZ,
    exp.DType.TIMESTAMPTZ,
    exp.DType.TIMESTAMPLTZ,
    exp.DType.DATETIME,
}


INTEGERS = {exp.DType.TINYINT, exp.DType.SMALLINT, exp.DType.INT, exp.DType.BIGINT}
# Functions whose translation depends on the type of their first argument.
TYPE_DEPENDENT = (exp.Trunc, exp.TimeToStr, exp.Avg)


class TranslationError(Exception):
    """The statement cannot run; ``message`` is shaped like Redshift's (``ERROR: ...``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RelationName:
    database: str
    schema: str
    name: str


class Catalog(Protocol):
    """What translation needs to know about the warehouse it translates for."""

    database: str
    user: str  # the session's database user (CURRENT_USER)

    def resolve(self, schema: str | None, name: str) -> RelationName | None:
        """An existing table or view; ``schema`` None means along the search path."""

    def creation_schema(self) -> str:
        """Where an unqualified CREATE puts its relation: the first schema of the search path."""

    def column_types(self, relation: RelationName) -> dict[str, str]:
        """The DuckDB types of a relation's columns."""


@dataclass(frozen=True)
class ColumnDefinition:
    name: str
    type: redshift_types.RedshiftType
    encoding: str | None
    identity: tuple[int, int] | None  # (seed, step)
    not_null: bool


@dataclass(frozen=True)
class TableDefinition:
    relation: RelationName
    temporary: bool
    columns: tuple[ColumnDefinition, ...]  # empty for CREATE TABLE AS: the result decides
    diststyle: str  # AUTO, EVEN, KEY or ALL
    distkey: str | None
    sortkey: tuple[str, ...]
    sortkey_style: str | None  # COMPOUND, INTERLEAVED or AUTO; None when not given
    backup: bool
    constraints: tuple[str, ...]  # informational PRIMARY KEY / UNIQUE / FOREIGN KEY, as written


@dataclass(frozen=True)
class Translation:
    statements: tuple[str, ...]  # DuckDB SQL, run in order and atomically
    query_type: str  # SYS_QUERY_HISTORY.query_type: SELECT, INSERT, UPDATE, DELETE, DDL, CTAS, UTILITY, OTHER
    returns_rows: bool
    table: TableDefinition | None  # CREATE TABLE: what the catalog records
    dropped: tuple[RelationName, ...]  # DROP TABLE: what the catalog forgets
    renamed: tuple[RelationName, str] | None  # ALTER TABLE ... RENAME TO: the table and its new name
    user_relations: frozenset[str]  # tables and views of the user's schemas it touches
    parameters: tuple[str, ...]  # the :name placeholders it uses


def identity_sequence_name(table: str, column: str) -> str:
    return f"{table}_{column}_identity_seq"


def tokenize(sql: str) -> list[Token]:
    try:
        return DIALECT().tokenize(sql)
    except TokenError as error:
        raise TranslationError(f"ERROR: syntax error: {error}") from error


def leading_words(sql: str, count: int = 3) -> tuple[str, ...]:
    """The first words of a statement, upper case (to recognise special statements)."""
    return tuple(token.text.upper() for token in tokenize(sql)[:count])


def placeholder_names(sql: str) -> list[str]:
    """The ``:name`` parameters a statement uses, in order of first use."""
    tokens = tokenize(sql)
    names: list[str] = []
    for index, token in enumerate(tokens[:-1]):
        if token.token_type != TokenType.COLON:
            continue
        following = tokens[index + 1]
        previous = tokens[index - 1] if index else None
        glued_before = previous is not None and previous.end + 1 == token.start and previous.token_type in (
            TokenType.VAR,
            TokenType.NUMBER,
            TokenType.STRING,
            TokenType.R_PAREN,
            TokenType.R_BRACKET,
        )
        if following.start == token.end + 1 and following.text.replace("_", "a").isalnum() and not glued_before:
            if following.text not in names:
                names.append(following.text)
    return names


def _syntax_message(error: ParseError, sql: str) -> str:
    details = error.errors[0] if error.errors else {}
    near = (details.get("highlight") or "").strip()
    if near:
        return f'ERROR: syntax error at or near "{near}"'
    return "ERROR: syntax error at end of input" if details else f"ERROR: syntax error in {sql[:60]!r}"


def parse(sql: str) -> exp.Expression:
    """The one statement of ``sql``, parsed as Redshift."""
    try:
        trees = [tree for tree in sqlglot.parse(sql, dialect=DIALECT) if tree is not None]
    except ParseError as error:
        raise TranslationError(_syntax_message(error, sql)) from error
    except TokenError as error:
        raise TranslationError(f"ERROR: syntax error: {error}") from error
    if not trees:
        raise TranslationError("ERROR: the statement is empty")
    if len(trees) > 1:
        raise TranslationError(MULTIPLE_STATEMENTS)
    tree = trees[0]
    if isinstance(tree, exp.Command):
        words = " ".join(sql.split()[:3]).upper()
        raise TranslationError(f"ERROR: {words} ... is not supported by the local warehouse (DuckDB)")
    return tree


def translate(sql: str, catalog: Catalog, case_sensitive: bool = False) -> Translation:
    """DuckDB SQL for one Redshift statement."""
    tree = parse(sql)
    # Redshift folds every identifier to lower case unless enable_case_sensitive_identifier is on;
    # then it behaves as PostgreSQL (quoted identifiers keep their case).
    tree = normalize_identifiers(tree, dialect="postgres" if case_sensitive else "redshift")
    statements: list[str] = []
    table = None
    if isinstance(tree, exp.Select) and tree.args.get("into"):
        tree = _select_into_as_create(tree)
    if isinstance(tree, exp.Create) and tree.kind == "TABLE":
        table, sequences = _table_definition(tree, catalog)
        statements.extend(sequences)
    dropped = _dropped_tables(tree, catalog)
    renamed = _renamed_table(tree, catalog)
    user_relations = _resolve_relations(tree)
    _name_output_columns(tree, sql)
    _rewrite_functions(tree, catalog)
    try:
        statements.append(tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE))
    except UnsupportedError as error:
        raise TranslationError(f"ERROR: not supported by the local warehouse (DuckDB): {error}") from error
    query_type, returns_rows = _query_type(tree)
    parameters = tuple(dict.fromkeys(p.name for p in tree.find_all(exp.Placeholder)))
    return Translation(
        statements=tuple(statements),
        query_type=query_type,
        returns_rows=returns_rows,
        table=table,
        dropped=dropped,
        renamed=renamed,
        user_relations=frozenset(user_relations),
        parameters=parameters,
    )


def _select_into_as_create(select: exp.Select) -> exp.Create:
    """``SELECT ... INTO [TEMP] t FROM ...`` is CREATE TABLE t AS SELECT ... in Redshift."""
    into = select.args["into"]
    select.set("into", None)
    properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if into.args.get("temporary") else None
    return exp.Create(this=into.this, kind="TABLE", expression=select, properties=properties)


def _query_type(tree: exp.Expression) -> tuple[str, bool]:
    if isinstance(tree, (exp.Select, exp.SetOperation, exp.Values)):
        return "SELECT", True
    simple = {exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE"}
    for kind, name in simple.items():
        if isinstance(tree, kind):
            return name, False
    if isinstance(tree, exp.Create):
        return ("CTAS" if tree.kind == "TABLE" and tree.expression else "DDL"), False
    if isinstance(tree, (exp.Drop, exp.Alter, exp.TruncateTable, exp.Comment)):
        return "DDL", False
    if isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback)):
        return "UTILITY", False
    return "OTHER", False


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name for cte in tree.find_all(exp.CTE)}


def _named_tables(tree: exp.Expression) -> list[exp.Table]:
    ctes = _cte_names(tree)
    return [
        table
        for table in tree.find_all(exp.Table)
        if isinstance(table.this, exp.Identifier) and not (not table.db and table.name in ctes)
    ]


def _resolve_relations(tree: exp.Expression) -> set[str]:
    """Point system view names at the system catalog; return the user relations touched."""
    user = set()
    for table in _named_tables(tree):
        if table.name in SYSTEM_VIEWS and not table.catalog and table.db in ("", "pg_catalog"):
            table.set("db", exp.to_identifier(SYSTEM_SCHEMA))
            table.set("catalog", exp.to_identifier(SYSTEM_CATALOG))
        elif table.db not in ("information_schema", "pg_catalog") and table.catalog != SYSTEM_CATALOG:
            user.add(".".join(part for part in (table.catalog, table.db, table.name) if part))
    return user


def _dropped_tables(tree: exp.Expression, catalog: Catalog) -> tuple[RelationName, ...]:
    if not (isinstance(tree, exp.Drop) and tree.kind == "TABLE"):
        return ()
    targets = tree.args.get("tables") or [tree.this]
    dropped = []
    for target in targets:
        if isinstance(target, exp.Table):
            relation = catalog.resolve(target.db or None, target.name)
            if relation:
                dropped.append(relation)
    return tuple(dropped)


def _renamed_table(tree: exp.Expression, catalog: Catalog) -> tuple[RelationName, str] | None:
    if not (isinstance(tree, exp.Alter) and tree.kind == "TABLE"):
        return None
    renames = [action for action in tree.args.get("actions") or [] if isinstance(action, exp.AlterRename)]
    relation = catalog.resolve(tree.this.db or None, tree.this.name) if renames else None
    return (relation, renames[0].this.name) if relation else None


def _table_definition(create: exp.Create, catalog: Catalog) -> tuple[TableDefinition, list[str]]:
    """Read and remove Redshift's table attributes; return the catalog's record and the sequences."""
    properties = create.args.get("properties")
    property_list = list(properties.expressions) if properties else []
    temporary = any(isinstance(p, exp.TemporaryProperty) for p in property_list)
    target = create.this.this if isinstance(create.this, exp.Schema) else create.this
    if temporary:
        relation = RelationName("temp", "main", target.name)
    else:
        schema = target.db or catalog.creation_schema()
        database = target.catalog or catalog.database
        if database != catalog.database:
            raise TranslationError(f'ERROR: cannot create a table in database "{database}" while connected to "{catalog.database}"')
        target.set("db", exp.to_identifier(schema))
        target.set("catalog", exp.to_identifier(database))
        relation = RelationName(database, schema, target.name)

    diststyle, distkey, sortkey, sortkey_style, backup = None, None, [], None, True
    for prop in property_list:
        if isinstance(prop, exp.DistStyleProperty):
            diststyle = prop.this.name.upper()
        elif isinstance(prop, exp.DistKeyProperty):
            distkey = prop.this.name
        elif isinstance(prop, TableSortKey):
            sortkey_style = prop.args["style"]
            sortkey = [identifier.name for identifier in prop.this or []]
        elif isinstance(prop, exp.BackupProperty):
            backup = prop.this.name.upper() != "NO"
        elif not isinstance(prop, TableEncode):
            continue
        prop.pop()

    columns: list[ColumnDefinition] = []
    constraints: list[str] = []
    sequences: list[str] = []
    if isinstance(create.this, exp.Schema):
        for element in list(create.this.expressions):
            if isinstance(element, (exp.PrimaryKey, exp.UniqueColumnConstraint, exp.ForeignKey)):
                constraints.append(element.sql(dialect="redshift"))
                element.pop()
            elif isinstance(element, exp.ColumnDef):
                column, column_distkey, column_sortkey, sequence = _column_definition(element, relation, create)
                columns.append(column)
                if column_distkey:
                    if distkey and distkey != column.name:
                        raise TranslationError("ERROR: multiple DISTKEY specifications are not allowed")
                    distkey = column.name
                if column_sortkey:
                    if sortkey_style:
                        raise TranslationError("ERROR: multiple SORTKEY specifications are not allowed")
                    sortkey = [column.name]
                    sortkey_style = "COMPOUND"
                if sequence:
                    sequences.append(sequence)
                constraints.extend(
                    f"{kind} ({column.name})"
                    for kind in ("PRIMARY KEY", "UNIQUE")
                    if kind in element.meta.get("informational", ())
                )

    names = {c.name for c in columns}
    if names:
        for name in [distkey, *sortkey]:
            if name and name not in names:
                raise TranslationError(f'ERROR: column "{name}" named in a DISTKEY or SORTKEY does not exist')
    if diststyle not in (None, "AUTO", "EVEN", "KEY", "ALL"):
        raise TranslationError(f"ERROR: DISTSTYLE {diststyle} is not one of AUTO, EVEN, KEY, ALL")
    if distkey and diststyle not in (None, "KEY"):
        raise TranslationError(f"ERROR: DISTSTYLE {diststyle} cannot have a DISTKEY")
    if diststyle == "KEY" and not distkey:
        raise TranslationError("ERROR: DISTSTYLE KEY requires a DISTKEY")
    if sortkey_style == "INTERLEAVED" and len(sortkey) > MAX_INTERLEAVED_SORTKEY_COLUMNS:
        raise TranslationError(f"ERROR: an INTERLEAVED SORTKEY has at most {MAX_INTERLEAVED_SORTKEY_COLUMNS} columns")
    if len(sortkey) > MAX_COMPOUND_SORTKEY_COLUMNS:
        raise TranslationError(f"ERROR: a SORTKEY has at most {MAX_COMPOUND_SORTKEY_COLUMNS} columns")

    definition = TableDefinition(
        relation=relation,
        temporary=temporary,
        columns=tuple(columns),
        diststyle="KEY" if distkey else (diststyle or "AUTO"),
        distkey=distkey,
        sortkey=tuple(sortkey),
        sortkey_style=sortkey_style,
        backup=backup,
        constraints=tuple(constraints),
    )
    return definition, sequences


def _column_definition(
    element: exp.ColumnDef, relation: RelationName, create: exp.Create
) -> tuple[ColumnDefinition, bool, bool, str | None]:
    name = element.name
    try:
        rtype = redshift_types.from_declared(element.args["kind"])
    except redshift_types.UnsupportedType as error:
        raise TranslationError(f"ERROR: {error}") from error
    encoding, identity, is_distkey, is_sortkey, not_null = None, None, False, False, False
    informational = []
    for constraint in list(element.constraints):
        kind = constraint.kind
        if isinstance(kind, ColumnDistKey):
            is_distkey = True
        elif isinstance(kind, ColumnSortKey):
            is_sortkey = True
        elif isinstance(kind, exp.EncodeColumnConstraint):
            encoding = kind.name.lower()
        elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
            if rtype.name not in ("int4", "int8"):
                raise TranslationError(f'ERROR: IDENTITY column "{name}" must be INT or BIGINT')
            seed = int(kind.args["start"].name) if kind.args.get("start") else 1
            step = int(kind.args["increment"].name) if kind.args.get("increment") else 1
            identity = (seed, step)
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            informational.append("PRIMARY KEY")
        elif isinstance(kind, exp.UniqueColumnConstraint):
            informational.append("UNIQUE")
        elif isinstance(kind, exp.Reference):
            informational.append("REFERENCES")
        else:
            if isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get("allow_null"):
                not_null = True
            continue
        constraint.pop()
    element.meta["informational"] = tuple(informational)
    element.set("kind", exp.DataType.build(rtype.duckdb_type, dialect="duckdb"))
    if rtype.name in redshift_types.CHARACTER_TYPES:
        # DuckDB ignores VARCHAR lengths; Redshift rejects a longer value (lengths are in bytes).
        check = sqlglot.parse_one(f'strlen("{name}") <= {rtype.length}', dialect="duckdb")
        element.append("constraints", exp.ColumnConstraint(kind=exp.CheckColumnConstraint(this=check)))
    sequence = None
    if identity:
        seed, step = identity
        sequence_name = identity_sequence_name(relation.name, name)
        if relation.database == "temp":
            qualified = sequence_name
            sequence = f'CREATE TEMPORARY SEQUENCE IF NOT EXISTS "{sequence_name}" START WITH {seed} INCREMENT BY {step}'
        else:
            qualified = f"{relation.database}.{relation.schema}.{sequence_name}"
            sequence = (
                f'CREATE SEQUENCE IF NOT EXISTS "{relation.database}"."{relation.schema}"."{sequence_name}" '
                f"START WITH {seed} INCREMENT BY {step}"
            )
        default = exp.DefaultColumnConstraint(this=exp.func("nextval", exp.Literal.string(qualified)))
        element.append("constraints", exp.ColumnConstraint(kind=default))
    column = ColumnDefinition(name=name, type=rtype, encoding=encoding, identity=identity, not_null=not_null)
    return column, is_distkey, is_sortkey, sequence


def _now() -> exp.Expression:
    # A function call, not DuckDB's bare CURRENT_TIMESTAMP keyword: DuckDB lets a select item refer
    # to an earlier item's alias, so the keyword next to a column named "current_timestamp" would
    # bind to that column.
    return exp.Anonymous(this="now", expressions=[])


def _in_utc(value: exp.Expression) -> exp.Expression:
    return exp.cast(exp.AtTimeZone(this=value, zone=exp.Literal.string("UTC")), exp.DType.TIMESTAMP)


def _rewrite_functions(tree: exp.Expression, catalog: Catalog) -> None:
    for node in list(tree.find_all(exp.CurrentUser, exp.SessionUser)):
        node.replace(exp.cast(exp.Literal.string(catalog.user), exp.DType.VARCHAR))
    for node in list(tree.find_all(GetDate, exp.CurrentTimestamp, exp.CurrentDate)):
        if isinstance(node, GetDate):
            # GETDATE: the current TIMESTAMP (UTC, the session time zone) without fractional seconds.
            seconds = exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string("second"), _in_utc(_now())])
            node.replace(exp.cast(seconds, exp.DType.TIMESTAMP))
        elif isinstance(node, exp.CurrentDate):
            node.replace(exp.Anonymous(this="today", expressions=[]))
        elif node.args.get("sysdate"):
            node.replace(_in_utc(_now()))
        else:
            node.replace(_now())
    for node in tree.find_all(exp.GroupConcat):
        # LISTAGG(DISTINCT x, ',') parses as DISTINCT over (x, ','): the delimiter is not a value.
        distinct = node.this
        if isinstance(distinct, exp.Distinct) and len(distinct.expressions) == 2 and not node.args.get("separator"):
            value, separator = distinct.expressions
            node.set("this", exp.Distinct(expressions=[value.copy()]))
            node.set("separator", separator.copy())
    for window in list(tree.find_all(exp.Window)):
        function = window.this
        if isinstance(function, exp.Anonymous) and function.name.upper() == "RATIO_TO_REPORT" and len(function.expressions) == 1:
            # RATIO_TO_REPORT(x) OVER (PARTITION BY p): x over the sum of x in its partition.
            value = function.expressions[0]
            total = exp.Window(this=exp.Sum(this=value.copy()), partition_by=[p.copy() for p in window.args.get("partition_by") or []])
            window.replace(exp.Div(this=exp.cast(value.copy(), exp.DType.DOUBLE), expression=total))
    for node in list(tree.find_all(exp.SimilarTo)):
        _rewrite_similar_to(node)
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.upper() == "DATEPART" and len(node.expressions) == 2:
            part, value = node.expressions
            unit = part.name if isinstance(part, (exp.Column, exp.Literal, exp.Var)) else part.sql()
            node.replace(exp.Extract(this=exp.var(unit.upper()), expression=value.copy()))
    typed = [
        node
        for node in tree.find_all(*TYPE_DEPENDENT)
        if not (isinstance(node, exp.Trunc) and node.args.get("decimals"))
    ]
    if not typed:
        return
    types = _argument_types(tree, typed, catalog)
    for index, node in enumerate(typed):
        arg_type = types.get(index)
        if arg_type is None:
            continue
        if isinstance(node, exp.Trunc) and arg_type in TEMPORAL:
            # TRUNC(timestamp) is Redshift's date part of a timestamp.
            node.replace(exp.cast(node.this.copy(), exp.DType.DATE))
        elif isinstance(node, exp.TimeToStr) and arg_type not in TEMPORAL and arg_type != exp.DType.UNKNOWN:
            raise TranslationError(
                "ERROR: TO_CHAR with a numeric argument (number format strings) is not supported by the local warehouse"
            )
        elif isinstance(node, exp.Avg) and arg_type in INTEGERS:
            # Redshift's AVG of an integer column is a BIGINT, the fraction truncated; DuckDB's a DOUBLE.
            whole = node.parent if isinstance(node.parent, exp.Window) else node
            whole.replace(exp.cast(exp.func("trunc", whole.copy()), exp.DType.BIGINT))


def _rewrite_similar_to(node: exp.SimilarTo) -> None:
    """SIMILAR TO takes a SQL standard pattern in Redshift, a regular expression in DuckDB."""
    whole = node.parent if isinstance(node.parent, exp.Escape) else node
    escape = whole.expression if whole is not node else exp.Literal.string("\\")
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string and isinstance(escape, exp.Literal)):
        raise TranslationError("ERROR: SIMILAR TO with a pattern that is not a string literal is not supported by the local warehouse")
    try:
        regex = similar_to.to_regex(pattern.this, escape.this)
    except ValueError as error:
        raise TranslationError(f"ERROR: {error}") from error
    whole.replace(exp.Anonymous(this="regexp_full_match", expressions=[node.this.copy(), exp.Literal.string(regex)]))


def _argument_types(tree: exp.Expression, nodes: list[exp.Expression], catalog: Catalog) -> dict[int, exp.DType]:
    """The types of the first argument of ``nodes``, from the catalog (by position in ``nodes``)."""
    for index, node in enumerate(nodes):
        node.meta["warehouse_arg"] = index
    probe = tree.copy()
    mapping: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    for table in _named_tables(probe):
        relation = (
            RelationName(table.catalog, table.db, table.name)
            if table.catalog
            else catalog.resolve(table.db or None, table.name)
        )
        if relation is None:
            continue
        table.set("catalog", exp.to_identifier(relation.database))
        table.set("db", exp.to_identifier(relation.schema))
        mapping.setdefault(relation.database, {}).setdefault(relation.schema, {})[relation.name] = catalog.column_types(relation)
    found: dict[int, exp.DType] = {}
    try:
        schema = MappingSchema(mapping, dialect="duckdb") if mapping else None
        qualified = qualify(probe, schema=schema, dialect=DIALECT, validate_qualify_columns=False, quote_identifiers=False)
        annotate_types(qualified, schema=schema, dialect=DIALECT)
    except Exception:  # a query sqlglot cannot qualify: leave the functions untouched
        return found
    for node in qualified.find_all(*TYPE_DEPENDENT):
        index = node.meta.get("warehouse_arg")
        if index is not None and node.this.type is not None:
            found[index] = node.this.type.this
    return found


def _output_name(node: exp.Expression, sql: str) -> str:
    """PostgreSQL's name for an unnamed output column (FigureColname): a column's name, a
    function's name as written, ``case``, else ``?column?``."""
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, (exp.Paren, exp.WithinGroup, exp.Window)):
        return _output_name(node.this, sql)
    if isinstance(node, exp.Cast):
        inner = _output_name(node.this, sql)
        if inner != "?column?":
            return inner
        try:
            return redshift_types.from_declared(node.to).name
        except redshift_types.UnsupportedType:
            return "?column?"
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Extract):
        return "date_part"
    if isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate"):
        return "timestamp"
    if isinstance(node, exp.Func):
        start, end = node.meta.get("start"), node.meta.get("end")
        if start is not None and end is not None:
            return sql[start : end + 1].lower()
        return node.name.lower() if isinstance(node, exp.Anonymous) else node.sql_name().lower()
    return "?column?"


def _name_output_columns(tree: exp.Expression, sql: str) -> None:
    query = tree.expression if isinstance(tree, exp.Create) else tree
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select):
        return
    for projection in list(query.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            continue
        projection.replace(exp.alias_(projection.copy(), _output_name(projection, sql), quoted=True))
