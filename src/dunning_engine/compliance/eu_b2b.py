"""European Union, business to business (``EU-B2B``): Late Payment Directive 2011/7/EU.

Sources:
- Directive 2011/7/EU, art. 2(5)-(7) (statutory interest = reference rate + at least 8 points; the
  reference rate of each half-year is the ECB main refinancing rate in force on 1 January or 1 July),
  art. 6 (a fixed sum of at least EUR 40 as compensation for recovery costs);
- DOMAIN.md of this project, which these figures follow.

What the pack does: the policy's late-payment charges are read as the statutory remedy, so
- ``interest`` postings are capped at the reference rate + 8 points, per day, where the reference
  rate of a day is the value of the policy's ``ECB`` rate table (an annual percent: ``4.5`` is 4.5%)
  in force on 1 January or 1 July of its half-year;
- ``fee`` actions on one invoice are capped at EUR 40 in total (cases in another currency are an error
  for the case: the Directive's sum is in euros).

It adds nothing: it does not post the statutory interest or the EUR 40 by itself (write them in the
policy, e.g. ``interest: {annual_rate: 12%}`` and ``fee: {amount: 40 EUR}``; see docs/compliance.md).

What it does not cover: contractual interest agreed in writing above the statutory rate, reasonable
recovery costs above EUR 40 (art. 6(3)), national transpositions that raise the margin (e.g. 9 points
in Germany), non-euro member states (national-currency equivalents), and public authorities' terms.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from ..errors import EngineError
from .base import Pack
from .caps import half_year_start, interest_at_most, rate_on

__all__ = ["PACK", "FIXED_SUM", "reference_day", "MARGIN"]

FIXED_SUM = Decimal(40)
MARGIN = Decimal(8)


def reference_day(day: _dt.date) -> _dt.date:
    """1 January or 1 July of the half-year of ``day``."""
    return half_year_start(day)


def fee_cap(engine, case, ledger, amount: Decimal, today) -> Decimal:
    if case.currency != "EUR":
        raise EngineError(f"compliance EU-B2B caps fees at 40 EUR, but the case is in {case.currency}", case=case.id,
                          help="run euro invoices under EU-B2B, or cap fees in the policy with 'max:'",
                          code="compliance-currency")
    return max(FIXED_SUM - ledger.fees, Decimal(0))


def interest_cap(engine, case, ledger, amount, today, periods, rate, basis):
    def statutory(day):
        return rate_on(engine, case, "ECB", reference_day(day), "EU-B2B", "interest") + MARGIN

    return interest_at_most(engine, rate, basis, periods, amount, today, "ECB", statutory)


PACK = Pack(
    code="EU-B2B",
    title="EU, Late Payment Directive 2011/7/EU (B2B)",
    fee_cap=fee_cap,
    interest_cap=interest_cap,
    rates=(("ECB", "the ECB main refinancing rate (percent), for statutory interest", "interest"),),
)
