"""Plan-time overlap: tasks that may be in progress together and name the same files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

from .plan import Plan, Task

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_TOKEN = re.compile(r"`([^`]+)`|(\S+)")
_PATH = re.compile(r"^[A-Za-z0-9_.@+~-][A-Za-z0-9_./@+~-]*$")
_NO_EXTENSION = {"Makefile", "Dockerfile", "Procfile", "Gemfile", "Rakefile", "Justfile", "LICENSE", "Jenkinsfile"}


@dataclass(frozen=True)
class Overlap:
    tasks: tuple[str, str]
    files: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {"tasks": list(self.tasks), "files": list(self.files)}

    def line(self) -> str:
        a, b = self.tasks
        return (f"warning: tasks {a} and {b} both touch {', '.join(self.files)} and may run at the same time; "
                f"make one depend on the other, or merge them into one task")


def _path(word: str) -> str | None:
    """The word as a repository path, or None when it does not look like one."""
    word = word.strip().strip("\"'()[]<>").rstrip(":,;")
    word = word.removeprefix("./")
    if not word or "://" in word or ".." in word.split("/") or not _PATH.match(word):
        return None
    name = word.rstrip("/").rsplit("/", 1)[-1]
    if "/" in word or name in _NO_EXTENSION or re.search(r"\.[A-Za-z0-9]+$", name) or name.startswith("."):
        return word
    return None


def files_in_body(body: str) -> list[str]:
    """The files listed under a "Files to Touch" heading (any level): each item's first path-like token."""
    found: list[str] = []
    level = 0  # the level of the "Files to Touch" heading we are under, 0 when not under one
    fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence:
            continue
        heading = _HEADING.match(line)
        if heading:
            depth = len(heading.group(1))
            if "files to touch" in heading.group(2).lower():
                level = depth
            elif level and depth <= level:
                level = 0
            continue
        item = _ITEM.match(line) if level else None
        if not item:
            continue
        for match in _TOKEN.finditer(item.group(1)):
            path = _path(match.group(1) or match.group(2))
            if path:
                if path not in found:
                    found.append(path)
                break
    return found


def task_files(task: Task) -> list[str]:
    """The files a task names: its frontmatter's `files:` list, else its "Files to Touch" section."""
    listed = task.meta.get("files")
    if isinstance(listed, list) and listed:
        return [p for p in (_path(str(x)) or str(x).strip() for x in listed) if p]
    return files_in_body(task.body)


def _ancestors(plan: Plan) -> dict[str, set[str]]:
    deps = {t.id: list(t.dependencies) for t in plan.tasks}
    memo: dict[str, set[str]] = {}

    def walk(tid: str, seen: frozenset[str]) -> set[str]:
        if tid in memo:
            return memo[tid]
        out: set[str] = set()
        for dep in deps.get(tid, []):
            if dep in seen or dep not in deps:
                continue
            out |= {dep} | walk(dep, seen | {dep})
        memo[tid] = out
        return out

    return {tid: walk(tid, frozenset({tid})) for tid in deps}


def _shared(a: list[str], b: list[str]) -> list[str]:
    """Files both lists name; a folder (ending in /) covers everything under it."""
    out = []
    for x in a:
        for y in b:
            if x == y or (x.endswith("/") and y.startswith(x)):
                hit = y
            elif y.endswith("/") and x.startswith(y):
                hit = x
            else:
                continue
            if hit not in out:
                out.append(hit)
    return sorted(out)


def overlaps(plan: Plan) -> list[Overlap]:
    """Pairs of tasks, neither depending on the other even through others, that name a shared file."""
    before = _ancestors(plan)
    files = {t.id: task_files(t) for t in plan.tasks}
    found = []
    for a, b in combinations(plan.tasks, 2):
        if a.id in before[b.id] or b.id in before[a.id]:
            continue
        shared = _shared(files[a.id], files[b.id])
        if shared:
            found.append(Overlap((a.id, b.id), tuple(shared)))
    return found
