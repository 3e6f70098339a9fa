"""Shared fixtures: real git repositories in temporary folders, with a real bare `origin`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import git, make_repo  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """Pin git identity and keep every test away from the real home folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    for key, value in {
        "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("CLAUDE_CODE_SESSION_ID", "CLAUDECODE", "GIT_DIR", "GIT_WORK_TREE", "CTX_TASK_ID"):
        monkeypatch.delenv(key, raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")


@pytest.fixture
def repo(tmp_path) -> Path:
    """A main checkout on branch `main` with one commit, pushed to a bare `origin`."""
    return make_repo(tmp_path)


@pytest.fixture(autouse=True)
def _no_pool_watcher_left(tmp_path_factory):
    """A merge that parks a worktree starts the repository's pool watcher, which outlives the command
    by design; the test's repositories go with the test, and so do their watchers."""
    yield
    from helpers import processes_with
    import signal
    for pid in processes_with(str(tmp_path_factory.getbasetemp())):
        try:
            if b"watcher.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
