"""`ctx run --merge` with 12 tasks of scripted agents that each take a fixed time.

Measures wall-clock against two references from the same plan: the sum of the agents' times (one
after the other, what a sequential loop takes) and the plan's critical path (the best any schedule
can do on unlimited cores, given the dependencies).
Each run is a fresh repository; the figure is the median of --runs runs, with the machine's load
average printed beside it (other work on a small machine moves the figures).
Run: python bench/bench_run.py [--seconds 1.5] [--jobs 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from bench_setup import ENV, ROOT, make_repo  # noqa: E402
from common import bytecode, file_speed, machine, scratch, today  # noqa: E402
from helpers import write_plan  # noqa: E402

# 12 tasks: four chains of three (a -> b -> c), so the critical path is three agents long.
TASKS = [{"id": f"{chain}-{step}", "dependencies": [f"{chain}-{step - 1}"] if step > 1 else []}
         for chain in ("api", "ui", "docs", "cli") for step in (1, 2, 3)]


def critical_path(tasks: list[dict], seconds: float) -> float:
    depth: dict[str, int] = {}
    for task in tasks:  # listed in dependency order
        depth[task["id"]] = 1 + max((depth[d] for d in task["dependencies"]), default=0)
    return max(depth.values()) * seconds


def one_run(agent: str, jobs: int, pythonpath: str | None, folder: Path) -> float:
    env = dict(ENV, PYTHONPATH=pythonpath) if pythonpath else ENV
    folder.mkdir()
    repo = make_repo(folder, 200)
    write_plan(repo, TASKS)
    # as /ctx:plan leaves it: validated (a version that remembers that skips the validator in the run)
    subprocess.run([sys.executable, "-m", "ctx", "plan", "validate"], cwd=repo, env=env, capture_output=True, check=True)
    os.sync()  # write the new repository back first, so no run pays for the one before
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ctx", "run", "--merge", "--jobs", str(jobs), "--agent", agent],
                          cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return wall


def extract(ref: str, into: Path) -> str:
    """The ctx package as it was at `ref`, importable from the returned folder."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", ref, "scripts"], cwd=root, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "scripts").rename(into / "ctx")
    return str(into)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", metavar="REF", help="Also time ctx as it was at this git ref, runs interleaved.")
    args = parser.parse_args()
    agent = f'sleep {args.seconds} && echo "$CTX_TASK_ID" > "$CTX_TASK_ID.txt" && git add -A && git commit -qm "$CTX_TASK_ID"'
    sequential = len(TASKS) * args.seconds
    best = critical_path(TASKS, args.seconds)
    bytecode(ROOT / "scripts")
    with scratch() as folder:
        versions = {"this checkout": None}
        if args.against:
            (folder / "old").mkdir()
            versions[args.against] = extract(args.against, folder / "old")
            bytecode(folder / "old")
        speed = file_speed(folder)
        walls: dict[str, list[float]] = {name: [] for name in versions}
        loads = []
        for n in range(args.runs):
            for v, (name, path) in enumerate(versions.items()):
                walls[name].append(one_run(agent, args.jobs, path, folder / f"run-{n}-{v}"))
                loads.append(os.getloadavg()[0])
    print(f"# run benchmark — {today()} — {machine()}")
    print(f"{len(TASKS)} tasks (4 chains of 3), each agent {args.seconds:g} s, --jobs {args.jobs}, --merge; "
          f"median of {args.runs} runs; load average {min(loads):.1f}-{max(loads):.1f}; {speed}")
    print("| ctx | run wall-clock (runs) | sequential (sum) | critical path | speed-up vs sequential | ctx / critical path |")
    print("|---|---|---|---|---|---|")
    for name, values in walls.items():
        wall = statistics.median(values)
        print(f"| {name} | {wall:.2f} s ({', '.join(f'{w:.2f}' for w in values)}) | {sequential:.1f} s | {best:.1f} s "
              f"| {sequential / wall:.2f}x | {wall / best:.2f}x |")


if __name__ == "__main__":
    main()
