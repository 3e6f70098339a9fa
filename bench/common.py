"""Shared bits for the benchmarks: timing whole processes, machine description."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((l.split(":", 1)[1].strip() for l in fh if l.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def bytecode(folder: Path) -> None:
    """Compile a package's bytecode cache ahead, as an installed plugin has it after its first run:
    without it every ctx process compiles its modules again (PYTHONDONTWRITEBYTECODE is set on some
    machines, and an extracted older version has no cache at all)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True, stdout=subprocess.DEVNULL)


def file_speed(folder: Path) -> str:
    """How long making 200 small files in 50 new folders takes where the benchmark works: a checkout is
    mostly that, and on an aged VM disk the same machine can be several times slower in one folder
    than in another (run with TMPDIR elsewhere to compare)."""
    probe = folder / "probe"
    start = time.perf_counter()
    for n in range(50):
        (probe / str(n)).mkdir(parents=True)
        for m in range(4):
            (probe / str(n) / str(m)).write_text("x" * 200)
    return f"200 files in 50 new folders under {folder.parent}: {(time.perf_counter() - start) * 1000:.0f} ms"


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def run_measured(argv: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """(wall seconds, peak RSS in KiB of that process alone, result)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, subprocess.CompletedProcess(argv, proc.returncode, out, err)


def median(values: list[float]) -> float:
    return statistics.median(values)


REMOVED = Path(tempfile.gettempdir()) / "ctx-bench-removed"  # touched when a benchmark removed its files
QUIET = 365  # seconds


@contextlib.contextmanager
def scratch():
    """A folder whose subfolders the measurements use; nothing in it is removed before the benchmark ends.

    On ext4 without a journal (this kind of VM), the kernel does not reuse an inode freed in the last
    minute (six while the inode's table block is not written back), and steps over each such inode
    whenever it makes a file. Removing one run's files just before the next run made that run's
    checkouts several times slower, and making files stayed slow for about six minutes after a
    benchmark's removal, sync or not. So removal waits until every run is measured, and a benchmark
    started within six minutes of another's removal waits out the rest of them first.
    """
    try:
        wait = QUIET - (time.time() - REMOVED.stat().st_mtime)
    except OSError:
        wait = 0
    if wait > 0:
        print(f"(waiting {wait:.0f} s: another benchmark removed its files just now)", file=sys.stderr)
        time.sleep(wait)
    folder = Path(tempfile.mkdtemp(prefix="ctx-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.sync()
        REMOVED.touch()
