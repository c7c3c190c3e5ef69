"""A DSL file with several errors reports them all, in file order, each positioned (issue 11): after a
syntax error the parts that parse are still read and checked; what a lost part defined never causes a
false error. YAML policies report their independent errors together too."""

from __future__ import annotations

import pytest

from dunning_engine import load_policy_text
from dunning_engine.errors import PolicyError
from dunning_engine.policy.dsl import load_dsl, parse_dsl
from dunning_engine.policy.dsl_recover import MAX_SYNTAX_ERRORS


def errors(text: str, name: str = "p.dunning") -> list[PolicyError]:
    with pytest.raises(PolicyError) as info:
        load_dsl(text, name)
    assert "Traceback" not in info.value.render()
    return list(info.value.errors)


def found(errs: list[PolicyError]) -> list[tuple[int, int, str]]:
    """(line, column, underlined text) of each error, in the order reported."""
    out = []
    for e in errs:
        line = e.location.source.line(e.line)
        out.append((e.line, e.column, line[e.column - 1: e.column - 1 + e.location.length]))
    return out


def test_a_semantic_error_before_a_syntax_error_is_reported_too():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial:\n"
        "    when balanse > 0 -> paid\n"          # unknown variable (used to be hidden)
        "    at due + 1 day whenn vip -> paid\n"   # syntax error
        "state paid final\n"
    )
    errs = errors(text)
    assert [e.message for e in errs] == ["unknown variable 'balanse'", "unexpected 'whenn'"]
    assert found(errs) == [(4, 10, "balanse"), (5, 20, "whenn")]
    assert errs[0].help == "did you mean 'balance'?"
    assert errs[1].code == "syntax"


def test_three_errors_in_three_blocks_in_file_order():
    text = (
        "policy t version 1\n"
        "currency PEN\n"
        "segment big: balance > 100 USD and\n"            # 3: syntax: incomplete expression
        "state open initial:\n"
        "    at due + 1 day -> late:\n"
        '        remind "first" via pigeon\n'             # 6: unknown channel
        "    on payment -> paid\n"
        "state late:\n"
        "    every 7 days max 4 starting:\n"              # 9: syntax: nothing after 'starting'
        '        remind "late"\n'
        "    at due + 30 days -> legal:\n"
        "        fee 2% of balance max 50 USD\n"         # 12: money in another currency
        "state legal\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert [(e.line, e.code == "syntax") for e in errs] == [(3, True), (6, False), (9, True), (12, False)]
    assert found(errs)[1] == (6, 28, "pigeon")
    assert found(errs)[3] == (12, 31, "50 USD")
    assert "'max' of 'fee' must be money (PEN)" in errs[3].message


def test_one_bad_rule_loses_only_that_rule():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial:\n"
        "    on enter:\n"
        '        remind "hello" via emial\n'             # 5: semantic, before the bad rule
        "    at due + + 1 day -> paid\n"                 # 6: syntax
        "    after 3 days when reminders > x -> paid\n"  # 7: semantic, after it, same state
        "    on payment -> paid\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert [e.line for e in errs] == [5, 6, 7]
    assert "emial" in errs[0].message and errs[1].code == "syntax" and errs[2].message == "unknown variable 'x'"


@pytest.mark.parametrize("bad, consequence", [
    ("state paid final oops\n", "undefined state 'paid'"),                   # the state a goto names
    ("segment vip customer.segment\n", "unknown variable 'vip'"),            # a segment a guard reads
    ("stat paid final\n", "undefined state 'paid'"),                        # a block of unknown kind
])
def test_what_a_lost_block_defined_causes_no_false_error(bad, consequence):
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        + bad +
        "state open initial:\n"
        "    when vip -> paid\n"
        "    on payment when balanse <= 0 -> paid\n"
    )
    if "segment" in bad:
        text += "state paid final\n"
    errs = errors(text)
    messages = [e.message for e in errs]
    assert consequence not in messages
    assert errs[0].line == 3 and errs[0].code == "syntax"
    if "stat " not in bad:  # local errors of the parts that parse are still reported
        assert "unknown variable 'balanse'" in messages


def test_a_lost_currency_line_causes_no_missing_currency_error():
    errs = errors("policy t version 1\ncurrency\nstate open initial:\n    on payment -> paid\nstate paid final\n")
    assert [e.message for e in errs] == ["expected a currency code after 'currency'"]


def test_missing_parts_of_the_file_are_still_reported():
    # Nothing lost defined them: the file really has no currency and no states.
    errs = errors('policy t version 1\ndescription "unterminated\n')
    assert {e.message for e in errs} == {"unterminated string", "the policy has no 'currency' line",
                                         "the policy has no states"}


def test_an_unclosed_bracket_does_not_swallow_the_rest_of_the_file():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial:\n"
        "    when (balance > 0 -> paid\n"
        "    on payment when balanse <= 0 -> paid\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert [e.line for e in errs] == [4, 5]
    assert errs[1].message == "unknown variable 'balanse'"


def test_a_multi_line_expression_in_brackets_stays_one_line():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "segment big: (balance > 100\n"
        "    and days_overdue > 3)\n"
        "state open initial:\n"
        "    when big and balanse > 0 -> paid\n"
        "    at due whenn x -> paid\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert [(e.line, e.message) for e in errs] == [(6, "unknown variable 'balanse'"), (7, "unexpected 'whenn'")]


def test_a_state_whose_every_rule_is_bad_still_exists():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial:\n"
        "    at due whenn x -> paid\n"
        "state paid final\n"
        "state other:\n"
        "    on payment -> open\n"
    )
    errs = errors(text)
    assert [e.message for e in errs] == ["unexpected 'whenn'"]  # no "undefined state 'open'"


def test_the_number_of_syntax_errors_is_bounded():
    head = "policy t version 1\ncurrency CLP\nstate open initial:\n    on payment -> open\n"
    text = head + "".join(f"state s{i}:\n    at due whenn x -> open\n" for i in range(MAX_SYNTAX_ERRORS + 10))
    text += "state last:\n    when balanse > 0 -> open\n"
    errs = errors(text)
    assert len(errs) == MAX_SYNTAX_ERRORS and all(e.code == "syntax" for e in errs)
    assert [e.line for e in errs] == sorted(e.line for e in errs)


def test_errors_of_a_block_are_reported_once_per_line():
    # A bad header: one error for the block, not one per rule it holds.
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial\n"
        "    at due -> paid\n"
        "    on payment -> paid\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert [(e.line, e.message) for e in errs] == [(4, "unexpected indentation")]


def test_fmt_and_convert_list_every_syntax_error():
    text = "policy t version 1\ncurrency CLP\nstate a initial:\n    at due whenn x -> a\nstate b final oops\n"
    with pytest.raises(PolicyError) as info:
        parse_dsl(text, "p.dunning")
    assert [e.line for e in info.value.errors] == [4, 5]


def test_the_cli_prints_every_error(tmp_path):
    from click.testing import CliRunner

    from dunning_engine.cli.main import cli

    path = tmp_path / "p.dunning"
    path.write_text("policy t version 1\ncurrency CLP\nstate a initial:\n    when balanse > 0 -> b\n"
                    "    at due whenn x -> b\nstate b final\n")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4:10: error: unknown variable 'balanse'" in result.output
    assert f"{path}:5:12: error: unexpected 'whenn'" in result.output


# ---------------------------------------------------------------------------
# YAML: independent errors are reported together
# ---------------------------------------------------------------------------


def test_yaml_reports_independent_errors_together_in_file_order():
    text = (
        "policy: t\n"
        "currency: PEN\n"
        "states:\n"
        "  open:\n"
        "    initial: true\n"
        "    rules:\n"
        "      - at: due - 5 dias\n"                       # 7: unknown duration unit
        "        do: [suspend]\n"
        "      - when: balanse > 0\n"                      # 9: unknown variable
        "        goto: nowhere\n"                          # 10: undefined state
        "      - after: 3 days\n"
        "        do: [{fee: {amount: 10, max: 5 USD}}]\n"   # 12: another currency
        "        colour: red\n"                            # 13: unknown key
    )
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, format="yaml", name="p.yaml")
    errs = info.value.errors
    assert [e.line for e in errs] == [7, 9, 10, 12, 13]
    assert errs[0].message.startswith("unknown duration unit 'dias'")
    assert errs[1].message == "unknown variable 'balanse'"
    assert errs[2].message == "goto: undefined state 'nowhere'"
    assert errs[4].message == "unknown key 'colour' in a rule"


def test_an_action_that_lost_its_indentation_is_one_error():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial:\n"
        "    at due -> paid:\n"
        'remind "x"\n'                                # column 1: belongs to the rule above
        "    on payment when balanse <= 0 -> paid\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert len([e for e in errs if e.code == "syntax"]) == 1


def test_a_state_indented_by_mistake_causes_no_false_error():
    text = (
        "policy t version 1\n"
        "currency CLP\n"
        "state open initial:\n"
        "    on enter:\n"
        '        remind "hello"\n'
        "    at due -> late\n"
        "  state late:\n"                              # indented: matches no block
        "    on enter:\n"
        '        remind "late"\n'
        "    on payment -> paid\n"
        "state paid final\n"
    )
    errs = errors(text)
    assert [(e.line, e.code) for e in errs] == [(7, "syntax")]  # no "undefined state 'late'", no "'on enter' twice"
