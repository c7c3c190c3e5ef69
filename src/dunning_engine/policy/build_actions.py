"""Checking the actions of a policy (SPEC §1 "Actions") against the vocabulary's action kinds.

Which parameters an action takes, their types, which are required, which exclude each other: all of
it is read from :mod:`dunning_engine.vocabulary`. The checks of amounts that make no sense (a
negative charge, a discount over 100%...) follow (docs/decisions.md, "Amounts of actions").
"""

from __future__ import annotations

from typing import Any

from .. import expr as _expr
from ..errors import did_you_mean
from ..expr.check import DURATION_LIMITS
from ..values import Duration, Money, Percent
from ..vocabulary import (ACTIONS, CHANNEL_LIST, DATE, DURATION, ENUM, EXPRESSION_MAP, INT, MONEY, MONEY_OR_PERCENT,
                          NAME, PERCENT, TEXT, TEXT_EXPRESSION, Param)
from . import ir
from .build_values import WORD, Checker
from .nodes import MapNode, Node, ScalarNode, describe

__all__ = ["ActionChecks"]

DEFAULT_PLAN_EVERY: Duration = ACTIONS["offer_plan"].param_default("every")


class ActionChecks(Checker):
    """Reads ``do``, ``on_enter`` and ``on_exit`` lists into ``ir.Action`` tuples."""

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
        spec = ACTIONS.get(kind)
        if spec is None:
            self.error(kind_node, f"unknown action '{kind}'",
                       help=did_you_mean(kind, ACTIONS) or f"actions: {', '.join(ACTIONS)}", code="unknown-action")
            return None
        names = spec.param_names
        params_map = self.expect_map(params_node, f"the parameters of '{kind}'") if params_node is not None else None
        params: list[tuple[str, Any]] = []
        if params_map is not None:
            self.check_keys(params_map, names, f"'{kind}'")
            for key, value in params_map.items:
                param = spec.param(key.text)
                if param is not None:
                    v = self.param(kind, param, value, event)
                    if v is not None:
                        params.append((key.text, v))
        given = {k for k, _ in params}
        written = set(params_map.keys()) if params_map is not None else set()
        for req in spec.required:
            if req not in written:
                self.error(node, f"'{kind}' needs '{req}'", help=f"add '{req}: ...' to the action", code="missing-param")
            elif req not in given:
                written_value = params_map.get(req) if params_map is not None else None
                if isinstance(written_value, ScalarNode) and written_value.is_null():
                    self.error(written_value, f"'{req}' of '{kind}' has no value", help=f"write the {req} after '{req}:'",
                               code="missing-param")
        if spec.one_of:
            a, b = spec.one_of
            if (a in written) == (b in written):
                self.error(node, f"'{kind}' needs either '{a}' or '{b}'", help=spec.one_of_help, code="amount-or-percent")
        for p in spec.params:
            if p.only_with is not None and p.name in given and p.only_with not in given:
                self.error(node, f"'{p.name}' only goes with '{p.only_with}'", code="misplaced-option")
        if params_map is not None:
            self.check_amounts(kind, dict(params), {k.text: v for k, v in params_map.items})
        # One canonical order (the vocabulary's), so that the order the author wrote the
        # parameters in does not change the policy (and both forms agree).
        params.sort(key=lambda kv: names.index(kv[0]))
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

    def param(self, kind: str, param: Param, node: Node, event: bool) -> Any:
        """The checked value of parameter ``param`` of an action of ``kind`` (None when not valid)."""
        what = f"'{param.name}' of '{kind}'"
        T = _expr.types
        if param.is_expression:
            # Money parameters are in the policy's currency (or the case's, as 'balance' is): another
            # currency would fail every case at run time.
            money = T.MoneyType(self.currency) if self.currency else T.MONEY
            expect = {
                TEXT_EXPRESSION: (T.TEXT,), MONEY: (money,), PERCENT: (T.PERCENT,),
                DATE: (T.DATE, T.DATETIME), MONEY_OR_PERCENT: (money, T.PERCENT),
            }[param.type]
            return self.expression(node, what, expect=expect, event=event, null=param.type == TEXT_EXPRESSION)
        if param.type == NAME:
            return self.name(node, what, WORD)
        if param.type == TEXT:
            return self.text(node, what)
        if param.type == CHANNEL_LIST:
            return self.channels(node, what)
        if param.type == ENUM:
            return self.one_of(node, what, param.choices)
        if param.type == INT and param.choices:
            choice = self.one_of(node, what, tuple(str(c) for c in param.choices))
            return int(choice) if choice else None
        if param.type == INT:
            return self.integer(node, what, minimum=param.minimum)
        if param.type == DURATION:
            return self.duration(node, what, positive=True)
        if param.type == EXPRESSION_MAP:
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
        raise AssertionError(param.type)  # pragma: no cover
