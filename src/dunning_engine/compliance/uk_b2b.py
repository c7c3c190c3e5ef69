"""United Kingdom, business to business (``UK-B2B``): Late Payment of Commercial Debts (Interest) Act 1998.

Sources:
- Late Payment of Commercial Debts (Interest) Act 1998, s. 5A (fixed sums: GBP 40 for a debt under
  GBP 1,000, GBP 70 under GBP 10,000, GBP 100 from GBP 10,000);
- Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002: 8 points over the Bank of
  England base rate in force on 31 December (for January-June) or 30 June (for July-December);
- DOMAIN.md of this project, which these figures follow.

What the pack does: the policy's late-payment charges are read as the statutory remedy, so
- ``interest`` postings are capped at the reference rate + 8 points, per day, where the reference
  rate of a day is the value of the policy's ``BOE`` rate table (an annual percent) in force on
  31 December or 30 June before its half-year;
- ``fee`` actions on one invoice are capped in total at the fixed sum for the invoice's unpaid
  principal when the fee is charged (GBP 40 / 70 / 100); cases in another currency are an error for
  the case.

It adds nothing by itself (write the interest and the fixed sum in the policy).

What it does not cover: contractual terms that displace the Act (a "substantial remedy"), reasonable
recovery costs above the fixed sum, Scotland-specific procedure, and consumer debts (the Act is B2B).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from ..errors import EngineError
from .base import Pack
from .caps import interest_at_most, rate_on

__all__ = ["PACK", "fixed_sum", "reference_day", "MARGIN"]

MARGIN = Decimal(8)


def fixed_sum(debt: Decimal) -> Decimal:
    """GBP 40 for a debt under 1,000, 70 under 10,000, 100 from 10,000."""
    if debt < 1000:
        return Decimal(40)
    if debt < 10000:
        return Decimal(70)
    return Decimal(100)


def reference_day(day: _dt.date) -> _dt.date:
    """31 December (for January-June) or 30 June (for July-December) before the half-year of ``day``."""
    return _dt.date(day.year - 1, 12, 31) if day.month <= 6 else _dt.date(day.year, 6, 30)


def fee_cap(engine, case, ledger, amount: Decimal, today) -> Decimal:
    if case.currency != "GBP":
        raise EngineError(f"compliance UK-B2B caps fees in GBP, but the case is in {case.currency}", case=case.id,
                          help="run sterling invoices under UK-B2B, or cap fees in the policy with 'max:'",
                          code="compliance-currency")
    return max(fixed_sum(max(ledger.principal, Decimal(0))) - ledger.fees, Decimal(0))


def interest_cap(engine, case, ledger, amount, today, periods, rate, basis):
    def statutory(day):
        return rate_on(engine, case, "BOE", reference_day(day), "UK-B2B", "interest") + MARGIN

    return interest_at_most(engine, rate, basis, periods, amount, today, "BOE", statutory)


PACK = Pack(
    code="UK-B2B",
    title="UK, Late Payment of Commercial Debts (Interest) Act 1998",
    fee_cap=fee_cap,
    interest_cap=interest_cap,
    rates=(("BOE", "the Bank of England base rate (percent), for statutory interest", "interest"),),
)
