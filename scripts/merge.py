"""Bringing completed tasks back into the base branch, in dependency order, never leaving a half-merge."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Callable

from . import git, integration, locks, plan as plan_model, schedule, tasks, worktrees
from .errors import CtxError, data_error
from .plan import Task
from .workspace import Workspace

Echo = Callable[[str], None]


@dataclass
class MergeReport:
    base: str
    merged: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"base": self.base, "merged": self.merged, "blocked": self.blocked, "skipped": self.skipped}


def _preflight(ws: Workspace, base: str) -> None:
    if git.rev(f"refs/heads/{base}", ws.root) is None:
        raise data_error(f"no branch {base} to merge into", hint="pass --into an existing branch, or create it first")
    current = git.current_branch(ws.root)
    if current != base:
        raise CtxError(f"the main checkout is on {current or 'a detached HEAD'}, not {base}",
                       hint=f"run: git -C {ws.root} checkout {base}   (or pass --into {current})")
    dirty = git.dirty_tracked(ws.root)
    if dirty:
        raise CtxError(f"the main checkout has uncommitted changes ({', '.join(dirty[:3])}"
                       f"{', ...' if len(dirty) > 3 else ''}); ctx merge would mix them into merges",
                       hint="commit or stash them, then run ctx merge again")


def _conflicts(ws: Workspace) -> list[str]:
    return git.zsplit(git.run("diff", "--name-only", "-z", "--diff-filter=U", cwd=ws.root, check=False).stdout)


def _merge_one(ws: Workspace, task: Task, base: str, squash: bool, test_cmd: str | None) -> str | None:
    """Merge task's branch into base (the checked-out branch); the reason it was not merged, or None."""
    before = git.rev("HEAD", ws.root)
    message = f"Merge {task.branch}: {task.name}"
    if squash:
        res = git.run("merge", "--squash", task.branch, cwd=ws.root, check=False)
        if res.ok:
            res = git.run("commit", "-q", "-m", f"{task.name} ({task.id})", cwd=ws.root, check=False)
    else:
        res = git.run("merge", "--no-ff", "--no-edit", "-m", message, task.branch, cwd=ws.root, check=False)
    if not res.ok:
        files = _conflicts(ws)
        if git.run("merge", "--abort", cwd=ws.root, check=False).ok is False:
            git.run("reset", "-q", "--merge", cwd=ws.root, check=False)
        if git.rev("HEAD", ws.root) != before:
            git.run("reset", "-q", "--hard", before, cwd=ws.root)
        if files:
            return f"merge conflict with {base} in {', '.join(files)}"
        detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
        return f"git merge failed: {detail[-1] if detail else 'exit ' + str(res.returncode)}"
    if test_cmd:
        proc = subprocess.run(test_cmd, shell=True, cwd=ws.root, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            git.run("reset", "-q", "--hard", before, cwd=ws.root)
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            return f"tests failed after merging (`{test_cmd}` exited {proc.returncode}); merge undone: " + " | ".join(tail)
    return None


def merge(ws: Workspace, ids: list[str] | None = None, *, into: str | None = None, squash: bool = False,
          test_cmd: str | None = None, use_pool: bool = True, echo: Echo = print) -> MergeReport:
    plan = plan_model.load(ws)
    base = into or worktrees.base_branch(ws, plan)
    _preflight(ws, base)
    for tid in ids or []:
        plan.task(tid)
    order = [t for wave in schedule.waves(plan) for t in wave]
    chosen = [t for t in order if t.id in ids] if ids else [t for t in order if t.status == "completed"]
    report = MergeReport(base)
    merged_now: set[str] = set()
    for task in chosen:
        if task.meta.get("merged"):
            report.skipped[task.id] = "already merged"
            continue
        if task.status != "completed":
            report.skipped[task.id] = f"not completed ({task.status})"
            continue
        waiting = [d for d in task.dependencies
                   if d not in merged_now and not worktrees.dependency_done(ws, plan.task(d), base)]
        if waiting:
            report.skipped[task.id] = f"waits for {', '.join(waiting)} to be merged first"
            continue
        tip = git.rev(f"refs/heads/{task.branch}", ws.root)
        if not tip:
            report.skipped[task.id] = f"no branch {task.branch}"
            continue
        if _never_committed(ws, task.branch, tip, base):
            reason = f"{task.branch} has no commits of its own: nothing to merge (was the work committed?)"
            tasks.set_status(ws, task.id, "blocked", reason=reason)
            report.blocked[task.id] = reason
            echo(f"{task.id:<24} blocked  {reason}")
            continue
        with locks.lock(ws, "git"):
            failure = _merge_one(ws, task, base, squash, test_cmd)
        if failure:
            tasks.set_status(ws, task.id, "blocked", reason=failure)
            report.blocked[task.id] = failure
            echo(f"{task.id:<24} blocked  {failure}")
            continue
        head = git.rev("HEAD", ws.root)
        tasks.update(ws, task.id, merged=tasks.now(), merge_commit=head)
        merged_now.add(task.id)
        report.merged.append(task.id)
        released = worktrees.release(ws, task.id, use_pool=use_pool)
        deleted = _delete_branch(ws, task.branch, tip, base)
        echo(f"{task.id:<24} merged   into {base} at {head[:10]}; worktree {released}; {deleted}")
    for tid, why in report.skipped.items():
        echo(f"{tid:<24} skipped  {why}")
    echo(f"merge: {len(report.merged)} merged, {len(report.blocked)} blocked, {len(report.skipped)} skipped (into {base})")
    return report


def _never_committed(ws: Workspace, branch: str, tip: str, base: str) -> bool:
    """The branch still points where it was created and that commit is already in base: no work to merge."""
    if not git.is_ancestor(tip, base, ws.root):
        return False
    log = git.run("reflog", "show", "--format=%H", f"refs/heads/{branch}", "--", cwd=ws.root, check=False)
    return not log.ok or len(set(log.stdout.split())) <= 1


def _delete_branch(ws: Workspace, branch: str, tip: str, base: str) -> str:
    """`git branch -d` (never -D); for a squash merge, the integration checks and a compare-and-swap."""
    with locks.lock(ws, "git"):
        if git.run("branch", "-d", branch, cwd=ws.root, check=False).ok:
            return f"branch {branch} deleted: integrated (ancestor)"
        outcome = integration.delete_if_integrated(ws.root, branch, base, expected_sha=tip)
    return f"branch {branch} {outcome}"
