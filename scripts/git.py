"""The one wrapper through which ctx runs git: argv lists, never shell strings."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from .errors import CtxError

# Variables that would point git at another repository when ctx runs inside a hook.
_LEAKY = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


class GitResult:
    __slots__ = ("args", "returncode", "stdout", "stderr")

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def out(self) -> str:
        return self.stdout.strip()


def run(*args: str, cwd: Path | str, check: bool = True, input: str | None = None,
        retries: int = 0, env: dict[str, str] | None = None) -> GitResult:
    """Run `git ARGS` in cwd. check=True turns a non-zero exit into CtxError.

    retries re-runs a command that failed only because another git held a lock file.
    env: variables set on purpose for this one command (e.g. GIT_INDEX_FILE for a private index).
    """
    argv = ["git", *args]
    for attempt in range(retries + 1):
        try:
            proc = subprocess.run(argv, cwd=str(cwd), env={**_env(), **(env or {})}, input=input,
                                  capture_output=True, text=True)
        except FileNotFoundError:
            raise CtxError("git is not installed or not on PATH",
                           hint="install git 2.5 or newer") from None
        except NotADirectoryError:
            raise CtxError(f"not a folder: {cwd}") from None
        result = GitResult(argv, proc.returncode, proc.stdout, proc.stderr)
        if result.ok or attempt == retries or not is_lock_failure(result.stderr):
            break
        time.sleep(0.05 * (attempt + 1))
    if check and not result.ok:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise CtxError(f"git {' '.join(args[:3])} failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}")
    return result


def out(*args: str, cwd: Path | str) -> str:
    return run(*args, cwd=cwd).out


def is_lock_failure(stderr: str) -> bool:
    return ".lock" in stderr and ("File exists" in stderr or "Unable to create" in stderr
                                  or "could not lock" in stderr.lower())


def is_registering(stderr: str) -> bool:
    """A worktree was being registered by another git while this one read the list of worktrees (its
    commondir or gitdir file not written yet): gone a moment later."""
    return "failed to read" in stderr and "worktrees/" in stderr


def zsplit(text: str) -> list[str]:
    return [part for part in text.split("\0") if part]


def main_checkout(cwd: Path | str) -> Path:
    """The main checkout's top folder, from the main checkout or from any of its worktrees."""
    return repository(cwd)[0]


def repository(cwd: Path | str) -> tuple[Path, Path]:
    """(the main checkout's top folder, the common git folder), from the main checkout or any worktree."""
    res = run("rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel",
              cwd=cwd, check=False)
    if not res.ok:
        raise CtxError(f"not inside a git repository: {cwd}",
                       hint="run ctx from your project's checkout or one of its task worktrees")
    lines = res.stdout.splitlines()
    common = Path(lines[0])
    if common.name == ".git":
        return common.parent, common
    # A worktree of a repository whose .git is elsewhere: fall back to this checkout's top.
    return (Path(lines[1]) if len(lines) > 1 else Path(cwd)), common


def current_branch(cwd: Path | str) -> str | None:
    res = run("symbolic-ref", "--quiet", "--short", "HEAD", cwd=cwd, check=False)
    return res.out or None


def rev(ref: str, cwd: Path | str) -> str | None:
    res = run("rev-parse", "--verify", "--quiet", ref + "^{commit}", cwd=cwd, check=False)
    return res.out or None


def is_ancestor(ancestor: str, descendant: str, cwd: Path | str) -> bool:
    return run("merge-base", "--is-ancestor", ancestor, descendant, cwd=cwd, check=False).ok


def dirty_tracked(cwd: Path | str) -> list[str]:
    """Paths with uncommitted changes to tracked files (untracked files do not count)."""
    res = run("status", "--porcelain", "-z", "--untracked-files=no", cwd=cwd)
    return [entry[3:] for entry in zsplit(res.stdout) if len(entry) > 3]
