"""Checked syntax trees to Python closures, and the :class:`Expression` object.

Each node becomes a closure ``fn(ctx) -> value`` built from the operations in
:mod:`.runtime`; user text is never given to ``eval`` or ``exec``. Constant
sub-expressions are computed once, at compile time: a constant that always
fails (``1 / 0``, ``1 month + 1 day``) is a located PolicyError there.
Sub-expressions that depend on the context are never folded: variables,
``rate()``, datetimes written without an offset (read in ``ctx.tz``) and
business-day arithmetic (``ctx.calendar``).
"""

from __future__ import annotations

import datetime as _dt
import operator

from decimal import Decimal
from typing import Any, Callable

from ..errors import Origin, PolicyError
from ..values import Duration, Money
from . import ast as A
from . import runtime as R
from .check import Analysis, Checker, literal_number
from .parser import make_locator, parse
from .printer import unparse
from .schema import Schema
from .types import ANY, BOOL, NULL, NUMBER, Type

__all__ = ["Expression", "compile_expression", "compile_node", "variables_of"]

Fn = Callable[[Any], Any]


class _NoConstant:
    def __repr__(self) -> str:
        return "<not constant>"


NOT_CONSTANT: Any = _NoConstant()


class _FoldContext:
    """The context constant folding runs in: it has no variables, calendar, timezone or rates."""

    calendar = None
    tz = None

    def __getitem__(self, name: str) -> Any:  # pragma: no cover - constants read no variable
        raise KeyError(name)


_FOLD = _FoldContext()
_BINARY_OPS: dict[str, Callable[..., Any]] = {"*": R.mul, "/": R.div}


def variables_of(node: A.Node) -> frozenset[str]:
    """The variables a tree reads, as dotted paths (``customer.segment``)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        names: list[str] = []
        m = n
        while isinstance(m, A.Member):
            names.append(m.name)
            m = m.obj
        if isinstance(m, A.Var):
            out.add(".".join([m.name, *reversed(names)]))
            continue
        stack.extend(A.children(n))
    return frozenset(out)


_PY_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}
_FAST_COMPARE = frozenset({int, Decimal, _dt.date})
_NUMBERS = frozenset({int, Decimal})
_MAX_FAST_DAYS = 3_000_000  # larger shifts take the general path, which reports overflow as an EvalError


class _Compiler:
    def __init__(self, analysis: Analysis, locate: Origin) -> None:
        self.analysis = analysis
        self.locate = locate
        self.parts: dict[int, Fn] = {}  # id(node) -> closure, for Expression.part

    def compile(self, node: A.Node) -> tuple[Fn, Any]:
        """The closure of ``node`` and its constant value (or NOT_CONSTANT)."""
        fn, const = self._compile(node)
        self.parts[id(node)] = fn
        return fn, const

    def _compile(self, node: A.Node) -> tuple[Fn, Any]:
        if id(node) in self.analysis.money_literals:  # a number literal read as money (None: a zero, of either currency)
            currency = self.analysis.money_literals[id(node)]
            value = literal_number(node)
            assert value is not None
            const: Any = value if currency is None else Money(value, str(currency))
            return (lambda ctx: const), const
        fn, kids, foldable = self._build(node)
        if foldable and kids and all(k is not NOT_CONSTANT for k in kids):
            try:
                value = fn(_FOLD)
            except R.EvalError as e:
                bad = e.node if e.node is not None else node
                raise PolicyError(e.message, self.locate(bad.start, max(1, bad.length)), help=e.help,
                                  code="evaluation-failed") from None
            return (lambda ctx: value), value
        return fn, NOT_CONSTANT

    def _build(self, node: A.Node) -> tuple[Fn, list[Any], bool]:
        """(closure, constant values of the children, whether it may be folded)."""
        lit = _literal_value(node)
        if lit is not NOT_CONSTANT:
            return (lambda ctx: lit), [lit], True
        if isinstance(node, A.DateTimeLit):  # naive: read in the policy timezone at run time
            naive = node.value
            return (lambda ctx: R.localize(naive, getattr(ctx, "tz", None))), [], False
        if isinstance(node, A.Var):
            return self._var(node), [], False
        if isinstance(node, A.Member):
            obj, _ = self.compile(node.obj)
            name = node.name

            def member(ctx: Any) -> Any:
                try:
                    return R.member(obj(ctx), name)
                except R.EvalError as e:
                    raise e.at(node)
            return member, [], False
        if isinstance(node, A.ListExpr):
            parts = [self.compile(item) for item in node.items]
            fns = [f for f, _ in parts]
            return (lambda ctx: tuple(f(ctx) for f in fns)), [c for _, c in parts] or [()], True
        if isinstance(node, A.Call):
            return self._call(node)
        if isinstance(node, A.Unary):
            return self._unary(node)
        if isinstance(node, A.Binary):
            return self._binary(node)
        raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover

    def _var(self, node: A.Var) -> Fn:
        name = node.name

        def var(ctx: Any) -> Any:
            try:
                return ctx[name]
            except KeyError:
                raise R.EvalError(f"variable '{name}' is not available").at(node) from None
        return var

    def _unary(self, node: A.Unary) -> tuple[Fn, list[Any], bool]:
        f, c = self.compile(node.operand)
        if node.op == "not":
            def not_(ctx: Any) -> bool:
                try:
                    return not R.truth(f(ctx))
                except R.EvalError as e:
                    raise e.at(node.operand)
            return not_, [c], True

        def neg(ctx: Any) -> Any:
            try:
                return R.neg(f(ctx))
            except R.EvalError as e:
                raise e.at(node)
        return neg, [c], True

    def _binary(self, node: A.Binary) -> tuple[Fn, list[Any], bool]:
        op = node.op
        (lf, lc), (rf, rc) = self.compile(node.left), self.compile(node.right)
        consts = [lc, rc]
        if op in ("and", "or"):
            is_and = op == "and"

            def logic(ctx: Any) -> bool:
                try:
                    left = R.truth(lf(ctx))
                except R.EvalError as e:
                    raise e.at(node.left)
                if left is not is_and:  # false and ... / true or ...
                    return left
                try:
                    return R.truth(rf(ctx))
                except R.EvalError as e:
                    raise e.at(node.right)
            return logic, consts, True
        if op in ("in", "not in"):
            negate = op == "not in"

            def member_of(ctx: Any) -> bool:
                a, items = lf(ctx), rf(ctx)
                try:
                    if a is None or items is None:
                        return False
                    return R.contains(a, items) is not negate
                except R.EvalError as e:
                    raise e.at(node)
            return member_of, consts, True
        if op in ("==", "!=", "<", "<=", ">", ">="):
            pyop = _PY_COMPARE[op]
            fast_types = _FAST_COMPARE

            def comparison(ctx: Any) -> bool:
                a, b = lf(ctx), rf(ctx)
                # Fast paths (same results as R.compare): two plain numbers or two dates of one
                # exact type, or money of one currency; everything else goes through the runtime.
                ta, tb = type(a), type(b)
                if ta is tb:
                    if ta in fast_types:
                        return pyop(a, b)
                    if ta is Money and a.currency == b.currency:
                        return pyop(a.amount, b.amount)
                elif ta in _NUMBERS and tb in _NUMBERS:
                    return pyop(a, b)
                elif ta is Money and tb in _NUMBERS:  # 'balance <= 0': a number is money of the same currency
                    return pyop(a.amount, b)
                elif tb is Money and ta in _NUMBERS:
                    return pyop(a, b.amount)
                try:
                    return R.compare(op, a, b)
                except R.EvalError as e:
                    raise e.at(node)
            return comparison, consts, True
        if op in ("+", "-"):
            fn = R.add if op == "+" else R.sub
            calendar_free = not any(isinstance(c, Duration) and c.unit == "business_days" for c in consts)

            def plus_minus(ctx: Any) -> Any:
                a, b = lf(ctx), rf(ctx)
                try:
                    return fn(a, b, getattr(ctx, "calendar", None))
                except R.EvalError as e:
                    raise e.at(node)
            if isinstance(rc, Duration) and rc.fixed_days is not None and abs(rc.fixed_days) <= _MAX_FAST_DAYS:
                # date ± a constant number of days (the common 'due + 15 days'): no dispatch needed.
                delta = _dt.timedelta(days=rc.fixed_days if op == "+" else -rc.fixed_days)
                slow = plus_minus

                def date_shift(ctx: Any) -> Any:
                    a = lf(ctx)
                    if type(a) is _dt.date:
                        try:
                            return a + delta
                        except OverflowError:
                            pass  # the general path reports it as an EvalError
                    return slow(ctx)
                return date_shift, consts, calendar_free
            return plus_minus, consts, calendar_free
        fn2 = _BINARY_OPS[op]

        def times_divide(ctx: Any) -> Any:
            a, b = lf(ctx), rf(ctx)
            try:
                return fn2(a, b)
            except R.EvalError as e:
                raise e.at(node)
        return times_divide, consts, True

    def _call(self, node: A.Call) -> tuple[Fn, list[Any], bool]:
        name = node.name
        if name == "rate":
            rate_name = node.args[0].value  # type: ignore[attr-defined]
            self.compile(node.args[0])

            def rate(ctx: Any) -> Any:
                try:
                    return R.fn_rate(ctx, rate_name)
                except R.EvalError as e:
                    raise e.at(node)
            return rate, [], False
        parts = [self.compile(a) for a in node.args]
        fns = [f for f, _ in parts]
        impl = {"min": R.fn_min, "max": R.fn_max, "abs": R.fn_abs, "round": R.fn_round, "count": R.fn_count}[name]

        def call(ctx: Any) -> Any:
            args = [f(ctx) for f in fns]
            try:
                return impl(*args)
            except R.EvalError as e:
                raise e.at(node)
        return call, [c for _, c in parts], True


def _literal_value(node: A.Node) -> Any:
    if isinstance(node, (A.Number, A.Text, A.Bool, A.DateLit, A.DurationLit, A.PercentLit)):
        return node.value
    if isinstance(node, A.Null):
        return None
    if isinstance(node, A.MoneyLit):
        return Money(node.amount, node.currency)
    if isinstance(node, A.DateTimeLit) and node.value.tzinfo is not None:
        return node.value
    return NOT_CONSTANT


def compile_node(node: A.Node, analysis: Analysis, locate: Origin) -> tuple[Fn, Any, dict[int, Fn]]:
    """The closure of a checked tree, its constant value (or NOT_CONSTANT) and the closure
    of every sub-node (by ``id``)."""
    compiler = _Compiler(analysis, locate)
    fn, const = compiler.compile(node)
    return fn, const, compiler.parts


class Expression:
    """A parsed, type-checked and compiled expression. Immutable.

    Two expressions are equal when their canonical texts are equal, wherever and
    however (spacing, redundant parentheses) they were written.
    """

    __slots__ = ("text", "node", "type", "canonical", "variables", "rates", "_fn", "_const", "_locate", "_parts")

    text: str
    node: A.Node
    type: Type
    canonical: str
    variables: frozenset[str]
    rates: frozenset[str]
    _fn: Fn
    _const: Any
    _locate: Origin
    _parts: dict[int, Fn]

    def __init__(self, text: str, node: A.Node, type: Type, fn: Fn, const: Any, locate: Origin,
                 rates: frozenset[str] = frozenset(), parts: dict[int, Fn] | None = None) -> None:
        init = object.__setattr__
        init(self, "text", text)
        init(self, "node", node)
        init(self, "type", type)
        init(self, "canonical", unparse(node))
        init(self, "variables", variables_of(node))
        init(self, "rates", frozenset(rates))
        init(self, "_fn", fn)
        init(self, "_const", const)
        init(self, "_locate", locate)
        init(self, "_parts", parts or {})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Expression is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Expression is immutable")

    def evaluate(self, ctx: Any) -> Any:
        """The value of the expression in ``ctx`` (see the package docstring); EvalError on failure."""
        try:
            return self._fn(ctx)
        except R.EvalError as e:
            if e.expression is None:
                e.expression = self.text
            if e.location is None and e.node is not None:
                e.location = self._locate(e.node.start, max(1, e.node.length))
            raise

    def part(self, node: A.Node) -> Fn:
        """The compiled closure ``fn(ctx) -> value`` of a sub-expression of this one.

        ``node`` must be a node of ``self.node`` (the same object, found by walking
        it). Number literals read as money here are money there too. The closure
        raises EvalError like :meth:`evaluate`, without the location filled in.
        """
        try:
            return self._parts[id(node)]
        except KeyError:
            raise ValueError("the node is not part of this expression") from None

    def is_constant(self) -> bool:
        """True when the value depends on nothing in the context."""
        return self._const is not NOT_CONSTANT

    def constant_value(self) -> Any:
        """The folded value of a constant expression; ValueError when it is not constant."""
        if self._const is NOT_CONSTANT:
            raise ValueError(f"expression is not constant: {self.canonical}")
        return self._const

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self.canonical == other.canonical

    def __hash__(self) -> int:
        return hash(("Expression", self.canonical))

    def __repr__(self) -> str:
        return f"Expression({self.canonical!r}: {self.type})"

    def __str__(self) -> str:
        return self.canonical


def compile_expression(text: str, schema: Schema, *, origin: Origin | None = None,
                       expect: Type | tuple[Type, ...] | None = None, what: str = "expression") -> Expression:
    """Parse, type-check and compile ``text``.

    ``expect`` is the type (or alternatives) the caller needs, e.g. BOOL for a
    guard; ``what`` names the expression in messages ("'when:'"). A number
    literal where money is expected is read in the policy currency. With
    ``expect=BOOL`` the result is always a bool (null counts as false).
    """
    locate = make_locator(text, origin)
    node = parse(text, locate)
    checker = Checker(schema, locate)
    analysis = checker.run(node)
    t = analysis.type
    if expect is not None:
        t = checker.expect(node, t, expect, what)
        analysis.type = t
    fn, const, parts = compile_node(node, analysis, locate)
    wants = expect if isinstance(expect, tuple) else (expect,)
    if expect is not None and t in (ANY, BOOL, NULL) and BOOL in wants:
        fn, const = _as_bool(fn, const, node)
    elif expect is not None and t is ANY and NUMBER in wants:
        fn = _as_number(fn, node)
    return Expression(text, node, t, fn, const, locate, frozenset(analysis.rates), parts)


def _as_bool(fn: Fn, const: Any, node: A.Node) -> tuple[Fn, Any]:
    def boolean(ctx: Any) -> bool:
        try:
            return R.truth(fn(ctx))
        except R.EvalError as e:
            raise e.at(node)
    if const is not NOT_CONSTANT:
        value = R.truth(const)
        return (lambda ctx: value), value
    return boolean, const


def _as_number(fn: Fn, node: A.Node) -> Fn:
    def number(ctx: Any) -> Any:
        value = fn(ctx)
        if isinstance(value, str):
            try:
                return R._from_text(value, Decimal(0))
            except R.EvalError as e:
                raise e.at(node)
        return value
    return number
