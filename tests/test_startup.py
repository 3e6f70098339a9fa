"""Commands load what they use: the lazy command table is complete, and light commands stay light."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys

from ctx import cli as cli_module
from ctx import commands


PROBE = """
import atexit, json, os, runpy, sys
atexit.register(lambda: open(os.environ["CTX_PROBE_OUT"], "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["ctx", *sys.argv[1:]]
runpy.run_module("ctx", run_name="__main__")
"""


def imported_modules(cwd, *args: str) -> set[str]:
    """Modules a real `ctx ARGS` process had imported when it exited."""
    out = cwd / ".modules.json"
    subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True,
                   env=dict(os.environ, CTX_PROBE_OUT=str(out)))
    loaded = set(json.loads(out.read_text()))
    out.unlink()
    return loaded


def test_the_lazy_table_names_every_command_of_every_module():
    defined = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"ctx.commands.{info.name}")
        for command in module.COMMANDS:
            defined[command.name] = info.name
    assert defined == cli_module.LAZY


def test_version_loads_no_command_module(tmp_path):
    loaded = imported_modules(tmp_path, "--version")
    assert "click" in loaded
    assert not {m for m in loaded if m.startswith("ctx.commands.")}
    assert not {"jsonschema", "yaml", "filelock", "ctx.validate"} & loaded


def test_task_start_does_not_load_the_schema_validator(repo):
    from helpers import write_plan
    write_plan(repo, [{"id": "a"}])
    loaded = imported_modules(repo, "task", "start", "a")
    assert "ctx.commands.task" in loaded and "ctx.tasks" in loaded
    assert "jsonschema" not in loaded and "ctx.validate" not in loaded
    assert "ctx.commands.run" not in loaded and "ctx.commands.cleanup" not in loaded
    assert "status: in_progress" in (repo / ".parallel/plans/tasks/a.md").read_text()


def test_an_unknown_command_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ctx", "nosuch"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and "No such command 'nosuch'" in proc.stderr
