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


def _merge_one(ws: Workspace, task: Task, tip: str, base: str, squash: bool) -> str | None:
    """Merge the commit `tip` of task's branch into base (checked out); the reason it was not merged, or None.

    On any failure the main checkout is put back exactly as it was: `git merge --abort`.
    """
    before = git.rev("HEAD", ws.root)
    message = f"Merge {task.branch}: {task.name}"
    if squash:
        res = git.run("merge", "--squash", tip, cwd=ws.root, check=False)
        if res.ok:
            res = git.run("commit", "-q", "-m", f"{task.name} ({task.id})", cwd=ws.root, check=False)
    else:
        res = git.run("merge", "--no-ff", "--no-edit", "-m", message, tip, cwd=ws.root, check=False)
    if res.ok:
        return None
    files = _conflicts(ws)
    if not git.run("merge", "--abort", cwd=ws.root, check=False).ok:  # --squash leaves no MERGE_HEAD
        git.run("reset", "-q", "--merge", cwd=ws.root, check=False)
    if git.rev("HEAD", ws.root) != before:
        _undo(ws, before, "a failed merge")
    if files:
        return f"merge conflict with {base} in {', '.join(files)}"
    detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
    return f"git merge failed: {detail[-1] if detail else 'exit ' + str(res.returncode)}"


def _undo(ws: Workspace, before: str, what: str) -> None:
    """Move the base back to `before`; --keep refuses rather than overwrite a local change made meanwhile."""
    res = git.run("reset", "-q", "--keep", before, cwd=ws.root, check=False)
    if not res.ok:
        raise CtxError(f"could not undo {what}: {(res.stderr.strip() or 'git reset failed').splitlines()[-1]}",
                       hint=f"the base was at {before} before it; check `git -C {ws.root} status`")


def _test(ws: Workspace, test_cmd: str, before: str) -> str | None:
    """Run the test command on the merged base; when it fails, undo that merge and say why."""
    proc = subprocess.run(test_cmd, shell=True, cwd=ws.root, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return None
    with locks.lock(ws, "git"):
        _undo(ws, before, "the merge whose tests failed")
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return f"tests failed after merging (`{test_cmd}` exited {proc.returncode}); merge undone: " + " | ".join(tail)


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
        before = git.rev("HEAD", ws.root)
        already = integration.integrated(ws.root, tip, base)  # e.g. merged by a run that was killed
        failure = None
        if already is None:
            with locks.lock(ws, "git"):
                failure = _merge_one(ws, task, tip, base, squash)
            if failure is None and test_cmd:
                failure = _test(ws, test_cmd, before)  # outside the lock: tests may take long
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
        how = f"already in {base} ({already})" if already else f"into {base} at {head[:10]}"
        echo(f"{task.id:<24} merged   {how}; worktree {released}; {deleted}")
    for tid, why in report.skipped.items():
        echo(f"{tid:<24} skipped  {why}")
    echo(f"merge: {len(report.merged)} merged, {len(report.blocked)} blocked, {len(report.skipped)} skipped (into {base})")
    for tid in report.blocked:
        echo(f"to retry {tid}: in worktrees/{tid} run `git merge {base}`, fix and commit, "
             f"then `ctx task complete {tid}` and `ctx merge {tid}`")
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
