"""`ctx task start|complete|block|retry`: status updates, from the main checkout or any task worktree."""

from __future__ import annotations

import click

from .. import tasks
from ..workspace import Workspace

force_option = click.option("--force", is_flag=True, help="Allow a move that reopens a completed task.")


@click.group("task")
def task() -> None:
    """Record a task's progress in its task file (the main checkout's copy)."""


@task.command("start")
@click.argument("task_id", metavar="ID")
@force_option
def start(task_id: str, force: bool) -> None:
    """Mark task ID in_progress."""
    tasks.set_status(Workspace.find(), task_id, "in_progress", force=force)
    click.echo(f"{task_id}: in_progress")


@task.command("complete")
@click.argument("task_id", metavar="ID")
@force_option
def complete(task_id: str, force: bool) -> None:
    """Mark task ID completed."""
    tasks.set_status(Workspace.find(), task_id, "completed", force=force)
    click.echo(f"{task_id}: completed")


@task.command("block")
@click.argument("task_id", metavar="ID")
@click.option("--reason", required=True, help="What stops the task: the exact error, one line or more.")
@force_option
def block(task_id: str, reason: str, force: bool) -> None:
    """Mark task ID blocked, with the reason."""
    tasks.set_status(Workspace.find(), task_id, "blocked", reason=reason, force=force)
    click.echo(f"{task_id}: blocked ({reason.splitlines()[0] if reason.strip() else 'no reason'})")


@task.command("retry")
@click.argument("task_id", metavar="ID")
def retry(task_id: str) -> None:
    """Set a blocked or unmerged completed task ID back to pending; its branch and worktree are kept."""
    meta = tasks.retry(Workspace.find(), task_id)
    click.echo(f"{task_id}: {meta.get('status')}; its branch and worktree are kept; "
               f"next: ctx run --resume (or /ctx:execute) picks it up")


COMMANDS = [task]
