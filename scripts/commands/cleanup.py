"""`ctx cleanup`: remove what merged tasks left behind, keep anything that would lose work."""

from __future__ import annotations

import json

import click

from .. import cleanup as cleanup_model
from ..workspace import Workspace


@click.command("cleanup")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; change nothing.")
@click.option("--force", is_flag=True, help="Also drop unmerged branches and uncommitted changes.")
@click.option("--drop-pool", is_flag=True, help="Also remove parked worktrees kept for reuse.")
@click.option("--json", "as_json", is_flag=True, help="Print {dry_run, actions: [{target, outcome, reason}], retained}.")
def cleanup(dry_run, force, drop_pool, as_json) -> None:
    """Remove merged tasks' worktrees and branches, prune stale registrations, archive a finished plan."""
    echo = (lambda _: None) if as_json else click.echo
    report = cleanup_model.cleanup(Workspace.find(), force=force, dry_run=dry_run, drop_pool=drop_pool, echo=echo)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))


COMMANDS = [cleanup]
