"""Checking the states and rules of a policy (SPEC §1 "States", "Rules"), and its graph.

Triggers, guards, ``goto`` and ``except``: each read from its node with its position. The graph
checks (duplicate states, exactly one initial state, undefined ``goto`` targets) run once every
state is known.
"""

from __future__ import annotations

from .. import expr as _expr
from ..errors import did_you_mean
from ..vocabulary import DERIVED_EVENTS, EVENT_TYPES
from . import ir
from .build_actions import ActionChecks
from .nodes import Node, ScalarNode, SeqNode

__all__ = ["RuleChecks", "RESERVED_STATE_NAMES", "RULE_KEYS", "STATE_KEYS"]

RESERVED_STATE_NAMES = ("previous", "return")  # goto words, never state names (SPEC §1)
STATE_KEYS = ("initial", "final", "on_enter", "on_exit", "rules")
RULE_KEYS = ("name", "at", "after", "every", "max", "starting", "on", "when", "unless", "do", "goto", "expires")
ANY_RULE_KEYS = RULE_KEYS + ("except",)
TRIGGER_KEYS = ("at", "after", "every", "on")


class RuleChecks(ActionChecks):
    """Reads ``states`` and ``any_state`` into ``ir.State`` and ``ir.Rule``."""

    # -- states and rules --------------------------------------------------------
    def states(self, node: Node) -> tuple[ir.State, ...]:
        m = self.expect_map(node, "states", allow_null=False)
        if m is None:
            return ()
        if not m.items:
            self.error(node, "'states:' is empty", help="a policy needs at least one state marked 'initial: true'",
                       code="no-states")
        states = []
        for key, body in m.items:
            name = self.name(key, "state name")
            if name is None:
                continue
            if name in RESERVED_STATE_NAMES:
                self.error(key, f"'{name}' cannot be a state name",
                           help="'previous' and 'return' are goto words (the state before the current one, "
                                "entered anew or resumed): choose another name", code="reserved-state-name")
                continue
            states.append(self.state(name, key, body))
        return tuple(states)

    def state(self, name: str, key: ScalarNode, node: Node) -> ir.State:
        m = self.expect_map(node, f"state '{name}'")
        if m is None:
            return ir.State(name=name, location=key.location)
        self.check_keys(m, STATE_KEYS, f"state '{name}'")
        initial = bool(self.boolean(m.get("initial"), "initial")) if m.get("initial") is not None else False
        final = bool(self.boolean(m.get("final"), "final")) if m.get("final") is not None else False
        on_enter = self.actions(m.get("on_enter"), f"on_enter of '{name}'")
        on_exit = self.actions(m.get("on_exit"), f"on_exit of '{name}'")
        rules_node = m.get("rules")
        rules = tuple(
            r for i, item in enumerate(self.expect_list(rules_node, f"rules of '{name}'"))
            if (r := self.rule(item, f"{name}.{i + 1}", shared=False)) is not None
        )
        if final and (rules or on_exit):
            self.error(rules_node if rules else m.get("on_exit"), f"final state '{name}' cannot have rules or on_exit",
                       help="a final state runs no rule; remove 'final: true' or the rules", code="final-state-rules")
        return ir.State(name=name, initial=initial, final=final, on_enter=on_enter, on_exit=on_exit,
                        rules=rules, location=key.location)

    def any_state(self, node: Node | None) -> tuple[ir.Rule, ...]:
        return tuple(
            r for i, item in enumerate(self.expect_list(node, "any_state"))
            if (r := self.rule(item, f"any_state.{i + 1}", shared=True)) is not None
        )

    def rule(self, node: Node, default_name: str, shared: bool) -> ir.Rule | None:
        m = self.expect_map(node, "a rule", allow_null=False)
        if m is None:
            return None
        self.check_keys(m, ANY_RULE_KEYS if shared else RULE_KEYS, "a rule" if not shared else "an any_state rule")
        get = m.get
        present = [k for k in TRIGGER_KEYS if get(k) is not None]
        for extra in present[1:]:
            self.error(m.get(extra), f"a rule has at most one trigger; this one has '{present[0]}' and '{extra}'",
                       help="split it into two rules", code="trigger-conflict")
        kind = present[0] if present else None
        for sub in ("max", "starting"):
            if get(sub) is not None and kind != "every":
                self.error(get(sub), f"'{sub}' only goes with 'every'", code="misplaced-option")
        event = kind == "on"
        trigger: ir.Trigger | None = None
        if kind == "at":
            e = self.expression(get("at"), "at", expect=(_expr.types.DATE, _expr.types.DATETIME), null=False)
            trigger = ir.At(e) if e is not None else None
        elif kind == "after":
            d = self.duration(get("after"), "after")
            trigger = ir.After(d) if d is not None else None
        elif kind == "every":
            d = self.duration(get("every"), "every", positive=True)
            mx = self.integer(get("max"), "max", minimum=1) if get("max") is not None else None
            starting = (self.expression(get("starting"), "starting", expect=(_expr.types.DATE, _expr.types.DATETIME),
                                        null=False)
                        if get("starting") is not None else None)
            trigger = ir.Every(d, mx, starting) if d is not None else None
        elif kind == "on":
            events = self.event_names(get("on"))
            trigger = ir.On(events) if events else None
        when = self.expression(get("when"), "when", expect=_expr.types.BOOL, event=event) if get("when") is not None else None
        unless = self.expression(get("unless"), "unless", expect=_expr.types.BOOL, event=event) if get("unless") is not None else None
        if kind is None and get("when") is None and get("unless") is None:
            self.error(m, "a rule needs a trigger (at, after, every, on) or a condition (when)",
                       help="for example 'at: due + 1 day', 'on: payment' or 'when: balance <= 0'", code="no-trigger")
        expires = self.duration(get("expires"), "expires") if get("expires") is not None else None
        if expires is not None and kind not in ("at", "after", "every"):
            self.error(get("expires"), "'expires' only goes with timers (at, after, every)", code="misplaced-option")
        goto = self.text(get("goto"), "goto") if get("goto") is not None else None
        do = self.actions(get("do"), "do", event=event)
        excepts: tuple[str, ...] = ()
        if shared and get("except") is not None:
            exc = get("except")
            items = [exc] if isinstance(exc, ScalarNode) else self.expect_list(exc, "except")
            excepts = tuple(n for item in items if (n := self.name(item, "state name in except")) is not None)
            self.except_nodes.append((excepts, exc))
        name = default_name
        named = False
        if get("name") is not None:
            given = self.name(get("name"), "rule name")
            if given is not None:
                name, named = given, True
        if not do and goto is None:
            self.error(m, "this rule does nothing: it has no 'do' and no 'goto'", help="add actions under 'do:' or a 'goto:' state", code="rule-does-nothing")
        rule = ir.Rule(name=name, trigger=trigger, when=when, unless=unless, do=do, goto=goto, expires=expires,
                       except_=excepts, named=named, location=m.location)
        if goto is not None:
            self.gotos.append((goto, get("goto")))
        return rule

    def event_names(self, node: Node | None) -> tuple[str, ...]:
        items = [node] if isinstance(node, ScalarNode) else self.expect_list(node, "on")
        if not items and isinstance(node, SeqNode):
            self.error(node, "'on' needs at least one event", help="for example 'on: payment' or 'on: [payment, credit_note]'", code="no-event")
        known = EVENT_TYPES + DERIVED_EVENTS
        names = []
        for item in items:
            name = self.scalar(item, "event")
            if name is None:
                continue
            if name.text not in known:
                self.error(name, f"unknown event '{name.text}'",
                           help=did_you_mean(name.text, known) or f"events: {', '.join(known)}", code="unknown-event")
                continue
            names.append(name.text)
        return tuple(names)

    # -- whole-policy checks --------------------------------------------------------
    def check_graph(self, states: tuple[ir.State, ...], any_state: tuple[ir.Rule, ...], where: Node) -> None:
        names = [s.name for s in states]
        known = set(names)
        seen: set[str] = set()
        for s in states:
            if s.name in seen:
                self.error(s.location, f"duplicate state '{s.name}'", code="duplicate-state")
            seen.add(s.name)
        initial = [s for s in states if s.initial]
        if states and not initial:
            self.error(where, "no state is marked 'initial: true'", help="mark the state where every case starts with 'initial: true'",
                       code="no-initial-state")
        for extra in initial[1:]:
            self.error(extra.location, f"more than one initial state: '{initial[0].name}' and '{extra.name}'",
                       help="exactly one state is initial", code="multiple-initial-states")
        for s in initial:
            if s.final:
                self.error(s.location, f"state '{s.name}' cannot be both initial and final", code="initial-final-state")
        for goto, node in self.gotos:
            if goto not in RESERVED_STATE_NAMES and goto not in known:
                self.error(node, f"goto: undefined state '{goto}'",
                           help=did_you_mean(goto, names + list(RESERVED_STATE_NAMES))
                           or (f"states: {', '.join(names)}" if len(names) <= 20 else None),
                           code="undefined-state")
        for excepts, enode in self.except_nodes:
            for name in excepts:
                if name not in known:
                    self.error(enode, f"except: undefined state '{name}'", help=did_you_mean(name, names),
                               code="undefined-state")

