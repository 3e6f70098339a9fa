"""Parked worktrees: clean, detached checkouts under worktrees/.pool/ that setup reuses.

Reusing one costs a checkout of the files that differ between its commit and the new base, not a
checkout of the whole tree, and keeps ignored build output (node_modules, virtual environments)
warm. A parked worktree whose HEAD is reachable from no branch (and not from the base) is never
reused or dropped: it could hold the last copy of a commit.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import git, registry
from .workspace import Workspace


def slots(ws: Workspace) -> dict[Path, registry.Registration]:
    pool = Path(os.path.realpath(ws.pool))
    return {p: r for p, r in registry.by_path(ws.root).items() if p.parent == pool}


def parked(ws: Workspace, base: str | None = None) -> list[Path]:
    """Parked worktrees that may be reused or dropped: present, unlocked, HEAD on a branch or the base."""
    found = {p: r for p, r in slots(ws).items() if r.locked is None and not r.prunable and p.is_dir()}
    stranded = registry.unreachable(ws.root, [r.head or "" for r in found.values()], base)
    return sorted(p for p, r in found.items() if r.head and r.head not in stranded)


def stranded(ws: Workspace, base: str | None = None) -> list[Path]:
    """Parked worktrees kept because their HEAD is reachable from no branch and not from the base."""
    found = slots(ws)
    lost = registry.unreachable(ws.root, [r.head or "" for r in found.values()], base)
    return sorted(p for p, r in found.items() if r.head in lost)


def clean(path: Path) -> bool:
    """No tracked change and no untracked file that git would show (ignored files are fine)."""
    return git.run("status", "--porcelain", "-z", cwd=path).stdout == ""


def unchanged(path: Path) -> bool:
    """No change to a tracked file, judged from the index's stat cache (no walk for untracked files)."""
    return git.run("diff-index", "--quiet", "HEAD", "--", cwd=path, check=False).returncode == 0


def park(ws: Workspace, path: Path, cap: int) -> Path | None:
    """Detach a clean worktree and move it into the pool; None when the pool is full or its HEAD is on
    no branch. Caller holds the git lock."""
    head = git.rev("HEAD", path)
    if head is None or not registry.head_reachable(ws.root, head):
        return None
    if len(parked(ws)) >= cap:
        return None
    ws.pool.mkdir(parents=True, exist_ok=True)
    used = {p.name for p in ws.pool.iterdir()}
    slot = next(ws.pool / str(n) for n in range(len(used) + 1) if str(n) not in used)
    git.run("checkout", "-q", "--detach", cwd=path)
    git.run("worktree", "move", str(path), str(slot), cwd=ws.root, retries=3)
    return slot


def usable(slots: list[Path], want: int, workers: int) -> list[Path]:
    """Up to `want` parked worktrees without changes to tracked files, checked a few at once."""
    found: list[Path] = []
    rest = list(slots)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as executor:
        while rest and len(found) < want:
            batch, rest = rest[:want - len(found)], rest[want - len(found):]
            found += [s for s, ok in zip(batch, executor.map(unchanged, batch)) if ok]
    return found


def claim(ws: Workspace, available: list[Path], target: Path) -> bool:
    """Move the first parked worktree of `available` (taking it off the list) to target. The caller
    holds the git lock, and checks the task's branch out there afterwards."""
    if not available:
        return False
    git.run("worktree", "move", str(available.pop(0)), str(target), cwd=ws.root, retries=3)
    return True
