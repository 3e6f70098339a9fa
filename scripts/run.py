"""`ctx run`: the whole plan from a terminal. Tasks start as soon as their dependencies are merged.

Every agent runs under agent_guard.py, which stops it when ctx dies. What is running is recorded
(runstate), so `--resume` waits for an agent still alive, re-runs one that was stopped, goes on
with one that had finished (never a second agent on a task), and merges what completed before.
The loop sleeps only until a child exits, a signal arrives or a deadline passes: a finished task's
test, merge and its dependents' start follow at once.
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from . import agents, git, merge as merge_model, plan as plan_model, processes, runstate
from . import preflight as preflight_checks
from . import schedule, tasks, worktrees
from .display import Display
from .errors import CtxError
from .workspace import Workspace

INTERRUPTED = "interrupted"
GRACE = 3.0
RETRIED = (INTERRUPTED, "timed out")


@dataclass
class Running:
    task_id: str
    kind: str  # "agent" or "test"
    pid: int
    proc: subprocess.Popen | None  # None: an agent adopted from a run that was killed
    handle: int | None  # pidfd: readable once the process exits
    log: IO | None
    started: float
    worktree: Path
    base_tip: str | None
    command: str = ""

    def done(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is not None
        return not processes.alive(self.pid, processes.start_time(self.pid))

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
        if self.handle is not None:
            os.close(self.handle)
            self.handle = None


@dataclass
class RunResult:
    completed: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    not_started: dict[str, str] = field(default_factory=dict)
    adopted: list[str] = field(default_factory=list)
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


def fault(point: str, task_id: str) -> None:
    """Die here, as a kill -9 would, when CTX_FAULT names this point (POINT:TASK): for recovery tests."""
    if os.environ.get("CTX_FAULT") == f"{point}:{task_id}":
        os.kill(os.getpid(), signal.SIGKILL)


def _stop(run: Running) -> None:
    """Stop the guard, the command and everything it started (one process group)."""
    for sig, wait in ((signal.SIGTERM, GRACE + 1), (signal.SIGKILL, 5.0)):
        if not processes.kill_group(run.pid, sig):
            break
        end = time.monotonic() + wait
        while not run.done() and time.monotonic() < end:
            time.sleep(0.02)  # off the critical path: only on a timeout or an interrupt
        if run.done():
            break
    processes.kill_group(run.pid, signal.SIGKILL)  # the group may outlive its leader


def preflight(ws: Workspace, plan: plan_model.Plan, mode: str | None) -> str:
    """Check everything the run will need before any agent starts; the base branch."""
    base, found = preflight_checks.problems(ws, plan, mode)
    if found:
        raise found[0]
    return base


class Runner:
    def __init__(self, ws: Workspace, *, jobs: int, agent: str | None, timeout: float | None,
                 mode: str | None, test_cmd: str | None = None, display: Display | None = None,
                 resolve_attempts: int = 1):
        self.ws, self.jobs, self.agent, self.timeout, self.mode = ws, max(1, jobs), agent, timeout, mode
        self.test_cmd = test_cmd
        self.resolve_attempts = resolve_attempts
        self.display = display
        self.stop_requested = threading.Event()
        self.running: dict[str, Running] = {}
        self.result = RunResult()
        self.base = ""
        self.plan: plan_model.Plan | None = None  # kept in memory: statuses change through this run only
        self._finish_first: list[tuple[str, int, str | None]] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._shown = 0.0
        self._loaded = False  # see _wait
        self._merge_queue: queue.Queue[str | None] = queue.Queue()
        self._merged: list[tuple[str, merge_model.MergeReport | CtxError | None]] = []  # None: merged
        self._merges_pending = 0
        self._queued: set[str] = set()
        self._merge_thread: threading.Thread | None = None

    # -- before anything starts ----------------------------------------------------------------
    def prepare(self, resume: bool, plan: plan_model.Plan | None = None) -> None:
        plan = plan or plan_model.load(self.ws)
        stuck = [t.id for t in plan.tasks if t.status == "in_progress"]
        if stuck and not resume:
            raise CtxError(f"tasks already in progress: {', '.join(stuck)} (another run, or one that was killed)",
                           hint="ctx run --resume carries on from where it stopped")
        runstate.claim(self.ws, tasks.now())
        if self.mode == "merge":  # a merge killed half-way leaves the base and the checkout out of step
            ids = {task.id for task in plan.tasks}
            for line in merge_model.recover_interrupted(self.ws, echo=lambda _: None):
                task_id, _, what = line.partition(": ")
                if task_id in ids:
                    self._show(task_id, "recovered", what)
        self.base = preflight(self.ws, plan, self.mode)
        if resume:
            for task in plan.tasks:
                self._resume_task(task)
        else:
            self.plan = plan

    def _resume_task(self, task: plan_model.Task) -> None:
        interrupted = task.status == "blocked" and str(task.reason or "").startswith(RETRIED)
        if task.status != "in_progress" and not interrupted:
            return
        record = runstate.agent(self.ws, task.id)
        if task.status == "in_progress" and record is not None and record.live:
            self._adopt(task, record)
            return
        self._settle(task.id, record)
        ended = runstate.agent_exit(self.ws, task.id)
        timed_out = str(task.reason or "").startswith("timed out")
        if record is not None and ended is not None and ended.finished and not timed_out:
            # the agent had finished: never run it again, go on from its exit status
            if task.status != "in_progress":
                tasks.set_status(self.ws, task.id, "in_progress")
            self._finish_first.append((task.id, ended.exit or 0, record.base_tip))
        else:
            tasks.set_status(self.ws, task.id, "pending")

    def _settle(self, task_id: str, record: runstate.AgentRecord | None) -> None:
        """No process of the task's earlier agent is left, nor a lock file its git left behind."""
        if record is not None and record.token:
            processes.kill_marked(runstate.TOKEN_VAR, record.token)
        path = self.ws.worktree(task_id)
        if path.is_dir():
            res = git.run("rev-parse", "--path-format=absolute", "--git-dir", cwd=path, check=False)
            lock = Path(res.out) / "index.lock" if res.ok and res.out else None
            if lock is not None and lock.exists() and not processes.git_running_in(path):
                lock.unlink(missing_ok=True)  # its git was killed with the agent

    def _adopt(self, task: plan_model.Task, record: runstate.AgentRecord) -> None:
        """An agent of an earlier run still lives: wait for it instead of starting another."""
        path = self.ws.worktree(task.id)
        self.running[task.id] = Running(task.id, "agent", record.pid, None, processes.exit_handle(record.pid),
                                        None, time.monotonic(), path, record.base_tip)
        self.result.adopted.append(task.id)
        self._show(task.id, "running", f"adopted the live agent of an earlier run (pid {record.pid})")

    # -- starting --------------------------------------------------------------------------------
    def _ready(self, plan: plan_model.Plan) -> list[str]:
        """Pending tasks whose dependencies are merged, in `ctx plan show` order."""
        ready = []
        for wave in schedule.waves(plan):
            for task in wave:
                if task.status != "pending" or task.id in self.running:
                    continue
                if all(self._done(plan, d) for d in task.dependencies):
                    ready.append(task.id)
        return ready

    def _done(self, plan: plan_model.Plan, dependency: str) -> bool:
        """Merged. A task this run merges counts once its merge has finished, worktree released and all:
        its dependents then set up in that worktree, not in a new one beside it."""
        if dependency in self._queued:
            return dependency in self.result.merged
        return worktrees.dependency_done(self.ws, plan.task(dependency), self.base)

    def _spawn(self, task_id: str, kind: str, command: list[str], cwd: Path, env: dict[str, str],
               log: IO, exit_file: Path) -> subprocess.Popen:
        exit_file.unlink(missing_ok=True)
        return subprocess.Popen(processes.guarded(command, exit_file), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def _start(self, plan: plan_model.Plan, task_id: str) -> None:
        task = plan.task(task_id)
        path = self.ws.worktree(task_id)
        argv, shell = agents.command(plan, task, path, self.agent)
        command = ["/bin/sh", "-c", argv] if shell else list(argv)
        self.ws.logs.mkdir(parents=True, exist_ok=True)
        runstate.agents_dir(self.ws).mkdir(parents=True, exist_ok=True)
        log = open(self.ws.logs / f"{task_id}.log", "a")  # a resumed task keeps its earlier output and tokens
        log.write(f"--- ctx run: agent for {task_id} started {tasks.now()} ---\n")
        log.flush()
        base_tip = git.rev("HEAD", path)  # before the agent starts: a quick one may commit at once
        token = os.urandom(8).hex()  # what secrets.token_hex does, without importing hashlib
        record = runstate.AgentRecord(task_id, 0, None, token, tasks.now(), base_tip, os.getpid())
        runstate.save_agent(self.ws, record)  # the token first: a kill right after the start still finds strays
        self._set(task_id, "in_progress")
        env = agents.environment(plan, task, path)
        env[runstate.TOKEN_VAR] = token
        proc = self._spawn(task_id, "agent", command, path, env, log, runstate.exit_file(self.ws, task_id))
        record.pid, record.start = proc.pid, processes.start_time(proc.pid)
        runstate.save_agent(self.ws, record)
        self.running[task_id] = Running(task_id, "agent", proc.pid, proc, processes.exit_handle(proc.pid), log,
                                        time.monotonic(), path, base_tip)
        self._show(task_id, "running", f"agent started in {plan_model.rel(self.ws, path)}")

    def _start_test(self, task_id: str, test: str, worktree: Path) -> None:
        log_path = self.ws.logs / f"{task_id}.test.log"
        log = open(log_path, "w")
        env = dict(os.environ, CTX_TASK_ID=task_id, CTX_WORKTREE=str(worktree))
        proc = self._spawn(task_id, "test", ["/bin/sh", "-c", test], worktree, env, log,
                           runstate.exit_file(self.ws, task_id, "test"))
        self.running[task_id] = Running(task_id, "test", proc.pid, proc, processes.exit_handle(proc.pid), log,
                                        time.monotonic(), worktree, None, test)
        self._show(task_id, "testing", f"`{test}` in {plan_model.rel(self.ws, worktree)}")

    def _show(self, task_id: str, state: str, message: str = "") -> None:
        if self.display:
            self.display.event(task_id, state, message)

    def _set(self, task_id: str, status: str, reason: str | None = None) -> None:
        """Move a task on disk and in the plan held in memory."""
        meta = tasks.set_status(self.ws, task_id, status, reason=reason)
        if self.plan is not None:
            task = self.plan.task(task_id)
            task.meta, task.status = meta, str(meta.get("status", status))

    def _fresh(self, task_id: str) -> plan_model.Task:
        """Re-read one task file (an agent or a merge may have written it)."""
        task = self.plan.task(task_id)
        path = self.plan.task_path(task)
        task.meta, task.body = plan_model.read_task_file(path, plan_model.rel(self.ws, path))
        task.status = str(task.meta.get("status", "pending"))
        return task

    # -- finishing -------------------------------------------------------------------------------
    def _block(self, task_id: str, reason: str) -> None:
        self._set(task_id, "blocked", reason=reason)
        self.result.blocked[task_id] = reason
        self._show(task_id, "blocked", reason.splitlines()[0][:160])

    def _after_agent(self, task_id: str, code: int, base_tip: str | None) -> None:
        """The agent exited on its own: test its work, or block the task with the reason."""
        worktree = self.ws.worktree(task_id)
        log_path = self.ws.logs / f"{task_id}.log"
        tip = git.rev("HEAD", worktree) if worktree.is_dir() else None
        committed = tip is not None and tip != base_tip
        if code == 0 and committed:
            test = self.plan.task(task_id).meta.get("test") or self.test_cmd
            if test:
                self._start_test(task_id, str(test), worktree)
            else:
                self._complete(task_id, f"committed {tip[:10]}")
            return
        tail = _last_lines(log_path)
        reason = (f"agent exited {code}" if code else "agent exited 0 but left no commit") + (": " + tail if tail else "")
        current = self._fresh(task_id)
        if current.status == "blocked" and current.reason:
            reason = current.reason  # the agent said why itself
        self._block(task_id, reason)

    def _after_test(self, task_id: str, code: int, command: str) -> None:
        if code == 0:
            self._complete(task_id, f"tests passed (`{command}`)")
            return
        tail = _last_lines(self.ws.logs / f"{task_id}.test.log")
        self._block(task_id, f"tests failed in worktrees/{task_id} (`{command}` exited {code}); not merged"
                    + (": " + tail if tail else ""))

    def _complete(self, task_id: str, message: str) -> None:
        self._set(task_id, "completed")
        self.result.completed.append(task_id)
        fault("completed", task_id)
        if self.mode == "merge":
            self._integrate(task_id)  # queued first: the merge starts while the line below is written
        self._show(task_id, "completed", message)
        if self.mode == "pr":
            self._integrate(task_id)

    def _integrate(self, task_id: str) -> None:
        if self.mode == "merge":
            if task_id in self._queued:
                return
            self._queued.add(task_id)
            self._merges_pending += 1
            self._merge_queue.put(task_id)  # merged one at a time, beside the loop: agents keep starting
        elif self.mode == "pr":
            from . import pr as pr_model
            for outcome in pr_model.open_prs(self.ws, [task_id], echo=lambda _: None):
                self._show(task_id, "completed", f"pull request {outcome.action}: {outcome.url or outcome.detail}")

    def _merger(self) -> None:
        """The merge thread: what completed meanwhile is merged in one pass, in plan order, while the loop
        goes on; each task is reported as soon as it is merged, so its dependents start at once."""
        while True:
            batch = [self._merge_queue.get()]
            while True:
                try:
                    batch.append(self._merge_queue.get_nowait())
                except queue.Empty:
                    break
            ids = [task_id for task_id in batch if task_id is not None]
            if ids:
                self._merge_batch(ids)
            if None in batch:
                return

    def _merge_batch(self, ids: list[str]) -> None:
        reported: set[str] = set()

        def merged(task_id: str, commit: str) -> None:
            reported.add(task_id)
            self._merged.append((task_id, None))
            self.wake()

        outcome: merge_model.MergeReport | CtxError
        try:
            fault("merging", ids[0])
            outcome = merge_model.merge(self.ws, ids, test_cmd=self.test_cmd, echo=lambda _: None, on_merged=merged)
        except CtxError as exc:
            outcome = exc
        except Exception as exc:  # noqa: BLE001 - reported by the loop, never lost in a thread
            outcome = CtxError(f"{type(exc).__name__}: {exc}")
        for task_id in ids:
            if task_id in reported:
                continue
            result = outcome
            if self.resolve_attempts and isinstance(result, merge_model.MergeReport):
                from . import resolve  # loaded by the runs that hand conflicts back, only
                if resolve.is_conflict(result, task_id):
                    try:
                        result = self._resolve(task_id, result)
                    except CtxError as exc:
                        result = exc
            self._merged.append((task_id, result))
            self.wake()

    def _resolve(self, task_id: str, report: merge_model.MergeReport) -> merge_model.MergeReport:
        """In the merge thread: a conflict goes back to the task's agent (scripts/resolve.py), then to merge."""
        from . import resolve
        try:
            outcome = resolve.attempt(self.ws, task_id, agent=self.agent, attempts=self.resolve_attempts,
                                      timeout=self.timeout, stop=self.stop_requested.is_set,
                                      test_cmd=self.test_cmd)
        except CtxError as exc:
            reason = f"{report.blocked[task_id]}; not handed to the agent: {exc.message}"
            tasks.set_status(self.ws, task_id, "blocked", reason=reason)
            return merge_model.MergeReport(report.base, blocked={task_id: reason})
        if not outcome.resolved:
            return merge_model.MergeReport(report.base, blocked={task_id: outcome.reason})
        return merge_model.merge(self.ws, [task_id], test_cmd=self.test_cmd, echo=lambda _: None)

    def _collect_merges(self) -> bool:
        """Outcomes from the merge thread: None for a task merged (its dependents are ready now)."""
        moved = False
        while self._merged:
            task_id, outcome = self._merged.pop(0)
            self._merges_pending -= 1
            moved = True
            self._fresh(task_id)
            if outcome is None:
                self.result.merged.append(task_id)
                self._show(task_id, "merged", f"into {self.base}")
            elif isinstance(outcome, CtxError):  # the task stays completed: a later run merges it
                self.result.blocked[task_id] = f"not merged: {outcome.message}"
                self._show(task_id, "blocked", f"not merged: {outcome.message}"[:160])
            elif task_id in outcome.merged:
                self.result.merged.append(task_id)
                self._show(task_id, "merged", f"into {outcome.base}")
            elif task_id in outcome.blocked:
                self.result.blocked[task_id] = outcome.blocked[task_id]
                self._show(task_id, "blocked", outcome.blocked[task_id][:160])
            elif task_id in outcome.skipped and outcome.skipped[task_id] != "already merged":
                self.result.not_started[task_id] = f"not merged: {outcome.skipped[task_id]}"
                self._show(task_id, "completed", f"not merged: {outcome.skipped[task_id]}"[:160])
        return moved

    def _merge_completed(self, plan: plan_model.Plan) -> None:
        """Completed tasks that are not merged yet (e.g. by a run that was killed), in plan order."""
        if self.mode != "merge":
            return
        for wave in schedule.waves(plan):
            for task in wave:
                if task.status == "completed" and not task.meta.get("merged"):
                    self._integrate(task.id)

    # -- the loop --------------------------------------------------------------------------------
    def loop(self) -> RunResult:
        if self.plan is None:  # a resume moved tasks on disk
            self.plan = plan_model.load(self.ws, check=False)
        if self.mode == "merge":
            self._merge_thread = threading.Thread(target=self._merger, name="ctx-merge", daemon=True)
            self._merge_thread.start()
        try:
            self._loop()
        finally:
            if self._merge_thread is not None:
                self._merge_queue.put(None)
                self._merge_thread.join()  # a merge under way ends; queued ones wait for the next run
                self._collect_merges()
        self._explain_leftovers()
        return self.result

    def _loop(self) -> None:
        for task_id, code, base_tip in self._finish_first:
            self._after_agent(task_id, code, base_tip)
        self._merge_completed(self.plan)
        changed = True
        while not self.stop_requested.is_set():
            changed |= self._collect_merges()
            if changed:  # tasks only become ready when one starts, finishes or merges
                ready = self._ready(self.plan)
                changed = False
            room = self.jobs - len(self.running)
            if ready and room > 0:
                self._setup_and_start(self.plan, ready[:room])
                changed = True
                continue
            if not self.running and not self._merges_pending:
                break
            changed = self._wait()
        if self.stop_requested.is_set():
            while True:  # drop merges not yet begun: the tasks stay completed and --resume merges them
                try:
                    if self._merge_queue.get_nowait() is not None:
                        self._merges_pending -= 1
                except queue.Empty:
                    break
            self.interrupt()

    def _setup_and_start(self, plan: plan_model.Plan, batch: list[str]) -> None:
        """Set the batch up beside the loop; each agent starts as soon as its own worktree is ready.

        Agents are started from this (the main) thread only: the guard's parent-death signal follows
        the thread that started it, and setup's worker threads end with the setup."""
        ready: queue.Queue[worktrees.SetupOutcome | None] = queue.Queue()
        done: dict[str, object] = {}

        def work() -> None:
            try:
                done["outcomes"] = worktrees.setup(self.ws, batch, base=self.base, echo=lambda _: None, plan=plan,
                                                   on_ready=ready.put, strict=False)
            except BaseException as exc:  # noqa: BLE001 - raised again below, in this thread
                done["error"] = exc
            finally:
                ready.put(None)

        worker = threading.Thread(target=work, name="ctx-setup", daemon=True)
        worker.start()
        while (outcome := ready.get()) is not None:
            self._start(plan, outcome.task_id)
        worker.join()
        if "error" in done:
            raise done["error"]
        for outcome in done["outcomes"]:
            if outcome.action in worktrees.READY:
                continue  # started
            if outcome.action == "blocked":
                self._fresh(outcome.task_id)
                self.result.blocked[outcome.task_id] = outcome.detail
                self._show(outcome.task_id, "blocked", outcome.detail[:160])
            else:
                self.result.not_started[outcome.task_id] = outcome.detail
                self._show(outcome.task_id, "blocked", outcome.detail[:160])
                self._set(outcome.task_id, "blocked", reason=f"setup: {outcome.detail}")

    def _wait(self) -> bool:
        """Sleep until a child exits, a signal arrives or a deadline passes; True when a task moved on."""
        now = time.monotonic()
        timeout: float | None = None
        if self.timeout:
            ends = [r.started + self.timeout for r in self.running.values() if r.kind == "agent"]
            timeout = max(0.0, min(ends) - now) if ends else None
        if self.display and self.display.live:
            timeout = min(timeout, 0.25) if timeout is not None else 0.25
        if any(r.handle is None for r in self.running.values()):  # no pidfd on this system: look again soon
            timeout = min(timeout, 0.02) if timeout is not None else 0.02
        if self.running and not self._loaded:
            # what comes after the agents, loaded while they work rather than when the first one ends:
            # each merge validates the plan again, and the run ends with its report
            self._loaded = True
            from . import report, validate  # noqa: F401
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            for run in self.running.values():
                if run.handle is not None:
                    selector.register(run.handle, selectors.EVENT_READ)
            selector.select(timeout)
        woken = False
        try:
            while os.read(self._wake_r, 512):
                woken = True
        except BlockingIOError:
            pass
        if self.display and self.display.live and time.monotonic() - self._shown > 0.25:
            self._shown = time.monotonic()
            self.display.output({tid: _tail(self.ws.logs / f"{tid}.log") for tid in self.running})
        moved = woken
        for task_id, run in list(self.running.items()):
            if self.stop_requested.is_set():
                break
            if run.kind == "agent" and self.timeout and not run.done() and \
                    time.monotonic() - run.started > self.timeout:
                _stop(run)
                self._drop(run)
                self._block(task_id, f"timed out after {self.timeout:g} s; worktree left as it was")
                moved = True
            elif run.done():
                self._drop(run)
                self._reap(run)
                moved = True
        return moved

    def _drop(self, run: Running) -> None:
        del self.running[run.task_id]
        processes.kill_group(run.pid, signal.SIGKILL)  # anything the command left running in its group
        run.close()

    def _reap(self, run: Running) -> None:
        fault(f"{run.kind}-exited", run.task_id)
        if run.kind == "test":
            self._after_test(run.task_id, run.proc.returncode, run.command)
            return
        if run.proc is not None:
            code = run.proc.returncode
            ended = runstate.agent_exit(self.ws, run.task_id)
            if ended is not None and ended.code is not None:
                code = ended.code
            self._after_agent(run.task_id, code, run.base_tip)
            return
        ended = runstate.agent_exit(self.ws, run.task_id)  # adopted: its guard wrote how it ended
        if ended is not None and ended.finished:
            self._after_agent(run.task_id, ended.exit or 0, run.base_tip)
        else:
            self._settle(run.task_id, runstate.agent(self.ws, run.task_id))
            self._set(run.task_id, "pending")  # stopped with its run: start it again
            self._show(run.task_id, "waiting", "the earlier run's agent was stopped; starting it again")

    def wake(self, *_: object) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass

    def interrupt(self) -> None:
        self.result.interrupted = True
        for task_id, run in list(self.running.items()):
            _stop(run)
            self._drop(run)
            what = "tests were" if run.kind == "test" else "the run was"
            reason = f"{INTERRUPTED}: {what} stopped; worktree left as it was (ctx run --resume)"
            self._set(task_id, "blocked", reason=reason)
            self._show(task_id, "blocked", reason)

    def _explain_leftovers(self) -> None:
        plan = plan_model.load(self.ws, check=False)
        for task in plan.tasks:
            if task.status == "pending" and task.id not in self.result.not_started:
                waiting = [d for d in task.dependencies if not worktrees.dependency_done(self.ws, plan.task(d), self.base)]
                if self.result.interrupted:
                    why = "the run was stopped first"
                else:
                    why = f"waits for {', '.join(waiting)}" + ("" if self.mode == "merge" else
                                                               " to be merged (ctx run --merge merges as it goes)")
                self.result.not_started[task.id] = why
            elif task.status == "blocked" and task.id not in self.result.blocked and task.id not in self.result.not_started:
                hint = " (ctx run --resume retries it)" if str(task.reason or "").startswith(RETRIED) else ""
                first = str(task.reason).splitlines()[0] if task.reason else ""
                self.result.not_started[task.id] = f"blocked earlier: {first}{hint}"

    def close(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run(ws: Workspace, *, jobs: int | None = None, agent: str | None = None, timeout: float | None = None,
        mode: str | None = None, test_cmd: str | None = None, resume: bool = False,
        display: Display | None = None, plan: plan_model.Plan | None = None, resolve_attempts: int = 1) -> RunResult:
    """Run the plan (`plan`: the one just loaded and validated, else read from disk)."""
    runner = Runner(ws, jobs=jobs or max(2, os.cpu_count() or 2), agent=agent, timeout=timeout, mode=mode,
                    test_cmd=test_cmd, display=display, resolve_attempts=resolve_attempts)

    def request_stop(signum, frame):  # a closed terminal (SIGHUP) stops the run like Ctrl-C
        runner.stop_requested.set()
        runner.wake()

    previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
    try:
        runner.prepare(resume, plan)
        return runner.loop()
    finally:
        runstate.release(ws)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runner.close()
