"""sqlglot's Redshift dialect, completed where it stops short of what Redshift accepts.

sqlglot 30 parses most Redshift, but not every table attribute of CREATE TABLE: column-level
``DISTKEY``/``SORTKEY``, ``INTERLEAVED SORTKEY``, ``SORTKEY AUTO`` and table-level ``ENCODE AUTO``
raise parse errors or fall back to an opaque command, and it reads ``GETDATE()`` as
``CURRENT_TIMESTAMP`` although Redshift gives them different types (GETDATE returns a TIMESTAMP
without fractional seconds; CURRENT_TIMESTAMP a TIMESTAMPTZ). This dialect parses them into the
node types below, which the translator reads and removes before generating DuckDB SQL. It also
knows TO_CHAR's capitalised month and day names.
https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
https://docs.aws.amazon.com/redshift/latest/dg/r_GETDATE.html
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.parsers.redshift import RedshiftParser


class ColumnDistKey(exp.Expression, exp.ColumnConstraintKind):
    """``<column> <type> DISTKEY``."""

    arg_types: dict = {}


class ColumnSortKey(exp.Expression, exp.ColumnConstraintKind):
    """``<column> <type> SORTKEY``."""

    arg_types: dict = {}


class TableSortKey(exp.Property):
    """``[COMPOUND | INTERLEAVED] SORTKEY (col, ...)`` or ``SORTKEY AUTO``; ``style`` is one of
    COMPOUND, INTERLEAVED, AUTO."""

    arg_types = {"this": False, "style": True}


class TableEncode(exp.Property):
    """Table-level ``ENCODE AUTO``."""

    arg_types = {"this": True}


class GetDate(exp.Expression, exp.Func):
    """Redshift's ``GETDATE()``."""

    arg_types: dict = {}


class _WarehouseParser(RedshiftParser):
    FUNCTIONS = {**RedshiftParser.FUNCTIONS, "GETDATE": lambda args: GetDate()}

    CONSTRAINT_PARSERS = {
        **RedshiftParser.CONSTRAINT_PARSERS,
        "DISTKEY": lambda self: self.expression(ColumnDistKey()),
        "SORTKEY": lambda self: self.expression(ColumnSortKey()),
    }

    PROPERTY_PARSERS = {
        **RedshiftParser.PROPERTY_PARSERS,
        "SORTKEY": lambda self: self._parse_sortkey(),
        "INTERLEAVED": lambda self: self._parse_interleaved_sortkey(),
        "ENCODE": lambda self: self.expression(TableEncode(this=self._parse_var(any_token=True))),
    }

    def _parse_sortkey(self, compound: bool = False) -> TableSortKey:  # type: ignore[override]
        if self._match_text_seq("AUTO"):
            return self.expression(TableSortKey(style="AUTO"))
        columns = self._parse_wrapped_id_vars()
        return self.expression(TableSortKey(this=columns, style="COMPOUND"))

    def _parse_interleaved_sortkey(self) -> TableSortKey | None:
        if not self._match_text_seq("SORTKEY"):
            return None
        return self.expression(TableSortKey(this=self._parse_wrapped_id_vars(), style="INTERLEAVED"))


class WarehouseRedshift(Redshift):
    """Redshift as the local warehouse reads it."""

    Parser = _WarehouseParser
    # TO_CHAR's capitalised names (Mon -> Dec, Day -> Wednesday); sqlglot maps only MON and MONTH.
    # https://docs.aws.amazon.com/redshift/latest/dg/r_FORMAT_strings.html
    TIME_MAPPING = {**Redshift.TIME_MAPPING, "Mon": "%b", "Month": "%B", "Dy": "%a", "Day": "%A"}
