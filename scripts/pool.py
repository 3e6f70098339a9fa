"""Parked worktrees: clean, detached checkouts under worktrees/.pool/ that setup reuses.

Reusing one costs a checkout of the files that differ, not a checkout of the whole tree, and keeps
ignored build output (node_modules, virtual environments) warm.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import git, registry
from .workspace import Workspace


def parked(ws: Workspace) -> list[Path]:
    pool = Path(os.path.realpath(ws.pool))
    return sorted(p for p, r in registry.by_path(ws.root).items()
                  if p.parent == pool and not r.locked and not r.prunable)


def clean(path: Path) -> bool:
    """No tracked change and no untracked file that git would show (ignored files are fine)."""
    return git.run("status", "--porcelain", "-z", cwd=path).stdout == ""


def park(ws: Workspace, path: Path, cap: int) -> Path | None:
    """Detach a clean worktree and move it into the pool; None when the pool is full. Caller holds the git lock."""
    slots = parked(ws)
    if len(slots) >= cap:
        return None
    ws.pool.mkdir(parents=True, exist_ok=True)
    used = {p.name for p in ws.pool.iterdir()}
    slot = next(ws.pool / str(n) for n in range(len(used) + 1) if str(n) not in used)
    git.run("checkout", "-q", "--detach", cwd=path)
    git.run("worktree", "move", str(path), str(slot), cwd=ws.root, retries=3)
    return slot


def take(ws: Workspace, target: Path, branch: str, base: str, branch_exists: bool) -> bool:
    """Move a parked worktree to target and check out branch there. Caller holds the git lock."""
    for slot in parked(ws):
        if not clean(slot):
            continue
        git.run("worktree", "move", str(slot), str(target), cwd=ws.root, retries=3)
        if branch_exists:
            git.run("checkout", "-q", branch, cwd=target)
        else:
            git.run("checkout", "-q", "--no-track", "-b", branch, base, cwd=target)
        return True
    return False
