"""The ``dunning`` command.

Exit status: 0 success, 1 failure of the input or of a test, 2 wrong usage.
Heavy modules are imported inside the commands so that ``dunning --help``
starts fast.
"""

from __future__ import annotations

import sys

import click

from .._version import __version__


def _color(stream=None) -> bool:
    stream = stream or sys.stderr
    import os

    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def emit_errors(errors, fmt: str) -> None:
    """Print policy errors to stderr as text (with source and caret) or as JSON lines."""
    if fmt == "json":
        import json

        for e in errors:
            click.echo(json.dumps(e.to_dict(), ensure_ascii=False), err=True)
    else:
        color = _color()
        for e in errors:
            click.echo(e.render(color=color), err=True)


class _Group(click.Group):
    """Turns any DunningError (or a file that cannot be read or written) that escapes a command into
    a message and exit 1, never a traceback."""

    def invoke(self, ctx):
        from ..errors import DunningError, PolicyError

        try:
            return super().invoke(ctx)
        except PolicyError as e:
            click.echo(e.render(color=_color()), err=True)
            sys.exit(1)
        except DunningError as e:
            click.echo(str(e), err=True)
            sys.exit(1)
        except OSError as e:
            where = f" '{e.filename}'" if getattr(e, "filename", None) else ""
            click.echo(f"error: cannot use{where}: {e.strerror or e}\nhelp: check the path and its permissions", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dunning")
def cli() -> None:
    """dunning-engine: collection policies as readable, testable code."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="How to print errors: text for people, json (one object per line) for machines.")
@click.option("--summary", is_flag=True, help="Also print a summary of each valid policy.")
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings (e.g. a policy its compliance packs will override).")
def validate(files: tuple[str, ...], fmt: str, summary: bool, strict: bool) -> None:
    """Parse and type-check policies (YAML .yaml/.yml or DSL .dunning).

    Exit 0 when every file is valid, 1 otherwise; each error is printed as
    file:line:col, the source line with a caret, and a help line. Warnings
    (contact rules and compliance packs the policy cannot keep, see
    docs/compliance.md) are printed too; they fail the run only with --strict.
    """
    from ..errors import PolicyError
    from ..policy.load import load_policy

    failed = 0
    warnings = 0
    for path in files:
        try:
            policy = load_policy(path) if path.lower().endswith((".yaml", ".yml", ".dunning")) else None
            if policy is None:
                from ..policy.load import policy_format

                policy_format(path)  # raises with a help line
        except PolicyError as e:
            failed += 1
            errs = e.errors
            for err in errs:
                if err.location is None:
                    # Errors about the file as a whole still name it.
                    from ..errors import Location, Source

                    err.location = Location(Source(path, ""), 1, 1)
            emit_errors(errs, fmt)
            continue
        if fmt == "json":
            import json

            click.echo(json.dumps({"file": path, "valid": True, "policy": policy.key}))
        else:
            click.echo(f"{path}: ok ({policy.key}, {len(policy.states)} states)")
            if summary:
                from ..policy.describe import summarize

                click.echo(summarize(policy))
        from ..compliance.check import compliance_warnings

        warned = compliance_warnings(policy)
        if warned:
            emit_errors(warned, fmt)
            warnings += len(warned)
    if strict and warnings and not failed:
        if fmt == "text":
            click.echo(f"{warnings} warning(s) (--strict)", err=True)
        sys.exit(1)
    if failed:
        if fmt == "text":
            click.echo(f"{failed} of {len(files)} policy file(s) invalid", err=True)
        sys.exit(1)


def _check_instant(ctx, param, value):
    """Refuse a malformed --until/--since as wrong usage (exit 2). The value stays text: it is read
    in the policy's timezone once the policy is loaded."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    from ..io.readers import parse_instant

    try:
        parse_instant(value, ZoneInfo("UTC"))
    except ValueError as e:
        raise click.BadParameter(f"{e}; write a date (2026-03-01) or a datetime (2026-03-01T09:00)") from None
    return value


def _portfolio_options(command):
    """The inputs of a run, shared by ``run`` and ``explain``."""
    options = [
        click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False),
                     help="The policy (.yaml or .dunning)."),
        click.option("--invoices", required=True, type=click.Path(dir_okay=False), help="Invoices, CSV with a header or JSONL."),
        click.option("--customers", type=click.Path(dir_okay=False), help="Customers, CSV or JSONL."),
        click.option("--events", type=click.Path(dir_okay=False), help="Events, JSONL."),
        click.option("--until", required=True, callback=_check_instant,
                     help="Run up to and including this instant (a date means 00:00 local)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@_portfolio_options
@click.option("--since", callback=_check_instant, help="Actions before this instant advance state silently.")
@click.option("--out", default="-", type=click.Path(dir_okay=False, allow_dash=True), help="Where to write actions (JSONL); default stdout.")
@click.option("--states", "states_path", type=click.Path(dir_okay=False), help="Write the final state of every case (JSONL).")
@click.option("--explain", is_flag=True, help="Add to each action the trigger, the guard and the values it read.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), help="Write rejected records here (JSONL).")
def run(policy_path, invoices, customers, events, until, since, out, states_path, explain, rejects_path) -> None:
    """Run a policy over invoices and events and write the actions (JSONL).

    Invalid records are reported with file, line and reason and skipped; the
    rest is processed. Exit status 1 if any record was rejected.
    """
    from ..engine.runner import run_files

    problems = run_files(
        policy_path, invoices=invoices, customers=customers, events=events, until=until, since=since,
        out=out, states=states_path, explain=explain, rejects=rejects_path,
        report=lambda text: click.echo(text, err=True),
    )
    sys.exit(1 if problems else 0)


@cli.command()
@_portfolio_options
@click.option("--case", "case_id", required=True, help="The case to explain (invoice id, or customer id in customer scope).")
@click.option("--key", help="Explain only the action with this key.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(policy_path, invoices, customers, events, until, case_id, key, fmt) -> None:
    """Why each action of a case fired (trigger, guard, values read), and why other rules did not."""
    from ..engine.explain import case_timeline, render_timeline
    from ..engine.runner import simulate

    result = simulate(policy_path, invoices=invoices, customers=customers or (), events=events or (),
                      until=until, explain=True)
    for e in result.rejects:
        click.echo(e.render(), err=True)
    try:
        entries = case_timeline(result.engine, case_id, key)
    except KeyError:
        known = sorted(result.engine.cases)
        from ..errors import did_you_mean

        hint = did_you_mean(case_id, known) or f"cases: {', '.join(known[:10])}"
        click.echo(f"error: no case '{case_id}'\nhelp: {hint}", err=True)
        sys.exit(1)
    if key is not None and not entries:
        click.echo(f"error: case '{case_id}' has no action with key '{key}'", err=True)
        sys.exit(1)
    if fmt == "json":
        from ..io.writers import dumps_record

        for entry in entries:
            sys.stdout.buffer.write(dumps_record(entry)) if hasattr(sys.stdout, "buffer") else click.echo(dumps_record(entry).decode(), nl=False)
    else:
        click.echo(render_timeline(entries))
    sys.exit(1 if result.rejects else 0)


def _register_tools() -> None:
    """Commands defined in sibling modules (each keeps its heavy imports inside the command)."""
    from . import tools

    for name in ("convert", "fmt", "graph"):
        command = getattr(tools, name, None)
        if command is not None:
            cli.add_command(command)
    __import__(f"{__package__}.testing", fromlist=["register"]).register(cli)  # test, check, lint (issue 7)


_register_tools()


def main() -> None:
    cli(prog_name="dunning")


if __name__ == "__main__":  # pragma: no cover
    main()
