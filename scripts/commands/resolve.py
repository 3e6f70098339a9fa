"""`ctx resolve ID`: prepare a task's worktree for resolving its merge conflict with the base."""

from __future__ import annotations

import json

import click

from .. import resolve as resolve_model
from ..workspace import Workspace


@click.command("resolve")
@click.argument("task_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print {task, worktree, branch, base, state, files}.")
def resolve(task_id: str, as_json: bool) -> None:
    """Merge the base into the task's branch in its worktree, leave conflicted files marked, say what to do.

    Running it again while that merge is in progress changes nothing.
    """
    prep = resolve_model.prepare(Workspace.find(), task_id)
    if as_json:
        click.echo(json.dumps(prep.to_json(), indent=2))
        return
    for line in prep.lines():
        click.echo(line)


COMMANDS = [resolve]
