"""Shared bits for the benchmarks: timing whole processes, machine description."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
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


@contextlib.contextmanager
def scratch():
    """A folder whose subfolders the measurements use; nothing in it is removed before the benchmark ends.

    On ext4 without a journal (this kind of VM), the kernel will not reuse an inode freed in the last
    minute or so, and steps over each such inode whenever it makes a file. Removing one run's files just
    before the next run made that run's checkouts several times slower, so the removal waits until every
    run is measured.
    """
    folder = Path(tempfile.mkdtemp(prefix="ctx-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
