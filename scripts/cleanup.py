"""Removing what finished tasks left behind, without ever dropping a commit or a change."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import extract, git, integration, locks, plan as plan_model, pool, registry, worktrees
from .workspace import Workspace

Echo = Callable[[str], None]


@dataclass
class Action:
    target: str
    outcome: str  # deleted, removed, parked, pruned, unlocked, archived, retained (and "would ..." on a dry run)
    reason: str

    def line(self) -> str:
        return f"{self.outcome:<10} {self.target}: {self.reason}"


@dataclass
class CleanupReport:
    dry_run: bool
    actions: list[Action] = field(default_factory=list)

    @property
    def retained(self) -> list[Action]:
        return [a for a in self.actions if a.outcome == "retained"]

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "actions": [asdict(a) for a in self.actions],
                "retained": len(self.retained)}


def cleanup(ws: Workspace, *, force: bool = False, dry_run: bool = False, drop_pool: bool = False,
            echo: Echo = print) -> CleanupReport:
    report = CleanupReport(dry_run)

    def act(target: str, outcome: str, reason: str, do: Callable[[], object] | None = None) -> None:
        if outcome != "retained" and dry_run:
            outcome = f"would be {outcome}"
        elif do is not None:
            result = do()
            if isinstance(result, str) and result.startswith("kept"):
                outcome, reason = "retained", result
            elif isinstance(result, integration.BranchOutcome) and not result.deleted:
                outcome, reason = "retained", result.reason
            elif result is False:
                outcome, reason = "retained", "moved meanwhile (compare-and-swap refused)"
        report.actions.append(Action(target, outcome, reason))

    with locks.lock(ws, "git"):
        for path, reg in registry.by_path(ws.root).items():
            if registry.stale_lock(reg.locked):
                act(plan_model.rel(ws, path), "unlocked", f"lock left by a process that is gone ({reg.locked})",
                    lambda p=reg.path: git.run("worktree", "unlock", str(p), cwd=ws.root))
            if reg.prunable or (path != Path(os.path.realpath(ws.root)) and not path.exists()):
                act(str(path), "pruned", "registration whose folder is gone",
                    lambda: git.run("worktree", "prune", cwd=ws.root))
    plan = plan_model.load(ws, check=False) if ws.plan_file.exists() else None
    all_done = True
    if plan is not None:
        base = worktrees.base_branch(ws, plan)
        regs = registry.by_path(ws.root)
        for task in plan.tasks:
            all_done &= _task(ws, task, base, regs, force, act)
    if drop_pool:
        for slot in pool.parked(ws):
            act(plan_model.rel(ws, slot), "removed", "parked worktree (--drop-pool)",
                lambda s=slot: git.run("worktree", "remove", "--force", str(s), cwd=ws.root))
    if plan is not None and (all_done or force):
        act(plan_model.rel(ws, ws.plans), "archived", "every task is merged" if all_done else "--force",
            lambda: extract.archive_plans(ws))
    for action in report.actions:
        echo(action.line())
    kept = len(report.retained)
    echo(f"cleanup{' (dry run)' if dry_run else ''}: {len(report.actions) - kept} actions, {kept} retained"
         + ("; rerun with --force to drop retained work" if kept and not force else ""))
    return report


def _task(ws: Workspace, task, base: str, regs, force: bool, act) -> bool:
    """Clean up one task; True when nothing of it had to be kept."""
    tip = git.rev(f"refs/heads/{task.branch}", ws.root)
    reason = integration.integrated(ws.root, tip, base) if tip else "no branch"
    merged = bool(task.meta.get("merged")) or (tip is not None and reason is not None)
    path = ws.worktree(task.id)
    reg = regs.get(Path(os.path.realpath(path)))
    clean = True
    if reg is not None and path.is_dir():
        if not pool.clean(path):
            if force:
                act(plan_model.rel(ws, path), "removed", "uncommitted changes dropped (--force)",
                    lambda: git.run("worktree", "remove", "--force", str(path), cwd=ws.root))
            else:
                act(plan_model.rel(ws, path), "retained", "uncommitted changes")
                clean = False
        elif merged or force:
            act(plan_model.rel(ws, path), "removed", "task merged" if merged else "--force",
                lambda: worktrees.release(ws, task.id))
        else:
            act(plan_model.rel(ws, path), "retained", "task not merged yet")
            clean = False
    if tip:
        n = integration.commits_not_in(ws.root, task.branch, base)
        if reason is None and not force:
            act(task.branch, "retained", f"unmerged commits ({n} not in {base})")
            clean = False
        elif not clean and reg is not None:
            act(task.branch, "retained", f"checked out in {plan_model.rel(ws, path)}")
        elif reason:
            # re-read and re-checked just before the compare-and-swap delete
            act(task.branch, "deleted", f"integrated ({reason})",
                lambda: integration.delete_if_integrated(ws.root, task.branch, base, expected_sha=tip))
        else:
            act(task.branch, "deleted", f"--force ({n} commit{'s' if n != 1 else ''} not in {base} dropped)",
                lambda: integration.delete_branch(ws.root, task.branch, tip))
    return clean and task.status == "completed" and merged
