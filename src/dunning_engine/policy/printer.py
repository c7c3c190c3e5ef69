"""Printing a policy: IR -> DSL text and IR -> YAML text, in canonical layouts.

``to_dsl(policy)`` and ``to_yaml(policy)`` are lossless: loading their output
gives a policy equal to ``policy`` (``load(to_dsl(p)) == p``,
``load(to_yaml(p)) == p``). Expressions are printed in their canonical form
(``Expression.canonical``); action parameters are the ones the author wrote
(the IR keeps only those). Settings with a default that matters to a reader
(scope, timezone, send at) are always printed; the allocation order only when
it is not the default.

Comments: :func:`read_policy` also returns the file's :class:`Comments`,
attached to the places of the policy they stand before (the file header, a
setting, a segment, a state, an ``on enter`` list, a rule, an action, a
contact rule, a rate) or at the end of such a line; both printers put them
back at the same places, whatever form the policy is printed in. A comment
whose place no longer exists is printed before the next place, or at the end
of the file; nothing is dropped. From YAML, comments at the end of a line
are kept when the line holds no quotes, and only on lines that start a place.

The parts: ``phrases`` (a trigger, an action, a rule head in DSL words; DSL
literals), ``comments`` (finding comments and putting them back), ``print_dsl``
and ``print_yaml``; here, reading a file with its comments and choosing a form.
"""

from __future__ import annotations

import os

from . import ir
from .comments import Comments, extract_comments
from .phrases import dsl_string, format_action, format_rule_head, format_trigger
from .print_dsl import to_dsl
from .print_yaml import to_yaml, yaml_scalar

__all__ = [
    "to_dsl",
    "to_yaml",
    "format_policy",
    "read_policy",
    "Comments",
    "extract_comments",
    "format_trigger",
    "format_action",
    "format_rule_head",
    "dsl_string",
    "yaml_scalar",
]


def read_policy(source: str | os.PathLike | bytes, *, format: str | None = None,
                name: str | None = None) -> tuple[ir.Policy, Comments, str]:
    """Load a policy and its comments: ``(policy, comments, format)``.

    ``source`` is a path (``Path``, or a string naming a ``.yaml``, ``.yml`` or
    ``.dunning`` file) or the text itself (then ``format`` says which form, or
    it is guessed). Raises PolicyError like :func:`~.load.load_policy`.
    """
    from ..errors import PolicyError
    from .build import build_policy
    from .load import YAML_SUFFIXES, DSL_SUFFIXES, _sniff, policy_format, read_policy_file

    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.lower().endswith(YAML_SUFFIXES + DSL_SUFFIXES)
    ):
        path = os.fspath(source)
        fmt = format or policy_format(path)
        data: str | bytes = read_policy_file(path)  # a regular file, at most 1 MB read
        name = name or path
    else:
        data = source
        fmt = format or _sniff(data.decode("utf-8", "replace") if isinstance(data, bytes) else data)
    if fmt == "yaml":
        from .yaml_source import load_yaml

        root = load_yaml(data, name)
        policy = build_policy(root, path=name)
    elif fmt == "dsl":
        from .dsl import build_dsl, parse_dsl

        root = parse_dsl(data, name)
        policy = build_dsl(root, name)
    else:
        raise PolicyError(f"unknown policy format '{fmt}'", help="use 'yaml' or 'dsl'", code="unknown-format")
    text = root.source.text if root.source is not None else ""
    return policy, extract_comments(text, root, fmt), fmt


def format_policy(policy: ir.Policy, fmt: str, comments: Comments | None = None) -> str:
    """The canonical text of ``policy`` in ``fmt`` ('yaml' or 'dsl')."""
    if fmt == "dsl":
        return to_dsl(policy, comments)
    if fmt == "yaml":
        return to_yaml(policy, comments)
    raise ValueError(f"unknown format {fmt!r}")
