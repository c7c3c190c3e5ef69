"""Fixes of the last findings of the hostile-input fuzz run (issue 11; docs/fuzzing.md).

Each was a policy that loaded but did not survive its own round trip, a DSL word that took
gigabytes to lex, or a lint check whose cost grew with states x rules squared. The reproducers in
tests/data/hostile/ replay the fuzzer's inputs; these tests pin the intended behaviour.
"""

from __future__ import annotations

import tracemalloc

import pytest

from dunning_engine import load_policy_text
from dunning_engine.errors import PolicyError
from dunning_engine.policy.lint import lint_policy
from dunning_engine.policy.printer import to_yaml

BASE = "policy: p\ncurrency: CLP\nstates:\n  open:\n    initial: true\n    rules:\n      - after: 3 days\n" \
       "        goto: done\n  done:\n    final: true\n"


def refused(text: str, format: str = "yaml") -> PolicyError:
    with pytest.raises(PolicyError) as e:
        load_policy_text(text, format=format, name="p." + ("yaml" if format == "yaml" else "dunning"))
    return e.value


# -- line ends ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("end", ["\r", "\r\n"])
def test_a_yaml_policy_with_cr_line_ends_reads_and_prints_as_with_lf(end):
    text = "# a comment\n" + BASE
    assert to_yaml(load_policy_text(text.replace("\n", end), format="yaml")) == to_yaml(
        load_policy_text(text, format="yaml"))


def test_errors_in_a_cr_policy_name_the_right_line_and_column():
    err = refused(BASE.replace("3 days", "3 dias").replace("\n", "\r"))
    assert (err.line, err.column) == (7, 18)
    assert "7 |       - after: 3 dias" in err.render()


# -- values that loaded but could not be printed back --------------------------------------------------

def test_a_null_currency_is_an_error_at_the_value():
    err = refused(BASE.replace("currency: CLP", "currency: null"))
    assert "'currency:' has no value" in err.message and (err.line, err.column) == (2, 11)


def test_empty_states_are_an_error():
    err = refused("policy: p\ncurrency: CLP\nstates: {}\n")
    assert "'states:' is empty" in err.message and (err.line, err.column) == (3, 9)


def test_a_required_action_parameter_written_as_null_is_an_error():
    text = BASE.replace("        goto: done\n", "        do:\n          - custom: {name: null}\n        goto: done\n")
    err = refused(text)
    assert "'name' of 'custom' has no value" in err.message and err.line == 9


# -- a long DSL word -----------------------------------------------------------------------------------

def test_a_half_megabyte_dsl_word_is_lexed_in_little_memory():
    text = "policy p\ncurrency CLP\nsend " + "x" * 500_000 + "\n"
    tracemalloc.start()
    try:
        err = refused(text, "dsl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "expected 'at' and a time after 'send'" in err.render()
    assert peak < 100 * 2 ** 20, f"{peak / 2 ** 20:.0f} MB (a word per character in the lexer took 1.4 GB)"
    # the snippet shows a window of the long line, not all of it
    shown = err.render().splitlines()
    assert max(len(line) for line in shown) < 200
    assert any(line.startswith("3 | send xxx") and line.endswith("...") for line in shown)


def test_a_long_line_snippet_keeps_the_caret_under_the_column():
    text = "policy: p\ncurrency: CLP\ndescription: '" + "y" * 300 + "'  3 dais " + "z" * 300 + "'\n"
    err = refused(text)
    lines = err.render().splitlines()
    snippet, caret = lines[2], lines[3]
    col = caret.index("^")
    line = err.location.source.line(err.line)
    assert len(snippet) < 120 and snippet.count("...") == 2
    assert snippet[col:col + 5] == line[err.column - 1:err.column + 4]


# -- lint on many states and any_state rules --------------------------------------------------------------

def _many(states: int, shared: int) -> str:
    lines = ["policy: p", "currency: CLP", "states:"]
    for i in range(states):
        lines += [f"  s{i}:"] + (["    initial: true"] if i == 0 else []) + [
            "    rules:", f"      - name: own{i}", "        on: payment", f"        goto: s{(i + 1) % states}"]
    lines += ["  paid:", "    final: true", "any_state:"]
    for j in range(shared):
        lines += [f"  - name: any{j}", "    on: payment", "    when: balance <= 0", "    goto: paid"]
    return "\n".join(lines) + "\n"


def test_lint_reports_each_shadowed_rule_once():
    found = [d for d in lint_policy(load_policy_text(_many(30, 20), format="yaml")) if d.code == "DL003"]
    shared = [d for d in found if "in state" not in d.message]
    own = [d for d in found if "in state" in d.message]
    # any1..any19 are shadowed by any0 (same trigger, same guard), once each, not once per state
    assert sorted(d.message.split("'")[1] for d in shared) == sorted(f"any{j}" for j in range(1, 20))
    assert all("rule 'any0' before it" in d.message for d in shared)
    # the states' own 'on payment' rules are not shadowed: any0's guard is stricter than theirs (none)
    assert own == []


# -- graph of many states and any_state rules ---------------------------------------------------------------

def test_graph_draws_any_state_rules_as_a_note_past_two_thousand_edges():
    from dunning_engine.policy.graph import MAX_SHARED_EDGES, render_graph

    small = load_policy_text(_many(10, 5), format="yaml")
    assert render_graph(small).count("(any state)") == 10 * 5
    big = load_policy_text(_many(60, 40), format="yaml")
    assert 60 * 40 > MAX_SHARED_EDGES
    text = render_graph(big)
    assert ": (any state)" not in text and "any state: rule any39 on payment when balance <= 0 -> paid" in text
    assert text.count("-->") < 200  # the states' own edges and the start, not 2,400 shared ones


def test_lint_reports_an_any_state_timer_once_with_the_other_states():
    text = ("policy: p\ncurrency: CLP\nstates:\n  a:\n    initial: true\n    rules:\n      - after: 1 day\n"
            "        goto: b\n  b:\n    rules:\n      - after: 1 day\n        goto: c\n  c:\n    rules:\n"
            "      - after: 1 day\n        goto: done\n  done:\n    final: true\n"
            "any_state:\n  - name: late_call\n    after: 5 days\n    do: [{task: {kind: call}}]\n")
    found = [d for d in lint_policy(load_policy_text(text, format="yaml")) if d.code == "DL004"]
    assert len(found) == 1, [d.message for d in found]
    assert found[0].message.startswith("timer 'after 5 days' of rule 'late_call' never fires in state 'a' "
                                       "(and in 2 other states): rule 'a.1'")


# -- a case that does too much at one instant; many 'every' rules ---------------------------------------------

def test_a_case_past_the_action_limit_stops_with_its_error_and_others_go_on():
    from dunning_engine import simulate
    from dunning_engine.engine.core import ACTION_LIMIT

    text = ("policy: p\ncurrency: CLP\nstates:\n  open:\n    initial: true\n    rules:\n"
            "      - at: due\n        do: [{remind: {template: due_today}}]\n"
            "      - when: invoice.amount > 5000 CLP\n        do:\n"
            + "          - remind: {template: t}\n" * (ACTION_LIMIT + 1)
            + "        goto: paid\n  paid:\n    final: true\n")
    policy = load_policy_text(text, format="yaml")
    big = {"id": "A1", "customer": "C1", "amount": "9000", "issued": "2026-01-01", "due": "2026-01-31"}
    small = dict(big, id="A2", amount="1000")
    result = simulate(policy, invoices=[big, small], until="2026-03-01")
    assert [(e.case, e.code) for e in result.errors] == [("A1", "action-limit")]
    assert f"more than {ACTION_LIMIT} actions" in result.errors[0].message
    assert [a["case"] for a in result.actions] == ["A2"]  # A1's instant is dropped; A2 goes on


def test_many_every_rules_in_one_state_cost_about_their_number():
    from dunning_engine import simulate

    rules = "".join(f"      - name: r{i}\n        every: 1 day\n        do: [{{custom: {{name: c{i}}}}}]\n"
                    for i in range(300))
    text = ("policy: p\ncurrency: CLP\nstates:\n  open:\n    initial: true\n    rules:\n" + rules
            + "      - when: balance <= 0\n        goto: paid\n  paid:\n    final: true\n")
    policy = load_policy_text(text, format="yaml")
    inv = {"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}
    result = simulate(policy, invoices=[inv], until="2026-01-04")
    # 3 days of 300 ticks, in rule order each day (the next tick goes to its place, not a re-sort)
    names = [a["params"]["name"] for a in result.actions]
    assert names == [f"c{i}" for i in range(300)] * 3
