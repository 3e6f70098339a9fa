"""ctx: run a plan's coding tasks in parallel, one git worktree, branch and agent each."""

__version__ = "0.1.0"
