"""Is this repository ready for a parallel run? Each check says how to fix what it finds."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass

from . import git, locks, oplog, preflight, registry, repair, validate
from . import plan as plan_model
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
    if not problems:
        found.append(_merge_preflight(ws))
    dirty = git.dirty_tracked(ws.root)
    found.append(Check("clean checkout", not dirty, "no uncommitted tracked changes" if not dirty
                       else f"uncommitted changes: {', '.join(dirty[:5])}", "ctx merge keeps them, but skips a task whose merge would overwrite one: commit or stash those"))
    stale = [r for r in registry.registrations(ws.root) if r.prunable or registry.stale_lock(r.locked)]
    found.append(Check("worktree registrations", not stale, "none stale" if not stale else
                       "stale: " + ", ".join(str(r.path) for r in stale), "run: ctx cleanup (or ctx setup repairs them)"))
    left = repair.findings(ws)
    found.append(Check("interrupted setup", not left, "nothing left by a killed setup" if not left else
                       "; ".join(f"{rel(ws, f.path)}: {f.problem} (ctx setup will: {f.action})" for f in left),
                       "run: ctx setup (it finishes what a killed setup left)"))
    found.extend(_locks(ws))
    found.append(_interrupted(ws))
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


def _merge_preflight(ws: Workspace) -> Check:
    """What merging the plan's tasks will need (the checks `ctx run --merge` makes before any agent starts)."""
    base, found = preflight.problems(ws, plan_model.load(ws, check=False), "merge", dirty=False)
    if not found:
        return Check("merge preflight", True, f"base {base} checked out, no merge in progress, no git lock")
    return Check("merge preflight", False, "; ".join(e.message for e in found),
                 " / ".join(e.hint for e in found if e.hint))


def _locks(ws: Workspace) -> list[Check]:
    """ctx's own locks (held now: by whom; a record left by a process that is gone: stale) and git's index.lock."""
    names = sorted({p.name.split(".")[0] for p in ws.locks.glob("*.lock")}) if ws.locks.is_dir() else []
    busy, stale = [], []
    for name in names:
        who = locks.holder(ws, name)
        if locks.held(ws, name):
            busy.append(f"{name} by {who}" if who else name)
        elif who:
            stale.append(f"{name} (left by {who}, which is gone)")
    found = [Check("locks", not stale, "no stale lock" if not stale else "stale: " + "; ".join(stale),
                   "" if not stale else "ctx cleanup removes the stale record")]
    if busy:
        found[0].detail += "; held now: " + "; ".join(busy) + " (another ctx command is running; it waits for them)"
    common = ws.git_dir()
    for lock in [common / "index.lock", *sorted((common / "refs" / "heads").rglob("*.lock"))]:
        if lock.exists():
            found.append(Check("git lock", False, f"{lock} exists: a git command is running, or one "
                               "was killed and left it", f"if no git command is running: rm {lock}"))
    return found


def _interrupted(ws: Workspace) -> Check:
    """An operation a killed ctx left in the journal, and what the next command will do about it."""
    entries = oplog.pending(ws)
    if not entries:
        return Check("interrupted operations", True, "none")
    plans = []
    for entry in entries:
        data = entry.data
        task = data.get("task", "?")
        if entry.operation == "merge" and entry.step == "advancing":
            plans.append(f"merge of {task} stopped while moving {data.get('base')} to its tested merge "
                         f"{str(data.get('new'))[:10]}: the next ctx merge finishes that (or moves it back to "
                         f"{str(data.get('old'))[:10]} if your checkout's changes are in the way)")
        elif entry.operation == "merge" and entry.step == "releasing":
            plans.append(f"{task} is merged, but releasing its worktree and branch was cut short: the next "
                         "ctx merge (or ctx cleanup) finishes it")
        elif entry.operation == "merge" and entry.step == "advanced":
            plans.append(f"merge of {task} is in the base but not recorded: the next ctx merge records it")
        elif entry.operation == "merge":
            plans.append(f"merge of {task} stopped while {entry.step}; the base never moved: the next ctx merge "
                         "rolls it back and merges and tests it again")
        else:
            plans.append(f"{entry.operation} stopped while {entry.step} {data.get('path', '')}".rstrip()
                         + f": the next ctx {entry.operation} finishes it")
    return Check("interrupted operations", False, "; ".join(plans),
                 "run the command named above (ctx merge / ctx cleanup); no manual step is needed")


def ready(found: list[Check]) -> bool:
    return all(c.ok for c in found if c.required)


def as_json(found: list[Check]) -> dict:
    return {"ready": ready(found), "checks": [asdict(c) for c in found]}
