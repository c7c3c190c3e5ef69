"""Contact rules at run time: windows, frequency limits and gaps (SPEC §1 "Contact rules").

The engine calls :meth:`ContactRules.place` for every action it emits (``Output.place_pending``); for a
contact action it returns the earliest instant, ``t`` or later, at which the action satisfies every
window and every limit, and books it. A later instant makes the engine defer the record (it carries
``deferred_from``). Policies without a ``contact:`` block (or whose block has neither windows,
``holidays: false``, limits nor packs with contact rules) get no ``ContactRules`` at all: the engine's
hot path pays nothing.

What counts (docs/compliance.md has the full story):

- **Contact actions** are ``remind`` (one contact per channel of ``via``) and ``task`` of kind
  ``call`` or ``visit`` (channel ``call`` or ``visit``). Every other action goes out at once.
- **Windows** are read in the customer's timezone (``customer.timezone``, else the policy's), per
  local weekday; ``end`` is excluded (``08:00-20:00`` allows 19:59:59, not 20:00). The policy's windows
  form one set (inside any of them is inside the set); each pack adds its own set; a contact must be
  inside every set (intersection), and off the holidays of each set that excludes them.
- **Limits** ``{max, per}`` count the contacts whose channel the limit covers over every window
  ``(x - per, x]`` (wall-clock durations in the customer's timezone); each channel of a remind is a
  contact. ``{gap}`` keeps contacts at least ``gap`` apart. Limits are per customer (all its cases);
  pack limits may be per case ("per debt"). A policy limit whose ``via`` names ``call`` also covers
  visits (the policy language has no ``visit`` channel).
- **Bookings are final.** Contacts are placed in processing order — time, then case (input order),
  then rule order — which is the order of their original times; a deferred contact books its slot,
  and later contacts are placed around every booked slot (before it only if that keeps every window
  ``(x - per, x]`` within its limits). So deferred contacts competing for a slot keep the order of
  their original times, then of processing.
- **A remind whose channels alone break a limit** (two written channels under a gap, three under
  ``max: 2``) keeps the channels that fit, in the order written; the record lists the others in
  ``dropped_via``. A contact that no window ever allows is not emitted (``engine.warnings`` says so).
"""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from ..calendars import get_calendar
from ..compliance import PACKS
from ..compliance.base import DAY, LimitRule, WindowSpec
from ..errors import EngineError
from ..policy import ir
from ..values import Duration
from ..vocabulary import contact_channels as _contact_channels

if TYPE_CHECKING:
    from .case import Case
    from .runtime import Runtime

__all__ = ["ContactRules", "build_contact", "contact_channels", "policy_rules"]

SLACK = 2 * 3600  # seconds of DST slack around wall-clock windows when searching bookings


def contact_channels(action: ir.Action, out: dict) -> list[str] | None:
    """The channels an emitted action contacts the customer through, or None for a non-contact action
    (the vocabulary's contact actions: a remind, a task of kind call or visit)."""
    return _contact_channels(action.kind, out["params"])


def _union(spans) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def _intersect(xs, ys) -> tuple[tuple[int, int], ...]:
    out = []
    for a, b in xs:
        for c, d in ys:
            lo, hi = max(a, c), min(b, d)
            if lo < hi:
                out.append((lo, hi))
    return _union(out)


def _seconds(t: _dt.time) -> int:
    if t == _dt.time.max:
        return DAY
    return t.hour * 3600 + t.minute * 60 + t.second


def policy_rules(policy: ir.Policy) -> tuple[list[WindowSpec], list[LimitRule]]:
    """The window sets and limits of a policy: its own contact rules, then its packs' (in the order written)."""
    c = policy.contact
    windows: list[WindowSpec] = []
    limits: list[LimitRule] = []
    if c is None:
        return windows, limits
    if c.windows or not c.holidays:
        spans: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        if c.windows:
            for w in c.windows:
                for d in w.days:
                    spans[d].append((_seconds(w.start), _seconds(w.end)))
        else:
            spans = [[(0, DAY)] for _ in range(7)]
        text = ", ".join(f"{w.spec} {w.start:%H:%M}-{'24:00' if w.end == _dt.time.max else format(w.end, '%H:%M')}"
                         for w in c.windows) or "any time"
        if not c.holidays:
            text += ", not on holidays"
        windows.append(WindowSpec("policy", tuple(_union(s) for s in spans), not c.holidays, None, text))
    for lim in c.limits:
        via = None
        if lim.via is not None:
            via = frozenset(lim.via) | (frozenset({"visit"}) if "call" in lim.via else frozenset())
        if lim.gap is not None:
            limits.append(LimitRule("policy", "gap", gap=lim.gap, via=via, text=f"gap {lim.gap}", location=lim.location))
        else:
            limits.append(LimitRule("policy", "count", max=lim.max, per=lim.per, via=via,
                                    text=f"at most {lim.max} per {lim.per}", location=lim.location))
    for code in c.compliance:
        pack = PACKS[code]
        if pack.windows is not None:
            windows.append(pack.windows)
        limits.extend(pack.limits)
    return windows, limits


def _approx_seconds(d: Duration) -> int:
    """An upper bound of a duration in seconds (for pruning old bookings)."""
    if d.unit == "months":
        return (31 * d.amount + 1) * DAY
    if d.unit == "business_days":
        return (d.amount * 7 // 5 + 20) * DAY
    days = d.fixed_days
    assert days is not None  # days and weeks
    return (days + 1) * DAY


class _Zone:
    """Wall-clock arithmetic in one timezone, with a small cache."""

    __slots__ = ("tz", "_local", "_shifted")

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._local: dict[int, tuple[_dt.date, int]] = {}
        self._shifted: dict[tuple, int] = {}

    def local(self, t: int) -> tuple[_dt.date, int]:
        r = self._local.get(t)
        if r is None:
            dt = _dt.datetime.fromtimestamp(t, self.tz)
            r = (dt.date(), dt.hour * 3600 + dt.minute * 60 + dt.second)
            if len(self._local) > 50_000:
                self._local.clear()
            self._local[t] = r
        return r

    def instant(self, day: _dt.date, secs: int) -> int:
        if secs >= DAY:
            return self.instant(day + _dt.timedelta(days=1), secs - DAY)
        h, rem = divmod(secs, 3600)
        m, s = divmod(rem, 60)
        return int(_dt.datetime(day.year, day.month, day.day, h, m, s, tzinfo=self.tz).timestamp())

    def shift(self, t: int, d: Duration, calendar: Any, sign: int = 1) -> int:
        """``t`` plus (``sign`` 1) or minus (-1) ``d``, on the wall clock (a day keeps the local time)."""
        key = (t, d, sign)
        r = self._shifted.get(key)
        if r is not None:
            return r
        day, secs = self.local(t)
        days = d.fixed_days
        if days is not None:
            new = day + _dt.timedelta(days=sign * days)
        else:
            new = Duration(sign * d.amount, d.unit).add_to(day, calendar)
        r = self.instant(new, secs)
        if len(self._shifted) > 100_000:
            self._shifted.clear()
        self._shifted[key] = r
        return r


class ContactRules:
    """The windows and limits of one policy (its own and its packs'), and the bookings of a run."""

    def __init__(self, policy: ir.Policy, calendar: Any, tz: ZoneInfo) -> None:
        self.policy = policy
        self.calendar = calendar
        self.windows, self.limits = policy_rules(policy)
        self._sets = [(w, self._calendar_of(w)) for w in self.windows]
        self._zones: dict[str | None, _Zone] = {None: _Zone(tz)}
        self._days: dict[_dt.date, tuple[tuple[int, int], ...]] = {}
        # bookings: (scope, id) -> (sorted instants, channels)
        self._booked: dict[tuple[str, str], tuple[list[int], list[str]]] = {}
        self._case_scoped = any(lim.scope == "case" for lim in self.limits)
        self.conversations: dict[str, list[int]] = {}
        self.outcomes = frozenset().union(*(lim.outcomes for lim in self.limits if lim.kind == "quiet"))
        spans = [(lim.per if lim.per is not None else lim.gap) for lim in self.limits]
        self._horizon = max((_approx_seconds(d) for d in spans if d is not None), default=0) + 2 * DAY
        self.never = self.windows and not any(self._weekday_spans(d) for d in range(7))
        self.warned: set[str] = set()
        self._restored: dict[str, set[str]] = {}  # customer -> case ids whose entries restore() gave back
        self._fits: dict[tuple[str, ...], list[str]] = {}

    def _calendar_of(self, w: WindowSpec):
        if not w.no_holidays:
            return None
        if w.calendar is None:
            return self.calendar
        own = self.policy.calendar
        if own and own.split("-")[0] == w.calendar:
            return self.calendar  # the policy's calendar is of the pack's country (maybe a subdivision)
        return get_calendar(w.calendar)

    @property
    def active(self) -> bool:
        return bool(self.windows or self.limits)

    # ------------------------------------------------------------------ windows
    def _weekday_spans(self, weekday: int):
        spans: tuple[tuple[int, int], ...] = ((0, DAY),)
        for w, _ in self._sets:
            spans = _intersect(spans, w.spans[weekday])
        return spans

    def spans(self, day: _dt.date) -> tuple[tuple[int, int], ...]:
        """The allowed local spans of ``day`` (seconds after midnight), every window set applied."""
        r = self._days.get(day)
        if r is None:
            r = ((0, DAY),)
            wd = day.weekday()
            for w, cal in self._sets:
                if cal is not None and cal.is_holiday(day):
                    r = ()
                    break
                r = _intersect(r, w.spans[wd])
                if not r:
                    break
            if len(self._days) > 20_000:
                self._days.clear()
            self._days[day] = r
        return r

    def zone(self, customer: Any) -> _Zone:
        name = customer.attrs.get("timezone") if customer is not None else None
        z = self._zones.get(name)
        if z is None:
            try:
                z = _Zone(ZoneInfo(str(name)))
            except (ValueError, KeyError, OSError):
                z = self._zones[None]  # the readers check timezones; a bad one falls back to the policy's
            self._zones[name] = z
        return z

    def inside(self, zone: _Zone, t: int) -> bool:
        day, secs = zone.local(t)
        return any(a <= secs < b for a, b in self.spans(day))

    def next_open(self, zone: _Zone, s: int) -> int | None:
        """The first instant at or after ``s`` inside every window (None: never within a year)."""
        if not self._sets:
            return s
        for _ in range(16):  # retries only around DST changes
            day, secs = zone.local(s)
            found = None
            for i in range(370):
                d = day + _dt.timedelta(days=i) if i else day
                for a, b in self.spans(d):
                    if i == 0:
                        if secs >= b:
                            continue
                        a = max(a, secs)
                    found = (d, a)
                    break
                if found:
                    break
            if found is None:
                return None
            cand = max(zone.instant(*found), s)
            if self.inside(zone, cand):
                return cand
            s = cand + 60
        return None  # pragma: no cover

    # ------------------------------------------------------------------ limits
    def _bookings(self, lim: LimitRule, case: Any) -> tuple[list[int], list[str]] | None:
        key = ("case", case.id) if lim.scope == "case" else ("customer", case.customer.id)
        return self._booked.get(key)

    def blocked(self, zone: _Zone, s: int, chans: list[str], case: Any) -> int | None:
        """None when a contact through ``chans`` at ``s`` keeps every limit; else the next instant worth trying."""
        nxt: int | None = None
        cal = self.calendar
        shift = zone.shift
        for lim in self.limits:
            via = lim.via
            mine = chans if via is None else [c for c in chans if c in via]
            if not mine:
                continue
            per = lim.per
            if lim.kind == "quiet":
                assert per is not None  # a quiet period
                for c in self.conversations.get(case.id, ()):
                    if c <= s:
                        end = shift(c, per, cal)
                        if s < end and (nxt is None or end < nxt):
                            nxt = end
                continue
            booked = self._bookings(lim, case)
            if not booked:
                continue
            times, chs = booked
            if lim.kind == "gap":
                gap = lim.gap
                assert gap is not None
                lo = bisect_left(times, shift(s, gap, cal, -1) - SLACK)
                hi = bisect_right(times, shift(s, gap, cal) + SLACK)
                for i in range(lo, hi):
                    if not lim.covers(chs[i]):
                        continue
                    p = times[i]
                    end = shift(p, gap, cal)
                    if (p <= s < end) or (s < p < shift(s, gap, cal)):
                        if nxt is None or end < nxt:
                            nxt = end
                continue
            most = lim.max
            assert per is not None and most is not None  # count and channels limits
            last = shift(s, per, cal)  # the new contact counts in the windows ending in [s, last)
            lo = bisect_left(times, shift(s, per, cal, -1) - SLACK)
            hi = bisect_left(times, last)
            pts = [(times[i], chs[i], shift(times[i], per, cal)) for i in range(lo, hi) if lim.covers(chs[i])]
            pts = [p for p in pts if p[2] > s]
            if not pts:
                continue
            over = False
            for x in [s] + [p for p, _, _ in pts if p > s]:
                inside = [(p, ch) for p, ch, end in pts if p <= x < end]
                if lim.kind == "count":
                    over = len(inside) + len(mine) > most
                else:  # channels
                    over = len({ch for _, ch in inside} | set(mine)) > most
                if over:
                    break
            if over:
                end = min(e for _, _, e in pts)
                if nxt is None or end < nxt:
                    nxt = end
        return nxt

    def fit(self, chans: list[str]) -> list[str]:
        """The channels of one contact that can go out together, in the order written."""
        key = tuple(chans)
        kept = self._fits.get(key)
        if kept is None:
            kept = self._fits[key] = self._fit(chans)
        return list(kept)

    def _fit(self, chans: list[str]) -> list[str]:
        kept: list[str] = []
        for c in chans:
            trial = kept + [c]
            ok = True
            for lim in self.limits:
                mine = [x for x in trial if lim.covers(x)]
                if lim.kind == "count" and len(mine) > (lim.max or 0):
                    ok = False
                elif lim.kind == "channels" and len(set(mine)) > (lim.max or 0):
                    ok = False
                elif lim.kind == "gap" and len(mine) > 1:
                    ok = False
                if not ok:
                    break
            if ok:
                kept.append(c)
        return kept

    def book(self, case: Any, s: int, chans: list[str], now: int) -> None:
        """Record a contact through ``chans`` at ``s``, placed at ``now`` (the engine's instant, ``<= s``)."""
        keys = [("customer", case.customer.id)]
        if self._case_scoped:
            keys.append(("case", case.id))
        for key in keys:
            booked = self._booked.get(key)
            if booked is None:
                booked = self._booked[key] = ([], [])
            times, chs = booked
            # Bookings older than every limit's span before the current instant can no longer matter:
            # placements never go back in time (the engine places at non-decreasing instants).
            if len(times) > 64 and times[0] < now - self._horizon:
                cut = bisect_left(times, now - self._horizon)
                del times[:cut], chs[:cut]
            for c in chans:
                i = bisect_right(times, s)
                times.insert(i, s)
                chs.insert(i, c)

    # ------------------------------------------------------------------ the engine's hook
    def place(self, rt: Runtime, case: Case, action: ir.Action, out: dict, t: int) -> int | None:
        chans = contact_channels(action, out)
        if chans is None:
            return t
        kept = self.fit(chans) if self.limits else chans
        if len(kept) < len(chans):
            out["params"]["via"] = kept
            out["dropped_via"] = [c for c in chans if c not in kept]
        zone = self.zone(case.customer)
        s = t
        opened: int | None = t
        for _ in range(100_000):
            opened = self.next_open(zone, s)
            if opened is None:
                break
            s = opened
            nxt = self.blocked(zone, s, kept, case) if self.limits else None
            if nxt is None:
                break
            s = nxt
        if opened is None:
            if case.id not in self.warned:
                self.warned.add(case.id)
                rt.warnings.append(EngineError(
                    f"a {action.kind} at {rt.clock.iso(t)} was not sent: no instant is inside every contact "
                    f"window ({'; '.join(w.source + ': ' + w.text for w in self.windows)})", case=case.id,
                    help="widen the policy's windows so that they overlap the compliance packs' hours",
                    code="not-sent", severity="warning"))
            return None
        self.book(case, s, kept, t)
        return s

    # ------------------------------------------------------------------ snapshots (a store run)
    def export(self, customer_id: str, case_ids: Iterable[str]) -> dict | None:
        """What the rules remember of a customer and its cases (bookings, conversations, warnings),
        as JSON values; None when nothing (docs/snapshot.md, "Contact bookings")."""
        doc: dict[str, Any] = {}
        # the customer's cases this engine holds, and those whose entries a snapshot gave back (a
        # store run holds some of a customer's cases only: the others' entries are kept as they were)
        case_ids = sorted(set(case_ids) | self._restored.get(customer_id, set()))
        booked = self._booked.get(("customer", customer_id))
        if booked is not None:
            doc["customer"] = [list(booked[0]), list(booked[1])]
        cases: dict[str, Any] = {}
        talks: dict[str, Any] = {}
        warned = []
        for cid in case_ids:
            b = self._booked.get(("case", cid))
            if b is not None:
                cases[cid] = [list(b[0]), list(b[1])]
            if cid in self.conversations:
                talks[cid] = list(self.conversations[cid])
            if cid in self.warned:
                warned.append(cid)
        for key, value in (("cases", cases), ("conversations", talks), ("warned", warned)):
            if value:
                doc[key] = value
        return doc or None

    def restore(self, customer_id: str, doc: dict) -> None:
        """Take back what :meth:`export` gave."""
        if "customer" in doc:
            self._booked[("customer", customer_id)] = (list(doc["customer"][0]), list(doc["customer"][1]))
        for cid, (times, chans) in doc.get("cases", {}).items():
            self._booked[("case", cid)] = (list(times), list(chans))
        for cid, times in doc.get("conversations", {}).items():
            self.conversations[cid] = list(times)
        self.warned.update(doc.get("warned", ()))
        self._restored.setdefault(customer_id, set()).update(
            *(doc.get(k, ()) for k in ("cases", "conversations", "warned")))

    def conversation(self, case_id: str, t: int) -> None:
        """Record a conversation (a ``contact_outcome`` the quiet rules watch) with a case at ``t``."""
        times = self.conversations.setdefault(case_id, [])
        times.insert(bisect_right(times, t), t)

    def queued(self, case, t: int, event) -> None:
        """Called by the engine for every event it queues: record conversations the quiet rules watch.

        Events are queued with their instant, and queuing never goes back before the engine's clock,
        so a conversation is known before any contact that could fall in its quiet period is placed
        (as long as events are added before the clock passes them, which the engine enforces).
        """
        if event.type == "contact_outcome" and event.fields.get("outcome") in self.outcomes:
            self.conversation(case.id, t)


def build_contact(rt: Runtime) -> ContactRules | None:
    """The contact rules of the engine's policy, or None when it has none (the hot path then skips them)."""
    cp = rt.cp
    policy = cp.policy
    if policy.contact is None:
        return None
    rules = ContactRules(policy, cp.calendar, rt.clock.tz)
    if not rules.active:
        return None
    return rules
