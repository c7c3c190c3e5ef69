"""Chile (``CL``): consumer debt collection, Ley 19.496 art. 37 as amended by Ley 21.320 (2021).

Sources:
- Ley 19.496 (Ley del Consumidor), art. 37, text in force after Ley 21.320 (bcn.cl/2f7a1);
- SERNAC, "Cobranza extrajudicial" guidance (sernac.cl), for the tiers of the collection charge;
- DOMAIN.md of this project (the table of compliance rules), which these figures follow.

What the pack enforces:
- contact hours Monday to Saturday 08:00-20:00 in the debtor's timezone, never on Sundays or on the
  Chilean public holidays (the policy's calendar when it is Chilean, e.g. ``CL-RM``, else ``CL``);
- calls and visits (``remind via: call``, ``task`` of kind call or visit): at most 1 per 7 days;
- written channels (email, sms, whatsapp, letter, portal) together: at most 2 per 7 days and at least
  2 days apart (windows are rolling: ``(t - 7 days, t]``, stricter than calendar weeks);
- the extrajudicial collection charge (every ``fee`` of the policy counts as one): none before 20 days
  of delay (``days_overdue >= 20``), once per debt (a second fee on the same invoice is capped to
  zero), and at most 9% of the first 10 UF of the overdue amount, 6% of the part from 10 to 50 UF and
  3% of the part above 50 UF. The overdue amount is the invoice's unpaid principal; UF comes from the
  policy's ``UF`` rate table (CLP per UF) on the day of the fee. Amounts are rounded down to the peso.
- interest: when the policy has a ``TMC`` rate table (the maximum conventional rate, an annual percent),
  interest postings are capped at the TMC in force on each day.

What it does not cover: the content of messages (no contact with third parties, no threats, no
publication of the debt), the right to ask for contact through one channel only, the TMC's split by
amount and term (the table given is used as is), judicial collection costs, and the limits of
commercial (B2B) debts, which art. 37 does not govern.
"""

from __future__ import annotations

from decimal import Decimal

from ..errors import EngineError
from .base import VOICE, WRITTEN, LimitRule, Pack, WindowSpec
from .caps import interest_at_most, rate_on
from ..values import Duration

__all__ = ["PACK", "collection_charge_cap_uf", "TIERS"]

# (upper bound in UF or None, rate) of the progressive collection charge.
TIERS = ((Decimal(10), Decimal("0.09")), (Decimal(50), Decimal("0.06")), (None, Decimal("0.03")))
FEE_FROM_DAYS = 20


def collection_charge_cap_uf(overdue_uf: Decimal) -> Decimal:
    """The most that may be charged, in UF, for an overdue amount in UF (9% / 6% / 3% by tier)."""
    return collection_charge_cap(overdue_uf, Decimal(1))


def collection_charge_cap(overdue: Decimal, uf: Decimal) -> Decimal:
    """The same cap for an amount in any unit worth ``uf`` per UF (CLP: the UF value of the day).

    The tier bounds are converted (10 UF = 10 × uf) rather than the amount divided by ``uf``: a
    division would round, and an exact cap such as 9,180 CLP would come out as 9,179.99… and lose a
    peso when the cap is rounded down.
    """
    cap = Decimal(0)
    low = Decimal(0)
    for high, pct in TIERS:
        if overdue <= low:
            break
        top = None if high is None else high * uf
        part = overdue - low if top is None else min(overdue, top) - low
        cap += part * pct
        if top is None:
            break
        low = top
    return cap


def fee_cap(engine, case, ledger, amount: Decimal, today) -> Decimal:
    if (today - ledger.invoice.due).days < FEE_FROM_DAYS:
        return Decimal(0)
    if ledger.fees > 0:
        return Decimal(0)  # once per debt
    overdue = max(ledger.principal, Decimal(0))
    cur = case.currency
    if cur == "CLF":
        return collection_charge_cap_uf(overdue)
    if cur != "CLP":
        raise EngineError(f"compliance CL caps collection charges in UF, but the case is in {cur}", case=case.id,
                          help="run Chilean consumer debts in CLP (or CLF) with a UF rate table",
                          code="compliance-currency")
    uf = rate_on(engine, case, "UF", today, "CL", "collection charges")
    if uf <= 0:
        raise EngineError(f"rate(\"UF\") is {uf} on {today.isoformat()}: not a UF value in CLP", case=case.id,
                          code="invalid-rate")
    return collection_charge_cap(overdue, uf)


def interest_cap(engine, case, ledger, amount, today, periods, rate, basis):
    if not engine.has_rate("TMC"):
        return None  # no TMC table: interest is not capped (dunning validate warns)

    def tmc(day):
        return rate_on(engine, case, "TMC", day, "CL", "interest")

    return interest_at_most(engine, rate, basis, periods, amount, today, "TMC", tmc)


WEEK = Duration(7, "days")

PACK = Pack(
    code="CL",
    title="Chile, Ley 19.496 art. 37 (Ley 21.320)",
    windows=WindowSpec.of("CL", {(0, 1, 2, 3, 4, 5): "08:00-20:00"}, no_holidays=True, calendar="CL"),
    limits=(
        LimitRule("CL", "count", max=1, per=WEEK, via=VOICE, text="calls and visits: at most 1 per 7 days"),
        LimitRule("CL", "count", max=2, per=WEEK, via=WRITTEN,
                  text="written contacts (email, sms, whatsapp, letter, portal): at most 2 per 7 days"),
        LimitRule("CL", "gap", gap=Duration(2, "days"), via=WRITTEN, text="written contacts: at least 2 days apart"),
    ),
    fee_cap=fee_cap,
    interest_cap=interest_cap,
    rates=(("UF", "the UF value in CLP, to cap collection charges", "fee"),
           ("TMC", "the maximum conventional rate, to cap interest (optional)", "interest")),
    fee_from_days_overdue=FEE_FROM_DAYS,
    fee_once=True,
)
