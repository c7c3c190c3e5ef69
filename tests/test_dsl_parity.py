"""Format parity: every shipped policy exists in both forms, and both forms are one policy.

``POLICY_PAIRS`` lists the (YAML, DSL) twins, in one place, for any test that
wants to check that both forms behave the same (the engine-level parity below
runs the example portfolio through both). ``docs/dsl.md`` shows each pair side
by side with its Mermaid diagram; run ``python tests/test_dsl_parity.py`` to
regenerate those sections after changing a policy.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from dunning_engine.policy.graph import to_mermaid
from dunning_engine.policy.load import load_policy
from dunning_engine.policy.printer import read_policy, to_dsl, to_yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "dsl.md"


def _shipped_yaml() -> list[Path]:
    found = sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "policies").glob("*.yml"))
    for path in sorted((ROOT / "examples").rglob("*.y*ml")):
        # A policy has a top-level 'policy:' id; scenario files (*.test.yaml) name a policy file instead.
        if path.suffix in (".yaml", ".yml") and not path.name.endswith((".test.yaml", ".test.yml")) \
                and re.search(r"^policy:", path.read_text(encoding="utf-8"), re.M):
            found.append(path)
    return found


# (YAML, DSL) twins of every shipped policy.
POLICY_PAIRS: list[tuple[Path, Path]] = [(y, y.with_suffix(".dunning")) for y in _shipped_yaml()]
PAIR_IDS = [str(y.relative_to(ROOT).with_suffix("")) for y, _ in POLICY_PAIRS]


def test_there_are_pairs():
    assert len(POLICY_PAIRS) >= 3


@pytest.mark.parametrize("yaml_path, dsl_path", POLICY_PAIRS, ids=PAIR_IDS)
def test_every_shipped_policy_has_a_dsl_twin_with_the_same_policy(yaml_path, dsl_path):
    assert dsl_path.exists(), f"{dsl_path.relative_to(ROOT)} is missing: dunning convert {yaml_path} --to dsl"
    assert load_policy(yaml_path) == load_policy(dsl_path)


@pytest.mark.parametrize("yaml_path, dsl_path", POLICY_PAIRS, ids=PAIR_IDS)
def test_shipped_files_are_canonical_and_convert_into_each_other(yaml_path, dsl_path):
    y, yc, _ = read_policy(yaml_path)
    d, dc, _ = read_policy(dsl_path)
    yaml_text = yaml_path.read_text(encoding="utf-8")
    dsl_text = dsl_path.read_text(encoding="utf-8")
    assert to_yaml(y, yc) == yaml_text  # `dunning fmt --check` passes
    assert to_dsl(d, dc) == dsl_text
    assert to_dsl(y, read_policy(yaml_path)[1]) == dsl_text  # `dunning convert --to dsl`, comments included
    assert to_yaml(d, read_policy(dsl_path)[1]) == yaml_text  # and back


@pytest.mark.parametrize("yaml_path, dsl_path", POLICY_PAIRS, ids=PAIR_IDS)
def test_expressions_keep_their_positions_in_each_form(yaml_path, dsl_path):
    # The same rule, located in each file at the line that holds it.
    for path in (yaml_path, dsl_path):
        p = load_policy(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        for state in p.states:
            assert state.name in lines[state.location.line - 1]
            for rule in state.rules:
                assert rule.location.source.name == str(path)


EXAMPLE = ROOT / "examples" / "b2b_chile"


@pytest.mark.skipif(not (EXAMPLE / "invoices.csv").exists(), reason="no example portfolio")
def test_both_forms_give_the_same_actions_on_the_example_portfolio():
    from dunning_engine import simulate

    def run(path):
        r = simulate(str(path), invoices=str(EXAMPLE / "invoices.csv"), customers=str(EXAMPLE / "customers.csv"),
                     events=str(EXAMPLE / "events.jsonl"), until="2026-07-31")
        return r.actions, r.states

    yaml_actions, yaml_states = run(ROOT / "policies" / "b2b_friendly_cl.yaml")
    dsl_actions, dsl_states = run(ROOT / "policies" / "b2b_friendly_cl.dunning")
    assert yaml_actions and dsl_actions == yaml_actions
    assert dsl_states == yaml_states
    for action in dsl_actions:
        assert type(action["type"]) is str


# ---------------------------------------------------------------------------
# docs/dsl.md: generated sections
# ---------------------------------------------------------------------------


def _section(yaml_path: Path, dsl_path: Path) -> str:
    yaml_text = yaml_path.read_text(encoding="utf-8").rstrip("\n")
    dsl_text = dsl_path.read_text(encoding="utf-8").rstrip("\n")
    diagram = to_mermaid(load_policy(dsl_path)).rstrip("\n")
    y_rel = yaml_path.relative_to(ROOT).as_posix()
    d_rel = dsl_path.relative_to(ROOT).as_posix()
    return "\n".join([
        "<table>",
        f"<tr><th><code>{y_rel}</code></th><th><code>{d_rel}</code></th></tr>",
        "<tr>",
        '<td valign="top">',
        "",
        "```yaml",
        yaml_text,
        "```",
        "",
        "</td>",
        '<td valign="top">',
        "",
        "```",
        dsl_text,
        "```",
        "",
        "</td>",
        "</tr>",
        "</table>",
        "",
        f"`dunning graph {d_rel}`:",
        "",
        "```mermaid",
        diagram,
        "```",
    ])


def _marker(yaml_path: Path) -> str:
    return yaml_path.relative_to(ROOT).with_suffix("").as_posix()


def _regenerate(text: str) -> str:
    for yaml_path, dsl_path in POLICY_PAIRS:
        name = _marker(yaml_path)
        begin, end = f"<!-- BEGIN generated: {name} -->", f"<!-- END generated: {name} -->"
        block = f"{begin}\n{_section(yaml_path, dsl_path)}\n{end}"
        if begin in text:
            text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda m: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + f"\n\n### {name}\n\n{block}\n"
    return text


def test_docs_show_every_pair_side_by_side_with_its_diagram():
    text = DOCS.read_text(encoding="utf-8")
    assert _regenerate(text) == text, "docs/dsl.md is out of date: run python tests/test_dsl_parity.py"


if __name__ == "__main__":  # pragma: no cover - regenerates the docs
    DOCS.write_text(_regenerate(DOCS.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
