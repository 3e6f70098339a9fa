"""Removing what finished tasks left behind, without ever dropping a commit or a change."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import extract, git, integration, locks, plan as plan_model, pool, registry, worktrees
from .errors import CtxError
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
            try:
                result = do()
            except CtxError as exc:  # one refusal does not stop the rest of the cleanup
                result = f"kept: {exc.message}"
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
    """Clean up one task; True when nothing of it had to be kept.

    Only a merged task is cleaned up: `merged:` recorded by ctx merge, or a completed task whose
    branch passes an integration check. A task still pending or running keeps its worktree and
    branch (an agent may be about to use them) unless --force.
    """
    tip = git.rev(f"refs/heads/{task.branch}", ws.root)
    reason = integration.integrated(ws.root, tip, base) if tip else "no branch"
    merged = bool(task.meta.get("merged")) or (task.status == "completed" and tip is not None and reason is not None)
    path = ws.worktree(task.id)
    where = plan_model.rel(ws, path)
    reg = regs.get(Path(os.path.realpath(path)))
    clean = True
    if reg is not None and path.is_dir():
        if reg.locked is not None and not registry.stale_lock(reg.locked):
            act(where, "retained", f"locked ({reg.locked or 'no reason given'}); unlock with: git worktree unlock {where}")
            clean = False
        elif not pool.clean(path):
            if force:
                act(where, "removed", "uncommitted changes dropped (--force)",
                    lambda: git.run("worktree", "remove", "--force", str(path), cwd=ws.root))
            else:
                act(where, "retained", "uncommitted changes")
                clean = False
        elif merged or force:
            act(where, "removed", "task merged" if merged else "--force", lambda: worktrees.release(ws, task.id))
        else:
            act(where, "retained", f"task {task.status}, not merged yet")
            clean = False
    if tip:
        n = integration.commits_not_in(ws.root, task.branch, base)
        if reason is None and not force:
            act(task.branch, "retained", f"unmerged commits ({n} not in {base})")
            clean = False
        elif not clean and reg is not None:
            act(task.branch, "retained", f"checked out in {where}")
        elif not merged and not force:
            act(task.branch, "retained", f"task {task.status}, not merged yet")
            clean = False
        elif reason:
            # re-read and re-checked just before the compare-and-swap delete
            act(task.branch, "deleted", f"integrated ({reason})",
                lambda: integration.delete_if_integrated(ws.root, task.branch, base, expected_sha=tip))
        else:
            act(task.branch, "deleted", f"--force ({n} commit{'s' if n != 1 else ''} not in {base} dropped)",
                lambda: integration.delete_branch(ws.root, task.branch, tip))
    return clean and task.status == "completed" and merged
