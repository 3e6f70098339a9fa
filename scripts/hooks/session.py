"""SessionStart: one line of context when a plan is in progress in this repository."""

from __future__ import annotations

from . import state


def summary(cwd: str) -> str | None:
    root = state.main_root(cwd) if cwd else None
    plan = state.load_plan(root) if root else None
    if plan is None or not plan.in_progress or not plan.task_ids:
        return None
    statuses = plan.task_statuses()
    done = sum(s == "completed" for s in statuses.values())
    blocked = sum(s == "blocked" for s in statuses.values())
    running = sum(s == "in_progress" for s in statuses.values())
    parts = [f"{done} of {len(statuses)} tasks completed"]
    if running:
        parts.append(f"{running} in progress")
    if blocked:
        parts.append(f"{blocked} blocked")
    return f"plan {plan.name}: {', '.join(parts)}; /ctx:status for details"
