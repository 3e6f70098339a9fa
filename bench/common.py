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
QUIET = 65  # seconds


@contextlib.contextmanager
def scratch():
    """A folder whose subfolders the measurements use; nothing in it is removed before the benchmark ends.

    On ext4 without a journal (this kind of VM), the kernel does not reuse an inode freed in the last
    minute (after a sync; five more while unsynced), and steps over each such inode whenever it makes a
    file. Removing one run's files just before the next run made that run's checkouts several times
    slower. So removal waits until every run is measured, and a benchmark started within a minute of
    another's removal waits out the rest of that minute first.
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
