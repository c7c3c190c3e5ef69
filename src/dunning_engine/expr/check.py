"""Static type checking: ``check(node, schema, origin) -> Type``.

The checker walks a syntax tree once, computes the type of every node and
raises a located :class:`PolicyError` for the first refusal. It also records
the number literals that are read as money (``balance > 50000`` in a CLP
policy reads ``50000 CLP``), which the compiler needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import Location, Origin, PolicyError, did_you_mean
from ..values import Duration
from . import ast as A
from .parser import FUNCTIONS
from .printer import format_decimal, unparse
from .schema import COMMON_VARIABLES, CUSTOMER_SCOPE_VARIABLES, Schema
from .types import (ANY, BOOL, DATE, DATETIME, DURATION, NULL, NUMBER, PERCENT, TEXT, ListType, MoneyType,
                    RecordType, Type, describe, is_assignable)

__all__ = ["check", "Analysis", "Checker", "literal_number", "column_locator", "DURATION_LIMITS", "duration_too_long",
           "unknown_duration_unit"]

_ORDERED = {"number", "money", "percent", "date", "datetime", "duration", "text"}
_ARITH_VERB = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


#: The longest duration a policy may write, per unit: 300 years (of 365.25 days; weeks and business
#: days derived from the days). Dates are limited to the years 1900-2200 (SPEC §5, §12): a longer
#: duration takes any date of that range out of it (docs/decisions.md, "Durations").
DURATION_LIMITS = {"days": 109_575, "weeks": 15_653, "months": 3_600, "business_days": 78_267}


def duration_too_long(value: Duration) -> PolicyError | None:
    """The error (without a location) for a duration longer than ``DURATION_LIMITS`` allows, or None."""
    limit = DURATION_LIMITS[value.unit]
    if abs(value.amount) <= limit:
        return None
    return PolicyError(f"duration too long: '{value}' (at most {limit} {value.unit.replace('_', ' ')})",
                       help="dates stay within the years 1900-2200, so a duration is at most 300 years",
                       code="duration-too-long")


_UNITS = "use day(s), week(s), month(s) or business day(s)"
_UNIT_WORDS = frozenset({"day", "days", "week", "weeks", "month", "months"})
_UNIT_HINTS = {"year": "write 12 months for a year", "years": "write 12 months for a year",
               "hour": "durations count whole days", "hours": "durations count whole days",
               "minute": "durations count whole days", "minutes": "durations count whole days",
               "fortnight": "write 2 weeks", "fortnights": "write 2 weeks", "quarter": "write 3 months",
               "quarters": "write 3 months", "business": "write business days, e.g. 5 business days"}
_WORD_AFTER = re.compile(r"(business[ \t]+)?([a-z_][a-z0-9_]*)")


def unknown_duration_unit(text: str, pos: int) -> tuple[str, str | None, int] | None:
    """For the word at ``pos`` of ``text``, right after a whole number (``due - 5 dias``): the message,
    the help and the length of the words to underline, when the author meant a duration; None when
    the word is a unit, a variable or a function (then something else is wrong)."""
    m = _WORD_AFTER.match(text, pos)
    if m is None:
        return None
    word = m.group(2)
    if word in _UNIT_WORDS or (m.group(1) is None and (word in COMMON_VARIABLES or word in CUSTOMER_SCOPE_VARIABLES
                                                       or word in FUNCTIONS)):
        return None
    shown = m.group().split()
    help = _UNIT_HINTS.get(word) or did_you_mean(word, ("days", "weeks", "months"))
    return f"unknown duration unit '{' '.join(shown)}': {_UNITS}", help, m.end() - pos


def literal_number(node: A.Node) -> Decimal | None:
    """The value of a number literal, possibly negated (``-5``), else None."""
    sign = 1
    while isinstance(node, A.Unary) and node.op == "-":
        sign, node = -sign, node.operand
    return node.value * sign if isinstance(node, A.Number) else None


def column_locator(offset: int, length: int) -> Location:
    """Locations for an expression checked without its text: line 1, column offset + 1."""
    return Location(None, 1, offset + 1, max(1, length))


@dataclass
class Analysis:
    """The result of checking a tree: its type, the type of every node (by ``id``) and
    the number literals read as money (``id`` to currency; None adopts the currency of
    the other operand at run time, used for zero)."""

    type: Type = ANY
    types: dict[int, Type] = field(default_factory=dict)
    money_literals: dict[int, str | None] = field(default_factory=dict)
    rates: set[str] = field(default_factory=set)


def check(node: A.Node, schema: Schema, origin: Origin | None = None) -> Type:
    """The type of ``node`` under ``schema``; PolicyError (located through ``origin``) on a type error."""
    return Checker(schema, origin or column_locator).run(node).type


class Checker:
    """One type-checking pass over a tree (see :func:`check`)."""

    def __init__(self, schema: Schema, locate: Origin) -> None:
        self.schema = schema
        self.locate = locate
        self.analysis = Analysis()

    # -- helpers -----------------------------------------------------------------
    def error(self, message: str, node: A.Node, help: str | None = None, *, code: str, start: int | None = None,
              length: int | None = None) -> PolicyError:
        s = node.start if start is None else start
        n = node.length if length is None else length
        return PolicyError(message, self.locate(s, max(1, n)), help=help, code=code)

    def run(self, node: A.Node) -> Analysis:
        self.analysis.type = self.visit(node)
        return self.analysis

    def visit(self, node: A.Node) -> Type:
        t = self._visit(node)
        self.analysis.types[id(node)] = t
        return t

    def money_literal(self, node: A.Node, money_t: MoneyType) -> Type:
        """Read the number literal ``node`` as money next to ``money_t``."""
        value = literal_number(node)
        assert value is not None
        if value == 0:  # zero is zero in any currency: adopt the other side's at run time
            self.analysis.money_literals[id(node)] = None
            t: Type = money_t
        else:
            cur = self.schema.currency
            if money_t.currency not in (None, cur):
                raise self.error(f"the number {format_decimal(value)} would be read as {cur}, but it meets "
                                 f"{money_t.currency}", node,
                                 help=f"write the currency: {format_decimal(value)} {money_t.currency}",
                                 code="literal-currency")
            self.analysis.money_literals[id(node)] = cur
            t = MoneyType(cur)
        self.analysis.types[id(node)] = t
        return t

    def meet(self, ln: A.Node, lt: Type, rn: A.Node, rt: Type) -> tuple[Type, Type]:
        """Apply the number-literal-as-money rule to two operands."""
        if isinstance(lt, MoneyType) and rt == NUMBER and literal_number(rn) is not None:
            rt = self.money_literal(rn, lt)
        elif isinstance(rt, MoneyType) and lt == NUMBER and literal_number(ln) is not None:
            lt = self.money_literal(ln, rt)
        return lt, rt

    def merge_money(self, node: A.Node, a: MoneyType, b: MoneyType) -> MoneyType:
        if a.currency and b.currency and a.currency != b.currency:
            raise self.error(f"cannot mix {a.currency} and {b.currency}", node,
                             help="convert one amount first; money of two currencies cannot be combined",
                             code="currency-mismatch")
        return MoneyType(a.currency or b.currency)

    def need_bool(self, node: A.Node, t: Type, where: str) -> None:
        if t not in (BOOL, ANY, NULL):
            help = "compare it, e.g. balance > 0" if t.kind in ("number", "money") else None
            raise self.error(f"{where} needs true or false, not {t}", node, help=help, code="type-mismatch")

    # -- dispatch ---------------------------------------------------------------
    def _visit(self, node: A.Node) -> Type:
        if isinstance(node, A.Number):
            return NUMBER
        if isinstance(node, A.Text):
            return TEXT
        if isinstance(node, A.Bool):
            return BOOL
        if isinstance(node, A.Null):
            return NULL
        if isinstance(node, A.DateLit):
            return DATE
        if isinstance(node, A.DateTimeLit):
            return DATETIME
        if isinstance(node, A.DurationLit):
            too_long = duration_too_long(node.value)
            if too_long is not None:
                raise self.error(too_long.message, node, help=too_long.help, code="duration-too-long")
            return DURATION
        if isinstance(node, A.PercentLit):
            return PERCENT
        if isinstance(node, A.MoneyLit):
            return MoneyType(node.currency)
        if isinstance(node, A.Var):
            return self.var(node)
        if isinstance(node, A.Member):
            return self.member(node)
        if isinstance(node, A.ListExpr):
            return self.list_(node)
        if isinstance(node, A.Call):
            return self.call(node)
        if isinstance(node, A.Unary):
            return self.unary(node)
        if isinstance(node, A.Binary):
            return self.binary(node)
        raise TypeError(f"not an expression node: {node!r}")

    def var(self, node: A.Var) -> Type:
        name = node.name
        if name.startswith("_"):
            raise self.error("names starting with '_' are not allowed", node, code="private-name")
        t = self.schema.lookup(name)
        if name == "event" and t is not None and not self.schema.event:
            raise self.error("event.* is only available in 'on:' rules", node,
                             help="read the event in a rule with 'on: EVENT'", code="event-outside-on")
        if t is None:
            help: str | None
            if name in CUSTOMER_SCOPE_VARIABLES:
                help = f"'{name}' is only available with scope: customer"
            elif name in FUNCTIONS:
                help = f"'{name}' is a function: write {name}(...)"
            else:
                help = did_you_mean(name, self.schema.names)
            raise self.error(f"unknown variable '{name}'", node, help=help, code="unknown-variable")
        return t

    def member(self, node: A.Member) -> Type:
        obj_t = self.visit(node.obj)
        name = node.name
        # point at the name (when known), not at the whole member expression
        start, length = (node.name_start, len(name)) if node.name_start >= node.start else (None, None)
        if name.startswith("_"):
            raise self.error("names starting with '_' are not allowed", node, start=start, length=length,
                             code="private-name")
        if isinstance(obj_t, RecordType):
            t = obj_t.field(name)
            if t is None:
                help = did_you_mean(name, obj_t.field_names) or f"its fields are: {', '.join(obj_t.field_names)}"
                raise self.error(f"{obj_t} has no field '{name}'", node, help=help, start=start, length=length,
                                 code="unknown-field")
            return t
        if obj_t is ANY:
            return ANY
        raise self.error(f"cannot read field '{name}' of {obj_t}", node,
                         help="only records have fields: invoice, customer, event, promise, plan", start=start,
                         length=length, code="unknown-field")

    def list_(self, node: A.ListExpr, meets: Type | None = None) -> Type:
        types = [self.visit(item) for item in node.items]
        if isinstance(meets, MoneyType):
            types = [self.money_literal(item, meets) if t == NUMBER and literal_number(item) is not None else t
                     for item, t in zip(node.items, types)]
        elem: Type | None = None
        for item, t in zip(node.items, types):
            if t is NULL:
                continue
            if t is ANY or elem is ANY:
                elem = ANY
            elif elem is None:
                elem = t
            elif isinstance(elem, MoneyType) and isinstance(t, MoneyType):
                elem = self.merge_money(item, elem, t)
            elif elem.kind != t.kind or (elem != t and not isinstance(elem, ListType)):
                raise self.error(f"a list cannot mix {elem} and {t}", item, help="write the values of one type",
                                 code="type-mismatch")
        t = ListType(elem if elem is not None else ANY)
        self.analysis.types[id(node)] = t
        return t

    # -- operators ----------------------------------------------------------------
    def unary(self, node: A.Unary) -> Type:
        t = self.visit(node.operand)
        if node.op == "not":
            self.need_bool(node.operand, t, "'not'")
            return BOOL
        if t in (NUMBER, PERCENT, DURATION, ANY, NULL) or isinstance(t, MoneyType):
            return t
        raise self.error(f"cannot negate {t}", node, code="type-mismatch")

    def binary(self, node: A.Binary) -> Type:
        op = node.op
        lt = self.visit(node.left)
        if op == "in" or op == "not in":
            if isinstance(node.right, A.ListExpr):
                rt = self.list_(node.right, meets=lt)
            else:
                rt = self.visit(node.right)
            return self.contains(node, lt, rt)
        rt = self.visit(node.right)
        if op in ("and", "or"):
            self.need_bool(node.left, lt, f"'{op}'")
            self.need_bool(node.right, rt, f"'{op}'")
            return BOOL
        lt, rt = self.meet(node.left, lt, node.right, rt) if op in ("+", "-", "==", "!=", "<", "<=", ">", ">=") \
            else (lt, rt)
        if op in _ARITH_VERB:
            return self.arith(node, op, lt, rt)
        self.comparable(node, op, lt, rt)
        return BOOL

    def comparable(self, node: A.Node, op: str, lt: Type, rt: Type) -> None:
        if lt is ANY or rt is ANY:
            return
        if lt is NULL or rt is NULL:
            if op in ("==", "!="):
                return
            raise self.error(f"'{op}' with null is always false", node, help="write '== null' or '!= null'",
                             code="null-comparison")
        if isinstance(lt, MoneyType) and isinstance(rt, MoneyType):
            self.merge_money(node, lt, rt)
            return
        if lt.kind == rt.kind:
            if lt.kind in _ORDERED or op in ("==", "!="):
                if isinstance(lt, ListType) and isinstance(rt, ListType):
                    self.comparable(node, op, lt.element, rt.element)
                elif isinstance(lt, RecordType):
                    raise self.error(f"cannot compare {lt} with {rt}", node, help="compare one of its fields",
                                     code="type-mismatch")
                return
            raise self.error(f"cannot order {lt} values with '{op}'", node, help="use '==' or '!='",
                             code="type-mismatch")
        raise self.error(f"cannot compare {lt} with {rt}", node, help=_hint(lt, rt, node), code="type-mismatch")

    def contains(self, node: A.Binary, lt: Type, rt: Type) -> Type:
        if rt is ANY or rt is NULL:
            return BOOL
        if not isinstance(rt, ListType):
            raise self.error(f"'{node.op}' needs a list on the right, not {rt}", node.right,
                             help='write a list, e.g. customer.segment in ["vip", "smb"]', code="type-mismatch")
        if lt is NULL:
            return BOOL
        try:
            self.comparable(node, "==", lt, rt.element)
        except PolicyError:
            raise self.error(f"cannot look for {lt} in a {rt}", node, help="the value and the list items must"
                                                                            " have the same type",
                             code="type-mismatch") from None
        return BOOL

    def arith(self, node: A.Binary, op: str, lt: Type, rt: Type) -> Type:
        if lt is ANY or rt is ANY:
            return ANY
        if lt is NULL or rt is NULL:
            return rt if lt is NULL else lt
        lk, rk = lt.kind, rt.kind
        if lk == rk == "money" and op in ("+", "-", "/"):
            merged = self.merge_money(node, lt, rt)  # type: ignore[arg-type]
            return NUMBER if op == "/" else merged
        result = _ARITH.get((op, lk, rk))
        if isinstance(result, str):  # "money": the money operand's type
            return lt if lk == "money" else rt
        if result is not None:
            return result
        verb = _ARITH_VERB[op]
        if op == "+":
            message = f"cannot add {rt} to {lt}"
        elif op == "-":
            message = f"cannot subtract {rt} from {lt}"
        else:
            message = f"cannot {verb} {lt} by {rt}"
        raise self.error(message, node, help=_hint(lt, rt, node), code="type-mismatch")

    # -- functions ----------------------------------------------------------------
    def call(self, node: A.Call) -> Type:
        name = node.name
        if name not in FUNCTIONS:
            if self.schema.lookup(name) is not None:
                help = f"'{name}' is a variable, not a function"
            else:
                help = did_you_mean(name, FUNCTIONS) or f"the functions are: {', '.join(FUNCTIONS)}"
            raise self.error(f"unknown function '{name}'", node, help=help, start=node.start, length=len(name),
                             code="unknown-function")
        args = node.args
        if name == "rate":
            if len(args) != 1 or not isinstance(args[0], A.Text) or not args[0].value:
                raise self.error("rate() takes the name of a rate in quotes", node, help='e.g. rate("UF")',
                                 code="function-arguments")
            self.visit(args[0])
            self.analysis.rates.add(args[0].value)
            return NUMBER
        types = [self.visit(a) for a in args]
        arity = {"min": (2, None), "max": (2, None), "abs": (1, 1), "round": (1, 2), "count": (1, 1)}[name]
        if len(args) < arity[0] or (arity[1] is not None and len(args) > arity[1]):
            want = {"min": "at least two values", "max": "at least two values", "abs": "one value",
                    "round": "a value and, optionally, a number of decimals", "count": "one list"}[name]
            raise self.error(f"{name}() takes {want}, not {len(args)}", node, code="function-arguments")
        if name in ("min", "max"):
            return self.extreme(node, types)
        first = types[0]
        if name == "count":
            if not (isinstance(first, ListType) or first in (ANY, NULL)):
                raise self.error(f"count() needs a list, not {first}", args[0], code="function-arguments")
            return NUMBER
        if not (first in (NUMBER, ANY, NULL) or isinstance(first, MoneyType)):
            raise self.error(f"{name}() needs a number or money, not {first}", args[0], code="function-arguments")
        if name == "round" and len(args) == 2 and types[1] not in (NUMBER, ANY):
            raise self.error(f"the decimals of round() must be a number, not {types[1]}", args[1],
                             code="function-arguments")
        return first

    def extreme(self, node: A.Call, types: list[Type]) -> Type:
        money_t = next((t for t in types if isinstance(t, MoneyType)), None)
        if money_t is not None:
            types = [self.money_literal(a, money_t) if t == NUMBER and literal_number(a) is not None else t
                     for a, t in zip(node.args, types)]
        result: Type | None = None
        for arg, t in zip(node.args, types):
            if t in (ANY, NULL):
                continue
            if t.kind not in _ORDERED:
                raise self.error(f"{node.name}() cannot order {t} values", arg, code="function-arguments")
            if result is None:
                result = t
            elif isinstance(result, MoneyType) and isinstance(t, MoneyType):
                result = self.merge_money(arg, result, t)
            elif result != t:
                raise self.error(f"{node.name}() cannot mix {result} and {t}", arg, help=_hint(result, t, arg),
                                 code="function-arguments")
        if result is None:
            return ANY if ANY in types else NULL
        return result

    # -- expected type ---------------------------------------------------------------
    def expect(self, node: A.Node, t: Type, expected: Type | tuple[Type, ...], what: str) -> Type:
        """Check that the root's type fits ``expected``; a number literal where money is expected
        is read in the policy currency."""
        options = expected if isinstance(expected, tuple) else (expected,)
        if any(is_assignable(t, e) for e in options):
            return t
        value = literal_number(node)
        money_t = next((e for e in options if isinstance(e, MoneyType)), None)
        if money_t is not None and t == NUMBER and value is not None:
            cur = self.schema.currency
            if money_t.currency not in (None, cur):
                raise self.error(f"{what} must be {money_t}", node,
                                 help=f"write the currency: {format_decimal(value)} {money_t.currency}",
                                 code="currency-mismatch")
            self.analysis.money_literals[id(node)] = cur
            self.analysis.types[id(node)] = MoneyType(cur)
            return MoneyType(cur)
        help = None
        if BOOL in options and t.kind in ("number", "money", "date", "text"):
            help = "compare it, e.g. balance > 0"
        elif value is not None and DURATION in options:
            help = f"write a duration: {format_decimal(value)} days"
        elif value is not None and PERCENT in options:
            help = f"write a percent: {format_decimal(value)}%"
        elif t == DATETIME and DATE in options:
            help = "use a date, e.g. today or due"
        elif isinstance(t, MoneyType) and money_t is not None and money_t.currency:
            help = f"write the amount in {money_t.currency}, the policy's currency"
        raise self.error(f"{what} must be {describe(options)}, not {t}", node, help=help, code="type-mismatch")


_ARITH: dict[tuple[str, str, str], Type | str] = {
    ("+", "number", "number"): NUMBER, ("-", "number", "number"): NUMBER,
    ("*", "number", "number"): NUMBER, ("/", "number", "number"): NUMBER,
    ("+", "date", "duration"): DATE, ("+", "duration", "date"): DATE, ("-", "date", "duration"): DATE,
    ("+", "datetime", "duration"): DATETIME, ("+", "duration", "datetime"): DATETIME,
    ("-", "datetime", "duration"): DATETIME, ("-", "date", "date"): NUMBER,
    ("+", "duration", "duration"): DURATION, ("-", "duration", "duration"): DURATION,
    ("*", "duration", "number"): DURATION, ("*", "number", "duration"): DURATION,
    ("+", "percent", "percent"): PERCENT, ("-", "percent", "percent"): PERCENT,
    ("*", "percent", "number"): NUMBER, ("*", "number", "percent"): NUMBER,
    ("*", "money", "number"): "money", ("*", "number", "money"): "money",
    ("*", "percent", "money"): "money", ("*", "money", "percent"): "money", ("/", "money", "number"): "money",
}


def _hint(lt: Type, rt: Type, node: A.Node) -> str | None:
    """A help line for two types that do not go together."""
    kinds = {lt.kind, rt.kind}
    if isinstance(node, A.Binary) and node.op in ("+", "-") and lt.kind in ("date", "datetime") and rt == NUMBER:
        n = literal_number(node.right)
        amount = format_decimal(n) if n is not None and n >= 0 and n == int(n) else "3"
        return f"write a duration: {unparse(node.left)} {node.op} {amount} days"
    if kinds == {"date", "number"}:
        return "write a duration (due + 3 days), or compare with days_overdue"
    if kinds == {"date", "datetime"}:
        return "compare dates with dates (today, due) and datetimes with datetimes (now)"
    if kinds == {"datetime"}:
        return "subtract dates instead, e.g. today - due"
    if kinds == {"date"}:
        return "add a duration to a date, e.g. due + 3 days"
    if "text" in kinds and kinds & {"number", "money", "percent", "date", "duration"}:
        return 'text is not a value to compute with; write the value itself, e.g. 5000 CLP, not "5000"'
    if kinds == {"money", "number"}:
        return "write the amount with its currency, e.g. 50000 CLP, or multiply: 2 * balance"
    if kinds == {"percent", "number"}:
        return "write a percent: 2%"
    if kinds == {"duration", "number"}:
        return "write a duration: 3 days"
    if kinds == {"money", "percent"}:
        return "multiply them: 2% * balance"
    return None
