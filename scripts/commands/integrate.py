"""`ctx merge`, `ctx pr`, `ctx cleanup` and `ctx report`: bringing the work back and accounting for it."""

from __future__ import annotations

import json

import click

from .. import cleanup as cleanup_model
from .. import merge as merge_model
from .. import pr as pr_model
from .. import report as report_model
from ..workspace import Workspace


def _ids(ids: tuple[str, ...], all_: bool) -> list[str] | None:
    if ids and all_:
        raise click.UsageError("name tasks or pass --all, not both")
    return list(ids) or None


@click.command("merge")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "all_", is_flag=True, help="Every completed task (the default when no ID is given).")
@click.option("--into", metavar="BRANCH", help="Merge into this branch (default: the plan's base).")
@click.option("--squash", is_flag=True, help="One squashed commit per task instead of a merge commit.")
@click.option("--test", "test_cmd", metavar="CMD", help="Run CMD after each merge; undo the merge when it fails.")
@click.option("--json", "as_json", is_flag=True, help="Print {base, merged, blocked, skipped}.")
def merge(ids, all_, into, squash, test_cmd, as_json) -> None:
    """Merge completed tasks into the base branch in dependency order (--no-ff)."""
    echo = (lambda _: None) if as_json else click.echo
    report = merge_model.merge(Workspace.find(), _ids(ids, all_), into=into, squash=squash,
                               test_cmd=test_cmd, echo=echo)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    if report.blocked:
        raise SystemExit(1)


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
    outcomes = pr_model.open_prs(Workspace.find(), _ids(ids, all_), base=base, draft=draft, dry_run=dry_run, echo=echo)
    if as_json:
        click.echo(json.dumps(pr_model.as_json(outcomes), indent=2))


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


@click.command("report")
@click.option("--session", metavar="ID", help="Count this session's tokens (default: $CLAUDE_CODE_SESSION_ID).")
@click.option("--transcript", "transcript_path", metavar="PATH", help="Count tokens from this transcript.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(session, transcript_path, as_json) -> None:
    """Durations, speed-up, tokens and cost, from recorded facts only."""
    built = report_model.build(Workspace.find(), session=session, transcript_path=transcript_path)
    click.echo(json.dumps(built.to_json(), indent=2) if as_json else report_model.render(built))


COMMANDS = [merge, pr, cleanup, report]
