"""The subset of Pebble (Kestra's template language) that flows use: parsed for the validator,
evaluated for the tests.

Kestra renders every dynamic string of a flow with Pebble before a task runs: SQL, scripts,
URLs, labels. Two things need to understand those strings without a Kestra server:

* `flowcheck.flow_lint` parses every `{{ ... }}` / `{% ... %}` and checks each name it uses
  (an input that exists, a task whose outputs exist, a function Kestra has);
* the integration tests render the flows' SQL and scripts with the values Kestra would pass,
  so what runs on PostgreSQL/DuckDB is the flow's own text, never a copy.

Supported: `{{ }}`, `{% if/elseif/else/endif %}`, `{% for x in xs %}`, `{% set %}`,
`{% raw %}`, comments, whitespace control (`{{-`, `-}}`), literals, lists, maps, attribute and
subscript access, function calls, filters with positional/named arguments, `is [not]` tests,
`~`, arithmetic, comparisons, `and`/`or`/`not`, `? :`, `??` and `???`. Anything else is a
PebbleError, so an unsupported construct fails loudly instead of rendering wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo


class PebbleError(Exception):
    """A template Kestra could not parse, or a value the renderer cannot produce."""


# ---- AST ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    pass


@dataclass(frozen=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Attr(Node):
    target: Node
    name: str


@dataclass(frozen=True)
class Item(Node):
    target: Node
    key: Node


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Filter(Node):
    target: Node
    name: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Test(Node):
    target: Node
    name: str
    negated: bool


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Ternary(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapLit(Node):
    items: tuple[tuple[Node, Node], ...]


# Template parts
@dataclass(frozen=True)
class Text(Node):
    text: str


@dataclass(frozen=True)
class Output(Node):
    expr: Node


@dataclass(frozen=True)
class IfBlock(Node):
    branches: tuple[tuple[Node, tuple[Node, ...]], ...]  # (condition, body); condition None = else


@dataclass(frozen=True)
class ForBlock(Node):
    var: str
    iterable: Node
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...]


@dataclass(frozen=True)
class SetTag(Node):
    var: str
    expr: Node


@dataclass(frozen=True)
class Template:
    source: str
    body: tuple[Node, ...]

    def expressions(self) -> Iterator[tuple[Node, frozenset[str]]]:
        """Every expression with the names bound around it by `for`/`set` (for the validator)."""
        yield from _walk_body(self.body, frozenset())


def _walk_body(body: tuple[Node, ...], bound: frozenset[str]) -> Iterator[tuple[Node, frozenset[str]]]:
    for node in body:
        if isinstance(node, Output):
            yield node.expr, bound
        elif isinstance(node, IfBlock):
            for condition, inner in node.branches:
                if condition is not None:
                    yield condition, bound
                yield from _walk_body(inner, bound)
        elif isinstance(node, ForBlock):
            yield node.iterable, bound
            yield from _walk_body(node.body, bound | {node.var, "loop"})
            yield from _walk_body(node.otherwise, bound)
        elif isinstance(node, SetTag):
            yield node.expr, bound
            bound = bound | {node.var}


# ---- lexer ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\?\?\?|\?\?|==|!=|<=|>=|\.\.|[-+*/%~|.,:()\[\]{}<>?=!])
    )""",
    re.VERBOSE,
)
_KEYWORD_OPS = {"and", "or", "not", "is", "in", "contains", "equals"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # number | string | name | op | end
    value: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise PebbleError(f"unexpected character {text[pos:].strip()[:1]!r} in expression '{text.strip()}'")
        kind = match.lastgroup or "op"
        tokens.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    tokens.append(_Tok("end", ""))
    return tokens


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


# ---- expression parser (precedence climbing, Pebble's operator table) ---------------------

_BINARY = {
    "or": 10,
    "and": 15,
    "contains": 20,
    "==": 30,
    "!=": 30,
    "equals": 30,
    "<": 30,
    ">": 30,
    "<=": 30,
    ">=": 30,
    "+": 40,
    "-": 40,
    "*": 60,
    "/": 60,
    "%": 60,
    "~": 110,
    "..": 120,
    "??": 120,
    "???": 120,
}
_IS = 20
_FILTER = 100


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self) -> _Tok:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token.value != value or token.kind == "string":
            raise PebbleError(f"expected {value!r} but found {token.value or 'the end'!r} in '{self.text.strip()}'")

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "name") and token.value in values

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            raise PebbleError(f"unexpected {self.peek().value!r} in expression '{self.text.strip()}'")
        return node

    def expression(self) -> Node:
        node = self.binary(0)
        if self.at("?"):
            self.take()
            then = self.expression()
            self.expect(":")
            return Ternary(node, then, self.expression())
        return node

    def binary(self, minimum: int) -> Node:
        left = self.unary()
        while True:
            token = self.peek()
            op = token.value if token.kind in ("op", "name") else ""
            if op == "is" and minimum <= _IS:
                self.take()
                negated = self.at("not")
                if negated:
                    self.take()
                name = self.take()
                if name.kind != "name":
                    raise PebbleError(f"expected a test name after 'is' in '{self.text.strip()}'")
                left = Test(left, name.value, negated)
                continue
            if op == "|" and minimum <= _FILTER:
                self.take()
                left = self.filter(left)
                continue
            precedence = _BINARY.get(op)
            if precedence is None or precedence < minimum or (token.kind == "name" and op not in _KEYWORD_OPS):
                return left
            self.take()
            right = self.binary(precedence + 1)
            left = Binary(op, left, right)

    def filter(self, target: Node) -> Node:
        name = self.take()
        if name.kind != "name":
            raise PebbleError(f"expected a filter name after '|' in '{self.text.strip()}'")
        args, kwargs = self.arguments() if self.at("(") else ((), ())
        return Filter(target, name.value, args, kwargs)

    def unary(self) -> Node:
        if self.at("not"):
            self.take()
            return Unary("not", self.binary(5))
        if self.at("-", "+", "!"):
            op = self.take().value
            return Unary("not" if op == "!" else op, self.unary())
        return self.postfix(self.primary())

    def arguments(self) -> tuple[tuple[Node, ...], tuple[tuple[str, Node], ...]]:
        self.expect("(")
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        while not self.at(")"):
            nxt = self.tokens[self.pos + 1]
            if self.peek().kind == "name" and nxt.kind == "op" and nxt.value == "=":
                key = self.take().value
                self.take()
                kwargs.append((key, self.expression()))
            else:
                args.append(self.expression())
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return tuple(args), tuple(kwargs)

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("."):
                self.take()
                name = self.take()
                if name.kind not in ("name", "number"):
                    raise PebbleError(f"expected an attribute name after '.' in '{self.text.strip()}'")
                node = Attr(node, name.value)
            elif self.at("["):
                self.take()
                key = self.expression()
                self.expect("]")
                node = Item(node, key)
            elif self.at("(") and isinstance(node, Name):
                args, kwargs = self.arguments()
                node = Call(node.name, args, kwargs)
            else:
                return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Literal(Decimal(token.value) if "." in token.value else int(token.value))
        if token.kind == "string":
            return Literal(_unquote(token.value))
        if token.kind == "name":
            lowered = token.value.lower()
            if lowered in ("true", "false"):
                return Literal(lowered == "true")
            if lowered in ("null", "none"):
                return Literal(None)
            return Name(token.value)
        if token.value == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.value == "[":
            items: list[Node] = []
            while not self.at("]"):
                items.append(self.expression())
                if not self.at("]"):
                    self.expect(",")
            self.expect("]")
            return ListLit(tuple(items))
        if token.value == "{":
            pairs: list[tuple[Node, Node]] = []
            while not self.at("}"):
                key = self.expression()
                self.expect(":")
                pairs.append((key, self.expression()))
                if not self.at("}"):
                    self.expect(",")
            self.expect("}")
            return MapLit(tuple(pairs))
        raise PebbleError(f"unexpected {token.value or 'end of expression'!r} in '{self.text.strip()}'")


def parse_expression(text: str) -> Node:
    return _Parser(text).parse()


# ---- template parser ------------------------------------------------------------------

_DELIMITER = re.compile(r"\{\{|\{%|\{#")
_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _segments(source: str) -> Iterator[tuple[str, str]]:
    """('text', str) | ('expr', str) | ('tag', str), with whitespace control applied."""
    pos = 0
    strip_next = False
    while True:
        match = _DELIMITER.search(source, pos)
        text = source[pos : match.start() if match else len(source)]
        if strip_next:
            text = text.lstrip()
        if match is None:
            if text:
                yield "text", text
            return
        opener = match.group()
        start = match.end()
        trim_before = source.startswith("-", start)
        if trim_before:
            start += 1
            text = text.rstrip()
        if text:
            yield "text", text
        closer = _CLOSERS[opener]
        end = _find_closer(source, start, closer)
        if end < 0:
            raise PebbleError(f"'{opener}' at offset {match.start()} is never closed with '{closer}'")
        inner = source[start:end]
        strip_next = inner.endswith("-")
        if strip_next:
            inner = inner[:-1]
        if opener == "{%" and re.fullmatch(r"\s*raw\s*", inner):
            raw_end = re.compile(r"\{%-?\s*endraw\s*-?%\}").search(source, end + 2)
            if not raw_end:
                raise PebbleError("{% raw %} is never closed with {% endraw %}")
            yield "text", source[end + 2 : raw_end.start()]
            pos = raw_end.end()
            strip_next = False
            continue
        if opener != "{#":
            yield ("expr" if opener == "{{" else "tag"), inner
        pos = end + 2


def _find_closer(source: str, start: int, closer: str) -> int:
    """The closing delimiter, skipping over string literals (a '}}' inside quotes is text)."""
    index = start
    quote = ""
    while index < len(source):
        char = source[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"" and closer != "#}":
            quote = char
        elif source.startswith(closer, index):
            return index
        index += 1
    return -1


def parse_template(source: str) -> Template:
    """Parse a whole string; raises PebbleError with what is wrong."""
    segments = list(_segments(source))
    body, rest = _parse_body(segments, 0, ())
    if rest != len(segments):
        raise PebbleError(f"unexpected {{% {segments[rest][1].strip()} %}}")
    return Template(source, body)


def _tag_word(inner: str) -> tuple[str, str]:
    stripped = inner.strip()
    word, _, rest = stripped.partition(" ")
    return word, rest.strip()


def _parse_body(segments: list[tuple[str, str]], index: int, stop: tuple[str, ...]) -> tuple[tuple[Node, ...], int]:
    body: list[Node] = []
    while index < len(segments):
        kind, value = segments[index]
        if kind == "text":
            body.append(Text(value))
            index += 1
            continue
        if kind == "expr":
            body.append(Output(parse_expression(value)))
            index += 1
            continue
        word, rest = _tag_word(value)
        if word in stop:
            return tuple(body), index
        if word == "if":
            node, index = _parse_if(segments, index, rest)
            body.append(node)
        elif word == "for":
            match = re.fullmatch(r"([A-Za-z_]\w*)\s+in\s+(.+)", rest, re.DOTALL)
            if not match:
                raise PebbleError(f"malformed tag {{% {value.strip()} %}}: use {{% for item in items %}}")
            inner, index = _parse_body(segments, index + 1, ("else", "endfor"))
            otherwise: tuple[Node, ...] = ()
            if index < len(segments) and _tag_word(segments[index][1])[0] == "else":
                otherwise, index = _parse_body(segments, index + 1, ("endfor",))
            _expect_tag(segments, index, "endfor")
            body.append(ForBlock(match.group(1), parse_expression(match.group(2)), inner, otherwise))
            index += 1
        elif word == "set":
            match = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(.+)", rest, re.DOTALL)
            if not match:
                raise PebbleError(f"malformed tag {{% {value.strip()} %}}: use {{% set name = value %}}")
            body.append(SetTag(match.group(1), parse_expression(match.group(2))))
            index += 1
        else:
            raise PebbleError(f"unsupported tag {{% {value.strip()} %}}")
    if stop:
        raise PebbleError(f"missing {{% {stop[-1]} %}}")
    return tuple(body), index


def _expect_tag(segments: list[tuple[str, str]], index: int, word: str) -> None:
    if index >= len(segments) or _tag_word(segments[index][1])[0] != word:
        raise PebbleError(f"missing {{% {word} %}}")


def _parse_if(segments: list[tuple[str, str]], index: int, condition: str) -> tuple[IfBlock, int]:
    branches: list[tuple[Node, tuple[Node, ...]]] = []
    current: Node | None = parse_expression(condition)
    index += 1
    while True:
        inner, index = _parse_body(segments, index, ("elseif", "else", "endif"))
        branches.append((current, inner))  # type: ignore[arg-type]
        if index >= len(segments):
            raise PebbleError("missing {% endif %}")
        word, rest = _tag_word(segments[index][1])
        index += 1
        if word == "endif":
            return IfBlock(tuple(branches)), index
        current = parse_expression(rest) if word == "elseif" else None


def has_template(value: str) -> bool:
    return bool(_DELIMITER.search(value))


# ---- evaluation (tests) ---------------------------------------------------------------

Function = Callable[..., Any]


@dataclass
class Context:
    """Variables (inputs, vars, outputs, trigger, ...) and the functions a render may call."""

    variables: dict[str, Any]
    functions: dict[str, Function] = field(default_factory=dict)

    def child(self, **extra: Any) -> Context:
        return Context({**self.variables, **extra}, self.functions)


class _Undefined(Exception):
    pass


def render(source: str, context: Context) -> str:
    """Render like Kestra (strict variables: an unknown name is an error, not an empty string)."""
    return "".join(_render_body(parse_template(source).body, context))


def evaluate(source: str, context: Context) -> Any:
    """The value of a single expression (what Kestra does for `condition:` and friends)."""
    return _eval(parse_expression(source), context)


def _render_body(body: tuple[Node, ...], context: Context) -> Iterator[str]:
    for node in body:
        if isinstance(node, Text):
            yield node.text
        elif isinstance(node, Output):
            yield to_text(_eval(node.expr, context))
        elif isinstance(node, IfBlock):
            for condition, inner in node.branches:
                if condition is None or truthy(_eval(condition, context)):
                    yield from _render_body(inner, context)
                    break
        elif isinstance(node, ForBlock):
            items = list(_iterable(_eval(node.iterable, context)))
            for number, item in enumerate(items):
                loop = {"index": number, "first": number == 0, "last": number == len(items) - 1, "length": len(items)}
                yield from _render_body(node.body, context.child(**{node.var: item, "loop": loop}))
            if not items:
                yield from _render_body(node.otherwise, context)
        elif isinstance(node, SetTag):
            context.variables[node.var] = _eval(node.expr, context)


def _iterable(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        return iter(value.keys())
    if isinstance(value, (list, tuple, range)):
        return iter(value)
    raise PebbleError(f"cannot loop over {value!r}")


def to_text(value: Any) -> str:
    """How Pebble prints a value into the rendered string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def truthy(value: Any) -> bool:
    """Kestra's coercion for conditions: '', 'false', 0 and null are false."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "-0")
    return bool(value)


def _eval(node: Node, context: Context) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        if node.name not in context.variables:
            raise PebbleError(f"variable '{node.name}' does not exist")
        return context.variables[node.name]
    if isinstance(node, Attr):
        return _attribute(_eval(node.target, context), node.name, node)
    if isinstance(node, Item):
        return _attribute(_eval(node.target, context), _eval(node.key, context), node)
    if isinstance(node, Call):
        function = context.functions.get(node.name) or _FUNCTIONS.get(node.name)
        if function is None:
            raise PebbleError(f"function '{node.name}' is not available in this render")
        args = [_eval(a, context) for a in node.args]
        kwargs = {k: _eval(v, context) for k, v in node.kwargs}
        if node.name == "render":
            return _render_function(context, *args, **kwargs)
        return function(*args, **kwargs)
    if isinstance(node, Filter):
        implementation = _FILTERS.get(node.name)
        if implementation is None:
            raise PebbleError(f"filter '{node.name}' is not implemented by this renderer")
        value = _eval(node.target, context)
        return implementation(
            value, *[_eval(a, context) for a in node.args], **{k: _eval(v, context) for k, v in node.kwargs}
        )
    if isinstance(node, Test):
        return _test(node, context) != node.negated
    if isinstance(node, Unary):
        value = _eval(node.operand, context)
        if node.op == "not":
            return not truthy(value)
        return -value if node.op == "-" else +value
    if isinstance(node, Ternary):
        return _eval(node.then if truthy(_eval(node.condition, context)) else node.otherwise, context)
    if isinstance(node, ListLit):
        return [_eval(i, context) for i in node.items]
    if isinstance(node, MapLit):
        return {_eval(k, context): _eval(v, context) for k, v in node.items}
    if isinstance(node, Binary):
        return _binary(node, context)
    raise PebbleError(f"cannot evaluate {node!r}")


def _attribute(value: Any, key: Any, node: Node) -> Any:
    if isinstance(value, Mapping):
        if key not in value:
            raise PebbleError(f"key '{key}' does not exist (in {_describe(node)})")
        return value[key]
    if isinstance(value, (list, tuple)) and isinstance(key, (int, str)) and str(key).isdigit():
        return value[int(key)]
    raise PebbleError(f"cannot read '{key}' of {type(value).__name__} (in {_describe(node)})")


def _describe(node: Node) -> str:
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Attr):
        return f"{_describe(node.target)}.{node.name}"
    if isinstance(node, Item):
        return f"{_describe(node.target)}[...]"
    return type(node).__name__


def _test(node: Test, context: Context) -> bool:
    if node.name in ("defined", "null"):
        try:
            value = _eval(node.target, context)
        except PebbleError:
            return node.name == "null"
        return True if node.name == "defined" else value is None
    value = _eval(node.target, context)
    if node.name == "empty":
        return value is None or (hasattr(value, "__len__") and len(value) == 0)
    if node.name in ("even", "odd"):
        return (int(value) % 2 == 0) == (node.name == "even")
    raise PebbleError(f"test '{node.name}' is not implemented by this renderer")


def _number(value: Any) -> int | Decimal:
    if isinstance(value, bool):
        raise PebbleError(f"{value!r} is not a number")
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    raise PebbleError(f"{value!r} is not a number (use the | number filter)")


def _binary(node: Binary, context: Context) -> Any:
    op = node.op
    if op in ("??", "???"):
        try:
            value = _eval(node.left, context)
        except PebbleError:
            return _eval(node.right, context)
        return _eval(node.right, context) if value is None else value
    left = _eval(node.left, context)
    if op == "and":
        return truthy(left) and truthy(_eval(node.right, context))
    if op == "or":
        return truthy(left) or truthy(_eval(node.right, context))
    right = _eval(node.right, context)
    if op == "~":
        return to_text(left) + to_text(right)
    if op in ("==", "equals"):
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    if op == "contains":
        return right in left
    if op == "..":
        return list(range(int(left), int(right) + 1))
    a, b = _number(left), _number(right)
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return Decimal(a) / Decimal(b)
    if op == "%":
        return a % b
    raise PebbleError(f"operator {op!r} is not implemented by this renderer")


def _same(left: Any, right: Any) -> bool:
    numeric = (int, Decimal, float)
    if isinstance(left, numeric) and isinstance(right, numeric) and not isinstance(left, bool):
        return Decimal(str(left)) == Decimal(str(right))
    return bool(left == right)


def _render_function(context: Context, value: Any, recursive: bool = True) -> Any:
    """Kestra's render(): render a string again (recursively) with the same context."""
    if not isinstance(value, str):
        return value
    for _ in range(20):
        rendered = render(value, context)
        if not recursive or rendered == value or not has_template(rendered):
            return rendered
        value = rendered
    raise PebbleError("render() did not settle after 20 passes")


# ---- dates (Java DateTimeFormatter letters used in flows) -------------------------------

_JAVA_PATTERN = re.compile(r"'[^']*'|y+|M+|d+|H+|m+|s+|S+|[A-Za-z]+|[^A-Za-z']+")


def _java_format(moment: datetime | date, pattern: str) -> str:
    out: list[str] = []
    for piece in _JAVA_PATTERN.findall(pattern):
        letter = piece[0]
        if piece.startswith("'"):
            out.append(piece[1:-1] or "'")
        elif letter == "y":
            out.append(f"{moment.year:04d}" if len(piece) != 2 else f"{moment.year % 100:02d}")
        elif letter == "M" and len(piece) <= 2:
            out.append(f"{moment.month:0{len(piece)}d}")
        elif letter == "d" and len(piece) <= 2:
            out.append(f"{moment.day:0{len(piece)}d}")
        elif letter in "HmsS" and isinstance(moment, datetime):
            value = {"H": moment.hour, "m": moment.minute, "s": moment.second, "S": moment.microsecond // 1000}[letter]
            out.append(f"{value:0{len(piece)}d}")
        elif letter.isalpha():
            raise PebbleError(f"date pattern letter {piece!r} is not implemented by this renderer")
        else:
            out.append(piece)
    return "".join(out)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise PebbleError(f"{value!r} is not a date")


def _date_filter(value: Any, pattern: str | None = None, *, timeZone: str | None = None, **named: Any) -> str:
    """`| date('yyyy-MM', timeZone='America/New_York')`; without a pattern, ISO 8601."""
    pattern = named.pop("format", pattern)
    moment = _as_datetime(value)
    if timeZone is not None:
        zone = ZoneInfo(timeZone)
        moment = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    elif moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo("UTC"))  # Kestra's default zone is the server's (UTC)
    return moment.isoformat() if pattern is None else _java_format(moment, pattern)


def _date_add(value: Any, amount: int, unit: str) -> datetime:
    moment = _as_datetime(value)
    unit = unit.upper()
    if unit in ("DAYS", "HOURS", "MINUTES", "SECONDS", "WEEKS"):
        return moment + timedelta(**{unit.lower(): int(amount)})
    if unit in ("MONTHS", "YEARS"):
        months = moment.month - 1 + int(amount) * (12 if unit == "YEARS" else 1)
        return moment.replace(year=moment.year + months // 12, month=months % 12 + 1)
    raise PebbleError(f"dateAdd unit {unit!r} is not implemented by this renderer")


def _number_filter(value: Any, kind: str | None = None) -> int | Decimal:
    text = str(value).strip()
    try:
        number = Decimal(text)
    except Exception:
        raise PebbleError(f"'{value}' is not a number") from None
    if kind in ("INT", "LONG") or (kind is None and number == number.to_integral_value() and "." not in text):
        return int(number)
    return number


_FILTERS: dict[str, Function] = {
    "date": _date_filter,
    "dateAdd": _date_add,
    "number": _number_filter,
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: str(v).lower(),
    "trim": lambda v: str(v).strip(),
    "length": lambda v: len(v),
    "default": lambda v, d: d if v in (None, "") else v,
    "join": lambda v, sep="": sep.join(to_text(x) for x in v),
    "replace": lambda v, mapping: _replace(str(v), mapping),
    "first": lambda v: v[0],
    "last": lambda v: v[-1],
    "toJson": lambda v: json.dumps(v, separators=(",", ":"), default=str),
    "json": lambda v: json.dumps(v, separators=(",", ":"), default=str),
    "abs": lambda v: abs(_number(v)),
    "keys": lambda v: list(v.keys()),
    "values": lambda v: list(v.values()),
}


def _replace(text: str, mapping: Mapping[str, str]) -> str:
    for old, new in mapping.items():
        text = text.replace(old, new)
    return text


_FUNCTIONS: dict[str, Function] = {
    "render": lambda value: value,  # handled in _eval with the context
    "range": lambda start, end, step=1: list(range(int(start), int(end) + 1, int(step))),
    "fromJson": json.loads,
    "max": max,
    "min": min,
}
