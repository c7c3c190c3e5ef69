"""Checking the contact rules and the rate tables of a policy (SPEC §1 "Contact rules", "Rates")."""

from __future__ import annotations

import datetime as _dt
import re

from ..values import check_amount, parse_decimal
from ..vocabulary import WEEKDAYS, compliance_pack_names
from . import ir
from .build_values import Checker
from .nodes import Node, ScalarNode

__all__ = ["ContactChecks", "CONTACT_KEYS", "LIMIT_KEYS"]

CONTACT_KEYS = ("windows", "holidays", "limits", "compliance")
LIMIT_KEYS = ("max", "per", "gap", "via")


class ContactChecks(Checker):
    """Reads ``contact`` and ``rates``."""

    # -- contact and rates -------------------------------------------------------
    def contact(self, node: Node | None) -> ir.Contact | None:
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
                    self.error(value, f"window hours must be written HH:MM-HH:MM, found '{span}'", help='for example "08:00-20:00"', code="invalid-window")
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
                via = self.channels(lm.get("via"), "'via' of 'limit'")
            limits.append(ir.Limit(max=mx, per=per, gap=gap, via=via, location=lm.location))
        compliance = []
        for item in self.expect_list(m.get("compliance"), "compliance"):
            c = self.one_of(item, "compliance pack", compliance_pack_names())
            if c:
                compliance.append(c)
        return ir.Contact(windows=tuple(windows), holidays=holidays, limits=tuple(limits), compliance=tuple(compliance))

    def weekdays(self, key: ScalarNode) -> tuple[int, ...]:
        days: list[int] = []
        for part in key.text.split(","):
            part = part.strip()
            ends = part.split("-")
            if len(ends) > 2 or any(e not in WEEKDAYS for e in ends):
                self.error(key, f"'{key.text}' is not a day range", help="write days as mon, tue, ... sun, ranges as mon-fri, lists as sat,sun", code="invalid-window")
                return ()
            a, b = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        return tuple(sorted(set(days)))

    def rates(self, node: Node | None) -> tuple[ir.RateTable, ...]:
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
