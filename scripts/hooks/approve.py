"""PreToolUse: approve a Bash command only when every part of it is proven safe.

A command is safe when it is one or more simple commands joined by `&&`, each of them `cd` into a
folder of this repository, an allowlisted `git` subcommand with checked arguments, or a read-only
or task-status `ctx` subcommand. Anything not recognised is left to Claude Code's own rules.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from . import shell, state
from .shell import Unsafe, Word

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


@dataclass
class Context:
    root: str  # the main checkout
    cwd: str
    base: str | None
    task_ids: tuple[str, ...]
    allow_no_verify: bool = False


def _inside_repo(ctx: Context, path: str) -> bool:
    return state.inside(path, ctx.root) and not state.inside(path, os.path.join(ctx.root, ".git"))


def _resolve(cwd: str, path: str) -> str:
    return os.path.realpath(os.path.join(cwd, path))


# --- git -------------------------------------------------------------------------------------------

_STATUS_OPTS = re.compile(r"^(-[sbvz]+|--short|--branch|--porcelain(=v[12])?|-u(no|normal|all)?|"
                          r"--untracked-files(=(no|normal|all))?|--ignored(=\w+)?|-z|--long|-v|--verbose|"
                          r"--show-stash|--(no-)?ahead-behind|--(no-)?renames|--column|--no-column|--)$")
_READ_DENY = re.compile(r"^(--output(=.*)?|--ext-diff|--no-index|--textconv|--open-files-in-pager.*|-O.*|"
                        r"--exec.*|--upload-pack.*)$")
_BRANCH_OPTS = re.compile(r"^(-a|--all|-r|--remotes|-l|--list|-v|-vv|--verbose|--show-current|"
                          r"--(no-)?merged|--(no-)?contains|--points-at|--sort=.+|--format=.+|--(no-)?color(=\w+)?|"
                          r"--(no-)?column|--ignore-case|-i)$")
_BRANCH_VALUE = {"--merged", "--no-merged", "--contains", "--no-contains", "--points-at"}
_ADD_OPTS = re.compile(r"^(-A|--all|-u|--update|-N|--intent-to-add|-v|--verbose|-n|--dry-run|"
                       r"--no-all|--ignore-removal|--renormalize|--chmod=[+-]x|--)$")
_COMMIT_FLAGS = re.compile(r"^(-a|--all|-s|--signoff|-q|--quiet|-v|--verbose|--allow-empty|"
                           r"--allow-empty-message|-i|--include|-o|--only|--no-status|--status|--cleanup=\w+)$")
_FETCH_OPTS = re.compile(r"^(-q|--quiet|-v|--verbose|--prune|-p|--tags|--no-tags|--all|--progress|--no-progress|"
                         r"--depth=\d+|--dry-run)$")


def _paths_inside(ctx: Context, cwd: str, paths: list[Word]) -> None:
    top = state.toplevel(cwd) or ctx.root
    for word in paths:
        text = word.text
        if text.startswith(":") or word.glob and ("/" in text.lstrip("./") and ".." in text):
            raise Unsafe(f"pathspec {text!r}")
        if not state.inside(_resolve(cwd, text), top) or state.inside(_resolve(cwd, text), os.path.join(top, ".git")):
            raise Unsafe(f"path {text!r} outside the checkout")


def _git_status(ctx, cwd, args):
    for a in args:
        if a.text.startswith("-") and not _STATUS_OPTS.match(a.text):
            raise Unsafe(f"git status option {a.text}")
    _paths_inside(ctx, cwd, [a for a in args if not a.text.startswith("-")])


def _git_read(name):
    def check(ctx, cwd, args):
        for a in args:
            if _READ_DENY.match(a.text):
                raise Unsafe(f"git {name} option {a.text}")
    return check


def _git_branch(ctx, cwd, args):
    listing = any(a.text in ("-l", "--list", "--show-current") for a in args)
    expect_value = False
    for a in args:
        if expect_value:
            expect_value = False
            continue
        if a.text.startswith("-"):
            if not _BRANCH_OPTS.match(a.text):
                raise Unsafe(f"git branch option {a.text}")
            expect_value = a.text in _BRANCH_VALUE
        elif not listing:
            raise Unsafe("git branch that creates, renames or deletes a branch")


def _git_rev_parse(ctx, cwd, args):
    for a in args:
        if a.text in ("--git-path", "--local-env-vars") or a.text.startswith("--prefix"):
            raise Unsafe(f"git rev-parse option {a.text}")


def _git_worktree(ctx, cwd, args):
    if not args or args[0].text != "list" or any(a.text not in ("--porcelain", "-v", "--verbose", "-z") for a in args[1:]):
        raise Unsafe("git worktree other than list")


def _git_add(ctx, cwd, args):
    paths, after_dashes = [], False
    for a in args:
        if not after_dashes and a.text.startswith("-"):
            if not _ADD_OPTS.match(a.text):
                raise Unsafe(f"git add option {a.text}")
            after_dashes = a.text == "--"
        else:
            paths.append(a)
    _paths_inside(ctx, cwd, paths)


def _git_commit(ctx, cwd, args):
    if not any(a.text.startswith(("-m", "--message", "-F", "--file")) or re.match(r"^-[asqvio]+[mF]$", a.text)
               for a in args):
        raise Unsafe("git commit without a message opens an editor")
    paths, i = [], 0
    while i < len(args):
        text = args[i].text
        if text in ("-m", "--message", "-F", "--file", "--author", "--date"):
            if i + 1 >= len(args):
                raise Unsafe(f"git commit {text} without a value")
            if text in ("-F", "--file") and args[i + 1].text != "-":
                _paths_inside(ctx, cwd, [args[i + 1]])
            i += 2
            continue
        bundle = re.match(r"^-([asqvio]+)([mF]?)$", text)
        if bundle and len(text) > 2:  # -am "msg", -aqm "msg", -as
            if bundle.group(2):
                if i + 1 >= len(args):
                    raise Unsafe(f"git commit {text} without a value")
                if bundle.group(2) == "F" and args[i + 1].text != "-":
                    _paths_inside(ctx, cwd, [args[i + 1]])
                i += 2
                continue
        elif text.startswith(("--message=", "--author=", "--date=")) or (text.startswith("-m") and len(text) > 2):
            pass
        elif text.startswith("--file=") or (text.startswith("-F") and len(text) > 2):
            _paths_inside(ctx, cwd, [Word(text.split("=", 1)[1] if "=" in text else text[2:])])
        elif text in ("-n", "--no-verify"):
            if not ctx.allow_no_verify:
                raise Unsafe("git commit --no-verify (hooks skipped)")
        elif text.startswith("-") and not _COMMIT_FLAGS.match(text):
            raise Unsafe(f"git commit option {text}")
        elif not text.startswith("-"):
            paths.append(args[i])
        i += 1
    _paths_inside(ctx, cwd, paths)


def _git_fetch(ctx, cwd, args):
    positional = []
    for a in args:
        if a.text.startswith("-"):
            if not _FETCH_OPTS.match(a.text):
                raise Unsafe(f"git fetch option {a.text}")
        else:
            positional.append(a.text)
    if positional and positional[0] != "origin":
        raise Unsafe("git fetch from a remote other than origin")
    for ref in positional[1:]:
        if not _REF.match(ref) or ".." in ref:
            raise Unsafe(f"git fetch refspec {ref!r}")


def _git_push(ctx, cwd, args):
    positional = []
    for a in args:
        if a.text in ("-u", "--set-upstream", "-q", "--quiet", "-v", "--verbose", "--progress"):
            continue
        if a.text == "--no-verify" and ctx.allow_no_verify:
            continue
        if a.text.startswith("-"):
            raise Unsafe(f"git push option {a.text}")
        positional.append(a.text)
    top = state.toplevel(cwd)
    branch = state.current_branch(top) if top else None
    if not branch or not branch.startswith("feature/") or branch == ctx.base:
        raise Unsafe("git push from a checkout that is not on a task's feature branch")
    if ctx.task_ids and branch[len("feature/"):] not in ctx.task_ids:
        raise Unsafe(f"git push of {branch}, which is no task of the plan")
    if len(positional) != 2 or positional[0] != "origin":
        raise Unsafe("git push must name origin and the branch")
    ref = positional[1]
    src, _, dst = ref.partition(":")
    for part in (src, dst or src):
        if part not in ("HEAD", branch, f"refs/heads/{branch}"):
            raise Unsafe(f"git push refspec {ref!r} names another branch")


_GIT = {"status": _git_status, "diff": _git_read("diff"), "log": _git_read("log"), "show": _git_read("show"),
        "branch": _git_branch, "rev-parse": _git_rev_parse, "worktree": _git_worktree, "add": _git_add,
        "commit": _git_commit, "fetch": _git_fetch, "push": _git_push}


def _git(ctx: Context, cwd: str, words: list[Word]) -> str:
    i = 1
    while i < len(words) and words[i].text.startswith("-"):
        opt = words[i].text
        if opt == "-C" and i + 1 < len(words):
            target = _resolve(cwd, words[i + 1].text)
            if not _inside_repo(ctx, target):
                raise Unsafe("git -C outside the repository")
            cwd = target
            i += 2
        elif opt in ("--no-pager", "-P", "--no-optional-locks", "--literal-pathspecs"):
            i += 1
        else:
            raise Unsafe(f"git option {opt} before the subcommand")
    if i >= len(words):
        raise Unsafe("git with no subcommand")
    sub = words[i].text
    if sub not in _GIT:
        raise Unsafe(f"git {sub} is not on the allowlist")
    _GIT[sub](ctx, cwd, words[i + 1:])
    return sub


# --- ctx -------------------------------------------------------------------------------------------

_CTX_READ = {("status",), ("plan", "show"), ("plan", "validate"), ("report",), ("doctor",)}
_CTX_READ_OPTS = {"--json", "--help", "-h"}


def _ctx(ctx: Context, words: list[Word]) -> str:
    args = [w.text for w in words[1:]]
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
        if re.match(r"^[a-z0-9][a-z0-9._-]{0,62}$", args[2]) and not rest:
            return f"ctx task {args[1]}"
    raise Unsafe("ctx subcommand that is not read-only or a task status update")


# --- the decision ----------------------------------------------------------------------------------

def check(command: str, ctx: Context) -> str:
    """A reason the command is safe, or raise Unsafe with why it is not proven safe."""
    cwd = ctx.cwd
    done = []
    for words in shell.split(command):
        if _ASSIGNMENT.match(words[0].text):
            raise Unsafe("an environment assignment")
        if any(w.glob for w in words) and words[0].text != "git":
            raise Unsafe("a glob pattern")
        name = words[0].text
        if name == "cd":
            if len(words) != 2 or words[1].text.startswith("-") or not words[1].text:
                raise Unsafe("cd without exactly one folder (or with an option, or `cd -`)")
            if os.environ.get("CDPATH") and not words[1].text.startswith(("/", ".")):
                raise Unsafe("a relative cd while CDPATH may send it elsewhere")
            target = _resolve(cwd, words[1].text)
            if not _inside_repo(ctx, target):
                raise Unsafe("cd out of the repository")
            cwd = target
            done.append("cd")
        elif name == "git":
            if any(w.glob for w in words) and (len(words) < 2 or words[1].text != "add"):
                raise Unsafe("a glob pattern")
            done.append("git " + _git(ctx, cwd, words))
        elif name == "ctx":
            done.append(_ctx(ctx, words))
        else:
            raise Unsafe(f"{name!r} is not git or ctx")
    return "ctx: safe " + ", ".join(dict.fromkeys(done))


def decide(command: str, cwd: str) -> str | None:
    """The approval reason for `command` run in `cwd`, or None to leave the decision to Claude Code."""
    if not isinstance(command, str) or not command.strip() or not isinstance(cwd, str) or not cwd:
        return None
    root = state.main_root(cwd)
    if root is None:
        return None
    settings = state.settings(root)
    mode = settings["auto_approve"]
    if mode == "off":
        return None
    plan = state.load_plan(root)
    task_ids: tuple[str, ...] = ()
    base = None
    if plan is not None:
        task_ids, base = tuple(plan.task_ids), plan.base
    if mode != "always":
        if plan is None or not plan.in_progress:
            return None
        if not _in_plan_scope(root, cwd, task_ids):
            return None
    ctx = Context(root=root, cwd=os.path.realpath(cwd), base=base, task_ids=task_ids,
                  allow_no_verify=settings["allow_no_verify"] in ("true", "yes", "1"))
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
