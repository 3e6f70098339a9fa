"""Shared bits for the benchmarks: timing whole processes, machine description."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from datetime import datetime, timezone


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
