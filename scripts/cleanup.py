"""Removing what finished tasks left behind, without ever dropping a commit or a change."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import extract, git, integration, oplog, liverun, locks, merge as merge_model, plan as plan_model, pool, registry
from . import worktrees
from .errors import CtxError
from .workspace import Workspace

Echo = Callable[[str], None]


@dataclass
class Action:
    target: str
    outcome: str  # deleted, removed, parked, pruned, unlocked, archived, recovered, retained (and "would ..." on a dry run)
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

    archived_to: str | None = None
    pool: list[str] = field(default_factory=list)  # parked worktrees left in place

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "actions": [asdict(a) for a in self.actions],
                "retained": len(self.retained), "archived_to": self.archived_to, "pool": self.pool}


def reachable(root: Path, sha: str | None, base: str | None = None) -> bool:
    """Is commit sha on some local branch, or its work in base (e.g. squash-merged), so that removing
    a checkout of it loses nothing?"""
    if not sha:
        return True  # an unborn HEAD has no commit to lose
    res = git.run("for-each-ref", "--count=1", "--contains", sha, "--format=%(refname)", "refs/heads/",
                  cwd=root, check=False)
    if res.ok and res.out:
        return True
    return base is not None and integration.integrated(root, sha, base) is not None


def _head(path: Path) -> str | None:
    return git.rev("HEAD", path)


def _stale_records(ws: Workspace) -> list[tuple[Path, str]]:
    """Lock holder records whose process is gone: (file, who)."""
    found = []
    for path in sorted(ws.locks.glob("*.holder.json")) if ws.locks.is_dir() else []:
        name = path.name.removesuffix(".holder.json")
        who = locks.holder(ws, name)
        if not locks.held(ws, name):
            found.append((path, str(who) if who else "an unknown process"))
    return found


def _only_deletions(path: Path) -> bool:
    res = git.run("status", "--porcelain", "-z", cwd=path, check=False)
    return res.ok and all(entry[:2] == " D" for entry in git.zsplit(res.stdout))


def _recover(ws: Workspace, act) -> None:
    """Finish the removal a killed cleanup had under way (recorded before it started)."""
    entry = oplog.read(ws, "cleanup")
    if entry is None:
        return
    target = Path(str(entry.data.get("path", "")))
    if entry.step == "removing" and target.is_dir():
        head = _head(target)
        # it was clean when the removal began, so files it lacks now were deleted by that removal
        if reachable(ws.root, head, ws.branch()) and (
                entry.data.get("clean") is not True or _only_deletions(target)):
            act(plan_model.rel(ws, target), "removed", "finishing a removal a killed cleanup began",
                lambda: git.run("worktree", "remove", "--force", str(target), cwd=ws.root))
        else:
            act(plan_model.rel(ws, target), "retained", "a killed cleanup began removing it, but it holds work")
    oplog.clear(ws, "cleanup")


def cleanup(ws: Workspace, *, force: bool = False, dry_run: bool = False, drop_pool: bool = False,
            echo: Echo = print) -> CleanupReport:
    if force and not dry_run:
        live = liverun.live_run(ws)
        if live:
            raise CtxError(f"cleanup --force refused: {live} is still running and uses these worktrees",
                           hint="wait for it to finish or stop it (Ctrl-C), then run ctx cleanup --force")
    stale = _stale_records(ws)  # read before taking the merge lock, whose own record replaces a stale one
    with locks.lock(ws, "merge", timeout=merge_model.WAIT, record=True):
        return _cleanup(ws, force=force, dry_run=dry_run, drop_pool=drop_pool, echo=echo, stale=stale)


def _cleanup(ws: Workspace, *, force: bool, dry_run: bool, drop_pool: bool, echo: Echo,
             stale: list[tuple[Path, str]]) -> CleanupReport:
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
        return outcome

    if not dry_run:
        for line in merge_model.recover(ws, lambda line: None):
            act("merge", "recovered", line)
        _recover(ws, act)
    for record, who in stale:
        act(plan_model.rel(ws, record), "removed", f"stale lock record: {who} is gone",
            lambda r=record: r.unlink(missing_ok=True))
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
    pool_base = worktrees.base_branch(ws, plan) if plan is not None else ws.branch()
    for slot in sorted(set().union(*pool.sort(ws, pool_base))):
        where = plan_model.rel(ws, slot)
        if not reachable(ws.root, _head(slot), pool_base):
            act(where, "retained", "parked, but its HEAD is on no branch: removing it would drop commits")
        elif drop_pool:
            act(where, "removed", "parked worktree (--drop-pool)", lambda s=slot: _remove(ws, s))
        else:
            report.pool.append(where)
    # archived only when nothing was kept: a plan archived too early leaves nothing for a later cleanup to finish
    if plan is not None and (all_done or force) and not report.retained:
        def archive() -> str:
            if ws.logs.is_dir():  # this plan's agent logs go with it: the next plan's report starts from zero
                os.replace(ws.logs, ws.plans / "logs")
            oplog.fault("cleanup:archiving")
            target = extract.archive_plans(ws)  # one rename: the plan and its logs move together
            report.archived_to = plan_model.rel(ws, target)
            _drop_integration(ws)
            return ""
        act(plan_model.rel(ws, ws.plans), "archived", "every task is merged" if all_done else "--force", archive)
    for action in report.actions:
        echo(action.line())
    kept = len(report.retained)
    echo(f"cleanup{' (dry run)' if dry_run else ''}: {len(report.actions) - kept} actions, {kept} retained"
         + ("; rerun with --force to drop retained work" if kept and not force else ""))
    if report.archived_to:
        echo(f"plan archived to {report.archived_to}")
    elif plan is not None and not dry_run and report.retained:
        echo("plan not archived: something above could not be removed; the next ctx cleanup finishes it")
    if report.pool:
        echo(f"pool: {len(report.pool)} parked worktree{'s' if len(report.pool) != 1 else ''} kept for reuse "
             f"({', '.join(report.pool)}); drop them with: ctx cleanup --drop-pool")
    return report


def _remove(ws: Workspace, path: Path) -> object:
    """`git worktree remove`, recorded first so that a kill in the middle is finished next time."""
    oplog.write(ws, "cleanup", "removing", path=str(path), head=_head(path), clean=pool.clean(path))
    oplog.fault("cleanup:removing")
    res = git.run("worktree", "remove", "--force", str(path), cwd=ws.root, check=False, retries=3)
    oplog.clear(ws, "cleanup")
    if not res.ok:
        return f"kept: {(res.stderr.strip() or 'git worktree remove failed').splitlines()[-1]}"
    return None


def _drop_integration(ws: Workspace) -> None:
    """The private integration worktree is ctx's own, detached at a commit of the base: nothing to keep."""
    path = merge_model.integration_path(ws)
    if path.exists():
        git.run("worktree", "remove", "--force", str(path), cwd=ws.root, check=False)
    git.run("worktree", "prune", cwd=ws.root, check=False)


def _task(ws: Workspace, task, base: str, regs, force: bool, act) -> bool:
    """Clean up one task; True when nothing of it had to be kept.

    Only a merged task is cleaned up: `merged:` recorded by ctx merge, or a completed task whose
    branch passes an integration check. A task still pending or running keeps its worktree and
    branch (an agent may be about to use them) unless --force.
    """
    tip = git.rev(f"refs/heads/{task.branch}", ws.root)
    reason = integration.integrated(ws.root, tip, base) if tip else "no branch"
    # a completed task whose branch is gone was deleted by an earlier cleanup, after an integration check
    merged = bool(task.meta.get("merged")) or (task.status == "completed" and (tip is None or reason is not None))
    path = ws.worktree(task.id)
    where = plan_model.rel(ws, path)
    reg = regs.get(Path(os.path.realpath(path)))
    clean = True
    if reg is not None and path.is_dir():
        if reg.locked is not None and not registry.stale_lock(reg.locked):
            act(where, "retained", f"locked ({reg.locked or 'no reason given'}); unlock with: git worktree unlock {where}")
            clean = False
        elif not reachable(ws.root, head := _head(path), base):
            act(where, "retained", f"its HEAD {head[:10]} is on no branch; keep it with: "
                                   f"git -C {where} branch keep/{task.id}")
            clean = False
        elif not pool.clean(path):
            if force:
                act(where, "removed", "uncommitted changes dropped (--force)", lambda: _remove(ws, path))
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
