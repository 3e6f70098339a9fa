"""ctx cleanup never drops a commit, archives the plan only when nothing was kept, and says what remains."""

from __future__ import annotations

import json
import subprocess
import sys

from ctx import processes
from helpers import ctx, finish, git, write_plan




def test_plan_is_archived_only_after_every_removal_succeeded(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    finish(repo, "b")
    git(repo, "merge", "-q", "--no-ff", "-m", "a and b by hand", "feature/a", "feature/b")
    git(repo, "worktree", "lock", "--reason", "on a removable disk", str(repo / "worktrees/b"))
    for args in ([], ["--force"]):
        proc = ctx(repo, "cleanup", *args)
        assert proc.returncode == 0, proc.stderr
        assert "plan not archived: something above could not be removed" in proc.stdout
        assert (repo / ".parallel/plans/plan.yaml").exists() and (repo / "worktrees/b").is_dir()
    git(repo, "worktree", "unlock", str(repo / "worktrees/b"))
    proc = ctx(repo, "cleanup", "--json")
    out = json.loads(proc.stdout)
    assert out["archived_to"].startswith(".parallel/archive/") and not (repo / "worktrees/b").exists()
    status = ctx(repo, "status")
    assert status.returncode == 2 and f"archived to {out['archived_to']}" in status.stderr


def test_force_refuses_while_a_run_is_live(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    (repo / "worktrees/a/wip.py").write_text("an agent's work in progress\n")
    agent = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        start = processes.start_time(agent.pid)
        (repo / ".parallel/run.json").write_text(json.dumps(
            {"pid": agent.pid, "start": start, "since": "2026-11-25T01:00:00Z", "command": "ctx run"}))
        proc = ctx(repo, "cleanup", "--force")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert f"ctx run pid {agent.pid} (since 2026-11-25T01:00:00Z) is still running" in proc.stderr
        assert (repo / "worktrees/a/wip.py").exists()
        # the same pid with another start time is a reused pid, not the run: cleanup goes ahead
        (repo / ".parallel/run.json").write_text(json.dumps(
            {"pid": agent.pid, "start": start - 1, "since": "2026-11-25T01:00:00Z", "command": "ctx run"}))
        proc = ctx(repo, "cleanup", "--force")
        assert proc.returncode == 0, proc.stderr
        assert not (repo / "worktrees/a").exists()
    finally:
        agent.communicate("")


def test_a_stale_lock_record_is_named_then_removed(repo):
    write_plan(repo, [{"id": "a"}])
    dead = subprocess.Popen(["true"])
    dead.wait()
    locks = repo / ".parallel/locks"
    locks.mkdir(parents=True)
    (locks / "merge.lock").write_text("")
    (locks / "merge.holder.json").write_text(json.dumps(
        {"pid": dead.pid, "command": "ctx merge --all", "since": "2026-11-25T00:10:00Z"}))
    doctor = ctx(repo, "doctor")
    assert f"stale: merge (left by pid {dead.pid} (`ctx merge --all`, since 2026-11-25T00:10:00Z)" in doctor.stdout
    proc = ctx(repo, "cleanup")
    assert "stale lock record" in proc.stdout and not (locks / "merge.holder.json").exists()


def test_cleanup_says_what_the_pool_holds_and_never_drops_an_unreachable_head(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    (repo / ".parallel/config.yaml").write_text("pool_size: 2\n")
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    finish(repo, "b")
    ctx(repo, "merge", check=True)
    slots = sorted(p.name for p in (repo / "worktrees/.pool").iterdir())
    assert len(slots) == 2
    proc = ctx(repo, "cleanup")
    assert "pool: 2 parked worktrees kept for reuse" in proc.stdout and "ctx cleanup --drop-pool" in proc.stdout
    stray = repo / "worktrees/.pool" / slots[0]
    (stray / "stray.py").write_text("committed on a detached HEAD\n")
    git(stray, "add", "-A")
    git(stray, "commit", "-qm", "work that only this parked worktree holds")
    lost = git(stray, "rev-parse", "HEAD")
    proc = ctx(repo, "cleanup", "--drop-pool", "--json")
    result = {a["target"]: a for a in json.loads(proc.stdout)["actions"]}
    assert result[f"worktrees/.pool/{slots[0]}"]["outcome"] == "retained"
    assert result[f"worktrees/.pool/{slots[1]}"]["outcome"] == "removed"
    assert git(stray, "rev-parse", "HEAD") == lost


def test_a_cleanup_killed_while_removing_is_finished_by_the_next(repo):
    write_plan(repo, [{"id": "a"}])
    (repo / ".parallel/config.yaml").write_text("pool_size: 1\n")
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    ctx(repo, "merge", check=True)
    killed = ctx(repo, "cleanup", "--drop-pool", env={"CTX_FAULT": "cleanup:removing"})
    assert killed.returncode == -9 and (repo / ".parallel/journal/cleanup.json").exists()
    (repo / "worktrees/.pool/0/app.py").unlink()  # as far as `git worktree remove` got before the kill
    assert "cleanup stopped while removing" in ctx(repo, "doctor").stdout
    proc = ctx(repo, "cleanup")
    assert proc.returncode == 0 and "finishing a removal a killed cleanup began" in proc.stdout
    assert not (repo / ".parallel/journal/cleanup.json").exists()
    assert not list((repo / "worktrees/.pool").glob("*")) and (repo / ".parallel/plans").exists() is False


def test_a_cleanup_killed_while_archiving_archives_the_plan_with_its_logs_next_time(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    logs = repo / ".parallel/logs"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text(json.dumps({"type": "assistant", "message": {
        "id": "m1", "model": "claude-haiku-4-5", "content": [], "usage": {"input_tokens": 7, "output_tokens": 3}}}) + "\n")
    finish(repo, "a")
    ctx(repo, "merge", check=True)
    killed = ctx(repo, "cleanup", env={"CTX_FAULT": "cleanup:archiving"})
    assert killed.returncode == -9
    assert json.loads(ctx(repo, "report", "--json").stdout)["total"]["total_tokens"] == 10
    proc = ctx(repo, "cleanup", "--json")
    archived = repo / json.loads(proc.stdout)["archived_to"]
    assert (archived / "plan.yaml").exists() and (archived / "logs/a.log").exists() and not logs.exists()
    assert json.loads(ctx(repo, "report", "--json").stdout)["total"]["total_tokens"] == 10
