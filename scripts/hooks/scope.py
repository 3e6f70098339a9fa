"""What an executor agent may touch: its own task's worktree, branch and declared test command.

The identity layer (which agent works on which task) builds a Scope from the hook's input; the
approval rules take it and narrow what they approve to that one task. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    task_id: str
    worktree: str  # real path of the task's worktree
    branch: str  # the task's branch, feature/<id>
    test: str | None = None  # the task's `test:` command, exactly as the accepted plan declares it
