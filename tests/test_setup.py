"""ctx setup: one worktree per ready task, idempotent, resumable, with the files agents need."""

from __future__ import annotations

import json
import os
import subprocess

import yaml

from helpers import ctx, git, write_plan


def setup(repo, *args):
    proc = ctx(repo, "setup", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def front(repo, tid):
    return yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])


def test_ready_tasks_get_a_worktree_on_their_branch_from_the_base(repo):
    git(repo, "checkout", "-q", "-b", "develop")
    (repo / "dev.txt").write_text("on develop\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "develop work")
    write_plan(repo, [{"id": "api"}, {"id": "ui", "dependencies": ["api"]}, {"id": "done", "status": "completed"}])
    out = setup(repo)
    assert "api" in out and "created" in out
    assert "waiting for api to be completed and merged" in out and "already completed" in out
    wt = repo / "worktrees" / "api"
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == "feature/api"
    assert (wt / "dev.txt").exists()  # branched from the checked-out branch, not a hard-coded main
    assert not (repo / "worktrees" / "ui").exists()
    assert subprocess.run(["git", "config", "branch.feature/api.merge"], cwd=repo).returncode == 1  # no tracking
    assert git(repo, "status", "--porcelain") == ""  # worktrees/ and .parallel/ are excluded
    assert git(wt, "status", "--porcelain") == ""  # .env.ctx does not show either


def test_second_run_keeps_everything(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    setup(repo)
    (repo / "worktrees/a/work.txt").write_text("agent's uncommitted work\n")
    out = setup(repo)
    assert out.count(" reused   worktrees/") == 2
    assert (repo / "worktrees/a/work.txt").read_text() == "agent's uncommitted work\n"


def test_killed_setup_is_resumed_and_stale_registrations_repaired(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}, {"id": "c"}])
    # a: registered, folder deleted (killed after git registered it); b: registration locked by git's own
    # "initializing" lock, as a killed `git worktree add` leaves it; c: never started.
    git(repo, "worktree", "add", "-q", "--no-track", "-b", "feature/a", str(repo / "worktrees/a"))
    subprocess.run(["rm", "-rf", str(repo / "worktrees/a")], check=True)
    git(repo, "worktree", "add", "-q", "--no-track", "-b", "feature/b", str(repo / "worktrees/b"))
    admin = [p for p in (repo / ".git/worktrees").iterdir() if p.name.startswith("b")][0]
    (admin / "locked").write_text("initializing")
    (repo / "worktrees/b/app.py").unlink()  # the checkout never finished
    out = setup(repo)
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith("setup:")}
    assert "repaired" in lines["a"] and "repaired" in lines["b"] and "created" in lines["c"]
    for tid in "abc":
        assert (repo / f"worktrees/{tid}/app.py").exists()
        assert git(repo / f"worktrees/{tid}", "rev-parse", "--abbrev-ref", "HEAD") == f"feature/{tid}"
    assert "locked" not in git(repo, "worktree", "list", "--porcelain")


def test_env_files_and_worktreeinclude_are_copied_but_never_tracked_files(repo):
    (repo / ".gitignore").write_text(".env\n.env.local\nconfig/*.secret\n")
    (repo / "config").mkdir()
    (repo / "config/tracked.secret.example").write_text("tracked\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "ignore")
    (repo / ".env").write_text("TOKEN=1\n")
    (repo / ".env.local").write_text("LOCAL=1\n")
    (repo / "config/db.secret").write_text("password\n")
    (repo / "config/unlisted.txt").write_text("not matched\n")
    (repo / ".worktreeinclude").write_text("config/*.secret\n")
    (repo / "README.md").write_text("# changed in the main checkout only\n")
    write_plan(repo, [{"id": "a"}])
    setup(repo)
    wt = repo / "worktrees/a"
    assert (wt / ".env").read_text() == "TOKEN=1\n" and (wt / ".env.local").read_text() == "LOCAL=1\n"
    assert (wt / "config/db.secret").read_text() == "password\n"
    assert not (wt / "config/unlisted.txt").exists()
    assert (wt / "README.md").read_text() == "# project\n"  # tracked files come from git, not copied
    assert git(wt, "status", "--porcelain") == ""


def test_ports_are_stable_and_distinct(repo):
    write_plan(repo, [{"id": f"t{n}"} for n in range(5)])
    setup(repo)
    ports = {}
    for n in range(5):
        env = dict(line.split("=", 1) for line in (repo / f"worktrees/t{n}/.env.ctx").read_text().splitlines())
        ports[n] = int(env["CTX_PORT"])
    assert len({p // 10 for p in ports.values()}) == 5
    subprocess.run(["rm", "-rf", str(repo / "worktrees/t0")], check=True)
    setup(repo)
    assert int((repo / "worktrees/t0/.env.ctx").read_text().split("\n")[0].split("=")[1]) == ports[0]


def test_setup_command_failure_blocks_only_that_task(repo):
    write_plan(repo, [{"id": "good"}, {"id": "bad"}],
               setup='if [ "$(basename "$PWD")" = bad ]; then echo "npm ERR! missing script"; exit 3; fi; echo ok > setup.done')
    proc = ctx(repo, "setup")
    assert "bad" in proc.stdout and "blocked" in proc.stdout
    assert (repo / "worktrees/good/setup.done").exists()
    meta = front(repo, "bad")
    assert meta["status"] == "blocked" and "npm ERR! missing script" in meta["reason"]
    assert front(repo, "good")["status"] == "pending"
    assert "npm ERR!" in (repo / ".parallel/logs/bad.setup.log").read_text()


def test_pooled_worktree_is_reused_with_the_right_content(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    setup(repo)
    wt = repo / "worktrees/a"
    (wt / "a.txt").write_text("from a\n")
    (wt / "build").mkdir()
    git(wt, "add", "a.txt")
    git(wt, "commit", "-qm", "a")
    ctx(repo, "task", "complete", "a", check=True)
    merged = ctx(repo, "merge")
    assert "parked in worktrees/.pool/" in merged.stdout, merged.stdout + merged.stderr
    out = setup(repo)
    assert "pooled" in out
    wb = repo / "worktrees/b"
    assert git(wb, "rev-parse", "--abbrev-ref", "HEAD") == "feature/b"
    assert git(wb, "rev-parse", "HEAD") == git(repo, "rev-parse", "main")
    assert (wb / "a.txt").read_text() == "from a\n"
    assert git(wb, "status", "--porcelain") == ""
    assert not (repo / "worktrees/.pool").exists() or not any((repo / "worktrees/.pool").iterdir())


def test_no_pool_and_unknown_ids(repo):
    write_plan(repo, [{"id": "a"}])
    proc = ctx(repo, "setup", "nope")
    assert proc.returncode == 2 and "no task with id 'nope'" in proc.stderr
    assert not (repo / "worktrees").exists()
    assert "created" in setup(repo, "--no-pool", "a")


def test_concurrent_setups_do_not_corrupt_git_metadata(repo):
    write_plan(repo, [{"id": f"t{n}"} for n in range(8)])
    procs = [subprocess.Popen(["python", "-m", "ctx", "setup", f"t{n}"], cwd=repo, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for n in range(8)]
    assert all(p.wait() == 0 for p in procs)
    assert git(repo, "worktree", "list", "--porcelain").count("branch refs/heads/feature/") == 8
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=repo, capture_output=True).returncode == 0


def test_submodules_are_initialised_in_new_worktrees(repo, tmp_path, monkeypatch):
    # local submodule URLs need file transport allowed (git >= 2.38.1 refuses it by default)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.file.allow")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "always")
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    (lib / "lib.py").write_text("LIB = 1\n")
    git(lib, "add", "-A")
    git(lib, "commit", "-qm", "lib")
    git(repo, "submodule", "add", "-q", str(lib), "vendor/lib")
    git(repo, "commit", "-qm", "add submodule")
    write_plan(repo, [{"id": "a"}])
    setup(repo)
    assert (repo / "worktrees/a/vendor/lib/lib.py").read_text() == "LIB = 1\n"
