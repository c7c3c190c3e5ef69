"""The ledger of one invoice: what was owed, charged, paid, credited and written off.

The identity that always holds (and that the tests check)::

    amount + fees + interest == paid + credits + discounts + written_off + cancelled + balance

``balance`` (``principal + fees_unpaid + interest_unpaid``) may go below zero:
an overpayment is a credit in the customer's favour, kept on the ledger rather
than lost. A credit is held as negative principal; it is never left standing
next to unpaid fees or interest: whatever brings principal below zero (a
credit note, a discount, an overpayment) first settles unpaid interest and
fees in allocation order, and a fee or interest charged while the customer
has a credit is paid from it (see ``_net``).

Interest accrues day by day on the base at the end of each local day (see
``accrual``): the ledger keeps the base after every change since the last
interest posting, so a partial payment between two postings is honoured.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal, getcontext
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ..records import Invoice

__all__ = ["Ledger", "BaseAt", "DEFAULT_ALLOCATION"]

ZERO = Decimal(0)
DEFAULT_ALLOCATION = ("interest", "fees", "principal")


_ZEROS: dict[tuple, Decimal] = {}


def _shared_zero(value: Decimal) -> Decimal:
    """``value``, or for a zero the one shared object of the same sign and digits (``0.00`` stays
    ``0.00``): a settled ledger then holds no zero of its own."""
    if value:
        return value
    key = value.as_tuple()
    return _ZEROS.setdefault(key, value)


def _exact_sum_with_zero(amount: Decimal) -> bool:
    """True when ``0 + amount`` is ``amount`` digit for digit (no exponent above 0, no rounding)."""
    sign, digits, exponent = amount.as_tuple()
    return isinstance(exponent, int) and exponent <= 0 and len(digits) <= getcontext().prec


class BaseAt(NamedTuple):
    """What interest accrues on after the changes of one local day (never below zero)."""

    day: _dt.date
    principal: Decimal
    balance: Decimal


class Ledger:
    __slots__ = (
        "invoice", "currency", "amount", "principal", "fees", "fees_unpaid", "interest", "interest_unpaid",
        "paid", "credits", "discounts", "written_off", "cancelled", "interest_from", "closed", "history",
    )

    def __init__(self, invoice: Invoice, currency: str, amount: Decimal, track: bool = True) -> None:
        self.invoice = invoice
        self.currency = currency
        self.amount = amount
        self.principal = amount        # unpaid principal (negative: a credit in the customer's favour)
        self.fees = ZERO               # charged so far, paid or not
        self.fees_unpaid = ZERO
        self.interest = ZERO           # charged so far, paid or not
        self.interest_unpaid = ZERO
        self.paid = ZERO               # payments so far
        self.credits = ZERO            # credit notes
        self.discounts = ZERO          # discounts applied
        self.written_off = ZERO
        self.cancelled = ZERO
        self.interest_from: _dt.date | None = None  # date of the last interest posting (None: due date)
        self.closed = False            # cancelled: no longer part of the case
        # the bases after the changes of each day since the last interest posting; None when nothing
        # reads them (track=False: a policy without interest actions)
        self.history: list[BaseAt] | None = [] if track else None

    @property
    def balance(self) -> Decimal:
        return self.principal + self.fees_unpaid + self.interest_unpaid

    # ------------------------------------------------------------------ changes
    def pay(self, amount: Decimal, allocation: tuple[str, ...] = DEFAULT_ALLOCATION,
            day: _dt.date | None = None) -> dict[str, Decimal]:
        """Allocate a payment in ``allocation`` order; what is left reduces principal (possibly below zero).

        Returns how the payment was split: ``{"interest": .., "fees": .., "principal": .., "credit": ..}``
        (``credit``: the overpayment kept in the customer's favour).
        """
        if self.paid is ZERO and amount > 0 and _exact_sum_with_zero(amount):
            self.paid = amount  # 0 + amount, without a new object: same value, same digits
        else:
            self.paid += amount
        rest = amount
        split = {"interest": ZERO, "fees": ZERO, "principal": ZERO, "credit": ZERO}
        for part in allocation:
            if rest <= 0:
                break
            # A zero take changes nothing (amounts never have positive exponents), so the shared
            # zeros stay shared: a paid ledger does not hold new zero objects.
            if part == "interest":
                take = min(rest, self.interest_unpaid)
                if take:
                    self.interest_unpaid -= take
            elif part == "fees":
                take = min(rest, self.fees_unpaid)
                if take:
                    self.fees_unpaid -= take
            else:
                take = min(rest, max(self.principal, ZERO))
                if take:
                    self.principal = _shared_zero(self.principal - take)
            split[part] += take
            rest -= take
        if rest > 0:
            self.principal -= rest  # overpayment: a credit on the case
            split["credit"] = rest
            self._net(allocation)
        self._note(day)
        return split

    def credit(self, amount: Decimal, allocation: tuple[str, ...] = DEFAULT_ALLOCATION,
               day: _dt.date | None = None) -> None:
        """A credit note reduces principal (beyond it: unpaid interest and fees, then a credit)."""
        self.credits += amount
        self.principal -= amount
        self._net(allocation)
        self._note(day)

    def discount(self, amount: Decimal, allocation: tuple[str, ...] = DEFAULT_ALLOCATION,
                 day: _dt.date | None = None) -> None:
        """An applied discount reduces principal, like a credit note."""
        self.discounts += amount
        self.principal -= amount
        self._net(allocation)
        self._note(day)

    def charge_fee(self, amount: Decimal, allocation: tuple[str, ...] = DEFAULT_ALLOCATION,
                   day: _dt.date | None = None) -> None:
        self.fees += amount
        self.fees_unpaid += amount
        self._net(allocation)
        self._note(day)

    def charge_interest(self, amount: Decimal, allocation: tuple[str, ...] = DEFAULT_ALLOCATION,
                        day: _dt.date | None = None) -> None:
        self.interest += amount
        self.interest_unpaid += amount
        self._net(allocation)
        self._note(day)

    def owed(self) -> dict[str, Decimal]:
        """What is still owed, by part (principal may be negative: a credit)."""
        return {"principal": self.principal, "fees": self.fees_unpaid, "interest": self.interest_unpaid}

    def write_off(self, day: _dt.date | None = None) -> Decimal:
        """Set the balance to zero; return the amount written off (0 when nothing is owed)."""
        amount = self.balance
        if amount <= 0:
            return ZERO
        self.written_off += amount
        self.principal = ZERO
        self.fees_unpaid = ZERO
        self.interest_unpaid = ZERO
        self._note(day)
        return amount

    def cancel(self, day: _dt.date | None = None) -> Decimal:
        """Cancel the invoice: what is still owed is removed and recorded as cancelled."""
        amount = max(self.balance, ZERO)
        if amount:
            self.cancelled += amount
            self.principal = ZERO
            self.fees_unpaid = ZERO
            self.interest_unpaid = ZERO
            self._note(day)
        return amount

    def _net(self, allocation: tuple[str, ...]) -> None:
        """Apply a credit (negative principal) to unpaid interest and fees, in allocation order.

        The balance does not change; only its split does, so a customer never shows
        a credit and an unpaid fee at the same time.
        """
        if self.principal >= 0 or (self.fees_unpaid <= 0 and self.interest_unpaid <= 0):
            return
        for part in allocation:
            credit = -self.principal
            if credit <= 0:
                break
            if part == "interest":
                take = min(credit, self.interest_unpaid)
                self.interest_unpaid -= take
            elif part == "fees":
                take = min(credit, self.fees_unpaid)
                self.fees_unpaid -= take
            else:
                continue
            self.principal += take

    # ------------------------------------------------------------------ interest
    def _note(self, day: _dt.date | None) -> None:
        """Remember the base after a change on ``day`` (the last change of a day wins)."""
        if day is None or self.history is None:
            return
        entry = BaseAt(day, max(self.principal, ZERO), max(self.balance, ZERO))
        hist = self.history
        if hist and hist[-1].day >= day:  # the engine applies changes in time order: same day
            hist[-1] = entry
        else:
            hist.append(entry)

    def accrual(self, on: str, to: _dt.date) -> list[tuple[_dt.date, _dt.date, int, Decimal]]:
        """Periods since the last posting (first: since due) up to ``to``, each with a constant base.

        Each period is ``(from, to, days, base)``; a day is charged on the base at the end
        of that local day, so a payment made on a day stops interest on what it paid from
        that day on. ``on`` is ``principal`` or ``balance``. Bases below zero count as zero.
        """
        start = self.interest_from or self.invoice.due
        if to <= start:
            return []
        assert self.history is not None, "a ledger of a policy that charges interest keeps its history"
        principal = on == "principal"
        base = self.amount  # before any change, principal and balance are the invoice amount
        periods: list[tuple[_dt.date, _dt.date, int, Decimal]] = []
        frm = start
        for entry in self.history:
            day, value = entry.day, entry.principal if principal else entry.balance
            if day <= start:
                base = value
                continue
            if day >= to:
                break
            if value != base:
                periods.append((frm, day, (day - frm).days, base))
                frm, base = day, value
        periods.append((frm, to, (to - frm).days, base))
        return periods

    def backdate(self, day: _dt.date, applied: _dt.date, principal_before: Decimal, balance_before: Decimal) -> None:
        """A change applied on ``applied`` that took effect on ``day`` (a late payment, SPEC §8): the
        bases interest accrues on from ``day`` (never before the last posting) up to ``applied`` move by
        what it changed. ``principal_before`` and ``balance_before``: the ledger before the change."""
        hist = self.history
        if hist is None:
            return
        day = max(day, self.interest_from or self.invoice.due)
        if day >= applied:
            return
        dp, db = principal_before - self.principal, balance_before - self.balance
        if not dp and not db:
            return
        out = [e if e.day < day or e.day >= applied
               else BaseAt(e.day, max(e.principal - dp, ZERO), max(e.balance - db, ZERO)) for e in hist]
        if all(e.day != day for e in hist):  # the base from that day on, moved: a new entry
            base = max((e for e in hist if e.day < day), key=lambda e: e.day, default=None)
            out.append(self._moved(base, day, dp, db))
            out.sort(key=lambda e: e.day)
        self.history = out

    def _moved(self, base: BaseAt | None, day: _dt.date, dp: Decimal, db: Decimal) -> BaseAt:
        principal = base.principal if base is not None else max(self.amount, ZERO)
        balance = base.balance if base is not None else max(self.amount, ZERO)
        return BaseAt(day, max(principal - dp, ZERO), max(balance - db, ZERO))

    def posted(self, day: _dt.date) -> None:
        """Interest was posted up to ``day``: the next accrual starts there."""
        self.interest_from = day
        self.history = [BaseAt(day, max(self.principal, ZERO), max(self.balance, ZERO))]

    # ------------------------------------------------------------------ undo
    def snapshot(self) -> tuple[Any, ...]:
        """Everything a change can touch, for ``restore`` (the engine undoes the postings of a case
        that fails at an instant: see ``Engine._fail``)."""
        return tuple(getattr(self, name) for name in _STATE) + (None if self.history is None else list(self.history),)

    def restore(self, saved: tuple[Any, ...]) -> None:
        for name, value in zip(_STATE, saved):
            setattr(self, name, value)
        self.history = saved[-1]

    # ------------------------------------------------------------------ checks
    def balanced(self) -> bool:
        """The ledger identity (see the module docstring)."""
        return (self.amount + self.fees + self.interest
                == self.paid + self.credits + self.discounts + self.written_off + self.cancelled + self.balance)


# What ``snapshot`` keeps besides the history (the invoice, currency and amount never change).
_STATE = tuple(name for name in Ledger.__slots__ if name not in ("invoice", "currency", "amount", "history"))
