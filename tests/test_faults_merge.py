"""Fault injection: ctx merge --test and ctx cleanup killed with SIGKILL at seeded random moments,
two merges at once, then re-runs; the invariants a user relies on are checked after every seed.

A seed picks, for each round, which command is killed, how (ctx alone, or its whole process group),
and when: at a named step inside ctx (CTX_FAULT) or after a random delay. The test command records
every commit it passed, so that every value the base ever had (its reflog) can be checked against it.
Run one seed with CTX_FAULT_SEED=N, or more seeds with CTX_FAULT_SEEDS=N (the suite runs 4).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import ctx, git, write_plan

MERGE_POINTS = ["merge:merging", "merge:testing", "merge:tested", "merge:advancing", "merge:advanced",
                "merge:checkout", "merge:recorded", "merge:released"]
CLEANUP_POINTS = ["cleanup:removing"]


def _seeds() -> list[int]:
    if os.environ.get("CTX_FAULT_SEED"):
        return [int(os.environ["CTX_FAULT_SEED"])]
    return list(range(int(os.environ.get("CTX_FAULT_SEEDS", "4"))))


def _front(repo: Path, tid: str) -> dict:
    return yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])


def _spawn(repo: Path, args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ctx", *args], cwd=repo, env=dict(os.environ, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill(proc: subprocess.Popen, rng: random.Random, whole_tree: bool) -> None:
    time.sleep(rng.uniform(0.05, 1.2))
    try:
        if whole_tree:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass


def _build(repo: Path) -> dict[str, str]:
    """Five tasks: three good (one depends on another), one whose change fails the tests, two that conflict."""
    write_plan(repo, [{"id": "alpha"}, {"id": "beta", "dependencies": ["alpha"]}, {"id": "gamma"},
                      {"id": "broken"}, {"id": "clash-one"}, {"id": "clash-two"}])
    ctx(repo, "setup", check=True)
    files = {"alpha": {"alpha.py": "A = 1\n"}, "beta": {"beta.py": "B = 2\n"}, "gamma": {"gamma.py": "G = 3\n"},
             "broken": {"BROKEN": "this change fails the tests\n"},
             "clash-one": {"app.py": "def hello():\n    return 'one'\n"},
             "clash-two": {"app.py": "def hello():\n    return 'two'\n"}}
    tips = {}
    for tid, content in files.items():
        wt = repo / "worktrees" / tid
        if tid == "beta":  # beta builds on alpha's work, in a worktree made by hand as an agent could
            git(repo, "worktree", "add", "-q", "-b", "feature/beta", str(wt), "feature/alpha")
        for name, text in content.items():
            (wt / name).write_text(text)
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", f"work on {tid}")
        ctx(wt, "task", "complete", tid, check=True)
        tips[tid] = git(wt, "rev-parse", "HEAD")
    return tips


def _reachable(repo: Path, sha: str) -> bool:
    kept = git(repo, "for-each-ref", "--contains", sha, "--format=%(refname)", "refs/heads/")
    return bool(kept)


def _check_invariants(repo: Path, tips: dict[str, str], initial: str, tested: Path) -> None:
    passed = set(tested.read_text().split()) if tested.exists() else set()
    # the base only ever pointed at the first commit or at a commit the tests passed
    history = git(repo, "reflog", "show", "--format=%H", "refs/heads/main").split()
    assert set(history) <= passed | {initial}, f"untested base values: {set(history) - passed - {initial}}"
    # every task's commit is in the base or on a kept branch
    for tid, tip in tips.items():
        assert _reachable(repo, tip), f"{tid}'s commit {tip} is on no branch"
    # each task merged exactly once; the failing and the second conflicting task not at all
    subjects = git(repo, "log", "--merges", "--format=%s", "main").splitlines()
    counts = {tid: sum(s.startswith(f"Merge feature/{tid}:") for s in subjects) for tid in tips}
    merged = {tid for tid in tips if (repo / f".parallel/plans/tasks/{tid}.md").exists() and _front(repo, tid).get("merged")}
    for tid in tips:
        assert counts[tid] == (1 if tid in merged else 0), (tid, counts, merged)
    assert {"alpha", "beta", "gamma"} <= merged and "broken" not in merged
    assert len({"clash-one", "clash-two"} & merged) == 1
    assert "tests failed on the merged result" in _front(repo, "broken")["reason"]
    # nothing left half-done: no MERGE_HEAD anywhere, no journal, no lock record, no lock held
    assert not list((repo / ".git").rglob("MERGE_HEAD"))
    assert not list((repo / ".git").rglob("*.lock"))
    assert not list((repo / ".parallel").glob("journal/*.json"))
    assert not list((repo / ".parallel/locks").glob("*.holder.json"))
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert git(repo, "diff", "HEAD", "--stat") == ""
    doctor = json.loads(ctx(repo, "doctor", "--json").stdout)
    checks = {c["name"]: c["ok"] for c in doctor["checks"]}
    assert checks["interrupted operations"] and checks["locks"]


@pytest.mark.parametrize("seed", _seeds())
def test_killed_and_concurrent_merges_leave_nothing_to_repair(repo, seed):
    rng = random.Random(seed)
    tips = _build(repo)
    initial = git(repo, "rev-parse", "main")
    tested = repo.parent / "tested.txt"
    # records the commit it tests, after a random pause, only when the tests pass
    test_cmd = (f"h=$(git rev-parse HEAD); sleep {rng.choice(['0', '0.1', '0.3'])}; "
                f"test ! -e BROKEN && echo $h >> {tested}")
    for round_ in range(3):
        point = rng.choice(MERGE_POINTS)
        by_delay = rng.random() < 0.4
        first = _spawn(repo, ["merge", "--test", test_cmd],
                       {} if by_delay else {"CTX_FAULT": point})
        second = _spawn(repo, ["merge", rng.choice(["alpha", "gamma", "clash-two"]), "--test", test_cmd], {})
        if by_delay:
            _kill(first, rng, whole_tree=rng.random() < 0.5)
        for proc in (first, second):
            out, err = proc.communicate(timeout=300)
            assert "Traceback" not in err, err
    ctx(repo, "merge", "--test", test_cmd)  # the re-run: no manual step in between
    _check_invariants(repo, tips, initial, tested)
    # cleanup, killed once at a random point, then run again
    cleaner = _spawn(repo, ["cleanup"], {"CTX_FAULT": rng.choice(CLEANUP_POINTS)} if rng.random() < 0.7 else {})
    if rng.random() < 0.5:
        _kill(cleaner, rng, whole_tree=True)
    cleaner.communicate(timeout=300)
    ctx(repo, "cleanup")
    for tid, tip in tips.items():
        assert _reachable(repo, tip), f"cleanup dropped {tid}'s commit"
    assert not list((repo / ".parallel").glob("journal/*.json"))
    assert not (repo / "worktrees/alpha").exists() and (repo / "worktrees/broken").exists()
