"""What an executor agent may touch, judged against its Scope: files and folders of its own worktree.

`write_refusal` judges Write, Edit, MultiEdit and NotebookEdit. `bash_refusal` finds a `cd`, git or
ctx part of a Bash command that leaves the task (cd out of the worktree, git elsewhere or in a
repository nested in it, a commit or push off the task's branch, another task's id); `ctx_refusal`
finds any ctx command an executor may not run. `is_test_command` recognises the task's declared test
command run in its worktree; `claimed_task` and `read_only` cover an executor that has not claimed a
task yet. Standard library only.
"""

from __future__ import annotations

import os
import re

from . import shell, state
from .scope import Scope
from .shell import Unsafe

EDIT_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}

_CTX_READ = {("status",), ("plan", "show"), ("plan", "validate"), ("report",), ("doctor",), ("--help",),
             ("--version",), ("-h",)}
_GIT_READ = {"status", "diff", "log", "show", "branch", "rev-parse", "worktree"}
_TASK_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./+@%,=-]+$")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _in_worktree(path: str, cwd: str, scope: Scope) -> bool:
    """`path` is in the worktree and outside any `.git` in it, resolved both the way a shell's `cd` does
    (`..` first, then symlinks) and the way the system does (symlinks first)."""
    joined = os.path.join(cwd, path)
    for resolved in (os.path.realpath(os.path.normpath(joined)), os.path.realpath(joined)):
        if not _inside(resolved, scope.worktree):
            return False
        rel = os.path.relpath(resolved, scope.worktree)
        if any(part.lower() == ".git" for part in rel.split(os.sep)):
            return False
    return True


def write_refusal(tool_input: dict, tool: str, cwd: str, scope: Scope | None) -> str | None:
    """Why an executor may not write this file, or None when it is inside its own worktree."""
    if scope is None:
        return ("ctx: this executor has not claimed a task: run `ctx task start <id>` for the task you were "
                "given, then write inside its worktree")
    path = tool_input.get(EDIT_TOOLS[tool]) if isinstance(tool_input, dict) else None
    if not isinstance(path, str) or not path or "\0" in path:
        return f"ctx: task {scope.task_id}'s agent may write only inside its worktree {scope.worktree}"
    if _in_worktree(path, cwd, scope):
        return None
    return (f"ctx: task {scope.task_id}'s agent may write only inside its worktree {scope.worktree} "
            f"(not inside .git); {path} is outside it")


# --- Bash ------------------------------------------------------------------------------------------

def _git_dir(words: list[str], cwd: str) -> tuple[str, str | None]:
    """(the folder git runs in, the subcommand) after global options such as -C."""
    i = 1
    while i < len(words) and words[i].startswith("-"):
        if words[i] == "-C" and i + 1 < len(words):
            cwd = os.path.realpath(os.path.join(cwd, words[i + 1]))
            i += 2
        else:
            i += 1
    return cwd, (words[i] if i < len(words) else None)


def _nested_repository(folder: str, scope: Scope) -> bool:
    """A folder between `folder` and the worktree's root (not the root) is a repository of its own."""
    while folder != scope.worktree and _inside(folder, scope.worktree):
        if state.is_repository(folder):
            return True
        folder = os.path.dirname(folder)
    return False


def _cd(places: list[tuple[str, str]], folder: str) -> list[tuple[str, str]]:
    """Where `cd folder` may land from each (logical, physical) place: the shell canonicalises `$PWD/folder`
    (`..` first) and falls back to the physical path when that fails."""
    found = []
    for logical, physical in places:
        canonical = os.path.normpath(os.path.join(logical, folder))
        found.append((canonical, os.path.realpath(canonical)))
        fallback = os.path.realpath(os.path.join(physical, folder))
        found.append((fallback, fallback))
    return list(dict.fromkeys(found))


def bash_refusal(command: str, cwd: str, scope: Scope) -> str | None:
    """Why this command's cd, git or ctx leaves the task's scope, or None when none does (the other
    programs it runs, and shell syntax the reader refuses, are for the approval rules to judge)."""
    try:
        commands = shell.split(command)
    except Unsafe:
        return None
    where = (f"ctx: task {scope.task_id}'s agent may run git only inside its worktree {scope.worktree} "
             f"on {scope.branch}, and ctx task commands only for {scope.task_id}")
    places = [(os.path.normpath(cwd), os.path.realpath(cwd))]
    for parts in commands:
        words = [w.text for w in parts]
        name = words[0]
        if name == "cd":
            if len(words) != 2:
                return where + f"; cd {' '.join(words[1:])} is not one folder"
            places = _cd(places, words[1])
            if not all(_in_worktree(physical, physical, scope) for _, physical in places):
                return where + f"; cd {words[1]} leaves it"
        elif name == "git":
            for _, physical in places:
                folder, sub = _git_dir(words, physical)
                if not _in_worktree(folder, folder, scope) or _nested_repository(folder, scope):
                    return where + f"; this git would run in {folder}"
            if sub in ("commit", "push") and state.current_branch(scope.worktree) != scope.branch:
                return where + f"; {scope.worktree} is not on {scope.branch}"
        elif name == "ctx":
            args = words[1:]
            if len(args) >= 2 and args[0] == "task":
                if len(args) < 3 or args[2] != scope.task_id:
                    return where + f"; this is {' '.join(words[:4])}"
            elif not any(tuple(args[:n]) == key for key in _CTX_READ for n in (1, 2)):
                return where + f"; ctx {' '.join(args[:2])} is not for executors"
    return None


_CTX_WORD = re.compile(r"(^|[\s;&|(){}`$!])ctx(\s|$)")


def ctx_refusal(command: str, scope: Scope | None) -> str | None:
    """Why an executor may not run the ctx command in `command`, whoever else would approve it: a command's
    `allowed-tools: Bash(ctx:*)` reaches the agents it starts, so the hook must say no itself."""
    own = scope.task_id if scope else None
    try:
        commands = shell.split(command)
    except Unsafe:
        if _CTX_WORD.search(command):
            return "ctx: an executor runs ctx commands only as plain `ctx ...` commands"
        return None
    for parts in commands:
        words = [w.text for w in parts]
        if words[0] != "ctx" or any(tuple(words[1:1 + n]) == key for key in _CTX_READ for n in (1, 2)):
            continue
        if own and len(words) >= 4 and words[1] == "task" and words[2] in ("start", "complete", "block") \
                and words[3] == own:
            continue
        if own:
            return (f"ctx: task {own}'s agent may run ctx task commands only for {own}, and ctx's read-only "
                    f"commands; not ctx {' '.join(words[1:4])}")
        return "ctx: an executor runs `ctx task start <id>` for its task first"
    return None


def _cd_prefix(command: str) -> tuple[str | None, str]:
    """(folder, rest) for `cd <folder> && rest`, or (None, command) when it does not start so."""
    m = re.match(r"cd[ \t]+('[^']*'|\"[^\"$`\\\\]*\"|[^ \t'\"]+)[ \t]*&&[ \t]*", command)
    if not m:
        return None, command
    folder = m.group(1)
    if folder[0] in "'\"":
        folder = folder[1:-1]
    elif not _PLAIN_PATH.match(folder):
        return None, command
    return folder, command[m.end():]


def is_test_command(command: str, cwd: str, scope: Scope) -> bool:
    """The task's `test:` command exactly as declared, run in the worktree (`cd <worktree> && <test>`,
    or alone when the session itself runs in the worktree)."""
    if not scope.test:
        return False
    folder, rest = _cd_prefix(command)
    if folder is not None:
        places = _cd([(os.path.normpath(cwd), os.path.realpath(cwd))], folder)
        return rest == scope.test and all(physical == scope.worktree for _, physical in places)
    return command == scope.test and os.path.realpath(cwd) == scope.worktree


def claimed_task(command: str) -> str | None:
    """The id of `ctx task start <id>` (optionally after `cd <folder> &&`), the command that claims a task."""
    try:
        commands = shell.split(command)
    except Unsafe:
        return None
    words = [w.text for w in commands[-1]]
    if any(len(c) != 2 or c[0].text != "cd" for c in commands[:-1]):
        return None
    if len(words) == 4 and words[:3] == ["ctx", "task", "start"] and _TASK_ID.match(words[3]):
        return words[3]
    return None


def read_only(command: str) -> bool:
    """Every part is cd, a git subcommand that only reads, or a ctx command that only reads."""
    try:
        commands = shell.split(command)
    except Unsafe:
        return False
    for parts in commands:
        words = [w.text for w in parts]
        if words[0] == "cd":
            continue
        if words[0] == "git":
            sub = _git_dir(words, "/")[1]
            if sub not in _GIT_READ:
                return False
        elif words[0] == "ctx":
            if not any(tuple(words[1:1 + n]) == key for key in _CTX_READ for n in (1, 2)):
                return False
        else:
            return False
    return True


def finishes_task(command: str) -> bool:
    """The command completes or blocks a task (`ctx task complete|block ...`)."""
    try:
        commands = shell.split(command)
    except Unsafe:
        return False
    return any([w.text for w in c[:3]] in (["ctx", "task", "complete"], ["ctx", "task", "block"]) for c in commands)
