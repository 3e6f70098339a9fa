"""ctx task start|complete|block: frontmatter-only, atomic, locked updates of the main checkout's copy."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import yaml

from helpers import ctx, write_plan

BODY = "## Objective\nKeep   these bytes\t exactly.\n\n---\n\nA rule above; trailing spaces   \n"


def front(repo, tid):
    return yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])


def body(repo, tid):
    text = (repo / f".parallel/plans/tasks/{tid}.md").read_text()
    return text.split("\n---", 2)[2]


def test_lifecycle_stamps_and_keeps_body(repo):
    write_plan(repo, [{"id": "a", "body": BODY}])
    before = body(repo, "a")
    assert ctx(repo, "task", "start", "a").returncode == 0
    meta = front(repo, "a")
    assert meta["status"] == "in_progress" and "started" in meta and "updated" in meta
    assert ctx(repo, "task", "block", "a", "--reason", "pytest: 2 failed\nAssertionError").returncode == 0
    assert front(repo, "a")["reason"] == "pytest: 2 failed\nAssertionError"
    assert ctx(repo, "task", "complete", "a").returncode == 0
    meta = front(repo, "a")
    assert meta["status"] == "completed" and "completed" in meta and "reason" not in meta
    assert body(repo, "a") == before
    assert not list((repo / ".parallel").rglob("*.bak")) and not list((repo / ".parallel").rglob("*.tmp"))


def test_illegal_moves_and_unknown_ids(repo):
    write_plan(repo, [{"id": "a", "status": "completed"}])
    proc = ctx(repo, "task", "start", "a")
    assert proc.returncode == 2 and "is completed" in proc.stderr and "--force" in proc.stderr
    assert front(repo, "a")["status"] == "completed"
    assert ctx(repo, "task", "start", "a", "--force").returncode == 0
    proc = ctx(repo, "task", "complete", "nope")
    assert proc.returncode == 2 and "no task with id 'nope'" in proc.stderr
    assert ctx(repo, "task", "block", "a").returncode == 2  # --reason is required


def test_updates_from_a_worktree_land_in_the_main_checkout(repo):
    write_plan(repo, [{"id": "a"}])
    wt = repo / "worktrees" / "a"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "feature/a", str(wt)], cwd=repo, check=True)
    (wt / "sub").mkdir()
    assert ctx(wt / "sub", "task", "complete", "a").returncode == 0
    assert front(repo, "a")["status"] == "completed"
    assert not (wt / ".parallel").exists()


def test_fifty_concurrent_writers_lose_no_update(repo):
    ids = [f"t{n:02d}" for n in range(25)]
    write_plan(repo, [{"id": i, "body": BODY} for i in ids])
    script = ("import sys; from ctx.workspace import Workspace; from ctx import tasks;"
              "ws = Workspace.find(); tid, n = sys.argv[1], sys.argv[2];"
              "tasks.update(ws, tid, **{'writer_' + n: True})")
    expected = body(repo, ids[0])
    jobs = [(tid, str(k)) for tid in ids for k in range(2)]  # 50 processes, two per task file

    def run(job):
        return subprocess.run([sys.executable, "-c", script, *job], cwd=repo, capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(run, jobs))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    for tid in ids:
        meta = front(repo, tid)
        assert meta.get("writer_0") and meta.get("writer_1"), (tid, meta)
        assert body(repo, tid) == expected
