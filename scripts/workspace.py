"""Where ctx keeps its state inside a repository, found from any checkout of it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import git

EXCLUDED = (".parallel/", "worktrees/", ".env.ctx")


@dataclass(frozen=True)
class Workspace:
    root: Path  # the main checkout
    common: Path | None = field(default=None, compare=False)  # the common git folder, once known

    @classmethod
    def find(cls, cwd: Path | str | None = None) -> "Workspace":
        root, common = git.repository(Path(cwd) if cwd else Path.cwd())
        return cls(root.resolve(), common)

    @property
    def parallel(self) -> Path:
        return self.root / ".parallel"

    @property
    def plans(self) -> Path:
        return self.parallel / "plans"

    @property
    def plan_file(self) -> Path:
        return self.plans / "plan.yaml"

    @property
    def tasks_dir(self) -> Path:
        return self.plans / "tasks"

    @property
    def logs(self) -> Path:
        return self.parallel / "logs"

    @property
    def archive(self) -> Path:
        return self.parallel / "archive"

    @property
    def config_file(self) -> Path:
        return self.parallel / "config.yaml"

    @property
    def locks(self) -> Path:
        return self.parallel / "locks"

    @property
    def worktrees(self) -> Path:
        return self.root / "worktrees"

    @property
    def pool(self) -> Path:
        return self.worktrees / ".pool"

    def worktree(self, task_id: str) -> Path:
        return self.worktrees / task_id

    def git_dir(self) -> Path:
        """The common git folder (`.git` of the main checkout); it does not move while ctx runs."""
        if self.common is None:
            object.__setattr__(self, "common", Path(git.out("rev-parse", "--path-format=absolute",
                                                              "--git-common-dir", cwd=self.root)))
        return self.common

    def branch(self) -> str | None:
        """The main checkout's branch (None: a detached HEAD), read from its HEAD file as git reads it;
        git itself answers when HEAD is not such a file (a reftable repository)."""
        try:
            head = (self.git_dir() / "HEAD").read_text().strip()
        except OSError:
            head = ""
        if head.startswith("ref: refs/heads/") and head != "ref: refs/heads/.invalid":
            return head[len("ref: refs/heads/"):]
        if len(head) in (40, 64) and all(c in "0123456789abcdef" for c in head):
            return None
        return git.current_branch(self.root)

    def ensure_excluded(self) -> None:
        """Keep ctx's state out of `git status` via .git/info/exclude (never .gitignore)."""
        exclude = self.git_dir() / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        text = exclude.read_text() if exclude.exists() else ""
        lines = {line.strip() for line in text.splitlines()}
        missing = [p for p in EXCLUDED if p not in lines and "/" + p not in lines]
        if missing:
            sep = "" if not text or text.endswith("\n") else "\n"
            with open(exclude, "a") as fh:
                fh.write(sep + "".join(p + "\n" for p in missing))


def atomic_write(path: Path, text: str, *, sync: bool = True) -> None:
    """Write a file so readers see the old or the new content, never half of it.

    sync=False skips the fsync: a killed process still leaves the whole file (the kernel has it),
    only a power loss may not; for records whose loss is harmless.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
