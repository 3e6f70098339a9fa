"""Worktree setup: fresh worktrees at --jobs 1, 2 and 4 against a sequential shell loop, and pooled
setup on a small and a large repository.

Fresh: 10 tasks on a generated 2,000-file repository. Baseline: the loop the original workflow's
script runs, `git worktree add -b` per task, measured in the same run, interleaved with ctx's runs
(median of --rounds each).
Pooled: a plan of 10 tasks set up from the worktrees that `ctx merge` parked after the previous
plan's 10 merges (each round merges the plan before it), on a 3,000-file and a 12,000-file
repository, against fresh ctx setups of the same repository. Pooled setup should cost what changed
between the parked commit and the new base (here ten files), not the size of the repository.
Run: python bench/bench_setup.py [--files 2000] [--tasks 10] [--jobs 1 2 4] [--rounds 3]
     [--pool-files 3000 12000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import bytecode, file_speed, machine, median, scratch, today  # noqa: E402
from helpers import write_plan  # noqa: E402

ENV = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="bench",
           GIT_COMMITTER_EMAIL="b@x")
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # ctx keeps its bytecode cache, as an installed plugin does
ROOT = Path(__file__).resolve().parent.parent
# After a merge parks worktrees, the pool's watcher checks each of them once (a stat of each file); the
# pooled setup is timed once that is done, as it is when an agent's work comes between the two.
SETTLE = 2.0


def sh(cmd: list[str] | str, cwd: Path, shell: bool = False) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, shell=shell, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} in {cwd} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-1000:]}")


def make_repo(root: Path, files: int) -> Path:
    repo = root / f"repo-{files}"
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
    """Move every worktree and ctx state aside (see common.scratch: removing them now would slow the next
    measurement's checkouts) and drop the branches, so the next measurement starts cold."""
    for name in ("worktrees", ".parallel"):
        if (repo / name).exists():
            (repo / name).rename(aside(repo))
    sh(["git", "worktree", "prune"], repo)
    branches = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/heads/feature/"], cwd=repo,
                              capture_output=True, text=True).stdout.split()
    for ref in branches:
        sh(["git", "update-ref", "-d", ref], repo)


def aside(repo: Path) -> Path:
    """A new folder name beside the repository, for what a measurement is done with."""
    trash = repo.parent / "done"
    trash.mkdir(exist_ok=True)
    return trash / str(len(list(trash.iterdir())))


def timed(fn) -> float:
    os.sync()  # write back earlier runs' files first, so no run pays for another's
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def baseline(repo: Path, ids: list[str]) -> float:
    reset(repo)
    script = "mkdir -p worktrees\nfor id in " + " ".join(ids) + '; do\n  git worktree add -q worktrees/"$id" -b "feature/$id"\ndone\n'
    elapsed = timed(lambda: sh(script, repo, shell=True))
    reset(repo)
    return elapsed


def plan(repo: Path, ids: list[str], pool_size: int = 0) -> None:
    """Write and validate the plan, as /ctx:plan leaves it."""
    write_plan(repo, [{"id": i} for i in ids])
    (repo / ".parallel" / "config.yaml").write_text(f"pool_size: {pool_size}\n")
    sh([sys.executable, "-m", "ctx", "plan", "validate"], repo)


def ctx_setup(repo: Path, *args: str) -> float:
    return timed(lambda: sh([sys.executable, "-m", "ctx", "setup", *args], repo))


def fresh(repo: Path, ids: list[str], jobs: int) -> float:
    reset(repo)
    plan(repo, ids)
    elapsed = ctx_setup(repo, "--jobs", str(jobs))
    reset(repo)
    return elapsed


def work_and_merge(repo: Path, ids: list[str]) -> None:
    """Each task commits a file of its own and is completed; `ctx merge` merges them all and parks their
    worktrees, as a run does."""
    for tid in ids:
        wt = repo / "worktrees" / tid
        (wt / f"{tid}.txt").write_text(f"{tid}\n")
        sh(["git", "add", "-A"], wt)
        sh(["git", "commit", "-q", "-m", tid], wt)
        sh([sys.executable, "-m", "ctx", "task", "complete", tid], repo)
    sh([sys.executable, "-m", "ctx", "merge"], repo)


def next_plan(repo: Path, ids: list[str]) -> None:
    (repo / ".parallel" / "plans").rename(aside(repo))
    write_plan(repo, [{"id": i} for i in ids])
    sh([sys.executable, "-m", "ctx", "plan", "validate"], repo)


def pooled(repo: Path, count: int, rounds: int) -> list[float]:
    """Time setting up a plan from the pool after the previous plan's merges parked its worktrees. The
    first plan is set up fresh; every round then merges the plan before, so the pool holds worktrees at
    that plan's commits, ten files behind the new base, as ctx left them."""
    reset(repo)
    ids = [f"r0-{n:02d}" for n in range(count)]
    plan(repo, ids, pool_size=count)
    sh([sys.executable, "-m", "ctx", "setup"], repo)
    times = []
    for round_ in range(1, rounds + 1):
        work_and_merge(repo, ids)
        ids = [f"r{round_}-{n:02d}" for n in range(count)]
        next_plan(repo, ids)
        time.sleep(SETTLE)
        times.append(ctx_setup(repo))
        out = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
        if out.count(f"/worktrees/r{round_}-") != count or "/.pool/" in out:
            raise SystemExit("the plan was not set up from the pool:\n" + out)
    reset(repo)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool-files", type=int, nargs="*", default=[3000, 12000])
    args = parser.parse_args()
    print(f"# setup benchmark — {today()} — {machine()}")
    ids = [f"task-{n:02d}" for n in range(args.tasks)]
    bytecode(ROOT / "scripts")
    with scratch() as tmp:
        print(file_speed(tmp))
        repo = make_repo(tmp, args.files)
        samples: dict[str, list[float]] = {"loop": [], **{f"j{jobs}": [] for jobs in args.jobs}}
        variants = list(samples)
        for round_ in range(args.rounds):
            # interleaved, in a rotating order, so that load from elsewhere falls on every variant alike
            for name in variants[round_ % len(variants):] + variants[:round_ % len(variants)]:
                samples[name].append(baseline(repo, ids) if name == "loop" else fresh(repo, ids, int(name[1:])))
        loop = median(samples["loop"])
        print(f"\nfresh: {args.tasks} tasks, {args.files} files; median of {args.rounds} interleaved rounds; "
              f"baseline loop {loop:.2f} s (runs: {', '.join(f'{t:.2f}' for t in samples['loop'])})\n")
        print("| --jobs | ctx setup (fresh) | ratio to the loop | runs |")
        print("|---|---|---|---|")
        for jobs in args.jobs:
            runs = samples[f"j{jobs}"]
            print(f"| {jobs} | {median(runs):.2f} s | {median(runs) / loop:.2f}x | {', '.join(f'{t:.2f}' for t in runs)} |")
        repo.rename(aside(repo))
        rows = []
        if not args.pool_files:
            return
        for files in args.pool_files:
            repo = make_repo(tmp, files)
            runs = pooled(repo, args.tasks, args.rounds)
            fresh_runs = [fresh(repo, ids, max(args.jobs)) for _ in range(min(3, args.rounds))]
            rows.append((files, median(runs), median(fresh_runs), runs, fresh_runs))
            repo.rename(aside(repo))
        small = rows[0][1]
        print(f"\npooled: {args.tasks} tasks set up from the pool after {args.tasks} merges (median of "
              f"{args.rounds}); fresh at --jobs {max(args.jobs)} (median of {min(3, args.rounds)})\n")
        print("| files | ctx setup (pool) | ctx setup (fresh) | pool / fresh | pool / pool on the smallest | pool runs | fresh runs |")
        print("|---|---|---|---|---|---|---|")
        for files, t_pool, t_fresh, runs, fresh_runs in rows:
            print(f"| {files} | {t_pool:.2f} s | {t_fresh:.2f} s | {t_pool / t_fresh:.3f}x | {t_pool / small:.2f}x | "
                  f"{', '.join(f'{t:.2f}' for t in runs)} | {', '.join(f'{t:.2f}' for t in fresh_runs)} |")


if __name__ == "__main__":
    main()
