"""`ctx plan extract|validate|show`."""

from __future__ import annotations

import json

import click

from .. import extract as extractor
from .. import plan as plan_model
from .. import overlap, schedule, validate
from ..errors import DATA_ERROR
from ..workspace import Workspace

_MARKS = {"completed": "✓", "in_progress": "▶", "blocked": "✗", "pending": " "}


@click.group("plan")
def plan() -> None:
    """Extract, check and show the plan in .parallel/plans/."""


@plan.command("extract")
@click.option("--transcript", "transcript_path", metavar="PATH", help="Read this transcript file.")
@click.option("--session", metavar="ID", help="Read this session's transcript (default: $CLAUDE_CODE_SESSION_ID).")
@click.option("--force", is_flag=True, help="Replace an existing plan (it is archived first).")
def extract_cmd(transcript_path: str | None, session: str | None, force: bool) -> None:
    """Write the newest plan the assistant wrote in the conversation to .parallel/plans/."""
    ws = Workspace.find()
    written = extractor.extract(ws, transcript_path=transcript_path, session=session, force=force)
    if written.unchanged:
        click.echo(f"plan {written.name} is already extracted from this message of the conversation; nothing changed")
        return
    if written.archived:
        click.echo(f"archived the previous plan to {plan_model.rel(ws, written.archived)}")
    click.echo(f"plan {written.name}: {len(written.task_ids)} tasks written to "
               f"{plan_model.rel(ws, ws.plans)}/ ({', '.join(written.task_ids)})")


@plan.command("validate")
@click.option("--json", "as_json", is_flag=True,
              help="Print {valid, problems: [{file, field, message}], warnings: [{tasks, files}]}.")
def validate_cmd(as_json: bool) -> None:
    """Check the plan's structure and meaning; exit 2 when anything is wrong.

    Tasks that may run at the same time and name the same files are warnings: exit 0.
    """
    ws = Workspace.find()
    raw = plan_model.read_raw(ws)
    seal = plan_model.fingerprint(ws, raw)
    found = validate.problems(ws)
    if not found:
        plan_model.remember_valid(ws, seal, raw)
    warnings = [] if found else overlap.overlaps(plan_model.load(ws, check=False))
    if as_json:
        click.echo(json.dumps({"valid": not found, "problems": [p.as_dict() for p in found],
                               "warnings": [w.as_dict() for w in warnings]}, indent=2))
    elif found:
        for problem in found:
            click.echo(str(problem), err=True)
        click.echo(f"{len(found)} problem{'s' if len(found) != 1 else ''} found", err=True)
    else:
        loaded = plan_model.load(ws, check=False)
        click.echo(f"plan {loaded.name} is valid: {len(loaded.tasks)} tasks")
        _warn(warnings)
    if found:
        raise SystemExit(DATA_ERROR)


@plan.command("show")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"name", "waves": [[ids...], ...], "tasks": [...], "warnings": [...]}.')
def show_cmd(as_json: bool) -> None:
    """Print the execution waves: what runs in parallel, and in which order."""
    loaded = plan_model.load(Workspace.find())
    waves = schedule.waves(loaded)
    warnings = overlap.overlaps(loaded)
    if as_json:
        wave_of = {t.id: n for n, wave in enumerate(waves, 1) for t in wave}
        click.echo(json.dumps({
            "name": loaded.name,
            "waves": [[t.id for t in wave] for wave in waves],
            "tasks": [{"id": t.id, "name": t.name, "status": t.status, "priority": t.priority,
                       "wave": wave_of[t.id], "dependencies": t.dependencies} for t in loaded.tasks],
            "warnings": [w.as_dict() for w in warnings],
        }, indent=2))
        return
    done = sum(t.status == "completed" for t in loaded.tasks)
    click.echo(f"plan {loaded.name}: {len(loaded.tasks)} tasks in {len(waves)} waves, {done} completed")
    for n, wave in enumerate(waves, 1):
        click.echo(f"wave {n}:")
        for t in wave:
            deps = f"  (after {', '.join(t.dependencies)})" if t.dependencies else ""
            click.echo(f"  [{_MARKS.get(t.status, '?')}] {t.id:<24} {t.priority:<7} {t.status:<11} {t.name}{deps}")
    _warn(warnings)


def _warn(warnings: list[overlap.Overlap]) -> None:
    for warning in warnings:
        click.echo(warning.line(), err=True)


COMMANDS = [plan]
