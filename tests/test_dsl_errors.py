"""Bad DSL input: every error has a position, the source line, a caret and a useful message; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_engine.errors import PolicyError
from dunning_engine.policy import ir
from dunning_engine.policy.dsl import load_dsl

ROOT = Path(__file__).resolve().parents[1]

HEAD = "policy p version 1\ncurrency CLP\nstate a initial:\n"
TAIL = "state b final\n"


def refused(text: str, name: str = "p.dunning") -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_dsl(text, name)
    err = info.value
    rendered = err.render()
    assert "Traceback" not in rendered
    # The first error, past those about parts a fragment lacks (a currency, states: reported too).
    missing = ("no-currency", "no-states", "no-policy-id", "no-initial-state")
    return next((e for e in err.errors if e.code not in missing), err.errors[0])


def in_state(body: str) -> str:
    return HEAD + body + "\n" + TAIL


def where(err: PolicyError) -> tuple[int, int]:
    return err.line, err.column


def caret_under(err: PolicyError) -> str:
    """The text the caret underlines."""
    line = err.location.source.line(err.line)
    return line[err.column - 1: err.column - 1 + err.location.length]


# ---------------------------------------------------------------------------
# the error classes of the issue
# ---------------------------------------------------------------------------


def test_missing_state_after_arrow():
    err = refused(in_state("    at due + 14 days ->"))
    assert err.message == "a state name is missing after ->"
    assert where(err) == (4, 24)
    assert err.file == "p.dunning"
    rendered = err.render()
    assert "4 |     at due + 14 days ->" in rendered
    assert rendered.splitlines()[3].endswith("^")


def test_missing_state_after_arrow_before_a_colon():
    err = refused(in_state('    at due ->:\n        remind "x"'))
    assert err.message == "a state name is missing after ->"
    assert where(err) == (4, 14)


def test_unknown_channel_lists_the_channels():
    err = refused(in_state('    at due -> b:\n        remind "x" via email, pigeon'))
    assert "'pigeon'" in err.message
    assert where(err) == (5, 31)
    assert caret_under(err) == "pigeon"
    for channel in ir.CHANNELS:
        assert channel in err.message + (err.help or "")


def test_missing_channel_after_via():
    err = refused(in_state('    at due -> b:\n        remind "x" via'))
    assert err.message == "a channel is missing after 'via'"
    assert "whatsapp" in err.help


def test_unknown_action_suggests_the_right_one():
    err = refused(in_state('    at due -> b:\n        remnd "x"'))
    assert err.message == "unknown action 'remnd'"
    assert err.help == "did you mean 'remind'?"
    assert where(err) == (5, 9)
    assert caret_under(err) == "remnd"


def test_yaml_spelling_of_an_action_gets_the_dsl_spelling():
    err = refused(in_state("    at due -> b:\n        offer_plan 3 installments"))
    assert err.message == "unknown action 'offer_plan'"
    assert "offer plan" in err.help
    err = refused(in_state("    at due -> b:\n        write_off"))
    assert "write off" in err.help


def test_unterminated_string():
    err = refused(in_state('    at due -> b:\n        remind "first_notice via email'))
    assert err.message == "unterminated string"
    assert where(err) == (5, 16)
    assert '"' in err.help


def test_unterminated_string_in_a_description():
    err = refused('policy p\ndescription "Friendly\n')
    assert err.message == "unterminated string"
    assert where(err) == (2, 13)


def test_dedent_to_no_open_block():
    err = refused(in_state('    at due -> b:\n        remind "x"\n      remind "y"'))
    assert "indentation" in err.message
    assert where(err) == (6, 7)
    assert "0, 4" in err.help


def test_unexpected_indentation():
    err = refused(in_state('    at due -> b\n        remind "x"'))
    assert err.message == "unexpected indentation"
    assert where(err) == (5, 9)
    assert "':'" in err.help


def test_block_after_colon_is_missing():
    err = refused(in_state("    at due -> b:\n    at due -> b"))
    assert err.message == "expected an indented block after ':'"
    assert where(err) == (5, 5)
    err = refused("policy p\nstate a:\n")
    assert err.message == "expected an indented block after ':'"
    assert where(err) == (2, 9)


def test_tab_in_indentation():
    err = refused(HEAD + "\tat due -> b\n")
    assert "tab" in err.message
    assert where(err) == (4, 1)


def test_first_line_indented():
    err = refused("  policy p\n")
    assert "indented" in err.message
    assert where(err) == (1, 3)


# ---------------------------------------------------------------------------
# other syntax errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("body, message, line, column", [
    ("    at due goto b", "unexpected 'goto'", 4, 12),
    ("    at due after 7 days -> b", "a rule has at most one trigger; 'after' starts another", 4, 12),
    ("    att due -> b", "unknown rule 'att'", 4, 5),
    ('    remind "x"', "an action cannot stand here: 'remind'", 4, 5),
    ("    at due + -> b", "the expression after '+' is incomplete before '->'", 4, 14),
    ("    at due when -> b", "expected a condition after 'when'", 4, 16),
    ("    at due -> b:\n        fee", "expected an amount or a percent after 'fee'", 5, 12),
    ("    at (due + 1 day -> b", "unexpected '->'", 4, 21),
    ("    when balance = 0 -> b", "unexpected '='", 4, 18),
    ("    every 7 days max four -> b", "expected a number after 'max', found 'four'", 4, 22),
    ("    at due -> b @", "unexpected character '@'", 4, 17),
    ('    at due -> b:\n        remind "a\\qb"', "unknown escape '\\q' in text", 5, 18),
    ("    at due -> b do", "unexpected 'do'", 4, 17),
])
def test_syntax_errors(body, message, line, column):
    err = refused(in_state(body))
    assert err.message == message
    assert where(err) == (line, column)
    assert err.help


def test_equals_suggests_double_equals():
    assert refused(in_state("    when balance = 0 -> b")).help == "use '==' to compare"


def test_unclosed_parenthesis_says_so():
    assert "not closed" in refused(in_state("    at (due + 1 day -> b")).help


@pytest.mark.parametrize("text, message, line, column", [
    ("polcy p\n", "unknown statement 'polcy'", 1, 1),
    ("policy p\nat due -> b\n", "a rule cannot stand at the top level: 'at'", 2, 1),
    ("policy p\nwindow mon-fri 08:00-20:00\n", "'window' belongs in the contact block", 2, 1),
    ("policy p\nstate\n", "expected a state name after 'state'", 2, 6),
    ("policy p\nsend at nine\n", "expected a time after 'send at', found 'nine'", 2, 9),
    ("policy p\ncontact:\n    windoe mon 08:00-09:00\n", "unknown contact rule 'windoe'", 3, 5),
])
def test_top_level_errors(text, message, line, column):
    err = refused(text)
    assert err.message == message
    assert where(err) == (line, column)


def test_unknown_statement_suggests():
    assert refused("polcy p\n").help == "did you mean 'policy'?"
    assert refused("policy p\nstates:\n").help == "in the DSL, write 'state'"


def test_empty_file():
    err = refused("# only a comment\n\n")
    assert err.message == "the policy file is empty"
    assert "policy my_policy" in err.help


def test_control_character():
    err = refused("policy p\x07\n")
    assert "U+0007" in err.message
    assert where(err) == (1, 9)


def test_bare_carriage_return_is_refused_but_crlf_is_read():
    assert "U+000D" in refused("policy p\rcurrency CLP\n").message
    text = (ROOT / "policies" / "b2b_friendly_cl.dunning").read_text()
    assert load_dsl(text.replace("\n", "\r\n")) == load_dsl(text)


def test_not_utf8():
    err = refused(b"policy p\ndescription \"\xff\"\n")
    assert "UTF-8" in err.message
    assert err.line == 2


# ---------------------------------------------------------------------------
# errors found when the tree is read, and by the checker
# ---------------------------------------------------------------------------


def test_option_that_does_not_go_with_the_action():
    err = refused(in_state('    at due -> b:\n        remind "x" of balance'))
    assert err.message == "'of' does not go with 'remind'"
    assert where(err) == (5, 20)
    assert "via" in err.help


def test_twice_given():
    err = refused(in_state("    at due when true when false -> b"))
    assert err.message == "'when' is given twice (first at line 4)"
    assert where(err) == (4, 22)
    err = refused('policy p\ndescription "a"\ndescription "b"\n')
    assert err.message == "'description' is given twice (first at line 2)"
    assert where(err) == (3, 1)


def test_type_error_inside_an_expression_points_into_the_dsl_line():
    err = refused(in_state("    when balanse > 5 -> b"))
    assert err.message == "unknown variable 'balanse'"
    assert where(err) == (4, 10)
    assert caret_under(err) == "balanse"
    assert err.help == "did you mean 'balance'?"


def test_type_error_in_an_expression_spanning_lines():
    err = refused(in_state("    at (due +\n        5 CLP) -> b"))
    assert err.line in (4, 5)


def test_unknown_event_and_state():
    err = refused(in_state("    on paymnt -> b"))
    assert (err.message, where(err)) == ("unknown event 'paymnt'", (4, 8))
    err = refused(in_state("    on payment -> c"))
    assert err.message.startswith("undefined state 'c'")
    assert where(err) == (4, 19)


def test_checker_messages_use_dsl_words():
    err = refused(in_state("    at due"))
    assert err.message == "this rule does nothing: it has no actions and no '-> STATE'"
    assert where(err) == (4, 5)
    err = refused("policy p\ncurrency CLP\nstate a:\n    at due -> a\n")
    assert err.message == "no state is marked 'initial'"
    assert "state NAME initial" in err.help
    err = refused("currency CLP\nstate a initial\n")
    assert err.message == "the policy has no 'policy NAME' line"
    err = refused("policy p\nstate a initial\n")
    assert err.message == "the policy has no 'currency' line"
    assert "'currency CLP'" in err.help
    err = refused(in_state("    at due max 3 -> b"))
    assert (err.message, where(err)) == ("'max' only goes with 'every'", (4, 16))


def test_all_errors_of_a_file_are_reported():
    with pytest.raises(PolicyError) as info:
        load_dsl(in_state("    when balanse > 5 -> b\n    on paymnt -> c"))
    messages = [e.message for e in info.value.errors]
    assert "unknown variable 'balanse'" in messages
    assert "unknown event 'paymnt'" in messages


# ---------------------------------------------------------------------------
# never a traceback
# ---------------------------------------------------------------------------

SAMPLE = (ROOT / "policies" / "b2b_friendly_cl.dunning").read_text()
ALPHABET = st.sampled_from(list(" \n\t:->,()[]\"'#=%.0123456789abc_ABC") + ["    ", "\n    ", "when ", "-> ",
                                                                            "remind ", "state ", "on enter:",
                                                                            "\u2028", "\x00", "é"])


def outcome(text) -> None:
    try:
        policy = load_dsl(text, "fuzz.dunning")
    except PolicyError as e:
        for err in e.errors:
            assert err.code != "internal"
            err.render()
            err.render(color=True)
        return
    assert isinstance(policy, ir.Policy)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_policy_or_a_policy_error(text):
    outcome(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 8),
                          st.lists(ALPHABET, max_size=4).map("".join)),
                min_size=1, max_size=4))
def test_mutated_policy_gives_a_policy_or_a_policy_error(edits):
    text = SAMPLE
    for pos, cut, insert in edits:
        pos = min(pos, len(text))
        text = text[:pos] + insert + text[pos + cut:]
    outcome(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data):
    outcome(data)


def test_deep_nesting_and_huge_input():
    outcome(in_state("    when " + "(" * 5000 + "true" + ")" * 5000 + " -> b"))
    outcome(in_state("    when " + "not " * 3000 + "true -> b"))
    outcome("policy p\n" + "state s:\n" + "    at due -> s\n" * 3000)
    with pytest.raises(PolicyError, match="too large"):
        load_dsl("#" * 1_000_001)
