"""Reading a case's ``expect:``: expected actions, states, balances, errors and the invariants switch.

Each expected action names fields of an action record (or its params) and is
checked against the policy as it is read: an unknown action type, state or
rule, a date that is not a date or a misspelt field is an error at its place.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ...errors import did_you_mean
from ...policy.nodes import MapNode, Node, ScalarNode
from ...vocabulary import ACTION_KINDS, ACTIONS
from .match import decimal_of
from .model import Expectation, Expected
from .reader import NodeReader, plain, valid_date, written

if TYPE_CHECKING:
    from ...policy.ir import Policy

__all__ = ["EXPECT_KEYS", "ACTION_FIELDS", "MATCH_KEYS", "OUTPUT_PARAMS", "read_expectation"]

EXPECT_KEYS = ("actions", "contains", "excludes", "states", "balances", "errors", "invariants")
# Fields of an action record that an expected item may name (besides its params).
ACTION_FIELDS = ("key", "at", "type", "case", "invoice", "customer", "state", "rule", "amount", "currency",
                 "deferred_from", "capped_from", "dropped_via")
# Keys an expected item may use that are not fields of the record.
MATCH_KEYS = ("date", "time", "params")
# Parameters actions carry in their output besides those written in the policy.
OUTPUT_PARAMS = ("base", "computed", "total", "schedule", "days", "first", "installments", "every", "down_payment",
                 "until", "percent")

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\Z")


def read_expectation(r: NodeReader, em: MapNode, policy: Policy | None, cases: set[str] | None) -> Expectation:
    """The expectation written in ``em``; problems go to ``r.errors``.

    ``policy`` is None when it could not be read (nothing is checked against
    it); ``cases`` are the ids of the case's records (None when unknown).
    """
    r.keys(em, EXPECT_KEYS, "expect")
    exp = Expectation()
    if em.get("actions") is not None:
        exp.actions = _items(r, em.get("actions"), "actions", policy)
    if em.get("contains") is not None:
        exp.contains = _items(r, em.get("contains"), "contains", policy)
    if em.get("excludes") is not None:
        exp.excludes = _items(r, em.get("excludes"), "excludes", policy)
    if em.get("states") is not None:
        sm = r.mapping(em.get("states"), "states")
        names = [s.name for s in policy.states] if policy is not None else []
        for k, v in (sm.items if sm is not None else ()):
            _known_case(r, k, cases)
            state = r.text(v, f"state of {k.text}")
            if state is not None and policy is not None and state not in names:
                r.error(v, f"'{state}' is not a state of policy {policy.key}",
                        did_you_mean(state, names) or f"states: {', '.join(names)}", code="unknown-state")
                continue
            if state is not None:
                exp.states.append((k.text, state, v.location))
    if em.get("balances") is not None:
        bm = r.mapping(em.get("balances"), "balances")
        for k, v in (bm.items if bm is not None else ()):
            _known_case(r, k, cases)
            text = r.text(v, f"balance of {k.text}")
            if text is None:
                continue
            amount = decimal_of(text)
            if amount is None:
                r.error(v, f"balance '{text}' is not an amount", help='write it as text, e.g. "100000" or "19.90"',
                        code="invalid-amount")
                continue
            exp.balances.append((k.text, amount, text, v.location))
    if em.get("errors") is not None:
        exp.errors = []
        for item in r.seq(em.get("errors"), "errors"):
            t = r.text(item, "an expected error")
            if t is not None:
                exp.errors.append((t, item.location))
    if em.get("invariants") is not None:
        node = em.get("invariants")
        if isinstance(node, ScalarNode) and node.text in ("true", "false"):
            exp.invariants = node.text == "true"
        else:
            r.error(node, "'invariants' must be true or false",
                    help="true (the default) checks the built-in and the policy's invariants after every step",
                    code="wrong-type")
    return exp


def _known_case(r: NodeReader, k: ScalarNode, cases: set[str] | None) -> None:
    if cases is not None and k.text not in cases:
        r.error(k, f"no case '{k.text}' in this scenario",
                did_you_mean(k.text, cases) or (f"cases: {', '.join(sorted(cases))}" if cases else None),
                code="unknown-case")


def _items(r: NodeReader, node: Node | None, what: str, policy: Policy | None) -> list[Expected]:
    out = []
    for item in r.seq(node, what):
        m = r.mapping(item, f"an item of '{what}'")
        if m is None:
            continue
        e = _expected(r, m, policy)
        if e is not None:
            out.append(e)
    return out


def _expected(r: NodeReader, m: MapNode, policy: Policy | None) -> Expected | None:
    before = len(r.errors)
    fields = {}
    kind = None
    if m.get("type") is not None:
        kind = r.text(m.get("type"), "type")
        if kind is not None and kind not in ACTION_KINDS:
            r.error(m.get("type"), f"unknown action type '{kind}'",
                    did_you_mean(kind, ACTION_KINDS) or f"actions: {', '.join(ACTION_KINDS)}",
                    code="unknown-action")
    spec = ACTIONS.get(kind) if kind is not None else None
    params = set(spec.param_names) if spec is not None else {p for a in ACTIONS.values() for p in a.param_names}
    known = set(ACTION_FIELDS) | set(MATCH_KEYS) | params | set(OUTPUT_PARAMS)
    for k, v in m.items:
        key = k.text
        if key not in known:
            hint = did_you_mean(key, known)
            if hint:  # most likely a typo; an unknown name with no near match is matched as a param
                r.error(k, f"unknown field '{key}' in an expected action", hint, code="unknown-key")
                continue
        if key == "date":
            t = r.text(v, "date")
            if t is not None and not valid_date(t):
                r.error(v, f"date '{t}' is not a date YYYY-MM-DD", help="date matches the local date of the action's 'at'",
                        code="invalid-date")
                continue
        elif key == "time":
            t = r.text(v, "time")
            if t is not None and not _TIME.match(t):
                r.error(v, f"time '{t}' is not a time HH:MM", help="time matches the local time of the action's 'at'",
                        code="wrong-type")
                continue
        elif key in ("at", "deferred_from") and policy is not None:
            if r.instant(v, key, ZoneInfo(policy.timezone)) is None:
                continue
        elif key == "state" and policy is not None:
            t = r.text(v, "state")
            names = [s.name for s in policy.states]
            if t is not None and t not in names:
                r.error(v, f"'{t}' is not a state of policy {policy.key}",
                        did_you_mean(t, names) or f"states: {', '.join(names)}", code="unknown-state")
                continue
        elif key == "rule" and policy is not None:
            t = r.text(v, "rule")
            names = ["on_enter", "on_exit"] + [rule.name for s in policy.states for rule in s.rules] + [
                rule.name for rule in policy.any_state]
            if t is not None and t not in names:
                r.error(v, f"'{t}' is not a rule of policy {policy.key}",
                        did_you_mean(t, names) or "rules are named '<state>.<n>' unless given a 'name:'",
                        code="unknown-rule")
                continue
        fields[key] = plain(v)
    if len(r.errors) > before:
        return None
    if not fields:
        r.error(m, "an expected action names no field", help="for example {date: 2026-02-01, type: remind}",
                code="missing-key")
        return None
    return Expected(fields=fields, location=m.location, text=written(m))
