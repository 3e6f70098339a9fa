"""Bringing completed tasks back into the base branch, in dependency order, only ever to a tested state.

Each task is merged in a private integration worktree (detached at the base's tip), tested there
(`--test CMD`, then the task's own `test:`), and only then does the base move, with a compare-and-swap
`git update-ref refs/heads/<base> <new> <old>`. A main checkout on the base is brought along with
`git read-tree -m -u <old> <new>`, which refuses rather than overwrite an uncommitted change; the base
then goes back to <old>. One merger per repository (the "merge" lock, held across merge, test and
advance). Every step is written to the journal first, so a killed merge is finished or rolled back
by the next `ctx merge` (see recover()).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import git, integration, oplog, locks, plan as plan_model, registry, schedule, tasks, worktrees
from .errors import CtxError, data_error
from .plan import Task
from .workspace import Workspace

Echo = Callable[[str], None]
Merged = Callable[[str, str], None]  # (task id, new base tip): merged, recorded, its worktree released
WAIT = 600.0  # seconds a second merger waits for the first one
TAIL = 5  # lines of a failing test's output kept in the reason


@dataclass
class MergeReport:
    base: str
    merged: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # task id -> conflicted files
    recovered: list[str] = field(default_factory=list)  # what an interrupted merge left and what was done

    def to_json(self) -> dict:
        return {"base": self.base, "merged": self.merged, "blocked": self.blocked, "skipped": self.skipped,
                "conflicts": self.conflicts, "recovered": self.recovered}


@dataclass
class Outcome:
    """One attempt at one task: the tested commit, or why not."""

    commit: str | None = None
    tree: str | None = None  # the merged commit's tree
    reason: str | None = None
    conflicts: list[str] = field(default_factory=list)
    test_failed: bool = False
    retry: bool = False  # the base moved meanwhile: merge again on top of it
    keep_task: bool = False  # not the task's fault (the user's checkout refused): do not block it
    already: str | None = None  # the task's work is in the base already: the check that says so


def _preflight(ws: Workspace, base: str) -> None:
    if git.rev(f"refs/heads/{base}", ws.root) is None:
        raise data_error(f"no branch {base} to merge into", hint="pass --into an existing branch, or create it first")
    main = Path(os.path.realpath(ws.root))
    for path, reg in registry.by_path(ws.root).items():
        if reg.branch == base and path != main:
            raise CtxError(f"{base} is checked out in {path}; ctx merge moves {base} and would leave that "
                           f"checkout behind", hint=f"check out another branch there: git -C {path} switch --detach")


def integration_path(ws: Workspace) -> Path:
    return ws.git_dir() / "ctx" / "integration"


def _admin_of(path: Path) -> Path | None:
    """The integration worktree's folder under .git/worktrees/, when both sides still name each other.

    Read from the files git keeps (the worktree's `.git` file and the admin folder's `gitdir`), which
    is what `git worktree list` reports, without starting a git process on every merge.
    """
    try:
        line = (path / ".git").read_text().strip()
    except OSError:
        return None
    if not line.startswith("gitdir: "):
        return None
    admin = Path(line[len("gitdir: "):])
    admin = admin if admin.is_absolute() else path / admin
    try:
        back = (admin / "gitdir").read_text().strip()
    except OSError:
        return None
    if Path(os.path.realpath(Path(back).parent)) != Path(os.path.realpath(path)):
        return None
    return admin if (admin / "HEAD").is_file() else None


def _integration_tree(ws: Workspace, at: str) -> Path:
    """The private integration worktree, detached and clean at `at`; recreated when it is damaged.

    Kept between merges and moved with one `reset --hard`, which rewrites only what differs. Only the
    merge lock's holder uses it, so an index.lock or MERGE_HEAD found there was left by a killed
    process and is removed (the reset drops a merge in progress).
    """
    path = integration_path(ws)
    admin = _admin_of(path)
    usable = admin is not None
    if admin is not None:
        (admin / "index.lock").unlink(missing_ok=True)
        usable = git.run("reset", "-q", "--hard", at, cwd=path, check=False).ok
    if not usable:
        with locks.lock(ws, "git"):
            git.run("worktree", "unlock", str(path), cwd=ws.root, check=False)  # a killed `worktree add`
            if path.exists():
                shutil.rmtree(path)
            git.run("worktree", "prune", cwd=ws.root)
            git.run(*worktrees.parallel_checkout(ws), "worktree", "add", "-q", "--detach", "--force", str(path), at,
                    cwd=ws.root, retries=3)
        admin = _admin_of(path)
    try:
        on_branch = admin is None or (admin / "HEAD").read_text().startswith("ref:")
    except OSError:
        on_branch = True
    if on_branch:
        git.run("checkout", "-q", "--detach", at, cwd=path)
    git.run("clean", "-q", "-fd", cwd=path)  # ignored build output stays warm for the next test
    return path


def _message(task: Task, squash: bool) -> str:
    return f"{task.name} ({task.id})" if squash else f"Merge {task.branch}: {task.name}"


def _merge_in(where: Path, task: Task, tip: str, squash: bool) -> Outcome:
    if squash:
        res = git.run("merge", "--squash", tip, cwd=where, check=False)
        if res.ok:
            res = git.run("commit", "-q", "--allow-empty", "-m", _message(task, squash), cwd=where, check=False)
    else:
        res = git.run("merge", "--no-ff", "--no-edit", "-m", _message(task, squash), tip, cwd=where, check=False)
    if res.ok:
        made = git.run("rev-parse", "HEAD", "HEAD^{tree}", cwd=where).stdout.split()
        return Outcome(commit=made[0], tree=made[1])
    files = git.zsplit(git.run("diff", "--name-only", "-z", "--diff-filter=U", cwd=where, check=False).stdout)
    git.run("merge", "--abort", cwd=where, check=False)
    if files:
        return Outcome(conflicts=files)
    detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
    return Outcome(reason=f"git merge failed: {detail[-1] if detail else 'exit ' + str(res.returncode)}")


def _merge_in_memory(ws: Workspace, task: Task, old: str, tip: str, squash: bool) -> Outcome | None:
    """The same merge without a checkout (`git merge-tree --write-tree`, then `git commit-tree`), for a
    merge with no test to run: no file is written. None when this git cannot (older than 2.38)."""
    res = git.run("merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", old, tip, cwd=ws.root, check=False)
    if res.returncode not in (0, 1):
        return None
    tree, *files = git.zsplit(res.stdout) or [""]
    if res.returncode == 1:
        return Outcome(conflicts=list(dict.fromkeys(files))) if files else None
    parents = ["-p", old] if squash else ["-p", old, "-p", tip]
    made = git.run("commit-tree", tree, *parents, "-m", _message(task, squash), cwd=ws.root, check=False)
    return Outcome(commit=made.out, tree=tree) if made.ok and made.out else None


def _commands(task: Task, test_cmd: str | None) -> list[str]:
    own = task.meta.get("test")
    return [c for c in (test_cmd, str(own).strip() if own else None) if c]


def _death_guard() -> Callable[[], None] | None:
    """Linux, single-threaded: a preexec_fn after which the test's shell gets SIGKILL when ctx dies, so
    no orphan keeps testing a worktree that moved on. Loaded here, before the fork (and only by a merge
    that tests): nothing may be imported between fork and exec."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return None
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def die_with_parent() -> None:
        try:
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    return die_with_parent


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _test(where: Path, commands: list[str], task: Task, started: Callable[[int], None]) -> str | None:
    """Run each test command in the integration worktree; why the first failing one failed, or None.

    Each runs in its own process group, recorded through `started` so that a later ctx can stop
    what a killed one left running; in a single-threaded ctx on Linux its shell also dies with ctx
    (a parent-death signal is not safe to set up while other threads run).
    """
    env = dict(os.environ, CTX_TASK_ID=task.id)
    env.pop(oplog.FAULT_ENV, None)
    guard = _death_guard()
    for command in commands:
        proc = subprocess.Popen(command, shell=True, cwd=where, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True, preexec_fn=guard)
        try:
            started(proc.pid)
            output, _ = proc.communicate()
        except BaseException:  # Ctrl-C or an error here: the tests do not outlive the merge
            _kill_group(proc.pid)
            proc.wait()
            raise
        _kill_group(proc.pid)  # anything the test left running in the background
        if proc.returncode != 0:
            tail = output.strip().splitlines()[-TAIL:]
            return (f"tests failed on the merged result (`{command}` exited {proc.returncode}); base not moved"
                    + (": " + " | ".join(tail) if tail else ""))
    return None


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group pgid (Linux /proc), zombies left out."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[0] != "Z" and fields[2] == str(pgid):
            found.append(int(stat.parent.name))
    return found


def _stop_orphan_test(ws: Workspace, pgid: object) -> None:
    """Kill the process group a killed merge's test left, if it still runs in the integration worktree."""
    if not isinstance(pgid, int) or sys.platform != "linux":
        return
    where = Path(os.path.realpath(integration_path(ws)))
    for pid in _group_members(pgid):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if cwd == where or where in cwd.parents:
            _kill_group(pgid)
            return


def _on_base(ws: Workspace, base: str) -> bool:
    """Is the main checkout on the base branch?"""
    return ws.branch() == base


def _bring_checkout(ws: Workspace, old: str, new: str) -> str | None:
    """Move the main checkout's index and files from old to new; why not (nothing changed then), or None.

    read-tree checks every path before it writes any; when it refuses, the index's stat data may only
    be out of date (a file touched, not changed), so it is refreshed and read-tree tries once more."""
    res = git.run("read-tree", "-m", "-u", old, new, cwd=ws.root, check=False)
    if not res.ok:
        git.run("update-index", "-q", "--refresh", cwd=ws.root, check=False)
        res = git.run("read-tree", "-m", "-u", old, new, cwd=ws.root, check=False)
    if res.ok:
        return None
    lines = [line.strip() for line in res.stderr.splitlines() if line.strip()]
    files = list(dict.fromkeys(re.findall(r"'([^']+)'", res.stderr)))
    return ("the main checkout has uncommitted changes this merge would overwrite"
            + (f" ({', '.join(files[:3])})" if files else f": {lines[-1] if lines else 'git read-tree failed'}"))


def _advance(ws: Workspace, base: str, old: str, new: str, task_id: str) -> Outcome:
    """Compare-and-swap the base from old to new, then bring a main checkout on the base along."""
    oplog.write(ws, "merge", "advancing", task=task_id, base=base, old=old, new=new)
    oplog.fault("merge:advancing")
    if not git.run("update-ref", "-m", f"ctx merge {task_id}", f"refs/heads/{base}", new, old,
                   cwd=ws.root, check=False).ok:
        lock = ws.git_dir() / "refs" / "heads" / f"{base}.lock"
        if lock.exists():
            return Outcome(reason=f"{base} is locked ({lock} exists: a git command is running, or one was killed "
                                  f"and left it; if none is running, remove it)", keep_task=True)
        return Outcome(retry=True)
    oplog.fault("merge:advanced")
    if _on_base(ws, base):
        refused = _bring_checkout(ws, old, new)
        if refused:
            git.run("update-ref", "-m", f"ctx merge {task_id}: roll back", f"refs/heads/{base}", old, new,
                    cwd=ws.root, check=False)
            return Outcome(reason=refused + f"; {base} left at {old[:10]}", keep_task=True)
    oplog.fault("merge:checkout")
    return Outcome(commit=new)


def _record(ws: Workspace, task_id: str, commit: str) -> None:
    """Record the task as merged; the journal then says its worktree and branch are to be released."""
    oplog.write(ws, "merge", "advanced", task=task_id, new=commit)
    tasks.update(ws, task_id, merged=tasks.now(), merge_commit=commit)
    oplog.fault("merge:recorded")
    oplog.write(ws, "merge", "releasing", task=task_id)


def _finish(ws: Workspace, task_id: str, base: str, tip: str | None, use_pool: bool = True) -> tuple[str, str]:
    """Release a merged task's worktree and delete its branch, then close the journal entry (which
    _record left at "releasing")."""
    released = worktrees.release(ws, task_id, use_pool=use_pool)
    oplog.fault("merge:released")
    branch = f"feature/{task_id}"
    tip = tip or git.rev(f"refs/heads/{branch}", ws.root)
    deleted = _delete_branch(ws, branch, tip, base) if tip else f"branch {branch} already gone"
    oplog.clear(ws, "merge")
    return released, deleted


def _in_use(path: Path) -> bool:
    """Does any process work inside path (Linux /proc)? Elsewhere: assume so, and touch nothing."""
    if sys.platform != "linux":
        return True
    real = Path(os.path.realpath(path))
    for link in Path("/proc").glob("[0-9]*/cwd"):
        try:
            cwd = Path(os.readlink(link))
        except OSError:
            continue
        if cwd == real or real in cwd.parents:
            return True
    return False


def _git_running(ws: Workspace) -> bool:
    """Is a git process working in this repository (Linux /proc)? Elsewhere: assume so."""
    if sys.platform != "linux":
        return True
    root = Path(os.path.realpath(ws.root))
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "git":
                continue
            cwd = Path(os.readlink(comm.parent / "cwd"))
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            return True
    return False


def _clear_stale_git_locks(ws: Workspace, base: str) -> list[str]:
    """The lock files a git killed while moving the base or the checkout leaves (refs/heads/<base>.lock,
    index.lock), removed once no git works in this repository: a git that is still going, as when ctx
    alone was killed, is given a few seconds to finish first."""
    for _ in range(100):
        if not _git_running(ws):
            break
        time.sleep(0.05)
    else:
        return []
    common = ws.git_dir()
    removed = []
    for lock in (common / "refs" / "heads" / f"{base}.lock", common / "index.lock", common / "HEAD.lock"):
        if lock.exists():
            lock.unlink(missing_ok=True)
            removed.append(lock.name)
    return removed


def _unlock_released(ws: Workspace, task_id: str) -> None:
    """Remove the index.lock a git killed while releasing this task's worktree left behind (parked or not)."""
    places = [ws.worktree(task_id), *sorted(ws.pool.glob("*"))] if ws.pool.is_dir() else [ws.worktree(task_id)]
    for path in places:
        admin = registry.admin_dir(ws.root, path) if path.is_dir() else None
        if admin is not None and (admin / "index.lock").exists() and not _in_use(path):
            (admin / "index.lock").unlink(missing_ok=True)


def _checkout_at(ws: Workspace, commit: str, old: str) -> bool:
    """Does the main checkout's index already hold `commit` for every path that differs from `old`?"""
    changed = git.zsplit(git.run("diff", "--name-only", "-z", old, commit, cwd=ws.root, check=False).stdout)
    return not changed or git.run("diff", "--cached", "--quiet", commit, "--", *changed, cwd=ws.root,
                                  check=False).ok


def recover(ws: Workspace, echo: Echo = print) -> list[str]:
    """Finish or roll back a merge a killed process left in the oplog. Caller holds the merge lock."""
    entry = oplog.read(ws, "merge")
    if entry is None:
        return []
    data, done = entry.data, []
    tid = str(data.get("task", "?"))
    base_now = str(data.get("base") or "")
    if entry.step == "advancing":
        base, old, new = str(data["base"]), str(data["old"]), str(data["new"])
        stale = _clear_stale_git_locks(ws, base)
        if stale:
            done.append(f"{tid}: removed {', '.join(stale)} left by a git killed while moving {base}")
        current = git.rev(f"refs/heads/{base}", ws.root)
        if current == old:  # killed before the compare-and-swap: new was tested, finish the advance
            outcome = _advance(ws, base, old, new, tid)
            if outcome.commit:
                _record(ws, tid, new)
                done.append(f"{tid}: finished an interrupted advance of {base} to its tested merge {new[:10]}")
            else:
                oplog.clear(ws, "merge")
                done.append(f"{tid}: rolled back an interrupted advance ({outcome.reason or base + ' moved'})")
        elif current == new:  # killed after the compare-and-swap: the checkout may still hold old
            refused = None
            if _on_base(ws, base) and not _checkout_at(ws, new, old):
                refused = _bring_checkout(ws, old, new)
            if refused:
                git.run("update-ref", f"refs/heads/{base}", old, new, cwd=ws.root, check=False)
                oplog.clear(ws, "merge")
                done.append(f"{tid}: rolled {base} back to {old[:10]}: {refused}")
            else:
                _record(ws, tid, new)
                done.append(f"{tid}: finished an interrupted advance of {base} to {new[:10]}")
        elif current and git.is_ancestor(new, current, ws.root):
            _record(ws, tid, new)
            done.append(f"{tid}: recorded as merged ({new[:10]} is in {base})")
        else:
            oplog.clear(ws, "merge")
            done.append(f"{tid}: dropped an interrupted merge: {base} moved elsewhere meanwhile")
    elif entry.step == "advanced":
        _record(ws, tid, str(data["new"]))
        done.append(f"{tid}: recorded an interrupted merge as merged ({str(data['new'])[:10]})")
    elif entry.step == "releasing":
        done.append(f"{tid}: finished releasing its worktree and branch after a kill")
    else:  # merging, testing or unreadable: the base never moved; the integration worktree is reset on use
        _stop_orphan_test(ws, data.get("test_pgid"))
        oplog.clear(ws, "merge")
        done.append(f"{tid}: rolled back a merge interrupted while {entry.step}; the base was not moved")
    after = oplog.read(ws, "merge")
    if after is not None and after.step == "releasing":
        _unlock_released(ws, tid)
        _finish(ws, tid, base_now or _plan_base(ws), None)
    for line in done:
        echo(f"recovered: {line}")
    return done


def recover_interrupted(ws: Workspace, echo: Echo = print, wait: float = WAIT) -> list[str]:
    """Finish or roll back a merge a killed process left, if any (under the merge lock): before a
    command looks at the base or the checkout, which a merge killed half-way leaves out of step."""
    if oplog.read(ws, "merge") is None:
        return []
    with locks.lock(ws, "merge", timeout=wait, record=True):
        return recover(ws, echo)


def _plan_base(ws: Workspace) -> str:
    return worktrees.base_branch(ws, plan_model.load(ws, check=False))


def _tips(ws: Workspace, branch: str, base: str) -> tuple[str, str, str] | None:
    """(the branch's tip, the base's tip, the base's tree), in one git call; None when the branch is gone
    (the base was checked before)."""
    res = git.run("rev-parse", f"refs/heads/{branch}", f"refs/heads/{base}", f"refs/heads/{base}^{{tree}}",
                  cwd=ws.root, check=False)
    found = res.stdout.split()
    return (found[0], found[1], found[2]) if res.ok and len(found) == 3 else None


def _base_tip(ws: Workspace, base: str) -> tuple[str, str]:
    """(the base's tip, its tree), read again when the base moved during a merge."""
    old, tree = git.run("rev-parse", f"refs/heads/{base}", f"refs/heads/{base}^{{tree}}", cwd=ws.root).stdout.split()
    return old, tree


def _attempt(ws: Workspace, task: Task, tip: str, base: str, squash: bool, commands: list[str],
             first: tuple[str, str]) -> Outcome:
    """Merge, test and advance; `first`: the base's tip and tree as just read (read again on a retry)."""
    for attempt in range(3):
        old, old_tree = first if attempt == 0 else _base_tip(ws, base)
        oplog.write(ws, "merge", "merging", task=task.id, base=base, old=old, tip=tip)
        oplog.fault("merge:merging")
        merged = None if commands else _merge_in_memory(ws, task, old, tip, squash)
        if merged is None:  # a test needs the merged files (or this git has no merge-tree --write-tree)
            merged = _merge_in(_integration_tree(ws, old), task, tip, squash)
        # already in the base (merged by hand, squashed, reverted): the merge adds nothing; cherry-picked,
        # then changed on both sides: the conflict is with the task's own commits
        already = "merge adds nothing" if merged.tree == old_tree else \
            "patch-id match" if merged.conflicts and integration.patch_ids_match(ws.root, tip, old) else None
        if already:
            oplog.clear(ws, "merge")
            return Outcome(already=already)
        if merged.commit is None:
            oplog.clear(ws, "merge")
            return merged
        testing = dict(task=task.id, base=base, old=old, new=merged.commit)
        oplog.write(ws, "merge", "testing", **testing)
        oplog.fault("merge:testing")

        def started(pid: int) -> None:
            oplog.write(ws, "merge", "testing", **testing, test_pgid=pid)
            oplog.fault("merge:test-started")

        failure = _test(integration_path(ws), commands, task, started) if commands else None
        if failure:
            oplog.clear(ws, "merge")
            return Outcome(reason=failure, test_failed=True)
        oplog.fault("merge:tested")
        advanced = _advance(ws, base, old, merged.commit, task.id)
        if not advanced.retry:
            if advanced.commit is None:
                oplog.clear(ws, "merge")
            return advanced
    oplog.clear(ws, "merge")
    return Outcome(reason=f"{base} kept moving while the merge was tested; run ctx merge again", keep_task=True)


def merge(ws: Workspace, ids: list[str] | None = None, *, into: str | None = None, squash: bool = False,
          test_cmd: str | None = None, use_pool: bool = True, echo: Echo = print,
          wait: float = WAIT, on_merged: Merged | None = None) -> MergeReport:
    """Merge the chosen completed tasks. `on_merged` is told of each one as soon as it is merged and its
    worktree is parked, before the next task's merge: a dependent can start at once, in that worktree."""
    plan = plan_model.load(ws)
    base = into or worktrees.base_branch(ws, plan)
    for tid in ids or []:
        plan.task(tid)
    with locks.lock(ws, "merge", timeout=wait, record=True):
        _preflight(ws, base)
        recovered = recover(ws, echo)
        if recovered:
            plan = plan_model.load(ws)
        report = _merge_all(ws, plan, ids, base, squash, test_cmd, use_pool, echo, on_merged)
        report.recovered = recovered
    return report


def _merge_all(ws, plan, ids, base, squash, test_cmd, use_pool, echo, on_merged=None) -> MergeReport:
    order = [t for wave in schedule.waves(plan) for t in wave]
    chosen = [t for t in order if t.id in ids] if ids else [t for t in order if t.status == "completed"]
    report = MergeReport(base)
    merged_now: set[str] = set()
    tested: set[str] = set()
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
        tips = _tips(ws, task.branch, base)
        if tips is None:
            report.skipped[task.id] = f"no branch {task.branch}"
            continue
        tip = tips[0]
        outcome = _attempt(ws, task, tip, base, squash, _commands(task, test_cmd), tips[1:])
        already = outcome.already
        if already and git.is_ancestor(tip, base, ws.root):  # e.g. merged by hand before
            if _never_moved(ws, task.branch):
                reason = f"{task.branch} has no commits of its own: nothing to merge (was the work committed?)"
                _block(ws, report, task.id, reason, echo)
                continue
            already = "ancestor"
        if already is None:
            if outcome.conflicts:
                report.conflicts[task.id] = outcome.conflicts
                _block(ws, report, task.id, f"merge conflict with {base} in {', '.join(outcome.conflicts)}", echo)
                continue
            if outcome.keep_task:
                report.skipped[task.id] = outcome.reason or "not merged"
                continue
            if outcome.commit is None:
                if outcome.test_failed:
                    tested.add(task.id)
                _block(ws, report, task.id, outcome.reason or "not merged", echo)
                continue
            head = outcome.commit
        else:
            head = git.rev(f"refs/heads/{base}", ws.root)
        _record(ws, task.id, head)
        merged_now.add(task.id)
        report.merged.append(task.id)
        released, deleted = _finish(ws, task.id, base, tip, use_pool)
        if on_merged is not None:
            on_merged(task.id, head)
        how = f"already in {base} ({already})" if already else f"into {base} at {head[:10]}"
        echo(f"{task.id:<24} merged   {how}; worktree {released}; {deleted}")
    for tid, why in report.skipped.items():
        echo(f"{tid:<24} skipped  {why}")
    echo(f"merge: {len(report.merged)} merged, {len(report.blocked)} blocked, {len(report.skipped)} skipped (into {base})")
    for tid in report.blocked:
        if tid in report.conflicts:
            echo(f"to retry {tid}: in worktrees/{tid} run `git merge {base}`, fix and commit, "
                 f"then `ctx task complete {tid}` and `ctx merge {tid}` (or `ctx task retry {tid}` for an agent)")
        elif tid in tested:
            echo(f"to retry {tid}: the tests failed on {tid} merged into {base}; make them pass in worktrees/{tid}, "
                 f"commit, then `ctx task complete {tid}` and `ctx merge {tid}` (or `ctx task retry {tid}` for an agent)")
        else:
            echo(f"to retry {tid}: fix what the reason says, then `ctx task retry {tid}`")
    return report


def _block(ws: Workspace, report: MergeReport, task_id: str, reason: str, echo: Echo) -> None:
    tasks.set_status(ws, task_id, "blocked", reason=reason)
    report.blocked[task_id] = reason
    echo(f"{task_id:<24} blocked  {reason}")


def never_committed(ws: Workspace, branch: str, tip: str, base: str) -> bool:
    """The branch still points where it was created and that commit is already in base: no work to merge."""
    return git.is_ancestor(tip, base, ws.root) and _never_moved(ws, branch)


def _never_moved(ws: Workspace, branch: str) -> bool:
    log = git.run("reflog", "show", "--format=%H", f"refs/heads/{branch}", "--", cwd=ws.root, check=False)
    return not log.ok or len(set(log.stdout.split())) <= 1


def _delete_branch(ws: Workspace, branch: str, tip: str, base: str) -> str:
    """`git branch -d` (never -D); for a squash merge, the integration checks and a compare-and-swap."""
    with locks.lock(ws, "git"):
        if git.run("branch", "-d", branch, cwd=ws.root, check=False).ok:
            return f"branch {branch} deleted: integrated (ancestor)"
        outcome = integration.delete_if_integrated(ws.root, branch, base, expected_sha=tip)
    return f"branch {branch} {outcome}"
