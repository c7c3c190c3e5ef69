"""United States (``US``): Fair Debt Collection Practices Act and Regulation F (12 CFR 1006).

Sources:
- FDCPA, 15 U.S.C. 1692c(a)(1): no communication at a time known to be inconvenient; before 8 a.m. and
  after 9 p.m. local time at the consumer's location are presumed inconvenient;
- Regulation F, 12 CFR 1006.14(b)(2): a collector is presumed to harass when it places telephone calls
  more than 7 times within 7 consecutive days, or within 7 consecutive days after a telephone
  conversation, about a particular debt;
- DOMAIN.md of this project, which these figures follow.

What the pack enforces:
- contact hours 08:00-21:00 every day in the debtor's timezone (``customer.timezone``; set it: the
  policy's timezone is used otherwise, and the US spans six zones);
- calls (``remind via: call``, ``task: {kind: call}``) per debt (per case): at most 7 in any rolling
  7 days, and none for 7 days after a conversation: a ``contact_outcome`` event with outcome
  ``conversation`` or ``answered`` (whatever its channel) on the invoice, or on the customer (then it
  counts for every debt of the customer). The 7 days start at the event's instant.

What it does not cover: the validation notice (1006.34), the limits on electronic communications
(opt-out, 1006.6(e)), time-barred debts, state laws (many are stricter, e.g. Massachusetts' two calls
per week), and the content of messages. Visits are not calls under Regulation F and are not limited.
"""

from __future__ import annotations

from .base import ALL_DAYS, LimitRule, Pack, WindowSpec
from ..values import Duration

__all__ = ["PACK", "CONVERSATION_OUTCOMES"]

CONVERSATION_OUTCOMES = frozenset({"conversation", "answered"})
CALLS = frozenset({"call"})
WEEK = Duration(7, "days")

PACK = Pack(
    code="US",
    title="United States, FDCPA and Regulation F",
    windows=WindowSpec.of("US", {ALL_DAYS: "08:00-21:00"}),
    limits=(
        LimitRule("US", "count", max=7, per=WEEK, via=CALLS, scope="case", text="calls per debt: at most 7 in 7 days"),
        LimitRule("US", "quiet", per=WEEK, via=CALLS, scope="case", outcomes=CONVERSATION_OUTCOMES,
                  text="no call for 7 days after a conversation about the debt"),
    ),
)
