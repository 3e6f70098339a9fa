"""Where every task stands: plan status joined with git facts gathered in a few batched calls."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import conflicts as conflict_model, git, oplog, liverun, plan as plan_model, registry, schedule
from .errors import data_error
from .merge import never_committed
from .workspace import Workspace
from .worktrees import base_branch, dependency_done


@dataclass
class TaskStatus:
    id: str
    name: str
    status: str
    wave: int
    branch: str
    worktree: str | None
    ahead: int | None
    dirty: int | None
    last_commit_age: int | None  # seconds
    merged: bool
    reason: str | None
    conflicts: list[str] | None = None  # unmerged tasks and/or the base it would conflict with; None: unknown


@dataclass
class StatusReport:
    plan: str
    base: str
    tasks: list[TaskStatus]
    summary: dict = field(default_factory=dict)
    next_step: str = ""
    prediction: conflict_model.Prediction | None = None

    def to_json(self) -> dict:
        return {"plan": self.plan, "base": self.base, "tasks": [asdict(t) for t in self.tasks],
                "summary": self.summary, "next": self.next_step,
                "conflicts_note": self.prediction.note if self.prediction else None}


def _branch_facts(ws: Workspace, base: str, branches: list[str]) -> dict[str, tuple[int, int]]:
    """branch -> (commits ahead of base, committer time), in two git calls for all branches."""
    fmt = "%(refname:short)%00%(committerdate:unix)"
    out = git.run("for-each-ref", f"--format={fmt}", "refs/heads/feature/", cwd=ws.root).stdout
    stamps = {}
    for line in out.splitlines():
        name, _, stamp = line.partition("\0")
        stamps[name] = int(stamp or 0)
    present = [b for b in branches if b in stamps]
    ahead = {b: 0 for b in present}
    if present:
        log = git.run("log", "--source", "--format=%S", f"^{base}", *[f"refs/heads/{b}" for b in present],
                      "--", cwd=ws.root).stdout
        for line in log.splitlines():
            name = line.strip().removeprefix("refs/heads/")
            if name in ahead:
                ahead[name] += 1
    return {b: (ahead[b], stamps[b]) for b in present}


def archived_plan(ws: Workspace):
    """The newest archived plan folder, when there is no active plan."""
    if ws.plan_file.exists() or not ws.archive.is_dir():
        return None
    found = sorted(ws.archive.glob("*/plan.yaml"))
    return found[-1].parent if found else None


def collect(ws: Workspace) -> StatusReport:
    archived = archived_plan(ws)
    if archived is not None:
        raise data_error(f"no active plan: the last one was archived to {plan_model.rel(ws, archived)}",
                         hint="ctx report shows how it went; write a new plan with /ctx:plan")
    plan = plan_model.load(ws)
    base = base_branch(ws, plan)
    waves = schedule.wave_of(plan)
    facts = _branch_facts(ws, base, [t.branch for t in plan.tasks])
    regs = registry.by_path(ws.root)
    now = int(time.time())
    present = [t.id for t in plan.tasks
               if Path(os.path.realpath(ws.worktree(t.id))) in regs and ws.worktree(t.id).is_dir()]
    # uncommitted files need one `git status` per worktree: run them side by side
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(present)))) as pool:
        counts = dict(zip(present, pool.map(lambda tid: len(git.zsplit(git.run(
            "status", "--porcelain", "-z", cwd=ws.worktree(tid), check=False).stdout)), present)))
    rows = []
    for task in plan.tasks:
        path = ws.worktree(task.id)
        reg = regs.get(Path(os.path.realpath(path)))
        dirty = counts.get(task.id)
        ahead, stamp = facts.get(task.branch, (None, None))
        rows.append(TaskStatus(
            id=task.id, name=task.name, status=task.status, wave=waves.get(task.id, 0), branch=task.branch,
            worktree=plan_model.rel(ws, path) if reg is not None else None, ahead=ahead, dirty=dirty,
            last_commit_age=(now - stamp) if stamp and ahead else None,
            merged=bool(task.meta.get("merged")), reason=task.reason))
    prediction = _predict_conflicts(ws, plan, base, rows)
    counts = {s: sum(r.status == s for r in rows) for s in plan_model.STATUSES}
    summary = {"total": len(rows), **counts, "merged": sum(r.merged for r in rows)}
    return StatusReport(plan.name, base, rows, summary, _next_step(ws, plan, rows, base), prediction)


def _predict_conflicts(ws: Workspace, plan, base: str, rows: list[TaskStatus]) -> conflict_model.Prediction:
    """Fill each unmerged task's `conflicts` from an in-memory merge of every pair and of each with the base."""
    unmerged = [r for r in rows if not r.merged]
    prediction = conflict_model.predict(ws.root, base, {r.id: r.branch for r in unmerged},
                                        {r.id: ws.worktree(r.id) for r in unmerged if r.dirty},
                                        cache=ws.parallel / "cache" / "conflicts.json")
    for row in rows:
        row.conflicts = prediction.by_task.get(row.id, []) if prediction.supported else None
    return prediction


def _next_step(ws: Workspace, plan, rows: list[TaskStatus], base: str) -> str:
    if oplog.read(ws, "merge") is not None:
        return "a merge was interrupted: run ctx merge to finish or roll it back (ctx doctor says which)"
    if all(r.merged for r in rows):
        return "every task is merged: run ctx cleanup, then ctx report"
    unmerged = [r for r in rows if r.status == "completed" and not r.merged]
    empty = [r.id for r in unmerged if r.ahead == 0 and _never_committed(ws, r.branch, base)]
    if empty:
        return (f"completed without commits: {', '.join(empty)}: commit the work in its worktree "
                f"(or ctx task retry {empty[0]}), then ctx merge")
    if unmerged:
        return "completed tasks await merging: run ctx merge (or ctx pr)"
    live = liverun.live_run(ws)
    running = [r.id for r in rows if r.status == "in_progress"]
    if running and live:
        return f"{live} is working on {', '.join(running)}: wait, or watch with ctx status --watch"
    if running:
        return (f"in progress but no ctx run is live: {', '.join(running)} (a killed run, or agents working "
                f"on their own): run ctx run --resume to carry on")
    ready = [t.id for t in plan.tasks if t.status == "pending"
             and all(dependency_done(ws, plan.task(d), base) for d in t.dependencies)]
    prepared = [tid for tid in ready if ws.worktree(tid).is_dir()]
    blocked = [r.id for r in rows if r.status == "blocked"]
    if ready and live:
        return f"{live} starts {', '.join(ready)} next"
    if prepared:
        return f"worktrees are ready for {', '.join(prepared)}: run ctx run (or /ctx:execute)"
    if ready:
        return f"ready to start: {', '.join(ready)}: run ctx run (or ctx setup to only prepare worktrees)"
    if blocked:
        return f"blocked: {', '.join(blocked)}: read the reason above, fix it, then ctx task retry {blocked[0]}"
    return "waiting for dependencies to be merged: run ctx merge when tasks complete"


def _never_committed(ws: Workspace, branch: str, base: str) -> bool:
    """The rule by which ctx merge blocks a completed task that has nothing to merge."""
    tip = git.rev(f"refs/heads/{branch}", ws.root)
    return tip is not None and never_committed(ws, branch, tip, base)


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render(report: StatusReport) -> str:
    header = ("ID", "STATUS", "WAVE", "BRANCH", "AHEAD", "DIRTY", "LAST", "WORKTREE", "NAME")
    rows = [header] + [(t.id, t.status + (" (merged)" if t.merged else ""), str(t.wave), t.branch,
                        "-" if t.ahead is None else str(t.ahead), "-" if t.dirty is None else str(t.dirty),
                        _age(t.last_commit_age), t.worktree or "-", t.name) for t in report.tasks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = [f"plan {report.plan} (base {report.base})"]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    for t in report.tasks:
        if t.status == "blocked" and t.reason:
            lines.append(f"blocked {t.id}: {t.reason.splitlines()[0] if t.reason.strip() else ''}")
    lines.extend(report.prediction.lines() if report.prediction else [])
    s = report.summary
    lines.append(f"{s['total']} tasks: {s['completed']} completed ({s['merged']} merged), {s['in_progress']} in progress, "
                 f"{s['blocked']} blocked, {s['pending']} pending")
    lines.append(f"next: {report.next_step}")
    return "\n".join(lines)
