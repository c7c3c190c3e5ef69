"""Hypothesis strategies for property tests of policies.

Every strategy draws plain dicts shaped like the records of SPEC §4 (what
:func:`dunning_engine.simulate` and the readers accept), so a failing
example reads like a scenario and shrinks toward a small one: few invoices,
amounts of one unit, events on the issue date at 00:00.

::

    from hypothesis import given
    from dunning_engine import load_policy, simulate
    from dunning_engine.testing import portfolios

    POLICY = load_policy("policies/b2b_friendly_cl.yaml")

    @given(portfolios(POLICY))
    def test_never_escalates_a_paid_invoice(p):
        r = simulate(POLICY, **p.kwargs())
        ...

``invoices()``, ``customers()`` and ``events(invoices)`` are the parts;
``portfolios()`` puts them together (and, given a policy, uses its currency
and the customer segments its expressions compare with).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any, Sequence

from hypothesis import strategies as st

from ..vocabulary import CHANNELS, CONTACT_OUTCOMES
from .records import Portfolio

__all__ = ["invoices", "customers", "events", "portfolios", "EVENT_TYPES", "DEFAULT_START", "Portfolio"]

DEFAULT_START = _dt.date(2026, 1, 1)

# The vocabulary's input events, in the order Hypothesis shrinks toward (payments first): a reordering
# of vocabulary.EVENT_TYPES (tests/test_vocabulary.py checks that it lists each of them).
EVENT_TYPES = ("payment", "credit_note", "promise_to_pay", "dispute_opened", "dispute_resolved", "payment_failed",
               "plan_accepted", "hold", "release", "invoice_cancelled", "contact_outcome", "customer_updated")
"""Input event types drawn by default (``invoice_issued`` is left out: invoices come from ``invoices()``)."""

_CHANNELS = CHANNELS
_OUTCOMES = CONTACT_OUTCOMES
_FRACTIONS = (100, 50, 25, 150)  # payment / credit note as a percent of the invoice amount; shrinks to 100


def _digits(currency: str | None, digits: int | None) -> int:
    if digits is not None:
        return digits
    if currency is None:
        return 0
    from ..values import minor_units

    return minor_units(currency)


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f") if amount == amount.to_integral_value() else format(amount, "f")


# Strategies are built once, when the public functions are called, and never inside a draw:
# every draw is plain data (tuples of small integers) turned into records by pure functions,
# which keeps drawing fast and lets Hypothesis shrink lists element by element.


def _amount_strategy(digits: int, max_units: int):
    if digits == 0:
        step = 1000 if max_units >= 10_000 else 1
        return st.integers(1, max(1, max_units // step)).map(lambda n: str(n * step))
    return st.tuples(st.integers(1, max_units), st.sampled_from((0, 99, 50))).map(
        lambda uc: str(uc[0]) if uc[1] == 0 or digits < 2 else f"{uc[0]}.{uc[1]:02d}")


def _invoice_spec(customers: Sequence[str], digits: int, max_units: int, issue_days: int, max_terms: int):
    """(customer, issue offset, terms, amount text) of one invoice."""
    return st.tuples(st.sampled_from(list(customers)), st.integers(0, issue_days), st.integers(0, max_terms),
                     _amount_strategy(digits, max_units))


def _make_invoice(i: int, spec, start: _dt.date, currency: str | None, id_prefix: str) -> dict:
    customer, offset, terms, amount = spec
    issued = start + _dt.timedelta(days=offset)
    inv = {"id": f"{id_prefix}{i + 1}", "customer": customer, "amount": amount, "issued": issued.isoformat(),
           "due": (issued + _dt.timedelta(days=terms)).isoformat()}
    if currency is not None:
        inv["currency"] = currency
    return inv


def invoices(*, customers: Sequence[str] = ("C1", "C2"), currency: str | None = None, min_size: int = 1,
             max_size: int = 4, start: _dt.date = DEFAULT_START, issue_days: int = 60, max_terms: int = 60,
             max_amount: int | None = None, id_prefix: str = "I", digits: int | None = None):
    """Lists of invoice dicts with ids ``I1``, ``I2``... (unique).

    ``issued`` falls within ``issue_days`` of ``start``, ``due`` within
    ``max_terms`` days after ``issued``. Amounts are whole multiples of 1000
    for currencies without minor units (CLP) and up to ``max_amount`` units
    with cents otherwise; ``currency`` (when given) is written on every
    invoice. ``customers`` are the customer ids to draw from.
    """
    d = _digits(currency, digits)
    top = max_amount if max_amount is not None else (300_000 if d == 0 else 3_000)
    spec = _invoice_spec(customers, d, top, issue_days, max_terms)
    return st.lists(spec, min_size=min_size, max_size=max_size).map(
        lambda specs: [_make_invoice(i, x, start, currency, id_prefix) for i, x in enumerate(specs)])


def customers(ids: Sequence[str] = ("C1", "C2"), *, segments: Sequence[str] = ("smb", "vip")):
    """Lists of customer dicts, one per id, each with a ``segment`` drawn from ``segments`` or none.

    Customers with nothing but an id are left out (the engine knows them from
    their invoices), so a shrunk example lists only what matters.
    """
    ids = list(ids)
    seg = st.one_of(st.none(), st.sampled_from(list(segments))) if segments else st.none()
    return st.tuples(*[seg for _ in ids]).map(
        lambda segs: [{"id": cid, "segment": s} for cid, s in zip(ids, segs) if s is not None])


def _at(day: _dt.date, hour: int) -> str:
    return day.isoformat() if hour == 0 else f"{day.isoformat()}T{hour:02d}:00"


def _part(inv: dict, percent: int) -> str:
    amount = Decimal(inv["amount"])
    exponent = amount.as_tuple().exponent  # an int: the amounts drawn are finite
    exp = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    value = (amount * percent / 100).quantize(Decimal(1).scaleb(-exp))
    if value <= 0:
        value = Decimal(1).scaleb(-exp)
    return _text(value)


def _event_spec(types: Sequence[str], days: int, segments: Sequence[str]):
    """(type, day offset, hour, detail) of one event; ``detail`` picks the amount, promise date,
    channel, outcome or segment, whichever the type needs (0 is the simplest: a payment in full,
    a promise for the same day...)."""
    return st.tuples(st.sampled_from(list(types)), st.integers(0, days), st.integers(0, 23), st.integers(0, 30))


def _make_event(inv: dict, spec, segments: Sequence[str] = ("smb",)) -> dict:
    typ, offset, hour, detail = spec
    day = _dt.date.fromisoformat(inv["issued"]) + _dt.timedelta(days=offset)
    ev: dict[str, Any] = {"at": _at(day, hour), "type": typ, "invoice": inv["id"]}
    if typ in ("payment", "credit_note"):
        ev["amount"] = _part(inv, _FRACTIONS[detail % len(_FRACTIONS)])
    elif typ == "promise_to_pay":
        ev["date"] = (day + _dt.timedelta(days=detail)).isoformat()
    elif typ == "payment_failed":
        ev["reason"] = "card_declined"
    elif typ == "contact_outcome":
        ev["channel"] = _CHANNELS[detail % len(_CHANNELS)]
        ev["outcome"] = _OUTCOMES[(detail // len(_CHANNELS)) % len(_OUTCOMES)]
    elif typ == "customer_updated":
        del ev["invoice"]
        ev["customer"] = inv["customer"]
        segs = list(segments) or ["smb"]
        ev["fields"] = {"segment": segs[detail % len(segs)]}
    return ev


def _sorted(events: list[dict]) -> list[dict]:
    return sorted(events, key=lambda e: _sort_key(e["at"]))


def events(invoices: Sequence[dict], *, types: Sequence[str] = EVENT_TYPES, min_size: int = 0, max_size: int = 8,
           days: int = 120, segments: Sequence[str] = ("smb", "vip")):
    """Event streams (lists of event dicts, in time order) for the given invoice dicts.

    Each event concerns one of ``invoices`` and falls within ``days`` after
    its issue date, at 00:00 or a whole hour local time. Payments and credit
    notes are 100%, 50%, 25% or 150% of the invoice amount; promises are for
    0-30 days ahead; ``customer_updated`` changes the customer's segment.
    To draw invoices and events together use ``portfolios()``, or
    ``invoices().flatmap(lambda invs: events(invs))``.
    """
    invoices = list(invoices)
    if not invoices or not types:
        return st.just([])
    pair = st.tuples(st.integers(0, len(invoices) - 1), _event_spec(types, days, segments))
    return st.lists(pair, min_size=min_size, max_size=max_size).map(
        lambda specs: _sorted([_make_event(invoices[i], e, segments) for i, e in specs]))


def _sort_key(at: str) -> str:
    return at if "T" in at else at + "T00:00"


def policy_literals(policy) -> list[str]:
    """The text literals a policy's expressions use (segment values such as "vip"), sorted."""
    from ..expr import ast as A

    exprs = [e for _, e in policy.segments] + [e for _, e in getattr(policy, "invariants", ())]
    for s in policy.states:
        for r in s.rules:
            exprs += [r.when, r.unless]
    for r in policy.any_state:
        exprs += [r.when, r.unless]
    found = set()
    for e in exprs:
        if e is None:
            continue
        for node in A.walk(e.node):
            if isinstance(node, A.Text) and node.value and len(node.value) <= 40:
                found.add(node.value)
    return sorted(found)


def portfolios(policy=None, *, max_invoices: int = 3, max_events: int = 6, customer_ids: Sequence[str] = ("C1", "C2"),
               start: _dt.date = DEFAULT_START, days: int = 400, event_types: Sequence[str] | None = None,
               segments: Sequence[str] | None = None, currency: str | None = None):
    """Whole portfolios (:class:`Portfolio`): invoices, the customers that have attributes, events, ``until``.

    Given a policy (an ``ir.Policy``), amounts use the policy's currency and
    segments include the text values its expressions compare with (so
    ``customer.segment == "vip"`` meets a "vip" customer). ``until`` is
    ``start + days``. Each invoice carries its own events, so shrinking an
    invoice away takes its events with it.
    """
    if segments is None:
        segments = ["smb"] + ([x for x in policy_literals(policy) if x != "smb"] if policy is not None else ["vip"])
    digits = _digits(currency if currency is not None else (policy.currency if policy is not None else None), None)
    types = tuple(event_types) if event_types is not None else EVENT_TYPES
    until = (start + _dt.timedelta(days=days)).isoformat()
    top = 300_000 if digits == 0 else 3_000
    per_invoice = st.tuples(_invoice_spec(customer_ids, digits, top, 60, 60),
                            st.lists(_event_spec(types, 120, segments), max_size=max_events))
    segs = st.one_of(st.none(), st.sampled_from(list(segments)))
    shape = st.tuples(st.lists(per_invoice, min_size=1, max_size=max_invoices),
                      st.tuples(*[segs for _ in customer_ids]))

    def build(drawn) -> Portfolio:
        specs, customer_segments = drawn
        invs: list[dict] = []
        evs: list[dict] = []
        for i, (spec, event_specs) in enumerate(specs):
            inv = _make_invoice(i, spec, start, currency, "I")
            invs.append(inv)
            evs.extend(_make_event(inv, e, segments) for e in event_specs)
        used = {i["customer"] for i in invs}
        custs = [{"id": cid, "segment": seg} for cid, seg in zip(customer_ids, customer_segments)
                 if seg is not None and cid in used]
        return Portfolio(invoices=invs, customers=custs, events=_sorted(evs)[:max_events], until=until)

    return shape.map(build)
