"""Policy tools for the command line: convert, fmt, graph (issue 4).

Each command imports the policy modules inside its function, so that
``dunning --help`` stays fast. A policy error prints every error (file, line,
column, the source line with a caret, a help line) to stderr and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import echo, emit_errors, format_option, policy_input, print_json, write_text


def _fail(error) -> None:
    """Print a PolicyError (all of its errors) to stderr and exit 1."""
    emit_errors(error.errors)
    sys.exit(1)


def _read(path: str):
    from ..errors import PolicyError
    from ..policy.printer import read_policy

    try:
        return read_policy(Path(path))
    except PolicyError as e:
        _fail(e)


@click.command()
@policy_input()
@click.option("--to", "target", type=click.Choice(["yaml", "dsl"]), required=True,
              help="The form to print: yaml (.yaml) or dsl (.dunning).")
def convert(policy: str, target: str) -> None:
    """Print a policy in the other form (YAML <-> DSL).

    Lossless both ways: loading the output gives the same policy. Comments are
    kept where they can be (before settings, states, rules and actions, and at
    the end of their lines). Exit 1 when the policy is invalid.
    """
    from ..policy.printer import format_policy

    loaded, comments, _ = _read(policy)
    echo(format_policy(loaded, target, comments), nl=False)


@click.command()
@policy_input(many=True)
@click.option("--check", is_flag=True, help="Print the files that would change and exit 1 if any would.")
@click.option("-w", "--write", is_flag=True, help="Rewrite the files in place (each rewritten file is named on stderr).")
@format_option(dest="output", help="text for people, json (one document, docs/cli.md) for machines.")
def fmt(policies: tuple[str, ...], check: bool, write: bool, output: str) -> None:
    """Print or rewrite policies in their canonical layout.

    Keeps the form of each file (YAML or DSL). With one POLICY and no option,
    prints the canonical text on stdout. With --check, lists the files that
    are not canonical (exit 1 if any). With -w, rewrites them in place and
    names each on stderr; the new text is read back first, and a file is not
    written if its policy would change. With --format json, one document:
    each file with whether it changed (and its canonical text when printed).
    Exit 1 when a policy is invalid.
    """
    files = policies
    from ..errors import Diagnostic, PolicyError
    from ..policy.load import load_policy_text
    from ..policy.printer import format_policy, read_policy

    if check and write:
        raise click.UsageError("use either --check or -w, not both")
    if len(files) > 1 and not (check or write):
        raise click.UsageError("give one file to print, or use --check or -w with several")
    text = output == "text"
    changed: list[str] = []
    done: list[dict] = []
    diagnostics: list[Diagnostic] = []
    failed = False

    def broken(path: str, message: str) -> None:  # pragma: no cover - a printer bug, never the author's
        diagnostics.append(Diagnostic("format-failed", f"{message}; the file is left as it is", file=path,
                                      help="please report it, with the policy"))
        if text:
            click.echo(f"{path}: error: {message}; the file is left as it is", err=True)

    for path in files:
        try:
            policy, comments, form = read_policy(Path(path))
        except PolicyError as e:
            diagnostics += e.diagnostics
            if text:
                emit_errors(e.errors)
            failed = True
            continue
        new = format_policy(policy, form, comments)
        try:
            again = load_policy_text(new, format=form, name=path)
        except PolicyError as e:  # pragma: no cover - a printer bug, never the author's
            broken(path, f"the formatted text does not read back ({e.message})")
            failed = True
            continue
        if again != policy:  # pragma: no cover - a printer bug, never the author's
            broken(path, "formatting would change the policy")
            failed = True
            continue
        with open(path, "rb") as fh:
            old = fh.read().decode("utf-8", "replace")
        done.append({"file": path, "changed": old != new})
        if not (check or write):
            if text:
                echo(new, nl=False)
            else:
                done[-1]["text"] = new
            continue
        if old == new:
            continue
        changed.append(path)
        if write:
            write_text(path, new)
            if text:
                click.echo(f"reformatted {path}", err=True)
        else:
            diagnostics.append(Diagnostic("not-formatted", "the file is not in its canonical layout", file=path,
                                          help=f"run 'dunning fmt -w {path}'"))
            if text:
                echo(path)
    fails = failed or bool(check and changed)
    if not text:
        print_json("fmt", diagnostics, ok=not fails, summary={"files": len(files), "changed": len(changed)},
                   files=done)
    elif check and changed and not failed:
        click.echo(f"{len(changed)} of {len(files)} file(s) would be reformatted", err=True)
    if fails:
        sys.exit(1)


@click.command()
@policy_input()
@click.option("--format", "fmt_", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="mermaid (stateDiagram-v2) or dot (Graphviz).")
@click.option("--any-state", "any_state", type=click.Choice(["edges", "note"]), default="edges", show_default=True,
              help="Draw 'any state' rules as edges from every state they apply to, or list them in a note.")
def graph(policy: str, fmt_: str, any_state: str) -> None:
    """Print the state diagram of a policy (mermaid or dot).

    Transitions carry their triggers, guards and actions. Exit 1 when the
    policy is invalid.
    """
    from ..policy.graph import render_graph

    loaded, _, _ = _read(policy)
    echo(render_graph(loaded, fmt_, any_state), nl=False)
