"""`ctx run`: the whole plan from a terminal. Tasks start as soon as their dependencies are merged."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from . import agents, git, merge as merge_model, plan as plan_model, pr as pr_model, tasks, worktrees
from . import resolve as resolve_model
from .display import Display
from .errors import CtxError
from .workspace import Workspace

INTERRUPTED = "interrupted"
GRACE = 3.0


@dataclass
class Running:
    task_id: str
    proc: subprocess.Popen
    log: IO
    started: float
    worktree: Path
    base_tip: str | None


@dataclass
class RunResult:
    completed: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    not_started: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.blocked and not self.not_started and not self.interrupted


def _last_lines(path: Path, n: int = 5) -> str:
    try:
        lines = [l.strip() for l in path.read_text(errors="replace").splitlines()
                 if l.strip() and l.strip().strip("-=_*~ ")]  # rules and separators say nothing
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-600:]


def _tail(path: Path) -> str:
    """The last non-empty line of a log, reading only its end."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 2048))
            lines = [l for l in fh.read().decode(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _stop(proc: subprocess.Popen) -> None:
    """Stop the agent and everything it started (its own process group)."""
    for sig, wait in ((signal.SIGTERM, GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # the group may outlive its leader
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Runner:
    def __init__(self, ws: Workspace, *, jobs: int, agent: str | None, timeout: float | None,
                 mode: str | None, display: Display | None = None, echo=print, resolve_attempts: int = 1):
        self.ws, self.jobs, self.agent, self.timeout, self.mode = ws, max(1, jobs), agent, timeout, mode
        self.resolve_attempts = resolve_attempts
        self.echo = echo
        self.display = display
        self.stop_requested = threading.Event()
        self.running: dict[str, Running] = {}
        self.result = RunResult()
        self._shown = 0.0

    # -- lifecycle -----------------------------------------------------------------------------
    def prepare(self, resume: bool) -> None:
        plan = plan_model.load(self.ws)
        stuck = [t.id for t in plan.tasks if t.status == "in_progress"]
        if stuck and not resume:
            raise CtxError(f"tasks already in progress: {', '.join(stuck)} (another run, or one that was killed)",
                           hint="ctx run --resume carries on from where it stopped")
        if resume:
            for task in plan.tasks:
                reason = str(task.reason or "")
                if task.status == "in_progress" or (task.status == "blocked" and
                                                    reason.startswith((INTERRUPTED, "timed out"))):
                    tasks.set_status(self.ws, task.id, "pending")

    def _ready(self, plan, base: str) -> list[str]:
        ready = []
        for task in plan.tasks:
            if task.status != "pending" or task.id in self.running:
                continue
            if all(worktrees.dependency_done(self.ws, plan.task(d), base) for d in task.dependencies):
                ready.append(task.id)
        return ready

    def _start(self, plan, task_id: str) -> None:
        task = plan.task(task_id)
        path = self.ws.worktree(task_id)
        argv, shell = agents.command(plan, task, path, self.agent)
        self.ws.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.ws.logs / f"{task_id}.log", "a")  # a resumed task keeps its earlier output and tokens
        log.write(f"--- ctx run: agent for {task_id} started {tasks.now()} ---\n")
        log.flush()
        tasks.set_status(self.ws, task_id, "in_progress")
        base_tip = git.rev("HEAD", path)  # before the agent starts: a quick one may commit at once
        proc = subprocess.Popen(argv, shell=shell, cwd=path, env=agents.environment(plan, task, path),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.running[task_id] = Running(task_id, proc, log, time.monotonic(), path, base_tip)
        self._show(task_id, "running", f"agent started in {plan_model.rel(self.ws, path)}")

    def _show(self, task_id: str, state: str, message: str = "") -> None:
        if self.display:
            self.display.event(task_id, state, message)

    def _finish(self, run: Running, code: int | None, reason: str | None) -> None:
        run.log.close()
        log_path = self.ws.logs / f"{run.task_id}.log"
        tip = git.rev("HEAD", run.worktree) if run.worktree.is_dir() else None
        committed = tip is not None and tip != run.base_tip
        if reason is None and code == 0 and committed:
            tasks.set_status(self.ws, run.task_id, "completed")
            self.result.completed.append(run.task_id)
            self._show(run.task_id, "completed", f"{git.out('rev-list', '--count', f'{run.base_tip}..{tip}', cwd=run.worktree)} commit(s)")
            return
        if reason is None:
            reason = (f"agent exited {code}" if code else "agent exited 0 but left no commit") + \
                     (": " + _last_lines(log_path) if _last_lines(log_path) else "")
        current = plan_model.load(self.ws, check=False).task(run.task_id)
        if current.status == "blocked" and current.reason and reason.startswith("agent exited"):
            reason = current.reason  # the agent said why itself
        tasks.set_status(self.ws, run.task_id, "blocked", reason=reason)
        self.result.blocked[run.task_id] = reason
        self._show(run.task_id, "blocked", reason.splitlines()[0][:160])

    def _integrate(self, task_id: str) -> None:
        if self.mode == "merge":
            report = merge_model.merge(self.ws, [task_id], echo=lambda _: None)
            if task_id in report.blocked and self.resolve_attempts:
                report = self._resolve(task_id, report)
            if task_id in report.merged:
                self.result.merged.append(task_id)
                self._show(task_id, "merged", f"into {report.base}")
            elif task_id in report.blocked:
                self.result.blocked[task_id] = report.blocked[task_id]
                self._show(task_id, "blocked", report.blocked[task_id][:160])
        elif self.mode == "pr":
            for outcome in pr_model.open_prs(self.ws, [task_id], echo=lambda _: None):
                self._show(task_id, "completed", f"pull request {outcome.action}: {outcome.url or outcome.detail}")

    def _resolve(self, task_id: str, report: merge_model.MergeReport) -> merge_model.MergeReport:
        """A merge conflict goes back to the task's agent (scripts/resolve.py), then to merge again."""
        if not resolve_model.is_conflict(report, task_id):
            return report
        self._show(task_id, "running", "resolving a merge conflict")
        try:
            outcome = resolve_model.attempt(self.ws, task_id, agent=self.agent, attempts=self.resolve_attempts,
                                            timeout=self.timeout, stop=self.stop_requested.is_set)
        except CtxError as exc:
            tasks.set_status(self.ws, task_id, "blocked", reason=f"{report.blocked[task_id]}; {exc.message}")
            return merge_model.MergeReport(report.base, blocked={task_id: f"{report.blocked[task_id]}; {exc.message}"})
        if not outcome.resolved:
            return merge_model.MergeReport(report.base, blocked={task_id: outcome.reason})
        return merge_model.merge(self.ws, [task_id], echo=lambda _: None)

    def loop(self) -> RunResult:
        plan = plan_model.load(self.ws)
        base = worktrees.base_branch(self.ws, plan)
        changed = True
        while not self.stop_requested.is_set():
            if changed:  # the plan on disk only changes when a task starts, finishes or merges
                plan = plan_model.load(self.ws, check=False)
                changed = False
            ready = self._ready(plan, base)
            room = self.jobs - len(self.running)
            if ready and room > 0:
                batch = ready[:room]
                outcomes = worktrees.setup(self.ws, batch, base=base, echo=lambda _: None)
                for outcome in outcomes:
                    if outcome.action in ("created", "reused", "repaired", "pooled"):
                        self._start(plan, outcome.task_id)
                    elif outcome.action == "blocked":
                        self.result.blocked[outcome.task_id] = outcome.detail
                        self._show(outcome.task_id, "blocked", outcome.detail[:160])
                    else:
                        self.result.not_started[outcome.task_id] = outcome.detail
                        self._show(outcome.task_id, "blocked", outcome.detail[:160])
                        tasks.set_status(self.ws, outcome.task_id, "blocked", reason=f"setup: {outcome.detail}")
                changed = True
                continue
            if not self.running:
                break
            changed = self._poll()
        if self.stop_requested.is_set():
            self.interrupt()
        plan = plan_model.load(self.ws)
        for task in plan.tasks:
            if task.status == "pending" and task.id not in self.result.not_started:
                waiting = [d for d in task.dependencies if not worktrees.dependency_done(self.ws, plan.task(d), base)]
                why = f"waits for {', '.join(waiting)}" + ("" if self.mode == "merge" else
                                                           " to be merged (ctx run --merge merges as it goes)")
                self.result.not_started[task.id] = why
            elif task.status == "blocked" and task.id not in self.result.blocked and task.id not in self.result.not_started:
                hint = " (ctx run --resume retries it)" if str(task.reason or "").startswith((INTERRUPTED, "timed out")) else ""
                self.result.not_started[task.id] = f"blocked earlier: {(task.reason or '').splitlines()[0] if task.reason else ''}{hint}"
        return self.result

    def _poll(self) -> bool:
        """Wait a moment; True when a task finished (and so the plan changed)."""
        time.sleep(0.05)
        if self.display and self.display.live and time.monotonic() - self._shown > 0.25:
            self._shown = time.monotonic()
            self.display.output({tid: _tail(self.ws.logs / f"{tid}.log") for tid in self.running})
        finished = False
        for task_id, run in list(self.running.items()):
            code = run.proc.poll()
            timed_out = self.timeout and code is None and time.monotonic() - run.started > self.timeout
            if timed_out:
                _stop(run.proc)
                del self.running[task_id]
                self._finish(run, None, f"timed out after {self.timeout:g} s; worktree left as it was")
                finished = True
                continue
            if code is None:
                continue
            _stop(run.proc)  # anything the agent left running in its group
            del self.running[task_id]
            self._finish(run, code, None)
            finished = True
            if task_id in self.result.completed and self.mode:
                self._integrate(task_id)
        return finished

    def interrupt(self) -> None:
        self.result.interrupted = True
        for task_id, run in list(self.running.items()):
            _stop(run.proc)
            del self.running[task_id]
            self._finish(run, None, f"{INTERRUPTED}: the run was stopped; worktree left as it was (ctx run --resume)")


def run(ws: Workspace, *, jobs: int | None = None, agent: str | None = None, timeout: float | None = None,
        mode: str | None = None, resume: bool = False, display: Display | None = None,
        resolve_attempts: int = 1) -> RunResult:
    runner = Runner(ws, jobs=jobs or max(2, os.cpu_count() or 2), agent=agent, timeout=timeout, mode=mode,
                    display=display, resolve_attempts=resolve_attempts)
    runner.prepare(resume)
    previous = {}

    def request_stop(signum, frame):
        runner.stop_requested.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, request_stop)
    try:
        return runner.loop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
