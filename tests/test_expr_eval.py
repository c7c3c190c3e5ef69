"""Run-time values: literals, operators, null semantics, money, dates, business days, errors."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dunning_engine.errors import Location, PolicyError, Source
from dunning_engine.expr import (BOOL, MONEY, EvalError, Expression, MoneyType, compile_expression, policy_schema)
from dunning_engine.expr import ast as A
from dunning_engine.expr import parse, unparse
from dunning_engine.values import Duration, Money, Percent

S = policy_schema("invoice", "CLP", segments=["vip"])
SANTIAGO = ZoneInfo("America/Santiago")


class Ctx(dict):
    """A minimal evaluation context: a dict of root variables with calendar, tz and rate()."""

    def __init__(self, calendar=None, tz=None, rates=None, **values):
        super().__init__(values)
        self.calendar = calendar
        self.tz = tz
        self.rates = rates or {}
        self.rate_calls: list[str] = []

    def rate(self, name):
        self.rate_calls.append(name)
        return self.rates[name]


def clp(x) -> Money:
    return Money(Decimal(str(x)), "CLP")


def usd(x) -> Money:
    return Money(Decimal(str(x)), "USD")


def ctx(**overrides) -> Ctx:
    values = dict(
        now=dt.datetime(2026, 2, 20, 9, 0, tzinfo=SANTIAGO), today=dt.date(2026, 2, 20), state="overdue",
        entered=dt.datetime(2026, 2, 1, 9, 0, tzinfo=SANTIAGO), days_in_state=19,
        invoice={"id": "INV-7", "amount": clp(100000), "currency": "CLP", "issued": dt.date(2026, 1, 1),
                 "due": dt.date(2026, 1, 31), "customer": "C-12", "priority": "5", "region": "north",
                 "flag": "true", "meta": "text"},
        due=dt.date(2026, 1, 31), issued=dt.date(2026, 1, 1), balance=clp(60000), principal=clp(60000),
        paid=clp(40000), fees=clp(0), interest=clp(0), days_overdue=20, days_until_due=-20,
        customer={"id": "C-12", "segment": "vip", "tags": ["a", "b"]}, promise=None, plan=None, reminders=2,
        vip=True,
    )
    extra = {k: overrides.pop(k) for k in ("calendar", "tz", "rates") if k in overrides}
    values.update(overrides)
    return Ctx(**extra, **values)


def ev(text: str, context: Ctx | None = None, schema=S, **kw):
    return compile_expression(text, schema, **kw).evaluate(context if context is not None else ctx())


# -- literals ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("12", Decimal("12")), ("12.5", Decimal("12.5")), ('"vip"', "vip"), ("true", True), ("false", False),
    ("null", None), ("2026-03-01", dt.date(2026, 3, 1)), ("3 days", Duration(3, "days")),
    ("2 weeks", Duration(2, "weeks")), ("1 month", Duration(1, "months")),
    ("5 business days", Duration(5, "business_days")), ("2.5%", Percent(Decimal("2.5"))),
    ("19.90 USD", usd("19.90")), ("50000 CLP", clp(50000)), ('["vip", "smb"]', ("vip", "smb")),
    ("2026-03-01T09:00Z", dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)),
])
def test_literal_values(text, value):
    result = ev(text)
    assert result == value
    assert type(result) is type(value)


def test_numbers_are_never_floats():
    for text in ["12.5", "1 / 3", "10 / 4", "2.5 * 2", "days_overdue / 3", "round(2.5)", "2% * 3", "abs(-1.5)"]:
        assert isinstance(ev(text), Decimal), text
    assert ev("days_overdue / 8") == Decimal("2.5")  # int / int is Decimal, not 2.5 float
    assert isinstance(ev("balance / 3").amount, Decimal)


def test_naive_datetime_literal_is_local_to_ctx_tz():
    local = ev("2026-03-01T09:00", ctx(tz=SANTIAGO))
    assert local == dt.datetime(2026, 3, 1, 9, 0, tzinfo=SANTIAGO)
    assert local.utcoffset() == dt.timedelta(hours=-3)
    utc = ev("2026-03-01T09:00", ctx())
    assert utc.utcoffset() == dt.timedelta(0)
    offset = ev("2026-03-01T09:00-05:00", ctx(tz=SANTIAGO))
    assert offset.utcoffset() == dt.timedelta(hours=-5)


# -- operators -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", Decimal(7)), ("(1 + 2) * 3", Decimal(9)), ("10 - 4 - 3", Decimal(3)), ("12 / 4 / 3", Decimal(1)),
    ("-2 * 3", Decimal(-6)), ("- -2", Decimal(2)), ("2 - -2", Decimal(4)), ("1 < 2", True), ("2 <= 2", True),
    ("3 > 4", False), ("3 >= 4", False), ("1 == 1.0", True), ("1 != 2", True), ('"a" < "b"', True),
    ("true or false and false", True), ("(true or false) and false", False), ("not true or true", True),
    ("not 1 == 2", True), ("1 in [1, 2]", True), ("3 not in [1, 2]", True), ('"x" in []', False),
    ("2 weeks == 14 days", True), ("1 week < 8 days", True), ("2% + 1% == 3%", True), ("2% < 3%", True),
    ("3 days * 2", Duration(6, "days")), ("2 * 1 week", Duration(2, "weeks")), ("1 week + 2 days", Duration(9, "days")),
    ("1 month + 2 months", Duration(3, "months")), ("-1 month", Duration(-1, "months")),
])
def test_operators(text, value):
    result = ev(text)
    assert result == value and type(result) is type(value)


def test_and_or_short_circuit():
    # the right side would fail (text that is not a number) if it were evaluated
    assert ev('false and invoice.region > 1') is False
    assert ev('true or invoice.region > 1') is True
    with pytest.raises(EvalError):
        ev('true and invoice.region > 1')


def test_variables_and_members():
    assert ev("balance") == clp(60000)
    assert ev("invoice.id") == "INV-7"
    assert ev("invoice.amount") == clp(100000)
    assert ev("customer.segment in [\"vip\", \"smb\"]") is True
    assert ev("invoice.unknown_attribute") is None
    assert ev('count(customer.tags)') == 2
    assert ev("vip and balance > 50000") is True


def test_members_never_use_getattr():
    context = ctx(customer=types.SimpleNamespace(segment="vip"))
    with pytest.raises(EvalError, match="cannot read field 'segment' of"):
        ev("customer.segment", context)


# -- money -------------------------------------------------------------------------------------

def test_money_arithmetic():
    assert ev("balance + fees") == clp(60000)
    assert ev("balance - 10000") == clp(50000)
    assert ev("balance * 2") == clp(120000)
    assert ev("2% * balance") == clp(1200)
    assert ev("balance * 2.5%") == clp(1500)
    assert ev("balance / 4") == clp(15000)
    assert ev("balance / principal") == Decimal(1)
    assert ev("-balance") == clp(-60000)
    assert ev("abs(-balance)") == clp(60000)
    assert ev("max(balance - 100000, 0)") == clp(0)
    assert ev("min(balance, 1000)") == clp(1000)
    assert ev('rate("UF") * balance', ctx(rates={"UF": Decimal("2")})) == clp(120000)


def test_number_literal_reads_policy_currency():
    assert ev("balance > 50000") is True
    assert ev("balance == 60000") is True
    e = compile_expression("5000", S, expect=MONEY)
    assert e.evaluate(ctx()) == clp(5000) and e.is_constant() and e.constant_value() == clp(5000)


def test_zero_adopts_the_case_currency():
    context = ctx(balance=usd("12.50"))
    assert ev("balance > 0", context) is True
    assert ev("balance <= 0", context) is False
    assert ev("max(balance - 20 USD, 0)", context) == usd(0)
    assert ev("balance in [0]", context) is False


def test_runtime_currency_mismatch():
    context = ctx(balance=usd(100))
    with pytest.raises(EvalError) as info:
        ev("balance > 50000", context)
    e = info.value
    assert e.message == "cannot mix USD and CLP"
    assert e.expression == "balance > 50000"
    assert e.location is not None and e.location.column == 1
    assert isinstance(e, RuntimeError)
    with pytest.raises(EvalError, match="cannot mix USD and CLP"):
        ev("balance + 10 CLP", context)
    with pytest.raises(EvalError, match="cannot mix USD and CLP"):
        ev("balance == 10 CLP", context)
    with pytest.raises(EvalError, match="cannot mix"):
        ev("balance / principal", context)


def test_runtime_error_location_goes_through_origin():
    yaml = "\n" * 11 + "        when: vip and balance > 50000\n"
    src = Source("policies/b2b.yaml", yaml)
    origin = lambda offset, length: Location(src, 12, 15 + offset, length)  # noqa: E731
    expr = compile_expression("vip and balance > 50000", S, origin=origin, expect=BOOL)
    with pytest.raises(EvalError) as info:
        expr.evaluate(ctx(balance=usd(1)))
    assert (info.value.location.line, info.value.location.column) == (12, 15 + 8)
    assert str(info.value).startswith("policies/b2b.yaml:12:23: error: cannot mix USD and CLP")


@pytest.mark.parametrize("text, value", [
    ("round(10.005 USD)", usd("10.01")), ("round(10.004 USD)", usd("10.00")), ("round(1234.5 CLP)", clp(1235)),
    ("round(0.0005 BHD)", Money(Decimal("0.001"), "BHD")), ("round(-2.5 USD)", usd("-2.50")),
    ("round(2.5)", Decimal(3)), ("round(-2.5)", Decimal(-3)), ("round(1.2345, 2)", Decimal("1.23")),
    ("round(1.235, 2)", Decimal("1.24")), ("round(12345, -2)", Decimal(12300)), ("round(19.999 USD, 1)", usd("20.0")),
    ("round(balance / 7)", clp(8571)), ("round(2% * 19.99 USD)", usd("0.40")),
])
def test_rounding_half_up(text, value):
    result = ev(text)
    assert result == value
    assert str(result) == str(value)  # same digits, the currency's minor unit


def test_round_places_must_be_whole():
    with pytest.raises(EvalError, match="whole number"):
        ev("round(1.5, days_overdue / 8)")


# -- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("due + 15 days", dt.date(2026, 2, 15)), ("due - 1 week", dt.date(2026, 1, 24)),
    ("3 days + due", dt.date(2026, 2, 3)), ("today - due", 20), ("due - today", -20),
    ("2026-01-31 + 1 month", dt.date(2026, 2, 28)), ("2024-01-31 + 1 month", dt.date(2024, 2, 29)),
    ("2026-03-31 - 1 month", dt.date(2026, 2, 28)), ("2026-01-31 + 3 months", dt.date(2026, 4, 30)),
    ("2025-12-15 + 1 month", dt.date(2026, 1, 15)), ("due + 1 month + 1 month", dt.date(2026, 3, 28)),
    ("today > due", True), ("min(due, today)", dt.date(2026, 1, 31)),
])
def test_date_arithmetic(text, value):
    result = ev(text)
    assert result == value and type(result) is type(value)


class Holidays:
    def __init__(self, *days):
        self.days = set(days)

    def is_business_day(self, day):
        return day.weekday() < 5 and day not in self.days


def test_business_days_without_calendar_skip_weekends():
    friday = dt.date(2026, 3, 6)
    assert ev("2026-03-06 + 1 business day") == dt.date(2026, 3, 9)
    assert ev("2026-03-06 + 5 business days") == dt.date(2026, 3, 13)
    assert ev("2026-03-09 - 1 business day") == friday
    assert ev("due + 1 business day", ctx(due=dt.date(2026, 3, 7))) == dt.date(2026, 3, 9)


def test_business_days_with_calendar():
    cal = Holidays(dt.date(2026, 3, 9))
    assert ev("2026-03-06 + 1 business day", ctx(calendar=cal)) == dt.date(2026, 3, 10)
    expr = compile_expression("2026-03-06 + 1 business day", S)
    assert not expr.is_constant()  # it depends on the calendar
    assert expr.evaluate(ctx()) == dt.date(2026, 3, 9)
    assert expr.evaluate(ctx(calendar=cal)) == dt.date(2026, 3, 10)


def test_datetime_plus_duration_keeps_wall_clock_across_dst():
    start = dt.datetime(2026, 4, 4, 9, 0, tzinfo=SANTIAGO)  # -03:00; Chile leaves DST on April 5
    result = ev("now + 1 day", ctx(now=start))
    assert (result.date(), result.hour, result.minute) == (dt.date(2026, 4, 5), 9, 0)
    assert result.utcoffset() == dt.timedelta(hours=-4)
    assert ev("now + 1 business day", ctx(now=start)) == dt.datetime(2026, 4, 6, 9, 0, tzinfo=SANTIAGO)
    assert ev("entered - 1 month") == dt.datetime(2026, 1, 1, 9, 0, tzinfo=SANTIAGO)
    assert ev("now >= entered + 19 days") is True


# -- null semantics ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("promise.date", None), ("promise.date + 1 day", None), ("promise.amount - balance", None),
    ("promise.amount * 2", None), ("-promise.amount", None), ("abs(promise.amount)", None),
    ("round(promise.amount)", None), ("min(promise.date, due)", None),
    ("promise.date > today", False), ("promise.date < today", False), ("promise.date <= today", False),
    ("promise.date == null", True), ("promise.date != null", False), ("promise == null", True),
    ("null == null", True), ("balance == null", False), ("balance != null", True),
    ("not null", True), ("not invoice.none", True), ("null and true", False), ("invoice.none or true", True),
    ("promise.date in [null]", False), ("promise.date not in [today]", False), ("1 in invoice.none", False),
    ("count(invoice.none)", 0),
])
def test_null_semantics(text, value):
    assert ev(text) is value if value is None or isinstance(value, bool) else ev(text) == value


def test_guards_are_always_bool():
    guard = compile_expression("promise.date == null or promise.date > today", S, expect=BOOL)
    assert guard.evaluate(ctx()) is True
    assert compile_expression("invoice.none", S, expect=BOOL).evaluate(ctx()) is False
    assert compile_expression("invoice.flag", S, expect=BOOL).evaluate(ctx()) is True  # text "true"
    with pytest.raises(EvalError, match="expected true or false"):
        compile_expression("invoice.region", S, expect=BOOL).evaluate(ctx())
    const = compile_expression("null", S, expect=BOOL)
    assert const.is_constant() and const.constant_value() is False


# -- any: attributes the schema does not know ------------------------------------------------------------

def test_text_meeting_a_number_is_converted():
    assert ev("invoice.priority > 3") is True
    assert ev("invoice.priority + 1") == Decimal(6)
    assert ev("invoice.priority * 2") == Decimal(10)
    assert ev("invoice.priority == 5") is True
    with pytest.raises(EvalError, match="'north' is not a number"):
        ev("invoice.region > 3")


def test_text_meeting_money_and_dates():
    context = ctx(invoice={"limit": "50000", "promised": "2026-03-01", "bad": "soon"})
    assert ev("invoice.limit < balance", context) is True
    assert ev("invoice.promised > today", context) is True
    with pytest.raises(EvalError, match="'soon' is not a date"):
        ev("invoice.bad > today", context)


def test_any_member_of_non_record():
    with pytest.raises(EvalError, match="cannot read field 'x' of text"):
        ev("invoice.meta.x")
    assert ev("invoice.sub.x", ctx(invoice={"sub": {"x": 3}})) == 3


# -- failures --------------------------------------------------------------------------------------------

def test_runtime_failures_are_eval_errors():
    with pytest.raises(EvalError, match="division by zero"):
        ev("balance / days_overdue", ctx(days_overdue=0))
    with pytest.raises(EvalError, match="division by zero"):
        ev("10 / invoice.zero", ctx(invoice={"zero": "0"}))
    with pytest.raises(EvalError, match="cannot compare durations"):
        ev("invoice.d > 30 days", ctx(invoice={"d": Duration(1, "months")}))
    with pytest.raises(EvalError, match="whole number"):
        ev("3 days * days_overdue", ctx(days_overdue=Decimal("1.5")))
    with pytest.raises(EvalError, match="variable 'today' is not available"):
        compile_expression("today", S).evaluate(Ctx())
    with pytest.raises(EvalError, match="no reference rates"):
        compile_expression('rate("UF")', S).evaluate({"x": 1})
    with pytest.raises(EvalError, match='no value for rate "UF"'):
        ev('rate("UF") > 1')
    with pytest.raises(EvalError, match="out of range"):
        ev("due + 3000 months * 40")  # each literal within the limit, the product beyond any date


def test_rate_reads_ctx():
    context = ctx(rates={"UF": Decimal("39000.5")})
    expr = compile_expression('rate("UF") > 39000', S, expect=BOOL)
    assert expr.evaluate(context) is True
    assert context.rate_calls == ["UF"]
    assert expr.rates == frozenset({"UF"}) and not expr.is_constant()


# -- the Expression object ---------------------------------------------------------------------------------

def test_constant_folding():
    e = compile_expression("1 + 2 * 3", S)
    assert e.is_constant() and e.constant_value() == Decimal(7)
    assert compile_expression("2026-01-31 + 1 month", S).constant_value() == dt.date(2026, 2, 28)
    assert compile_expression("[1, 2]", S).constant_value() == (Decimal(1), Decimal(2))
    for text in ["balance > 0", "2026-03-01T09:00 > now", "2026-03-01T09:00", 'rate("UF")', "today + 1 business day"]:
        e = compile_expression(text, S)
        assert not e.is_constant()
        with pytest.raises(ValueError):
            e.constant_value()
    assert compile_expression("2026-03-01T09:00Z", S).is_constant()


def test_constant_that_always_fails_is_a_policy_error():
    with pytest.raises(PolicyError) as info:
        compile_expression("balance > 0 and 1 / 0 > 1", S)
    assert info.value.message == "division by zero"
    assert info.value.column == 17
    with pytest.raises(PolicyError, match="cannot add 1 month and 1 day"):
        compile_expression("due + (1 month + 1 day)", S)


def test_expression_fields_and_equality():
    a = compile_expression("balance>50000 CLP and (customer.segment=='vip')", S)
    b = compile_expression("(balance > 50000 CLP) and customer.segment == \"vip\"", S)
    assert a.text == "balance>50000 CLP and (customer.segment=='vip')"
    assert a.canonical == 'balance > 50000 CLP and customer.segment == "vip"'
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != compile_expression("balance > 50000 CLP", S)
    assert a.type == BOOL
    assert a.variables == frozenset({"balance", "customer.segment"})
    assert compile_expression("today > due + 3 days and vip", S).variables == frozenset({"today", "due", "vip"})
    with pytest.raises(AttributeError):
        a.text = "x"  # type: ignore[misc]
    assert "balance > 50000 CLP" in repr(a)
    assert isinstance(a, Expression)


def test_expect_money_types_the_literal():
    e = compile_expression("5000", S, expect=MONEY)
    assert e.type == MoneyType("CLP")
    assert e.canonical == "5000"  # the text is kept; the value is money


def test_part_evaluates_sub_expressions():
    expr = compile_expression("days_overdue >= 30 and balance > 50000 and today > due + 3 days", S, expect=BOOL)
    parts = {unparse(n): expr.part(n) for n in A.walk(expr.node)}
    context = ctx()
    assert parts["days_overdue"](context) == 20
    assert parts["50000"](context) == clp(50000)  # read as money, as in the whole expression
    assert parts["due + 3 days"](context) == dt.date(2026, 2, 3)
    assert parts["days_overdue >= 30"](context) is False
    with pytest.raises(ValueError):
        expr.part(parse("days_overdue"))
    with pytest.raises(EvalError):
        parts["balance > 50000"](ctx(balance=usd(1)))
