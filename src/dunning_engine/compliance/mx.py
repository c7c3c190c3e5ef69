"""Mexico (``MX``): CONDUSEF's rules for collection agencies (Disposiciones de carácter general
aplicables a los despachos de cobranza, 2014, and later amendments).

Sources:
- CONDUSEF, "Disposiciones de carácter general aplicables a las entidades financieras y sociedades que
  realicen cobranza" (DOF), on hours of contact;
- DOMAIN.md of this project, which these figures follow.

What the pack enforces: contact hours 07:00-22:00 every day, in the debtor's timezone
(``customer.timezone``; Mexico has several zones and no daylight saving since October 2022).

What it does not cover: the duty to put agreements in writing (the policy's ``offer_plan`` records are
the embedding application's to formalise), identification of the agent, the register of agencies
(REDECO), and the content of messages. There is no frequency limit in the pack: add one under
``limits:`` if your agency's code of conduct sets one.
"""

from __future__ import annotations

from .base import ALL_DAYS, Pack, WindowSpec

__all__ = ["PACK"]

PACK = Pack(
    code="MX",
    title="Mexico, CONDUSEF collection rules",
    windows=WindowSpec.of("MX", {ALL_DAYS: "07:00-22:00"}),
)
