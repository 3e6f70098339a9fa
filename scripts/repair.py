"""Finding and finishing what a killed `ctx setup` (or a killed `git worktree add`) left behind.

A half-made worktree is removed and made again, never checked out over: its index may be missing or
locked, and a checkout there would stage the deletion of every file. Nothing is removed whose HEAD
is not reachable from a branch or the base.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import git, journal, pool, registry
from .workspace import Workspace


# What the next ctx setup does about a finding (also the words doctor shows)
REMAKE = "remove it and create it again"
RERUN = "run the setup steps again"
UNLOCK = "unlock it"
PRUNE = "prune the registration"
KEEP = "keep it"


@dataclass
class Finding:
    path: Path
    problem: str
    action: str  # what the next ctx setup does about it
    task_id: str | None = None


def _under(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(folder)) in path.parents


def _ours(ws: Workspace, path: Path) -> bool:
    """A folder setup may delete: empty, or a worktree whose .git file points into this repository."""
    if not path.exists():
        return True
    if path.is_dir() and not any(path.iterdir()):
        return True
    try:
        pointer = (path / ".git").read_text().strip()
    except OSError:
        return False
    if not pointer and [p.name for p in path.iterdir()] == [".git"]:
        return True  # git was killed between creating the .git file and writing it
    common = os.path.realpath(ws.git_dir() / "worktrees")
    return pointer.startswith("gitdir: ") and os.path.realpath(pointer[8:]).startswith(common + os.sep)


def users(path: Path) -> list[int]:
    """Processes working in path (their folder is in it, or it is on their command line), such as a
    git that outlived the ctx setup that started it. Linux only; elsewhere none are found."""
    target = os.path.realpath(path)
    found = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if cwd == target or cwd.startswith(target + os.sep) or target in argv or str(path) in argv:
            found.append(pid)
    return found


def wait_for_users(path: Path, timeout: float = 60.0) -> list[int]:
    """Wait until no process works in path; those still there after timeout seconds."""
    deadline = time.monotonic() + timeout
    while (left := users(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def clear_stale_ref_lock(ws: Workspace, branch: str, age: float = 5.0) -> None:
    """Remove refs/heads/<branch>.lock when a killed git left it: git holds one for milliseconds, and
    ctx creates task branches only under its own git lock."""
    lock = ws.git_dir() / "refs" / "heads" / f"{branch}.lock"
    try:
        if time.time() - lock.stat().st_mtime > age:
            lock.unlink()
    except FileNotFoundError:
        pass


def owned_elsewhere(ws: Workspace) -> set[Path]:
    """Worktree folders a live ctx setup is working on now. Read it before the worktree registrations:
    a setup that finishes in between then shows as finished in them, not as half-made."""
    return {Path(os.path.realpath(e.path)) for e in journal.entries(ws) if e.owner_alive()}


def findings(ws: Workspace, base: str | None = None, regs: pool.Regs | None = None,
             stranded: list[Path] | None = None, busy: set[Path] | None = None) -> list[Finding]:
    """What a killed setup or git left behind, and what the next ctx setup will do about it.
    `busy`, `regs`, `stranded`: what owned_elsewhere() returned, then the worktree registrations and
    stranded pool slots read after it, when the caller has them (all three, or none)."""
    found: list[Finding] = []
    if busy is None or regs is None:
        busy = owned_elsewhere(ws)
        regs = registry.by_path(ws.root)
    seen: set[Path] = set()
    for entry in journal.entries(ws):
        path = Path(os.path.realpath(entry.path))
        if entry.owner_alive():
            continue
        seen.add(path)
        if entry.phase == journal.CHECKOUT:
            reg = regs.get(path)
            own = _untracked(path) if entry.pooled and reg is not None else []
            if own:  # put in the pool after it was parked: removing the worktree would lose them
                found.append(Finding(path, f"half-made worktree of {entry.task_id}, taken from the pool, holding "
                                     f"files git does not track ({', '.join(own[:3])}"
                                     f"{' and more' if len(own) > 3 else ''})", f"{KEEP}: move those files "
                                     f"away, then run ctx setup again", entry.task_id))
            elif reg is not None and reg.head and not registry.head_reachable(ws.root, reg.head, base):
                found.append(Finding(path, f"half-made worktree of {entry.task_id} whose HEAD {reg.head[:12]} "
                                     "is on no branch", f"{KEEP}: save its commits on a branch, then "
                                     f"remove it with git worktree remove --force {path}", entry.task_id))
            else:
                found.append(Finding(path, f"half-made worktree of {entry.task_id} (setup was killed while "
                                     "checking it out)", REMAKE, entry.task_id))
        else:
            found.append(Finding(path, f"setup of {entry.task_id} was killed before its setup steps finished",
                                 RERUN, entry.task_id))
    for path, reg in regs.items():
        if path in seen or path in busy or not _under(path, ws.worktrees):
            continue
        task_id = None if path.parent == Path(os.path.realpath(ws.pool)) else path.name
        if reg.prunable or not path.exists():
            found.append(Finding(path, "registered worktree whose folder is gone", PRUNE,
                                 task_id))
        elif registry.stale_lock(reg.locked):
            if "initializing" in (reg.locked or ""):
                found.append(Finding(path, "half-made worktree (a git worktree add was killed)",
                                     REMAKE, task_id))
            else:
                found.append(Finding(path, f"locked by a process that is gone ({reg.locked})", UNLOCK,
                                     task_id))
    for slot in pool.stranded(ws, base, regs) if stranded is None else stranded:
        found.append(Finding(slot, "parked worktree whose HEAD is on no branch (commits made after it was parked)",
                             f"{KEEP}: save its commits with git -C {slot} branch NAME; the pool then uses it again"))
    for lock in _index_locks(ws):
        owner = lock.parent
        if any(f.path == _worktree_of(owner) for f in found) or _worktree_of(owner) in busy:
            continue
        found.append(Finding(lock, "index.lock left behind (by a killed git, unless one is running there now)",
                             "none: if no git command is running there, delete the file"))
    return found


def _untracked(path: Path) -> list[str]:
    """Files in the worktree that git does not track and does not ignore."""
    res = git.run("status", "--porcelain", "-z", "--untracked-files=all", cwd=path, check=False)
    return [e[3:] for e in git.zsplit(res.stdout) if e.startswith("?? ")] if res.ok else []


def _worktree_of(admin: Path) -> Path:
    """The worktree folder of a .git/worktrees/<name> folder (or the main checkout for .git itself)."""
    try:
        return Path(os.path.realpath(Path((admin / "gitdir").read_text().strip()).parent))
    except OSError:
        return Path(os.path.realpath(admin.parent))


def _index_locks(ws: Workspace) -> list[Path]:
    common = ws.git_dir()
    return [p for p in [common / "index.lock", *(common / "worktrees").glob("*/index.lock")] if p.exists()]


def repair(ws: Workspace, base: str | None, busy: set[Path], regs: pool.Regs,
           stranded: list[Path]) -> tuple[dict[str, str], bool]:
    """Finish what killed setups left. Caller holds the git lock and has just read, in this order, what
    live setups own (owned_elsewhere), the registrations and the stranded pool slots.

    Returns task id -> "repaired" (set up again by this run) or the reason it was kept, and whether
    any worktree registration changed (then `regs` is out of date).
    """
    result: dict[str, str] = {}
    prune = changed = False
    for finding in findings(ws, base, regs, stranded, busy):
        if finding.task_id is None and finding.action not in (PRUNE, UNLOCK):
            continue  # an index.lock (doctor only names it) or a parked worktree kept for its commits
        if finding.action.startswith(KEEP):
            result[finding.task_id] = f"{finding.problem}; {finding.action}"
            continue
        if finding.action in (REMAKE, RERUN):
            left = wait_for_users(finding.path)
            if left:
                result[finding.task_id] = (f"{finding.path} is still in use by pid {', '.join(map(str, left))} "
                                           "(left by a killed setup); run ctx setup again when it ends")
                continue
        if finding.action == REMAKE:
            reg = regs.get(finding.path)
            if reg is not None and reg.locked is not None:
                git.run("worktree", "unlock", str(reg.path), cwd=ws.root, check=False)
            if not _ours(ws, finding.path):
                result[finding.task_id] = f"{finding.path} is not a worktree ctx made; move it away"
                continue
            shutil.rmtree(finding.path, ignore_errors=True)
            prune = True
        elif finding.action == UNLOCK:
            git.run("worktree", "unlock", str(finding.path), cwd=ws.root, check=False)
            changed = True
        elif finding.action == PRUNE:
            prune = True
        if finding.task_id is not None:
            result[finding.task_id] = "repaired"
    if prune:
        git.run("worktree", "prune", cwd=ws.root, retries=3)
    for entry in journal.entries(ws):
        if not entry.owner_alive() and result.get(entry.task_id) == "repaired" and entry.phase == journal.CHECKOUT:
            journal.finish(ws, entry)
    return result, changed or prune
