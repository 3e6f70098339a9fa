"""The command line as a whole: help everywhere, one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from ctx.cli import cli
from helpers import ctx

ROOT = Path(__file__).resolve().parent.parent


def all_commands(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


def test_every_command_has_help(tmp_path):
    paths = list(all_commands(cli))
    assert ("plan", "extract") in paths and ("task", "block") in paths
    for path in paths:
        proc = ctx(tmp_path, *path, "--help")
        assert proc.returncode == 0, (path, proc.stderr)
        assert "Usage: ctx " + " ".join(path) in proc.stdout


def test_outside_a_repository(tmp_path):
    proc = ctx(tmp_path, "plan", "show")
    assert proc.returncode == 1
    assert proc.stderr.startswith("ctx: error: not inside a git repository")
    assert "Traceback" not in proc.stderr


def test_usage_errors_exit_2(tmp_path):
    assert ctx(tmp_path, "no-such-command").returncode == 2
    assert ctx(tmp_path, "plan", "show", "--bogus").returncode == 2


def test_launcher_runs_the_plugin_code(repo):
    proc = subprocess.run([sys.executable, str(ROOT / "bin" / "ctx"), "plan", "validate"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no plan found" in proc.stderr
