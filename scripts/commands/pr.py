"""`ctx pr`: push task branches and open pull requests, stacked on unmerged dependencies."""

from __future__ import annotations

import json

import click

from .. import pr as pr_model
from ..workspace import Workspace
from .merge import task_ids


@click.command("pr")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "all_", is_flag=True, help="Every completed, unmerged task (the default).")
@click.option("--base", metavar="BRANCH", help="Base branch for tasks with no unmerged dependency.")
@click.option("--draft", is_flag=True, help="Open draft pull requests.")
@click.option("--dry-run", is_flag=True, help="Show what would be pushed and opened.")
@click.option("--json", "as_json", is_flag=True, help="Print [{task_id, action, base, url, detail}].")
def pr(ids, all_, base, draft, dry_run, as_json) -> None:
    """Push task branches to origin and open pull requests (stacked on unmerged dependencies)."""
    echo = (lambda _: None) if as_json else click.echo
    outcomes = pr_model.open_prs(Workspace.find(), task_ids(ids, all_), base=base, draft=draft, dry_run=dry_run, echo=echo)
    if as_json:
        click.echo(json.dumps(pr_model.as_json(outcomes), indent=2))


COMMANDS = [pr]
