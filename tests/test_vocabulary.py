"""The vocabulary is one source of truth: the grammar, the messages, the docs and the parts that
read it agree with ``dunning_engine.vocabulary``."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, policy, run

from dunning_engine import vocabulary as V
from dunning_engine.compliance import PACKS
from dunning_engine.errors import PolicyError
from dunning_engine.policy import ir
from dunning_engine.policy.dsl import load_dsl
from dunning_engine.policy.dsl_expected import AFTER, KEYWORD_ORDER
from dunning_engine.policy.dsl_words import ACTION_WORDS, DSL_KEYWORDS
from dunning_engine.policy.phrases import format_action

GRAMMAR = (ROOT / "src" / "dunning_engine" / "grammar" / "dsl.lark").read_text()
POLICY_LANGUAGE = (ROOT / "docs" / "policy-language.md").read_text()
DSL_DOC = (ROOT / "docs" / "dsl.md").read_text()
COMPLIANCE_DOC = (ROOT / "docs" / "compliance.md").read_text()


def table(text: str, header: str) -> list[list[str]]:
    """The rows (cells) of the Markdown table whose header line starts with ``header``."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def names_in(cell: str) -> list[str]:
    return [w for span in code_spans(cell) for w in re.findall(r"[a-z_]+", span)]


# ---------------------------------------------------------------------------
# the registry itself
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", V.ACTION_KINDS)
def test_every_parameter_has_a_type_and_a_dsl_spelling(kind):
    spec = V.ACTIONS[kind]
    in_head = {name for is_value, names in spec.layout if is_value for name in names}
    for p in spec.params:
        assert p.type in V.PARAM_TYPES
        # The DSL can write every parameter: in the action's head or after its option word.
        assert (p.name in in_head) != (p.option is not None), p.name
        assert p.option is None or p.form is not None and p.form.startswith(p.option + " ")
        assert p.type not in (V.ENUM,) or p.choices
        assert p.default is None or not p.required
    assert in_head <= set(spec.param_names)
    assert set(spec.one_of) <= set(spec.param_names)
    assert all(p.only_with in spec.param_names for p in spec.params if p.only_with)
    assert spec.main is None or spec.main in spec.param_names


def test_money_actions_are_the_ones_spec_4_names():
    assert V.MONEY_ACTIONS == {"fee", "interest", "discount", "write_off", "offer_plan"}


def test_events_channels_and_packs_are_one_list_each():
    assert ir.CHANNELS is V.CHANNELS and ir.EVENT_TYPES is V.EVENT_TYPES and ir.ACTION_KINDS is V.ACTION_KINDS
    assert ir.DERIVED_EVENTS is V.DERIVED_EVENTS
    from dunning_engine.records import EVENT_FIELDS
    from dunning_engine.records import rules

    assert EVENT_FIELDS is V.EVENT_FIELDS and rules.CHANNELS is V.CHANNELS and rules.DERIVED_EVENTS is V.DERIVED_EVENTS
    assert V.compliance_packs() is PACKS
    assert set(V.EVENT_TYPES).isdisjoint(V.DERIVED_EVENTS)


def test_expressions_know_the_fields_of_every_input_event():
    from dunning_engine.expr.schema import EVENT

    typed = {name for name, _ in EVENT.fields}
    assert {"type", "at", "id"} <= typed
    for event in V.EVENTS.values():
        if not event.derived:  # a currency is the currency of the event's amount (a money value)
            assert set(event.fields) - {"currency"} <= typed, event.name


def test_the_test_strategies_draw_every_input_event_but_invoice_issued():
    pytest.importorskip("hypothesis")
    from dunning_engine.testing.strategies import EVENT_TYPES

    assert sorted(EVENT_TYPES) == sorted(set(V.EVENT_TYPES) - {"invoice_issued"})
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)


def test_pack_channels_are_the_vocabularys():
    from dunning_engine.compliance.base import VOICE, WRITTEN

    assert WRITTEN | VOICE == set(V.CHANNELS) | set(V.CONTACT_TASKS)
    assert not WRITTEN & VOICE
    for pack in PACKS.values():
        for lim in pack.limits:
            assert lim.via is None or lim.via <= WRITTEN | VOICE


def test_contact_actions():
    assert V.contact_channels("remind", {}) == ["email"]
    assert V.contact_channels("remind", {"via": ("sms", "email", "sms")}) == ["sms", "email"]
    assert V.contact_channels("task", {"kind": "visit"}) == ["visit"]
    assert V.contact_channels("task", {"kind": "review"}) is None
    assert V.contact_channels("fee", {}) is None
    assert V.contact_channels("no_such_kind", {}) is None


def test_a_remind_without_via_is_sent_by_email_and_counts_as_a_contact():
    p = policy("""
        policy: p
        currency: USD
        states:
          open:
            initial: true
            on_enter: [{remind: {template: a}}, {task: {kind: call}}]
        contact:
          limits: [{max: 1, per: 1 day, via: email}]
    """)
    r = run(p, invoices=[{"id": "A", "customer": "C", "amount": "10", "issued": "2026-01-01",
                          "due": "2026-01-31"}], until="2026-01-02")
    assert [(a["type"], a["params"].get("via")) for a in r.actions] == [("remind", ["email"]), ("task", None)]


@pytest.mark.parametrize("kind", V.ACTION_KINDS)
def test_every_kind_round_trips_through_the_dsl(kind):
    spec = V.ACTIONS[kind]
    values = {V.MONEY: "5 USD", V.PERCENT: "2%", V.MONEY_OR_PERCENT: "10%", V.DATE: "today + 3 days",
              V.TEXT_EXPRESSION: "customer.email", V.NAME: "x_1", V.TEXT: '"a note"', V.CHANNEL_LIST: "sms",
              V.DURATION: "14 days", V.EXPRESSION_MAP: "k = 1"}
    parts = []
    for is_value, names in spec.layout:
        if not is_value:
            parts.append(names[0])
            continue
        p = spec.param(names[-1])
        assert p is not None
        parts.append('"x_1"' if p.dsl_quoted else values.get(p.type) or str((p.choices or (3,))[0]))
    for word, p in spec.options.items():
        if p.only_with is not None and p.only_with not in [n for _, names in spec.layout for n in names[-1:]]:
            continue
        parts.append(f"{word} {values.get(p.type) or str((p.choices or (3,))[0])}")
    line = " ".join(parts)
    text = f"policy p\ncurrency USD\nstate a initial:\n    on enter:\n        {line}\n"
    action = load_dsl(text).states[0].on_enter[0]
    assert action.kind == kind
    assert format_action(action) == line


# ---------------------------------------------------------------------------
# the grammar and the DSL's messages
# ---------------------------------------------------------------------------


def grammar_rule(name: str) -> str:
    m = re.search(rf"^{name}:(.*(?:\n\s+\|.*)*)", GRAMMAR, re.M)
    assert m, name
    return m.group(1)


def test_the_grammar_spells_every_action_as_the_vocabulary_does():
    alternatives = re.findall(r"[a-z_]+", grammar_rule("_action").split("_NL")[0])
    assert alternatives == list(V.ACTION_KINDS)
    for kind, spec in V.ACTIONS.items():
        tokens = grammar_rule(kind).split()
        head = []
        for is_value, names in spec.layout:
            head.append(tokens.pop(0))
            if is_value:
                assert head[-1] in ("text", "exp", "NUMBER"), (kind, head)
            else:
                assert head[-1] == names[0].upper(), (kind, head)
        takes_options = [w for w, p in spec.options.items() if p.type != V.EXPRESSION_MAP]
        with_map = [w for w, p in spec.options.items() if p.type == V.EXPRESSION_MAP]
        assert tokens == (["option*"] if takes_options else
                          [f"[{with_map[0].upper()}", "custom_param", "(_COMMA", "custom_param)*]"] if with_map
                          else []), kind


def test_the_grammar_has_the_vocabularys_options_and_keywords():
    options = {line.split()[0] for line in grammar_rule("option").replace("|", "\n").split("\n") if line.strip()}
    assert options == {w.upper() for spec in V.ACTIONS.values() for w, p in spec.options.items()
                       if p.type != V.EXPRESSION_MAP}
    keywords = {k.lower() for k in re.findall(r"^([A-Z]+)\.2:", GRAMMAR, re.M)}
    assert keywords == DSL_KEYWORDS


def test_messages_know_every_action_word():
    for spec in V.ACTIONS.values():
        if spec.params:
            assert spec.keyword.upper() in AFTER
        for word in spec.options:
            assert word.upper() in AFTER and word in KEYWORD_ORDER
        assert spec.keyword in KEYWORD_ORDER
    assert ACTION_WORDS == tuple(spec.dsl for spec in V.ACTIONS.values())


def test_an_option_of_another_action_names_what_the_action_takes():
    with pytest.raises(PolicyError) as e:
        load_dsl('policy p\ncurrency USD\nstate a initial:\n    on enter:\n        task call via sms\n')
    assert e.value.errors[0].message == "'via' does not go with 'task'"
    assert e.value.errors[0].help == "'task' takes: assign \"TEAM\", note \"TEXT\""


# ---------------------------------------------------------------------------
# the docs
# ---------------------------------------------------------------------------


def test_the_actions_table_of_the_policy_language_agrees():
    rows = table(POLICY_LANGUAGE, "| action | parameters |")
    kinds = [k for row in rows for k in code_spans(row[0])]
    assert kinds == list(V.ACTION_KINDS)
    for row in rows:
        for kind in code_spans(row[0]):
            spec = V.ACTIONS[kind]
            assert set(spec.param_names) <= set(names_in(row[1])), kind
            for p in spec.params:
                if p.default is not None and p.type != V.CHANNEL_LIST:
                    assert f"default {p.default}" in row[1], (kind, p.name)
    remind = next(row for row in rows if code_spans(row[0]) == ["remind"])
    listed = re.search(r"\(([a-z, ]+); default ([a-z, ]+)\)", remind[1])
    assert listed and tuple(listed.group(1).split(", ")) == V.CHANNELS
    assert tuple(listed.group(2).split(", ")) == V.DEFAULT_CHANNELS


def test_the_events_table_of_the_policy_language_agrees():
    rows = table(POLICY_LANGUAGE, "| event | fields |")
    assert [code_spans(row[0])[0] for row in rows] == list(V.EVENTS)
    for row in rows:
        event = V.EVENTS[code_spans(row[0])[0]]
        cell = row[1]
        assert cell.startswith("raised by the engine") == event.derived
        if event.derived:
            assert tuple(code_spans(cell.split(":", 1)[1])) == event.optional
            continue
        required, _, optional = cell.partition("optional")
        assert tuple(code_spans(required)) == event.required
        assert tuple(dict.fromkeys(code_spans(optional))) == event.optional


def test_the_actions_table_of_the_dsl_doc_agrees():
    rows = table(DSL_DOC.split("\n## Actions\n", 1)[1], "| DSL | YAML |")
    seen = set()
    for kind, spec in V.ACTIONS.items():
        mine = [row for row in rows if any(s == spec.dsl or s.startswith(spec.dsl + " ") for s in code_spans(row[0]))]
        assert mine, kind
        spans = [s for row in mine for s in code_spans(row[0]) if s == spec.dsl or s.startswith(spec.dsl + " ")]
        options = {w for s in spans for w in re.findall(r"\[([a-z]+) ", s)}
        assert options == set(spec.options), kind
        words = [names[0] for is_value, names in spec.layout if not is_value]
        for s in spans:  # the head's words, in order
            assert re.match(r"\b.*?\b".join(map(re.escape, words)), s), (kind, s)
        yaml_words = {w for row in mine for w in names_in(row[1])}
        assert kind in yaml_words and set(spec.param_names) <= yaml_words, kind
        seen.update(id(row) for row in mine)
    assert len(seen) == len(rows)


def test_the_compliance_doc_has_every_pack():
    assert re.findall(r"^### (\S+) — ", COMPLIANCE_DOC, re.M) == list(V.compliance_pack_names())


def test_explanations_do_not_load_the_printers():
    import subprocess
    import sys

    code = ("import sys\n"
            "from dunning_engine import load_policy, simulate\n"
            "p = load_policy('policies/b2b_friendly_cl.yaml')\n"
            "r = simulate(p, explain=True, until='2026-03-31', invoices=[{'id': 'A', 'customer': 'C', "
            "'amount': '100000', 'issued': '2026-01-01', 'due': '2026-01-31'}])\n"
            "assert any('explain' in a for a in r.actions)\n"
            "loaded = [m for m in ('printer', 'print_dsl', 'print_yaml', 'comments') "
            "if 'dunning_engine.policy.' + m in sys.modules]\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
