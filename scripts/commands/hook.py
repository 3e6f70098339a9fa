"""`ctx hook EVENT`: the plugin's hooks, for scripts and debugging (event JSON on stdin)."""

from __future__ import annotations

import click

from ..hooks import main as hook_main


@click.command("hook")
@click.argument("event", type=click.Choice(sorted(hook_main.EVENTS)))
def hook(event: str) -> None:
    """Answer one Claude Code hook event read as JSON from stdin (standard library only)."""
    raise SystemExit(hook_main.main([event]))


COMMANDS = [hook]
