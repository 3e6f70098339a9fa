"""`ctx merge` of independent tasks, against `git merge --no-ff` of each branch in the checkout itself
(no safety: what a merge script does), with and without a test after each merge.

With `--test CMD` each task is merged and tested in a private integration worktree; without a test it is
merged in memory (`git merge-tree`, `git commit-tree`). Either way the base then moves with a
compare-and-swap and the checkout follows.

Run: python bench/bench_merge.py [--tasks 8] [--files 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_setup import ROOT, make_repo, sh  # noqa: E402
from common import bytecode, machine, median, scratch, today  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import write_plan  # noqa: E402

TEST = "test -e pkg00"


def prepare(root: Path, files: int, ids: list[str]) -> Path:
    repo = make_repo(root, files)
    write_plan(repo, [{"id": i} for i in ids])
    sh([sys.executable, "-m", "ctx", "setup", "--no-pool"], repo)
    for tid in ids:
        wt = repo / "worktrees" / tid
        (wt / f"{tid}.txt").write_text(tid)
        sh(["git", "add", "-A"], wt)
        sh(["git", "commit", "-q", "-m", tid], wt)
        sh([sys.executable, "-m", "ctx", "task", "complete", tid], wt)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ids = [f"task-{n:02d}" for n in range(args.tasks)]
    print(f"{today()} {machine()}")
    print(f"{args.tasks} tasks, {args.files} files, median of {args.runs}")
    print("| test | ctx merge | per task | git merge loop | ratio |\n|---|---|---|---|---|")
    bytecode(ROOT / "scripts")
    with scratch() as folder:
        for test in (TEST, None):
            t_ctx, t_loop = [], []
            for run in range(args.runs):
                tmp = folder / f"{'test' if test else 'none'}-{run}"
                (tmp / "a").mkdir(parents=True)
                (tmp / "b").mkdir()
                repo = prepare(tmp / "a", args.files, ids)
                start = time.perf_counter()
                sh([sys.executable, "-m", "ctx", "merge", "--all", *(["--test", test] if test else [])], repo)
                t_ctx.append(time.perf_counter() - start)
                loop = prepare(tmp / "b", args.files, ids)
                start = time.perf_counter()
                for tid in ids:
                    sh(["git", "merge", "-q", "--no-ff", "--no-edit", f"feature/{tid}"], loop)
                    if test:
                        sh(test, loop, shell=True)
                t_loop.append(time.perf_counter() - start)
            c, b = median(t_ctx), median(t_loop)
            print(f"| {'`' + test + '`' if test else 'none'} | {c:.2f} s | {c / args.tasks:.2f} s | {b:.2f} s "
                  f"| {c / b:.1f}x |")

if __name__ == "__main__":
    main()
