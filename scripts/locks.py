"""Cross-process locks under .parallel/locks/ (filelock: portable, released when a process dies)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from filelock import FileLock, Timeout

from .errors import CtxError
from .workspace import Workspace


@contextmanager
def lock(ws: Workspace, name: str, timeout: float = 120) -> Iterator[None]:
    """Hold `.parallel/locks/<name>.lock`. "git" guards ctx's git metadata writes, "status" task files."""
    ws.locks.mkdir(parents=True, exist_ok=True)
    path = ws.locks / f"{name}.lock"
    try:
        with FileLock(str(path), timeout=timeout):
            yield
    except Timeout:
        raise CtxError(f"{path}: still locked after {timeout:.0f} s by another ctx process",
                       hint="wait for it to finish, or run: ctx doctor") from None
