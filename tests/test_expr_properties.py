"""Properties of the expression language, checked with Hypothesis.

1. Any text gives a tree or a PolicyError (parse), an Expression or a PolicyError
   (compile), never another exception.
2. ``parse(unparse(tree)) == tree`` (structural equality, positions ignored).
3. ``unparse`` is a fixed point: ``unparse(parse(unparse(t))) == unparse(t)``.
4. A compiled expression evaluates to a value or raises EvalError, never another exception.
5. Integer arithmetic agrees with Python's.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_engine.errors import PolicyError
from dunning_engine.expr import EvalError, Expression, compile_expression, parse, policy_schema, unparse
from dunning_engine.expr import ast as A
from dunning_engine.expr.parser import FUNCTIONS, KEYWORDS
from dunning_engine.values import Duration, Money, Percent

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMA = policy_schema("customer", "CLP", segments=["vip"], event=True)

# -- strategies ------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
decimals = st.one_of(
    st.integers(0, 10**12).map(Decimal),
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
).map(abs)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
datetimes = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                         timezones=st.none() | offsets).map(lambda d: d.replace(microsecond=0))
currencies = st.sampled_from(["CLP", "USD", "EUR", "JPY", "BHD", "MXN"])

leaves = st.one_of(
    st.builds(A.Number, decimals),
    st.builds(A.Text, st.text(max_size=8)),
    st.builds(A.Bool, st.booleans()),
    st.just(A.Null()),
    st.builds(A.DateLit, st.dates()),
    st.builds(A.DateTimeLit, datetimes),
    st.builds(A.DurationLit, st.builds(Duration, st.integers(0, 5000),
                                       st.sampled_from(["days", "weeks", "months", "business_days"]))),
    st.builds(A.PercentLit, st.builds(Percent, decimals)),
    st.builds(A.MoneyLit, decimals, currencies),
    st.builds(A.Var, names),
)


def extend(children: st.SearchStrategy[A.Node]) -> st.SearchStrategy[A.Node]:
    args = st.lists(children, max_size=3).map(tuple)
    return st.one_of(
        st.builds(A.Unary, st.sampled_from(A.UNARY_OPS), children),
        st.builds(A.Binary, st.sampled_from(A.BINARY_OPS), children, children),
        st.builds(A.Member, children, names),
        st.builds(A.Call, names, args),
        st.builds(A.ListExpr, args),
    )


trees = st.recursive(leaves, extend, max_leaves=24).filter(lambda t: A.depth(t) <= 60)

WORDS = sorted(KEYWORDS) + list(FUNCTIONS) + [
    "balance", "due", "today", "now", "customer", "invoice", "event", "promise", "segment", "amount", "vip", "x",
    "_x", "__class__", "Balance", "CLP", "USD", "XYZ", "days", "day", "weeks", "month", "business",
    "12", "12.5", "0", "2026-03-01", "2026-02-30", "2026-03-01T09:00", "2026-03-01T09:00-03:00", "T", "Z",
    "3 days", "5 business days", "2%", "50000 CLP", "19.90 USD", '"vip"', "'smb'", '"', "'", "\\",
    "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "=", "!", "%", ".", ",", "(", ")", "[", "]",
    "\n", "\t", "é", "\x00", "#",
]
soups = st.lists(st.sampled_from(WORDS), max_size=25).flatmap(
    lambda words: st.lists(st.sampled_from(["", " ", "  "]), min_size=len(words), max_size=len(words)).map(
        lambda seps: "".join(w + s for w, s in zip(words, seps))))


def sample_ctx() -> dict:
    """A context with a value for every variable of SCHEMA (dicts have no calendar, tz or rate)."""
    money = Money(Decimal("60000"), "CLP")
    return {
        "now": dt.datetime(2026, 2, 20, 9, tzinfo=dt.timezone.utc), "today": dt.date(2026, 2, 20),
        "state": "overdue", "entered": dt.datetime(2026, 2, 1, 9, tzinfo=dt.timezone.utc), "days_in_state": 19,
        "invoice": {"id": "I", "amount": money, "currency": "CLP", "issued": dt.date(2026, 1, 1),
                    "due": dt.date(2026, 1, 31), "customer": "C", "extra": "7"},
        "due": dt.date(2026, 1, 31), "issued": dt.date(2026, 1, 1), "balance": money, "principal": money,
        "paid": money, "fees": money, "interest": money, "days_overdue": 20, "days_until_due": -20,
        "customer": {"id": "C", "segment": "vip"}, "event": {"type": "payment", "amount": money, "fields": None},
        "promise": None, "plan": {"next_date": dt.date(2026, 3, 1), "next_amount": money, "paid_count": 1,
                                  "missed_count": 0, "installments": 3},
        "reminders": 2, "open_balance": money, "overdue_balance": money, "open_count": 2, "overdue_count": 1,
        "oldest_due": dt.date(2026, 1, 31), "oldest_days_overdue": 20, "vip": True,
    }


CTX = sample_ctx()

def _path(path: str) -> A.Node:
    first, *rest = path.split(".")
    node: A.Node = A.Var(first)
    for name in rest:
        node = A.Member(node, name)
    return node


def _vars(*paths: str) -> st.SearchStrategy[A.Node]:
    return st.sampled_from(paths).map(_path)


small = st.integers(0, 100).map(lambda i: A.Number(Decimal(i)))
ANY_VALUES = ("invoice.extra", "invoice.missing", "event.fields", "customer.segment")
TYPED_LEAVES = {
    "number": st.one_of(small, st.builds(A.Number, decimals), _vars("days_overdue", "reminders", "open_count",
                                                                    "plan.paid_count", *ANY_VALUES)),
    "money": st.one_of(st.builds(A.MoneyLit, decimals, st.sampled_from(["CLP", "CLP", "USD"])), small,
                       _vars("balance", "fees", "invoice.amount", "promise.amount", "event.amount",
                             "plan.next_amount", "invoice.extra")),
    "date": st.one_of(st.builds(A.DateLit, st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))),
                      _vars("due", "today", "promise.date", "oldest_due", "plan.next_date", "invoice.missing")),
    "datetime": st.one_of(st.builds(A.DateTimeLit, datetimes.filter(lambda d: 2000 <= d.year <= 2100)),
                          _vars("now", "entered", "event.at")),
    "duration": st.builds(A.DurationLit, st.builds(Duration, st.integers(0, 400),
                                                   st.sampled_from(["days", "weeks", "months", "business_days"]))),
    "percent": st.builds(A.PercentLit, st.builds(Percent, decimals)),
    "text": st.one_of(st.builds(A.Text, st.text(max_size=4)), _vars("state", "customer.segment", "event.type")),
    "bool": st.one_of(st.builds(A.Bool, st.booleans()), st.just(A.Null()), _vars("vip", "invoice.flag")),
}
KINDS = sorted(TYPED_LEAVES)


def _binary(op: str, left: st.SearchStrategy[A.Node], right: st.SearchStrategy[A.Node]):
    return st.builds(A.Binary, st.just(op), left, right)


@functools.cache
def typed(kind: str, depth: int) -> st.SearchStrategy[A.Node]:
    """Trees that are (mostly) well typed, of the given kind."""
    leaf = TYPED_LEAVES[kind]
    if depth == 0:
        return leaf
    t = lambda k: typed(k, depth - 1)  # noqa: E731
    arith = st.sampled_from("+-")
    options = [leaf]
    if kind == "number":
        options += [st.builds(A.Binary, st.sampled_from("+-*/"), t("number"), t("number")),
                    st.builds(A.Unary, st.just("-"), t("number")), _binary("-", t("date"), t("date")),
                    _binary("/", t("money"), t("money")), _binary("*", t("percent"), t("number")),
                    st.builds(A.Call, st.sampled_from(["abs", "round"]), st.tuples(t("number"))),
                    st.builds(A.Call, st.sampled_from(["min", "max"]), st.tuples(t("number"), t("number"))),
                    st.builds(A.Call, st.just("count"), st.tuples(st.builds(A.ListExpr, st.lists(
                        t("text"), max_size=3).map(tuple))))]
    elif kind == "money":
        options += [st.builds(A.Binary, arith, t("money"), t("money")), _binary("*", t("money"), t("number")),
                    _binary("*", t("percent"), t("money")), _binary("/", t("money"), t("number")),
                    st.builds(A.Unary, st.just("-"), t("money")),
                    st.builds(A.Call, st.just("round"), st.tuples(t("money"))),
                    st.builds(A.Call, st.sampled_from(["min", "max"]), st.tuples(t("money"), t("money")))]
    elif kind in ("date", "datetime"):
        options += [st.builds(A.Binary, arith, t(kind), t("duration")), _binary("+", t("duration"), t(kind)),
                    st.builds(A.Call, st.sampled_from(["min", "max"]), st.tuples(t(kind), t(kind)))]
    elif kind == "duration":
        options += [st.builds(A.Binary, arith, t("duration"), t("duration")),
                    _binary("*", t("duration"), t("number"))]
    elif kind == "bool":
        comparable = st.sampled_from(["number", "money", "date", "datetime", "duration", "text", "percent"])
        options += [
            comparable.flatmap(lambda k: st.builds(A.Binary, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                                                   t(k), t(k))),
            comparable.flatmap(lambda k: st.builds(A.Binary, st.sampled_from(["in", "not in"]), t(k),
                                                   st.builds(A.ListExpr, st.lists(t(k), max_size=3).map(tuple)))),
            st.builds(A.Binary, st.sampled_from(["and", "or"]), t("bool"), t("bool")),
            st.builds(A.Unary, st.just("not"), t("bool")),
            st.builds(A.Binary, st.sampled_from(["==", "!="]), t("bool"), st.just(A.Null())),
        ]
    return st.one_of(*options)


typed_trees = st.one_of(*(typed(k, 3) for k in KINDS))


# -- 1. any text ------------------------------------------------------------------------

def _parse_or_policy_error(text: str) -> None:
    try:
        node = parse(text)
    except PolicyError as e:
        assert e.location is not None and e.message
        return
    assert isinstance(node, A.Node)


def _compile_or_policy_error(text: str) -> None:
    try:
        expr = compile_expression(text, SCHEMA)
    except PolicyError as e:
        assert e.message
        return
    assert isinstance(expr, Expression)


@SETTINGS
@given(st.text())
def test_any_text_parses_or_is_a_policy_error(text):
    _parse_or_policy_error(text)
    _compile_or_policy_error(text)


@SETTINGS
@given(soups)
def test_token_soup_parses_or_is_a_policy_error(text):
    _parse_or_policy_error(text)
    _compile_or_policy_error(text)


# -- 2 and 3. printing round-trips ---------------------------------------------------------------

@SETTINGS
@given(trees)
def test_parse_unparse_roundtrip(tree):
    text = unparse(tree)
    assert parse(text) == tree, text


@SETTINGS
@given(trees)
def test_unparse_is_a_fixed_point(tree):
    text = unparse(tree)
    assert unparse(parse(text)) == text


@SETTINGS
@given(trees)
def test_reparsed_positions_cover_their_text(tree):
    text = unparse(tree)
    for node in A.walk(parse(text)):
        assert 0 <= node.start and node.end <= len(text)
        if isinstance(node, (A.Var, A.Call)):
            assert text[node.start:node.start + len(node.name)] == node.name


# -- 4. evaluation never leaks another exception -------------------------------------------------------

@pytest.mark.slow
@SETTINGS
@given(typed_trees)
def test_compiled_expressions_evaluate_or_raise_eval_error(tree):
    text = unparse(tree)
    try:
        expr = compile_expression(text, SCHEMA)
    except PolicyError:
        return
    try:
        expr.evaluate(CTX)
    except EvalError as e:
        assert e.message and e.expression == text


# -- 5. arithmetic agrees with Python -------------------------------------------------------------------

int_trees = st.recursive(
    st.integers(0, 1000).map(lambda i: (A.Number(Decimal(i)), i)),
    lambda kids: st.one_of(
        st.tuples(st.sampled_from("+-*"), kids, kids).map(
            lambda t: (A.Binary(t[0], t[1][0], t[2][0]),
                       {"+": t[1][1] + t[2][1], "-": t[1][1] - t[2][1], "*": t[1][1] * t[2][1]}[t[0]])),
        kids.map(lambda k: (A.Unary("-", k[0]), -k[1])),
    ),
    max_leaves=10,
)


@SETTINGS
@given(int_trees)
def test_integer_arithmetic_matches_python(pair):
    tree, expected = pair
    expr = compile_expression(unparse(tree), SCHEMA)
    assert expr.is_constant()
    assert expr.constant_value() == expected
    assert expr.evaluate(CTX) == expected
