"""What every ``dunning`` command shares (SPEC §6).

- The policy: ``--policy P``, or P as the first argument (commands that take
  several policies take several arguments, and ``--policy`` repeated).
- ``--format``: ``text`` for people or ``json`` for machines: one document of one
  shape for every command (:func:`print_json`, docs/cli.md); ``graph`` alone
  chooses ``mermaid`` or ``dot``.
- Output: every write to standard output or to a file named on the command
  line goes through :func:`echo` / :func:`write_text`, so that a closed or full
  stream, or a pipe whose reader has gone, is an :class:`OutputError` naming
  it (exit 1), never a traceback or silently lost output.

Only click is imported at module level, so that ``dunning --help`` stays fast.
"""

from __future__ import annotations

import errno as _errno
import functools
import os
import sys

import click

from ..errors import OutputError

__all__ = ["color", "emit_errors", "echo", "write_text", "silence_stdout", "policy_input",
           "format_option", "print_json", "check_stdin", "FORMAT_KEY"]

FORMAT_KEY = "dunning.format"  # ctx.meta: the --format of the command being run
POLICY_HELP = "The policy (.yaml, .yml or .dunning); may also be given as the first argument."


def color(stream=None) -> bool:
    """Whether to color text written to ``stream`` (default stderr): a terminal, and NO_COLOR unset."""
    stream = stream if stream is not None else sys.stderr
    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def emit_errors(errors) -> None:
    """Print diagnostics (or errors) to stderr as text: position, source line with a caret, help.
    (With ``--format json`` they go into the command's JSON document instead: :func:`print_json`.)"""
    use_color = color()
    for e in errors:
        click.echo(e.render(color=use_color), err=True)


def _stdout_closed() -> OutputError:
    return OutputError.from_os_error(OSError(_errno.EBADF, "closed"), "-")


def echo(text: str = "", nl: bool = True) -> None:
    """Print ``text`` on standard output; a closed or failing stdout raises OutputError."""
    if sys.stdout is None:  # started with stdout closed (>&-): click would drop the text silently
        raise _stdout_closed()
    try:
        click.echo(text, nl=nl)
    except OSError as e:
        raise OutputError.from_os_error(e, "-") from None


def write_text(path: str, text: str) -> None:
    """Write ``text`` to the file ``path`` (UTF-8, ``\\n`` line ends); a failed write names the file."""
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as e:
        raise OutputError.from_os_error(e, path) from None


def silence_stdout() -> None:
    """After stdout failed: point it at the null device, so that Python's own flush at exit (of
    what is still buffered) neither fails again nor prints 'Exception ignored'."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def check_stdin(**paths: str | None) -> None:
    """Refuse ``-`` (standard input) for more than one input, or when stdin is closed."""
    dash = [name for name, value in paths.items() if value == "-"]
    if len(dash) > 1:
        raise click.UsageError(f"only one input can be read from standard input ('-'), not "
                               f"{' and '.join('--' + n for n in dash)}")
    if dash and sys.stdin is None:
        from ..errors import DunningError

        error = DunningError(f"error: cannot read standard input (--{dash[0]} -): it is closed\n"
                             f"help: give --{dash[0]} a file, or run the command with its input open")
        error.code = "stdin-closed"
        raise error


def policy_input(many: bool = False):
    """Add the policy inputs to a command: ``--policy P`` or a first argument (``many``: several
    of both). The command receives ``policy`` (a path), or ``policies`` (a tuple) when ``many``."""

    def decorate(f):
        @functools.wraps(f)
        def command(*args, policy_args, policy_opts, **kwargs):
            if many:
                given = tuple(policy_opts) + tuple(policy_args)
                if not given:
                    raise click.UsageError("give at least one policy file (POLICY... or --policy P)")
                kwargs["policies"] = given
            else:
                if policy_args and policy_opts and policy_args != policy_opts:
                    raise click.UsageError(f"two policies given ('{policy_args}' and --policy '{policy_opts}'): "
                                           "give one")
                given = policy_opts or policy_args
                if not given:
                    raise click.UsageError("give the policy: --policy P, or P as the first argument")
                kwargs["policy"] = given
            return f(*args, **kwargs)

        path = click.Path(dir_okay=False, allow_dash=False)
        command = click.option("--policy", "policy_opts", type=path, multiple=many, metavar="POLICY",
                               help=POLICY_HELP if not many else
                               "A policy (.yaml, .yml or .dunning); repeatable, or give them as arguments.")(command)
        command = click.argument("policy_args", nargs=-1 if many else 1, required=False, type=path,
                                 metavar="[POLICY...]" if many else "[POLICY]")(command)
        return command

    return decorate


def format_option(*choices: str, default: str | None = None, help: str | None = None, dest: str = "fmt"):
    """``--format``: text for people, json for machines (the same meaning in every command). The choice
    is remembered in ``ctx.meta`` so that an error that stops the command is printed in it too."""
    choices = choices or ("text", "json")

    def remember(ctx: click.Context, param: click.Parameter, value: str) -> str:
        ctx.meta[FORMAT_KEY] = value
        return value

    return click.option("--format", dest, type=click.Choice(list(choices)), default=default or choices[0],
                        show_default=True, callback=remember,
                        help=help or "text for people, json for machines.")


def print_json(command: str, diagnostics, *, ok: bool, summary: dict | None = None, **fields) -> None:
    """Print the JSON document of ``command`` (docs/cli.md) on standard output."""
    from .report import document, render

    echo(render(document(command, diagnostics, ok=ok, summary=summary, **fields)))
