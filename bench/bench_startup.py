"""Start-up: `ctx --version` and `ctx task start ID`, this checkout against an earlier commit.

Both run as whole processes through each checkout's own bin/ctx launcher (which imports that
checkout's scripts/ as the package), alternating, in the same run; median of --runs each. The
default earlier commit is the last one before command modules were loaded lazily. Floor: a bare
`python3 -c pass`. Python keeps its bytecode cache, as in an installed plugin (the benchmark clears
PYTHONDONTWRITEBYTECODE).
Run: python bench/bench_startup.py [--before REF] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import machine, median, today  # noqa: E402
from helpers import make_repo, write_plan  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "5c6e728"  # every command module imported at start-up


def export(ref: str, into: Path) -> Path:
    """The scripts/ and bin/ of ref, unpacked into a folder of their own."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", ref, "scripts", "bin"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "bin" / "ctx"


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default=BEFORE, help="git ref to compare against")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="bench",
                      GIT_COMMITTER_EMAIL="b@x")
    with tempfile.TemporaryDirectory() as tmp:
        old = export(args.before, Path(tmp) / "before")
        new = ROOT / "bin" / "ctx"
        repo = make_repo(Path(tmp))
        write_plan(repo, [{"id": "t0"}])
        cases = {"ctx --version": ["--version"], "ctx task start t0": ["task", "start", "t0"]}
        floor = median([timed([sys.executable, "-c", "pass"], repo) for _ in range(args.runs)])
        print(f"# start-up benchmark — {today()} — {machine()}")
        print(f"median of {args.runs} whole-process runs; before = {args.before}; python3 -c pass: "
              f"{floor * 1000:.0f} ms\n")
        print("| command | before | after | after / before |")
        print("|---|---|---|---|")
        for label, argv in cases.items():
            before, after = [], []
            for _ in range(args.runs):
                before.append(timed([sys.executable, str(old), *argv], repo))
                after.append(timed([sys.executable, str(new), *argv], repo))
            b, a = median(before), median(after)
            print(f"| {label} | {b * 1000:.0f} ms | {a * 1000:.0f} ms | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
