"""One worktree and branch per ready task: created, reused from the pool, repaired, or skipped with a reason."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import config, envfiles, git, locks, plan as plan_model, pool, ports, registry, tasks
from .errors import CtxError, data_error
from .plan import Plan, Task
from .workspace import Workspace

Echo = Callable[[str], None]


@dataclass
class SetupOutcome:
    task_id: str
    action: str  # created, reused, repaired, pooled, skipped, blocked
    detail: str
    path: Path | None = None

    def line(self) -> str:
        return f"{self.task_id:<24} {self.action:<8} {self.detail}"


def base_branch(ws: Workspace, plan: Plan | None = None) -> str:
    """The branch tasks start from and merge into: the plan's recorded base, else what the main checkout has."""
    plan = plan or plan_model.load(ws, check=False)
    recorded = plan.metadata.get("base")
    if recorded:
        return str(recorded)
    branch = git.current_branch(ws.root)
    if not branch:
        raise CtxError("the main checkout is on a detached HEAD: ctx cannot tell the base branch",
                       hint="check out the branch to work on, or pass --base BRANCH")
    return branch


def dependency_done(ws: Workspace, task: Task, base: str) -> bool:
    """Completed and merged: recorded by ctx merge, or its branch already in the base."""
    if task.status != "completed":
        return False
    if task.meta.get("merged"):
        return True
    tip = git.rev(f"refs/heads/{task.branch}", ws.root)
    return bool(tip) and git.is_ancestor(tip, base, ws.root)


def waiting_on(ws: Workspace, plan: Plan, task: Task, base: str) -> list[str]:
    return [d for d in task.dependencies if not dependency_done(ws, plan.task(d), base)]


def _repair(ws: Workspace, echo: Echo) -> set[str]:
    """Unlock registrations left locked by killed processes and prune ones whose folder is gone."""
    repaired = set()
    worktrees_dir = Path(os.path.realpath(ws.worktrees))
    for path, reg in registry.by_path(ws.root).items():
        if worktrees_dir not in path.parents:
            continue
        if registry.stale_lock(reg.locked):
            git.run("worktree", "unlock", str(reg.path), cwd=ws.root)
            repaired.add(path.name)
            if path.is_dir() and git.run("status", "--porcelain", cwd=path, check=False).ok:
                # a checkout interrupted half-way: finish writing the files of its HEAD
                git.run("checkout", "-q", "-f", "HEAD", "--", ".", cwd=path, check=False)
        if reg.prunable or not path.exists():
            repaired.add(path.name)
    if repaired:
        git.run("worktree", "prune", cwd=ws.root, retries=3)
    return repaired


def _place(ws: Workspace, task: Task, base: str, regs: dict[Path, registry.Registration],
           use_pool: bool, repaired: set[str]) -> SetupOutcome:
    path = ws.worktree(task.id)
    real = Path(os.path.realpath(path))
    reg = regs.get(real)
    if reg is not None:
        if reg.branch == task.branch:
            action = "repaired" if task.id in repaired else "reused"
            return SetupOutcome(task.id, action, f"{plan_model.rel(ws, path)} on {task.branch}", path)
        return SetupOutcome(task.id, "skipped", f"{plan_model.rel(ws, path)} is a worktree on "
                            f"{reg.branch or 'a detached HEAD'}, not {task.branch}", path)
    if path.exists():
        return SetupOutcome(task.id, "skipped", f"{plan_model.rel(ws, path)} exists and is not a worktree; "
                            "move it away and run ctx setup again", path)
    holder = next((r for r in regs.values() if r.branch == task.branch), None)
    if holder is not None:
        return SetupOutcome(task.id, "skipped", f"{task.branch} is checked out at {holder.path}", path)
    branch_exists = git.rev(f"refs/heads/{task.branch}", ws.root) is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    if use_pool and pool.take(ws, path, task.branch, base, branch_exists):
        return SetupOutcome(task.id, "pooled", f"{plan_model.rel(ws, path)} on {task.branch} (reused a parked worktree)", path)
    if branch_exists:
        git.run("worktree", "add", "-q", str(path), task.branch, cwd=ws.root, retries=5)
        detail = f"{plan_model.rel(ws, path)} on existing {task.branch}"
    else:
        git.run("worktree", "add", "-q", "--no-track", "-b", task.branch, str(path), base, cwd=ws.root, retries=5)
        detail = f"{plan_model.rel(ws, path)} on {task.branch} from {base}"
    return SetupOutcome(task.id, "repaired" if task.id in repaired else "created", detail, path)


def _prepare(ws: Workspace, outcome: SetupOutcome, copy: list[str], port: int) -> None:
    path = outcome.path
    envfiles.copy_into(ws.root, path, copy)
    (path / ".env.ctx").write_text(ports.env_text(port))
    if (path / ".gitmodules").exists():
        git.run("submodule", "update", "--init", "--recursive", "-q", cwd=path)


def _run_setup_command(ws: Workspace, task_id: str, path: Path, command: str) -> str | None:
    """Run the plan's setup command in the worktree; the log's last lines when it fails."""
    ws.logs.mkdir(parents=True, exist_ok=True)
    log = ws.logs / f"{task_id}.setup.log"
    with open(log, "w") as fh:
        proc = subprocess.run(command, shell=True, cwd=path, stdout=fh, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return None
    tail = log.read_text(errors="replace").strip().splitlines()[-5:]
    return f"setup command `{command}` exited {proc.returncode}: " + " | ".join(tail)


def setup(ws: Workspace, ids: list[str] | None = None, *, base: str | None = None,
          use_pool: bool = True, echo: Echo = print) -> list[SetupOutcome]:
    plan = plan_model.load(ws)
    ws.ensure_excluded()
    base = base or base_branch(ws, plan)
    if not git.rev(base, ws.root):
        raise data_error(f"--base: '{base}' is not a branch or commit of this repository")
    if not plan.metadata.get("base"):
        tasks.update_metadata(ws, base=base)
    for tid in ids or []:
        plan.task(tid)  # unknown ids are an error before anything changes
    chosen = [plan.task(t) for t in ids] if ids else plan.tasks
    outcomes: list[SetupOutcome] = []
    ready: list[Task] = []
    for task in chosen:
        if task.status == "completed":
            outcomes.append(SetupOutcome(task.id, "skipped", "already completed"))
            continue
        if task.status == "in_progress":
            outcomes.append(SetupOutcome(task.id, "skipped", "in progress: an agent is working on it"))
            continue
        waiting = waiting_on(ws, plan, task, base)
        if waiting:
            outcomes.append(SetupOutcome(task.id, "skipped", f"waiting for {', '.join(waiting)} to be completed and merged"))
            continue
        ready.append(task)
    cap = int(config.load(ws).get("pool_size") or 0)
    placed: list[SetupOutcome] = []
    with locks.lock(ws, "git"):
        repaired = _repair(ws, echo)
        regs = registry.by_path(ws.root)
        for task in ready:
            outcome = _place(ws, task, base, regs, use_pool and cap > 0, repaired)
            placed.append(outcome)
            regs = registry.by_path(ws.root) if outcome.action in ("created", "pooled") else regs
    fresh = [o for o in placed if o.action not in ("skipped",)]
    copy = envfiles.to_copy(ws.root) if fresh else []
    taken: set[int] = set()
    for outcome in fresh:
        port = ports.read(outcome.path / ".env.ctx") or ports.assign(outcome.task_id, taken)
        taken.add(port)
        _prepare(ws, outcome, copy, port)
    command = plan.metadata.get("setup")
    new = [o for o in fresh if o.action in ("created", "pooled", "repaired")]
    if command and new:
        workers = max(1, min(len(new), os.cpu_count() or 2, 4))
        with ThreadPoolExecutor(max_workers=workers) as executor:
            failures = list(executor.map(lambda o: _run_setup_command(ws, o.task_id, o.path, str(command)), new))
        for outcome, failure in zip(new, failures):
            if failure:
                tasks.set_status(ws, outcome.task_id, "blocked", reason=failure)
                outcome.action, outcome.detail = "blocked", failure
    outcomes.extend(placed)
    order = {t.id: n for n, t in enumerate(plan.tasks)}
    outcomes.sort(key=lambda o: order[o.task_id])
    for outcome in outcomes:
        echo(outcome.line())
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    echo("setup: " + ", ".join(f"{n} {a}" for a, n in counts.items()) + f" (base {base})")
    return outcomes


def release(ws: Workspace, task_id: str, *, use_pool: bool = True) -> str:
    """After a merge: park the task's clean worktree in the pool, or remove it. Never drops changes."""
    path = ws.worktree(task_id)
    real = Path(os.path.realpath(path))
    with locks.lock(ws, "git"):
        reg = registry.by_path(ws.root).get(real)
        if reg is None:
            return "no worktree"
        if not path.is_dir():
            git.run("worktree", "prune", cwd=ws.root)
            return "pruned a registration whose folder was gone"
        if not pool.clean(path):
            return f"kept {plan_model.rel(ws, path)}: it has uncommitted changes"
        cap = int(config.load(ws).get("pool_size") or 0)
        if use_pool and cap > 0:
            (path / ".env.ctx").unlink(missing_ok=True)
            slot = pool.park(ws, path, cap)
            if slot is not None:
                return f"parked in {plan_model.rel(ws, slot)}"
        result = git.run("worktree", "remove", str(path), cwd=ws.root, check=False, retries=3)
        if not result.ok:
            return f"kept {plan_model.rel(ws, path)}: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'git worktree remove failed'}"
        return f"removed {plan_model.rel(ws, path)}"
