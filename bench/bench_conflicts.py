"""Conflict prediction in `ctx status`: 20 tasks, every one against the base and against each other.

Each task commits a file of its own and edits one shared file (so every pair of tasks collides there:
the worst case), and half of them also hold uncommitted changes. Measured: the whole `ctx status --json`
with an empty cache and again with results cached by commit, the prediction alone (in-process, no
cache), and a baseline that checks each pair by a real merge in a scratch worktree.

Run: python bench/bench_conflicts.py [--tasks 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_setup import ENV, make_repo, sh  # noqa: E402
from common import machine, median, today  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import write_plan  # noqa: E402


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples)


def naive(repo: Path, ids: list[str]) -> None:
    """What a script without merge-tree does: a scratch worktree, then a real merge per pair."""
    scratch = repo.parent / "scratch"
    sh(["git", "worktree", "add", "-q", "--detach", str(scratch), "main"], repo)
    try:
        for n, a in enumerate(ids):
            for b in ["main", *ids[n + 1:]]:
                sh(["git", "checkout", "-q", "--detach", f"feature/{a}"], scratch)
                subprocess.run(["git", "merge", "-q", "--no-commit", "--no-ff", b if b == "main" else f"feature/{b}"],
                               cwd=scratch, env=ENV, capture_output=True)
                subprocess.run(["git", "merge", "--abort"], cwd=scratch, env=ENV, capture_output=True)
    finally:
        sh(["git", "worktree", "remove", "--force", str(scratch)], repo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp), args.files)
        (repo / "shared.txt").write_text("".join(f"line {n}\n" for n in range(50)))
        sh(["git", "add", "-A"], repo)
        sh(["git", "commit", "-q", "-m", "shared file"], repo)
        ids = [f"task-{n:02d}" for n in range(args.tasks)]
        write_plan(repo, [{"id": i} for i in ids])
        sh([sys.executable, "-m", "ctx", "setup", *ids], repo)
        for n, tid in enumerate(ids):
            wt = repo / "worktrees" / tid
            (wt / f"{tid}.txt").write_text(tid)
            (wt / "shared.txt").write_text(f"{tid} was here\n" + (wt / "shared.txt").read_text())
            sh(["git", "add", "-A"], wt)
            sh(["git", "commit", "-q", "-m", tid], wt)
            if n % 2:
                (wt / f"{tid}-draft.txt").write_text("not committed yet")
        from ctx import conflicts  # the module under measurement, in-process
        branches = {tid: f"feature/{tid}" for tid in ids}
        dirty = {tid: repo / "worktrees" / tid for n, tid in enumerate(ids) if n % 2}
        pairs = sum(len(v) for v in conflicts.predict(repo, "main", branches, dirty).by_task.values()) // 2
        cache = repo / ".parallel" / "cache" / "conflicts.json"

        def cold():
            cache.unlink(missing_ok=True)
            sh([sys.executable, "-m", "ctx", "status", "--json"], repo)

        t_cold = timed(cold, args.runs)
        t_warm = timed(lambda: sh([sys.executable, "-m", "ctx", "status", "--json"], repo), args.runs)
        t_predict = timed(lambda: conflicts.predict(repo, "main", branches, dirty), args.runs)
        t_naive = timed(lambda: naive(repo, ids), 1)
        print(f"# conflict prediction benchmark — {today()} — {machine()}")
        print(f"{args.tasks} tasks, {pairs} conflicting pairs, {len(dirty)} with uncommitted changes "
              f"({args.files}-file repository); median of {args.runs} runs, naive loop once")
        print("| ctx status --json, first | again (cached) | prediction alone, uncached | baseline: merge per pair | ratio |")
        print("|---|---|---|---|---|")
        print(f"| {t_cold:.2f} s | {t_warm:.2f} s | {t_predict:.2f} s | {t_naive:.2f} s | {t_predict / t_naive:.2f}x |")


if __name__ == "__main__":
    main()
