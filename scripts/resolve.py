"""Handing a merge conflict back to an agent: the base merged into the task's branch in its own worktree,
conflicted files left marked for the agent, and a check that the result really is resolved."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import agents, git, plan as plan_model, processes, runstate, tasks, worktrees
from .errors import CtxError, data_error
from .workspace import Workspace

MARKERS = r"^(<<<<<<<|>>>>>>>)( |$)"
CONFLICT_PREFIX = "merge conflict"


@dataclass
class Preparation:
    task_id: str
    worktree: Path
    branch: str
    base: str
    state: str  # conflicted, merged (the base merged in without conflict), up to date
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"task": self.task_id, "worktree": str(self.worktree), "branch": self.branch, "base": self.base,
                "state": self.state, "files": self.files}

    def lines(self) -> list[str]:
        tid, wt = self.task_id, self.worktree
        finish = [f"  ctx task complete {tid}", f"  ctx merge {tid}"]
        if self.state != "conflicted":
            how = "already contains" if self.state == "up to date" else "merged without conflict:"
            return [f"resolve {tid}: {self.branch} {how} {self.base}; nothing to resolve", "next:", *finish]
        if not self.files:
            return [f"resolve {tid}: the merge of {self.base} into {self.branch} in {wt} has no conflicted "
                    "file left; commit it", "next:", f"  git commit -m \"Merge {self.base} into {self.branch}\"",
                    *finish]
        return [f"resolve {tid}: merged {self.base} into {self.branch} in {wt}; "
                f"{len(self.files)} conflicted file{'s' if len(self.files) != 1 else ''}:",
                *[f"  {name}" for name in self.files],
                "next: in that worktree, edit each file to keep both sides' intent and remove every conflict "
                "marker, run the task's tests, then:",
                f"  git add -A && git commit -m \"Merge {self.base} into {self.branch}\"", *finish]


def _unmerged(worktree: Path) -> list[str]:
    res = git.run("diff", "--name-only", "-z", "--diff-filter=U", cwd=worktree, check=False)
    return sorted(set(git.zsplit(res.stdout)))


def _merging(worktree: Path) -> bool:
    return git.rev("MERGE_HEAD", worktree) is not None


def prepare(ws: Workspace, task_id: str) -> Preparation:
    """Merge the current base into the task's branch in its worktree; conflicted files stay marked.

    Run again while that merge is in progress, it changes nothing and names the files still conflicted.
    """
    plan = plan_model.load(ws)
    task = plan.task(task_id)
    if task.meta.get("merged"):
        raise data_error(f"task '{task_id}' is already merged: nothing to resolve")
    base = worktrees.base_branch(ws, plan)
    wt = ws.worktree(task_id)
    if not wt.is_dir() or git.current_branch(wt) != task.branch:
        raise CtxError(f"no worktree on {task.branch} at {plan_model.rel(ws, wt)}",
                       hint=f"run: ctx setup {task_id}")
    prep = Preparation(task_id, wt, task.branch, base, "conflicted")
    if _merging(wt):
        prep.files = _unmerged(wt)
        return prep
    dirty = git.dirty_tracked(wt)
    if dirty:
        raise CtxError(f"{plan_model.rel(ws, wt)} has uncommitted changes ({', '.join(dirty[:3])}"
                       f"{', ...' if len(dirty) > 3 else ''}); merging {base} there could mix them in",
                       hint=f"commit them on {task.branch}, then run ctx resolve {task_id} again")
    base_tip = git.rev(f"refs/heads/{base}", ws.root)
    if not base_tip:
        raise data_error(f"no branch {base} to merge from")
    if git.is_ancestor(base_tip, "HEAD", wt):
        prep.state = "up to date"
        return prep
    res = git.run("merge", "--no-ff", "--no-edit", "-m", f"Merge {base} into {task.branch}", base_tip,
                  cwd=wt, check=False)
    if res.ok:
        prep.state = "merged"
        return prep
    prep.files = _unmerged(wt)
    if not prep.files:  # it failed before touching anything (e.g. an untracked file in the way)
        git.run("merge", "--abort", cwd=wt, check=False)
        detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
        raise CtxError(f"git merge {base} in {plan_model.rel(ws, wt)} failed: {detail[-1] if detail else res.returncode}")
    return prep


def unresolved(prep: Preparation, files: list[str]) -> str | None:
    """Why the merge prepared in the worktree is not resolved yet, or None when it is."""
    wt = prep.worktree
    left = _unmerged(wt)
    if left:
        return f"still conflicted: {', '.join(left)}"
    if _merging(wt):
        return "the merge is not committed"
    marked = git.run("grep", "-l", "-E", MARKERS, "HEAD", "--", *files, cwd=wt, check=False).stdout if files else ""
    marked_files = sorted({line.split(":", 1)[-1] for line in marked.splitlines() if line})
    if marked_files:
        return f"conflict markers left in {', '.join(marked_files)}"
    base_tip = git.rev(f"refs/heads/{prep.base}", wt)
    if base_tip and not git.is_ancestor(base_tip, "HEAD", wt):
        return f"{prep.base} is not merged into {prep.branch}"
    return None


def prompt(prep: Preparation, files: list[str]) -> str:
    return "\n".join([
        f"Resolve the merge conflict of task `{prep.task_id}`: {prep.base} is being merged into {prep.branch} "
        f"in the git worktree {prep.worktree}. Work only there.",
        "Conflicted files:", *[f"- {name}" for name in files],
        "Keep the intent of both sides, remove every conflict marker, run the task's tests, then "
        f"`git add -A && git commit -m \"Merge {prep.base} into {prep.branch}\"`. Do not abort the merge, "
        "rebase, reset or switch branches. If you cannot resolve it, exit without committing.",
    ])


def is_conflict(report, task_id: str) -> bool:
    """Whether a merge report blocked the task for a conflict with the base (not for failing tests)."""
    files = getattr(report, "conflicts", {}).get(task_id)
    return bool(files) or str(report.blocked.get(task_id, "")).startswith(CONFLICT_PREFIX)


@dataclass
class Outcome:
    resolved: bool
    reason: str = ""


def _run_agent(ws: Workspace, task_id: str, prep: Preparation, files: list[str], override: str | None,
               timeout: float | None, stop: Callable[[], bool] | None) -> int | None:
    """The agent's exit code; None when it was stopped (timeout, or the run was interrupted)."""
    plan = plan_model.load(ws, check=False)
    task = plan.task(task_id)
    argv, shell = agents.command(plan, task, prep.worktree, override, text=prompt(prep, files))
    env = agents.environment(plan, task, prep.worktree)
    env.update({"CTX_RESOLVE": "1", "CTX_CONFLICTS": "\n".join(files)})
    ws.logs.mkdir(parents=True, exist_ok=True)
    with open(ws.logs / f"{task_id}.log", "a") as log:
        log.write(f"--- ctx: conflict resolution for {task_id} started {tasks.now()} ({', '.join(files)}) ---\n")
        log.flush()
        # under the same guard as ctx run's agents: it stops the agent when ctx dies, even by kill -9
        # (the parent-death signal follows this thread, which waits for the agent below)
        command = ["/bin/sh", "-c", argv] if shell else list(argv)
        exit_file = runstate.exit_file(ws, task_id, "resolve")
        exit_file.parent.mkdir(parents=True, exist_ok=True)
        exit_file.unlink(missing_ok=True)
        proc = subprocess.Popen(processes.guarded(command, exit_file), cwd=prep.worktree, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout if timeout else None
        try:
            while proc.poll() is None:
                if (stop and stop()) or (deadline and time.monotonic() > deadline):
                    return None
                time.sleep(0.05)
            ended = runstate.agent_exit(ws, task_id, "resolve")
            return ended.code if ended is not None and ended.code is not None else proc.returncode
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever it left running in its group
            except ProcessLookupError:
                pass
            proc.wait()


def _test(ws: Workspace, task_id: str, worktree: Path, default: str | None) -> str | None:
    test = plan_model.load(ws, check=False).task(task_id).meta.get("test") or default
    if not test:
        return None
    proc = subprocess.run(str(test), shell=True, cwd=worktree, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return None
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return f"tests failed after resolving (`{test}` exited {proc.returncode}): " + " | ".join(tail)


def attempt(ws: Workspace, task_id: str, *, agent: str | None = None, attempts: int = 1,
            timeout: float | None = None, stop: Callable[[], bool] | None = None,
            test_cmd: str | None = None) -> Outcome:
    """Prepare the worktree and run the task's agent to resolve the conflict, up to `attempts` times.

    Resolved and tested (the task's `test:`, else test_cmd): the task is completed, ready to merge. Otherwise it is blocked with a reason that
    names the conflict and its files, and the worktree stays exactly as the agent left it.
    """
    prep = prepare(ws, task_id)
    files = list(prep.files)
    why: str | None = None
    tried = 0
    while prep.state == "conflicted":
        tried += 1
        code = _run_agent(ws, task_id, prep, files, agent, timeout, stop)
        why = unresolved(prep, files)
        if why is None and code != 0:
            why = "the agent was stopped" if code is None else f"the agent exited {code}"
        if stop and stop():
            break
        # markers committed: another attempt would build on a broken commit
        if why is None or why.startswith("conflict markers") or tried >= attempts:
            break
        try:
            prep = prepare(ws, task_id)
        except CtxError as exc:
            why = exc.message
            break
    if why is None:
        why = _test(ws, task_id, prep.worktree, test_cmd)
    if why is None:
        tasks.set_status(ws, task_id, "completed")
        return Outcome(True)
    reason = (f"{CONFLICT_PREFIX} with {prep.base} in {', '.join(files)}: not resolved after {tried} "
              f"attempt{'s' if tried != 1 else ''} ({why}); worktree {plan_model.rel(ws, prep.worktree)} "
              f"kept as the agent left it (ctx resolve {task_id})") if files else why
    tasks.set_status(ws, task_id, "blocked", reason=reason)
    return Outcome(False, reason)
