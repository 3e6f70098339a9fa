"""The README keeps its promises: two set-up commands at the top, and every command documented."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ctx.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_two_setup_commands_at_the_top():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ['pip install -e . && ctx demo', 'pip install -e ".[test]" && python -m pytest']
    assert README.index("```bash") < README.index("## ")


def test_every_command_and_option_is_documented():
    lines = [line for line in README.splitlines() if line.startswith("| `ctx ")]
    for name, command in cli.commands.items():
        rows = [line for line in lines if line.startswith(f"| `ctx {name} ") or line.startswith(f"| `ctx {name}`")]
        assert rows, f"ctx {name} has no row in the README's command table"
        leaves = command.commands.items() if isinstance(command, click.Group) else [(None, command)]
        for sub, leaf in leaves:
            if sub:
                assert any(re.search(rf"[ |\\]{sub}\b", row) for row in rows), f"ctx {name} {sub}"
            for param in leaf.params:
                for opt in param.opts:
                    if opt.startswith("--") and opt != "--help":
                        assert any(opt in row for row in rows), f"ctx {name} {sub or ''}: {opt} is not documented"
