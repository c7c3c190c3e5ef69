"""Policy tools for the command line: convert, fmt, graph (issue 4).

Each command imports the policy modules inside its function, so that
``dunning --help`` stays fast. A policy error prints every error (file, line,
column, the source line with a caret, a help line) to stderr and exits 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


def _color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


def _fail(error) -> None:
    """Print a PolicyError (all of its errors) to stderr and exit 1."""
    color = _color()
    for e in error.errors:
        click.echo(e.render(color=color), err=True)
    sys.exit(1)


def _read(path: str):
    from ..errors import PolicyError
    from ..policy.printer import read_policy

    try:
        return read_policy(Path(path))
    except PolicyError as e:
        _fail(e)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--to", "target", type=click.Choice(["yaml", "dsl"]), required=True,
              help="The form to print: yaml (.yaml) or dsl (.dunning).")
def convert(file: str, target: str) -> None:
    """Print a policy in the other form (YAML <-> DSL), on stdout.

    Lossless both ways: loading the output gives the same policy. Comments are
    kept where they can be (before settings, states, rules and actions, and at
    the end of their lines).
    """
    from ..policy.printer import format_policy

    policy, comments, _ = _read(file)
    click.echo(format_policy(policy, target, comments), nl=False)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Print the files that would change and exit 1 if any would.")
@click.option("-w", "--write", is_flag=True, help="Rewrite the files in place.")
def fmt(files: tuple[str, ...], check: bool, write: bool) -> None:
    """Print a policy in its canonical layout (YAML or DSL, the form of the file).

    With one FILE and no option, prints the canonical text on stdout. With
    --check, lists the files that are not canonical (exit 1 if any). With -w,
    rewrites them in place; the new text is read back first, and a file is not
    written if its policy would change.
    """
    from ..errors import PolicyError
    from ..policy.load import load_policy_text
    from ..policy.printer import format_policy

    if check and write:
        raise click.UsageError("use either --check or -w, not both")
    if len(files) > 1 and not (check or write):
        raise click.UsageError("give one file to print, or use --check or -w with several")
    changed: list[str] = []
    failed = False
    for path in files:
        from ..policy.printer import read_policy

        try:
            policy, comments, form = read_policy(Path(path))
        except PolicyError as e:
            for err in e.errors:
                click.echo(err.render(color=_color()), err=True)
            failed = True
            continue
        new = format_policy(policy, form, comments)
        try:
            again = load_policy_text(new, format=form, name=path)
        except PolicyError as e:  # pragma: no cover - a printer bug, never the author's
            click.echo(f"{path}: error: the formatted text does not read back ({e.message}); "
                       "the file is left as it is", err=True)
            failed = True
            continue
        if again != policy:  # pragma: no cover - a printer bug, never the author's
            click.echo(f"{path}: error: formatting would change the policy; the file is left as it is", err=True)
            failed = True
            continue
        with open(path, "rb") as fh:
            old = fh.read().decode("utf-8", "replace")
        if not (check or write):
            click.echo(new, nl=False)
            continue
        if old == new:
            continue
        changed.append(path)
        if write:
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(new)
            click.echo(f"reformatted {path}", err=True)
        else:
            click.echo(path)
    if failed:
        sys.exit(1)
    if check and changed:
        click.echo(f"{len(changed)} of {len(files)} file(s) would be reformatted", err=True)
        sys.exit(1)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt_", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="Mermaid (stateDiagram-v2) or Graphviz DOT.")
@click.option("--any-state", "any_state", type=click.Choice(["edges", "note"]), default="edges", show_default=True,
              help="Draw 'any state' rules as edges from every state they apply to, or list them in a note.")
def graph(file: str, fmt_: str, any_state: str) -> None:
    """Print the state diagram of a policy: transitions with their triggers, guards and actions."""
    from ..policy.graph import render_graph

    policy, _, _ = _read(file)
    click.echo(render_graph(policy, fmt_, any_state), nl=False)
