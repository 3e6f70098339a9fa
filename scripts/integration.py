"""Is a branch's work already in the base? Named checks, cheapest first; unknown means keep."""

from __future__ import annotations

from pathlib import Path

from . import git


def _tree(ref: str, root: Path) -> str | None:
    res = git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{tree}}", cwd=root, check=False)
    return res.out or None


def integrated(root: Path, branch: str, base: str) -> str | None:
    """The reason the branch's commits are all in base ("ancestor", "trees match", ...), or None."""
    tip, head = git.rev(branch, root), git.rev(base, root)
    if not tip or not head:
        return None
    if tip == head:
        return "same commit"
    if git.is_ancestor(tip, head, root):
        return "ancestor"
    if _tree(tip, root) == _tree(head, root):
        return "trees match"
    merge_base = git.run("merge-base", head, tip, cwd=root, check=False).out
    if merge_base and git.run("diff", "--quiet", merge_base, tip, cwd=root, check=False).ok:
        return "no added changes"
    merged = git.run("merge-tree", "--write-tree", head, tip, cwd=root, check=False)
    if merged.ok and merged.stdout.split("\n", 1)[0].strip() == _tree(head, root):
        return "merge adds nothing (squash-merged or cherry-picked)"
    return None


def commits_not_in(root: Path, branch: str, base: str) -> int:
    res = git.run("rev-list", "--count", f"{base}..{branch}", cwd=root, check=False)
    return int(res.out) if res.ok and res.out.isdigit() else 0


def delete_branch(root: Path, branch: str, expected_sha: str) -> bool:
    """Delete refs/heads/<branch> only if it still points at expected_sha (compare-and-swap)."""
    return git.run("update-ref", "-d", f"refs/heads/{branch}", expected_sha, cwd=root, check=False).ok
