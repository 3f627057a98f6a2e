"""A small Velocity Template Language (VTL) engine for API Gateway mapping templates.

API Gateway renders mapping templates with Apache Velocity
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
This module evaluates the part of VTL that mapping templates use in practice, including the
console's "Method Request passthrough" template:

- references ``$a``, ``$!a``, ``${a}``, properties ``$a.b``, indexes ``$a[0]``, ``$a['k']`` and
  method calls ``$a.b(x, y)``;
- ``#set``, ``#if`` / ``#elseif`` / ``#else``, ``#foreach`` (with ``$foreach.hasNext``, ``.index``,
  ``.count``, ``.first``, ``.last`` and ``$velocityCount``), ``#end``, ``#{else}``/``#{end}``;
- comments ``##`` and ``#* *#``, unparsed blocks ``#[[ ]]#``, escapes ``\\$`` and ``\\#``;
- literals (strings, with interpolation inside double quotes; numbers; booleans; ``null``; lists;
  ranges ``[1..3]``; maps ``{"k": v}``) and the operators ``== != < <= > >= && || ! + - * / %``
  (also ``eq ne lt le gt ge and or not``);
- the Java methods templates call on strings, lists and maps (``keySet``, ``get``, ``size``,
  ``contains``, ``replaceAll``...).

As API Gateway does, a null reference renders as the empty string. A directive that lives alone on
its line takes its line with it (Velocity 2's "lines" space gobbling), which only changes
whitespace. ``#set`` of a null value assigns null (Velocity 2 semantics).

Anything else (``#macro``, ``#parse``, ``#include``, ``#define``, ``#evaluate``, ``#break``,
``#stop``, unknown methods, JSONPath beyond the simple forms) raises :class:`TemplateError` naming
the construct: the caller turns it into a 500 and a log line, never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# "Number of iterations in a #foreach ... #end loop in mapping templates: 1000"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)
MAX_FOREACH_ITERATIONS = 1000


class TemplateError(Exception):
    """The template uses VTL this engine does not evaluate, or fails while rendering."""


# ----------------------------------------------------------------------------------- values


class JsonMap(dict):
    """A JSON object read from a payload ($input.path, $util.parseJson): renders as Java's Map does."""


class JsonList(list):
    """A JSON array read from a payload: renders as compact JSON, as API Gateway does."""


def from_json(value: Any) -> Any:
    """Wrap parsed JSON so that maps and lists render the way API Gateway renders them."""
    if isinstance(value, dict):
        return JsonMap((k, from_json(v)) for k, v in value.items())
    if isinstance(value, list):
        return JsonList(from_json(v) for v in value)
    return value


def to_json(value: Any) -> str:
    """Compact JSON, as Jackson writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def java_double(value: float) -> str:
    """``Double.toString``: plain notation in [1e-3, 1e7), scientific notation outside."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = f"{text[0]}.{text[1:] or '0'}"
    return f"{'-' if sign else ''}{mantissa}E{len(digits) + exponent - 1}"


def render_value(value: Any) -> str:
    """How Velocity writes a value into the output."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, JsonList):
        return to_json(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_value(k)}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, VtlObject):
        return value.vtl_name
    return str(value)


class VtlObject:
    """An object a template can reach ($input, $util...): properties and methods by name."""

    vtl_name = "object"

    def vtl_property(self, name: str) -> Any:
        raise TemplateError(f"unsupported property {self.vtl_name}.{name}")

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        raise TemplateError(f"unsupported method {self.vtl_name}.{name}()")


@dataclass
class ForeachState(VtlObject):
    """``$foreach`` inside a loop (Velocity 1.7+)."""

    index: int
    total: int
    vtl_name = "$foreach"

    def vtl_property(self, name: str) -> Any:
        values = {
            "index": self.index,
            "count": self.index + 1,
            "hasNext": self.index + 1 < self.total,
            "first": self.index == 0,
            "last": self.index + 1 == self.total,
        }
        if name not in values:
            raise TemplateError(f"unsupported property $foreach.{name}")
        return values[name]


# ------------------------------------------------------------------------------ Java methods


def _java_regex(pattern: str) -> str:
    """A Java regex as Python's ``re`` spells it (named groups); Unicode classes are not supported."""
    if not isinstance(pattern, str):
        raise TemplateError(f"expected a regex string, got {pattern!r}")
    if re.search(r"\\[pP]\{", pattern):
        raise TemplateError(f"Java regex Unicode classes (\\p{{...}}) are not supported: {pattern!r}")
    return re.sub(r"\(\?<([A-Za-z][A-Za-z0-9]*)>", r"(?P<\1>", pattern)


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """Java's replacement syntax: ``$1`` is a group, ``\\x`` is a literal x."""

    def expand(match: re.Match[str]) -> str:
        out, i = [], 0
        while i < len(replacement):
            char = replacement[i]
            if char == "\\" and i + 1 < len(replacement):
                out.append(replacement[i + 1])
                i += 2
            elif char == "$" and i + 1 < len(replacement) and replacement[i + 1].isdigit():
                out.append(match.group(int(replacement[i + 1])) or "")
                i += 2
            else:
                out.append(char)
                i += 1
        return "".join(out)

    return expand


def _number_of(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TemplateError(f"expected an integer argument, got {value!r}")
    return value


STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": lambda s: len(s),
    "isEmpty": lambda s: len(s) == 0,
    "contains": lambda s, x: str(x) in s,
    "startsWith": lambda s, x: s.startswith(str(x)),
    "endsWith": lambda s, x: s.endswith(str(x)),
    "equals": lambda s, x: s == x,
    "equalsIgnoreCase": lambda s, x: isinstance(x, str) and s.lower() == x.lower(),
    "indexOf": lambda s, x: s.find(str(x)),
    "lastIndexOf": lambda s, x: s.rfind(str(x)),
    "substring": lambda s, a, b=None: s[_number_of(a) : None if b is None else _number_of(b)],
    "charAt": lambda s, i: s[_number_of(i)],
    "toLowerCase": lambda s: s.lower(),
    "toUpperCase": lambda s: s.upper(),
    "trim": lambda s: s.strip(),
    "concat": lambda s, x: s + str(x),
    "replace": lambda s, a, b: s.replace(str(a), str(b)),
    "replaceAll": lambda s, a, b: re.sub(_java_regex(a), _java_replacement(b), s),
    "replaceFirst": lambda s, a, b: re.sub(_java_regex(a), _java_replacement(b), s, count=1),
    "matches": lambda s, a: re.fullmatch(_java_regex(a), s) is not None,
    "split": lambda s, a: _java_split(s, a),
    "toString": lambda s: s,
}


def _java_split(text: str, pattern: str) -> list[str]:
    parts = re.split(_java_regex(pattern), text)
    while parts and parts[-1] == "":  # Java drops trailing empty strings
        parts.pop()
    return parts


LIST_METHODS: dict[str, Callable[..., Any]] = {
    "size": lambda v: len(v),
    "isEmpty": lambda v: len(v) == 0,
    "get": lambda v, i: v[_number_of(i)],
    "contains": lambda v, x: x in v,
    "indexOf": lambda v, x: v.index(x) if x in v else -1,
    "add": lambda v, x: v.append(x) or True,
    "toString": lambda v: render_value(v),
}

MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda m, k: m.get(k),
    "keySet": lambda m: list(m.keys()),
    "values": lambda m: list(m.values()),
    "entrySet": lambda m: [{"key": k, "value": v} for k, v in m.items()],
    "size": lambda m: len(m),
    "isEmpty": lambda m: len(m) == 0,
    "containsKey": lambda m, k: k in m,
    "put": lambda m, k, v: (m.get(k), m.__setitem__(k, v))[0],  # returns the previous value, as Java
    "toString": lambda m: render_value(m),
}


def call_method(receiver: Any, name: str, args: list[Any]) -> Any:
    if receiver is None:
        return None  # Velocity leaves a call on null unrendered; API Gateway renders it empty
    if isinstance(receiver, VtlObject):
        return receiver.vtl_call(name, args)
    if isinstance(receiver, str):
        table, kind = STRING_METHODS, "String"
    elif isinstance(receiver, list):
        table, kind = LIST_METHODS, "List"
    elif isinstance(receiver, dict):
        table, kind = MAP_METHODS, "Map"
    elif name == "toString":
        return render_value(receiver)
    else:
        raise TemplateError(f"unsupported method {name}() on {type(receiver).__name__} {receiver!r}")
    if name not in table:
        raise TemplateError(f"unsupported method {kind}.{name}()")
    try:
        return table[name](receiver, *args)
    except TemplateError:
        raise
    except (TypeError, IndexError, re.error) as error:
        raise TemplateError(f"{kind}.{name}({', '.join(map(repr, args))}) failed: {error}") from error


def get_property(receiver: Any, name: str) -> Any:
    """``$a.name``: a map's entry; null on other values, as Velocity finds no getter on them."""
    if isinstance(receiver, VtlObject):
        return receiver.vtl_property(name)
    if isinstance(receiver, dict):
        return receiver.get(name)
    return None


def get_index(receiver: Any, key: Any) -> Any:
    if receiver is None:
        return None
    if isinstance(receiver, dict):
        return receiver.get(key)
    if isinstance(receiver, list) and isinstance(key, int) and not isinstance(key, bool):
        return receiver[key] if -len(receiver) <= key < len(receiver) else None
    raise TemplateError(f"cannot index {type(receiver).__name__} with {key!r}")


# -------------------------------------------------------------------------------- syntax tree


class Expr:
    def evaluate(self, scope: Scope) -> Any:
        raise NotImplementedError


@dataclass
class Literal(Expr):
    value: Any

    def evaluate(self, scope: Scope) -> Any:
        return self.value


@dataclass
class Interpolated(Expr):
    """A double-quoted string: references inside it are rendered."""

    nodes: list[Node]

    def evaluate(self, scope: Scope) -> Any:
        return render_nodes(self.nodes, scope)


@dataclass
class ListLiteral(Expr):
    items: list[Expr]

    def evaluate(self, scope: Scope) -> Any:
        return [item.evaluate(scope) for item in self.items]


@dataclass
class RangeLiteral(Expr):
    start: Expr
    stop: Expr

    def evaluate(self, scope: Scope) -> Any:
        a, b = self.start.evaluate(scope), self.stop.evaluate(scope)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)):
            raise TemplateError(f"range bounds must be integers, got [{a!r}..{b!r}]")
        return list(range(a, b + 1)) if a <= b else list(range(a, b - 1, -1))


@dataclass
class MapLiteral(Expr):
    pairs: list[tuple[Expr, Expr]]

    def evaluate(self, scope: Scope) -> Any:
        return {k.evaluate(scope): v.evaluate(scope) for k, v in self.pairs}


@dataclass
class Accessor:
    kind: str  # "property", "call" or "index"
    name: str = ""
    args: list[Expr] = field(default_factory=list)


@dataclass
class Reference(Expr):
    name: str
    accessors: list[Accessor]
    source: str

    def evaluate(self, scope: Scope) -> Any:
        value = scope.get(self.name)
        for accessor in self.accessors:
            value = apply_accessor(value, accessor, scope)
        return value


def apply_accessor(value: Any, accessor: Accessor, scope: Scope) -> Any:
    if accessor.kind == "property":
        return get_property(value, accessor.name)
    if accessor.kind == "call":
        return call_method(value, accessor.name, [arg.evaluate(scope) for arg in accessor.args])
    return get_index(value, accessor.args[0].evaluate(scope))


@dataclass
class Unary(Expr):
    op: str
    operand: Expr

    def evaluate(self, scope: Scope) -> Any:
        value = self.operand.evaluate(scope)
        if self.op == "!":
            return not truthy(value)
        if not _is_number(value):
            raise TemplateError(f"cannot negate {value!r}")
        return -value


@dataclass
class Binary(Expr):
    op: str
    left: Expr
    right: Expr

    def evaluate(self, scope: Scope) -> Any:
        if self.op == "&&":
            return truthy(self.left.evaluate(scope)) and truthy(self.right.evaluate(scope))
        if self.op == "||":
            return truthy(self.left.evaluate(scope)) or truthy(self.right.evaluate(scope))
        a, b = self.left.evaluate(scope), self.right.evaluate(scope)
        if self.op in ("==", "!="):
            return equal(a, b) == (self.op == "==")
        if not (_is_number(a) and _is_number(b)):
            raise TemplateError(f"operator {self.op} needs numbers, got {a!r} and {b!r}")
        if self.op in COMPARISONS:
            return COMPARISONS[self.op](a, b)
        if self.op in ("/", "%") and b == 0:
            raise TemplateError(f"division by zero in {a!r} {self.op} {b!r}")
        if self.op == "/" and isinstance(a, int) and isinstance(b, int):
            return int(a / b)  # Java integer division truncates toward zero
        if self.op == "%" and isinstance(a, int) and isinstance(b, int):
            return a - b * int(a / b)
        return ARITHMETIC[self.op](a, b)


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}
WORD_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "and": "&&", "or": "||"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truthy(value: Any) -> bool:
    """Velocity 1.7: null and false are false, everything else (even "") is true."""
    return value is not None and value is not False


def equal(a: Any, b: Any) -> bool:
    """Velocity compares numbers by value, same types with equals(), others by their string form."""
    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        return a == b
    if type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)) or (
        isinstance(a, list) and isinstance(b, list)
    ):
        return a == b
    return render_value(a) == render_value(b)


class Node:
    def render(self, scope: Scope, out: list[str]) -> None:
        raise NotImplementedError


@dataclass
class Text(Node):
    text: str

    def render(self, scope: Scope, out: list[str]) -> None:
        out.append(self.text)


@dataclass
class Output(Node):
    reference: Reference

    def render(self, scope: Scope, out: list[str]) -> None:
        out.append(render_value(self.reference.evaluate(scope)))


@dataclass
class SetDirective(Node):
    target: Reference
    value: Expr

    def render(self, scope: Scope, out: list[str]) -> None:
        value = self.value.evaluate(scope)
        if not self.target.accessors:
            scope.set(self.target.name, value)
            return
        container = Reference(self.target.name, self.target.accessors[:-1], self.target.source).evaluate(scope)
        last = self.target.accessors[-1]
        if last.kind == "call":
            raise TemplateError(f"cannot #set a method call: {self.target.source}")
        key = last.name if last.kind == "property" else last.args[0].evaluate(scope)
        if isinstance(container, dict):
            container[key] = value
        elif isinstance(container, list) and isinstance(key, int) and -len(container) <= key < len(container):
            container[key] = value
        else:
            raise TemplateError(f"cannot #set {self.target.source}: {render_value(container)!r} is not a map or list")


@dataclass
class IfDirective(Node):
    branches: list[tuple[Expr, list[Node]]]
    otherwise: list[Node]

    def render(self, scope: Scope, out: list[str]) -> None:
        for condition, body in self.branches:
            if truthy(condition.evaluate(scope)):
                render_into(body, scope, out)
                return
        render_into(self.otherwise, scope, out)


@dataclass
class ForeachDirective(Node):
    variable: str
    iterable: Expr
    body: list[Node]

    def render(self, scope: Scope, out: list[str]) -> None:
        collection = self.iterable.evaluate(scope)
        if collection is None:
            return
        if isinstance(collection, dict):
            items = list(collection.values())  # Velocity iterates over a Map's values
        elif isinstance(collection, list):
            items = list(collection)
        else:
            raise TemplateError(f"#foreach cannot iterate over {type(collection).__name__} {collection!r}")
        if len(items) > MAX_FOREACH_ITERATIONS:
            raise TemplateError(f"#foreach over {len(items)} items: API Gateway stops at {MAX_FOREACH_ITERATIONS}")
        saved = (scope.get("foreach"), scope.get("velocityCount"), scope.get(self.variable))
        for index, item in enumerate(items):
            scope.set(self.variable, item)
            scope.set("foreach", ForeachState(index, len(items)))
            scope.set("velocityCount", index + 1)
            render_into(self.body, scope, out)
        scope.set("foreach", saved[0])
        scope.set("velocityCount", saved[1])


class Scope:
    """The template's variables: one global namespace, as in Velocity."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = dict(variables)

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value


def render_into(nodes: list[Node], scope: Scope, out: list[str]) -> None:
    for node in nodes:
        node.render(scope, out)


def render_nodes(nodes: list[Node], scope: Scope) -> str:
    out: list[str] = []
    render_into(nodes, scope, out)
    return "".join(out)


# --------------------------------------------------------------------------------------- parser
#
# Parsing runs in three steps: the text becomes a flat list of tokens (text, references,
# directives), directives alone on their line lose that line's indent and newline, and the tokens
# become a tree of nodes.

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
DIRECTIVE = re.compile(r"#\{?(set|if|elseif|else|end|foreach|break|stop|macro|parse|include|define|evaluate)\b\}?")
UNSUPPORTED_DIRECTIVES = {"break", "stop", "macro", "parse", "include", "define", "evaluate"}
SYMBOL_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%")
LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)


@dataclass
class Token:
    kind: str  # "text", "reference", "comment" or a directive name ("set", "if", "end"...)
    start: int
    end: int
    text: str = ""
    reference: Reference | None = None
    exprs: list[Expr] = field(default_factory=list)


class Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0

    # ---- errors and small helpers

    def fail(self, message: str, pos: int | None = None) -> TemplateError:
        at = self.pos if pos is None else pos
        line = self.source.count("\n", 0, at) + 1
        column = at - (self.source.rfind("\n", 0, at) + 1) + 1
        return TemplateError(f"{message} (line {line}, column {column})")

    def peek(self, text: str) -> bool:
        return self.source.startswith(text, self.pos)

    def skip_spaces(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos] in " \t\r\n":
            self.pos += 1

    def expect(self, text: str) -> None:
        self.skip_spaces()
        if not self.peek(text):
            found = self.source[self.pos : self.pos + 12] or "end of template"
            raise self.fail(f"expected {text!r}, found {found!r}")
        self.pos += len(text)

    # ---- step 1: tokens

    def tokenize(self) -> list[Token]:
        tokens: list[Token] = []
        text: list[str] = []
        text_start = 0
        source = self.source

        def flush(at: int) -> None:
            nonlocal text_start
            if text:
                tokens.append(Token("text", text_start, at, text="".join(text)))
                text.clear()
            text_start = at

        while self.pos < len(source):
            start, char = self.pos, source[self.pos]
            if char == "\\" and source[start + 1 : start + 2] in ("$", "#"):
                text.append(source[start + 1])
                self.pos += 2
            elif char == "$" and (reference := self.try_reference()) is not None:
                flush(start)
                tokens.append(Token("reference", start, self.pos, reference=reference))
                text_start = self.pos
            elif char == "#" and self.peek("##"):
                end = source.find("\n", start)
                self.pos = len(source) if end == -1 else end
                flush(start)
                tokens.append(Token("comment", start, self.pos))
                text_start = self.pos
            elif char == "#" and self.peek("#*"):
                end = source.find("*#", start + 2)
                if end == -1:
                    raise self.fail("unterminated #* comment")
                self.pos = end + 2
                flush(start)
                tokens.append(Token("comment", start, self.pos))
                text_start = self.pos
            elif char == "#" and self.peek("#[["):
                end = source.find("]]#", start + 3)
                if end == -1:
                    raise self.fail("unterminated #[[ block")
                text.append(source[start + 3 : end])
                self.pos = end + 3
            elif char == "#" and (match := DIRECTIVE.match(source, start)):
                name = match.group(1)
                if name in UNSUPPORTED_DIRECTIVES:
                    raise self.fail(f"#{name} is not supported by the local API Gateway")
                self.pos = match.end()
                exprs = self.directive_arguments(name)
                flush(start)
                tokens.append(Token(name, start, self.pos, exprs=exprs))
                text_start = self.pos
            else:
                text.append(char)
                self.pos += 1
        flush(self.pos)
        return tokens

    def directive_arguments(self, name: str) -> list[Expr]:
        if name in ("else", "end"):
            return []
        self.expect("(")
        if name == "set":
            self.skip_spaces()
            target = self.try_reference() if self.peek("$") else None
            if target is None:
                raise self.fail("#set needs a reference on its left side, e.g. #set($x = 1)")
            self.expect("=")
            value = self.parse_expression()
            self.expect(")")
            return [target, value]
        if name == "foreach":
            self.skip_spaces()
            variable = self.try_reference() if self.peek("$") else None
            if variable is None or variable.accessors:
                raise self.fail("#foreach needs a plain variable, e.g. #foreach($item in $list)")
            self.skip_spaces()
            if not re.match(r"in\b", self.source[self.pos :]):
                raise self.fail("#foreach needs 'in', e.g. #foreach($item in $list)")
            self.pos += 2
            iterable = self.parse_expression()
            self.expect(")")
            return [variable, iterable]
        condition = self.parse_expression()  # if, elseif
        self.expect(")")
        return [condition]

    # ---- step 2: a directive alone on its line takes the line's indent and newline with it

    def gobble_lines(self, tokens: list[Token]) -> None:
        source = self.source
        for i, token in enumerate(tokens):
            if token.kind in ("text", "reference"):
                continue
            line_start = source.rfind("\n", 0, token.start) + 1
            line_end = source.find("\n", token.end)
            line_end = len(source) if line_end == -1 else line_end
            if source[line_start : token.start].strip(" \t") or source[token.end : line_end].strip(" \t\r"):
                continue
            before = tokens[i - 1] if i > 0 else None
            if before is not None and before.kind == "text" and before.end == token.start:
                before.text = before.text.rstrip(" \t")
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            if after is not None and after.kind == "text" and after.start == token.end:
                newline = after.text.find("\n")
                after.text = "" if newline == -1 else after.text[newline + 1 :]

    # ---- step 3: nodes

    def build(self, tokens: list[Token]) -> list[Node]:
        self.tokens, self.index = tokens, 0
        nodes, terminator = self.build_block(())
        if terminator is not None:
            raise self.fail(f"#{terminator.kind} without a matching #if or #foreach", terminator.start)
        return nodes

    def build_block(self, terminators: tuple[str, ...]) -> tuple[list[Node], Token | None]:
        nodes: list[Node] = []
        while self.index < len(self.tokens):
            token = self.tokens[self.index]
            self.index += 1
            if token.kind in terminators:
                return nodes, token
            if token.kind == "text":
                if token.text:
                    nodes.append(Text(token.text))
            elif token.kind == "reference":
                assert token.reference is not None
                nodes.append(Output(token.reference))
            elif token.kind == "set":
                target, value = token.exprs
                assert isinstance(target, Reference)
                nodes.append(SetDirective(target, value))
            elif token.kind == "foreach":
                variable, iterable = token.exprs
                assert isinstance(variable, Reference)
                body, end = self.build_block(("end",))
                if end is None:
                    raise self.fail("#foreach without #end", token.start)
                nodes.append(ForeachDirective(variable.name, iterable, body))
            elif token.kind == "if":
                nodes.append(self.build_if(token))
            elif token.kind in ("else", "elseif", "end"):
                raise self.fail(f"#{token.kind} without a matching #if or #foreach", token.start)
        return nodes, None

    def build_if(self, token: Token) -> IfDirective:
        branches: list[tuple[Expr, list[Node]]] = []
        condition = token.exprs[0]
        while True:
            body, terminator = self.build_block(("elseif", "else", "end"))
            if terminator is None:
                raise self.fail("#if without #end", token.start)
            branches.append((condition, body))
            if terminator.kind == "end":
                return IfDirective(branches, [])
            if terminator.kind == "else":
                otherwise, end = self.build_block(("end",))
                if end is None:
                    raise self.fail("#else without #end", terminator.start)
                return IfDirective(branches, otherwise)
            condition = terminator.exprs[0]

    # ---- references

    def try_reference(self) -> Reference | None:
        """A reference at ``self.pos`` (on a ``$``), or None when that ``$`` is plain text."""
        source, start = self.source, self.pos
        pos = start + 1
        if source.startswith("!", pos):
            pos += 1
        braced = source.startswith("{", pos)
        if braced:
            pos += 1
        match = IDENTIFIER.match(source, pos)
        if not match:
            return None
        self.pos = match.end()
        accessors: list[Accessor] = []
        while self.pos < len(source):
            name_match = IDENTIFIER.match(source, self.pos + 1) if source[self.pos] == "." else None
            if name_match:
                self.pos = name_match.end()
                if self.peek("("):
                    self.pos += 1
                    accessors.append(Accessor("call", name_match.group(0), self.parse_arguments()))
                else:
                    accessors.append(Accessor("property", name_match.group(0)))
            elif source[self.pos] == "[":
                self.pos += 1
                index = self.parse_expression()
                self.expect("]")
                accessors.append(Accessor("index", args=[index]))
            else:
                break
        if braced:
            self.expect("}")
        return Reference(match.group(0), accessors, source[start : self.pos])

    def parse_arguments(self) -> list[Expr]:
        args: list[Expr] = []
        self.skip_spaces()
        if self.peek(")"):
            self.pos += 1
            return args
        while True:
            args.append(self.parse_expression())
            self.skip_spaces()
            if self.peek(","):
                self.pos += 1
                continue
            self.expect(")")
            return args

    # ---- expressions (precedence climbing over LEVELS)

    def parse_expression(self, level: int = 0) -> Expr:
        if level == len(LEVELS):
            return self.parse_unary()
        left = self.parse_expression(level + 1)
        while True:
            op, length = self.peek_operator()
            if op not in LEVELS[level]:
                return left
            self.pos += length
            left = Binary(op, left, self.parse_expression(level + 1))

    def peek_operator(self) -> tuple[str | None, int]:
        self.skip_spaces()
        word = IDENTIFIER.match(self.source, self.pos)
        if word and word.group(0) in WORD_OPERATORS:
            return WORD_OPERATORS[word.group(0)], len(word.group(0))
        for op in SYMBOL_OPERATORS:
            if self.peek(op):
                return op, len(op)
        return None, 0

    def parse_unary(self) -> Expr:
        self.skip_spaces()
        if self.peek("!") and not self.peek("!="):
            self.pos += 1
            return Unary("!", self.parse_unary())
        word = IDENTIFIER.match(self.source, self.pos)
        if word and word.group(0) == "not":
            self.pos = word.end()
            return Unary("!", self.parse_unary())
        if self.peek("-") and not NUMBER.match(self.source, self.pos):
            self.pos += 1
            return Unary("-", self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        self.skip_spaces()
        source = self.source
        if self.pos >= len(source):
            raise self.fail("expression expected, found end of template")
        char = source[self.pos]
        if char == "$":
            reference = self.try_reference()
            if reference is None:
                raise self.fail("'$' must start a reference here")
            return reference
        if char == "'":
            end = source.find("'", self.pos + 1)
            if end == -1:
                raise self.fail("unterminated string")
            value = source[self.pos + 1 : end]
            self.pos = end + 1
            return Literal(value)
        if char == '"':
            return self.parse_double_quoted()
        if char == "(":
            self.pos += 1
            inner = self.parse_expression()
            self.expect(")")
            return inner
        if char == "[":
            return self.parse_list_or_range()
        if char == "{":
            return self.parse_map()
        number = NUMBER.match(source, self.pos)
        if number:
            self.pos = number.end()
            text = number.group(0)
            return Literal(float(text) if "." in text else int(text))
        word = IDENTIFIER.match(source, self.pos)
        if word and word.group(0) in ("true", "false", "null"):
            self.pos = word.end()
            return Literal({"true": True, "false": False, "null": None}[word.group(0)])
        raise self.fail(f"unsupported expression starting with {source[self.pos : self.pos + 15]!r}")

    def parse_list_or_range(self) -> Expr:
        self.pos += 1
        self.skip_spaces()
        if self.peek("]"):
            self.pos += 1
            return ListLiteral([])
        first = self.parse_expression()
        self.skip_spaces()
        if self.peek(".."):
            self.pos += 2
            last = self.parse_expression()
            self.expect("]")
            return RangeLiteral(first, last)
        items = [first]
        while True:
            self.skip_spaces()
            if self.peek(","):
                self.pos += 1
                items.append(self.parse_expression())
                continue
            self.expect("]")
            return ListLiteral(items)

    def parse_map(self) -> Expr:
        self.pos += 1
        pairs: list[tuple[Expr, Expr]] = []
        self.skip_spaces()
        if self.peek("}"):
            self.pos += 1
            return MapLiteral(pairs)
        while True:
            key = self.parse_expression()
            self.expect(":")
            pairs.append((key, self.parse_expression()))
            self.skip_spaces()
            if self.peek(","):
                self.pos += 1
                continue
            self.expect("}")
            return MapLiteral(pairs)

    def parse_double_quoted(self) -> Expr:
        """``"..."``: the text inside is itself a small template (references are interpolated)."""
        end = self.pos + 1
        while end < len(self.source) and self.source[end] != '"':
            end += 2 if self.source[end] == "\\" else 1
        if end >= len(self.source):
            raise self.fail("unterminated string")
        inner = Parser(self.source[self.pos + 1 : end])
        nodes = inner.build(inner.tokenize())
        self.pos = end + 1
        if all(isinstance(node, Text) for node in nodes):
            return Literal("".join(node.text for node in nodes if isinstance(node, Text)))
        return Interpolated(nodes)


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Render a mapping template with the given variables ($input, $util, $context...)."""
    parser = Parser(template)
    tokens = parser.tokenize()
    parser.gobble_lines(tokens)
    nodes = parser.build(tokens)
    try:
        return render_nodes(nodes, Scope(variables))
    except RecursionError as error:
        raise TemplateError("template nests too deeply") from error
