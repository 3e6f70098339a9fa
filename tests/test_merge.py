"""ctx merge: dependency order, merged and tested before the base moves, recovered after a kill."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from helpers import ctx, git, write_plan


def front(repo, tid):
    return yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])


def work(repo, tid, files: dict[str, str], complete=True):
    wt = repo / "worktrees" / tid
    for name, text in files.items():
        (wt / name).write_text(text)
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", f"work on {tid}")
    if complete:
        ctx(wt, "task", "complete", tid, check=True)


def merge(repo, *args):
    proc = ctx(repo, "merge", "--json", *args)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None


def test_merges_in_dependency_order_with_merge_commits(repo):
    write_plan(repo, [{"id": "base-lib"}, {"id": "feature", "dependencies": ["base-lib"]}])
    ctx(repo, "setup", check=True)
    work(repo, "base-lib", {"lib.py": "X = 1\n"})
    proc, out = merge(repo)
    assert out["merged"] == ["base-lib"]
    assert front(repo, "base-lib")["merged"] and front(repo, "base-lib")["merge_commit"] == git(repo, "rev-parse", "HEAD")
    assert git(repo, "log", "-1", "--format=%p", "main").count(" ") == 1  # a real merge commit (--no-ff)
    assert "feature/base-lib" not in git(repo, "branch", "--list")  # deleted with branch -d
    ctx(repo, "setup", check=True)
    assert (repo / "worktrees/feature/lib.py").exists()  # the dependent starts from the merged base
    work(repo, "feature", {"feature.py": "from lib import X\n"})
    proc, out = merge(repo)
    assert out["merged"] == ["feature"] and out["skipped"] == {"base-lib": "already merged"}


def test_dependent_waits_for_its_dependency(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    ctx(repo, "setup", check=True)
    git(repo, "branch", "feature/b")
    front_b = repo / ".parallel/plans/tasks/b.md"
    front_b.write_text(front_b.read_text().replace("status: pending", "status: completed"))
    proc, out = merge(repo, "b")
    assert out["merged"] == [] and "waits for a" in out["skipped"]["b"]


def test_conflict_leaves_base_exactly_as_it_was_and_others_go_on(repo):
    write_plan(repo, [{"id": "one"}, {"id": "two"}, {"id": "three"}])
    ctx(repo, "setup", check=True)
    work(repo, "one", {"app.py": "def hello():\n    return 'one'\n"})
    work(repo, "two", {"app.py": "def hello():\n    return 'two'\n"})
    work(repo, "three", {"three.py": "print(3)\n"})
    (repo / "untracked-note.txt").write_text("the user's own file\n")
    proc, out = merge(repo)
    assert out["merged"] == ["one", "three"]
    assert "merge conflict with main in app.py" in out["blocked"]["two"]
    assert proc.returncode == 1
    assert front(repo, "two")["status"] == "blocked" and "app.py" in front(repo, "two")["reason"]
    assert git(repo, "status", "--porcelain") == "?? untracked-note.txt"
    assert not (repo / ".git/MERGE_HEAD").exists()
    assert (repo / "app.py").read_text() == "def hello():\n    return 'one'\n"
    assert git(repo, "rev-parse", "feature/two")  # the conflicting work is kept


def test_failing_test_command_never_moves_the_base(repo):
    write_plan(repo, [{"id": "good"}, {"id": "breaks"}])
    ctx(repo, "setup", check=True)
    work(repo, "good", {"good.py": "ok\n"})
    work(repo, "breaks", {"BROKEN": "yes\n"})
    before_sha = git(repo, "rev-parse", "HEAD")
    proc, out = merge(repo, "--test", "test ! -e BROKEN")
    assert out["merged"] == ["good"] and "tests failed on the merged result" in out["blocked"]["breaks"]
    assert "breaks" not in out["conflicts"]
    assert not (repo / "BROKEN").exists() and (repo / "good.py").exists()
    assert git(repo, "rev-list", "--count", f"{before_sha}..HEAD") == "2"  # only good's merge remains
    assert git(repo, "rev-parse", "HEAD") == front(repo, "good")["merge_commit"]
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert front(repo, "breaks")["status"] == "blocked" and "feature/breaks" in git(repo, "branch", "--list")


def test_uncommitted_work_in_the_checkout_is_kept_and_never_overwritten(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    work(repo, "b", {"app.py": "def hello():\n    return 'b'\n"})
    (repo / "README.md").write_text("an unrelated uncommitted edit\n")
    (repo / "app.py").write_text("an uncommitted edit the merge of b would overwrite\n")
    before = git(repo, "rev-parse", "main")
    proc, out = merge(repo)
    assert out["merged"] == ["a"] and (repo / "a.py").read_text() == "a\n"
    assert "uncommitted changes this merge would overwrite (app.py)" in out["skipped"]["b"]
    assert front(repo, "b")["status"] == "completed"  # not the task's fault: it is merged next time
    assert (repo / "README.md").read_text() == "an unrelated uncommitted edit\n"
    assert (repo / "app.py").read_text() == "an uncommitted edit the merge of b would overwrite\n"
    assert git(repo, "rev-list", "--count", f"{before}..main") == "2"  # a's merge only, b's rolled back
    assert git(repo, "diff", "--cached", "--name-only") == ""
    assert sorted(git(repo, "diff", "--name-only").split()) == ["README.md", "app.py"]
    git(repo, "checkout", "-q", "app.py")
    proc, out = merge(repo)
    assert out["merged"] == ["b"] and "return 'b'" in (repo / "app.py").read_text()
    assert (repo / "README.md").read_text() == "an unrelated uncommitted edit\n"


def test_merges_into_the_base_while_the_checkout_is_elsewhere(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    git(repo, "checkout", "-q", "--detach")
    proc, out = merge(repo)
    assert out["merged"] == ["a"] and "None" not in proc.stdout + proc.stderr
    assert not (repo / "a.py").exists()  # the detached checkout is left where it was
    assert git(repo, "show", "main:a.py") == "a"


def test_squash_merge(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    proc, out = merge(repo, "--squash")
    assert out["merged"] == ["a"]
    assert git(repo, "log", "-1", "--format=%p").count(" ") == 0  # a single-parent commit
    assert (repo / "a.py").exists()
    assert "feature/a" not in git(repo, "branch", "--list")  # recognised as integrated, then deleted


def test_completed_without_commits_is_blocked_not_merged(repo):
    write_plan(repo, [{"id": "empty"}])
    ctx(repo, "setup", check=True)
    (repo / "worktrees/empty/forgot.py").write_text("never committed\n")
    ctx(repo / "worktrees/empty", "task", "complete", "empty", check=True)
    proc, out = merge(repo)
    assert out["merged"] == [] and "has no commits of its own" in out["blocked"]["empty"]
    assert front(repo, "empty")["status"] == "blocked"
    assert (repo / "worktrees/empty/forgot.py").exists() and "feature/empty" in git(repo, "branch", "--list")


def snapshot(repo):
    """HEAD, the index and every file of the working tree (tracked, untracked and ignored), as bytes."""
    files = {str(p.relative_to(repo)): p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(repo).parts
             and not str(p.relative_to(repo)).startswith((".parallel", "worktrees"))}
    return git(repo, "rev-parse", "HEAD"), git(repo, "ls-files", "-s"), files


def test_conflict_restores_the_exact_commit_and_working_tree(repo):
    write_plan(repo, [{"id": "clash"}, {"id": "solo"}])
    ctx(repo, "setup", check=True)
    work(repo, "clash", {"app.py": "def hello():\n    return 'from the task'\n", "new.py": "n\n"})
    work(repo, "solo", {"solo.py": "s\n"})
    (repo / "app.py").write_text("def hello():\n    return 'changed on main meanwhile'\n")
    git(repo, "commit", "-qam", "main moved on")
    (repo / "notes.txt").write_text("the user's untracked notes\n")
    (repo / ".git/info/exclude").open("a").write("*.log\n")
    (repo / "build.log").write_text("ignored file\n")
    before = snapshot(repo)
    proc, out = merge(repo, "clash")
    assert proc.returncode == 1 and out["blocked"]["clash"] == "merge conflict with main in app.py"
    assert snapshot(repo) == before  # same commit, same index, same files
    assert not (repo / ".git/MERGE_HEAD").exists()
    for squash in ([], ["--squash"]):
        ctx(repo, "task", "complete", "clash", check=True)
        proc, out = merge(repo, "clash", *squash)
        assert "app.py" in out["blocked"]["clash"] and snapshot(repo) == before
    # a task that does not depend on the blocked one still merges
    ctx(repo, "task", "complete", "clash", check=True)
    proc, out = merge(repo, "--all")
    assert out["merged"] == ["solo"] and "clash" in out["blocked"]
    assert (repo / "solo.py").exists() and (repo / "notes.txt").exists() and (repo / "build.log").exists()


def test_dependent_of_a_conflicting_task_is_not_merged(repo):
    write_plan(repo, [{"id": "lib"}, {"id": "uses-lib", "dependencies": ["lib"]}, {"id": "other"}])
    ctx(repo, "setup", check=True)
    work(repo, "lib", {"app.py": "def hello():\n    return 'lib'\n"})
    work(repo, "other", {"other.py": "o\n"})
    git(repo, "worktree", "add", "-q", "-b", "feature/uses-lib", str(repo / "worktrees/uses-lib"), "feature/lib")
    work(repo, "uses-lib", {"uses.py": "import app\n"})
    (repo / "app.py").write_text("conflict\n")
    git(repo, "commit", "-qam", "main moved on")
    proc, out = merge(repo)
    assert out["merged"] == ["other"] and "lib" in out["blocked"]
    assert "waits for lib" in out["skipped"]["uses-lib"]
    assert "uses.py" not in git(repo, "ls-files")


def test_merge_refuses_outside_a_plan_and_names_unknown_tasks(repo):
    write_plan(repo, [{"id": "a"}])
    proc = ctx(repo, "merge", "nope")
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr


def test_into_a_missing_branch_is_a_data_error(repo):
    write_plan(repo, [{"id": "a"}])
    proc = ctx(repo, "merge", "--into", "release")
    assert proc.returncode == 2 and "no branch release to merge into" in proc.stderr


def test_a_failed_test_keeps_a_change_made_meanwhile(repo):
    write_plan(repo, [{"id": "breaks"}])
    ctx(repo, "setup", check=True)
    work(repo, "breaks", {"feature.py": "broken\n"})
    before = git(repo, "rev-parse", "HEAD")
    proc, out = merge(repo, "--test", f"echo 'edited while the tests ran' >> {repo}/README.md; exit 3")
    assert "exited 3" in out["blocked"]["breaks"]
    assert git(repo, "rev-parse", "HEAD") == before and not (repo / "feature.py").exists()
    assert (repo / "README.md").read_text().endswith("edited while the tests ran\n")  # not reset away


def test_a_merge_interrupted_before_recording_is_finished_without_a_new_commit(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merged, then the process was killed", "feature/a")
    head = git(repo, "rev-parse", "HEAD")
    proc, out = merge(repo, "--squash")
    assert out["merged"] == ["a"] and git(repo, "rev-parse", "HEAD") == head
    assert front(repo, "a")["merge_commit"] == head and "feature/a" not in git(repo, "branch", "--list")


def test_a_conflict_resolved_in_the_worktree_merges_on_the_next_run(repo):
    write_plan(repo, [{"id": "clash"}])
    ctx(repo, "setup", check=True)
    work(repo, "clash", {"app.py": "def hello():\n    return 'task'\n"})
    (repo / "app.py").write_text("def hello():\n    return 'main'\n")
    git(repo, "commit", "-qam", "main moved on")
    proc = ctx(repo, "merge")
    assert proc.returncode == 1 and "to retry clash: in worktrees/clash run `git merge main`" in proc.stdout
    wt = repo / "worktrees/clash"
    conflicted = subprocess.run(["git", "merge", "-q", "main"], cwd=wt, capture_output=True)
    assert conflicted.returncode != 0  # the same conflict, now in the task's worktree
    (wt / "app.py").write_text("def hello():\n    return 'task and main'\n")
    git(wt, "commit", "-qam", "resolve the conflict with main")
    ctx(wt, "task", "complete", "clash", check=True)
    proc, out = merge(repo, "clash")
    assert out["merged"] == ["clash"] and "task and main" in (repo / "app.py").read_text()


def test_a_task_own_test_gates_its_merge_and_gets_the_test_hint(repo):
    write_plan(repo, [{"id": "ok", "test": "test -e ok.py"}, {"id": "bad", "test": "echo checking; echo 'assert failed' >&2; exit 4"}])
    ctx(repo, "setup", check=True)
    work(repo, "ok", {"ok.py": "ok\n"})
    work(repo, "bad", {"bad.py": "bad\n"})
    before = git(repo, "rev-parse", "main")
    proc = ctx(repo, "merge")
    assert proc.returncode == 1
    assert "ok" in proc.stdout and "to retry bad: the tests failed on bad merged into main" in proc.stdout
    assert "git merge main" not in proc.stdout  # not the conflict hint
    reason = front(repo, "bad")["reason"]
    assert "`echo checking; echo 'assert failed' >&2; exit 4` exited 4" in reason and "assert failed" in reason
    assert git(repo, "rev-list", "--count", f"{before}..main") == "2" and not (repo / "bad.py").exists()


def test_conflicts_are_reported_per_task_and_the_checkout_never_gets_a_merge_head(repo):
    write_plan(repo, [{"id": "one"}, {"id": "two"}])
    ctx(repo, "setup", check=True)
    work(repo, "one", {"app.py": "def hello():\n    return 'one'\n"})
    work(repo, "two", {"app.py": "def hello():\n    return 'two'\n", "two.py": "2\n"})
    proc, out = merge(repo)
    assert out["conflicts"] == {"two": ["app.py"]} and "merge conflict" in out["blocked"]["two"]
    assert not list((repo / ".git").rglob("MERGE_HEAD"))


def test_a_second_merge_waits_for_the_first_or_names_it(repo):
    write_plan(repo, [{"id": "slow"}, {"id": "other"}])
    ctx(repo, "setup", check=True)
    work(repo, "slow", {"slow.py": "s\n"})
    work(repo, "other", {"other.py": "o\n"})
    gate = repo.parent / "gate"
    first = subprocess.Popen([sys.executable, "-m", "ctx", "merge", "slow", "--test",
                              f"while [ ! -e {gate} ]; do sleep 0.05; done"],
                             cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder = repo / ".parallel/locks/merge.holder.json"
    while not holder.exists():
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    busy = ctx(repo, "merge", "other", "--wait", "0")
    assert busy.returncode == 1 and "Traceback" not in busy.stderr
    assert f"by pid {first.pid} (`ctx merge slow --test" in busy.stderr and "since 20" in busy.stderr
    waiting = subprocess.Popen([sys.executable, "-m", "ctx", "merge", "other", "--json"], cwd=repo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    gate.write_text("go\n")
    assert first.wait() == 0
    out, err = waiting.communicate()
    assert json.loads(out)["merged"] == ["other"], err
    assert front(repo, "slow")["merged"] and front(repo, "other")["merged"]
    assert not holder.exists()


def test_a_merge_killed_during_its_test_is_tested_again_not_called_merged(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    before = git(repo, "rev-parse", "main")
    killed = ctx(repo, "merge", "--test", "true", env={"CTX_FAULT": "merge:testing"})
    assert killed.returncode == -9 and git(repo, "rev-parse", "main") == before
    assert "merge of a stopped while testing" in ctx(repo, "doctor").stdout
    assert "a merge was interrupted" in ctx(repo, "status").stdout
    proc = ctx(repo, "merge", "--test", "echo tested-again > /dev/null; exit 5")
    assert "rolled back a merge interrupted while testing" in proc.stdout
    assert front(repo, "a")["status"] == "blocked" and git(repo, "rev-parse", "main") == before


def test_a_merge_killed_after_the_base_moved_is_finished_by_the_next_one(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    killed = ctx(repo, "merge", env={"CTX_FAULT": "merge:advanced"})
    assert killed.returncode == -9
    moved = git(repo, "rev-parse", "main")
    assert not (repo / "a.py").exists()  # the checkout was not brought along before the kill
    proc = ctx(repo, "merge")
    assert "finished an interrupted advance of main" in proc.stdout
    assert (repo / "a.py").read_text() == "a\n" and git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert front(repo, "a")["merge_commit"] == moved == git(repo, "rev-parse", "main")


def test_retry_sets_a_blocked_task_back_to_pending_and_keeps_its_work(repo):
    write_plan(repo, [{"id": "one"}, {"id": "two"}])
    ctx(repo, "setup", check=True)
    work(repo, "one", {"app.py": "def hello():\n    return 'one'\n"})
    work(repo, "two", {"app.py": "def hello():\n    return 'two'\n"})
    merge(repo)
    tip = git(repo, "rev-parse", "feature/two")
    proc = ctx(repo, "task", "retry", "two")
    assert proc.returncode == 0 and "two: pending" in proc.stdout and "ctx run --resume" in proc.stdout
    meta = front(repo, "two")
    assert meta["status"] == "pending" and "reason" not in meta and "merge conflict" in meta["last_reason"]
    assert git(repo, "rev-parse", "feature/two") == tip and (repo / "worktrees/two").is_dir()
    assert "ready for two" in ctx(repo, "status").stdout
    done = ctx(repo, "task", "retry", "one")
    assert done.returncode == 2 and "already merged" in done.stderr and "Traceback" not in done.stderr


def test_a_damaged_integration_worktree_is_made_again(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    merge(repo, "a", "--test", "true")  # a test runs in the integration worktree
    integration = repo / ".git/ctx/integration"
    git(repo, "worktree", "lock", "--reason", "initializing", str(integration))  # as a killed `worktree add` leaves it
    (integration / ".git").unlink()
    (integration / "half-written").write_text("x\n")
    work(repo, "b", {"b.py": "b\n"})
    proc, out = merge(repo, "b", "--test", "test -f b.py")
    assert out["merged"] == ["b"] and git(repo, "show", "main:b.py") == "b"
    assert not (integration / "half-written").exists()


def test_a_merge_with_no_test_writes_no_files_and_makes_the_same_merge_commit(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    work(repo, "b", {"b.py": "b\n"})
    before, tip = git(repo, "rev-parse", "main"), git(repo, "rev-parse", "feature/a")
    proc, out = merge(repo, "a")
    assert out["merged"] == ["a"] and not (repo / ".git/ctx/integration").exists()
    assert git(repo, "log", "-1", "--format=%P", "main").split() == [before, tip]
    assert git(repo, "show", "main:a.py") == "a" and (repo / "a.py").read_text() == "a\n"  # the checkout follows
    assert git(repo, "log", "-1", "--format=%s", "main") == "Merge feature/a: A"
    proc, out = merge(repo, "b", "--test", "test -f a.py && test -f b.py")  # tested: in the integration worktree
    assert out["merged"] == ["b"] and (repo / ".git/ctx/integration/b.py").is_file()
    assert git(repo, "log", "-1", "--format=%s", "main") == "Merge feature/b: B"


def test_work_already_cherry_picked_into_the_base_is_recorded_not_merged_again(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    git(repo, "commit", "-q", "--allow-empty", "-m", "other work")
    git(repo, "cherry-pick", "feature/a")
    before = git(repo, "rev-parse", "main")
    proc = ctx(repo, "merge", "a")
    assert proc.returncode == 0 and "already in main (merge adds nothing)" in proc.stdout
    assert git(repo, "rev-parse", "main") == before and front(repo, "a")["merge_commit"] == before


def _group_alive(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and fields[2] == str(pgid):
            return True
    return False


def test_a_test_left_running_by_a_killed_merge_is_stopped_before_the_next_merge(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    killed = ctx(repo, "merge", "--test", "sleep 300; true", env={"CTX_FAULT": "merge:test-started"})
    assert killed.returncode == -9
    pgid = json.loads((repo / ".parallel/journal/merge.json").read_text())["data"]["test_pgid"]
    proc, out = merge(repo, "--test", "true")
    assert out["merged"] == ["a"] and any("rolled back" in line for line in out["recovered"])
    for _ in range(200):  # SIGKILL is sent before the merge goes on; wait only for the kernel to finish it
        if not _group_alive(pgid):
            break
        time.sleep(0.05)
    assert not _group_alive(pgid)


def test_a_merge_killed_while_releasing_the_worktree_is_finished_by_the_next_one(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    killed = ctx(repo, "merge", "--test", "true", env={"CTX_FAULT": "merge:recorded"})
    assert killed.returncode == -9 and front(repo, "a")["merged"]
    (repo / ".git/worktrees/a/index.lock").write_text("")  # as a git killed in the middle leaves it
    proc, out = merge(repo)
    assert len(out["recovered"]) == 1 and out["recovered"][0].startswith("a: ")
    assert out["skipped"] == {"a": "already merged"}
    assert not (repo / "worktrees/a").exists() and "feature/a" not in git(repo, "branch", "--list")
    assert not list((repo / ".git").rglob("index.lock"))


def test_a_ref_lock_left_by_a_git_killed_while_moving_the_base_is_cleared_by_the_next_merge(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "a\n"})
    before = git(repo, "rev-parse", "main")
    killed = ctx(repo, "merge", env={"CTX_FAULT": "merge:advancing"})
    assert killed.returncode == -9
    (repo / ".git/refs/heads/main.lock").write_text(before + "\n")  # as `git update-ref` killed mid-way leaves it
    assert "refs/heads/main.lock exists" in ctx(repo, "doctor").stdout
    proc, out = merge(repo)
    assert any("removed main.lock" in line for line in out["recovered"])
    assert front(repo, "a")["merged"] and (repo / "a.py").exists()
    assert not (repo / ".git/refs/heads/main.lock").exists()


def test_the_caller_hears_of_each_merge_before_the_next_one_starts(repo):
    from ctx import merge as merge_model
    from ctx.workspace import Workspace

    write_plan(repo, [{"id": "a"}, {"id": "b"}, {"id": "c", "dependencies": ["a"]}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"a.py": "A = 1\n"})
    work(repo, "b", {"b.py": "B = 1\n"})
    seen = []

    def merged(task_id, commit):  # what a waiting dependent finds at this moment
        seen.append((task_id, commit, git(repo, "rev-parse", "main"), front(repo, task_id).get("merged") is not None,
                     (repo / "worktrees" / task_id).exists(), front(repo, "b").get("merged") is not None))

    report = merge_model.merge(Workspace.find(repo), ["a", "b"], echo=lambda _: None, on_merged=merged)
    assert report.merged == ["a", "b"]
    (a, commit, main, recorded, worktree_left, b_merged), _ = seen
    assert a == "a" and commit == main != git(repo, "rev-parse", "main") and recorded
    assert not worktree_left and not b_merged  # parked for a dependent, before b's merge began


def test_a_file_touched_but_not_changed_in_the_checkout_does_not_stop_the_merge(repo):
    import os

    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    work(repo, "a", {"app.py": "def hello():\n    return 'a'\n"})
    os.utime(repo / "app.py", (1_000_000_000, 1_000_000_000))  # same content, other stat data
    proc, out = merge(repo, "a")
    assert out["merged"] == ["a"], proc.stdout + proc.stderr
    assert (repo / "app.py").read_text() == "def hello():\n    return 'a'\n"
    assert git(repo, "status", "--porcelain") == ""
