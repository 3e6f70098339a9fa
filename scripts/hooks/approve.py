"""PreToolUse: approve a Bash command only when every part of it is proven safe.

A command is safe when it is one or more simple commands joined by `&&`, each of them `cd` into a
folder of this repository, an allowlisted `git` subcommand with checked arguments (see git_rules),
or a read-only or task-status `ctx` subcommand. With a Scope (a tool call of a task's agent) every
folder must be inside that task's worktree, commits and pushes only on its branch, status updates
only for its task, plus its declared test command run in its worktree. Anything not recognised is
left to Claude Code's own rules.
"""

from __future__ import annotations

import os
import re

from . import git_rules, shell, state
from .record import Record
from .scope import Scope
from .shell import Unsafe, Word

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_TASK_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


class Context(Record):
    """root: the main checkout (real path); cwd; base; task_ids; allow_no_verify; scope."""

    __slots__ = ("root", "cwd", "base", "task_ids", "allow_no_verify", "scope")

    def __init__(self, root: str, cwd: str, base: str | None, task_ids: tuple[str, ...],
                 allow_no_verify: bool = False, scope: Scope | None = None):
        self.root = root
        self.cwd = cwd
        self.base = base
        self.task_ids = task_ids
        self.allow_no_verify = allow_no_verify
        self.scope = scope

    @property
    def area(self) -> str:
        """The folder every cd, -C and git command must stay in."""
        return state.real(self.scope.worktree) if self.scope else self.root

    def may_run_git_in(self, top: str) -> bool:
        """Git may use this checkout: the main checkout or a task worktree of the plan, or only the scope's."""
        if self.scope:
            return top == state.real(self.scope.worktree)
        if top == self.root:
            return True
        worktrees = os.path.join(self.root, "worktrees")
        return (os.path.dirname(top) == worktrees and os.path.basename(top) in self.task_ids
                and os.path.isfile(os.path.join(top, ".git")) and state.main_root(top) == self.root)

    def on_branch(self, call: git_rules.Call, action: str) -> str:
        """The branch checked out where a commit or push runs, if this caller may commit or push there."""
        branch = state.current_branch(call.top)
        if self.scope:
            if branch != self.scope.branch:
                raise Unsafe(f"git {action} while {self.scope.branch} is not checked out in the task's worktree")
            return branch
        if action == "commit":
            return branch or ""
        if not branch or not branch.startswith("feature/") or branch == self.base:
            raise Unsafe("git push from a checkout that is not on a task's feature branch")
        if self.task_ids and branch[len("feature/"):] not in self.task_ids:
            raise Unsafe(f"git push of {branch}, which is no task of the plan")
        return branch


class Where:
    __slots__ = ("logical", "physical")

    def __init__(self, logical: str, physical: str):
        self.logical = logical  # the folder as the shell names it ($PWD)
        self.physical = physical  # the folder the process is in


def _in_area(ctx: Context, path: str) -> bool:
    return state.inside(path, ctx.area) and not state.inside(path, os.path.join(ctx.root, ".git"))


def _cd(ctx: Context, where: Where, words: list[Word]) -> Where:
    if len(words) != 2 or words[1].text.startswith("-") or not words[1].text or words[1].glob:
        raise Unsafe("cd without exactly one folder (or with an option, a glob, or `cd -`)")
    target = words[1].text
    if any(ord(c) < 32 for c in target):
        raise Unsafe("cd to a folder name holding a control character")
    if os.environ.get("CDPATH") and not target.startswith(("/", ".")):
        raise Unsafe("a relative cd while CDPATH may send it elsewhere")
    logical = os.path.normpath(os.path.join(where.logical, target))  # the shell drops `..` before symlinks
    physical = os.path.realpath(os.path.join(where.physical, target))  # `cd -P`, and what git -C does
    if not _in_area(ctx, logical) or not _in_area(ctx, physical):
        raise Unsafe("cd out of the " + ("task's worktree" if ctx.scope else "repository"))
    if not os.path.isdir(physical):
        raise Unsafe("cd to a folder that does not exist")
    if os.path.realpath(logical) != physical:
        raise Unsafe("cd whose logical and physical targets differ (a symlink and '..')")
    return Where(logical, physical)


def _git(ctx: Context, cwd: str, words: list[Word]) -> str:
    i = 1
    while i < len(words) and words[i].text.startswith("-"):
        opt = words[i].text
        if opt == "-C" and i + 1 < len(words):
            value = words[i + 1]
            if value.glob or not value.text or any(ord(c) < 32 for c in value.text):
                raise Unsafe("git -C with a glob, an empty or a control character")
            target = os.path.realpath(os.path.join(cwd, value.text))
            if not os.path.isdir(target):
                raise Unsafe("git -C to a folder that does not exist")
            if not _in_area(ctx, target):
                raise Unsafe("git -C outside the " + ("task's worktree" if ctx.scope else "repository"))
            cwd = target
            i += 2
        elif opt in git_rules.GLOBAL_FLAGS:
            i += 1
        else:
            raise Unsafe(f"git option {opt} before the subcommand")
    if i >= len(words):
        raise Unsafe("git with no subcommand")
    sub = words[i].text
    rule = git_rules.RULES.get(sub)
    if rule is None:
        raise Unsafe(f"git {sub} is not on the allowlist")
    if not _in_area(ctx, cwd):
        raise Unsafe("git run outside the " + ("task's worktree" if ctx.scope else "repository"))
    top = state.repository_of(cwd)
    if top is None or not ctx.may_run_git_in(top):
        raise Unsafe("git run in a repository other than the main checkout or a task worktree")
    call = git_rules.Call(cwd=cwd, top=top)
    git_rules.parse(rule.table, words[i + 1:], call, git_rules.extra_flags(sub, ctx.allow_no_verify))
    rule.check(call, ctx)
    return sub


_CTX_READ = {("status",), ("plan", "show"), ("plan", "validate"), ("report",), ("doctor",)}
_CTX_READ_OPTS = {"--json", "--help", "-h"}


def _ctx(ctx: Context, words: list[Word]) -> str:
    args = [w.text for w in words[1:]]
    if any(w.glob for w in words):
        raise Unsafe("a glob in a ctx command")
    if args in (["--help"], ["--version"], ["-h"]):
        return "ctx " + args[0]
    for size in (2, 1):
        if tuple(args[:size]) in _CTX_READ:
            rest = args[size:]
            if all(a in _CTX_READ_OPTS for a in rest):
                return "ctx " + " ".join(args[:size])
            raise Unsafe(f"ctx {' '.join(args[:size])} with options {' '.join(rest)}")
    if len(args) >= 3 and args[0] == "task" and args[1] in ("start", "complete", "block"):
        rest = args[3:]
        if args[1] == "block" and len(rest) == 2 and rest[0] == "--reason":
            rest = []
        if _TASK_ID.fullmatch(args[2]) and not rest:
            if ctx.scope and args[2] != ctx.scope.task_id:
                raise Unsafe(f"ctx task {args[1]} of {args[2]}, another task than {ctx.scope.task_id}")
            return f"ctx task {args[1]}"
    raise Unsafe("ctx subcommand that is not read-only or a task status update")


def check(command: str, ctx: Context) -> str:
    """A reason the command is safe, or raise Unsafe with why it is not proven safe."""
    where = Where(ctx.cwd, state.real(ctx.cwd))
    done = []
    for words in shell.split(command):
        name = words[0].text
        if _ASSIGNMENT.match(name):
            raise Unsafe("an environment assignment")
        if name == "cd":
            where = _cd(ctx, where, words)
            done.append("cd")
        elif name == "git":
            done.append("git " + _git(ctx, where.physical, words))
        elif name == "ctx":
            done.append(_ctx(ctx, words))
        else:
            raise Unsafe(f"{name!r} is not git or ctx")
    return "ctx: safe " + ", ".join(dict.fromkeys(done))


def _declared_test(command: str, cwd: str, scope: Scope) -> str | None:
    """The scope's test command, exactly as declared, run in its worktree (directly or after one cd)."""
    if not scope.test:
        return None
    worktree = state.real(scope.worktree)
    if command == scope.test and state.real(cwd) == worktree:
        return f"ctx: the declared test command of task {scope.task_id}"
    head, sep, rest = command.partition(" && ")
    if sep and rest == scope.test:
        try:
            words = shell.split(head)
        except Unsafe:
            return None
        if len(words) == 1 and len(words[0]) == 2 and words[0][0].text == "cd" and not words[0][1].glob:
            target = words[0][1].text
            if os.path.isabs(target) and os.path.normpath(target) == os.path.normpath(scope.worktree) \
                    and os.path.realpath(target) == worktree:
                return f"ctx: the declared test command of task {scope.task_id}"
    return None


def decide(command: str, cwd: str, scope: Scope | None = None) -> str | None:
    """The approval reason for `command` run in `cwd`, or None to leave the decision to Claude Code.

    Without a scope (the main conversation) the repository's rules apply; with one (a task's agent)
    only what that task may do.
    """
    if not isinstance(command, str) or not command.strip() or not isinstance(cwd, str) or not cwd:
        return None
    root = state.main_root(cwd)
    if root is None:
        return None
    settings = state.settings(root)
    mode = settings["auto_approve"]
    if mode == "off":
        return None
    plan = state.plan_for_approval(root)
    task_ids: tuple[str, ...] = ()
    base = None
    if plan is not None:
        task_ids, base = tuple(plan.task_ids), plan.base
    if mode != "always":
        if plan is None or not plan.in_progress:
            return None
        if scope is None and not _in_plan_scope(root, cwd, task_ids):
            return None
    if scope is not None:
        reason = _declared_test(command, cwd, scope)
        if reason:
            return reason
    ctx = Context(root=state.real(root), cwd=os.path.normpath(cwd), base=base, task_ids=task_ids,
                  allow_no_verify=settings["allow_no_verify"] == "true", scope=scope)
    try:
        return check(command, ctx)
    except Unsafe:
        return None


def _in_plan_scope(root: str, cwd: str, task_ids: tuple[str, ...]) -> bool:
    """The main checkout, or a task worktree of the plan (not the pool, not another folder under worktrees/)."""
    if not state.inside(cwd, root) or state.inside(cwd, os.path.join(root, ".git")):
        return False
    worktrees = os.path.join(root, "worktrees")
    if not state.inside(cwd, worktrees):
        return True
    rel = os.path.relpath(os.path.realpath(cwd), os.path.realpath(worktrees))
    return rel != "." and rel.split(os.sep)[0] in task_ids


def why_not(command: str, ctx: Context) -> str | None:
    """For tests and diagnostics: the reason a command is refused, or None when it is approved."""
    try:
        check(command, ctx)
    except Unsafe as exc:
        return str(exc)
    return None
