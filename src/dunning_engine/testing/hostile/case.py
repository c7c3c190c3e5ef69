"""One fuzz input (a :class:`Case`) and its result (an :class:`Outcome`), and how both are saved.

A case is a set of files and how to run them:

* ``kind="policy"``: one policy file (``policy.yaml`` or ``policy.dunning``), loaded from a
  folder that also holds rate tables and traps (see :mod:`.worker`), then linted, printed in
  both forms and read back, drawn as a graph and run over a small portfolio drawn from ``seed``.
* ``kind="records"``: a shipped policy file and invoice, customer and event files, run through
  ``simulate`` (``via="simulate"``) or ``dunning run`` (``via="cli"``, with ``args``).

A case is saved as a folder: ``case.json`` (everything but the files) and the files themselves
under ``input/``, byte for byte, so that a reproducer can also be run by hand
(``case.json`` holds the equivalent ``dunning`` command line; a large file may be stored
gzipped as ``input/NAME.gz``); ``python -m dunning_engine.testing.hostile --replay FOLDER`` runs
it exactly as the fuzzer did.
"""

from __future__ import annotations

import gzip
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Case", "Outcome", "save_case", "load_case"]


@dataclass
class Case:
    kind: str                                  # "policy" | "records"
    files: dict[str, bytes]                    # file name -> content (names without folders)
    via: str = "path"                          # policy: "path" | "text"; records: "simulate" | "cli"
    until: str = "2027-03-01"
    args: list[str] = field(default_factory=list)   # extra CLI arguments (records via "cli")
    seed: int = 0                              # the portfolio a loaded policy is run over
    origin: str = ""                           # how the case was made (for people)

    @property
    def policy_name(self) -> str:
        return next(n for n in self.files if n.endswith((".yaml", ".yml", ".dunning")))

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.files.values())

    def command(self) -> str:
        """The ``dunning`` command line that runs this case by hand, from its ``input/`` folder."""
        if self.kind == "policy":
            p = self.policy_name
            other = "yaml" if p.endswith(".dunning") else "dsl"
            return (f"dunning validate {p}; dunning lint {p}; dunning fmt {p}; dunning convert {p} --to {other}; "
                    f"dunning graph {p}  (and a run over a portfolio drawn from seed {self.seed}: "
                    "python -m dunning_engine.testing.hostile --replay FOLDER)")
        if self.args:
            closed = " >&-" if self.via == "cli-closed-stdout" else ""
            return "dunning " + " ".join(shlex.quote(a) for a in self.args) + closed
        files = {n.split(".")[0]: n for n in self.files if n != self.policy_name}
        kwargs = ", ".join(f"{k}={n!r}" for k, n in sorted(files.items()))
        return f"python -c 'from dunning_engine import simulate; simulate({self.policy_name!r}, {kwargs}, until={self.until!r})'"


@dataclass
class Outcome:
    status: str                     # "ok" (ran clean), "refused" (the project's own error) or "finding"
    stage: str = ""                 # where it stopped: load, lint, roundtrip, graph, simulate, cli
    type: str = ""                  # finding: exception type (or Hang, MemoryError, Crash, oracle name)
    where: str = ""                 # finding: innermost project frame, "module.py:function"
    line: int = 0                   # its line number (not part of the group key)
    message: str = ""
    traceback: str = ""
    seconds: float = 0.0
    loaded: bool = False            # a policy case whose policy loaded

    @property
    def signature(self) -> str:
        return f"{self.type} @ {self.where or '?'}"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def save_case(case: Case, folder: str | os.PathLike, outcome: Outcome | None = None, *,
              compress_over: int | None = None) -> Path:
    """Write ``case`` (and the outcome it gave, if any) into ``folder``; return the folder.

    Files larger than ``compress_over`` bytes are written gzipped (``input/NAME.gz``), which
    :func:`load_case` reads back transparently (for a corpus kept in a repository).
    """
    folder = Path(folder)
    inputs = folder / "input"
    inputs.mkdir(parents=True, exist_ok=True)
    for name, data in case.files.items():
        if compress_over is not None and len(data) > compress_over:
            (inputs / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (inputs / name).write_bytes(data)
    meta: dict[str, Any] = {"kind": case.kind, "via": case.via, "until": case.until, "args": case.args, "seed": case.seed,
            "origin": case.origin, "files": sorted(case.files), "command": case.command()}
    if outcome is not None:
        meta["finding"] = {k: v for k, v in outcome.to_dict().items() if k not in ("traceback", "status")}
        meta["finding"]["signature"] = outcome.signature
        (folder / "traceback.txt").write_text(outcome.traceback, encoding="utf-8", errors="replace")
    (folder / "case.json").write_text(json.dumps(meta, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    return folder


def load_case(folder: str | os.PathLike) -> Case:
    """Read a case written by :func:`save_case`."""
    folder = Path(folder)
    meta = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    files = {}
    for name in meta["files"]:
        path = folder / "input" / name
        files[name] = path.read_bytes() if path.exists() else gzip.decompress(path.with_name(name + ".gz").read_bytes())
    return Case(kind=meta["kind"], files=files, via=meta.get("via", "path"), until=meta.get("until", "2027-03-01"),
                args=list(meta.get("args", [])), seed=int(meta.get("seed", 0)), origin=meta.get("origin", ""))
