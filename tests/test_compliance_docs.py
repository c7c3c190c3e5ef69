"""docs/compliance.md: every policy there runs its scenario, and every pack has its section (issue 6)."""

import re

import pytest
import yaml

from conftest import ROOT

from dunning_engine import load_policy_text
from dunning_engine.compliance import PACKS
from dunning_engine.run import simulate

DOC = ROOT / "docs" / "compliance.md"
FENCE = re.compile(r"```(\w[\w-]*)\n(.*?)```", re.S)


def examples():
    text = DOC.read_text()
    last = None
    for m in FENCE.finditer(text):
        line = text[: m.start()].count("\n") + 2
        if m.group(1) == "yaml":
            last = (line, m.group(2))
        elif m.group(1) == "scenario":
            assert last is not None, f"compliance.md:{line}: a scenario needs a yaml policy before it"
            yield last[0], last[1], line, m.group(2)


EXAMPLES = list(examples())


def matches(action: dict, want: dict) -> bool:
    for k, v in want.items():
        got = action[k] if k in action else action["params"].get(k)
        if isinstance(v, list):
            if list(got or []) != v:
                return False
        elif str(got) != str(v):
            return False
    return True


@pytest.mark.parametrize("pline, policy_text, sline, scenario", EXAMPLES, ids=[f"compliance.md:{e[2]}" for e in EXAMPLES])
def test_every_contact_example_runs_as_documented(pline, policy_text, sline, scenario):
    p = load_policy_text(policy_text, format="yaml", name=f"compliance.md:{pline}")
    s = yaml.safe_load(scenario)
    invoices = [{k: str(v) for k, v in inv.items()} for inv in s["invoices"]]
    r = simulate(p, invoices=invoices, customers=s.get("customers", []), events=s.get("events", []), until=str(s["until"]))
    assert not r.rejects and not r.errors
    want = s["expect"]
    assert len(r.actions) == len(want), [(a["rule"], a["at"]) for a in r.actions]
    for a, w in zip(r.actions, want):
        assert matches(a, w), (a, w)


def test_the_doc_has_examples_and_a_section_per_pack():
    assert len(EXAMPLES) >= 4
    text = DOC.read_text()
    for code in PACKS:
        section = text.split(f"### {code} ")[1].split("\n### ")[0].split("\n## ")[0]
        assert "Sources:" in section and "Does not cover" in section, code
