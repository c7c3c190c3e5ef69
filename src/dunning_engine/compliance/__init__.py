"""Compliance packs: the contact hours, frequency limits and money caps of a jurisdiction.

A policy switches packs on with ``contact: {compliance: [CL, ...]}`` (SPEC §1 "Contact rules").
Each pack lives in its own module, whose docstring lists its sources and what it does not cover
(docs/compliance.md collects them). Packs only constrain: the engine's contact rules
(``engine/contact.py``) apply their windows and limits together with the policy's own, every rule
applying (so the strictest wins), and :func:`cap` reduces fee and interest amounts.

>>> sorted(PACKS)
['CL', 'CO', 'EU-B2B', 'MX', 'PE', 'UK-B2B', 'US']
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import cl, co, eu_b2b, mx, pe, uk_b2b, us
from .base import LimitRule, Pack, WindowSpec, floor_money

__all__ = ["PACKS", "Pack", "WindowSpec", "LimitRule", "cap", "packs_of"]

PACKS: dict[str, Pack] = {m.PACK.code: m.PACK for m in (cl, co, mx, pe, us, eu_b2b, uk_b2b)}


def packs_of(policy: Any) -> tuple[Pack, ...]:
    """The packs a policy switches on, in the order written."""
    contact = getattr(policy, "contact", None)
    if contact is None or not contact.compliance:
        return ()
    return tuple(PACKS[code] for code in contact.compliance)


def cap(engine: Any, case: Any, kind: str, amount: Decimal, t: int, *, ledger: Any = None,
        periods: list | None = None, rate: Any = None, basis: int = 365) -> tuple[Decimal, Decimal | None]:
    """Apply the policy's packs' caps to a ``fee`` or ``interest`` amount about to be charged at ``t``.

    Returns ``(amount, None)`` when no cap applies, else ``(capped amount, amount before the cap)``;
    the capped amount is rounded down to the currency's minor unit and may be zero (the engine then
    emits nothing, like any zero fee). ``ledger`` is the invoice charged (default: the case's target
    invoice); for interest, ``periods`` (the ledger's accrual periods ``(from, to, days, base)``),
    ``rate`` (a ``Percent``) and ``basis`` let the caps work per day.
    A pack that cannot compute its cap (a missing rate table) raises ``EngineError`` for the case.
    """
    policy = engine.cp.policy
    contact = policy.contact
    if contact is None or not contact.compliance or amount <= 0:
        return amount, None
    if ledger is None:
        ledger = engine.target_ledger(case)
    if ledger is None:
        return amount, None
    today = engine.clock.date(t)
    allowed = amount
    for code in contact.compliance:
        pack = PACKS[code]
        if kind == "fee":
            if pack.fee_cap is None:
                continue
            most = pack.fee_cap(engine, case, ledger, amount, today)
        elif kind == "interest":
            if pack.interest_cap is None or rate is None:
                continue
            most = pack.interest_cap(engine, case, ledger, amount, today, periods, rate, basis)
        else:
            return amount, None
        if most is not None and most < allowed:
            allowed = most
    if allowed >= amount:
        return amount, None
    return floor_money(max(allowed, Decimal(0)), case.currency), amount
