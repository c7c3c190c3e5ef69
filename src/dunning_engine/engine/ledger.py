"""The ledger of one invoice: what was owed, charged, paid, credited and written off.

The identity that always holds (and that the tests check)::

    amount + fees + interest == paid + credits + discounts + written_off + cancelled + balance

``balance`` may go below zero: an overpayment is a credit in the customer's
favour, kept on the ledger rather than lost.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["Ledger"]

ZERO = Decimal(0)


class Ledger:
    __slots__ = (
        "invoice", "currency", "amount", "principal", "fees", "fees_unpaid", "interest", "interest_unpaid",
        "paid", "credits", "discounts", "written_off", "cancelled", "interest_from", "closed",
    )

    def __init__(self, invoice, currency: str, amount: Decimal) -> None:
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
        self.interest_from = None      # date of the last interest posting (None: due date)
        self.closed = False            # cancelled: no longer part of the case

    @property
    def balance(self) -> Decimal:
        return self.principal + self.fees_unpaid + self.interest_unpaid

    def pay(self, amount: Decimal, allocation: tuple[str, ...]) -> None:
        """Allocate a payment in ``allocation`` order; what is left reduces principal (possibly below zero)."""
        self.paid += amount
        rest = amount
        for part in allocation:
            if rest <= 0:
                break
            if part == "interest":
                take = min(rest, self.interest_unpaid)
                self.interest_unpaid -= take
            elif part == "fees":
                take = min(rest, self.fees_unpaid)
                self.fees_unpaid -= take
            else:
                take = min(rest, max(self.principal, ZERO))
                self.principal -= take
            rest -= take
        if rest > 0:
            self.principal -= rest  # overpayment: a credit on the case

    def credit(self, amount: Decimal) -> None:
        """A credit note reduces principal."""
        self.credits += amount
        self.principal -= amount

    def discount(self, amount: Decimal) -> None:
        self.discounts += amount
        self.principal -= amount

    def charge_fee(self, amount: Decimal) -> None:
        self.fees += amount
        self.fees_unpaid += amount

    def charge_interest(self, amount: Decimal) -> None:
        self.interest += amount
        self.interest_unpaid += amount

    def write_off(self) -> Decimal:
        """Set the balance to zero; return the amount written off (0 when nothing is owed)."""
        amount = self.balance
        if amount <= 0:
            return ZERO
        self.written_off += amount
        self.principal = ZERO
        self.fees_unpaid = ZERO
        self.interest_unpaid = ZERO
        return amount

    def cancel(self) -> Decimal:
        """Cancel the invoice: what is still owed is removed and recorded as cancelled."""
        amount = max(self.balance, ZERO)
        if amount:
            self.cancelled += amount
            self.principal = ZERO
            self.fees_unpaid = ZERO
            self.interest_unpaid = ZERO
        return amount

    def balanced(self) -> bool:
        """The ledger identity (see the module docstring)."""
        return (self.amount + self.fees + self.interest
                == self.paid + self.credits + self.discounts + self.written_off + self.cancelled + self.balance)
