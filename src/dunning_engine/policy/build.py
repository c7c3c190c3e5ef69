"""Build the typed intermediate form (``ir.Policy``) from a positioned node tree.

The YAML reader (``yaml_source``) and the DSL reader produce the tree; every check of SPEC §1
happens here, so each error carries the position of the node it is about. Errors are collected and
raised together (``PolicyErrors``) so an author sees every problem of a file in one run.

The builder is one class in parts: :class:`~.build_values.Checker` (errors, values, expressions),
:class:`~.build_actions.ActionChecks` (actions, read from the vocabulary),
:class:`~.build_rules.RuleChecks` (states, rules, the graph), :class:`~.build_contact.ContactChecks`
(contact rules, rates) and, here, the top-level settings.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from .. import expr as _expr
from ..errors import PolicyErrors, did_you_mean
from ..expr.ast import depth as _expr_depth
from ..expr.parser import MAX_DEPTH as MAX_EXPRESSION_DEPTH
from ..expr.schema import SCOPES
from ..values import is_currency
from . import ir
from .build_contact import ContactChecks
from .build_rules import RESERVED_STATE_NAMES, RuleChecks
from .build_values import MAX_ERRORS
from .nodes import MapNode, Node, ScalarNode, describe

__all__ = ["build_policy", "MAX_ERRORS", "RESERVED_STATE_NAMES"]

POLICY_ID = re.compile(r"[a-z][a-z0-9_-]*\Z")
TOP_KEYS = ("policy", "version", "description", "scope", "timezone", "calendar", "currency", "send_at",
            "allocation", "segments", "states", "any_state", "contact", "rates", "invariants")


class _Builder(RuleChecks, ContactChecks):
    """The whole builder: the top-level settings here, states, rules, actions and contact in its parts."""

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
            self.scope = self.one_of(get("scope"), "scope", SCOPES) or "invoice"
        timezone = "UTC"
        if get("timezone") is not None:
            timezone = self.timezone(get("timezone")) or "UTC"
        calendar = self.calendar(get("calendar")) if get("calendar") is not None else None
        currency_node = get("currency")
        if isinstance(currency_node, ScalarNode) and currency_node.is_null():
            self.error(currency_node, "'currency:' has no value",
                       help="write the policy's currency, such as 'currency: CLP' (or USD, MXN...)", code="no-currency")
        elif currency_node is None:
            self.error(root, "the policy has no 'currency:'",
                       help="add 'currency: CLP' (or USD, MXN...): the currency of money written without a code"
                            " and of invoices that give none", code="no-currency")
        else:
            code = self.text(get("currency"), "currency")
            if code is not None and not is_currency(code):
                self.error(get("currency"), f"unknown currency code '{code}'",
                           help="use an ISO 4217 code in capitals, such as CLP, MXN, USD or EUR", code="unknown-currency")
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

    def timezone(self, node: Node | None) -> str | None:
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
                       help=did_you_mean(name, available_timezones()) or "use an IANA name such as America/Santiago or UTC", code="unknown-timezone")
            return None
        return name

    def calendar(self, node: Node | None) -> str | None:
        code = self.text(node, "calendar")
        if code is None:
            return None
        from ..calendars import supported_calendar

        problem = supported_calendar(code)
        if problem:
            self.error(node, problem[0], help=problem[1], code="unknown-calendar")
            return None
        return code

    def allocation(self, node: Node | None) -> tuple[str, ...]:
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
                self.error(key, f"segment name '{name}' is already a variable", help="choose another name", code="segment-hides-variable")
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


def build_policy(root: Node, path: str | None = None) -> ir.Policy:
    """Check a node tree and build the policy; raises ``PolicyErrors`` listing every problem."""
    return _Builder(root, path).build()
