"""ctx cleanup: removes what merged tasks left, keeps anything that would lose work."""

from __future__ import annotations

import json

from helpers import ctx, finish, git, write_plan




def outcomes(proc):
    return {a["target"]: (a["outcome"], a["reason"]) for a in json.loads(proc.stdout)["actions"]}


def test_keeps_unmerged_commits_and_uncommitted_changes(repo):
    write_plan(repo, [{"id": "merged"}, {"id": "unmerged"}, {"id": "dirty"}])
    ctx(repo, "setup", check=True)
    finish(repo, "merged")
    ctx(repo, "merge", "merged", check=True)
    finish(repo, "unmerged")
    (repo / "worktrees/dirty/wip.py").write_text("work in progress\n")
    before = {b: git(repo, "rev-parse", f"feature/{b}") for b in ("unmerged", "dirty")}
    dry = ctx(repo, "cleanup", "--dry-run", "--json")
    plan_before = (repo / ".parallel/plans/plan.yaml").read_text()
    proc = ctx(repo, "cleanup", "--json")
    result = outcomes(proc)
    assert result["feature/unmerged"] == ("retained", "unmerged commits (1 not in main)")
    assert result["worktrees/unmerged"] == ("retained", "task completed, not merged yet")
    assert result["worktrees/dirty"] == ("retained", "uncommitted changes")
    assert result["feature/dirty"][0] == "retained"
    assert (repo / "worktrees/dirty/wip.py").read_text() == "work in progress\n"
    assert {b: git(repo, "rev-parse", f"feature/{b}") for b in before} == before
    assert (repo / ".parallel/plans/plan.yaml").read_text() == plan_before  # not archived: work remains
    assert {k: v[0] for k, v in outcomes(dry).items()} == {k: v[0] for k, v in result.items()}


def test_dry_run_changes_nothing(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge a by hand", "feature/a")
    refs, wts = git(repo, "for-each-ref"), git(repo, "worktree", "list")
    proc = ctx(repo, "cleanup", "--dry-run")
    assert "would be deleted feature/a: integrated (ancestor)" in proc.stdout
    assert git(repo, "for-each-ref") == refs and git(repo, "worktree", "list") == wts
    assert (repo / ".parallel/plans/plan.yaml").exists()


def test_squash_merged_branch_is_recognised_and_plan_archived(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    finish(repo, "a", {"a.py": "a\n", "b.py": "b\n"})
    git(repo, "merge", "-q", "--squash", "feature/a")
    git(repo, "commit", "-qm", "squashed a on the hosting site")
    proc = ctx(repo, "cleanup", "--json")
    result = outcomes(proc)
    assert result["feature/a"][0] == "deleted" and "trees match" in result["feature/a"][1]
    assert "feature/a" not in git(repo, "branch", "--list")
    assert not (repo / "worktrees/a").exists()
    assert not (repo / ".parallel/plans").exists()
    assert len(list((repo / ".parallel/archive").glob("*/plan.yaml"))) == 1


def test_force_drops_what_it_was_told_to(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    (repo / "worktrees/a/wip.py").write_text("x\n")
    proc = ctx(repo, "cleanup", "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (repo / "worktrees/a").exists()


def test_prunes_stale_registrations(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    import shutil
    shutil.rmtree(repo / "worktrees/a")
    proc = ctx(repo, "cleanup", "--json")
    assert any(a["outcome"] == "pruned" for a in json.loads(proc.stdout)["actions"])
    assert "worktrees/a" not in git(repo, "worktree", "list")


def test_unlocks_what_a_killed_process_left_and_keeps_the_users_own_lock(repo):
    import shutil
    import subprocess
    write_plan(repo, [{"id": "killed"}, {"id": "mine"}])
    ctx(repo, "setup", check=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    git(repo, "worktree", "lock", "--reason", f"ctx setup pid {dead.pid}", str(repo / "worktrees/killed"))
    git(repo, "worktree", "lock", "--reason", "on a removable disk", str(repo / "worktrees/mine"))
    shutil.rmtree(repo / "worktrees/killed")
    proc = ctx(repo, "cleanup", "--json")
    assert proc.returncode == 0, proc.stderr
    actions = json.loads(proc.stdout)["actions"]
    assert ("unlocked", "worktrees/killed") in {(a["outcome"], a["target"]) for a in actions}
    listed = git(repo, "worktree", "list", "--porcelain")
    assert "worktrees/killed" not in listed  # unlocked, then pruned
    assert "worktrees/mine" in listed and "locked on a removable disk" in listed
    mine = {a["target"]: a for a in actions}["worktrees/mine"]
    assert mine["outcome"] == "retained" and mine["reason"].startswith("locked (on a removable disk)")


def test_a_task_not_yet_finished_keeps_its_fresh_worktree_and_branch(repo):
    write_plan(repo, [{"id": "later"}])
    ctx(repo, "setup", check=True)
    ctx(repo / "worktrees/later", "task", "start", "later", check=True)
    result = outcomes(ctx(repo, "cleanup", "--json"))
    assert result["worktrees/later"] == ("retained", "task in_progress, not merged yet")
    assert result["feature/later"][0] == "retained"
    assert (repo / "worktrees/later").is_dir() and "feature/later" in git(repo, "branch", "--list")
