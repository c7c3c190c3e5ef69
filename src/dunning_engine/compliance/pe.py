"""Peru (``PE``): Código de Protección y Defensa del Consumidor (Ley 29571), art. 62.

Sources:
- Ley 29571, art. 62 (prohibited collection methods), as amended, and INDECOPI's guidance;
- DOMAIN.md of this project, which these figures follow.

What the pack enforces: contact hours Monday to Friday 07:00-20:00 in the debtor's timezone, never on
weekends or Peruvian public holidays (the policy's calendar when it is Peruvian, else ``PE``).

What it does not cover: the other methods art. 62 prohibits (contacting third parties, visits or
messages that expose the debt, misleading legal threats), and any frequency limit (the article sets
none; add one under ``limits:`` if you need it).
"""

from __future__ import annotations

from .base import Pack, WindowSpec

__all__ = ["PACK"]

PACK = Pack(
    code="PE",
    title="Peru, Consumer Code art. 62",
    windows=WindowSpec.of("PE", {(0, 1, 2, 3, 4): "07:00-20:00"}, no_holidays=True, calendar="PE"),
)
