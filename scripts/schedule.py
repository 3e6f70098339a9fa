"""Execution order: waves of tasks whose dependencies all lie in earlier waves."""

from __future__ import annotations

from .plan import PRIORITIES, Plan, Task


def _order(task: Task) -> tuple[int, str]:
    rank = PRIORITIES.index(task.priority) if task.priority in PRIORITIES else len(PRIORITIES)
    return rank, task.id


def waves(plan: Plan) -> list[list[Task]]:
    """Wave 1 holds tasks with no dependencies; inside a wave, blocker > high > medium > low, then id.

    Assumes a validated plan (no cycle, every dependency known).
    """
    placed: dict[str, int] = {}
    remaining = list(plan.tasks)
    result: list[list[Task]] = []
    while remaining:
        wave = [t for t in remaining if all(d in placed for d in t.dependencies)]
        if not wave:  # a cycle: validation reports it; never loop forever here
            break
        for task in wave:
            placed[task.id] = len(result)
        result.append(sorted(wave, key=_order))
        remaining = [t for t in remaining if t.id not in placed]
    return result


def wave_of(plan: Plan) -> dict[str, int]:
    """Task id -> wave number, counting from 1."""
    return {t.id: n for n, wave in enumerate(waves(plan), start=1) for t in wave}
