"""Is a branch's work already in the base? Named checks, cheapest first; unknown means keep.

Each check answers True (integrated), or False (cannot tell); the first True names the reason.
A branch is deleted only after a check said so, and only with a compare-and-swap on the exact
commit that was checked (`git update-ref -d refs/heads/<b> <sha>`), so a branch that moved
meanwhile survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import git


def _tree(ref: str, root: Path) -> str | None:
    res = git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{tree}}", cwd=root, check=False)
    return res.out or None


def _same_commit(root: Path, tip: str, head: str) -> bool:
    return tip == head


def _ancestor(root: Path, tip: str, head: str) -> bool:
    return git.is_ancestor(tip, head, root)


def _no_added_changes(root: Path, tip: str, head: str) -> bool:
    """The branch's commits change nothing against where it forked (e.g. a commit and its revert)."""
    fork = git.run("merge-base", head, tip, cwd=root, check=False).out
    return bool(fork) and git.run("diff", "--quiet", fork, tip, cwd=root, check=False).ok


def _trees_match(root: Path, tip: str, head: str) -> bool:
    """The base holds exactly the branch's files: a squash merge with nothing after it."""
    tree = _tree(tip, root)
    return tree is not None and tree == _tree(head, root)


def _merge_adds_nothing(root: Path, tip: str, head: str) -> bool:
    """Merging the branch into the base would leave the base's tree as it is (squash-merged, then more work)."""
    merged = git.run("merge-tree", "--write-tree", head, tip, cwd=root, check=False)
    if not merged.ok:  # a conflict, or a git older than 2.38: cannot tell
        return False
    return merged.stdout.split("\n", 1)[0].strip() == _tree(head, root)


def patch_ids_match(root: Path, tip: str, head: str) -> bool:
    """Every commit of the branch has a commit with the same patch-id in the base (cherry-picked, rebased)."""
    res = git.run("cherry", head, tip, cwd=root, check=False)
    lines = res.stdout.splitlines()
    return res.ok and bool(lines) and all(line.startswith("- ") for line in lines)


Check = Callable[[Path, str, str], bool]
CHECKS: list[tuple[str, Check]] = [
    ("same commit", _same_commit),
    ("ancestor", _ancestor),
    ("no added changes", _no_added_changes),
    ("trees match", _trees_match),
    ("merge adds nothing", _merge_adds_nothing),
    ("patch-id match", patch_ids_match),
]


def integrated(root: Path, branch: str, base: str) -> str | None:
    """The name of the first check that proves every change of `branch` is in `base`, or None."""
    tip, head = git.rev(branch, root), git.rev(base, root)
    if not tip or not head:
        return None
    for name, check in CHECKS:
        if check(root, tip, head):
            return name
    return None


def commits_not_in(root: Path, branch: str, base: str) -> int:
    res = git.run("rev-list", "--count", f"{base}..{branch}", cwd=root, check=False)
    return int(res.out) if res.ok and res.out.isdigit() else 0


@dataclass
class BranchOutcome:
    """What happened to a branch, as data: `deleted: integrated (ancestor)`, `retained: unmerged commits`."""

    branch: str
    deleted: bool
    reason: str

    def __str__(self) -> str:
        return f"{'deleted' if self.deleted else 'retained'}: {self.reason}"


def delete_branch(root: Path, branch: str, expected_sha: str) -> bool:
    """Delete refs/heads/<branch> only if it still points at expected_sha (compare-and-swap)."""
    return git.run("update-ref", "-d", f"refs/heads/{branch}", expected_sha, cwd=root, check=False).ok


def delete_if_integrated(root: Path, branch: str, base: str, *, expected_sha: str | None = None,
                         dry_run: bool = False) -> BranchOutcome:
    """Delete `branch` when a check proves its work is in `base`; otherwise keep it and say why.

    The branch is re-read here; when `expected_sha` is given and the branch no longer points at it,
    it is kept ("moved meanwhile"). A branch checked out in a worktree is kept by git itself.
    """
    tip = git.rev(f"refs/heads/{branch}", root)
    if tip is None:
        return BranchOutcome(branch, False, "no such branch")
    if expected_sha is not None and tip != expected_sha:
        return BranchOutcome(branch, False, "moved meanwhile")
    reason = integrated(root, tip, base)
    if reason is None:
        n = commits_not_in(root, tip, base)
        return BranchOutcome(branch, False, f"unmerged commits ({n} not in {base})")
    if dry_run:
        return BranchOutcome(branch, True, f"integrated ({reason})")
    if _checked_out(root, branch):
        return BranchOutcome(branch, False, "checked out in a worktree")
    if not delete_branch(root, branch, tip):
        return BranchOutcome(branch, False, "moved meanwhile")
    return BranchOutcome(branch, True, f"integrated ({reason})")


def _checked_out(root: Path, branch: str) -> bool:
    out = git.run("worktree", "list", "--porcelain", "-z", cwd=root, check=False).stdout
    return f"branch refs/heads/{branch}" in git.zsplit(out)
