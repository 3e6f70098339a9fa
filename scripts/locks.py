"""Cross-process locks under .parallel/locks/: flock(2), which the kernel releases when its holder dies.

A lock held for long (the merge lock: merge, test and advance of the base) also leaves a small
record beside it naming its holder, so that a waiting command can say who it waits for. Threads of
one process (`ctx run`'s loop, setup and merge) queue on a thread lock first, which hands over the
moment it is released; only another process is waited for by polling the file lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import CtxError
from .workspace import Workspace, atomic_write


@dataclass
class Holder:
    pid: int
    command: str
    since: str

    def __str__(self) -> str:
        return f"pid {self.pid} (`{self.command}`, since {self.since})"


POLL = 0.01  # seconds between attempts on a file lock another process holds
_threads: dict[str, threading.Lock] = {}
_threads_guard = threading.Lock()


class _Busy(Exception):
    """Another holder has the lock."""


def _try_flock(path: Path) -> int | None:
    """An open descriptor holding an exclusive flock on path, or None while another holds it.

    Each attempt opens the file anew, so a second lock in this same process also waits (flock belongs
    to the open file, not to the process)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise CtxError(f"{path}: cannot open the lock file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return None
        raise CtxError(f"{path}: cannot lock: {exc.strerror}",
                       hint="ctx keeps its locks in .parallel/locks/ and needs a file system with flock") from None
    return fd


def _unflock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _flock(path: Path, deadline: float) -> int:
    """Hold the flock on path, polling until the deadline (then _Busy)."""
    while True:
        fd = _try_flock(path)
        if fd is not None:
            return fd
        if time.monotonic() >= deadline:
            raise _Busy(str(path))
        time.sleep(POLL)


def _thread_lock(path: Path) -> threading.Lock:
    with _threads_guard:
        return _threads.setdefault(str(path), threading.Lock())


def _holder_file(ws: Workspace, name: str) -> Path:
    return ws.locks / f"{name}.holder.json"


def holder(ws: Workspace, name: str) -> Holder | None:
    """Who recorded holding lock `name` (the record may be stale: see held())."""
    try:
        raw = json.loads(_holder_file(ws, name).read_text())
        return Holder(int(raw["pid"]), str(raw["command"]), str(raw["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def held(ws: Workspace, name: str) -> bool:
    """Is lock `name` held by a live process right now?"""
    path = ws.locks / f"{name}.lock"
    if not path.exists():
        return False
    fd = _try_flock(path)
    if fd is None:
        return True
    _unflock(fd)
    return False


def _command() -> str:
    args = [os.path.basename(sys.argv[0]) if sys.argv else "ctx", *sys.argv[1:]]
    if args and args[0] in ("__main__.py", "-m"):
        args[0] = "ctx"
    return " ".join(args)


@contextmanager
def lock(ws: Workspace, name: str, timeout: float = 120, *, record: bool = False) -> Iterator[None]:
    """Hold `.parallel/locks/<name>.lock`. "git" guards ctx's git metadata writes, "status" task files,
    "merge" one merger per repository (recorded: pid, command, since)."""
    ws.locks.mkdir(parents=True, exist_ok=True)
    path = ws.locks / f"{name}.lock"
    deadline = time.monotonic() + timeout
    local = _thread_lock(path)
    try:
        if not local.acquire(timeout=timeout):
            raise _Busy(str(path))
        try:
            fd = _flock(path, deadline)
        except BaseException:
            local.release()
            raise
    except _Busy:
        who = holder(ws, name) if record else None
        by = f"by {who}" if who else "by another ctx process"
        raise CtxError(f"{path}: still locked after {timeout:.0f} s {by}",
                       hint="wait for it to finish, or run: ctx doctor") from None
    try:
        if record:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            # no fsync: after a power loss the lock is free and the record meaningless
            atomic_write(_holder_file(ws, name),
                         json.dumps({"pid": os.getpid(), "command": _command(), "since": stamp}), sync=False)
        yield
    finally:
        if record:
            _holder_file(ws, name).unlink(missing_ok=True)
        _unflock(fd)
        local.release()
