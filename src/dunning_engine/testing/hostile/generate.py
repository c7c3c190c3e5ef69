"""The inputs of a fuzz run: seed policies, and case ``index`` of a run with ``seed`` (deterministic).

Case ``i`` of a run depends only on the run's seed, ``i`` and the seed policies, never on the
order in which cases are drawn or run, so any case can be drawn again on its own.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .case import Case
from .policies import dump_yaml, mutate_text, mutate_tree, parse_tree, random_policy
from .records import record_files

__all__ = ["Seed", "load_seeds", "policy_case", "records_case"]

_FENCE = re.compile(r"^```(yaml|dunning|text)\s*\n(.*?)^```", re.S | re.M)
UNTIL = ("2027-03-01", "2026-06-30", "2028-01-01T00:00", "2026-03-15T10:30-03:00")
HOSTILE_UNTIL = ("9999-12-31", "9999-12-31T23:59:59", "0001-01-01", "1900-01-01", "2200-12-31T23:59:59+14:00",
                 "2026-02-30", "2026-01-01T24:00", "", "now", "2026-01-01T00:00+99:00", "99999-01-01")


@dataclass
class Seed:
    name: str           # file name (for shipped policies, the name a records case gives the file)
    form: str           # "yaml" | "dsl"
    text: str
    currency: str | None
    shipped: bool       # a file of the shipped policies folder: used by record cases
    tree: Any = None    # YAML seeds: the parsed tree (strings only)


def _candidates(path: Path) -> Iterable[tuple[str, str, str]]:
    if path.is_dir():
        for p in sorted(path.iterdir()):
            if p.suffix in (".yaml", ".yml", ".dunning", ".md"):
                yield from _candidates(p)
    elif path.suffix == ".md":
        for n, m in enumerate(_FENCE.finditer(path.read_text(encoding="utf-8"))):
            body = m.group(2)
            if m.group(1) == "yaml" and re.search(r"^policy:", body, re.M):
                yield f"{path.name}#{n}.yaml", "yaml", body
            elif m.group(1) in ("dunning", "text") and body.startswith("policy "):
                yield f"{path.name}#{n}.dunning", "dsl", body
    elif path.is_file():
        yield path.name, "dsl" if path.suffix == ".dunning" else "yaml", path.read_text(encoding="utf-8")


def load_seeds(paths: Iterable[str | Path], shipped: str | Path | None = None, random_count: int = 30,
               rng_seed: int = 0) -> list[Seed]:
    """Seed policies: files and folders of policies, policy blocks of Markdown files, and
    ``random_count`` random valid policies; each in both forms (printed by the project). Only seeds
    that load are kept (they are trusted: loaded in this process)."""
    from ...errors import DunningError
    from ...policy.load import load_policy_text
    from ...policy.printer import format_policy

    shipped_dir = Path(shipped).resolve() if shipped else None
    raw: list[tuple[str, str, str, bool]] = []
    for path in map(Path, paths):
        if path.exists():
            is_shipped = shipped_dir is not None and (path.resolve() == shipped_dir)
            raw.extend((n, f, t, is_shipped) for n, f, t in _candidates(path))
    rng = random.Random(f"seeds:{rng_seed}")
    for i in range(random_count):
        raw.append((f"random{i}.yaml", "yaml", dump_yaml(random_policy(rng)), False))
    seeds: list[Seed] = []
    seen: set[str] = set()
    for name, form, text, is_shipped in raw:
        try:
            policy = load_policy_text(text, format=form, name=name)
        except (DunningError, Exception):  # noqa: BLE001 - a seed that does not load is left out
            continue
        seeds.append(Seed(name, form, text, policy.currency, is_shipped))
        other = "dsl" if form == "yaml" else "yaml"
        try:
            printed = format_policy(policy, other)
        except Exception:  # noqa: BLE001 - a printer failure shows up again in the fuzz run itself
            continue
        if printed not in seen:
            seen.add(printed)
            seeds.append(Seed(f"{name}->{other}", other, printed, policy.currency, False))
    for s in seeds:
        if s.form == "yaml":
            try:
                s.tree = parse_tree(s.text)
            except Exception:  # noqa: BLE001
                s.tree = None
    return seeds


def policy_case(seed: int, index: int, seeds: list[Seed]) -> Case:
    """Policy case ``index``: a random policy (25%), a seed mutated as a YAML tree (20%) or as text (55%)."""
    rng = random.Random(f"policy:{seed}:{index}")
    r = rng.random()
    trees = [s for s in seeds if s.tree is not None]
    if r < 0.25 or not seeds:
        doc = random_policy(rng, p_hostile=rng.choice((0.0, 0.0, 0.02, 0.05, 0.15)))
        if rng.random() < 0.5:
            doc = mutate_tree(rng, doc, rng.randint(1, 3))
        form, text, origin = "yaml", dump_yaml(doc).encode("utf-8", "surrogatepass"), "random"
    elif r < 0.45 and trees:
        base = rng.choice(trees)
        doc = mutate_tree(rng, copy.deepcopy(base.tree), rng.choice((1, 1, 2, 3)))
        form, text, origin = "yaml", dump_yaml(doc).encode("utf-8", "surrogatepass"), f"tree:{base.name}"
    else:
        base = rng.choice(seeds)
        donor = rng.choice(seeds).text.split("\n")
        text = mutate_text(rng, base.text, base.form, donor, rng.choice((1, 1, 1, 2, 3)))
        form, origin = base.form, f"text:{base.name}"
    name = "policy.dunning" if form == "dsl" else "policy.yaml"
    return Case("policy", {name: text}, via="text" if rng.random() < 0.15 else "path",
                seed=rng.randrange(2 ** 31), origin=f"{origin} (policy case {index}, seed {seed})")


def _cli_args(rng: random.Random, policy: str, files: dict[str, bytes], until: str) -> list[str]:
    command = "explain" if rng.random() < 0.15 else "run"
    args = [command, "--policy", policy]
    for option in ("invoices", "customers", "events"):
        name = next((n for n in files if n.startswith(option + ".")), None)
        if name:
            args += [f"--{option}", name]
    args += ["--until", until]
    if command == "explain":
        return args + ["--case", rng.choice(("I1", "I2", "C1", "nope"))] + (["--format", "json"] if rng.random() < 0.5 else [])
    if rng.random() < 0.2:
        args += ["--since", rng.choice(("2026-02-01", "2030-01-01") + HOSTILE_UNTIL)]
    r = rng.random()
    args += ["--out", "out.jsonl"] if r < 0.6 else ["--out", "/dev/full"] if r < 0.65 else []
    if rng.random() < 0.3:
        args += ["--states", "states.jsonl"]
    if rng.random() < 0.3:
        args += ["--explain"]
    if rng.random() < 0.3:
        args += ["--rejects", "rejects.jsonl"]
    return args


def records_case(seed: int, index: int, seeds: list[Seed]) -> Case:
    """Records case ``index``: hostile record files run on a shipped policy through the API or ``dunning``."""
    rng = random.Random(f"records:{seed}:{index}")
    shipped = [s for s in seeds if s.shipped] or seeds
    policy = rng.choice(shipped)
    files = record_files(rng, policy.currency or "USD")
    files[policy.name] = policy.text.encode("utf-8")
    r = rng.random()
    via = "simulate" if r < 0.4 else "api" if r < 0.55 else "cli" if r < 0.97 else "cli-closed-stdout"
    until = rng.choice(UNTIL)
    args: list[str] = []
    if via.startswith("cli"):
        if rng.random() < 0.1:
            until = rng.choice(HOSTILE_UNTIL)
        args = _cli_args(rng, policy.name, files, until)
        if via == "cli-closed-stdout":
            args = [a for a in args if a not in ("--out", "out.jsonl", "/dev/full")]
    return Case("records", files, via=via, until=until, args=args, seed=rng.randrange(2 ** 31),
                origin=f"records on {policy.name} (records case {index}, seed {seed})")
