"""bin/ctx for a plugin user who never ran pip: one environment, made once, reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_first_run_installs_dependencies_once_then_reuses_them(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True)
    python = bare / "bin" / "python"
    assert subprocess.run([python, "-c", "import click"], capture_output=True).returncode != 0
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CLAUDE_PLUGIN_DATA": str(tmp_path / "data")}

    first = subprocess.run([python, ROOT / "bin" / "ctx", "--version"], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert "ctx, version" in first.stdout
    assert "first run: installing ctx's dependencies into " + str(tmp_path / "data" / "venv") in first.stderr
    assert (tmp_path / "data" / "venv" / "bin" / "python").exists()

    again = subprocess.run([python, ROOT / "bin" / "ctx", "plan", "--help"], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "first run" not in again.stderr
    assert "Usage: ctx plan" in again.stdout


def test_failed_install_is_a_clear_message(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    data = tmp_path / "data"
    data.mkdir()
    (data / "venv").write_text("a file where the environment folder should go")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CLAUDE_PLUGIN_DATA": str(data)}
    proc = subprocess.run([bare / "bin" / "python", ROOT / "bin" / "ctx", "--version"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-2].startswith("ctx: error: could not install ctx's dependencies")
    assert "Traceback" not in proc.stderr


def test_too_old_python_is_a_clear_message(tmp_path):
    """The launcher's own check, run as Python 3.9 would see it (no such interpreter is needed)."""
    code = ("import sys; sys.version_info = (3, 9, 18, 'final', 0); sys.argv = ['ctx', '--version'];"
            f"exec(compile(open({str(ROOT / 'bin' / 'ctx')!r}).read(), 'ctx', 'exec'), {{'__name__': '__main__', '__file__': {str(ROOT / 'bin' / 'ctx')!r}}})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("ctx: error: ctx needs Python 3.10 or newer; this is 3.9")
    assert "Traceback" not in proc.stderr
