"""One worktree and branch per ready task: created, reused from the pool, repaired, or skipped with a reason."""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import config, envfiles, git, journal, locks, plan as plan_model, pool, ports, registry, repair, tasks
from .errors import CtxError, data_error
from .plan import Plan, Task
from .workspace import Workspace

Echo = Callable[[str], None]


@dataclass
class SetupOutcome:
    task_id: str
    action: str  # created, reused, repaired, pooled, skipped, blocked, failed
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
    branch = ws.branch()
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


@dataclass
class Job:
    """One task's setup after the decisions made under the git lock: checkout, then its own steps."""
    outcome: SetupOutcome
    task: Task
    port: int
    checkout: str | None = None  # "add" (new worktree) or "switch" (a parked one moved to the path)
    entry: journal.Entry | None = None
    error: str | None = None


def _place(ws: Workspace, task: Task, base: str, regs: dict[Path, registry.Registration],
           slots: pool.Usable | None, repaired: dict[str, str], busy: set[Path]) -> Job | SetupOutcome:
    """Decide what task needs (caller holds the git lock); create its branch and journal a checkout."""
    path = ws.worktree(task.id)
    rel = plan_model.rel(ws, path)
    real = Path(os.path.realpath(path))
    kept = repaired.get(task.id, "repaired")
    if kept != "repaired":
        return SetupOutcome(task.id, "skipped", kept, path)
    if real in busy:
        return SetupOutcome(task.id, "skipped", f"{rel} is being set up by another ctx setup", path)
    reg = regs.get(real)
    if reg is not None:
        if reg.branch == task.branch:
            action = "repaired" if task.id in repaired else "reused"
            return Job(SetupOutcome(task.id, action, f"{rel} on {task.branch}", path), task, 0)
        return SetupOutcome(task.id, "skipped", f"{rel} is a worktree on "
                            f"{reg.branch or 'a detached HEAD'}, not {task.branch}", path)
    if path.exists():
        return SetupOutcome(task.id, "skipped", f"{rel} exists and is not a worktree; "
                            "move it away and run ctx setup again", path)
    holder = next((r for r in regs.values() if r.branch == task.branch), None)
    if holder is not None:
        return SetupOutcome(task.id, "skipped", f"{task.branch} is checked out at {holder.path}", path)
    repair.clear_stale_ref_lock(ws, task.branch)
    made = git.run("branch", "--no-track", task.branch, base, cwd=ws.root, check=False, retries=5)
    if made.ok:
        detail = f"{rel} on {task.branch} from {base}"
    elif "already exists" in made.stderr:
        detail = f"{rel} on existing {task.branch}"
    else:
        lines = made.stderr.strip().splitlines()
        raise CtxError(f"git branch {task.branch} failed: {lines[-1] if lines else 'exit ' + str(made.returncode)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    slot = slots.take() if slots is not None else None
    entry = journal.begin(ws, task.id, path, task.branch, pooled=slot is not None)
    if slot is not None:
        pool.move(ws, slot, path)
        outcome = SetupOutcome(task.id, "pooled", f"{rel} on {task.branch} (reused a parked worktree)", path)
        return Job(outcome, task, 0, "switch", entry)
    action = "repaired" if task.id in repaired else "created"
    return Job(SetupOutcome(task.id, action, detail, path), task, 0, "add", entry)


def _transient(stderr: str) -> bool:
    """A failure caused by another git working at the same moment: a lock held, or a worktree being
    registered while this git read the list of worktrees (its commondir or gitdir not written yet)."""
    return git.is_lock_failure(stderr) or git.is_registering(stderr)


def parallel_checkout(ws: Workspace, concurrent: int = 1) -> list[str]:
    """git's parallel checkout for a new worktree's files (`checkout.workers`; git takes it from 2.32 on
    and only for checkouts of 100 files or more), unless the repository's config sets it.

    The CPUs are shared among the checkouts that run at once: two 2,000-file checkouts at once on two
    CPUs took 232 ms with two workers each, 208 ms with one (git's default: then nothing is passed)."""
    workers = (os.cpu_count() or 2) // max(1, concurrent)
    if workers < 2 or git.run("config", "--get", "checkout.workers", cwd=ws.root, check=False).ok:
        return []
    return ["-c", f"checkout.workers={workers}"]


def _switch(path: Path, branch: str) -> git.GitResult:
    """Check the branch out in a parked worktree that setup found clean. read-tree writes the files that
    differ and checks only those, where checkout would first look at every file of the worktree once
    more; then HEAD moves to the branch. Anything in the way: checkout, which says what."""
    moved = git.run("read-tree", "-m", "-u", "HEAD", f"refs/heads/{branch}", cwd=path, check=False)
    if moved.ok:
        moved = git.run("symbolic-ref", "-m", "ctx setup", "HEAD", f"refs/heads/{branch}", cwd=path, check=False)
        if moved.ok:
            return moved
    return git.run("checkout", "-q", branch, cwd=path, check=False)


def _checkout(ws: Workspace, job: Job, flags: list[str]) -> None:
    path, branch = job.outcome.path, job.task.branch
    for attempt in range(8):
        if job.checkout == "switch":
            result = _switch(path, branch)
        else:
            result = git.run(*flags, "worktree", "add", "-q", str(path), branch, cwd=ws.root, check=False)
        if result.ok:
            return
        # git removes what a failed add had begun; try again while nothing of it is left
        again = _transient(result.stderr) and (job.checkout == "switch" or not path.exists())
        if not again or attempt == 7:
            detail = (result.stderr.strip() or f"exit {result.returncode}").splitlines()[-1]
            what = "checkout" if job.checkout == "switch" else "worktree add"
            raise CtxError(f"git {what} {plan_model.rel(ws, path)} failed: {detail}")
        time.sleep(0.05 * (attempt + 1))


def _prepare(ws: Workspace, job: Job, copy: list[str]) -> None:
    path = job.outcome.path
    envfiles.copy_into(ws.root, path, copy)
    (path / ".env.ctx").write_text(ports.env_text(job.port))
    if (path / ".gitmodules").exists():
        git.run("submodule", "update", "--init", "--recursive", "-q", cwd=path, retries=5)


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


def _work(ws: Workspace, job: Job, copy: list[str], command: str | None, flags: list[str]) -> None:
    """Everything of one task outside the git lock, in a worker thread; the journal follows along."""
    try:
        if job.checkout:
            _checkout(ws, job, flags)
        new = job.outcome.action in ("created", "pooled", "repaired")
        if new and job.entry is None:
            job.entry = journal.begin(ws, job.task.id, job.outcome.path, job.task.branch)
        if job.entry is not None:
            journal.advance(ws, job.entry, journal.PREPARE)
        _prepare(ws, job, copy)
        if command and new:
            job.error = _run_setup_command(ws, job.task.id, job.outcome.path, command)
        if job.entry is not None:
            journal.finish(ws, job.entry)
    except CtxError as exc:
        job.outcome.action, job.outcome.detail = "failed", exc.message
    except OSError as exc:  # a file ctx writes into the worktree (disk full, permissions)
        job.outcome.action, job.outcome.detail = "failed", f"{exc.filename or job.outcome.path}: {exc.strerror}"


def jobs_default() -> int:
    return os.cpu_count() or 2


READY = ("created", "reused", "repaired", "pooled")


def setup(ws: Workspace, ids: list[str] | None = None, *, base: str | None = None,
          use_pool: bool = True, jobs: int | None = None, echo: Echo = print, plan: Plan | None = None,
          on_ready: Callable[[SetupOutcome], None] | None = None, strict: bool = True) -> list[SetupOutcome]:
    """Set up every ready task (or the named ones): decisions and branch creation under ctx's git
    lock, then up to `jobs` tasks at once check out and run their own steps.

    plan: the plan as the caller holds it (statuses current), instead of reading it again. on_ready:
    told of each task as soon as its worktree is ready, in a worker thread. strict: a task whose
    setup failed is an error (else it is only reported in its outcome)."""
    plan = plan or plan_model.load(ws)
    ws.ensure_excluded()
    base = base or base_branch(ws, plan)
    if not git.rev(base, ws.root):
        raise data_error(f"--base: '{base}' is not a branch or commit of this repository")
    if not plan.metadata.get("base"):
        tasks.update_metadata(ws, base=base)
        plan.metadata["base"] = base  # a caller's plan, set up again, does not write it again
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
    command = plan.metadata.get("setup")
    limit = jobs or jobs_default()
    workers = max(1, min(len(ready), limit))
    work: list[Job] = []
    started = []
    taken: set[int] = set()
    copy: list[str] | None = None  # found once a task is placed
    flags: list[str] | None = None  # git's checkout workers, found once a task needs a new worktree

    def one(job: Job) -> None:
        _work(ws, job, copy, str(command) if command else None, flags if job.checkout == "add" else [])
        if on_ready is not None and not job.error and job.outcome.action in READY:
            on_ready(job.outcome)

    # each task's checkout starts as soon as it is placed, while the next ones are decided
    with ThreadPoolExecutor(max_workers=workers) as executor, locks.lock(ws, "git"):
        busy = repair.owned_elsewhere(ws)  # first: see repair.owned_elsewhere
        regs = registry.by_path(ws.root)
        parked, stranded = pool.sort(ws, base, regs)
        repaired, changed = repair.repair(ws, base, busy, regs, stranded)
        if changed:
            regs = registry.by_path(ws.root)
            parked = pool.parked(ws, base, regs)
        slots = parked if use_pool and cap > 0 and ready else []
        usable = pool.Usable(ws, slots, regs, len(ready), limit) if slots else None
        try:
            for task in ready:
                placed = _place(ws, task, base, regs, usable, repaired, busy)
                if isinstance(placed, SetupOutcome):
                    outcomes.append(placed)
                    continue
                work.append(placed)
                regs[Path(os.path.realpath(placed.outcome.path))] = registry.Registration(
                    placed.outcome.path, branch=task.branch)
                placed.port = ports.read(placed.outcome.path / ".env.ctx") or ports.assign(task.id, taken)
                taken.add(placed.port)
                if copy is None:
                    copy = envfiles.to_copy(ws.root)
                if placed.checkout == "add" and flags is None:
                    # as many checkouts at once as there are workers (git's own workers share the CPUs)
                    flags = parallel_checkout(ws, workers)
                started.append(executor.submit(one, placed))
        finally:
            if usable is not None:
                usable.close()
    for future in started:
        future.result()  # a job's failure is in its outcome; anything else is raised here
    for job in work:
        if job.error:
            tasks.set_status(ws, job.task.id, "blocked", reason=job.error)
            job.outcome.action, job.outcome.detail = "blocked", job.error
        outcomes.append(job.outcome)
    order = {t.id: n for n, t in enumerate(plan.tasks)}
    outcomes.sort(key=lambda o: order[o.task_id])
    for outcome in outcomes:
        echo(outcome.line())
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    echo("setup: " + ", ".join(f"{n} {a}" for a, n in counts.items()) + f" (base {base})")
    failed = [o.task_id for o in outcomes if o.action == "failed"]
    if failed and strict:
        raise CtxError(f"setup of {', '.join(failed)} failed (see above); the next ctx setup tries again")
    return outcomes


def release(ws: Workspace, task_id: str, *, use_pool: bool = True) -> str:
    """After a merge: park the task's clean worktree in the pool, or remove it. Never drops changes."""
    path = ws.worktree(task_id)
    real = Path(os.path.realpath(path))
    with locks.lock(ws, "git"):
        regs = registry.by_path(ws.root)
        reg = regs.get(real)
        if reg is None:
            return "no worktree"
        if not path.is_dir():
            git.run("worktree", "prune", cwd=ws.root)
            return "pruned a registration whose folder was gone"
        if not pool.clean(path):
            return f"kept {plan_model.rel(ws, path)}: it has uncommitted changes"
        cap = int(config.load(ws).get("pool_size") or 0) if use_pool else 0
        found = pool.slots(ws, regs) if cap > 0 else {}
        lost = registry.unreachable(ws.root, [reg.head or "", *(r.head or "" for r in found.values())])
        if reg.head in lost:
            return (f"kept {plan_model.rel(ws, path)}: its HEAD {reg.head[:12]} is on no branch "
                    "(save it with git branch NAME there)")
        if cap > 0:
            (path / ".env.ctx").unlink(missing_ok=True)
            try:
                slot = pool.park(ws, reg, cap, found, lost)
            except CtxError as exc:  # removing it would fail alike, or take the submodules' own commits
                return f"kept {plan_model.rel(ws, path)}: {exc.message}"
            if slot is not None:
                return f"parked in {plan_model.rel(ws, slot)}"
        result = git.run("worktree", "remove", str(path), cwd=ws.root, check=False, retries=3)
        if not result.ok:
            return f"kept {plan_model.rel(ws, path)}: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'git worktree remove failed'}"
        return f"removed {plan_model.rel(ws, path)}"

