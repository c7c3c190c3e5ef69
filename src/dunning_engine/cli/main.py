"""The ``dunning`` command.

Exit status: 0 success, 1 failure of the input or of a test, 2 wrong usage.
Heavy modules are imported inside the commands so that ``dunning --help``
starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._version import __version__
from .common import check_stdin, color, echo, echo_bytes, emit_errors, format_option, policy_input, silence_stdout

__all__ = ["cli", "main", "emit_errors"]


class _Group(click.Group):
    """Turns any DunningError (or a file that cannot be read or written) that escapes a command into
    a message and exit 1, never a traceback."""

    def invoke(self, ctx):
        from ..errors import DunningError, OutputError, PolicyError

        try:
            return super().invoke(ctx)
        except OutputError as e:
            if e.target == "-":
                silence_stdout()  # what is still buffered must not fail again at exit
            click.echo(str(e), err=True)
            sys.exit(1)
        except PolicyError as e:
            click.echo(e.render(color=color()), err=True)
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
    """dunning-engine: collection policies as readable, testable code.

    \b
    Every command takes the policy as --policy P or as its first argument.
    --format chooses text (for people) or json (for machines).
    Exit status: 0 success, 1 bad input or a failed test, 2 wrong usage.
    """


@cli.command()
@policy_input(many=True)
@format_option(help="text for people, json (one object per line) for machines.")
@click.option("--summary", is_flag=True, help="Print a summary of each valid policy.")
@click.option("-v", "--verbose", is_flag=True, help="Print 'FILE: ok' for each valid policy too.")
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings (e.g. a policy its compliance packs will override).")
def validate(policies: tuple[str, ...], fmt: str, summary: bool, verbose: bool, strict: bool) -> None:
    """Parse and type-check policies.

    Policies are YAML (.yaml, .yml) or DSL (.dunning) files. Quiet when every file is valid; -v lists them. Each error is printed as
    file:line:col, the source line with a caret, and a help line. Warnings (contact rules and compliance packs the policy cannot
    keep, see docs/compliance.md) are printed too; they fail the run only with
    --strict. With --format json, one object per line: each error and
    warning on stderr, and {"file", "valid", "policy"} for each valid policy on
    stdout. Exit 1 when a file is invalid (or, with --strict, warned about).
    """
    from ..errors import PolicyError
    from ..policy.load import load_policy

    failed = 0
    warnings = 0
    for path in policies:
        try:
            policy = load_policy(Path(path))  # a path: an unknown suffix is an error with a help line
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

            echo(json.dumps({"file": path, "valid": True, "policy": policy.key}))
        else:
            if verbose:
                echo(f"{path}: ok ({policy.key}, {len(policy.states)} states)")
            if summary:
                from ..policy.describe import summarize

                echo(summarize(policy))
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
            click.echo(f"{failed} of {len(policies)} policy file(s) invalid", err=True)
        sys.exit(1)


def _check_instant(ctx, param, value):
    """Refuse a malformed --until/--since, or one outside 1900–2200, as wrong usage (exit 2). The value
    stays text: it is read in the policy's timezone once the policy is loaded."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    from ..run import bound

    try:
        bound(value, ZoneInfo("UTC"), end=param.name == "until")
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


def _portfolio_options(command):
    """The inputs of a run, shared by ``run`` and ``explain``."""
    options = [
        policy_input(),
        click.option("--invoices", required=True, type=click.Path(dir_okay=False, allow_dash=True),
                     help="Invoices, CSV with a header or JSONL ('-': standard input)."),
        click.option("--customers", type=click.Path(dir_okay=False, allow_dash=True),
                     help="Customers, CSV or JSONL ('-': standard input)."),
        click.option("--events", type=click.Path(dir_okay=False, allow_dash=True),
                     help="Events, JSONL ('-': standard input)."),
        click.option("--until", required=True, callback=_check_instant, metavar="T",
                     help="Run up to and including T; a date means through the end of that local day."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@_portfolio_options
@click.option("--since", callback=_check_instant, metavar="T",
              help="Write only actions from T on (a date: from 00:00 local); earlier ones advance state silently.")
@click.option("--out", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the actions (JSONL); default standard output.")
@click.option("--states", "states_path", type=click.Path(dir_okay=False), help="Write the final state of every case (JSONL).")
@click.option("--explain", is_flag=True, help="Add to each action the trigger, the guard and the values it read.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), help="Write rejected records here (JSONL).")
@click.option("-q", "--quiet", is_flag=True, help="Leave out the summary line on stderr.")
def run(policy, invoices, customers, events, until, since, out, states_path, explain, rejects_path, quiet) -> None:
    """Run a policy over records and write the actions (JSONL).

    Invalid records are reported on stderr with file, line and reason and
    skipped; the rest is processed. A one-line summary (cases by state,
    actions by type, records rejected) ends the run on stderr, unless -q.
    Exit 1 when a record was rejected, a case failed or an output cannot be
    written.
    """
    from ..run import run_files

    check_stdin(invoices=invoices, customers=customers, events=events)

    def report(text: str) -> None:
        click.echo(text, err=True)

    problems = run_files(
        policy, invoices=invoices, customers=customers, events=events, until=until, since=since,
        out=out, states=states_path, explain=explain, rejects=rejects_path,
        report=report, summary=None if quiet else report,
    )
    sys.exit(1 if problems else 0)


@cli.command()
@_portfolio_options
@click.option("--case", "case_id", required=True, help="The case to explain (invoice id, or customer id in customer scope).")
@click.option("--key", help="Explain only the action with this key.")
@format_option(help="text (a timeline) for people, json (one trace entry per line) for machines.")
def explain(policy, invoices, customers, events, until, case_id, key, fmt) -> None:
    """Explain a case: why its actions fired, why rules did not.

    Runs like 'dunning run' and prints the case's timeline: events, states
    entered, each rule that fired with its trigger, its guard and the values
    it read, each rule that did not and why, and the actions. Times are the
    policy's local time with their UTC offset. Exit 1 when the case is
    unknown or a record was rejected.
    """
    from ..engine.explain import case_timeline, render_timeline
    from ..run import simulate

    check_stdin(invoices=invoices, customers=customers, events=events)
    result = simulate(policy, invoices=invoices, customers=customers or (), events=events or (),
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

        echo_bytes(b"".join(dumps_record(entry) for entry in entries))
    else:
        case = result.engine.cases[case_id]
        echo(render_timeline(entries, result.engine.clock.tz, getattr(case, "currency", None)))
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
