"""Copying the gitignored files agents need into a new worktree (.env, .env.local, .worktreeinclude)."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import git

ALWAYS = (".env", ".env.local")
SKIP_PREFIXES = ("worktrees/", ".parallel/", ".git/")


def to_copy(root: Path) -> list[str]:
    """Untracked files to copy, relative to root: .env files and what .worktreeinclude matches."""
    # Only ignored ones: an .env that git would show could be committed by an agent's `git add -A`.
    present = [name for name in ALWAYS if (root / name).is_file()]
    found = git.zsplit(git.run("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", *present,
                               cwd=root).stdout) if present else []
    include = root / ".worktreeinclude"
    if include.is_file():
        listed = git.run("ls-files", "-z", "--others", "--ignored", f"--exclude-from={include}", cwd=root).stdout
        found += [p for p in git.zsplit(listed) if not p.startswith(SKIP_PREFIXES) and p not in found]
    return found


def copy_into(root: Path, worktree: Path, names: list[str]) -> int:
    copied = 0
    for name in names:
        source, target = root / name, worktree / name
        if not source.is_file() or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    return copied
