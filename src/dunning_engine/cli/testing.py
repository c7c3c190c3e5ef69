"""Commands for testing policies: ``dunning test``, ``dunning check``, ``dunning lint`` (issue 7).

Heavy modules are imported inside the commands so that ``dunning --help``
stays fast. Exit status: 0 success, 1 a failure (a failing case, a violated
invariant, an error-level finding, a file that cannot be read), 2 wrong usage.
"""

from __future__ import annotations

import os
import sys

import click

from .common import color, echo, emit_errors, format_option, policy_input, print_json, write_text

__all__ = ["test", "check", "lint", "COMMANDS"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@format_option("text", "json", "junit",
               help="text for people, json (one document, docs/cli.md) for machines; junit (JUnit XML) for CI systems.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False),
              help="Also write a JUnit XML report to this file.")
@click.option("--coverage", is_flag=True,
              help="Report which states, rules and actions of each policy the cases exercised, and which never.")
@click.option("-k", "--match", "match", metavar="TEXT", help="Only run cases whose name contains TEXT.")
@click.option("-q", "--quiet", is_flag=True, help="Text format: list only failing cases.")
def test(paths: tuple[str, ...], fmt: str, junit_path: str | None, coverage: bool, match: str | None,
         quiet: bool) -> None:
    """Run scenario files (*.test.yaml) found under each PATH.

    Directories are searched recursively. One result per case. A failing case prints every difference: a
    side-by-side diff of the expected and actual timelines, wrong states and
    balances, broken invariants. Exit 1 when a case fails, a file has errors,
    or no case was found.
    """
    from ..testing.coverage import Coverage
    from ..testing.report import diagnostics_of, render_junit, render_text, summary
    from ..testing.scenarios import run_scenarios

    results = []
    for r in run_scenarios(paths, match=match):
        results.append(r)
        if fmt == "text" and not quiet:
            mark = "ok   " if r.passed else ("ERROR" if r.status == "error" else "FAIL ")
            echo(f"{mark} {r.file}" + (f"::{r.name}" if r.status != "error" else ""))
    cov = Coverage().extend(results) if coverage else None
    s = summary(results)
    if fmt == "json":
        fields = {"results": [r.to_dict() for r in results]}
        if cov is not None:
            fields["coverage"] = cov.report()
        print_json("test", diagnostics_of(results), ok=s["ok"],
                   summary={k: s[k] for k in ("cases", "passed", "failed")} | {"files_with_errors": s["errors"]},
                   **fields)
    elif fmt == "junit":
        echo(render_junit(results), nl=False)
    else:
        echo(render_text(results, list_cases="failed" if quiet else "none"))
        if cov is not None:
            echo("")
            echo(cov.render())
    if junit_path:
        write_text(junit_path, render_junit(results))
    if not s["ok"]:
        if fmt == "junit" and s["cases"] == 0 and not s["errors"]:
            click.echo("no scenario case found (scenario files are named *.test.yaml)", err=True)
        sys.exit(1)


@click.command()
@policy_input()
@click.option("--examples", "-n", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="How many random portfolios to try.")
@click.option("--seed", default="0", show_default=True,
              help="Random seed, for reproducible runs; 'random' for a new one each run.")
@click.option("--max-invoices", default=3, show_default=True, type=click.IntRange(1, 50),
              help="Most invoices in one portfolio.")
@click.option("--max-events", default=6, show_default=True, type=click.IntRange(0, 200),
              help="Most events in one portfolio.")
@click.option("--days", default=400, show_default=True, type=click.IntRange(1, 5000),
              help="Horizon of each run, in days from 2026-01-01.")
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Write the minimal failing scenario to this file (its policy path relative to it).")
@format_option(help="text (a report and a ready-to-paste scenario) or json (one document, docs/cli.md).")
def check(policy: str, examples: int, seed: str, max_invoices: int, max_events: int, days: int, out: str | None,
          fmt: str) -> None:
    """Fuzz a policy with random portfolios, checking invariants.

    Random invoices, customers and event streams run through the policy.
    Built-in invariants: ledger_balanced, fees_not_negative,
    interest_not_negative, no_action_after_final, no_engine_errors,
    unique_keys, deterministic; plus the policy's own 'invariants:', checked
    after every step (every instant at which the engine processes a case).
    The first counterexample is shrunk and printed as a ready-to-paste
    scenario file. Exit 1 when an invariant fails.
    """
    from ..policy.load import load_policy

    try:
        import hypothesis  # noqa: F401 - the optional extra [check]: say so plainly if it is missing
    except ImportError:
        from ..errors import DunningError

        missing = DunningError("error: dunning check needs Hypothesis: pip install 'dunning-engine[check]'")
        missing.code = "missing-extra"
        raise missing from None  # printed by the group, as text or in the JSON document
    from ..testing.fuzz import check_policy

    if seed == "random":
        seed_value = None
    else:
        try:
            seed_value = int(seed)
        except ValueError:
            raise click.BadParameter("a whole number, or 'random'", param_hint="--seed") from None
    loaded = load_policy(policy)  # a PolicyError is printed by the group, exit 1
    scenario_dir = os.path.dirname(os.path.abspath(out)) if out else None
    result = check_policy(loaded, examples=examples, seed=seed_value, max_invoices=max_invoices,
                          max_events=max_events, days=days, policy_path=policy, scenario_dir=scenario_dir)
    if out and result.scenario:
        write_text(out, result.scenario)
    if fmt == "json":
        from ..errors import Diagnostic

        found = []
        if result.violation is not None:
            found.append(Diagnostic("invariant-violated", result.violation.render(), file=policy,
                                    case=result.violation.case,
                                    help="run the minimal failing scenario ('scenario') with dunning test"))
        print_json("check", found, ok=result.ok, summary={"examples": examples}, **{
            k: v for k, v in result.to_dict().items() if k != "ok"})
    else:
        text = result.render()
        echo(text, nl=not text.endswith("\n"))
        if out and result.scenario:
            click.echo(f"(written to {out})", err=True)
    if not result.ok:
        sys.exit(1)


@click.command()
@policy_input(many=True)
@format_option(help="text (file:line:col, source line, help) or json (one document, docs/cli.md).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--ignore", "ignore", multiple=True, metavar="CODE",
              help="Leave out findings with this code or name (e.g. DL003 or shadowed-rule); repeatable.")
def lint(policies: tuple[str, ...], fmt: str, strict: bool, ignore: tuple[str, ...]) -> None:
    """Find likely mistakes in policies.

    Findings go to stdout, nothing when there are none. The checks:

    \b
    DL001 unreachable-state    (warning)
    DL002 dead-end-state       (warning)
    DL003 shadowed-rule        (warning)
    DL004 late-timer           (warning)
    DL005 condition-loop       (error)
    DL006 fee-before-reminder  (warning)
    DL007 unused-segment       (warning)

    Exit 1 when a finding is an error (with --strict: any finding) or a
    policy does not load.
    """
    from ..errors import PolicyError
    from ..policy.lint import lint_policy
    from ..policy.load import load_policy

    findings = []
    not_loaded = []
    for path in policies:
        try:
            policy = load_policy(path)
        except PolicyError as e:
            not_loaded += e.diagnostics
            if fmt == "text":
                emit_errors(e.errors)
            continue
        findings.extend(lint_policy(policy, ignore=ignore))
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    failed = bool(not_loaded or errors or (strict and warnings))
    if fmt == "json":
        print_json("lint", not_loaded + findings, ok=not failed, summary={"files": len(policies)})
    else:
        use_color = color(sys.stdout)
        for f in findings:
            echo(f.render(color=use_color))
        if findings:
            click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    if failed:
        sys.exit(1)


COMMANDS = (test, check, lint)


def register(group: click.Group) -> None:
    """Add ``test``, ``check`` and ``lint`` to the ``dunning`` command group."""
    for command in COMMANDS:
        group.add_command(command)
