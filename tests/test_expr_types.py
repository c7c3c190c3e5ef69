"""Static types: every rule of SPEC §2, and a located error for each refusal."""

from __future__ import annotations

import pytest

from dunning_engine.errors import Location, PolicyError, Source
from dunning_engine.expr import (ANY, BOOL, DATE, DATETIME, DURATION, MONEY, NULL, NUMBER, PERCENT, TEXT, ListType,
                                 MoneyType, RecordType, Schema, check, compile_expression, parse, policy_schema)
from dunning_engine.expr.types import describe, is_assignable

INV = policy_schema("invoice", "CLP", segments=["vip", "smb"])
CUS = policy_schema("customer", "CLP")
ON = INV.with_event()


def typ(text: str, schema: Schema = INV):
    return check(parse(text), schema)


def terr(text: str, schema: Schema = INV) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        check(parse(text), schema)
    return info.value


@pytest.mark.parametrize("text, expected", [
    # literals
    ("12", NUMBER), ("12.5", NUMBER), ('"x"', TEXT), ("true", BOOL), ("null", NULL), ("2026-03-01", DATE),
    ("2026-03-01T09:00", DATETIME), ("3 days", DURATION), ("2%", PERCENT), ("5 USD", MoneyType("USD")),
    ('["a", "b"]', ListType(TEXT)), ("[]", ListType(ANY)), ("[1, null, 2]", ListType(NUMBER)),
    # variables
    ("now", DATETIME), ("today", DATE), ("state", TEXT), ("entered", DATETIME), ("days_in_state", NUMBER),
    ("due", DATE), ("issued", DATE), ("balance", MONEY), ("principal", MONEY), ("paid", MONEY), ("fees", MONEY),
    ("interest", MONEY), ("days_overdue", NUMBER), ("days_until_due", NUMBER), ("reminders", NUMBER),
    ("invoice.amount", MONEY), ("invoice.due", DATE), ("invoice.id", TEXT), ("invoice.po_number", ANY),
    ("customer.segment", TEXT), ("customer.credit_limit", ANY), ("promise.date", DATE), ("promise.amount", MONEY),
    ("plan.next_date", DATE), ("plan.missed_count", NUMBER), ("vip", BOOL),
    # money
    ("balance + fees", MONEY), ("balance - 10 CLP", MoneyType("CLP")), ("5 USD + balance", MoneyType("USD")),
    ("balance * 2", MONEY), ("2 * balance", MONEY), ("2% * balance", MONEY), ("balance * 2.5%", MONEY),
    ("balance / 3", MONEY), ("balance / principal", NUMBER), ("-balance", MONEY), ("abs(balance)", MONEY),
    ("round(balance)", MONEY), ("round(balance, 2)", MONEY),
    # numbers and percents
    ("1 + 2 * 3 / 4 - 5", NUMBER), ("-days_overdue", NUMBER), ("2% * 3", NUMBER), ("3 * 2%", NUMBER),
    ("2% + 1%", PERCENT), ("-2%", PERCENT), ("round(1.25, 1)", NUMBER), ("count([1, 2])", NUMBER),
    ('rate("UF")', NUMBER), ('rate("UF") * balance', MONEY),
    # dates, datetimes, durations
    ("due + 3 days", DATE), ("3 days + due", DATE), ("due - 1 month", DATE), ("due + 5 business days", DATE),
    ("now + 1 day", DATETIME), ("entered - 1 week", DATETIME),
    ("1 day + entered", DATETIME), ("today - due", NUMBER), ("1 week + 2 days", DURATION),
    ("3 days - 1 day", DURATION), ("3 days * 2", DURATION), ("2 * 3 days", DURATION), ("-3 days", DURATION),
    # min / max
    ("min(due, today)", DATE), ("max(balance, 1000)", MoneyType("CLP")), ("max(balance, 0)", MONEY),
    ("min(1, 2, 3)", NUMBER), ("max(3 days, 1 week)", DURATION), ("min(now, entered)", DATETIME),
    ("max(invoice.x, 1)", NUMBER), ("min(invoice.x, invoice.y)", ANY),
    # any is dynamic
    ("invoice.x + 1", ANY), ("invoice.x * balance", ANY), ("invoice.x.y", ANY), ("event.fields", ANY),
])
def test_types(text, expected):
    schema = ON if text.startswith("event") else INV
    assert typ(text, schema) == expected


@pytest.mark.parametrize("text", [
    "balance > 0", "balance >= 50000 CLP", "balance == paid", "due < today", "now >= entered", "1 < 2",
    '"a" < "b"', "true == false", "vip != true", "3 days < 1 week", "2% > 1%", "balance != null",
    "null == promise", "promise.date == null", "null == null", "invoice.x > 3", "invoice.x == balance",
    "customer.segment in [\"vip\", \"smb\"]", "1 in [1, 2]", "state not in [\"paid\"]", "balance in [0, 100]",
    "invoice.x in [1]", "1 in invoice.tags", "not vip", "vip and not smb or balance > 0", "not invoice.flag",
    "[1, 2] == [1]", "null in [1]", "today - due >= 30",
])
def test_bool_expressions(text):
    assert typ(text) == BOOL


@pytest.mark.parametrize("text, message, help_part", [
    ('balance > "5000"', "cannot compare money with text", "5000 CLP"),
    ('balance + "5"', "cannot add text to money", None),
    ("100 USD + 5 CLP", "cannot mix USD and CLP", None),
    ("100 USD > 5 CLP", "cannot mix USD and CLP", None),
    ("max(1 USD, 2 EUR)", "cannot mix USD and EUR", None),
    ("[1 USD, 2 EUR]", "cannot mix USD and EUR", None),
    ("due + 3", "cannot add number to date", "write a duration: due + 3 days"),
    ("due - days_overdue", "cannot subtract number from date", "write a duration: due - 3 days"),
    ("now + 1", "cannot add number to datetime", "write a duration: now + 1 days"),
    ("due + today", "cannot add date to date", "due + 3 days"),
    ("now - entered", "cannot subtract datetime from datetime", "today - due"),
    ("balance + days_overdue", "cannot add number to money", "50000 CLP"),
    ("balance * balance", "cannot multiply money by money", None),
    ("2 / balance", "cannot divide number by money", None),
    ("balance + 2%", "cannot add percent to money", "2% * balance"),
    ("2% + 2", "cannot add number to percent", "write a percent"),
    ("3 days + 2", "cannot add number to duration", "write a duration"),
    ("3 days * 2 days", "cannot multiply duration by duration", None),
    ('"a" + "b"', "cannot add text to text", None),
    ("true + 1", "cannot add number to bool", None),
    ("now > due", "cannot compare datetime with date", "datetimes with datetimes"),
    ("due > 3", "cannot compare date with number", "days_overdue"),
    ("2% > 2", "cannot compare percent with number", "write a percent: 2%"),
    ("true < false", "cannot order bool values with '<'", "'=='"),
    ("balance < null", "'<' with null is always false", "'== null'"),
    ("promise == customer", "cannot compare record 'promise' with record 'customer'", None),
    ("-due", "cannot negate date", None),
    ("not balance", "'not' needs true or false, not money", "compare it"),
    ("vip and 1", "'and' needs true or false, not number", None),
    ("days_overdue or vip", "'or' needs true or false, not number", None),
    ('state in "paid"', "'in' needs a list on the right, not text", "customer.segment in"),
    ("1 in [\"a\"]", "cannot look for number in a list of text", None),
    ('[1, "a"]', "a list cannot mix number and text", None),
    ("count(balance)", "count() needs a list, not money", None),
    ("abs(today)", "abs() needs a number or money, not date", None),
    ("round(1, \"x\")", "the decimals of round() must be a number, not text", None),
    ("min(1)", "min() takes at least two values, not 1", None),
    ("abs(1, 2)", "abs() takes one value, not 2", None),
    ("max(true, false)", "max() cannot order bool values", None),
    ("min(due, now)", "min() cannot mix date and datetime", None),
    ("rate(uf)", "rate() takes the name of a rate in quotes", 'rate("UF")'),
    ('rate("")', "rate() takes the name of a rate in quotes", None),
    ("balance.amount", "cannot read field 'amount' of money", "only records have fields"),
    ("null.x", "cannot read field 'x' of null", None),
])
def test_type_errors(text, message, help_part):
    e = terr(text)
    assert e.message == message
    if help_part is not None:
        assert help_part in (e.help or "")
    assert e.location is not None


def test_number_literal_meets_money_in_policy_currency():
    assert typ("balance > 50000") == BOOL
    assert typ("50000 < balance") == BOOL
    assert typ("balance - 1000") == MoneyType("CLP")
    assert typ("-1000 + balance") == MoneyType("CLP")
    usd = policy_schema("invoice", "USD")
    assert check(parse("100 USD > 5"), usd) == BOOL


def test_number_literal_against_other_known_currency():
    e = terr("100 USD > 50000")
    assert "write the currency: 50000 USD" in e.render()
    assert (e.column, e.location.length) == (11, 5)
    e = terr("max(5 EUR, 3)")
    assert e.help == "write the currency: 3 EUR"


def test_zero_meets_any_currency():
    assert typ("100 USD > 0") == BOOL
    assert typ("max(5 EUR, 0)") == MoneyType("EUR")


def test_number_that_is_not_a_literal_does_not_become_money():
    assert terr("balance > days_overdue").message == "cannot compare money with number"
    assert terr("balance > 2 * 3").message == "cannot compare money with number"


def test_any_is_compatible_with_everything():
    for text in ["invoice.x > balance", "invoice.x == due", "invoice.x + 3 days", "not invoice.x",
                 "invoice.x in [1, 2]", "count(invoice.tags)", "abs(invoice.x)", "invoice.x < now"]:
        typ(text)


def test_unknown_variable_with_did_you_mean():
    e = terr("balanse > 0")
    assert e.message == "unknown variable 'balanse'"
    assert e.help == "did you mean 'balance'?"
    assert (e.line, e.column, e.location.length) == (1, 1, 7)
    assert terr("vipp").help == "did you mean 'vip'?"  # segments are variables too


def test_unknown_variable_hints():
    assert terr("open_balance > 0").help == "'open_balance' is only available with scope: customer"
    assert "is a function" in terr("max > 1").help
    assert terr("zzzz").help is None


def test_customer_scope_variables():
    for name, t in [("open_balance", MONEY), ("overdue_balance", MONEY), ("open_count", NUMBER),
                    ("overdue_count", NUMBER), ("oldest_due", DATE), ("oldest_days_overdue", NUMBER)]:
        assert typ(name, CUS) == t
    assert typ("balance", CUS) == MONEY


def test_unknown_function():
    e = terr("mx(balance, 1)")
    assert e.message == "unknown function 'mx'"
    assert e.help == "did you mean 'max'?"
    assert (e.column, e.location.length) == (1, 2)
    e = terr("1 + frobnicate(2)")
    assert e.column == 5 and "abs, count, max, min, rate, round" in e.help
    assert "is a variable" in terr("balance(1)").help


def test_event_only_in_on_rules():
    e = terr('event.type == "payment"')
    assert e.message == "event.* is only available in 'on:' rules"
    assert (e.column, e.location.length) == (1, 5)
    assert typ('event.type == "payment"', ON) == BOOL
    assert typ("event.amount", ON) == MONEY
    assert typ("event.at", ON) == DATETIME
    assert typ("event.custom_field", ON) == ANY
    assert ON.with_event() == ON and ON.without_event() == INV


def test_closed_record_unknown_field():
    e = terr("promise.dat > today")
    assert e.message == "record 'promise' has no field 'dat'"
    assert e.help == "did you mean 'date'?"
    assert (e.column, e.location.length) == (9, 3)
    e = terr("plan.whatever")
    assert "next_date" in e.help


def test_open_record_unknown_field_is_any():
    assert typ("invoice.region") == ANY
    assert typ("customer.tier") == ANY


def test_underscore_member_refused_by_check_too():
    from dunning_engine.expr import ast as A
    e = terr_node(A.Member(A.Var("invoice", start=0, length=7), "__class__", start=0, length=17, name_start=8))
    assert e.message == "names starting with '_' are not allowed"
    assert e.column == 9
    assert terr_node(A.Var("_secret")).message == "names starting with '_' are not allowed"


def terr_node(node) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        check(node, INV)
    return info.value


def test_check_location_through_origin():
    yaml = "\n" * 11 + "        when: balance > 5000 CLP and promise.dat > today\n"
    src = Source("policies/b2b.yaml", yaml)
    origin = lambda offset, length: Location(src, 12, 15 + offset, length)  # noqa: E731
    text = "balance > 5000 CLP and promise.dat > today"
    with pytest.raises(PolicyError) as info:
        check(parse(text, origin), INV, origin)
    e = info.value
    k = text.index("dat ")
    assert (e.file, e.line, e.column, e.location.length) == ("policies/b2b.yaml", 12, 15 + k, 3)
    assert "^^^" in e.render()
    with pytest.raises(PolicyError) as info:
        compile_expression(text, INV, origin=origin)
    assert info.value.column == 15 + k


def test_check_without_origin_reports_columns():
    e = terr("1 + due + 3")
    assert (e.line, e.column) == (1, 1)
    e = terr("vip and (due + 3 > today)")
    assert e.column == 10


# -- expect ------------------------------------------------------------------------------

def test_guards_must_be_bool():
    e = pytest.raises(PolicyError, compile_expression, "balance", INV, expect=BOOL, what="'when:'").value
    assert e.message == "'when:' must be bool, not money"
    assert "compare it" in e.help
    assert compile_expression("vip", INV, expect=BOOL).type == BOOL
    assert compile_expression("invoice.flag", INV, expect=BOOL).type == ANY


def test_expect_alternatives():
    e = compile_expression("due + 3 days", INV, expect=(DATE, DATETIME))
    assert e.type == DATE
    err = pytest.raises(PolicyError, compile_expression, "balance", INV, expect=(DATE, DATETIME), what="'at:'").value
    assert err.message == "'at:' must be date or datetime, not money"


def test_number_literal_where_money_is_expected():
    e = compile_expression("5000", INV, expect=MONEY)
    assert e.type == MoneyType("CLP")
    e = compile_expression("-5", INV, expect=MONEY)
    assert e.type == MoneyType("CLP")
    with pytest.raises(PolicyError, match="write the currency: 5 USD"):
        compile_expression("5", INV, expect=MoneyType("USD"))
    with pytest.raises(PolicyError):
        compile_expression("days_overdue", INV, expect=MONEY)


def test_expect_helps():
    assert "7 days" in pytest.raises(PolicyError, compile_expression, "7", INV, expect=DURATION).value.help
    assert "2%" in pytest.raises(PolicyError, compile_expression, "2", INV, expect=PERCENT).value.help
    assert "today or due" in pytest.raises(PolicyError, compile_expression, "now", INV, expect=DATE).value.help


# -- schema and types ------------------------------------------------------------------------

def test_policy_schema_contents():
    s = policy_schema("customer", "USD", segments=["big"], event=True)
    assert s.currency == "USD" and s.scope == "customer" and s.event
    assert s.segments == frozenset({"big"}) and s.lookup("big") == BOOL
    assert isinstance(s.lookup("invoice"), RecordType) and s.lookup("invoice").open
    assert not s.lookup("promise").open
    assert "open_balance" in s.names and "open_balance" not in INV.names
    assert hash(s) == hash(policy_schema("customer", "USD", segments=["big"], event=True))


@pytest.mark.parametrize("args, message", [
    (("shop", "CLP"), "unknown scope 'shop'"),
    (("invoice", "XYZ"), "unknown currency code 'XYZ'"),
    (("invoice", "clp"), "unknown currency code 'clp'"),
    (("invoice", "CLP", ["balance"]), "segment 'balance' would hide the variable 'balance'"),
    (("invoice", "CLP", ["Big"]), "invalid segment name 'Big'"),
    (("invoice", "CLP", ["_x"]), "invalid segment name '_x'"),
    (("invoice", "CLP", ["and"]), "invalid segment name 'and'"),
])
def test_policy_schema_refusals(args, message):
    with pytest.raises(PolicyError) as info:
        policy_schema(*args)
    assert info.value.message == message


def test_type_helpers():
    assert describe((DATE, DATETIME)) == "date or datetime"
    assert str(ListType(TEXT)) == "list of text" and str(MoneyType("USD")) == "money (USD)"
    assert is_assignable(MoneyType("USD"), MONEY) and not is_assignable(MoneyType("USD"), MoneyType("CLP"))
    assert is_assignable(MONEY, MoneyType("CLP")) and is_assignable(ANY, DATE) and is_assignable(NULL, BOOL)
    assert not is_assignable(NUMBER, MONEY)
    assert is_assignable(ListType(TEXT), ListType(ANY)) and not is_assignable(ListType(TEXT), ListType(NUMBER))
