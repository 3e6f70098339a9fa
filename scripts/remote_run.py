"""`ctx run --on github-actions`: ready tasks run as jobs of ctx's workflow; their branches merge here.

Every dispatch is recorded in `.parallel/actions.json` before `gh workflow run` is called, so a run
that was killed at any point resumes by following what it dispatched, never dispatching it again.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from . import actions, git, locks, merge as merge_model, plan as plan_model, pr as pr_model, tasks, worktrees
from .errors import CtxError
from .run import RunResult
from .workspace import Workspace, atomic_write

POLL_SECONDS = float(os.environ.get("CTX_ACTIONS_POLL", "10"))
# A dispatch recorded but never seen among the workflow's runs after this long was never sent.
LOOKUP_SECONDS = float(os.environ.get("CTX_ACTIONS_LOOKUP", "120"))
# gh's words for a dispatch GitHub answered and refused (bad inputs, no such workflow, no right to run it)
_REFUSED = re.compile(r"HTTP 4\d\d|could not find any workflows|not logged in", re.IGNORECASE)
MAX_POLL_FAILURES = 30  # in a row, before the run stops with the last error (--resume carries on)


@dataclass
class Dispatch:
    id: str
    tasks: list[str]
    created: float
    state: str = "dispatching"  # dispatching, dispatched, finished, abandoned
    run_id: int | None = None
    url: str | None = None
    handled: dict[str, str] = field(default_factory=dict)  # task id -> completed / blocked

    @property
    def active(self) -> bool:
        return self.state in ("dispatching", "dispatched")


@dataclass
class RemoteResult(RunResult):
    dispatched: list[str] = field(default_factory=list)


def _state_file(ws: Workspace):
    return ws.parallel / "actions.json"


def load_dispatches(ws: Workspace) -> list[Dispatch]:
    path = _state_file(ws)
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [Dispatch(**entry) for entry in raw.get("dispatches", [])]
    except (ValueError, TypeError, AttributeError) as exc:
        raise CtxError(f"{plan_model.rel(ws, path)}: unreadable record of dispatched runs ({exc})",
                       hint="check the runs with gh run list --workflow ctx.yml, then move the file away") from None


def save_dispatches(ws: Workspace, dispatches: list[Dispatch]) -> None:
    atomic_write(_state_file(ws), json.dumps({"dispatches": [asdict(d) for d in dispatches]}, indent=2) + "\n")


class RemoteRunner:
    def __init__(self, ws: Workspace, *, mode: str | None, test_cmd: str | None = None, echo=print):
        self.ws, self.mode, self.test_cmd, self.echo = ws, mode, test_cmd, echo
        self.stop_requested = threading.Event()
        self.result = RemoteResult()
        self.dispatches = load_dispatches(ws)
        self.default = ""
        self.base = ""

    def _show(self, task_id: str, state: str, message: str = "") -> None:
        self.echo(f"{task_id:<24} {state:<10} {message}".rstrip())

    def _save(self) -> None:
        with locks.lock(self.ws, "actions"):
            save_dispatches(self.ws, self.dispatches)

    def _active_tasks(self) -> set[str]:
        return {t for d in self.dispatches if d.active for t in d.tasks if t not in d.handled}

    # -- before anything is sent -------------------------------------------------------------------
    def prepare(self, resume: bool) -> None:
        plan = plan_model.load(self.ws)
        actions.validate_name(plan)
        self.base = worktrees.base_branch(self.ws, plan)
        followed = self._active_tasks()
        stuck = [t.id for t in plan.tasks if t.status == "in_progress"]
        if stuck and not resume:
            raise CtxError(f"tasks already in progress: {', '.join(stuck)} (another run, or one that was killed)",
                           hint="ctx run --on github-actions --resume follows what was dispatched and carries on")
        if self.mode == "merge":
            current = git.current_branch(self.ws.root)
            if current != self.base:
                raise CtxError(f"the main checkout is on {current or 'a detached HEAD'}, not {self.base}, "
                               "where finished tasks are merged", hint=f"run: git checkout {self.base}")
            dirty = git.dirty_tracked(self.ws.root)
            if dirty:
                raise CtxError(f"the main checkout has uncommitted changes ({', '.join(dirty[:3])}); "
                               "merges would mix them in", hint="commit or stash them first")
        self.default = actions.preflight(self.ws, needs_secret=not all(t.meta.get("agent") for t in plan.tasks))
        actions.plugin_root()
        if resume:
            for task in plan.tasks:
                if task.status == "in_progress" and task.id not in followed:
                    tasks.set_status(self.ws, task.id, "pending")
        pushed = git.run("push", "--quiet", "origin", f"refs/heads/{self.base}:refs/heads/{self.base}",
                         cwd=self.ws.root, check=False)
        if not pushed.ok:
            raise CtxError(f"git push origin {self.base} failed: {_last(pushed)}",
                           hint=f"bring {self.base} up to date first: git pull --ff-only origin {self.base}")

    # -- dispatching -------------------------------------------------------------------------------
    def _push_branch(self, task) -> str | None:
        """Create feature/<id> from the base when missing and push it; the reason it could not be, or None."""
        if git.rev(f"refs/heads/{task.branch}", self.ws.root) is None:
            git.run("branch", "--no-track", task.branch, self.base, cwd=self.ws.root)
        res = git.run("push", "--quiet", "origin", f"refs/heads/{task.branch}:refs/heads/{task.branch}",
                      cwd=self.ws.root, check=False)
        if res.ok:
            return None
        return (f"git push origin {task.branch} failed: {_last(res)} (origin's {task.branch} may hold commits "
                f"this checkout lacks: git fetch origin {task.branch}, then decide)")

    def dispatch(self, plan, ready: list[str]) -> None:
        chosen = []
        for tid in ready:
            failure = self._push_branch(plan.task(tid))
            if failure:
                tasks.set_status(self.ws, tid, "blocked", reason=failure)
                self.result.blocked[tid] = failure
                self._show(tid, "blocked", failure[:160])
            else:
                chosen.append(tid)
        if not chosen:
            return
        ref = actions.push_plan(self.ws, plan_model.load(self.ws, check=False), test_cmd=self.test_cmd)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        record = Dispatch(id=f"{plan.name}-{stamp}-{secrets.token_hex(3)}", tasks=chosen, created=time.time())
        for tid in chosen:
            tasks.set_status(self.ws, tid, "in_progress")
            tasks.update(self.ws, tid, actions_dispatch=record.id)
        self.dispatches.append(record)
        self._save()  # recorded before it is sent: a killed run finds it again by this id
        proc = actions.gh("workflow", "run", actions.WORKFLOW_NAME, "--ref", self.default,
                          "-f", f"plan_ref={ref}", "-f", f"tasks={json.dumps(chosen)}", "-f", f"dispatch={record.id}",
                          cwd=self.ws.root)
        if proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[-1]
            if not _REFUSED.search(proc.stderr + proc.stdout):
                # no answer, or a failure after GitHub may have accepted it: keep the record, so that
                # --resume follows the run if one appears and sends it again only if none does
                raise CtxError(f"gh workflow run {actions.WORKFLOW_NAME} failed: {detail}; the dispatch may or "
                               "may not have reached GitHub",
                               hint="ctx run --on github-actions --resume follows it if it did, and sends it "
                                    f"again after {LOOKUP_SECONDS:g} s if it did not")
            for tid in chosen:  # GitHub refused it: nothing was dispatched
                tasks.set_status(self.ws, tid, "pending")
            self.dispatches.remove(record)
            self._save()
            raise CtxError(f"gh workflow run {actions.WORKFLOW_NAME} failed: {detail}",
                           hint=f"check the workflow on {self.default}: gh workflow view {actions.WORKFLOW_NAME}")
        record.state = "dispatched"
        self._save()
        self.result.dispatched.extend(chosen)
        for tid in chosen:
            self._show(tid, "dispatched", f"to GitHub Actions ({record.id})")

    # -- following ---------------------------------------------------------------------------------
    def _find_runs(self, pending: list[Dispatch]) -> None:
        runs = actions.gh_json("run", "list", "--workflow", actions.WORKFLOW_NAME, "--event", "workflow_dispatch",
                               "--json", "databaseId,displayTitle,url", "--limit", "200", cwd=self.ws.root) or []
        by_title = {str(r.get("displayTitle")): r for r in runs}
        for record in pending:
            run = by_title.get(f"ctx {record.id}")
            if run:
                record.run_id, record.url, record.state = int(run["databaseId"]), run.get("url"), "dispatched"
                for tid in record.tasks:
                    tasks.update(self.ws, tid, actions_run=record.url)
            elif record.state == "dispatching" and time.time() - record.created > LOOKUP_SECONDS:
                record.state = "abandoned"  # killed before gh workflow run: it never started
                for tid in record.tasks:
                    if plan_model.load(self.ws, check=False).task(tid).status == "in_progress":
                        tasks.set_status(self.ws, tid, "pending")
        self._save()

    def poll(self) -> bool:
        """Look at every followed run once; True when a task finished."""
        unseen = [d for d in self.dispatches if d.active and d.run_id is None]
        if unseen:
            self._find_runs(unseen)
        finished = False
        for record in [d for d in self.dispatches if d.active and d.run_id is not None]:
            view = actions.gh_json("run", "view", str(record.run_id), "--json", "status,conclusion,jobs,url",
                                   cwd=self.ws.root) or {}
            jobs = {str(j.get("name")): j for j in view.get("jobs") or []}
            for tid in record.tasks:
                if tid in record.handled:
                    continue
                job = jobs.get(tid)
                if (job and job.get("status") == "completed") or view.get("status") == "completed":
                    self._finish(record, tid, job, view)
                    finished = True
            if all(t in record.handled for t in record.tasks):
                record.state = "finished"
                self._save()
        return finished

    def _fetch(self, *refspecs: str) -> git.GitResult:
        return git.run("fetch", "--quiet", "--no-tags", "origin", *refspecs, cwd=self.ws.root, check=False)

    def _read_result(self, record: Dispatch, tid: str) -> dict | None:
        ref = actions.result_ref(record.id, tid)
        if not self._fetch(f"+{ref}:{ref}").ok:
            return None
        execution = git.run("show", f"{ref}:execution.json", cwd=self.ws.root, check=False)
        if execution.ok:
            self._keep_log(tid, execution.stdout)
        shown = git.run("show", f"{ref}:result.json", cwd=self.ws.root, check=False)
        try:
            return json.loads(shown.stdout) if shown.ok else None
        except ValueError:
            return None

    def _keep_log(self, tid: str, text: str) -> None:
        """The agent's messages as stream-json lines in .parallel/logs/<id>.log, where ctx report counts tokens."""
        try:
            messages = json.loads(text)
        except ValueError:
            return
        if not isinstance(messages, list):
            return
        self.ws.logs.mkdir(parents=True, exist_ok=True)
        with open(self.ws.logs / f"{tid}.log", "a", encoding="utf-8") as fh:
            fh.write(f"--- ctx run --on github-actions: agent output for {tid} ---\n")
            fh.writelines(json.dumps(m) + "\n" for m in messages)

    def _finish(self, record: Dispatch, tid: str, job: dict | None, view: dict) -> None:
        result = self._read_result(record, tid)
        branch = f"feature/{tid}"
        fetched = self._fetch(f"refs/heads/{branch}:refs/heads/{branch}")
        where = f" (run {record.url or view.get('url') or record.run_id})"
        conclusion = (job or {}).get("conclusion") or view.get("conclusion") or "unknown"
        if result and result.get("ok") and conclusion == "success":
            tip = git.rev(f"refs/heads/{branch}", self.ws.root)
            if not fetched.ok or tip != result.get("head"):
                reason = f"could not bring {branch} from origin to {str(result.get('head'))[:10]}: {_last(fetched)}"
                self._block(record, tid, reason + where)
                return
            tasks.set_status(self.ws, tid, "completed")
            record.handled[tid] = "completed"
            self._save()
            self.result.completed.append(tid)
            self._show(tid, "completed", f"{result.get('detail', '')} on GitHub Actions")
            self._integrate(tid)
            return
        if result:
            reason = str(result.get("detail") or "the job failed")
        elif job is None:
            reason = f"the run ended {conclusion} before the job for {tid} ran"
        else:
            reason = f"the job ended {conclusion} without reporting a result"
        self._block(record, tid, reason + where)

    def _block(self, record: Dispatch, tid: str, reason: str) -> None:
        tasks.set_status(self.ws, tid, "blocked", reason=reason)
        record.handled[tid] = "blocked"
        self._save()
        self.result.blocked[tid] = reason
        self._show(tid, "blocked", reason[:200])

    def _integrate(self, tid: str) -> None:
        if self.mode == "merge":
            report = merge_model.merge(self.ws, [tid], test_cmd=self.test_cmd, echo=lambda _: None)
            if tid in report.merged:
                self.result.merged.append(tid)
                self._show(tid, "merged", f"into {report.base}")
            elif tid in report.blocked:
                self.result.blocked[tid] = report.blocked[tid]
                self._show(tid, "blocked", report.blocked[tid][:160])
        elif self.mode == "pr":
            for outcome in pr_model.open_prs(self.ws, [tid], echo=lambda _: None):
                self._show(tid, "completed", f"pull request {outcome.action}: {outcome.url or outcome.detail}")

    # -- the loop ----------------------------------------------------------------------------------
    def loop(self) -> RemoteResult:
        failures = 0
        while not self.stop_requested.is_set():
            plan = plan_model.load(self.ws, check=False)
            active = self._active_tasks()
            ready = [t.id for t in plan.tasks if t.status == "pending" and t.id not in active
                     and not worktrees.waiting_on(self.ws, plan, t, self.base)]
            if ready:
                self.dispatch(plan, ready)
                continue
            if not any(d.active for d in self.dispatches):
                break
            try:
                finished = self.poll()
                failures = 0
            except CtxError as exc:  # GitHub or the network said no this time: look again, within reason
                failures += 1
                if failures >= MAX_POLL_FAILURES:
                    raise
                self.echo(f"warning: {exc.message}; looking again in {POLL_SECONDS:g} s")
                finished = False
            if not finished:
                self.stop_requested.wait(POLL_SECONDS)
        if self.stop_requested.is_set():
            self.result.interrupted = True
        self._summarise()
        return self.result

    def _summarise(self) -> None:
        plan = plan_model.load(self.ws, check=False)
        for task in plan.tasks:
            if task.status == "pending" and task.id not in self.result.not_started:
                waiting = worktrees.waiting_on(self.ws, plan, task, self.base)
                self.result.not_started[task.id] = (f"waits for {', '.join(waiting)}" + (
                    "" if self.mode == "merge" else " to be merged (--merge merges as it goes)")) if waiting else "not dispatched"
            elif task.status == "in_progress" and self.result.interrupted:
                self.result.not_started[task.id] = "still running on GitHub Actions (ctx run --on github-actions --resume follows it)"
            elif task.status == "blocked" and task.id not in self.result.blocked:
                self.result.not_started[task.id] = f"blocked earlier: {str(task.reason or '').splitlines()[0] if task.reason else ''}"


def _last(res: git.GitResult) -> str:
    lines = (res.stderr.strip() or res.stdout.strip()).splitlines()
    return lines[-1] if lines else f"exit {res.returncode}"


def run(ws: Workspace, *, mode: str | None = None, test_cmd: str | None = None, resume: bool = False,
        echo=print) -> RemoteResult:
    runner = RemoteRunner(ws, mode=mode, test_cmd=test_cmd, echo=echo)
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
