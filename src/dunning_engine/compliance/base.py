"""The building blocks a compliance pack is made of: windows, limits and caps.

A pack *constrains* what a policy does; it never emits an action of its own
(docs/compliance.md, "What packs do not do"). It contributes:

- ``windows``: the local hours (per weekday, in the debtor's timezone) in which
  contact is allowed, and whether the country's holidays are excluded;
- ``limits``: frequency rules over contacts (``LimitRule``);
- caps on the amounts of ``fee`` and ``interest`` actions (``fee_cap``,
  ``interest_cap``): functions that return the most the action may charge.

Policy-written contact rules are turned into the same ``WindowSpec`` and
``LimitRule`` values (source ``"policy"``), so the engine's contact module
applies one list of rules: the strictest wins because *every* rule applies.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable

from ..values import Duration, minor_units
from ..vocabulary import CHANNELS, CONTACT_TASKS, VOICE_CHANNELS, WEEKDAYS

__all__ = [
    "WRITTEN",
    "VOICE",
    "ALL_DAYS",
    "WindowSpec",
    "LimitRule",
    "Pack",
    "hours",
    "floor_money",
]

# Channels of a written (asynchronous) contact and of a voice or in-person one (the vocabulary's).
# ``visit`` is the channel of ``task: {kind: visit}``; ``call`` that of a
# ``task: {kind: call}`` and of a ``remind`` sent ``via: call``.
WRITTEN = frozenset(CHANNELS) - frozenset(VOICE_CHANNELS)
VOICE = frozenset(VOICE_CHANNELS + CONTACT_TASKS)

WEEKDAY_NAMES = WEEKDAYS
ALL_DAYS = tuple(range(7))
DAY = 86400


def hours(spec: str) -> tuple[int, int]:
    """``"08:00-20:00"`` as seconds after local midnight, end excluded (``24:00`` is the end of the day)."""
    a, b = spec.split("-")
    ah, am = (int(x) for x in a.split(":"))
    bh, bm = (int(x) for x in b.split(":"))
    return ah * 3600 + am * 60, bh * 3600 + bm * 60


@dataclass(frozen=True)
class WindowSpec:
    """Contact is allowed inside one of ``spans`` of its weekday (local time), and not on holidays when
    ``no_holidays`` (the holidays of ``calendar``: a country code, or None for the policy's calendar).

    ``spans[d]`` lists ``(start, end)`` seconds after local midnight for weekday ``d`` (0 = Monday);
    ``end`` is excluded. An empty list closes the day.
    """

    source: str
    spans: tuple[tuple[tuple[int, int], ...], ...]
    no_holidays: bool = False
    calendar: str | None = None
    text: str = ""

    @classmethod
    def of(cls, source: str, days: dict[tuple[int, ...], str], *, no_holidays: bool = False,
           calendar: str | None = None) -> "WindowSpec":
        spans: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        parts = []
        for ds, text in days.items():
            for d in ds:
                spans[d].append(hours(text))
            parts.append(f"{_days_text(ds)} {text}")
        if no_holidays:
            parts.append("not on holidays")
        return cls(source, tuple(tuple(sorted(s)) for s in spans), no_holidays, calendar, ", ".join(parts))


def _days_text(days: tuple[int, ...]) -> str:
    if len(days) > 1 and list(days) == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAY_NAMES[days[0]]}-{WEEKDAY_NAMES[days[-1]]}"
    return ",".join(WEEKDAY_NAMES[d] for d in days)


@dataclass(frozen=True)
class LimitRule:
    """One frequency rule over contacts.

    ``kind``:
      - ``count``: at most ``max`` contacts over any window ``(t - per, t]``;
      - ``channels``: at most ``max`` distinct channels over any window ``(t - per, t]``;
      - ``gap``: contacts at least ``gap`` apart;
      - ``quiet``: no contact for ``per`` after a conversation (a ``contact_outcome`` event whose
        outcome is in ``outcomes``).
    ``via`` is the set of channels the rule covers (None: every channel); each channel of a
    contact counts once. ``scope`` is ``customer`` (all the customer's cases) or ``case`` (one debt).
    """

    source: str
    kind: str
    max: int | None = None
    per: Duration | None = None
    gap: Duration | None = None
    via: frozenset[str] | None = None
    scope: str = "customer"
    outcomes: frozenset[str] = frozenset()
    text: str = ""
    location: Any = field(default=None, compare=False)

    def covers(self, channel: str) -> bool:
        return self.via is None or channel in self.via


# fee_cap(engine, case, ledger, amount, today) -> the most the fee may charge (a Decimal)
FeeCap = Callable[[Any, Any, Any, Decimal, _dt.date], Decimal]
# interest_cap(engine, case, ledger, amount, today, periods, rate, basis) -> the most the posting may charge
InterestCap = Callable[..., Decimal]


@dataclass(frozen=True)
class Pack:
    """A compliance pack: the rules of one jurisdiction that an engine can enforce."""

    code: str
    title: str
    windows: WindowSpec | None = None
    limits: tuple[LimitRule, ...] = ()
    fee_cap: FeeCap | None = None
    interest_cap: InterestCap | None = None
    # Rate tables the caps read, as (name, what for, needed by 'fee' / 'interest').
    rates: tuple[tuple[str, str, str], ...] = ()
    # Money actions the pack needs to know about: the earliest days_overdue a fee may be charged at.
    fee_from_days_overdue: int | None = None
    fee_once: bool = False


def floor_money(amount: Decimal, currency: str) -> Decimal:
    """Round down to the currency's minor unit: a cap never rounds up past the law."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_DOWN)
