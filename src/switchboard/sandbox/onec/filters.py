"""`$filter`, `$orderby` and entity keys: the OData v3 expression language as 1C reads it.

Text is parsed with a lark LALR grammar into a small AST, then compiled against an entity
definition into plain Python closures. Compiling is where 1C's strictness lives: an unknown
property, a Guid compared with a string, a function 1C does not have — each is a code-14 error
before any record is read, as on a real base.

Semantics follow 1C's translation of the filter into its query language (and so into SQL):
string comparisons ignore case, a missing referenced object reads as NULL, and a comparison with
NULL is unknown, which never selects a record (not even under `not`). Only a literal `null`
compares as "is null".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from switchboard.sandbox.onec.entities import NUMERIC_TYPES, Edm, EntityDef, Property
from switchboard.sandbox.onec.errors import ODataError, query_option_error
from switchboard.sandbox.onec.values import (
    BadValue,
    Record,
    Scalar,
    canonical_datetime,
    format_datetime,
    parse_datetime,
)

GRAMMAR = r"""
?filter: expr

orderby: order_item ("," order_item)*
order_item: expr direction?
!direction: "asc" | "desc"

keys: literal                   -> single_key
    | key_pair ("," key_pair)*  -> named_keys
key_pair: NAME "=" literal

?expr: or_expr
?or_expr: and_expr
        | or_expr "or" and_expr       -> or_
?and_expr: eq_expr
         | and_expr "and" eq_expr     -> and_
?eq_expr: rel_expr
        | eq_expr eq_op rel_expr      -> binary
?rel_expr: add_expr
         | rel_expr rel_op add_expr   -> binary
?add_expr: mul_expr
         | add_expr add_op mul_expr   -> binary
?mul_expr: unary
         | mul_expr mul_op unary      -> binary
?unary: primary
      | "not" unary                   -> not_
      | "-" unary                     -> neg
?primary: literal
        | member
        | call
        | lambda_
        | "(" expr ")"

!eq_op: "eq" | "ne"
!rel_op: "gt" | "ge" | "lt" | "le"
!add_op: "add" | "sub"
!mul_op: "mul" | "div"

member: NAME ("/" NAME)*
call: NAME "(" arguments? ")"
arguments: expr ("," expr)*
lambda_: NAME ("/" NAME)* "/" quantifier "(" (NAME ":" expr)? ")"
!quantifier: "any" | "all"

literal: GUID_LITERAL      -> guid_literal
       | DATETIME_LITERAL  -> datetime_literal
       | STRING_LITERAL    -> string_literal
       | NUMBER_LITERAL    -> number_literal
       | "true"            -> true_literal
       | "false"           -> false_literal
       | "null"            -> null_literal

GUID_LITERAL.3: /guid'[^']*'/
DATETIME_LITERAL.3: /datetime'[^']*'/
STRING_LITERAL: /'(?:[^']|'')*'/
NUMBER_LITERAL: /\d+(\.\d+)?([eE][+-]?\d+)?[LlMmDdFf]?/
NAME: /[^\W\d]\w*/

%ignore /[ \t\r\n]+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", start=["filter", "orderby", "keys"])
_GUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class ValueKind(Enum):
    GUID = "Guid"
    DATETIME = "DateTime"
    STRING = "String"
    BOOLEAN = "Boolean"
    NUMBER = "Number"
    NULL = "Null"


def kind_of(edm: Edm) -> ValueKind:
    if edm is Edm.GUID:
        return ValueKind.GUID
    if edm is Edm.DATETIME:
        return ValueKind.DATETIME
    if edm is Edm.BOOLEAN:
        return ValueKind.BOOLEAN
    if edm in NUMERIC_TYPES:
        return ValueKind.NUMBER
    return ValueKind.STRING


# --- the syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Scalar
    kind: ValueKind


@dataclass(frozen=True)
class Member:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "neg"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # eq ne gt ge lt le add sub mul div
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Lambda:
    collection: tuple[str, ...]
    quantifier: str  # "any" | "all"
    variable: str | None
    body: Node | None


Node = Literal | Member | Call | Unary | Binary | BoolOp | Lambda


@dataclass(frozen=True)
class OrderItem:
    expr: Node
    descending: bool


class _SyntaxProblem(Exception):
    """A literal that lexes but means nothing (a malformed GUID or date)."""


@v_args(inline=True)
class _ToAst(Transformer[Token, Any]):
    def guid_literal(self, token: Token) -> Literal:
        inner = str(token)[5:-1]
        if not _GUID_TEXT.fullmatch(inner):
            raise _SyntaxProblem(f"{token} is not a GUID literal")
        return Literal(inner.lower(), ValueKind.GUID)

    def datetime_literal(self, token: Token) -> Literal:
        try:
            return Literal(canonical_datetime(str(token)[9:-1]), ValueKind.DATETIME)
        except BadValue as exc:
            raise _SyntaxProblem(str(exc)) from None

    def string_literal(self, token: Token) -> Literal:
        return Literal(str(token)[1:-1].replace("''", "'"), ValueKind.STRING)

    def number_literal(self, token: Token) -> Literal:
        digits = str(token)
        suffix = digits[-1] if digits[-1] in "LlMmDdFf" else ""
        digits = digits.removesuffix(suffix) if suffix else digits
        if suffix in ("", "L", "l") and digits.isdigit():
            return Literal(int(digits), ValueKind.NUMBER)
        return Literal(float(digits), ValueKind.NUMBER)

    def true_literal(self) -> Literal:
        return Literal(True, ValueKind.BOOLEAN)

    def false_literal(self) -> Literal:
        return Literal(False, ValueKind.BOOLEAN)

    def null_literal(self) -> Literal:
        return Literal(None, ValueKind.NULL)

    def member(self, *names: Token) -> Member:
        return Member(tuple(str(name) for name in names))

    def arguments(self, *args: Node) -> tuple[Node, ...]:
        return args

    def call(self, name: Token, args: tuple[Node, ...] = ()) -> Call:
        return Call(str(name), args)

    def lambda_(self, *parts: Any) -> Lambda:
        names: list[str] = []
        index = 0
        while isinstance(parts[index], Token) and parts[index].type == "NAME":
            names.append(str(parts[index]))
            index += 1
        quantifier = str(parts[index])
        rest = parts[index + 1 :]
        variable = str(rest[0]) if rest else None
        body: Node | None = rest[1] if rest else None
        return Lambda(tuple(names), quantifier, variable, body)

    def quantifier(self, token: Token) -> str:
        return str(token)

    def eq_op(self, token: Token) -> str:
        return str(token)

    rel_op = add_op = mul_op = eq_op

    def direction(self, token: Token) -> str:
        return str(token)

    def binary(self, left: Node, op: str, right: Node) -> Binary:
        return Binary(op, left, right)

    def or_(self, left: Node, right: Node) -> BoolOp:
        return _flatten("or", left, right)

    def and_(self, left: Node, right: Node) -> BoolOp:
        return _flatten("and", left, right)

    def not_(self, operand: Node) -> Unary:
        return Unary("not", operand)

    def neg(self, operand: Node) -> Node:
        # A negative number literal, not "minus a literal": keeps key and set lookups simple.
        if isinstance(operand, Literal) and operand.kind is ValueKind.NUMBER:
            assert isinstance(operand.value, int | float)
            return Literal(-operand.value, ValueKind.NUMBER)
        return Unary("neg", operand)

    def order_item(self, expr: Node, direction: str | None = None) -> OrderItem:
        return OrderItem(expr, direction == "desc")

    def orderby(self, *items: OrderItem) -> list[OrderItem]:
        return list(items)

    def single_key(self, literal: Literal) -> Literal:
        return literal

    def key_pair(self, name: Token, literal: Literal) -> tuple[str, Literal]:
        return str(name), literal

    def named_keys(self, *pairs: tuple[str, Literal]) -> dict[str, Literal]:
        return dict(pairs)


def _flatten(op: str, left: Node, right: Node) -> BoolOp:
    # A 40-term "or" becomes one node, not a 40-deep tree.
    operands = left.operands if isinstance(left, BoolOp) and left.op == op else (left,)
    return BoolOp(op, (*operands, right))


def _parse(text: str, start: str, option: str) -> Any:
    try:
        tree = _PARSER.parse(text, start=start)
        return _ToAst().transform(tree)
    except VisitError as exc:
        raise query_option_error(option, str(exc.orig_exc)) from None
    except LarkError as exc:
        raise query_option_error(option, _first_line(str(exc))) from None


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "syntax error"


@lru_cache(maxsize=512)
def parse_filter(text: str, option: str = "$filter") -> Node:
    node: Node = _parse(text, "filter", option)
    return node


@lru_cache(maxsize=256)
def parse_orderby(text: str) -> tuple[OrderItem, ...]:
    items: list[OrderItem] = _parse(text, "orderby", "$orderby")
    return tuple(items)


def parse_key(text: str) -> Literal | dict[str, Literal]:
    """The inside of `Entity(...)`: one literal, or `Name=literal` pairs."""
    try:
        tree = _PARSER.parse(text, start="keys")
        result: Literal | dict[str, Literal] = _ToAst().transform(tree)
    except (LarkError, _SyntaxProblem) as exc:
        raise ValueError(_first_line(str(exc))) from None
    return result


# --- compiling ---------------------------------------------------------------------------------

Lookup = Callable[[str, str], Record | None]


@dataclass
class Scope:
    """What an expression is evaluated against: the record, a way to follow references, and
    the rows bound to lambda variables."""

    record: Record
    lookup: Lookup
    variables: dict[str, Record] = field(default_factory=dict)


Evaluator = Callable[[Scope], Any]


@dataclass(frozen=True)
class Typed:
    kind: ValueKind
    evaluate: Evaluator
    # The literal null: compared with it, `eq` means "is null" rather than "unknown".
    is_null_literal: bool = False


Predicate = Callable[[Scope], bool]
Registry = Mapping[str, EntityDef]


class _Compiler:
    def __init__(self, entity: EntityDef, registry: Registry, option: str) -> None:
        self.entity = entity
        self.registry = registry
        self.option = option
        self.variables: dict[str, EntityDef] = {}

    def error(self, detail: str) -> ODataError:
        return query_option_error(self.option, detail)

    def compile(self, node: Node) -> Typed:
        if isinstance(node, Literal):
            value = node.value
            return Typed(node.kind, lambda _scope: value, node.kind is ValueKind.NULL)
        if isinstance(node, Member):
            return self.member(node.path)
        if isinstance(node, BoolOp):
            return self.bool_op(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        return self.lambda_(node)

    # members and navigation

    def member(self, path: tuple[str, ...]) -> Typed:
        entity, read_root, rest = self._root(path)
        steps: list[tuple[str, str]] = []  # (reference property, target entity set)
        for position, name in enumerate(rest):
            last = position == len(rest) - 1
            prop = entity.prop(name)
            if prop is not None and last:
                return Typed(kind_of(prop.type), _reader(read_root, steps, prop.name))
            reference = entity.navigation(name)
            if reference is not None and not last and reference.target is not None:
                steps.append((reference.name, reference.target))
                entity = self.registry[reference.target]
                continue
            if entity.tabular_section(name) is not None:
                raise self.error(f"tabular section {name} can only be used with any() or all()")
            if reference is not None:
                raise self.error(f"navigation property {name} is not a value; use {name}_Key")
            raise self.error(f"property {name} not found in {entity.name}")
        raise self.error("empty property path")

    def _root(self, path: tuple[str, ...]) -> tuple[EntityDef, Evaluator, tuple[str, ...]]:
        head = path[0]
        if head in self.variables:
            if len(path) == 1:
                raise self.error(f"lambda variable {head} is not a value")

            def read_variable(scope: Scope) -> Record | None:
                return scope.variables.get(head)

            return self.variables[head], read_variable, path[1:]

        def read_record(scope: Scope) -> Record:
            return scope.record

        return self.entity, read_record, path

    # logic

    def bool_op(self, node: BoolOp) -> Typed:
        operands = [self.compile(operand) for operand in node.operands]
        for operand in operands:
            self._require(operand, ValueKind.BOOLEAN, node.op)
        if node.op == "or":
            fast = self._membership(node)
            if fast is not None:
                return fast
            return Typed(ValueKind.BOOLEAN, _any_true([o.evaluate for o in operands]))
        return Typed(ValueKind.BOOLEAN, _all_true([o.evaluate for o in operands]))

    def _membership(self, node: BoolOp) -> Typed | None:
        """`X eq a or X eq b or …` (the 40-key batch reads) as one set lookup."""
        path: tuple[str, ...] | None = None
        values: set[Scalar] = set()
        for operand in node.operands:
            if not (isinstance(operand, Binary) and operand.op == "eq"):
                return None
            member, literal = operand.left, operand.right
            if isinstance(member, Literal):
                member, literal = literal, member
            if not isinstance(member, Member) or not isinstance(literal, Literal):
                return None
            if literal.kind is ValueKind.NULL or (path is not None and member.path != path):
                return None
            path = member.path
            values.add(_fold(literal.value))
        if path is None:
            return None
        read = self.member(path).evaluate

        def contains(scope: Scope) -> bool | None:
            value = read(scope)
            return None if value is None else _fold(value) in values

        return Typed(ValueKind.BOOLEAN, contains)

    def unary(self, node: Unary) -> Typed:
        operand = self.compile(node.operand)
        read = operand.evaluate
        if node.op == "not":
            self._require(operand, ValueKind.BOOLEAN, "not")

            def negate(scope: Scope) -> bool | None:
                value = read(scope)
                return None if value is None else not value

            return Typed(ValueKind.BOOLEAN, negate)
        self._require(operand, ValueKind.NUMBER, "-")

        def minus(scope: Scope) -> Any:
            value = read(scope)
            return None if value is None else -value

        return Typed(ValueKind.NUMBER, minus)

    def binary(self, node: Binary) -> Typed:
        left, right = self.compile(node.left), self.compile(node.right)
        if node.op in ("add", "sub", "mul", "div"):
            self._require(left, ValueKind.NUMBER, node.op)
            self._require(right, ValueKind.NUMBER, node.op)
            return Typed(ValueKind.NUMBER, _arithmetic(node.op, left.evaluate, right.evaluate))
        self._check_comparable(node.op, left, right)
        if left.is_null_literal or right.is_null_literal:
            return Typed(ValueKind.BOOLEAN, _null_test(node.op, left, right))
        return Typed(ValueKind.BOOLEAN, _comparison(node.op, left.evaluate, right.evaluate))

    def _check_comparable(self, op: str, left: Typed, right: Typed) -> None:
        kinds = {left.kind, right.kind}
        if ValueKind.NULL in kinds:
            if op not in ("eq", "ne"):
                raise self.error(f"null can only be compared with eq or ne, not {op}")
            return
        if left.kind is not right.kind:
            raise self.error(
                f"incompatible types in {op}: {left.kind.value} and {right.kind.value}"
            )
        if left.kind is ValueKind.BOOLEAN and op not in ("eq", "ne"):
            raise self.error(f"booleans can only be compared with eq or ne, not {op}")

    def _require(self, typed: Typed, kind: ValueKind, where: str) -> None:
        if typed.kind is not kind and typed.kind is not ValueKind.NULL:
            raise self.error(f"{where} needs {kind.value}, got {typed.kind.value}")

    # functions

    def call(self, node: Call) -> Typed:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise self.error(f"function {node.name} is not supported")
        args = [self.compile(arg) for arg in node.args]
        if len(args) not in function.arities:
            raise self.error(f"{node.name}() takes {' or '.join(map(str, function.arities))} args")
        for arg, kind in zip(args, function.params, strict=False):
            self._require(arg, kind, f"{node.name}()")
        readers = [arg.evaluate for arg in args]
        implementation = function.implementation

        def invoke(scope: Scope) -> Any:
            values = [read(scope) for read in readers]
            if any(value is None for value in values):
                return None
            return implementation(*values)

        return Typed(function.result, invoke)

    # lambdas over tabular sections

    def lambda_(self, node: Lambda) -> Typed:
        entity, read_root, rest = self._root(node.collection)
        *navigation, section_name = rest
        if navigation or entity.tabular_section(section_name) is None:
            raise self.error(f"{'/'.join(node.collection)} is not a tabular section")
        rows_entity = self.registry[f"{entity.name}_{section_name}"]
        quantifier = node.quantifier
        if node.body is None or node.variable is None:
            if quantifier == "all":
                raise self.error("all() needs a condition")

            def not_empty(scope: Scope) -> bool | None:
                owner = read_root(scope)
                return None if owner is None else bool(owner.get(section_name))

            return Typed(ValueKind.BOOLEAN, not_empty)
        variable = node.variable
        self.variables[variable] = rows_entity
        try:
            body = self.compile(node.body)
        finally:
            del self.variables[variable]
        self._require(body, ValueKind.BOOLEAN, quantifier)
        return Typed(
            ValueKind.BOOLEAN, _quantify(quantifier, variable, section_name, read_root, body)
        )


def _reader(read_root: Evaluator, steps: list[tuple[str, str]], name: str) -> Evaluator:
    def read(scope: Scope) -> Any:
        record: Record | None = read_root(scope)
        for reference, target in steps:
            if record is None:
                return None
            key = record.get(reference)
            record = scope.lookup(target, key) if isinstance(key, str) else None
        return None if record is None else record.get(name)

    return read


def _quantify(
    quantifier: str, variable: str, section: str, read_root: Evaluator, body: Typed
) -> Evaluator:
    test = body.evaluate

    def evaluate(scope: Scope) -> bool | None:
        owner = read_root(scope)
        if owner is None:
            return None
        results = []
        for row in owner.get(section) or []:
            inner = Scope(scope.record, scope.lookup, {**scope.variables, variable: row})
            results.append(test(inner) is True)
        return any(results) if quantifier == "any" else all(results)

    return evaluate


def _any_true(parts: list[Evaluator]) -> Evaluator:
    def evaluate(scope: Scope) -> bool | None:
        unknown = False
        for part in parts:
            value = part(scope)
            if value is True:
                return True
            unknown = unknown or value is None
        return None if unknown else False

    return evaluate


def _all_true(parts: list[Evaluator]) -> Evaluator:
    def evaluate(scope: Scope) -> bool | None:
        unknown = False
        for part in parts:
            value = part(scope)
            if value is False:
                return False
            unknown = unknown or value is None
        return None if unknown else True

    return evaluate


def _fold(value: Any) -> Any:
    # 1C compares strings without regard to case (its databases use case-insensitive collations).
    return value.casefold() if isinstance(value, str) else value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _comparison(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    compare = _COMPARE[op]

    def evaluate(scope: Scope) -> bool | None:
        a, b = left(scope), right(scope)
        if a is None or b is None:
            return None
        return compare(_fold(a), _fold(b))

    return evaluate


def _null_test(op: str, left: Typed, right: Typed) -> Evaluator:
    other = right.evaluate if left.is_null_literal else left.evaluate
    want_null = op == "eq"

    def evaluate(scope: Scope) -> bool:
        return (other(scope) is None) == want_null

    return evaluate


def _arithmetic(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def evaluate(scope: Scope) -> Any:
        a, b = left(scope), right(scope)
        if a is None or b is None:
            return None
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        return None if b == 0 else a / b

    return evaluate


# --- the function library ----------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    params: tuple[ValueKind, ...]
    result: ValueKind
    implementation: Callable[..., Any]
    arities: tuple[int, ...]


def _function(result: ValueKind, *params: ValueKind, optional: int = 0) -> Callable[..., Function]:
    def wrap(implementation: Callable[..., Any]) -> Function:
        arities = tuple(range(len(params) - optional, len(params) + 1))
        return Function(params, result, implementation, arities)

    return wrap


S, N, D, B = ValueKind.STRING, ValueKind.NUMBER, ValueKind.DATETIME, ValueKind.BOOLEAN


def _like_regex(template: str) -> re.Pattern[str]:
    """1C's ПОДОБНО: % any run, _ one character, [abc] [a-z] [^abc] sets."""
    parts: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        closing = template.find("]", index + 1) if char == "[" else -1
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif closing > index + 1:
            body = template[index + 1 : closing]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = re.escape(body).replace(r"\-", "-")
            parts.append(f"[{'^' if negate else ''}{escaped}]")
            index = closing
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _substring(text: str, start: int, length: int | None = None) -> str:
    # 1C counts positions from 1 (the guide's example: substring(ИНН, 1, 2) eq '77').
    begin = max(int(start), 1) - 1
    return text[begin:] if length is None else text[begin : begin + max(int(length), 0)]


def _round(number: float) -> int:
    return int(Decimal(str(number)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _dateadd(text: str, unit: str, amount: float) -> str:
    moment, count = parse_datetime(text), int(amount)
    if unit in _SECONDS:
        return format_datetime(moment + timedelta(seconds=_SECONDS[unit] * count))
    months = {"month": 1, "quarter": 3, "year": 12}.get(unit)
    if months is None:
        raise ValueError(f"unknown dateadd unit {unit}")
    return format_datetime(_add_months(moment, months * count))


def _truncate(moment: datetime, unit: str) -> datetime:
    if unit == "second":
        return moment
    if unit == "minute":
        return moment.replace(second=0)
    if unit == "hour":
        return moment.replace(minute=0, second=0)
    return moment.replace(hour=0, minute=0, second=0)


def _datedifference(first: str, second: str, unit: str) -> int | None:
    a, b = parse_datetime(first), parse_datetime(second)
    if unit in _SECONDS:
        delta = _truncate(b, unit) - _truncate(a, unit)
        return int(delta.total_seconds()) // _SECONDS[unit]
    if unit == "month":
        return (b.year - a.year) * 12 + b.month - a.month
    if unit == "quarter":
        return (b.year - a.year) * 4 + (b.month - 1) // 3 - (a.month - 1) // 3
    if unit == "year":
        return b.year - a.year
    return None


def _part(extract: Callable[[datetime], int]) -> Callable[[str], int]:
    return lambda text: extract(parse_datetime(text))


FUNCTIONS: dict[str, Function] = {
    "substringof": _function(B, S, S)(lambda needle, hay: needle.casefold() in hay.casefold()),
    "startswith": _function(B, S, S)(
        lambda text, head: text.casefold().startswith(head.casefold())
    ),
    "endswith": _function(B, S, S)(lambda text, tail: text.casefold().endswith(tail.casefold())),
    "like": _function(B, S, S)(lambda text, template: bool(_like_regex(template).fullmatch(text))),
    "concat": _function(S, S, S)(lambda a, b: a + b),
    "substring": _function(S, S, N, N, optional=1)(_substring),
    "year": _function(N, D)(_part(lambda m: m.year)),
    "month": _function(N, D)(_part(lambda m: m.month)),
    "day": _function(N, D)(_part(lambda m: m.day)),
    "hour": _function(N, D)(_part(lambda m: m.hour)),
    "minute": _function(N, D)(_part(lambda m: m.minute)),
    "second": _function(N, D)(_part(lambda m: m.second)),
    "quarter": _function(N, D)(_part(lambda m: (m.month - 1) // 3 + 1)),
    # 1C counts weekdays from Monday = 1 to Sunday = 7.
    "dayofweek": _function(N, D)(_part(lambda m: m.isoweekday())),
    "dayofyear": _function(N, D)(_part(lambda m: m.timetuple().tm_yday)),
    "round": _function(N, N)(_round),
    "dateadd": _function(D, D, S, N)(_dateadd),
    "datedifference": _function(N, D, D, S)(_datedifference),
}


# --- entry points ------------------------------------------------------------------------------


def compile_filter(
    text: str, entity: EntityDef, registry: Registry, *, option: str = "$filter"
) -> Predicate:
    """A predicate for `$filter=text` on `entity`, or a code-14 `ODataError`. `option` names
    where the condition came from in error messages (`Condition` of a virtual table)."""
    compiler = _Compiler(entity, registry, option)
    typed = compiler.compile(parse_filter(text, option))
    if typed.kind is not ValueKind.BOOLEAN:
        raise compiler.error(f"the condition is {typed.kind.value}, not Boolean")
    evaluate = typed.evaluate

    def predicate(scope: Scope) -> bool:
        return evaluate(scope) is True

    return predicate


@dataclass(frozen=True)
class SortKey:
    evaluate: Evaluator
    descending: bool


def compile_orderby(text: str, entity: EntityDef, registry: Registry) -> list[SortKey]:
    compiler = _Compiler(entity, registry, "$orderby")
    keys: list[SortKey] = []
    for item in parse_orderby(text):
        typed = compiler.compile(item.expr)
        keys.append(SortKey(_sortable(typed.evaluate), item.descending))
    return keys


def _sortable(read: Evaluator) -> Evaluator:
    # NULLs (missing references) sort first; strings sort without regard to case.
    def key(scope: Scope) -> tuple[bool, Any]:
        value = read(scope)
        return (value is not None, _fold(value))

    return key


def key_value(prop: Property, literal: Literal) -> Scalar:
    """A key literal from a URL, checked against the key property's type."""
    if literal.kind is not kind_of(prop.type):
        raise ValueError(f"{prop.name} needs a {kind_of(prop.type).value} literal")
    return literal.value
