"""Load a policy from a file or from text, in either form (YAML or DSL)."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

from ..errors import Location, PolicyError, Source
from . import ir

__all__ = ["load_policy", "load_policy_text", "policy_format", "read_policy_file", "MAX_POLICY_BYTES"]

YAML_SUFFIXES = (".yaml", ".yml")
DSL_SUFFIXES = (".dunning",)

MAX_POLICY_BYTES = 1_000_000
"""Largest policy file, in bytes (SPEC §12); both readers refuse larger text too."""


def policy_format(path: str | os.PathLike) -> str:
    """'yaml' or 'dsl' from a file name; PolicyError for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix in DSL_SUFFIXES:
        return "dsl"
    raise PolicyError(f"cannot tell the form of policy file '{path}'",
                      help="policy files end in .yaml or .yml (YAML form) or .dunning (DSL form)",
                      code="unknown-policy-form")


def _sniff(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return "yaml" if stripped.startswith(("policy:", "---", "{")) or ":" in stripped.split()[0] else "dsl"
    return "yaml"


def load_policy_text(text: str | bytes, *, format: str | None = None, name: str | None = None,
                     folder: str | os.PathLike | None = None) -> ir.Policy:
    """Load a policy from text. ``format`` is 'yaml' or 'dsl' (guessed when None).

    ``name`` is how errors name the text (a file name, say). ``folder`` is the folder that the
    policy's rate table files are read from and confined to; text without one has no files:
    its ``rates:`` tables must be inline (a file table is an error when the rates are read, see
    docs/decisions.md). Rate paths are checked here either way (see :func:`load_policy`).
    """
    if format is None:
        if isinstance(text, bytes):
            try:
                format = _sniff(text.decode("utf-8", errors="replace"))
            except Exception:  # pragma: no cover
                format = "yaml"
        else:
            format = _sniff(text)
    if format == "yaml":
        from .build import build_policy
        from .yaml_source import load_yaml

        policy = build_policy(load_yaml(text, name), path=name)
    elif format == "dsl":
        from .dsl import load_dsl

        policy = load_dsl(text, name)
    else:
        raise PolicyError(f"unknown policy format '{format}'", help="use 'yaml' or 'dsl'", code="unknown-format")
    if folder is not None:
        policy = dataclasses.replace(policy, folder=os.path.abspath(folder))
    if any(t.path is not None for t in policy.rates):
        from ..engine.rates import check_rate_files

        check_rate_files(policy)
    return policy


def load_policy(source: str | os.PathLike, *, format: str | None = None) -> ir.Policy:
    """Load and check a policy.

    ``source`` is a path (a ``Path``, or a one-line string naming a ``.yaml``,
    ``.yml`` or ``.dunning`` file) or the policy text itself. Raises
    ``PolicyError`` (a ``ValueError``) with file, line and column.

    A policy read from a file reads its rate tables from that file's folder: each path must
    resolve inside the folder, to a regular file of at most 10 MB, which is checked here (so
    ``dunning validate`` refuses the others, at the path's position).
    """
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source
        and (source.lower().endswith(YAML_SUFFIXES + DSL_SUFFIXES) or os.path.isfile(source))
    ):
        path = os.fspath(source)
        fmt = format or policy_format(path)
        data = read_policy_file(path)
        return load_policy_text(data, format=fmt, name=path, folder=os.path.dirname(os.path.abspath(path)))
    return load_policy_text(source, format=format)


def read_policy_file(path: str) -> bytes:
    """The bytes of policy file ``path``: a regular file of at most :data:`MAX_POLICY_BYTES`.

    A directory, a FIFO or a device is refused from its ``stat``, before anything is opened (so
    nothing waits for a writer), and at most one byte over the limit is read."""
    where = Location(Source(path, ""), 1, 1)
    try:
        st = os.stat(path)
        regular = stat.S_ISREG(st.st_mode)
        if regular:
            with open(path, "rb") as f:
                data = f.read(MAX_POLICY_BYTES + 1)
    except (OSError, ValueError) as e:
        raise PolicyError(f"cannot read policy file '{path}': {getattr(e, 'strerror', None) or e}",
                          help="check the path and that the file is readable", code="cannot-read") from None
    if not regular:
        raise PolicyError(f"policy file '{path}' is not a regular file", where,
                          help="name a .yaml, .yml or .dunning file", code="not-a-file")
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"the policy file is too large; the limit is {MAX_POLICY_BYTES:,} bytes (1 MB)", where,
                          help="split it, or move long lists (rate tables) into files", code="too-large")
    return data
