"""Finding scenario files, and how their paths are shown."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

__all__ = ["SCENARIO_SUFFIX", "looks_like_scenario", "find_scenario_files", "display_path"]

SCENARIO_SUFFIX = ".test.yaml"


def looks_like_scenario(path: str | os.PathLike) -> bool:
    """True when ``path`` is a ``*.test.yaml`` file with a top-level ``policy:`` or ``cases:`` key.

    Other ``*.test.yaml`` files (another tool's, say) are left alone.
    """
    p = Path(path)
    if not p.name.endswith(SCENARIO_SUFFIX) or not p.is_file():
        return False
    try:
        with open(p, "rb") as fh:
            head = fh.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return False
    return re.search(r"(?m)^(policy|cases)\s*:", head) is not None


def find_scenario_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Scenario files under ``paths`` (directories are searched recursively), sorted, each once.

    A file named explicitly is taken whatever its name; files found in a
    directory must end in ``.test.yaml`` and look like a scenario.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            items = sorted(x for x in p.rglob(f"*{SCENARIO_SUFFIX}")
                           if not any(part.startswith(".") for part in x.relative_to(p).parts)
                           and looks_like_scenario(x))
        else:
            items = [p]
        for x in items:
            key = x.resolve()
            if key not in seen:
                seen.add(key)
                found.append(x)
    return found


def display_path(path: Path) -> str:
    """``path`` as reports show it: relative to the working directory when it is below it, else whole."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel == ".." or rel.startswith(".." + os.sep) else rel
