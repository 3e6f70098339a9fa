"""Is this repository ready for a parallel run? Each check says how to fix what it finds."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass

from . import git, registry, repair, validate
from .errors import CtxError
from .plan import rel
from .workspace import Workspace


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # False: needed only for some commands (ctx pr)


def _git_version() -> Check:
    try:
        out = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return Check("git", False, "git is not installed", "install git 2.5 or newer")
    m = re.search(r"(\d+)\.(\d+)", out)
    version = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    ok = version >= (2, 5)
    return Check("git", ok, out.strip(), "" if ok else "upgrade git to 2.5 or newer (worktree support)")


def checks(cwd=None) -> list[Check]:
    found = [_git_version()]
    try:
        ws = Workspace.find(cwd)
    except CtxError as exc:
        return found + [Check("repository", False, exc.message, "run ctx inside your project's git checkout")]
    found.append(Check("repository", True, str(ws.root)))
    problems = validate.problems(ws)
    found.append(Check("plan", not problems, "valid" if not problems else str(problems[0]),
                       "" if not problems else "write one with /ctx:plan then ctx plan extract, or fix it: ctx plan validate"))
    dirty = git.dirty_tracked(ws.root)
    found.append(Check("clean checkout", not dirty, "no uncommitted tracked changes" if not dirty
                       else f"uncommitted changes: {', '.join(dirty[:5])}", "commit or stash them before ctx merge"))
    stale = [r for r in registry.registrations(ws.root) if r.prunable or registry.stale_lock(r.locked)]
    found.append(Check("worktree registrations", not stale, "none stale" if not stale else
                       "stale: " + ", ".join(str(r.path) for r in stale), "run: ctx cleanup (or ctx setup repairs them)"))
    left = repair.findings(ws)
    found.append(Check("interrupted setup", not left, "nothing left by a killed setup" if not left else
                       "; ".join(f"{rel(ws, f.path)}: {f.problem} (ctx setup will: {f.action})" for f in left),
                       "run: ctx setup (it finishes what a killed setup left)"))
    leftover = [p.name for p in ws.locks.glob("*.lock")] if ws.locks.is_dir() else []
    busy = [name for name in leftover if _held(ws.locks / name)]
    found.append(Check("locks", not busy, "no lock held" if not busy else f"held now: {', '.join(busy)}",
                       "another ctx command is running; wait for it"))
    gh = shutil.which("gh")
    authed = gh is not None and subprocess.run(["gh", "auth", "status"], capture_output=True).returncode == 0
    found.append(Check("gh", authed, "installed and logged in" if authed else
                       ("not logged in" if gh else "not installed"),
                       "" if authed else ("run: gh auth login" if gh else "install it from https://cli.github.com"),
                       required=False))
    origin = git.run("remote", "get-url", "origin", cwd=ws.root, check=False)
    found.append(Check("origin", origin.ok, origin.out if origin.ok else "no remote named origin",
                       "" if origin.ok else "run: git remote add origin <url>", required=False))
    return found


def _held(path) -> bool:
    from filelock import FileLock, Timeout
    try:
        with FileLock(str(path), timeout=0):
            return False
    except Timeout:
        return True


def ready(found: list[Check]) -> bool:
    return all(c.ok for c in found if c.required)


def as_json(found: list[Check]) -> dict:
    return {"ready": ready(found), "checks": [asdict(c) for c in found]}
