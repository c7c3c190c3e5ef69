"""The engine core is pure and the edges stay at the edges (issue 11; docs/engine.md, "Design").

- ``engine/`` reads and writes no file: it imports nothing of ``io/``, ``cli/``, ``run``,
  ``testing/`` or ``policy.load``, no standard module that does file or process I/O, and calls no
  ``open``/``print``/``input``; importing any of its modules loads none of those edges, and a run
  over every shipped policy opens no file.
- ``io/`` and ``records/`` (the records and their files) do not import the engine.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dunning_engine

SRC = Path(dunning_engine.__file__).resolve().parent
ROOT = SRC.parent.parent
ENGINE_MODULES = sorted(p for p in (SRC / "engine").glob("*.py"))
EDGE_MODULES = sorted([*(SRC / "io").glob("*.py"), *(SRC / "records").glob("*.py")])

# What the engine may not import: the edges of the package, and standard modules for files,
# processes, streams and the network.
ENGINE_MAY_NOT_IMPORT = ("dunning_engine.io", "dunning_engine.cli", "dunning_engine.run", "dunning_engine.testing",
                         "dunning_engine.policy.load")
IO_STDLIB = ("os", "io", "sys", "pathlib", "shutil", "tempfile", "glob", "fileinput", "subprocess", "socket",
             "urllib", "http", "csv", "builtins")
IO_CALLS = ("open", "print", "input")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``, relative imports resolved; for
    ``from X import a`` both ``X`` and ``X.a`` (a may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def engine_io_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """What in ``source`` (a module of ``engine/``) reads or writes files or reaches an edge module."""
    tree = ast.parse(source)
    problems = [f"line {line}: imports {name}" for line, name in _imports(tree, module, is_package)
                if _within(name, ENGINE_MAY_NOT_IMPORT) or _within(name, IO_STDLIB)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_CALLS:
            problems.append(f"line {node.lineno}: calls {node.func.id}()")
    return problems


def engine_imports_of(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of the engine in ``source`` (a module of ``io/`` or ``records/``)."""
    tree = ast.parse(source)
    return [f"line {line}: imports {name}" for line, name in _imports(tree, module, is_package)
            if _within(name, ("dunning_engine.engine",))]


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: p.name)
def test_engine_source_does_no_file_io_and_imports_no_edge(path):
    problems = engine_io_uses(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")
    assert problems == [], f"{path.relative_to(ROOT)}: " + "; ".join(problems)


@pytest.mark.parametrize("path", EDGE_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_io_and_records_do_not_import_the_engine(path):
    problems = engine_imports_of(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")
    assert problems == [], f"{path.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_source_checks_find_what_they_look_for():
    bad = textwrap.dedent("""
        import os
        from ..io.readers import read_invoices
        from .. import run
        from ...dunning_engine import cli
        def f(path):
            with open(path) as fh:
                print(fh.read())
    """)
    found = engine_io_uses(bad, "dunning_engine.engine.core")
    assert [p.split(": ")[1] for p in found] == [
        "imports os", "imports dunning_engine.io.readers", "imports dunning_engine.io.readers.read_invoices",
        "imports dunning_engine.run", "calls open()", "calls print()"]
    assert engine_io_uses("from ..records import Event\nfrom .clock import NEVER\n", "dunning_engine.engine.case") == []
    assert engine_imports_of("from ..engine.core import Engine\n", "dunning_engine.io.rates") == [
        "line 1: imports dunning_engine.engine.core", "line 1: imports dunning_engine.engine.core.Engine"]
    assert engine_imports_of("from . import engine\n", "dunning_engine", is_package=True) == [
        "line 1: imports dunning_engine.engine"]


def _python(code: str) -> dict:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(SRC.parent), "PATH": "/usr/bin:/bin"}, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


# Import a module without running dunning_engine/__init__.py (which imports the whole package,
# the edges included), and list the package's modules that came with it.
_STUB_IMPORT = """
import importlib, json, sys, types
pkg = types.ModuleType("dunning_engine")
pkg.__path__ = [{src!r}]
sys.modules["dunning_engine"] = pkg
loaded = {{}}
for name in {names!r}:
    before = set(sys.modules)
    importlib.import_module(name)
    loaded[name] = sorted(m for m in sys.modules if m.startswith("dunning_engine."))
print(json.dumps(loaded))
"""


def test_importing_an_engine_module_loads_no_edge_module():
    names = [_module_name(p) for p in ENGINE_MODULES]
    # each module in a fresh process: what it needs, not what an earlier one loaded
    for name in names:
        loaded = _python(_STUB_IMPORT.format(src=str(SRC), names=[name]))[name]
        edges = [m for m in loaded if _within(m, ENGINE_MAY_NOT_IMPORT)]
        assert edges == [], f"importing {name} loads {edges}"


def test_importing_io_and_records_loads_no_engine_module():
    names = ["dunning_engine.io", "dunning_engine.records"] + [
        _module_name(p) for p in EDGE_MODULES if p.name != "__init__.py"]
    loaded = _python(_STUB_IMPORT.format(src=str(SRC), names=names))
    for name, modules in loaded.items():
        assert not [m for m in modules if _within(m, ("dunning_engine.engine",))], f"importing {name} loads the engine"


def test_a_run_over_every_shipped_policy_opens_no_file():
    """Records read and rate tables loaded first (the edge's work), then every way to open a file
    refuses while the engine runs the parity portfolio under each shipped policy."""
    code = textwrap.dedent("""
        import builtins, io, json, os, sys
        sys.path.insert(0, "benchmarks")
        from parity import portfolio
        from dunning_engine import Engine, load_policy
        from dunning_engine.io.rates import install_rates
        from dunning_engine.io.readers import Rejects, read_customers, read_events, read_invoices

        customers, invoices, events = portfolio(120)
        runs = []
        for path in sorted(os.listdir("policies")):
            if not path.endswith(".yaml"):
                continue
            policy = load_policy("policies/" + path)
            engine = Engine(policy, explain=True)
            install_rates(engine, policy)
            tz, bad = engine.clock.tz, Rejects()
            records = (list(read_customers(customers, rejects=bad)),
                       list(read_invoices(invoices, tz=tz, default_currency=policy.currency, rejects=bad)),
                       list(read_events(events, tz=tz, default_currency=policy.currency, rejects=bad)))
            runs.append((path, engine, records))

        opened = []
        def refuse(*args, **kwargs):
            opened.append(repr(args[:1]))
            raise PermissionError("the engine opened a file")
        real = builtins.open, io.open, os.open
        builtins.open = io.open = os.open = refuse
        counts = {}
        try:
            for path, engine, (cs, invs, evs) in runs:
                for c in cs:
                    engine.add_customer(c)
                for i in invs:
                    engine.add_invoice(i)
                for e in evs:
                    try:
                        engine.add_event(e)
                    except Exception:
                        pass
                counts[path] = len(list(engine.run(__import__("datetime").date(2027, 3, 31))))
        finally:
            builtins.open, io.open, os.open = real
        print(json.dumps({"opened": opened, "actions": counts}))
    """)
    out = _python(code)
    assert out["opened"] == []
    assert len(out["actions"]) == 5 and all(n > 0 for n in out["actions"].values())
