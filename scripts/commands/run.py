"""`ctx run`: execute the plan headless, and `ctx demo`: see it all work on a scratch repository."""

from __future__ import annotations

import click

from .. import plan as plan_model
from .. import run as runner
from ..display import Display
from ..workspace import Workspace


@click.command("run")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="At most N agents at once (default: CPUs, at least 2).")
@click.option("--agent", metavar="CMD", help="Run CMD in each worktree instead of Claude Code "
              "(it gets CTX_TASK_ID, CTX_TASK_FILE, CTX_WORKTREE; to resolve a merge conflict, also CTX_RESOLVE=1 "
              "and CTX_CONFLICTS).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop a task's agent after this long and mark the task blocked.")
@click.option("--merge", "mode", flag_value="merge", help="Merge each finished task before its dependents start.")
@click.option("--pr", "mode", flag_value="pr", help="Open a pull request for each finished task.")
@click.option("--test", "test_cmd", metavar="CMD", help="Gate every merge on CMD: run in each task's worktree "
              "(unless the task names its own test:) and on the merged result; a failing task is blocked.")
@click.option("--resume", is_flag=True, help="Carry on after an interrupted or killed run: wait for agents "
              "still alive, re-run stopped ones, merge what completed.")
@click.option("--resolve-attempts", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="With --merge: times the task's agent is run again (CTX_RESOLVE=1) to resolve a merge "
                   "conflict before the task is blocked; 0 blocks at once.")
@click.option("--on", "where", type=click.Choice(["local", "github-actions"]), default="local", show_default=True,
              help="Where agents run: here, or as jobs of the workflow `ctx actions init` writes.")
def run(jobs, agent, timeout, mode, test_cmd, resume, resolve_attempts, where) -> None:
    """Run every task's agent in its own worktree, as many at once as allowed, then report."""
    ws = Workspace.find()
    if where == "github-actions":
        from .actions import run_on_github_actions
        return run_on_github_actions(ws, jobs=jobs, agent=agent, timeout=timeout, mode=mode, test_cmd=test_cmd,
                                     resume=resume)
    plan = plan_model.load(ws)
    result = runner.run(ws, jobs=jobs, agent=agent, timeout=timeout, mode=mode, test_cmd=test_cmd,
                        resume=resume, display=Display(plan.ids()), plan=plan, resolve_attempts=resolve_attempts)
    finish(ws, result, "interrupted: running tasks were stopped and marked blocked; ctx run --resume carries on")


def finish(ws: Workspace, result, interrupted: str) -> None:
    """The close of every run, here or remote: tasks not started, the report, and the exit code."""
    for tid, why in result.not_started.items():
        click.echo(f"not started: {tid}: {why}")
    click.echo("")
    from .. import report as report_model  # loaded while the agents worked (see Runner._wait)
    click.echo(report_model.render(report_model.build(ws)))
    if result.interrupted:
        click.echo(interrupted)
        raise SystemExit(130)
    raise SystemExit(0 if result.ok else 1)


COMMANDS = [run]


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Build the scratch repository here "
              "(default: a new temporary folder).")
def demo(directory) -> None:
    """Watch ctx run a six-task plan on a scratch repository, with scripted agents (no API key needed)."""
    from .. import demo as demo_model
    raise SystemExit(demo_model.demo(directory, echo=click.echo))


COMMANDS.append(demo)
