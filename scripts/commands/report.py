"""`ctx report`: durations, speed-up, tokens and cost, from recorded facts only."""

from __future__ import annotations

import json

import click

from .. import report as report_model
from ..workspace import Workspace


@click.command("report")
@click.option("--session", metavar="ID", help="Count this session's tokens (default: $CLAUDE_CODE_SESSION_ID).")
@click.option("--transcript", "transcript_path", metavar="PATH", help="Count tokens from this transcript.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(session, transcript_path, as_json) -> None:
    """Durations, speed-up, tokens and cost, from recorded facts only."""
    built = report_model.build(Workspace.find(), session=session, transcript_path=transcript_path)
    click.echo(json.dumps(built.to_json(), indent=2) if as_json else report_model.render(built))


COMMANDS = [report]
