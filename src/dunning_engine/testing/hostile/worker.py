"""Run one case in this process and say what happened (:func:`execute`).

The case's files are written into a *trap folder* (:func:`prepare_folder`), the current
directory while the case runs, which also holds what a hostile rate path may point at::

    ROOT/outside.csv          a valid rate table outside the policy's folder
    ROOT/p/                   the policy's folder (the case's files go here)
    ROOT/p/rates/uf.csv       a valid rate table
    ROOT/p/rates/fifo         a FIFO (opening it for reading blocks)
    ROOT/p/rates/big.csv      a sparse file of 11 MB (over the 10 MB limit)
    ROOT/p/rates/link.csv     a link to ../../outside.csv
    ROOT/p/rates/dir/         a folder

Anything but the project's own errors (``DunningError``, and ``SystemExit`` with status 0, 1 or
2 from the command line) is a finding, named by its type and the innermost frame of the
project's code it came through. A policy that loads is also checked by oracles: its rate paths
stay inside its folder (``RatePathAccepted``), and printing it in either form reads back as
the same policy (``RoundTripUnreadable``, ``RoundTripChanged``) and prints the same again
(``FormatNotIdempotent``). Each stage (load, lint, roundtrip, graph, simulate; cli) gets the
whole time limit, per 100 KB of input (:func:`stage_limit`, :func:`arm`): a finding means that
one operation a user runs took too long, or longer than linear in the size of its input.
The memory limit is set by the caller (:mod:`.pool`); :class:`Hang` is what the timers raise. A hang on an input over 50 KB is grouped by
stage (``Hang @ load of an input over 50 KB``) rather than by the place it was stuck in.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import re
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from .case import Case, Outcome

__all__ = ["Hang", "arm", "disarm", "stage_limit", "prepare_folder", "execute", "where", "regroup_large_hang", "RATE_LIMIT_BYTES"]

PACKAGE_DIR = Path(__file__).resolve().parents[2]
HARNESS_DIR = Path(__file__).resolve().parent
RATE_LIMIT_BYTES = 10 * 1024 * 1024
MESSAGE_LIMIT = 600
TRACEBACK_LIMIT = 6000
RATE_CSV = "date,value\n2026-01-01,39000.10\n2026-06-01,39500.55\n"


LARGE_INPUT = 50_000
SIZE_UNIT = 100_000  # the time limit is per stage and per 100 KB of input: cost must grow linearly


def stage_limit(time_limit: float, case: Case) -> float:
    """The time a stage of ``case`` may take: ``time_limit`` per 100 KB of input (at least once),
    so that a large input that takes long because it is large is not a hang, but one whose cost
    grows faster than its size is (SPEC §12)."""
    return time_limit * max(1.0, case.size / SIZE_UNIT)


class Hang(BaseException):
    """Raised by the time limit's timers (a BaseException: ``except Exception`` does not swallow it)."""


def _cpu_limit(signum, frame):
    raise Hang("over the time limit (CPU time)")


def _wall_limit(signum, frame):
    raise Hang("over the time limit (wall-clock time: waiting, not computing)")


WALL_FACTOR = 10  # generous: a machine shared by several busy processes slows the wall clock down


def arm(time_limit: float) -> None:
    """Raise :class:`Hang` after ``time_limit`` seconds of CPU time (so that a busy machine does not
    turn a slow case into a hang), or ``WALL_FACTOR`` times that of wall-clock time (a case that
    waits: on a FIFO, say)."""
    signal.signal(signal.SIGPROF, _cpu_limit)
    signal.signal(signal.SIGALRM, _wall_limit)
    signal.setitimer(signal.ITIMER_PROF, time_limit)
    signal.setitimer(signal.ITIMER_REAL, WALL_FACTOR * time_limit)


def disarm() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)


def prepare_folder(root: str | os.PathLike) -> Path:
    """Create the trap folder under ``root``; return the policy's folder ``ROOT/p``."""
    root = Path(root)
    rates = root / "p" / "rates"
    (rates / "dir").mkdir(parents=True, exist_ok=True)
    (root / "outside.csv").write_text(RATE_CSV)
    (rates / "uf.csv").write_text(RATE_CSV)
    with open(rates / "big.csv", "wb") as f:
        f.truncate(11 * 1024 * 1024)
    if not (rates / "fifo").exists():
        os.mkfifo(rates / "fifo")
    if not (rates / "link.csv").is_symlink():
        os.symlink("../../outside.csv", rates / "link.csv")
    return root / "p"


# -- naming a finding ------------------------------------------------------------------------------------


def _project_path(filename: str) -> str | None:
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return None
    if PACKAGE_DIR in path.parents and HARNESS_DIR not in path.parents and path.parent != HARNESS_DIR:
        return path.relative_to(PACKAGE_DIR).as_posix()
    return None


def where(frames: list[tuple[str, int, str]]) -> tuple[str, int]:
    """``("module.py:function", line)`` of the innermost project frame of ``frames`` (outermost first)."""
    for filename, line, name in reversed(frames):
        rel = _project_path(filename)
        if rel is not None:
            return f"{rel}:{name}", line
    for filename, line, name in reversed(frames):  # no project frame: the innermost one but the harness's
        if not filename.startswith(str(HARNESS_DIR)):
            return f"{Path(filename).name}:{name}", line
    return "?", 0


def _recursive_where(frames: list[tuple[str, int, str]]) -> tuple[str, int] | None:
    """For a RecursionError: the project function seen most often (where the recursion hit the limit
    is arbitrary), a named function before a ``<listcomp>``."""
    seen = Counter((rel, name) for filename, _, name in frames if (rel := _project_path(filename)) is not None)
    if not seen:
        return None
    (rel, name), _ = max(seen.items(), key=lambda kv: (kv[1], not kv[0][1].startswith("<")))
    return f"{rel}:{name}", 0


def _finding(stage: str, exc: BaseException, started: float, kind: str | None = None) -> Outcome:
    frames = [(f.filename, f.lineno or 0, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    at, line = (isinstance(exc, RecursionError) and _recursive_where(frames)) or where(frames)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        message = str(exc)
    except Exception:  # pragma: no cover - a broken __str__
        message = repr(exc)
    return Outcome("finding", stage, kind or type(exc).__name__, at, line, message[:MESSAGE_LIMIT],
                   text[-TRACEBACK_LIMIT:], time.monotonic() - started)


def _oracle(stage: str, kind: str, at: str, message: str, started: float) -> Outcome:
    return Outcome("finding", stage, kind, at, 0, message[:MESSAGE_LIMIT], "", time.monotonic() - started)


# -- oracles ----------------------------------------------------------------------------------------------


def _rate_path_problem(path: str, folder: Path) -> str | None:
    """Why a rate path that a policy was allowed to name breaks SPEC §12, or None."""
    try:
        if os.path.isabs(path):
            return "absolute path"
        base = os.path.realpath(folder)
        full = os.path.realpath(folder / path)
        if os.path.commonpath([base, full]) != base:
            link = os.path.commonpath([base, os.path.abspath(folder / path)]) == base
            return "link out of the policy folder" if link else "path out of the policy folder"
        if os.path.exists(full) and not os.path.isfile(full):
            return "not a regular file"
        if os.path.isfile(full) and os.path.getsize(full) > RATE_LIMIT_BYTES:
            return "file over 10 MB"
    except ValueError:
        return "NUL byte in the path"
    return None


def _pattern(message: str) -> str:
    """A message with its particulars (quoted text, numbers) left out, so that findings group."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message.splitlines()[0] if message else "")
    return re.sub(r"\d+", "N", text)[:80]


def _difference(a: Any, b: Any, path: str = "policy") -> str | None:
    """The first field (list indexes left out, so that findings group) where ``a`` and ``b`` differ."""
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        for f in dataclasses.fields(a):
            if f.compare:
                d = _difference(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
                if d:
                    return d
        return None
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        for x, y in zip(a, b):
            d = _difference(x, y, f"{path}[]")
            if d:
                return d
        return None
    return None if a == b else path


def _round_trip(policy: Any, case: Case, name: str, data: bytes, started: float) -> Outcome | None:
    from ...errors import PolicyError
    from ...policy.load import load_policy_text
    from ...policy.printer import format_policy, read_policy

    _, comments, _ = read_policy(Path(name)) if case.via == "path" else read_policy(data)
    for form in ("yaml", "dsl"):
        text = format_policy(policy, form, comments)
        try:
            again = load_policy_text(text, format=form, name=f"printed.{form}")
        except PolicyError as e:
            return _oracle("roundtrip", "RoundTripUnreadable", f"to_{form}: {_pattern(e.message)}", e.render(), started)
        if again != policy:
            at = _difference(policy, again) or "policy"
            return _oracle("roundtrip", "RoundTripChanged", f"to_{form}: {at}", text[:2000], started)
        if format_policy(again, form) != format_policy(policy, form):
            return _oracle("roundtrip", "FormatNotIdempotent", f"to_{form}", text[:2000], started)
    return None


# -- running a case ---------------------------------------------------------------------------------------


def _stage(state: dict, name: str) -> None:
    """Enter stage ``name``: each stage (one operation a user runs) gets the whole time limit."""
    state["stage"] = name
    if state["limit"]:
        arm(state["limit"])


def _policy_case(case: Case, folder: Path, state: dict) -> Outcome | None:
    from ...compliance.check import compliance_warnings
    from ...run import simulate
    from ...policy.describe import summarize
    from ...policy.graph import render_graph
    from ...policy.lint import lint_policy
    from ...policy.load import load_policy, load_policy_text
    from .records import portfolio

    name = case.policy_name
    data = case.files[name]
    _stage(state, "load")
    policy = load_policy(Path(name)) if case.via == "path" else load_policy_text(data)
    state["loaded"] = True
    # A policy given as text has no folder and reads no file (its file tables are refused when it
    # runs), so only a policy loaded from its path can break the confinement.
    for table in policy.rates if case.via == "path" else ():
        problem = table.path is not None and _rate_path_problem(table.path, folder)
        if problem:
            return _oracle("load", "RatePathAccepted", f"rates: {problem}", repr(table.path), state["started"])
    _stage(state, "lint")
    lint_policy(policy)
    compliance_warnings(policy)
    _stage(state, "roundtrip")
    found = _round_trip(policy, case, name, data, state["started"])
    if found:
        return found
    _stage(state, "graph")
    render_graph(policy, "mermaid")
    render_graph(policy, "dot", "note")
    summarize(policy)
    _stage(state, "simulate")
    records = portfolio(random.Random(case.seed), policy.currency or "USD")
    simulate(policy, **records, until=case.until, explain=case.seed % 3 == 0)
    return None


def _records_from(data: bytes) -> list[Any]:
    """The JSON lines of a file that parse (for the Python API, which takes dicts); never raises."""
    out = []
    for line in data.split(b"\n"):
        try:
            out.append(json.loads(line))
        except Exception:  # noqa: BLE001 - the harness's own parsing, not the project's
            continue
    return out


def _records_case(case: Case, state: dict) -> Outcome | None:
    from ...run import simulate

    files = {n.split(".")[0]: n for n in case.files if not n.endswith((".yaml", ".yml", ".dunning"))}
    if case.via == "cli" or case.via == "cli-closed-stdout":
        from ...cli.main import cli

        _stage(state, "cli")
        out, err = sys.stdout, sys.stderr
        sys.stdout = None if case.via == "cli-closed-stdout" else io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        try:
            cli.main(args=list(case.args), prog_name="dunning", standalone_mode=True)
        except SystemExit as e:
            if e.code not in (None, 0, 1, 2):
                raise
        finally:
            sys.stdout, sys.stderr = out, err
        return None
    _stage(state, "simulate")
    kwargs: dict[str, Any]
    if case.via == "api":
        kwargs = {k: (_records_from(case.files[n]) if n.endswith((".jsonl", ".ndjson")) else n)
                  for k, n in files.items()}
    else:
        kwargs = dict(files)
    kwargs.setdefault("invoices", ())
    simulate(case.policy_name, **kwargs, until=case.until, explain=case.seed % 2 == 0)
    return None


def execute(case: Case, folder: Path, time_limit: float | None = None) -> Outcome:
    """Run ``case`` with its files in ``folder`` (the current directory meanwhile), each stage
    within ``time_limit`` seconds per 100 KB of input (:func:`stage_limit`, :func:`arm`; None: no
    limit). Never raises (but
    KeyboardInterrupt, and :class:`Hang` if a timer fires as the case ends)."""
    from ...errors import DunningError

    before = set(os.listdir(folder))
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    cwd = os.getcwd()
    os.chdir(folder)
    limit = stage_limit(time_limit, case) if time_limit else None
    state: dict[str, Any] = {"stage": "load", "loaded": False, "started": time.monotonic(), "limit": limit}
    try:
        try:
            _stage(state, "load")
            found = _policy_case(case, folder, state) if case.kind == "policy" else _records_case(case, state)
        finally:
            if time_limit:
                disarm()  # nothing after the case itself is timed
        outcome = found or Outcome("ok", state["stage"])
    except DunningError:
        outcome = Outcome("refused", state["stage"])
    except SystemExit as e:
        outcome = _finding(state["stage"], e, state["started"], f"SystemExit({e.code!r})")
    except KeyboardInterrupt:
        raise
    except Hang as e:
        outcome = _finding(state["stage"], e, state["started"], "Hang")
    except BaseException as e:  # noqa: BLE001 - every other exception is what we look for
        outcome = _finding(state["stage"], e, state["started"])
    finally:
        os.chdir(cwd)
        for name in set(os.listdir(folder)) - before:
            try:
                os.unlink(folder / name)
            except OSError:
                pass
    outcome.loaded = state["loaded"]
    outcome.seconds = time.monotonic() - state["started"]
    return regroup_large_hang(outcome, case)


def regroup_large_hang(outcome: Outcome, case: Case) -> Outcome:
    """Where a large input was when time ran out says little (anywhere on a slow path): such hangs
    are grouped by stage, as evidence that cost does not grow linearly with size (SPEC §12)."""
    if outcome.type == "Hang" and case.size > LARGE_INPUT and not outcome.where.endswith(" KB"):
        outcome.message = f"{outcome.message}; stuck in {outcome.where}, line {outcome.line}"
        outcome.where, outcome.line = f"{outcome.stage} of an input over {LARGE_INPUT // 1000} KB", 0
    return outcome
