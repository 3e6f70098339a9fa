"""`ctx merge`: completed tasks into the base branch, in dependency order."""

from __future__ import annotations

import json

import click

from .. import merge as merge_model
from ..workspace import Workspace


def task_ids(ids: tuple[str, ...], all_: bool) -> list[str] | None:
    if ids and all_:
        raise click.UsageError("name tasks or pass --all, not both")
    return list(ids) or None


@click.command("merge")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "all_", is_flag=True, help="Every completed task (the default when no ID is given).")
@click.option("--into", metavar="BRANCH", help="Merge into this branch (default: the plan's base).")
@click.option("--squash", is_flag=True, help="One squashed commit per task instead of a merge commit.")
@click.option("--test", "test_cmd", metavar="CMD",
              help="Run CMD on each merged result before the base moves; a failure blocks the task.")
@click.option("--wait", type=click.FloatRange(min=0), default=merge_model.WAIT, show_default=True, metavar="SECONDS",
              help="How long to wait for another ctx merge of this repository to finish.")
@click.option("--json", "as_json", is_flag=True,
              help="Print {base, merged, blocked, skipped, conflicts, recovered}.")
def merge(ids, all_, into, squash, test_cmd, wait, as_json) -> None:
    """Merge completed tasks into the base branch in dependency order (--no-ff), each tested first."""
    echo = (lambda _: None) if as_json else click.echo
    report = merge_model.merge(Workspace.find(), task_ids(ids, all_), into=into, squash=squash,
                               test_cmd=test_cmd, echo=echo, wait=wait)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    if report.blocked:
        raise SystemExit(1)


COMMANDS = [merge]
