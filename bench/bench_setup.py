"""Worktree setup for 5, 10 and 20 tasks on a generated 5,000-file repository.

ctx setup (first run: fresh worktrees; repeated run: worktrees reused from the pool that ctx merge
and ctx cleanup fill) against the baseline the original workflow's script runs: a plain shell loop
of `git worktree add -b` per task. All three are measured in the same run, on the same repository.
Run: python bench/bench_setup.py [--files 5000] [--tasks 5 10 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import machine, today  # noqa: E402
from helpers import write_plan  # noqa: E402

ENV = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="bench",
           GIT_COMMITTER_EMAIL="b@x")


def sh(cmd: list[str] | str, cwd: Path, shell: bool = False) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, shell=shell, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} in {cwd} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-1000:]}")


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo)
    for n in range(files):
        folder = repo / f"pkg{n % 50:02d}" / f"mod{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{n:05d}.py").write_text(f"# file {n}\n" + "VALUE = %d\n" % n * 20)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-q", "-m", "generated"], repo)
    return repo


def reset(repo: Path) -> None:
    """Remove every worktree, branch and ctx state so the next measurement starts cold."""
    shutil.rmtree(repo / "worktrees", ignore_errors=True)
    shutil.rmtree(repo / ".parallel", ignore_errors=True)
    sh(["git", "worktree", "prune"], repo)
    branches = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/heads/feature/"], cwd=repo,
                              capture_output=True, text=True).stdout.split()
    for ref in branches:
        sh(["git", "update-ref", "-d", ref], repo)


def timed(fn) -> float:
    os.sync()  # write back earlier runs' files first, so no run pays for another's
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def baseline(repo: Path, ids: list[str]) -> float:
    script = "mkdir -p worktrees\nfor id in " + " ".join(ids) + '; do\n  git worktree add -q worktrees/"$id" -b "feature/$id"\ndone\n'
    return timed(lambda: sh(script, repo, shell=True))


def ctx_setup(repo: Path, *args: str) -> float:
    return timed(lambda: sh([sys.executable, "-m", "ctx", "setup", *args], repo))


def fill_pool(repo: Path, ids: list[str], round_: int) -> None:
    """Finish every task with a commit and merge it: ctx merge parks each clean worktree in the pool."""
    for tid in ids:
        wt = repo / "worktrees" / tid
        (wt / f"{tid}.txt").write_text(f"{tid} in round {round_}\n")
        sh(["git", "add", "-A"], wt)
        sh(["git", "commit", "-q", "-m", tid], wt)
        sh([sys.executable, "-m", "ctx", "task", "complete", tid], repo)
    sh([sys.executable, "-m", "ctx", "merge"], repo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--tasks", type=int, nargs="+", default=[5, 10, 20])
    args = parser.parse_args()
    print(f"# setup benchmark — {today()} — {machine()}")
    print(f"repository: {args.files} files; baseline: a shell loop of `git worktree add -b` per task (mean of a run before and after ctx)")
    print("| tasks | baseline loop | ctx setup (fresh) | ratio | ctx setup (pool) | ratio to baseline |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp), args.files)
        for count in args.tasks:
            ids = [f"task-{n:02d}" for n in range(count)]
            reset(repo)
            t_base = baseline(repo, ids)
            reset(repo)
            write_plan(repo, [{"id": i} for i in ids])
            (repo / ".parallel" / "config.yaml").write_text(f"pool_size: {max(args.tasks)}\n")
            t_fresh = ctx_setup(repo)
            # the loop again, after ctx, so that neither side alone gets the colder or the warmer cache
            shutil.copytree(repo / ".parallel", Path(tmp) / "parallel-copy")
            for wt in ids:
                sh(["git", "worktree", "remove", "--force", f"worktrees/{wt}"], repo)
                sh(["git", "branch", "-D", f"feature/{wt}"], repo)
            t_base = (t_base + baseline(repo, ids)) / 2
            for wt in ids:
                sh(["git", "worktree", "remove", "--force", f"worktrees/{wt}"], repo)
                sh(["git", "branch", "-D", f"feature/{wt}"], repo)
            shutil.rmtree(repo / ".parallel")
            shutil.copytree(Path(tmp) / "parallel-copy", repo / ".parallel")
            shutil.rmtree(Path(tmp) / "parallel-copy")
            sh([sys.executable, "-m", "ctx", "setup"], repo)
            fill_pool(repo, ids, count)
            # a second plan of the same size: its worktrees come from the pool
            shutil.rmtree(repo / ".parallel" / "plans")
            ids2 = [f"next-{n:02d}" for n in range(count)]
            write_plan(repo, [{"id": i} for i in ids2])
            t_pool = ctx_setup(repo)
            print(f"| {count} | {t_base:.2f} s | {t_fresh:.2f} s | {t_fresh / t_base:.2f}x | {t_pool:.2f} s | "
                  f"{t_pool / t_base:.2f}x |")
            for wt in list((repo / "worktrees").glob("next-*")):
                sh(["git", "worktree", "remove", "--force", str(wt)], repo)
            reset(repo)


if __name__ == "__main__":
    main()
