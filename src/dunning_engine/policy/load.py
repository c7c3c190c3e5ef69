"""Load a policy from a file or from text, in either form (YAML or DSL)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PolicyError
from . import ir

__all__ = ["load_policy", "load_policy_text", "policy_format"]

YAML_SUFFIXES = (".yaml", ".yml")
DSL_SUFFIXES = (".dunning",)


def policy_format(path: str | os.PathLike) -> str:
    """'yaml' or 'dsl' from a file name; PolicyError for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix in DSL_SUFFIXES:
        return "dsl"
    raise PolicyError(f"cannot tell the form of policy file '{path}'",
                      help="policy files end in .yaml or .yml (YAML form) or .dunning (DSL form)")


def _sniff(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return "yaml" if stripped.startswith(("policy:", "---", "{")) or ":" in stripped.split()[0] else "dsl"
    return "yaml"


def load_policy_text(text: str | bytes, *, format: str | None = None, name: str | None = None) -> ir.Policy:
    """Load a policy from text. ``format`` is 'yaml' or 'dsl' (guessed when None)."""
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

        return build_policy(load_yaml(text, name), path=name)
    if format == "dsl":
        from .dsl import load_dsl

        return load_dsl(text, name)
    raise PolicyError(f"unknown policy format '{format}'", help="use 'yaml' or 'dsl'")


def load_policy(source: str | os.PathLike, *, format: str | None = None) -> ir.Policy:
    """Load and check a policy.

    ``source`` is a path (a ``Path``, or a one-line string naming a ``.yaml``,
    ``.yml`` or ``.dunning`` file) or the policy text itself. Raises
    ``PolicyError`` (a ``ValueError``) with file, line and column.
    """
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source
        and (source.lower().endswith(YAML_SUFFIXES + DSL_SUFFIXES) or os.path.isfile(source))
    ):
        path = os.fspath(source)
        fmt = format or policy_format(path)
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise PolicyError(f"cannot read policy file '{path}': {e.strerror or e}",
                              help="check the path and that the file is readable") from None
        return load_policy_text(data, format=fmt, name=path)
    return load_policy_text(source, format=format)
