"""Commands on a store (SPEC §8): ``dunning migrate`` and ``dunning outbox``."""

from __future__ import annotations

import sys

import click

from .common import format_option, policy_input

__all__ = ["migrate", "outbox"]


def _mapping(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        old, sep, new = v.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"'{v}': write OLD=NEW (a state of the store's version = one of the new)",
                                     param_hint="--map")
        out[old.strip()] = new.strip()
    return out


@click.command()
@policy_input()
@click.option("--store", "url", required=True, metavar="URL", help="The store (a path, sqlite:///PATH or postgresql://...).")
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW",
              help="Cases in state OLD go to state NEW of the new version (repeat for each); others keep their state's name.")
@click.option("--at", metavar="T", help="The migration instant (default: the store's clock; a date means 00:00 local).")
@click.option("--catch-up", is_flag=True, help="Timers whose time has passed fire at the migration instant (default: dropped).")
@click.option("--dry-run", is_flag=True, help="Print where the cases would go and the actions that would fire; change nothing.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a run on the store to end.")
def migrate(policy, url, maps, at, catch_up, dry_run, lock_timeout) -> None:
    """Move a store's cases to another version of its policy (docs/store.md).

    Every case goes to the state of the same name (or the one --map names),
    keeping its entry time, ledgers, counters and contact bookings; the new
    version's timers of that state are armed at the migration instant. New
    actions carry the new version in their key. Exit 1 when the store or the
    policy cannot be used (another policy, a state with nowhere to go) or a
    case failed.
    """
    from pathlib import Path

    from ..io.writers import dumps_record
    from ..policy.load import load_policy
    from ..store import open_store
    from ..store.run import StoreRun

    mapping = _mapping(maps)
    new = load_policy(Path(policy))
    with open_store(url) as store, StoreRun(store, new, lock_timeout=lock_timeout, migrating=True) as run:
        result = run.migrate(mapping, at=at, catch_up=catch_up, dry_run=dry_run)
    stream = sys.stdout if dry_run else sys.stderr
    for line in result.lines():
        click.echo(line, file=stream)
    if dry_run:
        for action in result.actions:
            click.echo(dumps_record(action).decode("utf-8"), nl=False)
    for failure in run.report.failed:
        click.echo(f"error: {failure}", err=True)
    sys.exit(1 if run.report.failed else 0)


@click.command()
@click.option("--store", "url", required=True, metavar="URL", help="The store (a path, sqlite:///PATH or postgresql://...).")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed", "retry", "dead", "no_address", "bounced"]),
              help="Only rows of this delivery status.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@format_option(help="Text: one row per line; json: one document (docs/cli.md) whose 'rows' hold each action "
                    "with its delivery columns.")
def outbox(url, status, limit, fmt) -> None:
    """List a store's outbox in order, with each action's delivery status.

    Exit 1 when the store cannot be opened.
    """
    import json

    from ..store import open_store
    from .report import document, render

    with open_store(url) as store:
        rows = store.outbox(status=status, limit=limit)
        counts = store.counts()["outbox_by_status"]
    if fmt == "json":
        out = [{"key": r["key"], "status": r["status"], "attempts": r["attempts"], "last_error": r["last_error"],
                "provider_id": r["provider_id"], "action": json.loads(r["record"])} for r in rows]
        click.echo(render(document("outbox", [], ok=True, summary={"rows": len(out), "by_status": counts}, rows=out)))
        return
    for row in rows:
        click.echo(f"{row['status']:<10} {row['at']}  {row['type']:<10} {row['key']}")
    click.echo("; ".join(f"{k} {v}" for k, v in counts.items()) or "the outbox is empty", err=True)
