"""What a run's merges will need, checked before any agent starts: `ctx run` refuses on the first
problem, and `ctx doctor` (which `/ctx:execute` reads before it starts agents) lists them all."""

from __future__ import annotations

from . import git, worktrees
from . import plan as plan_model
from .errors import CtxError, data_error
from .workspace import Workspace


def problems(ws: Workspace, plan: plan_model.Plan, mode: str | None, *,
             dirty: bool = True) -> tuple[str, list[CtxError]]:
    """The plan's base and every problem found; `dirty=False` leaves uncommitted changes to the caller."""
    base = worktrees.base_branch(ws, plan)
    found: list[CtxError] = []
    if mode == "merge" and git.rev(f"refs/heads/{base}", ws.root) is None:
        found.append(data_error(f"no branch {base} to merge into (the plan's base)",
                                hint=f"create it (git branch {base}) or set metadata.base in .parallel/plans/plan.yaml"))
    elif git.rev(base, ws.root) is None:
        found.append(data_error(f"the plan's base '{base}' is not a branch or commit of this repository"))
    git_dir = ws.git_dir()
    for name in ("index.lock", "HEAD.lock", f"refs/heads/{base}.lock"):
        lock = git_dir / name
        if lock.exists():
            found.append(CtxError(f"{lock} exists: a git command is running in the main checkout, or one was "
                                  "killed and left its lock behind",
                                  hint=f"if no git command is running, remove it: rm {lock}"))
    if mode != "merge":
        return base, found
    current = ws.branch()
    if current != base:
        found.append(CtxError(f"ctx run --merge merges into {base}, but the main checkout is on "
                              f"{current or 'a detached HEAD'}", hint=f"run: git -C {ws.root} checkout {base}"))
    if (git_dir / "MERGE_HEAD").exists():
        found.append(CtxError("the main checkout is in the middle of a merge (MERGE_HEAD exists)",
                              hint="finish it with git commit, or undo it with git merge --abort; then run ctx run again"))
    changed = git.dirty_tracked(ws.root) if dirty else []
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        found.append(CtxError(f"the main checkout has uncommitted changes to tracked files ({shown}); "
                              "merges would mix them in or stop half-way",
                              hint="commit or stash them (git stash), then run ctx run --merge again"))
    return base, found
