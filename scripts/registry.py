"""What git knows about this repository's worktrees (`git worktree list --porcelain`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from . import git, processes
from .errors import CtxError


@dataclass
class Registration:
    path: Path
    head: str | None = None
    branch: str | None = None  # short name, e.g. feature/auth-api
    detached: bool = False
    locked: str | None = None  # the lock reason ("" when locked without one)
    prunable: bool = False
    bare: bool = False


def registrations(root: Path) -> list[Registration]:
    for attempt in range(8):  # another git may be adding a worktree right now
        listed = git.run("worktree", "list", "--porcelain", "-z", cwd=root, check=False)
        if listed.ok or not git.is_registering(listed.stderr):
            break
        time.sleep(0.02 * (attempt + 1))
    if not listed.ok:
        lines = (listed.stderr.strip() or f"exit {listed.returncode}").splitlines()
        raise CtxError(f"git worktree list failed: {lines[-1]}")
    out = listed.stdout
    result: list[Registration] = []
    current: Registration | None = None
    for field in out.split("\0"):
        if not field:
            if current:
                result.append(current)
            current = None
            continue
        key, _, value = field.partition(" ")
        if key == "worktree":
            current = Registration(Path(value))
        elif current is None:
            continue
        elif key == "HEAD":
            current.head = value
        elif key == "branch":
            current.branch = value.removeprefix("refs/heads/")
        elif key == "detached":
            current.detached = True
        elif key == "locked":
            current.locked = value
        elif key == "prunable":
            current.prunable = True
        elif key == "bare":
            current.bare = True
    if current:
        result.append(current)
    return result


def by_path(root: Path) -> dict[Path, Registration]:
    return {Path(os.path.realpath(r.path)): r for r in registrations(root)}


def admin_dir(root: Path, worktree: Path) -> Path | None:
    """The worktree's folder under .git/worktrees/, found from its gitdir file."""
    common = Path(git.out("rev-parse", "--path-format=absolute", "--git-common-dir", cwd=root))
    for admin in (common / "worktrees").glob("*"):
        try:
            target = (admin / "gitdir").read_text().strip()
        except OSError:
            continue
        if Path(os.path.realpath(Path(target).parent)) == Path(os.path.realpath(worktree)):
            return admin
    return None


def stale_lock(reason: str | None) -> bool:
    """A lock left by a process that is gone: git's own "initializing" lock, or ctx's "ctx setup pid N"."""
    if reason is None:
        return False
    if "initializing" in reason:
        return True
    words = reason.split()
    if words[:3] == ["ctx", "setup", "pid"] and len(words) > 3 and words[3].isdigit():
        return not processes.pid_alive(int(words[3]))
    return False



def unreachable(root: Path, heads: list[str], base: str | None = None) -> set[str]:
    """Those of heads (worktree HEAD commits) reachable from no local branch and not from base:
    removing or reusing their worktree could drop the last copy of a commit. One git call for all."""
    # git worktree add writes the null object id as HEAD before the real one: no commit to lose
    heads = sorted({h for h in heads if h and h.strip("0")})
    if not heads:
        return set()
    out = git.run("rev-list", *heads, "--not", "--branches", *([base] if base else []), cwd=root, check=False)
    if not out.ok:
        return set(heads)  # unknown means keep
    listed = set(out.stdout.split())
    return {h for h in heads if h in listed}


def head_reachable(root: Path, head: str, base: str | None = None) -> bool:
    return not unreachable(root, [head], base)
