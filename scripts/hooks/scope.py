"""What an executor agent may touch: its own task's worktree, branch and declared test command.

The identity layer (which agent works on which task) builds a Scope from the hook's input; the
approval rules take it and narrow what they approve to that one task. Standard library only.
"""

from __future__ import annotations

from .record import FrozenRecord


class Scope(FrozenRecord):
    """task_id; worktree: real path of the task's worktree; branch: the task's branch, feature/<id>;
    test: the task's `test:` command, exactly as the accepted plan declares it."""

    __slots__ = ("task_id", "worktree", "branch", "test")

    def __init__(self, task_id: str, worktree: str, branch: str, test: str | None = None):
        self._set(task_id=task_id, worktree=worktree, branch=branch, test=test)
