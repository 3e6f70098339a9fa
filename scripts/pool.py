"""Parked worktrees: clean, detached checkouts under worktrees/.pool/ that setup reuses.

Reusing one costs a checkout of the files that differ between its commit and the new base, not a
checkout of the whole tree, and keeps ignored build output (node_modules, virtual environments)
warm. A parked worktree whose HEAD is reachable from no branch (and not from the base) is never
reused or dropped: it could hold the last copy of a commit.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import git, registry, watcher
from .errors import CtxError
from .workspace import Workspace


Regs = dict[Path, registry.Registration]


def slots(ws: Workspace, regs: Regs | None = None) -> Regs:
    pool = Path(os.path.realpath(ws.pool))
    regs = registry.by_path(ws.root) if regs is None else regs
    return {p: r for p, r in regs.items() if p.parent == pool}


def sort(ws: Workspace, base: str | None = None, regs: Regs | None = None) -> tuple[list[Path], list[Path]]:
    """Parked worktrees as (reusable, stranded), with one git call. Reusable: present, unlocked, HEAD
    on a branch or the base. Stranded: HEAD reachable from no branch and not from the base, kept."""
    found = slots(ws, regs)
    lost = registry.unreachable(ws.root, [r.head or "" for r in found.values()], base)
    return sorted(_reusable(found, lost)), sorted(p for p, r in found.items() if r.head in lost)


def _reusable(found: Regs, lost: set[str]) -> list[Path]:
    """Of the pool's registrations: present, unlocked, and with a HEAD not among `lost`."""
    return [p for p, r in found.items() if r.locked is None and not r.prunable and p.is_dir()
            and r.head and r.head not in lost]


def parked(ws: Workspace, base: str | None = None, regs: Regs | None = None) -> list[Path]:
    return sort(ws, base, regs)[0]


def stranded(ws: Workspace, base: str | None = None, regs: Regs | None = None) -> list[Path]:
    return sort(ws, base, regs)[1]


def clean(path: Path) -> bool:
    """No tracked change and no untracked file that git would show (ignored files are fine)."""
    return git.run("status", "--porcelain", "-z", cwd=path).stdout == ""


def unchanged(path: Path) -> bool:
    """No change to a tracked file, judged from the index's stat cache (no walk for untracked files)."""
    return git.run("diff-index", "--quiet", "HEAD", "--", cwd=path, check=False).returncode == 0


def park(ws: Workspace, reg: registry.Registration, cap: int, found: Regs, lost: set[str]) -> Path | None:
    """Detach a clean worktree where it stands and move it into the pool, where the repository's
    watcher watches it; None when the pool is full. `found`: the pool's registrations as read under
    the git lock (which the caller holds); `lost`: those of their HEADs on no branch, which do not
    count. A worktree git will not move (one with submodules) is put back on its branch, and the
    error says why."""
    if len(_reusable(found, lost)) >= cap:
        return None
    ws.pool.mkdir(parents=True, exist_ok=True)
    used = {p.name for p in ws.pool.iterdir()}
    slot = next(ws.pool / str(n) for n in range(len(used) + 1) if str(n) not in used)
    # detach where it stands: only HEAD changes (what `git checkout --detach` does, without reading the index)
    git.run("update-ref", "--no-deref", "-m", "ctx: parked", "HEAD", "HEAD", cwd=reg.path)
    try:
        git.run("worktree", "move", str(reg.path), str(slot), cwd=ws.root, retries=3)
    except CtxError:
        if reg.branch:
            git.run("symbolic-ref", "-m", "ctx: not parked", "HEAD", f"refs/heads/{reg.branch}", cwd=reg.path,
                    check=False)
        raise
    if reg.head:
        watcher.watch(ws.git_dir(), slot, reg.head)
    return slot


class Usable:
    """Parked worktrees without changes to tracked files, checked a few at once ahead of their use:
    take() gives the next clean one as soon as its own check is done, so a task can be moved into it
    while the others are still being checked. Checks only as many as are wanted, and one more for
    each that has changes. A worktree the repository's watcher vouches for, at the commit registered
    for it in `regs`, is not looked at again."""

    def __init__(self, ws: Workspace, slots: list[Path], regs: Regs, want: int, workers: int):
        self._common, self._regs = ws.git_dir(), regs
        self._rest = list(slots)
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers))
        self._pending: deque = deque()
        for _ in range(min(want, len(self._rest))):
            self._check_next()

    def _check_next(self) -> None:
        slot = self._rest.pop(0)
        self._pending.append((slot, self._executor.submit(self._check, slot)))

    def _check(self, slot: Path) -> bool:
        head = self._regs[slot].head
        return bool(head) and watcher.vouched(self._common, slot, head) or unchanged(slot)

    def take(self) -> Path | None:
        while self._pending:
            slot, check = self._pending.popleft()
            if check.result():
                return slot
            if self._rest:
                self._check_next()
        return None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def move(ws: Workspace, slot: Path, target: Path) -> None:
    """Move a parked worktree that Usable.take() gave to target. The caller holds the git lock, and
    checks the task's branch out there afterwards."""
    git.run("worktree", "move", str(slot), str(target), cwd=ws.root, retries=3)
