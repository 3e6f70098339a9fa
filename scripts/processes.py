"""Processes by identity, not by number: a pid plus its start time, waits without polling, strays by marker."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

PROC = Path("/proc")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), None when it is gone.

    A pid can be reused by a new process; the pair (pid, start time) cannot.
    """
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the name in brackets may hold spaces
    if len(fields) < 20 or fields[0] == "Z":  # a zombie has finished; only its exit status is left
        return None
    return int(fields[19])


def alive(pid: int | None, start: int | None) -> bool:
    """The same process (pid and start time) still runs."""
    if not pid:
        return False
    if PROC.is_dir():
        return start is not None and start_time(pid) == start
    return pid_alive(pid)  # without /proc: the pid alone


def pid_alive(pid: int) -> bool:
    """Some process has this pid (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exit_handle(pid: int) -> int | None:
    """A file descriptor that becomes readable when the process exits (Linux pidfd), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def with_marker(name: str, value: str) -> list[int]:
    """Pids of this user's processes whose environment holds NAME=VALUE (inherited by every descendant)."""
    needle = f"{name}={value}".encode() + b"\0"
    found = []
    me = os.getpid()
    try:
        entries = [e for e in os.listdir(PROC) if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        pid = int(entry)
        if pid == me:
            continue
        try:
            with open(PROC / entry / "environ", "rb") as fh:
                env = fh.read() + b"\0"
        except OSError:
            continue
        if needle in env and start_time(pid) is not None:
            found.append(pid)
    return found


def kill_marked(name: str, value: str, rounds: int = 20) -> int:
    """SIGKILL every process carrying the marker, until none is left; how many were found."""
    total = 0
    for _ in range(rounds):
        pids = with_marker(name, value)
        if not pids:
            break
        total += len(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)  # let the kernel tear them down before looking again
    return total


def kill_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def git_running_in(folder: Path) -> list[int]:
    """Pids of git processes working in `folder` (their current directory)."""
    found = []
    target = os.path.realpath(folder)
    try:
        entries = [e for e in os.listdir(PROC) if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            if (PROC / entry / "comm").read_text().strip() != "git":
                continue
            if os.path.realpath(os.readlink(PROC / entry / "cwd")) == target and start_time(int(entry)):
                found.append(int(entry))
        except OSError:
            continue
    return found


def wait_for_git(folder: Path, seconds: float = 10.0) -> None:
    """Let git commands still working in `folder` finish (bounded)."""
    end = time.monotonic() + seconds
    while git_running_in(folder) and time.monotonic() < end:
        time.sleep(0.02)


GUARD = Path(__file__).with_name("agent_guard.py")


def guarded(command: list[str], exit_file: Path) -> list[str]:
    """The argv that runs `command` under agent_guard.py: stopped when this process dies (even by kill -9);
    how it ended is written to exit_file."""
    return [sys.executable, "-I", "-S", str(GUARD), str(exit_file), str(os.getpid()), "--", *command]
