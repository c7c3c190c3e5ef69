"""The ``dunning`` command.

Exit status: 0 success, 1 failure of the input or of a test, 2 wrong usage.
Heavy modules are imported inside the commands so that ``dunning --help``
starts fast.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .._version import __version__
from .common import (FORMAT_KEY, check_stdin, color, echo, emit_errors, format_option, policy_input, print_json,
                     silence_stdout)

__all__ = ["cli", "main", "emit_errors"]


class _Group(click.Group):
    """Turns any DunningError (or a file that cannot be read or written) that escapes a command into
    a message and exit 1, never a traceback; with ``--format json``, into the command's JSON document
    (docs/cli.md)."""

    def invoke(self, ctx):
        from ..errors import DunningError, OutputError, PolicyError

        try:
            return super().invoke(ctx)
        except OutputError as e:
            if e.target == "-":
                silence_stdout()  # what is still buffered must not fail again at exit
                click.echo(str(e), err=True)  # not as JSON: standard output is what failed
                sys.exit(1)
            self.fail(ctx, [e.diagnostic], str(e))
        except PolicyError as e:
            self.fail(ctx, e.diagnostics, e.render(color=color()))
        except DunningError as e:
            self.fail(ctx, [e.diagnostic], str(e))
        except OSError as e:
            from ..errors import Diagnostic

            where = f" '{e.filename}'" if getattr(e, "filename", None) else ""
            reason = e.strerror or str(e)
            help = "check the path and its permissions"
            self.fail(ctx, [Diagnostic("cannot-read", f"cannot use{where}: {reason}", help=help,
                                       file=None if e.filename is None else str(e.filename))],
                      f"error: cannot use{where}: {reason}\nhelp: {help}")

    @staticmethod
    def fail(ctx, diagnostics, text: str):
        """Exit 1 after printing ``text`` on stderr, or with --format json the command's document."""
        if ctx.meta.get(FORMAT_KEY) == "json":
            from .report import document, render

            command = ctx.invoked_subcommand or "dunning"
            if command == "run":  # its standard output is for actions: its report goes to stderr
                click.echo(render(document(command, diagnostics, ok=False)), err=True)
            else:
                print_json(command, diagnostics, ok=False)
        else:
            click.echo(text, err=True)
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
@format_option(help="text for people, json (one document, docs/cli.md) for machines.")
@click.option("--summary", is_flag=True, help="Print a summary of each valid policy.")
@click.option("-v", "--verbose", is_flag=True, help="Print 'FILE: ok' for each valid policy too.")
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings (e.g. a policy its compliance packs will override).")
def validate(policies: tuple[str, ...], fmt: str, summary: bool, verbose: bool, strict: bool) -> None:
    """Parse and type-check policies.

    Policies are YAML (.yaml, .yml) or DSL (.dunning) files. Quiet when every file is valid; -v lists them. Each error is printed as
    file:line:col, the source line with a caret, and a help line. Warnings (contact rules and compliance packs the policy cannot
    keep, see docs/compliance.md) are printed too; they fail the run only with
    --strict. With --format json, one document on stdout: the errors and
    warnings as diagnostics, and {"file", "valid", "policy"} for each file
    under "policies". Exit 1 when a file is invalid (or, with --strict, warned about).
    """
    from ..compliance.check import compliance_warnings
    from ..errors import Diagnostic, Location, PolicyError, Source
    from ..policy.load import load_policy

    failed = 0
    warnings = 0
    diagnostics: list[Diagnostic] = []
    checked: list[dict] = []
    for path in policies:
        try:
            policy = load_policy(Path(path))  # a path: an unknown suffix is an error with a help line
        except PolicyError as e:
            failed += 1
            errs = e.errors
            for err in errs:
                if err.location is None:  # errors about the file as a whole still name it
                    err.location = Location(Source(path, ""), 1, 1)
            checked.append({"file": path, "valid": False, "policy": None})
            if fmt == "json":
                diagnostics += [err.diagnostic for err in errs]
            else:
                emit_errors(errs)
            continue
        checked.append({"file": path, "valid": True, "policy": policy.key})
        if fmt == "text":
            if verbose:
                echo(f"{path}: ok ({policy.key}, {len(policy.states)} states)")
            if summary:
                from ..policy.describe import summarize

                echo(summarize(policy))
        warned = compliance_warnings(policy)
        warnings += len(warned)
        if fmt == "json":
            diagnostics += [w.diagnostic for w in warned]
        else:
            emit_errors(warned)
    fails = bool(failed or (strict and warnings))
    if fmt == "json":
        print_json("validate", diagnostics, ok=not fails, summary={"files": len(policies), "invalid": failed},
                   policies=checked)
    elif failed:
        click.echo(f"{failed} of {len(policies)} policy file(s) invalid", err=True)
    elif strict and warnings:
        click.echo(f"{warnings} warning(s) (--strict)", err=True)
    if fails:
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


def _portfolio_options(command, invoices_required: bool = True):
    """The inputs of a run, shared by ``run`` and ``explain``."""
    options = [
        policy_input(),
        click.option("--invoices", required=invoices_required, type=click.Path(dir_okay=False, allow_dash=True),
                     help="Invoices, CSV with a header or JSONL ('-': standard input)"
                          + ("." if invoices_required else "; required without --store.")),
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
@functools.partial(_portfolio_options, invoices_required=False)
@click.option("--store", metavar="URL",
              help="Run on a store (a path, sqlite:///PATH or postgresql://...): ingest what is new, advance its "
                   "clock to --until, write the new actions to its outbox (docs/store.md).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="With --store: how long to wait for another run on the store to end.")
@click.option("--since", callback=_check_instant, metavar="T",
              help="Write only actions from T on (a date: from 00:00 local); earlier ones advance state silently.")
@click.option("--out", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the actions (JSONL); default standard output.")
@click.option("--states", "states_path", type=click.Path(dir_okay=False), help="Write the final state of every case (JSONL).")
@click.option("--explain", is_flag=True, help="Add to each action the trigger, the guard and the values it read.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), help="Write rejected records here (JSONL).")
@click.option("-q", "--quiet", is_flag=True, help="Leave out the summary line on stderr.")
@format_option(help="The report on stderr: text for people, json (one document, docs/cli.md) for machines; "
                    "the actions are JSONL either way.")
def run(policy, invoices, customers, events, store, lock_timeout, until, since, out, states_path, explain,
        rejects_path, quiet, fmt) -> None:
    """Run a policy over records and write the actions (JSONL).

    Invalid records are reported on stderr with file, line and reason and
    skipped; the rest is processed. A one-line summary (cases by state,
    actions by type, records rejected) ends the run on stderr, unless -q.
    With --format json, the report on stderr is one JSON document instead
    (standard output holds the actions). With --store, the run goes on from
    the store's clock and the new actions go to its outbox (and to --out when
    given): docs/store.md. Exit 1 when a record was rejected, a case failed,
    an output cannot be written or the store cannot be used.
    """
    from ..run import run_files

    check_stdin(invoices=invoices, customers=customers, events=events)
    if store is not None:
        _run_store(policy, store, invoices, customers, events, until, since, out, states_path, explain, rejects_path,
                   quiet, fmt, lock_timeout)
        return
    if invoices is None:
        raise click.UsageError("Missing option '--invoices' (it may be left out only with --store).")

    def report(text: str) -> None:
        click.echo(text, err=True)

    def report_json(found, figures) -> None:
        from .report import document, render

        click.echo(render(document("run", found, ok=not found, summary=figures)), err=True)

    problems = run_files(
        policy, invoices=invoices, customers=customers, events=events, until=until, since=since,
        out=out, states=states_path, explain=explain, rejects=rejects_path,
        report=report, summary=None if quiet else report, diagnostics=report_json if fmt == "json" else None,
    )
    sys.exit(1 if problems else 0)


def _run_store(policy, url, invoices, customers, events, until, since, out, states_path, explain, rejects_path,
               quiet, fmt, lock_timeout) -> None:
    """``dunning run --store``: SPEC §8."""
    from click.core import ParameterSource

    from ..store.run import run_with_store

    if since is not None:
        raise click.UsageError("--since is not allowed with --store: a store run writes what is new since its clock.")
    given = click.get_current_context().get_parameter_source("out") != ParameterSource.DEFAULT

    def report(text: str) -> None:
        click.echo(text, err=True)

    def report_json(found, figures) -> None:
        from .report import document, render

        click.echo(render(document("run", found, ok=not found, summary=figures)), err=True)

    problems = run_with_store(policy, url, until=until, invoices=invoices, customers=customers, events=events,
                              out=out if given else None, explain=explain, rejects=rejects_path,
                              lock_timeout=lock_timeout, report=report, summary=None if quiet else report,
                              states=states_path, diagnostics=report_json if fmt == "json" else None)
    sys.exit(1 if problems else 0)


@cli.command()
@_portfolio_options
@click.option("--case", "case_id", required=True, help="The case to explain (invoice id, or customer id in customer scope).")
@click.option("--key", help="Explain only the action with this key.")
@format_option(help="text (a timeline) for people, json (one document with the trace entries) for machines.")
def explain(policy, invoices, customers, events, until, case_id, key, fmt) -> None:
    """Explain a case: why its actions fired, why rules did not.

    Runs like 'dunning run' and prints the case's timeline: events, states
    entered, each rule that fired with its trigger, its guard and the values
    it read, each rule that did not and why, and the actions. Times are the
    policy's local time with their UTC offset. Exit 1 when the case is
    unknown or a record was rejected.
    """
    from ..engine.explain import case_timeline, render_timeline
    from ..errors import Diagnostic, did_you_mean
    from ..run import simulate

    check_stdin(invoices=invoices, customers=customers, events=events)
    result = simulate(policy, invoices=invoices, customers=customers or (), events=events or (),
                      until=until, explain=True)
    diagnostics = [e.diagnostic for e in result.rejects]
    if fmt == "text":
        for e in result.rejects:
            click.echo(e.render(), err=True)
    problem = None
    try:
        entries = case_timeline(result.engine, case_id, key)
    except KeyError:
        known = sorted(result.engine.cases)
        hint = did_you_mean(case_id, known) or f"cases: {', '.join(known[:10])}"
        problem = Diagnostic("unknown-case", f"no case '{case_id}'", help=hint, case=case_id)
        entries = []
    if problem is None and key is not None and not entries:
        problem = Diagnostic("unknown-action-key", f"case '{case_id}' has no action with key '{key}'", case=case_id)
    if problem is not None:
        if fmt == "json":
            print_json("explain", [*diagnostics, problem], ok=False, summary={"entries": 0}, trace=[])
        else:
            click.echo(f"error: {problem.message}" + (f"\nhelp: {problem.help}" if problem.help else ""), err=True)
        sys.exit(1)
    if fmt == "json":
        print_json("explain", diagnostics, ok=not result.rejects, summary={"entries": len(entries)}, trace=entries)
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
    from . import store

    cli.add_command(store.migrate)
    cli.add_command(store.outbox)
    __import__(f"{__package__}.testing", fromlist=["register"]).register(cli)  # test, check, lint (issue 7)


_register_tools()


def main() -> None:
    cli(prog_name="dunning")


if __name__ == "__main__":  # pragma: no cover
    main()
