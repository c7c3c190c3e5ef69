"""A fuzz run: draw cases, run them on a :class:`.pool.Pool`, group the findings, shrink and save them.

Findings are grouped by their signature: the exception type (or Hang, MemoryError, Crash, or an
oracle's name) and the innermost frame of the project's code (``module.py:function``, no line
number, so that a group survives unrelated edits). Each group keeps its smallest case, shrunk
line by line (delta debugging, within a budget of runs) while it still gives the same signature,
and written as a folder (:func:`.case.save_case`).
"""

from __future__ import annotations

import heapq
import json
import math
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .case import Case, Outcome, save_case
from .generate import Seed, load_seeds, policy_case, records_case
from .pool import Pool

__all__ = ["Group", "Report", "run_fuzz", "shrink", "slug"]


@dataclass
class Group:
    signature: str
    count: int = 0
    kinds: Counter = field(default_factory=Counter)
    stages: Counter = field(default_factory=Counter)
    best: tuple[tuple, Case, Outcome] | None = None     # ((size, key), case, outcome): the smallest case
    folder: str = ""

    def add(self, key: tuple, case: Case, outcome: Outcome) -> None:
        self.count += 1
        self.kinds[case.kind] += 1
        self.stages[outcome.stage] += 1
        rank = (case.size, key)
        if self.best is None or rank < self.best[0]:
            self.best = (rank, case, outcome)


@dataclass
class Report:
    seed: int
    planned: dict[str, int]
    run: Counter = field(default_factory=Counter)         # "policy:ok", "policy:refused", "records:finding"...
    loaded: int = 0
    seconds: float = 0.0
    groups: dict[str, Group] = field(default_factory=dict)
    slowest: list[tuple[float, str, str]] = field(default_factory=list)   # (seconds, status, origin)

    def note_time(self, case: Case, outcome: Outcome) -> None:
        """Keep the five slowest cases that were not findings (how close they come to the limit)."""
        if outcome.status == "finding":
            return
        if len(self.slowest) < 5 or outcome.seconds > self.slowest[-1][0]:
            self.slowest.append((round(outcome.seconds, 2), outcome.status, case.origin))
            self.slowest.sort(key=lambda x: -x[0])
            del self.slowest[5:]

    @property
    def findings(self) -> int:
        return sum(g.count for g in self.groups.values())

    def table(self) -> str:
        kinds = ("policy", "records")
        lines = [f"fuzz run, seed {self.seed}: {self.seconds:.0f} s"]
        for kind in kinds:
            done = sum(v for k, v in self.run.items() if k.startswith(kind + ":"))
            parts = ", ".join(f"{s} {self.run[f'{kind}:{s}']}" for s in ("ok", "refused", "finding"))
            extra = f", loaded {self.loaded}" if kind == "policy" else ""
            lines.append(f"  {kind} cases: {done} of {self.planned.get(kind, 0)} ({parts}{extra})")
        lines.append("  slowest cases that were not findings (wall-clock):")
        lines.extend(f"    {sec:g} s, {status}: {origin}" for sec, status, origin in self.slowest)
        if not self.groups:
            lines.append("no findings")
            return "\n".join(lines)
        rows = [("#", "finding (type @ innermost project frame)", "stage", "policies", "records", "reproducer")]
        for n, g in enumerate(sorted(self.groups.values(), key=lambda g: (-g.count, g.signature)), 1):
            stages = ",".join(s for s, _ in g.stages.most_common(3))
            rows.append((str(n), g.signature, stages, str(g.kinds["policy"]), str(g.kinds["records"]), g.folder or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines.append(f"{len(self.groups)} finding group(s), {self.findings} case(s):")
        for i, r in enumerate(rows):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if i == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "planned": self.planned, "run": dict(self.run), "loaded": self.loaded,
                "seconds": round(self.seconds, 1), "slowest": self.slowest,
                "groups": [{"signature": g.signature, "count": g.count, "kinds": dict(g.kinds),
                            "stages": dict(g.stages), "reproducer": g.folder,
                            "message": g.best[2].message if g.best else ""}
                           for g in sorted(self.groups.values(), key=lambda g: (-g.count, g.signature))]}


def slug(signature: str) -> str:
    """A folder name for a finding group: its signature in plain characters (stable across runs)."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", signature.replace(" @ ", "--").replace("/", "."))
    return text.strip("-")[:90]


# -- shrinking ---------------------------------------------------------------------------------------------


_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _units(case: Case) -> list[tuple[str, bytes]]:
    """Lines (with their ends: LF, CRLF or CR) of every file but a records case's policy."""
    keep = case.policy_name if case.kind == "records" else None
    return [(name, m.group()) for name, data in case.files.items() if name != keep for m in _LINES.finditer(data)]


def _rebuild(case: Case, units: list[tuple[str, bytes]]) -> Case:
    files: dict[str, list[bytes]] = {name: [] for name in case.files}
    for name, line in units:
        files[name].append(line)
    out = dict(case.files)
    for name, lines in files.items():
        if case.kind == "policy" or name != case.policy_name:
            out[name] = b"".join(lines)
    return Case(case.kind, out, case.via, case.until, list(case.args), case.seed, case.origin)


def shrink(case: Case, outcome: Outcome, pool: Pool, budget: int) -> tuple[Case, Outcome]:
    """A smaller case giving the same signature (delta debugging over lines), within ``budget`` runs."""
    units, best = _units(case), (case, outcome)
    n, spent = 2, 0
    while len(units) >= 2 and spent < budget:
        size = math.ceil(len(units) / n)
        chunks = [units[i:i + size] for i in range(0, len(units), size)]
        candidates = chunks + ([units[:i * size] + units[(i + 1) * size:] for i in range(len(chunks))] if n > 2 else [])
        candidates = candidates[:budget - spent]
        spent += len(candidates)
        results = {key: (c, o) for key, c, o in pool.map(((i, _rebuild(case, u)) for i, u in enumerate(candidates)))}
        hit = next((i for i in range(len(candidates)) if results[i][1].signature == outcome.signature), None)
        if hit is None:
            if n >= len(units):
                break
            n = min(len(units), n * 2)
            continue
        units, best = candidates[hit], results[hit]
        n = 2 if hit < len(chunks) else max(n - 1, 2)
    return best


# -- the run -----------------------------------------------------------------------------------------------


def _schedule(policies: int, records: int) -> Iterator[tuple[str, int]]:
    """Policy and records cases interleaved evenly, so that a run cut short has covered both."""
    a = (((i + 0.5) / policies, "policy", i) for i in range(policies))
    b = (((j + 0.5) / records, "records", j) for j in range(records))
    for _, kind, i in heapq.merge(a, b):
        yield kind, i


def run_fuzz(*, policies: int = 20_000, records: int = 2_000, seed: int = 0, workers: int = 2,
             time_limit: float = 10.0, memory_mb: int = 1024, seeds: list[str] | None = None,
             shipped: str = "policies", out: str | Path | None = None, shrink_budget: int = 150,
             hang_shrink_budget: int = 12, max_seconds: float | None = None,
             progress: Callable[[str], None] | None = None, seed_list: list[Seed] | None = None) -> Report:
    """Run ``policies`` policy cases and ``records`` record cases; return the :class:`Report`.

    ``seeds`` are the files, folders and Markdown files whose policies are mutated (default:
    ``shipped``, ``tests/data`` and ``docs`` where they exist); record cases run on the policies of
    the ``shipped`` folder. With ``out``, each group's (shrunk) reproducer is written under
    ``out/findings/`` and the report as ``out/summary.json`` and ``out/summary.txt``.
    ``max_seconds`` stops drawing new cases after that long (the report says how many ran).
    """
    started = time.monotonic()
    if out is not None:
        shutil.rmtree(Path(out) / "findings", ignore_errors=True)  # reproducers of an earlier run
    if seed_list is None:
        seed_list = load_seeds(seeds if seeds is not None else [shipped, "tests/data", "docs/"], shipped, rng_seed=seed)
    report = Report(seed, {"policy": policies, "records": records})
    last = started

    def cases() -> Iterator[tuple[tuple, Case]]:
        for kind, i in _schedule(policies, records):
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                return
            yield (kind, i), (policy_case(seed, i, seed_list) if kind == "policy" else records_case(seed, i, seed_list))

    with Pool(workers, time_limit, memory_mb) as pool:
        for n, (key, case, outcome) in enumerate(pool.map(cases()), 1):
            report.run[f"{case.kind}:{outcome.status}"] += 1
            report.loaded += outcome.loaded
            report.note_time(case, outcome)
            if outcome.status == "finding":
                report.groups.setdefault(outcome.signature, Group(outcome.signature)).add(key, case, outcome)
            if progress and time.monotonic() - last > 30:
                last = time.monotonic()
                progress(f"{n} cases in {last - started:.0f} s, {len(report.groups)} finding group(s)")
        if out is not None:
            _save(report, Path(out), pool, shrink_budget, hang_shrink_budget, progress)
    report.seconds = time.monotonic() - started
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)  # (a run without findings has not made it yet)
        (Path(out) / "summary.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        (Path(out) / "summary.txt").write_text(report.table() + "\n", encoding="utf-8")
    return report


def _save(report: Report, out: Path, pool: Pool, budget: int, hang_budget: int,
          progress: Callable[[str], None] | None) -> None:
    for group in sorted(report.groups.values(), key=lambda g: g.signature):
        assert group.best is not None  # a group is made with its first case
        rank, case, outcome = group.best
        limit = hang_budget if outcome.type in ("Hang",) else budget
        if limit > 0:
            case, outcome = shrink(case, outcome, pool, limit)
            group.best = ((case.size, rank[1]), case, outcome)
        group.folder = str(save_case(case, out / "findings" / slug(group.signature), outcome))
        if progress:
            progress(f"saved {group.folder} ({case.size} bytes)")
