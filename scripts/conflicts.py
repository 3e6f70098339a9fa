"""Live conflict prediction: which unmerged tasks would conflict with each other or with the base.

Computed with `git merge-tree --write-tree` (git 2.38 or newer), which merges in memory: no worktree,
index or ref is touched. A worktree's uncommitted changes (untracked files too) are taken into account
through a snapshot commit built with a private copy of its index, so that the agent working there never
finds its index locked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from . import git
from .workspace import atomic_write

MINIMUM = (2, 38)
# A fixed identity and date: the same files on disk give the same snapshot commit, so cached results hold.
_SNAPSHOT_ID = {"GIT_AUTHOR_NAME": "ctx", "GIT_AUTHOR_EMAIL": "ctx@localhost", "GIT_AUTHOR_DATE": "@0 +0000",
                "GIT_COMMITTER_NAME": "ctx", "GIT_COMMITTER_EMAIL": "ctx@localhost", "GIT_COMMITTER_DATE": "@0 +0000"}


@dataclass
class Prediction:
    supported: bool
    note: str | None = None  # why nothing was predicted
    base: str = ""
    by_task: dict[str, list[str]] = field(default_factory=dict)  # task id -> base name and/or task ids
    files: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (task id, other) -> files

    def lines(self) -> list[str]:
        if not self.supported:
            return [f"conflicts: {self.note}"]
        return [f"conflict: {a} {'with' if b == self.base else 'and'} {b} in {', '.join(files)}"
                for (a, b), files in self.files.items()]


def version_supported(text: str) -> bool:
    """True for `git version X.Y...` at or above MINIMUM."""
    match = re.search(r"(\d+)\.(\d+)", text)
    return bool(match) and (int(match.group(1)), int(match.group(2))) >= MINIMUM


def _git_dir(worktree: Path) -> Path | None:
    """The worktree's own git folder, from its `.git` file (no git process), else by asking git."""
    dot = worktree / ".git"
    try:
        if dot.is_dir():
            return dot
        text = dot.read_text()
        if text.startswith("gitdir: "):
            return (worktree / text[8:].strip()).resolve()
    except OSError:
        pass
    res = git.run("rev-parse", "--path-format=absolute", "--git-dir", cwd=worktree, check=False)
    return Path(res.out) if res.ok else None


def _snapshot(worktree: Path, head: str) -> str | None:
    """A commit of the worktree as it is on disk (tracked changes and untracked files), or None."""
    admin = _git_dir(worktree)
    if admin is None:
        return None
    with tempfile.TemporaryDirectory(prefix="ctx-snapshot-") as tmp:
        index = Path(tmp) / "index"
        try:
            shutil.copyfile(admin / "index", index)  # git replaces its index by rename: a whole copy
        except OSError:
            pass  # no index yet: git add starts from nothing
        env = {"GIT_INDEX_FILE": str(index), "GIT_OPTIONAL_LOCKS": "0", **_SNAPSHOT_ID}
        if not git.run("add", "-A", cwd=worktree, env=env, check=False).ok:
            return None
        tree = git.run("write-tree", cwd=worktree, env=env, check=False)
        if not tree.ok:
            return None
        commit = git.run("commit-tree", tree.out, "-p", head, "-m", "uncommitted changes", cwd=worktree, env=env,
                         check=False)
        return commit.out if commit.ok else None


def _changed(root: Path, base: str, tip: str) -> set[str]:
    """Paths the task changed since it forked from base, with every folder above them."""
    res = git.run("diff", "--name-only", "-z", "--no-renames", f"{base}...{tip}", cwd=root, check=False)
    paths: set[str] = set()
    for name in git.zsplit(res.stdout):
        parts = name.split("/")
        paths.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    return paths


def _merge_tree(root: Path, one: str, two: str) -> list[str] | None:
    """The files a merge of the two commits would leave conflicted; None when git could not tell."""
    res = git.run("merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", one, two, cwd=root, check=False)
    if res.returncode == 0:
        return []
    if res.returncode != 1:
        return None
    return sorted(set(git.zsplit(res.stdout)[1:]))


def branch_tips(root: Path, branches: dict[str, str]) -> dict[str, str]:
    """task id -> the commit its branch points to, for the branches that exist (one git call)."""
    out = git.run("for-each-ref", "--format=%(refname)%00%(objectname)", "refs/heads/", cwd=root).stdout
    heads = dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)
    return {tid: heads[f"refs/heads/{b}"] for tid, b in branches.items() if f"refs/heads/{b}" in heads}


class _Cache:
    """Results by commit ids, which never change meaning: a JSON file, kept to the entries last used."""

    def __init__(self, path: Path | None):
        self.path, self.old, self.used, self.new = path, {}, {}, False
        try:
            loaded = json.loads(path.read_text()) if path else {}
            self.old = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            pass

    def get(self, key: str, compute):
        if key in self.old:
            self.used[key] = self.old[key]
        else:
            self.used[key] = compute()
            self.new = True
        return self.used[key]

    def save(self) -> None:
        if self.path and (self.new or len(self.used) != len(self.old)):
            try:
                atomic_write(self.path, json.dumps(self.used))
            except OSError:
                pass  # a cache that cannot be written only costs time


def predict(root: Path, base: str, branches: dict[str, str], dirty: dict[str, Path],
            cache: Path | None = None) -> Prediction:
    """branches: task id -> its branch, in plan order (unmerged tasks only); dirty: task id -> a worktree
    with uncommitted changes; cache: a file that keeps results between calls."""
    version = git.run("version", cwd=root, check=False).out
    if not version_supported(version):
        found = version.removeprefix("git version ").strip() or "unknown"
        return Prediction(False, f"not predicted: git {MINIMUM[0]}.{MINIMUM[1]} or newer needed for "
                                 f"`git merge-tree --write-tree` (this is {found})")
    base_tip = git.rev(f"refs/heads/{base}", root) or git.rev(base, root)
    if not base_tip:
        return Prediction(False, f"not predicted: no branch {base}")
    workers = min(8, (os.cpu_count() or 2) * 2)
    tips = branch_tips(root, branches)
    dirty = {tid: path for tid, path in dirty.items() if tid in tips}
    memo = _Cache(cache)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        snaps = dict(zip(dirty, pool.map(lambda tid: _snapshot(dirty[tid], tips[tid]), dirty)))
        tips.update({tid: sha for tid, sha in snaps.items() if sha})
        changed = dict(zip(tips, pool.map(lambda tid: set(memo.get(
            f"paths {base_tip} {tips[tid]}", lambda: sorted(_changed(root, base_tip, tips[tid])))), tips)))
        active = [tid for tid in tips if changed[tid]]
        # (task, other, other's commit): every task against the base; pairs only when their paths meet
        jobs = [(tid, None, base_tip) for tid in active]
        jobs += [(a, b, tips[b]) for a, b in combinations(active, 2) if changed[a] & changed[b]]
        results = list(pool.map(lambda job: memo.get(
            f"merge {tips[job[0]]} {job[2]}", lambda: _merge_tree(root, tips[job[0]], job[2])), jobs))
    memo.save()
    prediction = Prediction(True, base=base, by_task={tid: [] for tid in tips})
    for (a, b, _), files in zip(jobs, results):
        if not files:  # [] merges cleanly; None is a merge git could not do: no guess either way
            continue
        prediction.files[(a, b or base)] = files
        prediction.by_task[a].append(b or base)
        if b:
            prediction.by_task[b].append(a)
    for tid, names in prediction.by_task.items():
        prediction.by_task[tid] = sorted(set(names), key=lambda name: (name != base, list(tips).index(name)
                                                                        if name in tips else 0))
    return prediction
