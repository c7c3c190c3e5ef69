"""Build the typed intermediate form (``ir.Policy``) from a positioned node tree.

The YAML reader (``yaml_source``) produces the tree; every check of SPEC §1
happens here, so each error carries the position of the node it is about.
Errors are collected and raised together (``PolicyErrors``) so an author sees
every problem of a file in one run.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Callable, Iterable

from .. import expr as _expr
from ..errors import Location, PolicyError, PolicyErrors, did_you_mean
from ..expr.ast import depth as _expr_depth
from ..expr.check import DURATION_LIMITS, duration_too_long
from ..expr.parser import MAX_DEPTH as MAX_EXPRESSION_DEPTH
from ..values import Duration, Money, Percent, check_amount, is_currency, parse_decimal
from . import ir
from .nodes import MapNode, Node, ScalarNode, SeqNode, describe

__all__ = ["build_policy", "COMPLIANCE_PACKS"]

POLICY_ID = re.compile(r"[a-z][a-z0-9_-]*\Z")
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\Z")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMPLIANCE_PACKS = ("CL", "CO", "MX", "PE", "US", "EU-B2B", "UK-B2B")
RESERVED_STATE_NAMES = ("previous", "return")  # goto words, never state names (SPEC §1)

TOP_KEYS = ("policy", "version", "description", "scope", "timezone", "calendar", "currency", "send_at",
            "allocation", "segments", "states", "any_state", "contact", "rates", "invariants")
STATE_KEYS = ("initial", "final", "on_enter", "on_exit", "rules")
RULE_KEYS = ("name", "at", "after", "every", "max", "starting", "on", "when", "unless", "do", "goto", "expires")
ANY_RULE_KEYS = RULE_KEYS + ("except",)
TRIGGER_KEYS = ("at", "after", "every", "on")
CONTACT_KEYS = ("windows", "holidays", "limits", "compliance")
LIMIT_KEYS = ("max", "per", "gap", "via")

# Per action: parameter -> kind of value. 'expr:<type>' is an expression of that type.
ACTION_PARAMS: dict[str, dict[str, str]] = {
    "remind": {"template": "name", "via": "channels", "to": "expr:text"},
    "fee": {"amount": "expr:money", "percent": "expr:percent", "of": "base", "min": "expr:money", "max": "expr:money"},
    "interest": {"annual_rate": "expr:percent", "basis": "basis", "on": "base2"},
    "discount": {"percent": "expr:percent", "amount": "expr:money", "until": "expr:date"},
    "offer_plan": {"installments": "count", "every": "duration", "first": "expr:date", "down_payment": "expr:money|percent"},
    "escalate": {"to": "name", "note": "text"},
    "task": {"kind": "name", "assign": "text", "note": "text"},
    "suspend": {},
    "resume": {},
    "write_off": {},
    "custom": {"name": "text", "params": "exprmap"},
}
REQUIRED_PARAMS = {
    "remind": ("template",),
    "interest": ("annual_rate",),
    "discount": ("until",),
    "offer_plan": ("installments",),
    "escalate": ("to",),
    "task": ("kind",),
    "custom": ("name",),
}
FEE_BASES = ("balance", "principal", "amount")
INTEREST_BASES = ("principal", "balance")
DEFAULT_PLAN_EVERY = Duration(30, "days")  # as engine.actions


MAX_ERRORS = 100
"""Errors reported for one policy at most (checking stops there; SPEC §12)."""


class _Builder:
    def __init__(self, root: Node, path: str | None) -> None:
        self.root = root
        self.path = path
        self.errors: list[PolicyError] = []
        self.currency: str | None = None
        self.scope = "invoice"
        self.segment_names: list[str] = []

    # -- error helpers ---------------------------------------------------------
    def error(self, node: Node | Location | None, message: str, help: str | None = None, *, code: str) -> None:
        loc = node.location if isinstance(node, Node) else node
        self.errors.append(PolicyError(message, loc, help=help, code=code))
        self.stop_if_too_many()

    def stop_if_too_many(self) -> None:
        """Stop checking after MAX_ERRORS errors: each may cost a 'did you mean' over every name of
        the policy, and a hostile file could otherwise make checking it quadratic (SPEC §12)."""
        if len(self.errors) >= MAX_ERRORS:
            first = min((e.location for e in self.errors if e.location), key=lambda l: (l.line, l.column), default=None)
            stop = PolicyError(f"too many errors: checking stopped after {len(self.errors)}", first,
                               help="fix these and check the policy again", code="too-many-errors")
            raise PolicyErrors([*self.errors, stop])

    def check_keys(self, node: MapNode, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key, _ in node.items:
            if key.text not in allowed:
                hint = did_you_mean(key.text, allowed) or f"{what} takes: {', '.join(allowed)}"
                self.error(key, f"unknown key '{key.text}' in {what}", hint, code="unknown-key")

    def expect_map(self, node: Node | None, what: str, allow_null: bool = True) -> MapNode | None:
        if node is None:
            return None
        if isinstance(node, ScalarNode) and node.is_null() and allow_null:
            return None
        if isinstance(node, MapNode):
            return node
        self.error(node, f"{what} must be a mapping of keys and values, found {describe(node)}", code="wrong-type")
        return None

    def expect_list(self, node: Node | None, what: str) -> list[Node]:
        if node is None or (isinstance(node, ScalarNode) and node.is_null()):
            return []
        if isinstance(node, SeqNode):
            return list(node.items)
        self.error(node, f"{what} must be a list, found {describe(node)}", help="write each item on its own line starting with '- '",
                   code="wrong-type")
        return []

    def scalar(self, node: Node | None, what: str) -> ScalarNode | None:
        if node is None:
            return None
        if isinstance(node, ScalarNode):
            return node
        self.error(node, f"{what} must be a single value, found {describe(node)}", code="wrong-type")
        return None

    def text(self, node: Node | None, what: str) -> str | None:
        s = self.scalar(node, what)
        return None if s is None or s.is_null() else s.text

    def name(self, node: Node | None, what: str, pattern: re.Pattern = NAME) -> str | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if not pattern.match(s.text):
            self.error(s, f"{what} '{s.text}' is not a valid name",
                       help="use lower-case letters, digits and '_', starting with a letter", code="invalid-name")
            return None
        return s.text

    def boolean(self, node: Node | None, what: str) -> bool | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if s.text in ("true", "false"):
            return s.text == "true"
        self.error(s, f"{what} must be true or false, found '{s.text}'", code="wrong-type")
        return None

    def integer(self, node: Node | None, what: str, minimum: int | None = None) -> int | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if not re.fullmatch(r"-?\d{1,18}", s.text):
            self.error(s, f"{what} must be a whole number, found '{s.text}'", code="wrong-type")
            return None
        value = int(s.text)
        if minimum is not None and value < minimum:
            self.error(s, f"{what} must be at least {minimum}, found {value}", code="out-of-range")
            return None
        return value

    def one_of(self, node: Node | None, what: str, choices: Iterable[str]) -> str | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        choices = tuple(choices)
        if s.text not in choices:
            hint = did_you_mean(s.text, choices) or f"choose one of: {', '.join(choices)}"
            self.error(s, f"{what} '{s.text}' is not one of {', '.join(choices)}", hint, code="unknown-value")
            return None
        return s.text

    def time_of_day(self, node: Node | None, what: str) -> _dt.time | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        m = TIME.match(s.text)
        if not m:
            self.error(s, f"{what} must be a time HH:MM, found '{s.text}'", help='for example "09:00"',
                       code="wrong-type")
            return None
        return _dt.time(int(m.group(1)), int(m.group(2)))

    # -- expressions -----------------------------------------------------------
    def schema(self, event: bool = False):
        # With a missing or invalid currency (already reported), check the rest against a stand-in.
        # One schema per (scope, currency, segments, event): building it costs as much as the policy
        # has segments, so not once per expression (that made large policies quadratic).
        key = (self.scope, self.currency, len(self.segment_names), event)
        if getattr(self, "_schema", (None,))[0] != key:
            self._schema = (key, _expr.policy_schema(self.scope, self.currency or "USD", self.segment_names, event=event))
        return self._schema[1]

    def expression(self, node: Node | None, what: str, expect: Any = None, event: bool = False,
                   null: bool = True):
        """The compiled expression of ``node``; with ``null=False`` a constant null is refused too
        (a date that is always null never fires, an amount that is always null fails every case)."""
        s = self.scalar(node, what)
        if s is None:
            return None
        if s.is_null() or not s.text.strip():
            self.error(s, f"{what} is empty", help="write an expression", code="empty-expression")
            return None
        try:
            e = _expr.compile_expression(s.text, self.schema(event), origin=s.origin, expect=expect, what=what)
        except PolicyError as err:
            self.errors.extend(err.errors)
            self.stop_if_too_many()
            return None
        if not null and e.is_constant() and e.constant_value() is None:
            self.error(s, f"{what} is null", help="write a value; null here would never give one", code="null-value")
            return None
        return e

    def duration(self, node: Node | None, what: str, positive: bool = False) -> Duration | None:
        e = self.expression(node, what, expect=_expr.types.DURATION)
        if e is None:
            return None
        if not e.is_constant():
            self.error(node, f"{what} must be a fixed duration such as '7 days'", help="durations of timers cannot depend on the case",
                       code="invalid-duration")
            return None
        value = e.constant_value()
        if not isinstance(value, Duration):  # null
            self.error(node, f"{what} must be a duration such as '7 days', not null", code="invalid-duration")
            return None
        too_long = duration_too_long(value)
        if too_long is not None:
            self.error(node, f"{what}: {too_long.message}", help=too_long.help, code="duration-too-long")
            return None
        if positive and value.amount <= 0:
            self.error(node, f"{what} must be longer than zero, found '{value}'", code="out-of-range")
            return None
        if value.amount < 0:
            self.error(node, f"{what} cannot be negative, found '{value}'", code="out-of-range")
            return None
        return value

    # -- the policy --------------------------------------------------------------
    def build(self) -> ir.Policy:
        root = self.root
        if not isinstance(root, MapNode):
            self.error(root, f"a policy must be a mapping of keys (policy, version, states, ...), found {describe(root)}",
                       help="start the file with 'policy: my_policy'", code="wrong-type")
            raise PolicyErrors(self.errors)
        self.check_keys(root, TOP_KEYS, "a policy")
        get = root.get

        pid = None
        if get("policy") is None:
            self.error(root, "the policy has no 'policy:' id", help="add 'policy: my_policy' at the top", code="no-policy-id")
        else:
            pid = self.name(get("policy"), "policy id", POLICY_ID)
        version = 1
        if get("version") is not None:
            version = self.integer(get("version"), "version", minimum=0) or 0
        description = self.text(get("description"), "description")
        if get("scope") is not None:
            self.scope = self.one_of(get("scope"), "scope", ("invoice", "customer")) or "invoice"
        timezone = "UTC"
        if get("timezone") is not None:
            timezone = self.timezone(get("timezone")) or "UTC"
        calendar = self.calendar(get("calendar")) if get("calendar") is not None else None
        if get("currency") is None:
            self.error(root, "the policy has no 'currency:'",
                       help="add 'currency: CLP' (or USD, MXN...): the currency of money written without a code"
                            " and of invoices that give none", code="no-currency")
        else:
            code = self.text(get("currency"), "currency")
            if code is not None and not is_currency(code):
                self.error(get("currency"), f"unknown currency code '{code}'",
                           help="use an ISO 4217 code in capitals, such as CLP, MXN, USD or EUR",
                           code="unknown-currency")
            elif code is not None:
                self.currency = code
        send_at = _dt.time(9, 0)
        if get("send_at") is not None:
            send_at = self.time_of_day(get("send_at"), "send_at") or send_at
        allocation = self.allocation(get("allocation")) if get("allocation") is not None else ir.ALLOCATION_PARTS

        segments = self.segments(get("segments"))
        states_node = get("states")
        if states_node is None:
            self.error(root, "the policy has no 'states:'", help="add a 'states:' mapping with at least one state marked 'initial: true'",
                       code="no-states")
        states = self.states(states_node) if states_node is not None else ()
        any_state = self.any_state(get("any_state"))
        contact = self.contact(get("contact")) if get("contact") is not None else None
        rates = self.rates(get("rates")) if get("rates") is not None else ()
        invariants = self.invariants(get("invariants"))

        self.check_graph(states, any_state, root.key_node("states") or root)
        if self.errors:
            raise PolicyErrors(self.errors)
        return ir.Policy(
            id=pid or "", version=version, description=description, scope=self.scope, timezone=timezone,
            calendar=calendar, currency=self.currency, send_at=send_at, allocation=allocation,
            segments=segments, states=states, any_state=any_state, contact=contact, rates=rates,
            invariants=invariants,
            path=self.path, source=root.source,
        )

    def timezone(self, node: Node) -> str | None:
        name = self.text(node, "timezone")
        if name is None:
            return None
        from zoneinfo import ZoneInfo, available_timezones

        ok = False
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", name):
            try:
                ZoneInfo(name)
                ok = True
            except Exception:
                ok = False
        if not ok:
            self.error(node, f"unknown timezone '{name}'",
                       help=did_you_mean(name, available_timezones()) or "use an IANA name such as America/Santiago or UTC",
                       code="unknown-timezone")
            return None
        return name

    def calendar(self, node: Node) -> str | None:
        code = self.text(node, "calendar")
        if code is None:
            return None
        from ..calendars import supported_calendar

        problem = supported_calendar(code)
        if problem:
            self.error(node, problem[0], help=problem[1], code="unknown-calendar")
            return None
        return code

    def allocation(self, node: Node) -> tuple[str, ...]:
        parts = []
        for item in self.expect_list(node, "allocation"):
            part = self.one_of(item, "allocation part", ir.ALLOCATION_PARTS)
            if part is not None:
                parts.append(part)
        if len(parts) != 3 or set(parts) != set(ir.ALLOCATION_PARTS):
            self.error(node, "allocation must list interest, fees and principal once each",
                       help="for example: allocation: [interest, fees, principal]", code="invalid-allocation")
            return ir.ALLOCATION_PARTS
        return tuple(parts)

    def segments(self, node: Node | None) -> tuple[tuple[str, Any], ...]:
        m = self.expect_map(node, "segments")
        if m is None:
            return ()
        result = []
        reserved = set(self.schema().variables)
        entries = []
        for key, value in m.items:
            name = self.name(key, "segment name")
            if name is None:
                continue
            if name in reserved:
                self.error(key, f"segment name '{name}' is already a variable", help="choose another name",
                           code="segment-hides-variable")
                continue
            entries.append((name, value))
        # Every segment is checked against one schema that has them all (a schema per segment made
        # many segments quadratic); a segment may use only those written before it.
        self.segment_names.extend(name for name, _ in entries)
        position = {name: i for i, (name, _) in enumerate(entries)}
        depth: dict[str, int] = {}  # levels of a segment, counting those of the segments it uses
        too_deep: set[str] = set()
        for i, (name, value) in enumerate(entries):
            e = self.expression(value, f"segment '{name}'", expect=_expr.types.BOOL)
            if e is None:
                continue
            later = sorted(v for v in e.variables if position.get(v, -1) >= i)
            if later:
                what = "itself" if name in later else f"'{later[0]}', which is written after it"
                self.error(value, f"segment '{name}' uses {what}", help="a segment may use the segments written before it",
                           code="segment-order")
                continue
            used = [v for v in e.variables if v in position]
            if any(v in too_deep for v in used):  # already reported for the segment it uses
                too_deep.add(name)
                continue
            depth[name] = _expr_depth(e.node) + max((depth.get(v, 0) for v in used), default=0)
            if depth[name] > MAX_EXPRESSION_DEPTH:
                too_deep.add(name)
                self.error(value, f"segment '{name}' is nested too deeply ({depth[name]} levels, counting the "
                                  f"segments it uses; the limit is {MAX_EXPRESSION_DEPTH})",
                           help="use fewer segments inside segments", code="expression-too-deep")
                continue
            result.append((name, e))
        return tuple(result)

    def invariants(self, node: Node | None) -> tuple[tuple[str, Any], ...]:
        """``invariants:`` NAME: boolean expression (no ``event``), checked after every step."""
        m = self.expect_map(node, "invariants")
        if m is None:
            return ()
        result = []
        for key, value in m.items:
            name = self.name(key, "invariant name")
            e = self.expression(value, f"invariant '{key.text}'", expect=_expr.types.BOOL)
            if name is not None and e is not None:
                result.append((name, e))
        return tuple(result)

    # -- states and rules --------------------------------------------------------
    def states(self, node: Node) -> tuple[ir.State, ...]:
        m = self.expect_map(node, "states", allow_null=False)
        if m is None:
            return ()
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
            self.except_nodes = getattr(self, "except_nodes", []) + [(excepts, exc)]
        name = default_name
        named = False
        if get("name") is not None:
            given = self.name(get("name"), "rule name")
            if given is not None:
                name, named = given, True
        if not do and goto is None:
            self.error(m, "this rule does nothing: it has no 'do' and no 'goto'", help="add actions under 'do:' or a 'goto:' state",
                       code="rule-does-nothing")
        rule = ir.Rule(name=name, trigger=trigger, when=when, unless=unless, do=do, goto=goto, expires=expires,
                       except_=excepts, named=named, location=m.location)
        if goto is not None:
            self.gotos = getattr(self, "gotos", []) + [(goto, get("goto"))]
        return rule

    def event_names(self, node: Node) -> tuple[str, ...]:
        items = [node] if isinstance(node, ScalarNode) else self.expect_list(node, "on")
        if not items and isinstance(node, SeqNode):
            self.error(node, "'on' needs at least one event", help="for example 'on: payment' or 'on: [payment, credit_note]'",
                       code="no-event")
        known = ir.EVENT_TYPES + ir.DERIVED_EVENTS
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

    # -- actions -------------------------------------------------------------------
    def actions(self, node: Node | None, what: str, event: bool = False) -> tuple[ir.Action, ...]:
        result = []
        for item in self.expect_list(node, what):
            a = self.action(item, event)
            if a is not None:
                result.append(a)
        return tuple(result)

    def action(self, node: Node, event: bool) -> ir.Action | None:
        if isinstance(node, ScalarNode):
            kind_node, params_node = node, None
        elif isinstance(node, MapNode) and len(node.items) == 1:
            kind_node, params_node = node.items[0]
        else:
            self.error(node, f"an action is written as '- ACTION: {{params}}' or a bare word, found {describe(node)}",
                       help="for example '- remind: {template: first_notice}' or '- suspend'", code="wrong-type")
            return None
        kind = kind_node.text
        if kind not in ACTION_PARAMS:
            self.error(kind_node, f"unknown action '{kind}'",
                       help=did_you_mean(kind, ACTION_PARAMS) or f"actions: {', '.join(ACTION_PARAMS)}",
                       code="unknown-action")
            return None
        spec = ACTION_PARAMS[kind]
        params_map = self.expect_map(params_node, f"the parameters of '{kind}'") if params_node is not None else None
        params: list[tuple[str, Any]] = []
        if params_map is not None:
            self.check_keys(params_map, spec, f"'{kind}'")
            for key, value in params_map.items:
                if key.text in spec:
                    v = self.param(kind, key.text, spec[key.text], value, event)
                    if v is not None:
                        params.append((key.text, v))
        given = {k for k, _ in params}
        written = set(params_map.keys()) if params_map is not None else set()
        for req in REQUIRED_PARAMS.get(kind, ()):
            if req not in written:
                self.error(node, f"'{kind}' needs '{req}'", help=f"add '{req}: ...' to the action",
                           code="missing-param")
        if kind == "fee" and ("amount" in written) == ("percent" in written):
            self.error(node, "'fee' needs either 'amount' or 'percent'", help="for example {amount: 5000 CLP} or {percent: 2%, of: balance}",
                       code="amount-or-percent")
        if kind == "discount" and ("amount" in written) == ("percent" in written):
            self.error(node, "'discount' needs either 'amount' or 'percent'", code="amount-or-percent")
        if kind == "fee" and "of" in given and "percent" not in given:
            self.error(node, "'of' only goes with 'percent'", code="misplaced-option")
        del given
        if params_map is not None:
            self.check_amounts(kind, dict(params), {k.text: v for k, v in params_map.items})
        # One canonical order (the order of ACTION_PARAMS), so that the order the author
        # wrote the parameters in does not change the policy (and both forms agree).
        order = list(spec)
        params.sort(key=lambda kv: order.index(kv[0]))
        return ir.Action(kind=kind, params=tuple(params), location=kind_node.location)

    def check_amounts(self, kind: str, params: dict[str, Any], nodes: dict[str, Node]) -> None:
        """Refuse the constant amounts and percents that make no sense (docs/decisions.md, "Amounts of
        actions"): a negative charge, a discount over 100% or of nothing, a fee minimum over its maximum,
        a down payment over 100%, a plan longer than dates can go."""
        values: dict[str, Any] = {}  # parameter -> its constant Money or Percent
        for name, e in params.items():
            if isinstance(e, _expr.Expression) and e.is_constant():
                v = e.constant_value()
                if isinstance(v, (Money, Percent)):
                    values[name] = v

        def number(name: str) -> Any:
            v = values.get(name)
            return v.amount if isinstance(v, Money) else v.value if isinstance(v, Percent) else None

        def refuse(name: str, message: str, help: str | None = None) -> None:
            self.error(nodes[name], message, help, code="invalid-amount")

        for name in values:
            if number(name) < 0:
                refuse(name, f"'{name}' of '{kind}' cannot be negative, found '{params[name]}'",
                       "a credit to the customer is a discount or a credit note, not a negative charge"
                       if kind == "fee" else None)
        if kind == "discount" and "percent" in values and not 0 < number("percent") <= 100:
            refuse("percent", f"a discount is more than 0% and at most 100%, found '{params['percent']}'",
                   "a discount reduces what is owed; it never pays the customer")
        if kind == "discount" and "amount" in values and number("amount") == 0:
            refuse("amount", "a discount of nothing", "write the amount the customer is let off")
        if kind == "fee" and "min" in values and "max" in values and number("min") > number("max") \
                and values["min"].currency == values["max"].currency:
            refuse("min", f"the fee minimum ({params['min']}) is more than its maximum ({params['max']})",
                   "swap them, or remove one")
        if kind == "offer_plan":
            if isinstance(values.get("down_payment"), Percent) and number("down_payment") > 100:
                refuse("down_payment", f"a down payment is at most 100%, found '{params['down_payment']}'")
            n, every = params.get("installments"), params.get("every") or DEFAULT_PLAN_EVERY
            if n is not None and every.amount * n > DURATION_LIMITS[every.unit]:
                refuse("installments", f"a plan of {n} installments every {every} lasts more than 300 years",
                       "dates stay within the years 1900-2200: offer fewer installments")

    def param(self, kind: str, name: str, spec: str, node: Node, event: bool) -> Any:
        what = f"'{name}' of '{kind}'"
        T = _expr.types
        if spec.startswith("expr:"):
            # Money parameters are in the policy's currency (or the case's, as 'balance' is): another
            # currency would fail every case at run time.
            money = T.MoneyType(self.currency) if self.currency else T.MONEY
            expect = {
                "text": (T.TEXT,), "money": (money,), "percent": (T.PERCENT,),
                "date": (T.DATE, T.DATETIME), "money|percent": (money, T.PERCENT),
            }[spec[5:]]
            return self.expression(node, what, expect=expect, event=event, null=spec == "expr:text")
        if spec == "name":
            return self.name(node, what, re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z"))
        if spec == "text":
            return self.text(node, what)
        if spec == "channels":
            items = [node] if isinstance(node, ScalarNode) else self.expect_list(node, what)
            channels = []
            for item in items:
                c = self.one_of(item, "channel", ir.CHANNELS)
                if c is not None:
                    channels.append(c)
            return tuple(channels) or None
        if spec == "base":
            return self.one_of(node, what, FEE_BASES)
        if spec == "base2":
            return self.one_of(node, what, INTEREST_BASES)
        if spec == "basis":
            b = self.one_of(node, what, ("365", "360"))
            return int(b) if b else None
        if spec == "count":
            return self.integer(node, what, minimum=1)
        if spec == "duration":
            return self.duration(node, what, positive=True)
        if spec == "exprmap":
            m = self.expect_map(node, what)
            if m is None:
                return None  # 'params: {}' is the same as no params
            out = []
            for key, value in m.items:
                pname = self.name(key, "custom parameter name")
                e = self.expression(value, f"custom parameter '{key.text}'", event=event)
                if pname is not None and e is not None:
                    out.append((pname, e))
            return tuple(out) or None
        raise AssertionError(spec)  # pragma: no cover

    # -- contact and rates -------------------------------------------------------
    def contact(self, node: Node) -> ir.Contact | None:
        m = self.expect_map(node, "contact")
        if m is None:
            return None
        self.check_keys(m, CONTACT_KEYS, "contact")
        windows = []
        wm = self.expect_map(m.get("windows"), "windows")
        if wm is not None:
            for key, value in wm.items:
                days = self.weekdays(key)
                span = self.text(value, "window hours")
                hours = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", span or "")
                if span is not None and not hours:
                    self.error(value, f"window hours must be written HH:MM-HH:MM, found '{span}'", help='for example "08:00-20:00"',
                               code="invalid-window")
                    continue
                if days and hours:
                    start = _dt.time(int(hours.group(1)), int(hours.group(2)))
                    end_h, end_m = int(hours.group(3)), int(hours.group(4))
                    end = _dt.time.max if end_h == 24 else _dt.time(end_h, end_m)
                    if end <= start:
                        self.error(value, f"the window ends before it starts: '{span}'", code="invalid-window")
                        continue
                    windows.append(ir.Window(spec=key.text, days=days, start=start, end=end))
        holidays = True
        if m.get("holidays") is not None:
            h = self.boolean(m.get("holidays"), "holidays")
            holidays = True if h is None else h
        limits = []
        for item in self.expect_list(m.get("limits"), "limits"):
            lm = self.expect_map(item, "a limit", allow_null=False)
            if lm is None:
                continue
            self.check_keys(lm, LIMIT_KEYS, "a limit")
            mx = self.integer(lm.get("max"), "max", minimum=1) if lm.get("max") is not None else None
            per = self.duration(lm.get("per"), "per", positive=True) if lm.get("per") is not None else None
            gap = self.duration(lm.get("gap"), "gap", positive=True) if lm.get("gap") is not None else None
            has = {k: lm.get(k) is not None for k in ("max", "per", "gap")}  # as written: a bad value is reported once
            if has["max"] != has["per"] or has["max"] == has["gap"]:
                self.error(lm, "a limit is either {max: N, per: DURATION} or {gap: DURATION}", code="invalid-limit")
            via = None
            if lm.get("via") is not None:
                v = self.param("limit", "via", "channels", lm.get("via"), False)
                via = v
            limits.append(ir.Limit(max=mx, per=per, gap=gap, via=via, location=lm.location))
        compliance = []
        for item in self.expect_list(m.get("compliance"), "compliance"):
            c = self.one_of(item, "compliance pack", COMPLIANCE_PACKS)
            if c:
                compliance.append(c)
        return ir.Contact(windows=tuple(windows), holidays=holidays, limits=tuple(limits), compliance=tuple(compliance))

    def weekdays(self, key: ScalarNode) -> tuple[int, ...]:
        days: list[int] = []
        for part in key.text.split(","):
            part = part.strip()
            ends = part.split("-")
            if len(ends) > 2 or any(e not in WEEKDAYS for e in ends):
                self.error(key, f"'{key.text}' is not a day range", help="write days as mon, tue, ... sun, ranges as mon-fri, lists as sat,sun",
                           code="invalid-window")
                return ()
            a, b = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        return tuple(sorted(set(days)))

    def rates(self, node: Node) -> tuple[ir.RateTable, ...]:
        m = self.expect_map(node, "rates")
        if m is None:
            return ()
        tables = []
        for key, value in m.items:
            name = self.scalar(key, "rate name")
            if name is None:
                continue
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name.text):
                self.error(name, f"rate name '{name.text}' is not a valid name", code="invalid-name")
                continue
            if isinstance(value, ScalarNode):
                tables.append(ir.RateTable(name=name.text, path=value.text, location=value.location))
                continue
            vm = self.expect_map(value, f"rate '{name.text}'")
            if vm is None:
                continue
            rows = []
            for dk, dv in vm.items:
                try:
                    day = _dt.date.fromisoformat(dk.text)
                except ValueError:
                    self.error(dk, f"'{dk.text}' is not a date YYYY-MM-DD", code="invalid-date")
                    continue
                vs = self.scalar(dv, "rate value")
                if vs is None:
                    continue
                try:
                    rows.append((day, check_amount(parse_decimal(vs.text))))
                except ValueError as e:
                    self.error(vs, str(e), code="invalid-rate-table")
            tables.append(ir.RateTable(name=name.text, values=tuple(sorted(rows))))
        return tuple(tables)

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
        for goto, node in getattr(self, "gotos", []):
            if goto not in RESERVED_STATE_NAMES and goto not in known:
                self.error(node, f"goto: undefined state '{goto}'",
                           help=did_you_mean(goto, names + list(RESERVED_STATE_NAMES))
                           or (f"states: {', '.join(names)}" if len(names) <= 20 else None),
                           code="undefined-state")
        for excepts, node in getattr(self, "except_nodes", []):
            for name in excepts:
                if name not in known:
                    self.error(node, f"except: undefined state '{name}'", help=did_you_mean(name, names),
                               code="undefined-state")


def build_policy(root: Node, path: str | None = None) -> ir.Policy:
    """Check a node tree and build the policy; raises ``PolicyErrors`` listing every problem."""
    return _Builder(root, path).build()
