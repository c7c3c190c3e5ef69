"""Colombia (``CO``): Ley 2300 de 2023 ("dejen de fregar"), contact with consumers in collection.

Sources:
- Ley 2300 de 2023, art. 3 (hours and frequency of collection contacts);
- Superintendencia Financiera / SIC guidance on its application;
- DOMAIN.md of this project, which these figures follow.

What the pack enforces:
- contact hours Monday to Friday 07:00-19:00 and Saturday 08:00-15:00 in the debtor's timezone,
  never on Sundays or Colombian public holidays (the policy's calendar when it is Colombian, else ``CO``);
- at most 1 contact per rolling day (``(t - 1 day, t]``, stricter than a calendar day), over every channel;
- at most 1 channel per rolling 7 days: once a customer was contacted through one channel, other
  channels wait until that channel's contacts are 7 days old. A remind sent through several channels
  keeps only the first one (``dropped_via`` lists the others).

What it does not cover: "only channels the customer authorised" (the policy must choose channels from
the customer's record, e.g. with ``when:`` guards), the prohibition of contacting references and
third parties, and the content of messages.
"""

from __future__ import annotations

from .base import LimitRule, Pack, WindowSpec
from ..values import Duration

__all__ = ["PACK"]

PACK = Pack(
    code="CO",
    title="Colombia, Ley 2300 de 2023",
    windows=WindowSpec.of("CO", {(0, 1, 2, 3, 4): "07:00-19:00", (5,): "08:00-15:00"}, no_holidays=True, calendar="CO"),
    limits=(
        LimitRule("CO", "count", max=1, per=Duration(1, "days"), text="at most 1 contact per day"),
        LimitRule("CO", "channels", max=1, per=Duration(7, "days"), text="at most 1 channel per 7 days"),
    ),
)
