"""The Hive type strings a crawler writes to the Data Catalog, and how two of them merge.

Types are kept as small trees (``GlueType``) and written as Glue writes them: ``int``, ``bigint``,
``double``, ``boolean``, ``string``, ``timestamp``, ``array<struct<a:int,b:string>>``... The JSON
classifier types a whole number as ``int`` when it fits 32 bits and ``bigint`` otherwise (the
crawler-grouping-policy page shows ``{"A": 1}`` crawled as ``A:int``); the CSV classifier only
knows ``boolean``, ``bigint``, ``double`` and ``string``. When files or records disagree, the
wider type wins (int < bigint < double); anything else that disagrees becomes ``string``, and two
structs merge field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INT_RANGE = (-(2**31), 2**31 - 1)
NUMERIC_ORDER = ("tinyint", "smallint", "int", "bigint", "float", "double")


@dataclass(frozen=True)
class GlueType:
    name: str  # a primitive name, or "array", "struct", "map"
    element: GlueType | None = None  # array element / map value
    key: GlueType | None = None  # map key
    fields: tuple[tuple[str, GlueType], ...] = field(default=())  # struct fields, in order

    def __str__(self) -> str:
        if self.name == "array":
            return f"array<{self.element}>"
        if self.name == "map":
            return f"map<{self.key},{self.element}>"
        if self.name == "struct":
            return "struct<" + ",".join(f"{name}:{kind}" for name, kind in self.fields) + ">"
        return self.name


STRING = GlueType("string")
NULL = GlueType("null")  # only seen as null so far; written as string if nothing better comes


def primitive(name: str) -> GlueType:
    return GlueType(name)


def of_json(value: object) -> GlueType:
    """The type the JSON classifier gives a parsed JSON value."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return GlueType("boolean")
    if isinstance(value, int):
        return GlueType("int" if INT_RANGE[0] <= value <= INT_RANGE[1] else "bigint")
    if isinstance(value, float):
        return GlueType("double")
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        element = NULL
        for item in value:
            element = merge(element, of_json(item))
        return GlueType("array", element=element)
    if isinstance(value, dict):
        return GlueType("struct", fields=tuple((key.lower(), of_json(item)) for key, item in value.items()))
    return STRING


def merge(a: GlueType, b: GlueType) -> GlueType:
    """The one type that holds values of both."""
    if a == b:
        return a
    if a.name == "null":
        return b
    if b.name == "null":
        return a
    if a.name in NUMERIC_ORDER and b.name in NUMERIC_ORDER:
        return max(a, b, key=lambda t: NUMERIC_ORDER.index(t.name))
    if a.name == b.name == "array":
        assert a.element is not None and b.element is not None
        return GlueType("array", element=merge(a.element, b.element))
    if a.name == b.name == "struct":
        fields = dict(a.fields)
        for name, kind in b.fields:
            fields[name] = merge(fields[name], kind) if name in fields else kind
        return GlueType("struct", fields=tuple(fields.items()))
    return STRING


def finished(kind: GlueType) -> GlueType:
    """Replace types never seen with a value (all nulls, empty arrays) by string, as Glue does."""
    if kind.name == "null":
        return STRING
    if kind.name == "array":
        assert kind.element is not None
        return GlueType("array", element=finished(kind.element))
    if kind.name == "map":
        assert kind.element is not None and kind.key is not None
        return GlueType("map", key=finished(kind.key), element=finished(kind.element))
    if kind.name == "struct":
        return GlueType("struct", fields=tuple((name, finished(item)) for name, item in kind.fields))
    return kind


@dataclass
class Schema:
    """Columns in order of first appearance, each with its merged type."""

    columns: dict[str, GlueType] = field(default_factory=dict)

    def add(self, name: str, kind: GlueType) -> None:
        self.columns[name] = merge(self.columns[name], kind) if name in self.columns else kind

    def merge(self, other: Schema) -> Schema:
        merged = Schema(dict(self.columns))
        for name, kind in other.columns.items():
            merged.add(name, kind)
        return merged

    def names(self) -> frozenset[str]:
        return frozenset(self.columns)

    def catalog_columns(self) -> list[dict[str, str]]:
        return [{"Name": name, "Type": str(finished(kind))} for name, kind in self.columns.items()]
