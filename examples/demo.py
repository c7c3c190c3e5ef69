"""`make demo`: validate every shipped policy and print a readable summary of each.

Later stages run the shipped example portfolio through the engine too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dunning_engine import PolicyError, load_policy
from dunning_engine.policy.describe import summarize

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    paths = sorted(p for folder in ("policies", "examples") for p in (ROOT / folder).rglob("*")
                   if p.suffix in (".yaml", ".yml", ".dunning") and not p.name.endswith(".test.yaml"))
    failed = 0
    for path in paths:
        rel = path.relative_to(ROOT)
        try:
            policy = load_policy(path)
        except PolicyError as e:
            failed += 1
            print(e.render(), file=sys.stderr)
            continue
        print(f"== {rel}")
        print(summarize(policy))
        print()
    print(f"{len(paths) - failed} of {len(paths)} policies valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
