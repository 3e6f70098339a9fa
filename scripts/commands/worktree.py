"""`ctx setup` and `ctx status`."""

from __future__ import annotations

import json
import time

import click

from .. import worktrees
from ..errors import CtxError
from ..workspace import Workspace


@click.command("setup")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--base", metavar="REF", help="Branch to start from (default: the plan's base, else the main checkout's branch).")
@click.option("--no-pool", is_flag=True, help="Always create fresh worktrees; never reuse parked ones.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Set up at most N worktrees at once (default: CPUs).")
def setup(ids: tuple[str, ...], base: str | None, no_pool: bool, jobs: int | None) -> None:
    """Create a worktree and branch for every ready task (or the named ones)."""
    outcomes = worktrees.setup(Workspace.find(), list(ids) or None, base=base, use_pool=not no_pool, jobs=jobs,
                               echo=click.echo)
    if ids and any(o.action in ("skipped", "blocked") for o in outcomes):
        raise SystemExit(1)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print {plan, base, tasks: [...], summary, next}.")
@click.option("--watch", is_flag=True, help="Refresh every two seconds until interrupted.")
@click.option("--no-fail", is_flag=True, help="Print a missing or invalid plan as a line and exit 0 (for prompts).")
def status(as_json: bool, watch: bool, no_fail: bool) -> None:
    """Show every task: status, wave, branch, commits ahead, uncommitted files, worktree."""
    from .. import status as status_model  # what status needs (merge, conflicts) setup does not

    ws = Workspace.find()
    while True:
        try:
            report = status_model.collect(ws)
        except CtxError as exc:
            if not no_fail:
                raise
            click.echo(f"no plan to show: {exc.message}")
            return
        text = json.dumps(report.to_json(), indent=2) if as_json else status_model.render(report)
        if not watch:
            click.echo(text)
            return
        click.echo("\033[H\033[2J" + text + "\n(refreshing every 2 s; Ctrl-C to stop)")
        try:
            time.sleep(2)
        except KeyboardInterrupt:
            return


COMMANDS = [setup, status]
