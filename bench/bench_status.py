"""`ctx status` with 50 tasks against a per-task loop of git calls (what a status script does without batching).

Run: python bench/bench_status.py [--tasks 50] [--runs 5]
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


def baseline(repo: Path, ids: list[str]) -> None:
    """Per task: commits ahead, uncommitted files, last commit time: three git processes each."""
    for tid in ids:
        wt = repo / "worktrees" / tid
        for cmd in (["git", "rev-list", "--count", f"main..feature/{tid}"], ["git", "status", "--porcelain"],
                    ["git", "log", "-1", "--format=%ct"]):
            subprocess.run(cmd, cwd=wt, env=ENV, capture_output=True, check=True)


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp), args.files)
        ids = [f"task-{n:02d}" for n in range(args.tasks)]
        write_plan(repo, [{"id": i, "dependencies": [ids[n - 1]] if n % 5 else []} for n, i in enumerate(ids)])
        sh([sys.executable, "-m", "ctx", "setup", *[i for n, i in enumerate(ids) if n % 5 == 0]], repo)
        for n, tid in enumerate(ids):
            if n % 5:
                sh(["git", "worktree", "add", "-q", "-b", f"feature/{tid}", f"worktrees/{tid}"], repo)
            wt = repo / "worktrees" / tid
            (wt / "work.txt").write_text(tid)
            if n % 2:
                sh(["git", "add", "-A"], wt)
                sh(["git", "commit", "-q", "-m", tid], wt)
        t_ctx = timed(lambda: sh([sys.executable, "-m", "ctx", "status", "--json"], repo), args.runs)
        t_base = timed(lambda: baseline(repo, ids), args.runs)
        print(f"# status benchmark — {today()} — {machine()}")
        print(f"{args.tasks} tasks with worktrees ({args.files}-file repository), median of {args.runs} runs")
        print("| ctx status --json | per-task git loop (3 calls a task) | ratio |")
        print("|---|---|---|")
        print(f"| {t_ctx:.2f} s | {t_base:.2f} s | {t_ctx / t_base:.2f}x |")


if __name__ == "__main__":
    main()
