"""`ctx actions init`: the GitHub Actions workflow that `ctx run --on github-actions` dispatches."""

from __future__ import annotations

import click

from .. import actions as actions_model
from ..workspace import Workspace


@click.group("actions")
def actions() -> None:
    """Run a plan's tasks on GitHub Actions runners (see ctx run --on github-actions)."""


@actions.command("init")
@click.option("--max-parallel", type=click.IntRange(min=1, max=256), default=4, show_default=True,
              help="At most N task jobs of one dispatch at once.")
@click.option("--force", is_flag=True, help="Replace a different existing .github/workflows/ctx.yml.")
def init(max_parallel: int, force: bool) -> None:
    """Write .github/workflows/ctx.yml: one job per task, least privilege (contents: write)."""
    ws = Workspace.find()
    outcome = actions_model.init(ws, max_parallel=max_parallel, force=force)
    rel = outcome.path.relative_to(ws.root)
    click.echo(f"{rel}: {outcome.action}")
    if outcome.action != "unchanged":
        click.echo(f"next: review it, commit it to the default branch and push; add the secret "
                   f"{actions_model.SECRETS[0]} (gh secret set {actions_model.SECRETS[0]}); "
                   "then run: ctx run --on github-actions --merge")


def run_on_github_actions(ws: Workspace, *, jobs, agent, timeout, mode, test_cmd, resume) -> None:
    """`ctx run --on github-actions`: follow the remote run, then the same closing report as a local run."""
    from .. import remote_run
    from .run import finish
    for name, value in (("--jobs", jobs), ("--agent", agent), ("--timeout", timeout)):
        if value is not None:
            raise click.UsageError(f"{name} applies to local runs; on GitHub Actions set max-parallel "
                                   "(ctx actions init --max-parallel N) and the job's timeout-minutes")
    result = remote_run.run(ws, mode=mode, test_cmd=test_cmd, resume=resume, echo=click.echo)
    finish(ws, result, "interrupted: dispatched jobs go on on GitHub; ctx run --on github-actions --resume follows them")


COMMANDS = [actions]
