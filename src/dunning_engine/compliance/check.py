"""Static checks of a policy's contact rules, rates and compliance packs (``dunning validate`` warnings).

Each finding is a ``PolicyError`` with ``severity="warning"`` and a code ``DC...`` (its ``diagnostic``
renders ``[DC001 fee-before-allowed]`` after the message): the policy is valid and runs, but
the engine will not do what it says — a fee the pack caps to zero, contacts deferred further and
further because a rule fires more often than a limit lets them out, a channel dropped, a cap that
cannot be computed without a rate table. The checks read only the IR and are conservative: a
finding is made only when the policy text shows it (for example, a fee's day is known only for
``at: due + N days`` rules, guards ``days_overdue >= N``, and states every way into which is such
a rule).

====== =========================================================================================
code   finds
====== =========================================================================================
DC001  a fee charged before the pack's earliest day (CL: 20 days of delay): capped to zero
DC002  a contact rule firing more often than a limit or gap allows (contacts pile up, deferred)
DC003  a remind whose channels alone break a limit: some channels are dropped (``dropped_via``)
DC004  contact windows that never overlap: no contact is ever sent
DC005  a cap or ``rate()`` that needs a rate table the policy does not declare
DC006  a pack whose caps need another currency than the policy's
DC007  ``holidays: false`` without a ``calendar``: there are no holidays to avoid
====== =========================================================================================
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator

from ..codes import CODES as _REGISTRY
from ..errors import Location, PolicyError
from ..policy import ir
from ..vocabulary import contact_channels
from . import packs_of

__all__ = ["compliance_warnings", "CODES"]

# code -> name, read from the registry (dunning_engine.codes)
CODES: dict[str, str] = {code: entry.name or code for code, entry in _REGISTRY.items() if code.startswith("DC")}

_DUE = re.compile(r"^(?:invoice\.)?due(?: ([+-]) (\d+) (day|days|week|weeks))?$")
_GUARD = re.compile(r"days_overdue (>=|>|==) (\d+)")


def _warn(message: str, location: Location | None, help: str | None = None, *, code: str) -> PolicyError:
    return PolicyError(message, location, help=help, code=code, severity="warning")


def _find(policy: ir.Policy, needle: str, after: str | None = None) -> Location | None:
    """Where ``needle`` is first written in the policy file (after the first ``after``, if given)."""
    src = policy.source
    text = getattr(src, "text", None)
    if not isinstance(text, str):
        return None
    start = 0
    if after is not None:
        start = text.find(after)
        if start < 0:
            return None
    m = re.compile(r"(?<![A-Za-z0-9_-])" + re.escape(needle) + r"(?![A-Za-z0-9_-])").search(text, start)
    return src.location(m.start(), len(needle)) if m else None


def _find_pack(policy: ir.Policy, code: str) -> Location | None:
    return _find(policy, code, after="compliance") or _find(policy, "compliance")


def _rules(policy: ir.Policy) -> Iterator[tuple[str | None, ir.Rule]]:
    for rule in policy.any_state:
        yield None, rule
    for s in policy.states:
        for rule in s.rules:
            yield s.name, rule


def _due_day(rule: ir.Rule) -> int | None:
    """The days_overdue at which an ``at: due + N days`` rule fires, else None."""
    trig = rule.trigger
    if not isinstance(trig, ir.At):
        return None
    m = _DUE.match(trig.expr.canonical)
    if not m:
        return None
    if m.group(1) is None:
        return 0
    n = int(m.group(2)) * (7 if m.group(3).startswith("week") else 1)
    return n if m.group(1) == "+" else -n


def _guard_floor(rule: ir.Rule) -> int | None:
    """The least days_overdue the rule's ``when`` guard allows, when it says so plainly."""
    if rule.when is None:
        return None
    best = None
    for op, n in _GUARD.findall(rule.when.canonical):
        v = int(n) + (1 if op == ">" else 0)
        best = v if best is None else max(best, v)
    return best


def _fee_day(rule: ir.Rule) -> int | None:
    """The least days_overdue at which the rule can run, when the policy text shows it."""
    days = [d for d in (_due_day(rule), _guard_floor(rule)) if d is not None]
    return max(days) if days else None


def _fees(actions) -> list[ir.Action]:
    return [a for a in actions if a.kind == "fee"]


def _check_fee_days(policy: ir.Policy, warnings: list) -> None:
    for pack in packs_of(policy):
        first = pack.fee_from_days_overdue
        if first is None:
            continue
        gotos: dict[str, list[ir.Rule]] = {}
        for _, rule in _rules(policy):
            if rule.goto:
                gotos.setdefault(rule.goto, []).append(rule)
        help = f"charge it from due + {first} days (e.g. at: due + {first} days)"
        for _, rule in _rules(policy):
            day = _fee_day(rule)
            if day is None or day >= first:
                continue
            for fee in _fees(rule.do):
                warnings.append(_warn(f"compliance {pack.code}: this fee is charged at {day} days of delay; "
                                      f"no collection charge is allowed before {first} days, so it is capped to zero "
                                      "and not charged", fee.location or rule.location, help, code="DC001"))
        for s in policy.states:
            fees = _fees(s.on_enter)
            if not fees:
                continue
            days: list[int | None]
            if s.initial:
                days = [None]
            else:
                incoming = gotos.get(s.name, [])
                days = [_fee_day(r) for r in incoming] if incoming else [None]
            known = [d for d in days if d is not None]
            if s.initial or (known and len(known) == len(days) and max(known) < first):
                when = "when a case starts" if s.initial else f"at {max(known)} days of delay"
                for fee in fees:
                    warnings.append(_warn(f"compliance {pack.code}: this fee of state '{s.name}' is charged "
                                          f"{when}; no collection charge is allowed before {first} days, so it is "
                                          "capped to zero and not charged", fee.location or s.location, help,
                                          code="DC001"))


def _channels(action: ir.Action) -> list[str] | None:
    return contact_channels(action.kind, action.param_dict)


def _rule_name(lim) -> str:
    who = "the policy" if lim.source == "policy" else lim.source
    return f"{who} ({lim.text})"


def _check_frequency(policy: ir.Policy, rules, limits, warnings: list) -> None:
    for _, rule in _rules(policy):
        trig = rule.trigger
        if not isinstance(trig, ir.Every) or trig.duration.fixed_days is None:
            continue
        every = trig.duration.fixed_days
        contacts = [(a, rules.fit(ch)) for a in rule.do if (ch := _channels(a))]
        if not contacts or every <= 0:
            continue
        for lim in limits:
            demand = sum(len([c for c in ch if lim.covers(c)]) for _, ch in contacts)
            if not demand:
                continue
            if lim.kind == "gap" and lim.gap.fixed_days is not None and every < lim.gap.fixed_days:
                warnings.append(_warn(f"this rule contacts every {trig.duration}, but {_rule_name(lim)} "
                                      "keeps contacts further apart: they will be deferred, later and later",
                                      rule.location, f"fire it every {lim.gap} or more, or give it 'max:'",
                                      code="DC002"))
            elif lim.kind == "count" and lim.per.fixed_days is not None:
                firings = math.ceil(lim.per.fixed_days / every)
                if trig.max is not None:
                    firings = min(firings, trig.max)
                if firings * demand > lim.max:
                    warnings.append(_warn(f"this rule contacts every {trig.duration} ({firings * demand} "
                                          f"contact(s) per {lim.per}), but {_rule_name(lim)}: they will be "
                                          "deferred, later and later", rule.location,
                                          f"fire it at most {lim.max} time(s) per {lim.per}, or give it 'max:'",
                                          code="DC002"))


def _all_actions(policy: ir.Policy) -> Iterator[ir.Action]:
    for s in policy.states:
        yield from s.on_enter
        yield from s.on_exit
    for _, rule in _rules(policy):
        yield from rule.do


def _check_channels(rules, policy: ir.Policy, warnings: list) -> None:
    for action in _all_actions(policy):
        ch = _channels(action)
        if not ch or len(ch) < 2:
            continue
        kept = rules.fit(ch)
        if len(kept) < len(ch):
            dropped = [c for c in ch if c not in kept]
            why = [_rule_name(lim) for lim in rules.limits
                   if lim.kind in ("count", "channels", "gap") and sum(1 for c in ch if lim.covers(c)) > (lim.max or 1)]
            warnings.append(_warn(f"this remind goes out via {', '.join(kept)} only: each channel is a contact, "
                                  f"and {'; '.join(why) or 'a limit'} does not let "
                                  f"{', '.join(ch)} go out together ({', '.join(dropped)} dropped)",
                                  action.location, "send the other channels from another rule, a few days later",
                                  code="DC003"))


def _expressions(policy: ir.Policy) -> Iterator[Any]:
    for _, e in policy.segments:
        yield e
    for _, rule in _rules(policy):
        trig = rule.trigger
        yield from (rule.when, rule.unless, getattr(trig, "expr", None), getattr(trig, "starting", None))
    for action in _all_actions(policy):
        for _, v in action.params:
            if hasattr(v, "rates"):
                yield v
            elif isinstance(v, tuple):
                for item in v:
                    if isinstance(item, tuple) and len(item) == 2 and hasattr(item[1], "rates"):
                        yield item[1]


def _check_rates(policy: ir.Policy, warnings: list) -> None:
    declared = {t.name for t in policy.rates}
    kinds = {a.kind for a in _all_actions(policy)}
    for pack in packs_of(policy):
        for name, what, needed_by in pack.rates:
            if name in declared or needed_by not in kinds:
                continue
            if pack.code == "CL" and name == "TMC":
                msg = (f"compliance CL caps interest at the maximum conventional rate only with a 'TMC' rate table; "
                       "without one, interest is not capped")
            else:
                msg = (f"compliance {pack.code} needs the rate table '{name}' ({what}); without it every "
                       f"{needed_by} fails its case")
            warnings.append(_warn(msg, _find_pack(policy, pack.code),
                                  f"add it under rates:, e.g. rates: {{{name}: rates/{name.lower()}.csv}}",
                                  code="DC005"))
    seen: set[str] = set()
    for e in _expressions(policy):
        if e is None:
            continue
        for name in sorted(getattr(e, "rates", ())):
            if name not in declared and name not in seen:
                seen.add(name)
                warnings.append(_warn(f"rate(\"{name}\") reads a table the policy does not declare: it is null",
                                      _find(policy, f'rate("{name}")'), f"declare it under rates:, e.g. {name}: rates/{name.lower()}.csv",
                                      code="DC005"))


_CURRENCY = {"CL": ("CLP", "CLF"), "EU-B2B": ("EUR",), "UK-B2B": ("GBP",)}


def _check_currency(policy: ir.Policy, warnings: list) -> None:
    kinds = {a.kind for a in _all_actions(policy)}
    if "fee" not in kinds or policy.currency is None:
        return
    for pack in packs_of(policy):
        allowed = _CURRENCY.get(pack.code)
        if allowed and policy.currency not in allowed:
            warnings.append(_warn(f"compliance {pack.code} caps fees in {' or '.join(allowed)}, but the policy's "
                                  f"currency is {policy.currency}: fees of cases in {policy.currency} fail their case",
                                  _find_pack(policy, pack.code), "use the pack with invoices in its currency",
                                  code="DC006"))


def compliance_warnings(policy: ir.Policy) -> list[PolicyError]:
    """Every warning for ``policy``'s contact rules, rates and packs, in file order (unplaced last)."""
    from ..calendars import get_calendar
    from ..engine.contact import ContactRules

    warnings: list[PolicyError] = []
    c = policy.contact
    if c is not None:
        from zoneinfo import ZoneInfo

        rules = ContactRules(policy, get_calendar(policy.calendar), ZoneInfo(policy.timezone))
        if rules.never:
            warnings.append(_warn("no instant is inside every contact window ("
                                  + "; ".join(f"{w.source}: {w.text}" for w in rules.windows)
                                  + "): no contact will ever be sent", _find(policy, "windows") or _find(policy, "compliance"),
                                  "widen the policy's windows to overlap the packs' hours", code="DC004"))
        _check_frequency(policy, rules, rules.limits, warnings)
        _check_channels(rules, policy, warnings)
        if not c.holidays and not policy.calendar:
            warnings.append(_warn("'holidays: false' needs a calendar: without 'calendar:' there are no holidays",
                                  _find(policy, "holidays"), "add e.g. 'calendar: CL'", code="DC007"))
        _check_fee_days(policy, warnings)
        _check_currency(policy, warnings)
    _check_rates(policy, warnings)

    def key(w: PolicyError):
        loc = w.location
        return (0, loc.line, loc.column) if loc else (1, 0, 0)

    return sorted(warnings, key=key)
