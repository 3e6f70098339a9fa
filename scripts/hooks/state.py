"""What the hooks need to know about a repository, read with the standard library alone (no git process)."""

from __future__ import annotations

import os
import re

_META_STATUS = re.compile(r"^\s+status:\s*['\"]?([A-Za-z_]+)", re.MULTILINE)
_META_NAME = re.compile(r"^\s+name:\s*['\"]?(.+?)['\"]?\s*$", re.MULTILINE)
_META_BASE = re.compile(r"^\s+base:\s*['\"]?(.+?)['\"]?\s*$", re.MULTILINE)
_TASK_ID = re.compile(r"^\s*-?\s*\{?\s*id:\s*['\"]?([a-z0-9][a-z0-9._-]*)", re.MULTILINE)
_FRONT_STATUS = re.compile(r"^status:\s*['\"]?([a-z_]+)", re.MULTILINE)


def real(path: str) -> str:
    return os.path.realpath(path)


def inside(path: str, folder: str) -> bool:
    path, folder = real(path), real(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def toplevel(cwd: str) -> str | None:
    """The checkout (main or worktree) that contains cwd: the nearest folder holding a .git entry."""
    path = real(cwd)
    while True:
        if os.path.lexists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def main_root(cwd: str) -> str | None:
    """The main checkout of the repository containing cwd, from a worktree's .git file if need be."""
    top = toplevel(cwd)
    if top is None:
        return None
    dotgit = os.path.join(top, ".git")
    if os.path.isdir(dotgit):
        return top
    try:
        with open(dotgit) as fh:
            line = fh.read(4096).strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    gitdir = os.path.join(top, line[len("gitdir:"):].strip())
    try:
        with open(os.path.join(gitdir, "commondir")) as fh:
            common = os.path.join(gitdir, fh.read().strip())
    except OSError:
        return None
    common = real(common)
    return os.path.dirname(common) if os.path.basename(common) == ".git" else None


def current_branch(top: str) -> str | None:
    """The branch checked out in the checkout at `top`, from its HEAD file."""
    dotgit = os.path.join(top, ".git")
    try:
        if os.path.isfile(dotgit):
            with open(dotgit) as fh:
                gitdir = os.path.join(top, fh.read().strip()[len("gitdir:"):].strip())
        else:
            gitdir = dotgit
        with open(os.path.join(gitdir, "HEAD")) as fh:
            head = fh.read().strip()
    except OSError:
        return None
    return head[len("ref: refs/heads/"):] if head.startswith("ref: refs/heads/") else None


def _read(path: str, limit: int = 1 << 20) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return None


class Plan:
    """The parts of .parallel/plans/ the hooks use: name, status, base, task ids and statuses."""

    def __init__(self, root: str, text: str):
        self.root = root
        meta = text.split("\ntasks:", 1)[0]
        name = _META_NAME.search(meta)
        status = _META_STATUS.search(meta)
        base = _META_BASE.search(meta)
        self.name = name.group(1) if name else "plan"
        self.status = status.group(1) if status else "ready"
        self.base = base.group(1) if base else None
        tasks_part = text.split("\ntasks:", 1)[1] if "\ntasks:" in text else ""
        self.task_ids = _TASK_ID.findall(tasks_part)

    @property
    def in_progress(self) -> bool:
        return self.status not in ("completed", "archived")

    def task_statuses(self) -> dict[str, str]:
        found = {}
        for tid in self.task_ids:
            text = _read(os.path.join(self.root, ".parallel", "plans", "tasks", tid + ".md"), 65536) or ""
            head = text.split("\n---", 1)[0]
            match = _FRONT_STATUS.search(head)
            found[tid] = match.group(1) if match else "pending"
        return found


def load_plan(root: str) -> Plan | None:
    text = _read(os.path.join(root, ".parallel", "plans", "plan.yaml"))
    return Plan(root, text) if text is not None else None


APPROVAL_FILE = os.path.join("ctx", "approve")  # under the main checkout's .git folder
APPROVAL_DEFAULTS = {"auto_approve": "plan", "allow_no_verify": "false"}
APPROVAL_CHOICES = {"auto_approve": ("plan", "always", "off"), "allow_no_verify": ("true", "false")}


def settings(root: str) -> dict[str, str]:
    """The approval switch: `key = value` lines of .git/ctx/approve, written by `ctx approve`.

    It lives in the git folder, which no clone, checkout or approved command writes, so nothing a
    repository ships can turn approval on or widen it. Unknown keys and values are ignored.
    """
    found = dict(APPROVAL_DEFAULTS)
    text = _read(os.path.join(root, ".git", APPROVAL_FILE), 4096) or ""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip().lower()
        if sep and key in found and value in APPROVAL_CHOICES[key]:
            found[key] = value
    return found


def plan_for_approval(root: str) -> "Plan | None":
    """The plan, unless .parallel/ is tracked: a plan a clone ships is no reason to approve anything."""
    from .index import tracks
    if tracks(os.path.join(root, ".git"), ".parallel/"):
        return None
    return load_plan(root)


def is_repository(folder: str) -> bool:
    """Git would take folder as a repository: it holds a .git entry, or HEAD, objects and refs (bare)."""
    if os.path.lexists(os.path.join(folder, ".git")):
        return True
    return (os.path.isfile(os.path.join(folder, "HEAD")) and os.path.isdir(os.path.join(folder, "objects"))
            and os.path.isdir(os.path.join(folder, "refs")))


def repository_of(path: str) -> str | None:
    """The folder git would pick as the repository for a command run in (or naming) path."""
    path = real(path)
    while True:
        if os.path.isdir(path) and is_repository(path):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
