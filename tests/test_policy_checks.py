"""Checks of policy values at validate (issue 11): null and over-long durations, amounts of actions that
make no sense, money parameters in another currency, unknown duration units; each a positioned error in
both forms, never a traceback (SPEC §1 Actions, §2, §3, §12)."""

from __future__ import annotations

import textwrap

import pytest

from dunning_engine import load_policy_text
from dunning_engine.errors import PolicyError

YAML = """\
policy: t
currency: PEN
states:
  open:
    initial: true
    rules:
{rules}
      - on: payment
        goto: paid
  paid:
    final: true
{extra}"""

DSL = """\
policy t version 1
currency PEN
state open initial:
{body}
    on payment -> paid
state paid final
{extra}"""


def yaml_policy(rules: str = "", extra: str = "") -> str:
    return YAML.format(rules=textwrap.indent(textwrap.dedent(rules).strip("\n"), " " * 6), extra=extra)


def dsl_policy(body: str = "", extra: str = "") -> str:
    return DSL.format(body=textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 4), extra=extra)


def errors_of(text: str, form: str) -> list[PolicyError]:
    name = "p.yaml" if form == "yaml" else "p.dunning"
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, format=form, name=name)
    assert "Traceback" not in info.value.render()
    return list(info.value.errors)


def underlined(err: PolicyError) -> str:
    line = err.location.source.line(err.line)
    return line[err.column - 1: err.column - 1 + err.location.length]


def the_error(text: str, form: str, message: str) -> PolicyError:
    """The one error of ``text`` whose message holds ``message``, positioned."""
    errs = errors_of(text, form)
    found = [e for e in errs if message in e.message]
    assert len(found) == 1, [e.message for e in errs]
    assert found[0].location is not None and found[0].file in ("p.yaml", "p.dunning")
    return found[0]


def accepted(text: str, form: str):
    return load_policy_text(text, format=form, name="p.yaml" if form == "yaml" else "p.dunning")


# ---------------------------------------------------------------------------
# null durations (each used to end in AttributeError)
# ---------------------------------------------------------------------------

NULL_DURATIONS = [
    # (what, YAML rules, YAML extra, DSL body, DSL extra)
    ("every", '- every: "null"\n  do: [suspend]', "", "every null:\n    suspend", ""),
    ("after", '- after: "null"\n  do: [suspend]', "", "after null:\n    suspend", ""),
    ("expires", '- at: due\n  expires: "null"\n  do: [suspend]', "", "at due expires null:\n    suspend", ""),
    ("'every' of 'offer_plan'", '- at: due\n  do: [{offer_plan: {installments: 3, every: "null"}}]', "",
     "at due:\n    offer plan 3 installments every null", ""),
    ("gap", "", 'contact:\n  limits:\n    - {gap: "null"}\n', "", "contact:\n    gap null\n"),
    ("per", "", 'contact:\n  limits:\n    - {max: 2, per: "null"}\n', "", "contact:\n    limit 2 per null\n"),
]


@pytest.mark.parametrize("form", ["yaml", "dsl"])
@pytest.mark.parametrize("what, yrules, yextra, dbody, dextra", NULL_DURATIONS, ids=[c[0] for c in NULL_DURATIONS])
def test_a_null_duration_is_a_positioned_error(form, what, yrules, yextra, dbody, dextra):
    text = yaml_policy(yrules, yextra) if form == "yaml" else dsl_policy(dbody, dextra)
    err = the_error(text, form, f"{what} must be a duration such as '7 days', not null")
    assert underlined(err).strip('"') == "null"
    assert len(errors_of(text, form)) == 1  # no second error about the same value (e.g. the limit's shape)


@pytest.mark.parametrize("yrules, yextra", [
    ("- every: null\n  do: [suspend]", ""),
    ('- at: due\n  do: [{offer_plan: {installments: 3, every: null}}]', ""),
    ("", "contact:\n  limits:\n    - {gap: null}\n"),
    ("", "contact:\n  limits:\n    - {max: 2, per: ~}\n"),
])
def test_a_yaml_null_duration_is_reported_once_as_empty(yrules, yextra):
    (err,) = errors_of(yaml_policy(yrules, yextra), "yaml")
    assert err.message.endswith("is empty") and underlined(err) in ("null", "~")


@pytest.mark.parametrize("form, text, what", [
    ("yaml", yaml_policy('- at: "null"\n  do: [suspend]'), "at is null"),
    ("yaml", yaml_policy('- every: 1 day\n  starting: "null"\n  do: [suspend]'), "starting is null"),
    ("yaml", yaml_policy('- at: due\n  do: [{fee: {amount: "null"}}]'), "'amount' of 'fee' is null"),
    ("yaml", yaml_policy('- at: due\n  do: [{fee: {percent: "null"}}]'), "'percent' of 'fee' is null"),
    ("yaml", yaml_policy('- at: due\n  do: [{discount: {percent: "null", until: due}}]'), "'percent' of 'discount' is null"),
    ("yaml", yaml_policy('- at: due\n  do: [{discount: {percent: 5%, until: "null"}}]'), "'until' of 'discount' is null"),
    ("yaml", yaml_policy('- at: due\n  do: [{interest: {annual_rate: "null"}}]'), "'annual_rate' of 'interest' is null"),
    ("dsl", dsl_policy("at null:\n    suspend"), "at is null"),
    ("dsl", dsl_policy("at due:\n    fee null"), "'amount' of 'fee' is null"),
    ("dsl", dsl_policy("at due:\n    offer plan 3 installments down null"), "'down_payment' of 'offer_plan' is null"),
])
def test_a_null_amount_or_date_is_refused(form, text, what):
    # A constant null never fires (dates) or fails every case at run time (amounts; percents crashed the run).
    err = the_error(text, form, what)
    assert underlined(err).strip('"') == "null"


def test_a_null_text_stays_allowed():
    accepted(yaml_policy('- at: due\n  do: [{remind: {template: x, to: "null"}}]'), "yaml")


# ---------------------------------------------------------------------------
# durations that take a date out of 1900-2200 (each used to end in OverflowError at run time)
# ---------------------------------------------------------------------------

HUGE = [
    ("after", "- after: 99999 months\n  do: [suspend]", "", "after 99999 months:\n    suspend", "", "99999 months"),
    ("every", "- every: 3601 months\n  do: [suspend]", "", "every 3601 months:\n    suspend", "", "3601 months"),
    ("expires", "- at: due\n  expires: 3601 months\n  do: [suspend]", "", "at due expires 3601 months:\n    suspend", "",
     "3601 months"),
    ("plan every", "- at: due\n  do: [{offer_plan: {installments: 2, every: 15654 weeks}}]", "",
     "at due:\n    offer plan 2 installments every 15654 weeks", "", "15654 weeks"),
    ("gap", "", "contact:\n  limits:\n    - {gap: 78268 business days}\n", "", "contact:\n    gap 78268 business days\n",
     "78268 business days"),
    ("per", "", "contact:\n  limits:\n    - {max: 2, per: 99999 months}\n", "", "contact:\n    limit 2 per 99999 months\n",
     "99999 months"),
    ("at", "- at: due + 99999 months\n  do: [suspend]", "", "at due + 99999 months:\n    suspend", "", "99999 months"),
]


@pytest.mark.parametrize("form", ["yaml", "dsl"])
@pytest.mark.parametrize("what, yrules, yextra, dbody, dextra, literal", HUGE, ids=[c[0] for c in HUGE])
def test_a_duration_over_300_years_is_a_positioned_error(form, what, yrules, yextra, dbody, dextra, literal):
    text = yaml_policy(yrules, yextra) if form == "yaml" else dsl_policy(dbody, dextra)
    err = the_error(text, form, "duration too long")
    assert underlined(err) == literal
    assert "1900-2200" in err.help


@pytest.mark.parametrize("form", ["yaml", "dsl"])
def test_durations_at_the_limit_are_accepted(form):
    if form == "yaml":
        text = yaml_policy("""
            - after: 3600 months
              do: [suspend]
            - every: 15653 weeks
              expires: 100000 days + 9575 days
              do: [suspend]
            """, "contact:\n  limits:\n    - {gap: 78267 business days}\n")
    else:
        text = dsl_policy("""
            after 3600 months:
                suspend
            every 15653 weeks expires 100000 days + 9575 days:
                suspend
            """, "contact:\n    gap 78267 business days\n")
    accepted(text, form)


def test_a_folded_duration_over_the_limit_is_refused():
    err = the_error(yaml_policy("- after: 3000 months + 3000 months\n  do: [suspend]"), "yaml", "duration too long")
    assert err.message.startswith("after: ") and underlined(err) == "3000 months + 3000 months"


def test_a_plan_longer_than_300_years_is_refused():
    err = the_error(yaml_policy("- at: due\n  do: [{offer_plan: {installments: 1000, every: 4 months}}]"), "yaml",
                    "lasts more than 300 years")
    assert underlined(err) == "1000"
    accepted(yaml_policy("- at: due\n  do: [{offer_plan: {installments: 900, every: 4 months}}]"), "yaml")
    # the default period is 30 days: 3,653 of them pass 109,575 days
    the_error(yaml_policy("- at: due\n  do: [{offer_plan: {installments: 3653}}]"), "yaml", "lasts more than 300 years")


# ---------------------------------------------------------------------------
# amounts of actions
# ---------------------------------------------------------------------------

AMOUNTS = [
    ("{discount: {percent: 150%, until: due}}", "discount 150% until due", "a discount is more than 0% and at most 100%",
     "150%"),
    ("{discount: {percent: 0%, until: due}}", "discount 0% until due", "a discount is more than 0% and at most 100%", "0%"),
    ("{discount: {percent: -5%, until: due}}", "discount -5% until due", "cannot be negative", "-5%"),
    ("{discount: {amount: 0, until: due}}", "discount 0 PEN until due", "a discount of nothing", None),
    ("{fee: {amount: -5 PEN}}", "fee -5 PEN", "'amount' of 'fee' cannot be negative", "-5 PEN"),
    ("{fee: {percent: -2%}}", "fee -2% of balance", "'percent' of 'fee' cannot be negative", "-2%"),
    ("{fee: {percent: 2%, min: -1}}", "fee 2% of balance min -1", "'min' of 'fee' cannot be negative", "-1"),
    ("{fee: {percent: 2%, min: 100 PEN, max: 50 PEN}}", "fee 2% of balance min 100 PEN max 50 PEN",
     "the fee minimum (100 PEN) is more than its maximum (50 PEN)", "100 PEN"),
    ("{fee: {amount: 10, min: 7, max: 6.5}}", "fee 10 min 7 max 6.5", "the fee minimum (7) is more than its maximum (6.5)",
     "7"),
    ("{offer_plan: {installments: 3, down_payment: 120%}}", "offer plan 3 installments down 120%",
     "a down payment is at most 100%", "120%"),
    ("{offer_plan: {installments: 3, down_payment: -10}}", "offer plan 3 installments down -10",
     "'down_payment' of 'offer_plan' cannot be negative", "-10"),
    ("{interest: {annual_rate: -1%}}", "interest -1% per year", "'annual_rate' of 'interest' cannot be negative", "-1%"),
]


@pytest.mark.parametrize("form", ["yaml", "dsl"])
@pytest.mark.parametrize("yaction, daction, message, literal", AMOUNTS, ids=[c[1] for c in AMOUNTS])
def test_an_amount_that_makes_no_sense_is_refused(form, yaction, daction, message, literal):
    text = (yaml_policy(f"- at: due\n  do: [{yaction}]") if form == "yaml"
            else dsl_policy(f"at due:\n    {daction}"))
    err = the_error(text, form, message)
    if literal is not None:
        assert underlined(err) == literal


@pytest.mark.parametrize("action", [
    "{discount: {percent: 100%, until: due}}",       # the whole balance: allowed
    "{discount: {percent: 0.5%, until: due}}",
    "{fee: {percent: 150%, of: principal}}",           # a fee over 100% is not refused (docs/decisions.md)
    "{fee: {percent: 0%, of: balance, min: 50}}",      # a flat minimum written as a percent fee
    "{fee: {amount: 0}}",                              # charges nothing: no action (docs/money.md)
    "{fee: {percent: 2%, min: 50, max: 50}}",
    "{fee: {percent: 2%, min: 10 PEN * 2, max: balance}}",  # only constants are compared
    "{offer_plan: {installments: 3, down_payment: 100%}}",
    "{discount: {percent: 5% + 5%, until: due}}",
])
def test_amounts_that_make_sense_are_accepted(action):
    accepted(yaml_policy(f"- at: due\n  do: [{action}]"), "yaml")


def test_a_percent_discount_over_100_no_longer_pays_the_customer():
    # Before: 150% passed validate and the offer's 'pay' was negative.
    text = yaml_policy("- at: due\n  do: [{discount: {percent: 150%, until: due + 10 days}}]")
    (err,) = errors_of(text, "yaml")
    assert (err.line, err.column) == (8, 35) and underlined(err) == "150%"
    (err,) = errors_of(yaml_policy("- at: due\n  do: [{discount: {percent: 60% + 50%, until: due}}]"), "yaml")
    assert "at most 100%, found '60% + 50%'" in err.message


# ---------------------------------------------------------------------------
# money parameters in another currency than the policy's (failed every case at run time)
# ---------------------------------------------------------------------------

CURRENCY = [
    ("{fee: {amount: 5 PEN, max: 50 USD}}", "fee 5 PEN max 50 USD", "'max' of 'fee'", "50 USD"),
    ("{fee: {percent: 2%, min: 5 CLP}}", "fee 2% of balance min 5 CLP", "'min' of 'fee'", "5 CLP"),
    ("{fee: {amount: 25 USD}}", "fee 25 USD", "'amount' of 'fee'", "25 USD"),
    ("{discount: {amount: 10 USD, until: due}}", "discount 10 USD until due", "'amount' of 'discount'", "10 USD"),
    ("{offer_plan: {installments: 3, down_payment: 100 USD}}", "offer plan 3 installments down 100 USD",
     "'down_payment' of 'offer_plan'", "100 USD"),
    ('{fee: {amount: "max(50 USD, 1 USD)"}}', "fee max(50 USD, 1 USD)", "'amount' of 'fee'", "max(50 USD, 1 USD)"),
]


@pytest.mark.parametrize("form", ["yaml", "dsl"])
@pytest.mark.parametrize("yaction, daction, what, literal", CURRENCY, ids=[c[1] for c in CURRENCY])
def test_money_of_another_currency_in_an_action_is_refused_at_validate(form, yaction, daction, what, literal):
    text = (yaml_policy(f"- at: due\n  do: [{yaction}]") if form == "yaml"
            else dsl_policy(f"at due:\n    {daction}"))
    err = the_error(text, form, f"{what} must be money (PEN)")
    assert underlined(err).strip('"') == literal
    assert "PEN" in err.help


def test_money_of_the_case_currency_stays_allowed():
    # 'balance' has the case's currency: a policy stays usable on invoices of other currencies.
    accepted(yaml_policy("- at: due\n  do: [{fee: {percent: 2%, max: balance * 10%, min: 5}}]"), "yaml")


def test_validate_reports_a_foreign_currency_fee_with_its_position(tmp_path):
    from click.testing import CliRunner

    from dunning_engine.cli.main import cli

    path = tmp_path / "p.yaml"
    path.write_text(yaml_policy("- at: due\n  do: [{fee: {percent: 2%, of: balance, max: 50 USD}}]"))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:8:52: error: 'max' of 'fee' must be money (PEN), not money (USD)" in result.output


# ---------------------------------------------------------------------------
# unknown duration units (was: "an operator is missing")
# ---------------------------------------------------------------------------

UNITS = "use day(s), week(s), month(s) or business day(s)"


@pytest.mark.parametrize("form", ["yaml", "dsl"])
@pytest.mark.parametrize("expr, word, help", [
    ("due - 5 dias", "dias", "did you mean 'days'?"),
    ("due + 2 years", "years", "write 12 months for a year"),
    ("due + 3 business dias", "business dias", "did you mean 'days'?"),
    ("(due + 3 semanas) - 1 day", "semanas", None),
])
def test_an_unknown_duration_unit_is_named(form, expr, word, help):
    text = (yaml_policy(f"- at: {expr}\n  do: [suspend]") if form == "yaml"
            else dsl_policy(f"at {expr}:\n    suspend"))
    (err,) = errors_of(text, form)
    assert err.message == f"unknown duration unit '{word}': {UNITS}"
    assert underlined(err) == word
    assert err.help == help


@pytest.mark.parametrize("form", ["yaml", "dsl"])
def test_an_unknown_unit_in_a_guard_and_a_timer(form):
    text = (yaml_policy("- every: 5 dais\n  do: [suspend]\n- when: days_overdue > 5 dias\n  do: [suspend]")
            if form == "yaml" else dsl_policy("every 5 dais:\n    suspend\nwhen days_overdue > 5 dias:\n    suspend"))
    errs = errors_of(text, form)
    if form == "dsl":  # the DSL stops at its first syntax error in a block: the second is the next state's
        errs = errs[:1]
    for err in errs:
        assert err.message.startswith("unknown duration unit") and underlined(err) in ("dais", "dias")


@pytest.mark.parametrize("form, text", [
    ("yaml", yaml_policy("- at: due + 5 balance\n  do: [suspend]")),   # a variable: an operator is missing
    ("yaml", yaml_policy("- at: due + 1.5 days\n  do: [suspend]")),     # a unit after a decimal: not a unit problem
    ("dsl", dsl_policy("at due + 5 balance:\n    suspend")),
    ("dsl", "policy t version 3 foo\ncurrency PEN\nstate a initial final\n"),  # a number outside an expression
])
def test_other_words_after_a_number_are_not_called_units(form, text):
    for err in errors_of(text, form):
        assert "duration unit" not in err.message


# ---------------------------------------------------------------------------
# tabs in DSL indentation: the hint must work on a file that does not parse
# ---------------------------------------------------------------------------


def test_the_tab_hint_names_the_lines_and_does_not_suggest_fmt():
    text = "policy t version 1\ncurrency PEN\nstate a initial:\n\ton payment -> b\n  \tat due -> b\nstate b final\n"
    (err,) = errors_of(text, "dsl")
    assert err.message == "a tab character in the indentation" and (err.line, err.column) == (4, 1)
    assert "fmt" not in err.help
    assert err.help == "replace the tabs in the indentation of line 4 with spaces (4 per level in the canonical " \
                       "layout); line 5 has tabs too"
    fixed = text.replace("\t", "    ")
    accepted(fixed.replace("  " + "    ", "    "), "dsl")
