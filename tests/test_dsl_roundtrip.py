"""Printers are lossless: random policies -> DSL / YAML -> load -> the same policy; fmt is idempotent.

The strategy builds random *valid* policies (small state sets, random
triggers, guards and actions from pools of valid expression texts, tricky
texts and names) as the YAML mapping of SPEC §1, with parameters in random
order; the YAML loader turns them into the intermediate form.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_engine.policy import ir
from dunning_engine.policy.dsl import load_dsl
from dunning_engine.policy.load import load_policy_text
from dunning_engine.policy.printer import read_policy, to_dsl, to_yaml

# ---------------------------------------------------------------------------
# pools
# ---------------------------------------------------------------------------

STATE_NAMES = ["open", "overdue", "late", "legal", "promised", "initial", "state", "end", "note", "on_plan"]
DATE_EXPRS = ["due", "due + 1 day", "due - 3 days", "issued + 30 days", "promise.date + 1 day",
              "entered + 2 weeks", "2026-03-01", "max(due, today) + 5 business days", "due + 1 month",
              "(due + 10 days) - 1 day", "2026-03-01T09:00", "2026-03-01T09:00-03:00"]
BOOL_EXPRS = ["balance > 0", "balance > 50000 CLP", "balance <= 0", "not (days_overdue >= 30 or reminders > 3)",
              'customer.segment == "vip"', 'customer.segment in ["vip", "smb"]', "promise.date != null",
              'invoice.note == "#1: a -> b"', "true", "days_overdue >= 30 and balance >= 1000",
              "balance > 500", "fees == 0 CLP", "not customer.segment in [\"a\", 'b']",
              'customer.name != "when -> x: y"']
EVENT_BOOLS = ["event.amount > 0 CLP", 'event.reason != "x"']
DURATIONS = ["1 day", "7 days", "2 weeks", "1 month", "5 business days", "30 days", "3 months"]
MONEY = ["5000 CLP", "100000 CLP", "1000", "principal * 2%", "min(balance, 100000 CLP)"]
PERCENTS = ["2%", "2.5%", "10%", "0.5%"]
TEXT_EXPRS = ["customer.email", '"ops@example.com"', 'customer.name']
ANY_EXPRS = ["customer.id", "balance", "due + 1 day", '"literal, with: punctuation #"', "[1, 2, 3]", "true"]
TEXTS = ["Friendly", "a: b", "quote \" and ' both", "hash # here", "tab\tand\nnewline", "Más de 60 días", "",
         "  padded ", "null", "true", "{x}", "- dash", "09:00", "~", "back\\slash", "é ☃ 𝄞", "'single'",
         '"double"', "ctrl \x01 char", "line\u2028sep"]
NAMES = ["call", "legal", "agency", "legal.team", "3rd-party", "on", "via", "Visit", "state"]
TEMPLATES = ["first_notice", "pre_due", "x.y-z", "A1", "when"]
EVENTS = list(ir.EVENT_TYPES + ir.DERIVED_EVENTS)
WINDOWS = [("mon-fri", "08:00-20:00"), ("sat", "09:00-13:00"), ("sat,sun", "10:00-12:00"), ("sun", "00:00-24:00"),
           ("fri-mon", "07:30-08:45")]


def pick(pool):
    return st.sampled_from(pool)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


def shuffled(items: dict) -> st.SearchStrategy:
    keys = list(items)
    return st.permutations(keys).map(lambda order: {k: items[k] for k in order})


# ---------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------


@st.composite
def actions(draw, event: bool = False):
    kind = draw(pick(list(ir.ACTION_KINDS)))
    p: dict = {}
    if kind == "remind":
        p["template"] = draw(pick(TEMPLATES))
        if draw(st.booleans()):
            via = draw(st.lists(pick(list(ir.CHANNELS)), min_size=1, max_size=3, unique=True))
            p["via"] = via if len(via) > 1 or draw(st.booleans()) else via[0]
        if draw(st.booleans()):
            p["to"] = draw(pick(TEXT_EXPRS))
    elif kind == "fee":
        if draw(st.booleans()):
            p["amount"] = draw(pick(MONEY))
        else:
            p["percent"] = draw(pick(PERCENTS))
            if draw(st.booleans()):
                p["of"] = draw(pick(["balance", "principal", "amount"]))
        for bound, choices in (("min", MONEY[2:]), ("max", MONEY[:2] + MONEY[3:])):  # a constant min <= max
            if draw(st.booleans()):
                p[bound] = draw(pick(choices))
    elif kind == "interest":
        p["annual_rate"] = draw(pick(PERCENTS))
        if draw(st.booleans()):
            p["basis"] = draw(pick(["360", "365"]))
        if draw(st.booleans()):
            p["on"] = draw(pick(["balance", "principal"]))
    elif kind == "discount":
        p["percent" if draw(st.booleans()) else "amount"] = draw(pick(PERCENTS)) if "percent" not in p else None
        if "amount" in p:
            p["amount"] = draw(pick(MONEY))
        p["until"] = draw(pick(DATE_EXPRS))
    elif kind == "offer_plan":
        p["installments"] = str(draw(st.integers(1, 24)))
        if draw(st.booleans()):
            p["every"] = draw(pick(DURATIONS))
        if draw(st.booleans()):
            p["first"] = draw(pick(DATE_EXPRS))
        if draw(st.booleans()):
            p["down_payment"] = draw(pick(MONEY + PERCENTS))
    elif kind == "escalate":
        p["to"] = draw(pick(NAMES))
        if draw(st.booleans()):
            p["note"] = draw(pick(TEXTS))
    elif kind == "task":
        p["kind"] = draw(pick(NAMES))
        if draw(st.booleans()):
            p["assign"] = draw(pick(TEXTS))
        if draw(st.booleans()):
            p["note"] = draw(pick(TEXTS))
    elif kind == "custom":
        p["name"] = draw(pick(TEXTS))
        if draw(st.booleans()):
            names = draw(st.lists(pick(["account", "owed", "when", "to", "x1"]), min_size=1, max_size=3, unique=True))
            p["params"] = {n: draw(pick(ANY_EXPRS + (EVENT_BOOLS if event else []))) for n in names}
    if not p and draw(st.booleans()):
        return kind
    return {kind: draw(shuffled(p))}


# ---------------------------------------------------------------------------
# rules, states, policies
# ---------------------------------------------------------------------------


@st.composite
def rules(draw, targets: list[str], segments: list[str], shared_states: list[str] | None = None):
    trigger = draw(pick(["at", "after", "every", "on", None]))
    r: dict = {}
    bools = BOOL_EXPRS + segments + (EVENT_BOOLS if trigger == "on" else [])
    if draw(st.booleans()):
        r["name"] = draw(pick(["first_notice", "fee", "to_legal", "x"]))
    if trigger == "at":
        r["at"] = draw(pick(DATE_EXPRS))
    elif trigger == "after":
        r["after"] = draw(pick(DURATIONS))
    elif trigger == "every":
        r["every"] = draw(pick(DURATIONS))
        if draw(st.booleans()):
            r["max"] = str(draw(st.integers(1, 9)))
        if draw(st.booleans()):
            r["starting"] = draw(pick(DATE_EXPRS))
    elif trigger == "on":
        events = draw(st.lists(pick(EVENTS), min_size=1, max_size=3, unique=True))
        r["on"] = events if len(events) > 1 or draw(st.booleans()) else events[0]
    if trigger is None or draw(st.booleans()):
        r["when"] = draw(pick(bools))
    if draw(st.booleans()):
        r["unless"] = draw(pick(bools))
    if trigger in ("at", "after", "every") and draw(st.booleans()):
        r["expires"] = draw(pick(DURATIONS))
    do = draw(st.lists(actions(event=trigger == "on"), max_size=3))
    if do:
        r["do"] = do
    if not do or draw(st.booleans()):
        r["goto"] = draw(pick(targets + ["previous", "return"]))
    if shared_states is not None and draw(st.booleans()):
        r["except"] = draw(st.lists(pick(shared_states), min_size=1, max_size=2, unique=True))
    return r


@st.composite
def policies(draw) -> dict:
    names = draw(st.lists(pick(STATE_NAMES), min_size=1, max_size=4, unique=True))
    finals = draw(st.lists(pick(["paid", "closed", "written_off"]), max_size=2, unique=True))
    all_names = names + finals
    segments = draw(st.lists(pick(["vip", "smb", "big"]), max_size=2, unique=True))
    doc: dict = {"policy": draw(pick(["p", "b2b-x_1", "collections"])), "version": str(draw(st.integers(0, 99)))}
    if draw(st.booleans()):
        doc["description"] = draw(pick(TEXTS))
    doc["scope"] = draw(pick(["invoice", "customer"]))
    doc["timezone"] = draw(pick(["UTC", "America/Santiago", "Europe/Madrid"]))
    if draw(st.booleans()):
        doc["calendar"] = draw(pick(["CL", "MX", "US"]))
    doc["currency"] = "CLP"
    if draw(st.booleans()):
        doc["send_at"] = f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30, 59])):02d}"
    if draw(st.booleans()):
        doc["allocation"] = list(draw(st.permutations(list(ir.ALLOCATION_PARTS))))
    if segments:
        exprs = ['customer.segment == "vip"', "balance > 100000 CLP", "days_overdue > 90 or reminders >= 5"]
        doc["segments"] = {s: draw(pick(exprs)) for s in segments}
    states: dict = {}
    for i, name in enumerate(names):
        body: dict = {}
        if i == 0:
            body["initial"] = "true"
        for key in ("on_enter", "on_exit"):
            if draw(st.integers(0, 3)) == 0:
                body[key] = draw(st.lists(actions(), min_size=1, max_size=2))
        rs = draw(st.lists(rules(all_names, segments), max_size=3))
        if rs:
            body["rules"] = rs
        states[name] = body
    for name in finals:
        body = {"final": "true"}
        if draw(st.booleans()):
            body["on_enter"] = draw(st.lists(actions(), min_size=1, max_size=2))
        states[name] = body
    order = draw(st.permutations(list(states)))
    doc["states"] = {n: states[n] for n in order}
    shared = draw(st.lists(rules(all_names, segments, shared_states=all_names), max_size=3))
    if shared:
        doc["any_state"] = shared
    if draw(st.booleans()):
        contact: dict = {}
        if draw(st.booleans()):
            wins = draw(st.lists(pick(WINDOWS), max_size=3, unique_by=lambda w: w[0]))
            contact["windows"] = dict(wins)
        if draw(st.booleans()):
            contact["holidays"] = draw(pick(["true", "false"]))
        if draw(st.booleans()):
            limits = []
            for _ in range(draw(st.integers(1, 2))):
                lim: dict = ({"max": str(draw(st.integers(1, 5))), "per": draw(pick(DURATIONS))}
                             if draw(st.booleans()) else {"gap": draw(pick(DURATIONS))})
                if draw(st.booleans()):
                    lim["via"] = draw(st.lists(pick(list(ir.CHANNELS)), min_size=1, max_size=3, unique=True))
                limits.append(lim)
            contact["limits"] = limits
        if draw(st.booleans()):
            contact["compliance"] = draw(st.lists(pick(["CL", "MX", "US"]), min_size=1, max_size=2, unique=True))
        doc["contact"] = contact
    if draw(st.booleans()):
        rates: dict = {}
        if draw(st.booleans()):
            rates["UF"] = draw(pick(["rates/uf.csv", "a b/c#d.csv", "x: y.csv"]))
        if draw(st.booleans()):
            rates["USD_CLP"] = {"2026-01-01": "950.5", "2026-02-01": "-1", "2025-12-31": "+3.10"}
        doc["rates"] = rates
    return doc


def as_yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


def plain_strings(x, path="policy"):
    """Paths of strings in the IR that are not exactly ``str`` (a parser's token type leaking)."""
    if dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            if f.name not in ("source", "location", "path"):
                yield from plain_strings(getattr(x, f.name), f"{path}.{f.name}")
    elif isinstance(x, (tuple, list)):
        for i, y in enumerate(x):
            yield from plain_strings(y, f"{path}[{i}]")
    elif isinstance(x, str) and type(x) is not str:
        yield path


# ---------------------------------------------------------------------------
# the properties
# ---------------------------------------------------------------------------

ROUNDTRIP = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@ROUNDTRIP
@given(policies())
def test_random_policy_survives_dsl_and_yaml(doc):
    policy = load_policy_text(as_yaml(doc), format="yaml")
    dsl = to_dsl(policy)
    from_dsl = load_dsl(dsl, "random.dunning")
    assert from_dsl == policy, dsl
    assert not list(plain_strings(from_dsl))
    text = to_yaml(policy)
    assert load_policy_text(text, format="yaml") == policy, text
    # DSL -> YAML -> DSL gives the same text; fmt is idempotent in both forms
    assert to_dsl(load_policy_text(to_yaml(from_dsl), format="yaml")) == dsl
    assert to_dsl(from_dsl) == dsl
    assert to_yaml(load_policy_text(text, format="yaml")) == text


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_fmt_with_comments_is_idempotent_and_keeps_every_comment(doc):
    policy = load_policy_text(as_yaml(doc), format="yaml")
    # Put a comment before every line of the canonical DSL and at the end of every other line.
    lines = to_dsl(policy).splitlines()
    commented = []
    for i, line in enumerate(lines):
        indent = line[: len(line) - len(line.lstrip())]
        commented.append(f"{indent}# c{i}")
        commented.append(line + (f"  # t{i}" if line.strip() and i % 2 else ""))
    text = "\n".join(commented) + "\n"
    p1, c1, _ = read_policy(text, format="dsl")
    assert p1 == policy
    once = to_dsl(p1, c1)
    p2, c2, _ = read_policy(once, format="dsl")
    assert p2 == policy
    assert to_dsl(p2, c2) == once
    for i in range(len(lines)):
        assert f"# c{i}" in once
        if lines[i].strip() and i % 2:
            assert f"# t{i}" in once
    # and through YAML and back, nothing is lost either
    as_y = to_yaml(p1, read_policy(text, format="dsl")[1])
    p3, c3, _ = read_policy(as_y, format="yaml")
    assert p3 == policy
    for i in range(len(lines)):
        assert f"# c{i}" in as_y


def test_parameters_in_any_order_give_one_policy():
    a = load_policy_text("policy: p\ncurrency: CLP\nstates:\n  s:\n    initial: true\n    on_enter:\n"
                         "      - remind: {via: [sms], template: t}\n", format="yaml")
    b = load_dsl('policy p\ncurrency CLP\nstate s initial:\n    on enter:\n        remind "t" via sms\n')
    assert a == b
    assert a.states[0].on_enter[0].params == (("template", "t"), ("via", ("sms",)))


@pytest.mark.parametrize("yaml_text", [
    "contact: {}",
    "contact:\n  holidays: true",
    "contact:\n  windows: {}\n  limits: []",
    "rates:\n  UF: {}",
    "rates:\n  UF: {2026-01-01: '1.50'}",
    "allocation: [fees, interest, principal]",
    "description: ''",
    "description: |\n  two\n  lines",
])
def test_edge_constructs_roundtrip(yaml_text):
    text = "policy: p\ncurrency: CLP\n" + yaml_text + "\nstates:\n  s:\n    initial: true\n"
    policy = load_policy_text(text, format="yaml")
    assert load_dsl(to_dsl(policy)) == policy
    assert load_policy_text(to_yaml(policy), format="yaml") == policy


def test_custom_with_empty_params_is_the_same_as_without():
    base = "policy: p\ncurrency: CLP\nstates:\n  s:\n    initial: true\n    on_enter:\n      - custom: {name: x%s}\n"
    a = load_policy_text(base % "", format="yaml")
    b = load_policy_text(base % ", params: {}", format="yaml")
    assert a == b
    assert load_dsl(to_dsl(b)) == b


def test_on_with_no_event_is_an_error():
    from dunning_engine.errors import PolicyError

    with pytest.raises(PolicyError, match="at least one event"):
        load_policy_text("policy: p\ncurrency: CLP\nstates:\n  s:\n    initial: true\n    rules:\n"
                         "      - on: []\n        goto: s\n", format="yaml")
