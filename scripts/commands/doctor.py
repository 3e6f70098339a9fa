"""`ctx doctor`."""

from __future__ import annotations

import json

import click

from .. import doctor as doctor_model


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print {ready, checks: [{name, ok, detail, fix, required}]}.")
@click.option("--no-fail", is_flag=True, help="Exit 0 even when not ready (for prompts that show the checks).")
def doctor(as_json: bool, no_fail: bool) -> None:
    """Check git, the repository, the plan, the checkout, gh and origin; say how to fix what is missing."""
    found = doctor_model.checks()
    if as_json:
        click.echo(json.dumps(doctor_model.as_json(found), indent=2))
    else:
        for check in found:
            mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
            click.echo(f"[{mark}] {check.name}: {check.detail}")
            if not check.ok and check.fix:
                click.echo(f"       fix: {check.fix}")
        click.echo("ready" if doctor_model.ready(found) else "not ready")
    raise SystemExit(0 if doctor_model.ready(found) or no_fail else 1)


COMMANDS = [doctor]
