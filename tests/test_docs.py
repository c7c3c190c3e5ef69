"""The docs' examples run: every complete policy loads, every expression has the type its comment names."""

import re

import pytest

from conftest import ROOT

from dunning_engine import load_policy_text
from dunning_engine.expr import compile_expression, policy_schema

DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"```(\w[\w-]*)\n(.*?)```", re.S)


def blocks(kind: str):
    for path in DOCS:
        for m in FENCE.finditer(path.read_text()):
            if m.group(1) == kind:
                line = path.read_text()[: m.start()].count("\n") + 2
                yield path, line, m.group(2)


POLICIES = [(p, line, text) for p, line, text in blocks("yaml") if re.match(r"(#.*\n)*policy:", text)]


@pytest.mark.parametrize("path, line, text", POLICIES, ids=[f"{p.name}:{l}" for p, l, _ in POLICIES])
def test_every_policy_in_the_docs_loads(path, line, text):
    policy = load_policy_text(text, format="yaml", name=f"{path.name}:{line}")
    assert policy.states


EXPRESSIONS = [(p, line + i, l) for p, line, text in blocks("expressions") for i, l in enumerate(text.splitlines()) if l.strip()]


@pytest.mark.parametrize("path, line, row", EXPRESSIONS, ids=[f"{p.name}:{l}" for p, l, _ in EXPRESSIONS])
def test_every_expression_in_the_docs_has_its_type(path, line, row):
    text, _, expected = row.partition("#")
    schema = policy_schema("invoice", "CLP")
    e = compile_expression(text.strip(), schema)
    assert str(e.type).split(" ")[0] == expected.strip()


def test_the_docs_have_examples():
    assert len(POLICIES) >= 4 and len(EXPRESSIONS) >= 10


PYTHON = list(blocks("python"))


@pytest.mark.parametrize("path, line, code", PYTHON, ids=[f"{p.name}:{l}" for p, l, _ in PYTHON])
def test_every_python_example_in_the_docs_runs(path, line, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, f"{path.name}:{line}", "exec"), {})
