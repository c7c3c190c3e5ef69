"""Worker processes that run cases under a time and a memory limit (:class:`Pool`).

Each worker is a forked process serving one case at a time over a pipe, in its own trap folder
(:func:`.worker.prepare_folder`). Limits, from the inside out:

* timers (``setitimer``, :func:`.worker.arm`) raise :class:`.worker.Hang` when a stage of the
  case has run ``time_limit`` seconds of CPU time per 100 KB of input (:func:`.worker.stage_limit`;
  CPU time: a busy machine does not make a slow case a hang), or ten times that of wall-clock
  time (a case that waits), so a hang in Python code is reported with its place;
* ``faulthandler`` dumps the stack and ends the process ``WATCHDOG`` times that (+ 5 s) in (a
  hang in C code that the timers cannot interrupt), and on a fatal signal (a crash);
* the parent kills a worker that has not answered 10 s after that;
* ``RLIMIT_AS`` caps the worker's address space at what it had when it started plus
  ``memory_mb`` (a blow-up ends in ``MemoryError``); ``RLIMIT_FSIZE`` caps files it writes.

A worker that hung, ran out of memory or crashed is replaced by a fresh one.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import re
import resource
import shutil
import signal
import tempfile
import time
from multiprocessing.connection import wait
from typing import Any, Iterable, Iterator

from .case import Case, Outcome
from .worker import Hang, disarm, execute, prepare_folder, regroup_large_hang, stage_limit, where

__all__ = ["Pool"]

FILE_LIMIT_BYTES = 256 * 1024 * 1024
_RESTART = ("Hang", "MemoryError", "RecursionError")
WATCHDOG = 12  # a worker silent for WATCHDOG * time_limit (+ 5 s) is stuck outside Python code
_FRAME = re.compile(r'^\s*File "(.+)", line (\d+) in (\S+)')


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0  # pragma: no cover - not Linux


def _serve(conn, root: str, time_limit: float, memory_mb: int, fault_path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file over the limit: an OSError, not a kill
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT_BYTES, FILE_LIMIT_BYTES))
    folder = prepare_folder(root)
    if memory_mb:
        cap = _address_space() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    fault = open(fault_path, "w")
    faulthandler.enable(fault)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            break
        if message is None:
            break
        key, case = message
        faulthandler.dump_traceback_later(WATCHDOG * stage_limit(time_limit, case) + 5, exit=True, file=fault)
        try:
            outcome = execute(case, folder, time_limit)
        except Hang:  # a timer fired as the case ended, before execute() disarmed it
            outcome = Outcome("finding", "?", "Hang", "?", 0, "time limit reached as the case ended")
        finally:
            disarm()
            faulthandler.cancel_dump_traceback_later()
        conn.send((key, outcome))
        if outcome.type in _RESTART:
            break  # the next case gets a fresh process


def _dead_outcome(fault_path: str, exitcode: int | None, killed: bool, time_limit: float) -> Outcome:
    """What a worker that died without answering was doing, from its faulthandler dump."""
    try:
        with open(fault_path, errors="replace") as f:
            dump = f.read()
    except OSError:
        dump = ""
    frames = []
    for text in dump.splitlines():
        m = _FRAME.match(text)
        if m:
            frames.append((m.group(1), int(m.group(2)), m.group(3)))
        elif frames and text.strip() == "":
            break  # the first thread (the one that hung or crashed) only
    at, line = where(list(reversed(frames)))  # faulthandler lists the innermost frame first
    if killed or dump.startswith("Timeout"):
        kind, message = "Hang", f"no answer in {WATCHDOG * time_limit:g} s (stuck outside Python code)"
    else:
        first = next((x for x in dump.splitlines() if x.startswith("Fatal Python error")), "")
        kind, message = f"Crash({first[len('Fatal Python error: '):] or f'exit {exitcode}'})", first
    return Outcome("finding", "?", kind, at, line, message, dump[-6000:], time_limit)


class _Slot:
    def __init__(self, index: int, root: str) -> None:
        self.index, self.root = index, root
        self.fault = os.path.join(root, "faulthandler.txt")
        self.proc: Any = None
        self.conn: Any = None
        self.task: tuple[Any, Case] | None = None
        self.deadline = 0.0


def _warm() -> None:
    """Import what cases run here, once: every forked (and re-forked) worker starts with it."""
    from ...cli import main  # noqa: F401
    from ...compliance import check  # noqa: F401
    from ... import run  # noqa: F401
    from ...policy import describe, graph, lint, printer  # noqa: F401


class Pool:
    """``workers`` processes running cases; ``map`` yields ``(key, case, outcome)`` as they finish."""

    def __init__(self, workers: int = 2, time_limit: float = 10.0, memory_mb: int = 1024) -> None:
        _warm()
        self.workers, self.time_limit, self.memory_mb = max(1, workers), time_limit, memory_mb
        self._ctx = multiprocessing.get_context("fork")
        self._slots = [_Slot(i, tempfile.mkdtemp(prefix=f"dunning-fuzz-{i}-")) for i in range(self.workers)]

    def _start(self, slot: _Slot) -> None:
        parent, child = self._ctx.Pipe()
        slot.proc = self._ctx.Process(target=_serve, daemon=True,
                                      args=(child, slot.root, self.time_limit, self.memory_mb, slot.fault))
        slot.proc.start()
        child.close()
        slot.conn = parent

    def _stop(self, slot: _Slot, kill: bool = False) -> None:
        if slot.proc is None:
            return
        if kill and slot.proc.is_alive():
            slot.proc.kill()
        else:
            try:
                slot.conn.send(None)
            except (OSError, ValueError):
                pass
        slot.proc.join(5)
        if slot.proc.is_alive():
            slot.proc.kill()
            slot.proc.join()
        slot.conn.close()
        slot.proc = slot.conn = None

    def _feed(self, slot: _Slot, items: Iterator[tuple[Any, Case]]) -> None:
        try:
            key, case = next(items)
        except StopIteration:
            slot.task = None
            return
        if slot.proc is None or not slot.proc.is_alive():
            if slot.proc is not None:
                self._stop(slot)
            self._start(slot)
        slot.task = (key, case)
        slot.deadline = time.monotonic() + WATCHDOG * stage_limit(self.time_limit, case) + 15
        slot.conn.send((key, case))

    def map(self, items: Iterable[tuple[Any, Case]]) -> Iterator[tuple[Any, Case, Outcome]]:
        items = iter(items)
        for slot in self._slots:
            self._feed(slot, items)
        while True:
            busy = [s for s in self._slots if s.task is not None]
            if not busy:
                return
            timeout = max(0.0, min(s.deadline for s in busy) - time.monotonic())
            wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=timeout)
            for slot in busy:
                assert slot.task is not None
                key, case = slot.task
                outcome = None
                if slot.conn.poll():
                    try:
                        _, outcome = slot.conn.recv()
                    except (EOFError, OSError):
                        outcome = None
                if outcome is None and not slot.proc.is_alive():
                    slot.proc.join()
                    outcome = _dead_outcome(slot.fault, slot.proc.exitcode, False, self.time_limit)
                    self._stop(slot)
                elif outcome is None and time.monotonic() > slot.deadline:
                    self._stop(slot, kill=True)
                    outcome = _dead_outcome(slot.fault, None, True, self.time_limit)
                if outcome is None:
                    continue
                regroup_large_hang(outcome, case)
                slot.task = None
                if outcome.type in _RESTART and slot.proc is not None:
                    self._stop(slot)  # it ends itself after such a case: wait for it
                yield key, case, outcome
                self._feed(slot, items)

    def close(self) -> None:
        for slot in self._slots:
            self._stop(slot, kill=slot.task is not None)
            shutil.rmtree(slot.root, ignore_errors=True)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
