"""Fault injection: `ctx setup` killed with SIGKILL at random moments, then run again.

Each seed kills either ctx alone (its git children live on) or its whole process group, a few
times, at moments drawn from the seed, on a repository big enough that `git worktree add` takes a
while. The setup that follows must finish every task, and leave each worktree's index matching its
HEAD (no staged deletions), no lock file and nothing for doctor to report.
CTX_FAULT_SEEDS=N runs seeds 0..N-1 (default 3).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from helpers import ctx, git, make_repo, write_plan

SEEDS = int(os.environ.get("CTX_FAULT_SEEDS", "3"))
TASKS = ["t0", "t1", "t2", "t3"]
FILES = 1200


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A repository of FILES files, made once and copied for each seed."""
    repo = make_repo(tmp_path_factory.mktemp("template"))
    for n in range(FILES):
        folder = repo / f"pkg{n % 20:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"file{n:04d}.py").write_text(f"VALUE = {n}\n" * 30)
    (repo / ".gitignore").write_text("setup.done\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "many files")
    return repo


def killed_setups(repo, rng: random.Random, rounds: int) -> list[str]:
    what = []
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-m", "ctx", "setup", "--jobs", str(rng.choice([1, 2, 4]))],
                                cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.05, 2.0))
        whole = rng.random() < 0.5
        try:
            os.killpg(proc.pid, signal.SIGKILL) if whole else os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        what.append("tree" if whole else "ctx")
    return what


@pytest.mark.parametrize("seed", range(SEEDS))
def test_setup_killed_at_random_moments_is_finished_by_the_next_run(template, tmp_path, seed):
    repo = tmp_path / "project"
    subprocess.run(["cp", "-a", str(template), str(repo)], check=True)
    write_plan(repo, [{"id": t} for t in TASKS], setup="echo ok > setup.done")
    rng = random.Random(seed)
    kills = killed_setups(repo, rng, rounds=rng.randint(1, 3))
    final = ctx(repo, "setup")
    assert final.returncode == 0, (seed, kills, final.stdout, final.stderr)
    for tid in TASKS:
        wt = repo / "worktrees" / tid
        assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == f"feature/{tid}", (seed, kills)
        assert git(wt, "status", "--porcelain") == "", (seed, kills, tid)  # index matches HEAD and the files
        assert len(git(wt, "ls-files").splitlines()) == FILES + 3, (seed, kills, tid)
        assert (wt / "setup.done").read_text() == "ok\n", (seed, kills, tid)
        assert (wt / ".env.ctx").exists()
    listing = git(repo, "worktree", "list", "--porcelain")
    assert "locked" not in listing and "prunable" not in listing
    assert not list((repo / ".git").rglob("*.lock")), (seed, kills)
    assert not list((repo / ".parallel/journal/setup").glob("*.json")), (seed, kills)
    checks = json.loads(ctx(repo, "doctor", "--json").stdout)["checks"]
    assert next(c for c in checks if c["name"] == "interrupted setup")["ok"], (seed, kills)
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=repo, capture_output=True).returncode == 0
