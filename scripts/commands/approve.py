"""`ctx approve [plan|always|off]`: the PreToolUse hook's switch, kept in the git folder."""

from __future__ import annotations

import json
import os

import click

from .. import approval


@click.command("approve")
@click.argument("mode", required=False, type=click.Choice(approval.MODES))
@click.option("--no-verify/--verify", "no_verify", default=None,
              help="Also approve commits and pushes that skip git hooks (--no-verify), or stop doing so.")
@click.option("--json", "as_json", is_flag=True, help="Print {auto_approve, allow_no_verify, file}.")
def approve(mode: str | None, no_verify: bool | None, as_json: bool) -> None:
    """Show or set when the hook auto-approves safe commands: plan (while a plan runs), always, off."""
    cwd = os.getcwd()
    found = approval.write(cwd, mode, no_verify) if mode or no_verify is not None else approval.read(cwd)
    path = approval.settings_file(cwd)
    if as_json:
        click.echo(json.dumps({**found, "file": str(path)}))
    else:
        click.echo(f"auto_approve: {found['auto_approve']}; allow_no_verify: {found['allow_no_verify']} ({path})")


COMMANDS = [approve]
