"""ctx demo: the whole workflow on a scratch repository, leaving nothing outside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def snapshot(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_demo_runs_end_to_end_and_stays_in_its_folder(tmp_path):
    scratch = tmp_path / "demo"
    home = Path(os.environ["HOME"])
    private_tmp = tmp_path / "tmp"  # the demo's own temporary folder: other processes cannot write there
    private_tmp.mkdir()
    home_before = snapshot(home)
    proc = subprocess.run([sys.executable, "-m", "ctx", "demo", "--dir", str(scratch)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path, env=dict(os.environ, TMPDIR=str(private_tmp)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "wave 1: word-count, slug-unicode, title-case, reverse-words" in out
    assert "reverse-words        blocked" in out and "FAILED" in out
    repo = scratch / "textkit"
    log = subprocess.run(["git", "log", "--format=%s", "main"], cwd=repo, capture_output=True, text=True).stdout
    for subject in ("Merge feature/word-count", "Merge feature/cli", "Merge feature/docs"):
        assert subject in log
    assert "reverse" not in log.lower()
    # the merged project really works: its own tests pass on main
    tests = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-q"], cwd=repo,
                           capture_output=True, text=True)
    assert tests.returncode == 0, tests.stderr
    cli = subprocess.run([sys.executable, "-m", "textkit.cli", "war", "and", "peace"], cwd=repo, capture_output=True, text=True)
    assert cli.stdout.strip() == "War and Peace (3 words)"
    assert f"everything is in {scratch}" in out
    assert snapshot(home) == home_before
    assert snapshot(private_tmp) == set()
    assert snapshot(tmp_path) == {"demo", "tmp"}
