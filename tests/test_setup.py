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
    """Eight setups at once, twice: none takes another's worktree, just finished, for one a kill left."""
    write_plan(repo, [{"id": f"t{n}"} for n in range(16)])
    for first in (0, 8):
        procs = [subprocess.Popen(["python", "-m", "ctx", "setup", f"t{n}"], cwd=repo, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for n in range(first, first + 8)]
        assert all(p.wait() == 0 for p in procs)
        assert git(repo, "worktree", "list", "--porcelain").count("branch refs/heads/feature/") == first + 8
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
    # git moves and removes no worktree with submodules: after the merge, the worktree stays, and says so
    merged = finish_and_merge(repo, "a")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "kept worktrees/a" in merged.stdout and "submodules" in merged.stdout
    assert (repo / "worktrees/a/vendor/lib/lib.py").exists()
    assert not (repo / "worktrees/.pool").exists() or not list((repo / "worktrees/.pool").iterdir())


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def journal_entry(repo, tid, phase):
    folder = repo / ".parallel/journal/setup"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{tid}.json").write_text(json.dumps({
        "task_id": tid, "path": str(repo / "worktrees" / tid), "branch": f"feature/{tid}", "phase": phase,
        "pid": dead_pid(), "started": "0"}))


def half_made(repo, tid):
    """What SIGKILL inside `git worktree add` leaves: a registration locked "initializing", no index
    but a stale index.lock, a few of the files."""
    git(repo, "branch", "--no-track", f"feature/{tid}", "main")
    git(repo, "worktree", "add", "-q", "--no-checkout", str(repo / "worktrees" / tid), f"feature/{tid}")
    admin = repo / ".git/worktrees" / tid
    (admin / "locked").write_text("initializing")
    (admin / "index").unlink(missing_ok=True)
    (admin / "index.lock").write_text("")
    (repo / "worktrees" / tid / "README.md").write_text("# project\n")


def test_a_worktree_whose_git_file_was_never_written_is_made_again(repo):
    """SIGKILL inside `git worktree add` just after it created the worktree's .git file, before writing it."""
    write_plan(repo, [{"id": "a"}])
    half_made(repo, "a")
    (repo / "worktrees/a/README.md").unlink()
    (repo / "worktrees/a/.git").write_text("")
    out = setup(repo)
    assert "repaired" in next(line for line in out.splitlines() if line.startswith("a "))
    assert git(repo / "worktrees/a", "status", "--porcelain") == ""
    assert git(repo / "worktrees/a", "ls-files") == "README.md\napp.py"


def doctor_check(repo, name):
    checks = json.loads(ctx(repo, "doctor", "--json").stdout)["checks"]
    return next(c for c in checks if c["name"] == name)


def test_a_worktree_half_made_by_a_killed_setup_is_reported_then_made_again(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    half_made(repo, "a")
    journal_entry(repo, "a", "checkout")
    check = doctor_check(repo, "interrupted setup")
    assert not check["ok"]
    assert "worktrees/a: half-made worktree of a" in check["detail"] and "remove it and create it again" in check["detail"]
    out = setup(repo)
    assert "repaired" in next(line for line in out.splitlines() if line.startswith("a "))
    wt = repo / "worktrees/a"
    assert git(wt, "status", "--porcelain") == ""  # no staged deletions: the index matches HEAD
    assert git(wt, "ls-files") == "README.md\napp.py"
    assert not list((repo / ".git").rglob("index.lock"))
    assert "locked" not in git(repo, "worktree", "list", "--porcelain")
    assert doctor_check(repo, "interrupted setup")["ok"]
    assert not any((repo / ".parallel/journal/setup").iterdir())


def test_a_worktree_killed_before_git_wrote_its_head_is_made_again(repo):
    """git worktree add first writes the null object id as HEAD: such a worktree holds no commit, and
    it must not be mistaken for one whose HEAD is on no branch (nor hide a real one beside it)."""
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    half_made(repo, "a")
    (repo / ".git/worktrees/a/HEAD").write_text("0" * 40 + "\n")
    journal_entry(repo, "a", "checkout")
    check = doctor_check(repo, "interrupted setup")
    assert "remove it and create it again" in check["detail"] and "on no branch" not in check["detail"]
    out = setup(repo)
    assert "repaired" in next(line for line in out.splitlines() if line.startswith("a "))
    wt = repo / "worktrees/a"
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == "feature/a" and git(wt, "status", "--porcelain") == ""
    assert doctor_check(repo, "interrupted setup")["ok"]


def test_a_stale_index_lock_is_reported_by_doctor(repo):
    write_plan(repo, [{"id": "a"}])
    setup(repo)
    (repo / ".git/worktrees/a/index.lock").write_text("")
    check = doctor_check(repo, "interrupted setup")
    assert not check["ok"] and ".git/worktrees/a/index.lock: index.lock left behind" in check["detail"]


def test_setup_steps_cut_short_run_again_and_keep_the_worktree(repo):
    write_plan(repo, [{"id": "a"}], setup="echo run >> setup.count")
    setup(repo)
    wt = repo / "worktrees/a"
    (wt / "app.py").write_text("# work in progress\n")
    journal_entry(repo, "a", "prepare")
    assert "run the setup steps again" in doctor_check(repo, "interrupted setup")["detail"]
    out = setup(repo)
    assert "repaired" in out
    assert (wt / "setup.count").read_text() == "run\nrun\n"
    assert (wt / "app.py").read_text() == "# work in progress\n"


def test_parallel_setup_gives_every_task_its_worktree_setup_run_and_port(repo):
    write_plan(repo, [{"id": f"t{n}"} for n in range(6)], setup="pwd > where.txt")
    out = setup(repo, "--jobs", "3")
    assert out.count(" created  worktrees/") == 6
    ports = set()
    for n in range(6):
        wt = repo / f"worktrees/t{n}"
        assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == f"feature/t{n}"
        assert (wt / "where.txt").read_text().strip() == str(wt)
        ports.add((wt / ".env.ctx").read_text().splitlines()[0])
    assert len(ports) == 6
    assert ctx(repo, "setup", "--jobs", "0").returncode == 2


def finish_and_merge(repo, tid):
    wt = repo / "worktrees" / tid
    (wt / f"{tid}.txt").write_text(f"from {tid}\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", tid)
    ctx(repo, "task", "complete", tid, check=True)
    return ctx(repo, "merge", tid)


def test_a_parked_worktree_holding_the_only_copy_of_a_commit_is_never_reused_or_dropped(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    setup(repo)
    assert "parked in worktrees/.pool/0" in finish_and_merge(repo, "a").stdout
    slot = repo / "worktrees/.pool/0"
    (slot / "late.txt").write_text("an agent that outlived its run\n")
    git(slot, "add", "-A")
    git(slot, "commit", "-qm", "late commit")
    late = git(slot, "rev-parse", "HEAD")
    out = setup(repo)
    assert "created" in next(line for line in out.splitlines() if line.startswith("b "))
    assert git(slot, "rev-parse", "HEAD") == late
    assert "parked worktree whose HEAD is on no branch" in doctor_check(repo, "interrupted setup")["detail"]
    ctx(repo, "cleanup", "--drop-pool")
    assert git(slot, "rev-parse", "HEAD") == late and (slot / "late.txt").exists()


def test_a_worktree_whose_head_is_on_no_branch_is_not_parked_or_removed(repo):
    write_plan(repo, [{"id": "a"}])
    setup(repo)
    wt = repo / "worktrees/a"
    (wt / "a.txt").write_text("a\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "a")
    git(wt, "checkout", "-q", "--detach")
    (wt / "more.txt").write_text("more\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "on no branch")
    head = git(wt, "rev-parse", "HEAD")
    ctx(repo, "task", "complete", "a", check=True)
    merged = ctx(repo, "merge", "a")
    assert "kept worktrees/a: its HEAD" in merged.stdout, merged.stdout + merged.stderr
    assert git(wt, "rev-parse", "HEAD") == head


def test_a_parked_worktree_changed_since_parking_is_left_alone(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    setup(repo)
    assert "parked in worktrees/.pool/0" in finish_and_merge(repo, "a").stdout
    slot = repo / "worktrees/.pool/0"
    parked = git(slot, "rev-parse", "HEAD")
    (slot / "app.py").write_text("# edited after parking\n")
    out = setup(repo)
    assert "created" in next(line for line in out.splitlines() if line.startswith("b "))
    assert (slot / "app.py").read_text() == "# edited after parking\n"
    assert git(slot, "rev-parse", "HEAD") == parked  # left at its own commit, with its change
    assert git(repo / "worktrees/b", "status", "--porcelain") == ""


def test_a_parked_worktree_with_a_staged_change_is_left_alone(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    setup(repo)
    finish_and_merge(repo, "a")
    slot = repo / "worktrees/.pool/0"
    (slot / "staged.txt").write_text("staged only\n")
    git(slot, "add", "staged.txt")
    out = setup(repo)
    assert "created" in next(line for line in out.splitlines() if line.startswith("b "))
    assert git(slot, "diff", "--cached", "--name-only") == "staged.txt"
    assert not (repo / "worktrees/b/staged.txt").exists()


def test_fresh_worktrees_use_gits_parallel_checkout_unless_the_repository_configures_it(repo):
    from ctx import worktrees
    from ctx.workspace import Workspace

    ws = Workspace.find(repo)
    cpus = os.cpu_count() or 2
    assert worktrees.parallel_checkout(ws) == (["-c", f"checkout.workers={cpus}"] if cpus > 1 else [])
    # the CPUs are shared among the checkouts that run at once; one worker each is git's default
    assert worktrees.parallel_checkout(ws, cpus) == []
    git(repo, "config", "checkout.workers", "1")
    assert worktrees.parallel_checkout(ws) == []
    write_plan(repo, [{"id": "a"}])
    setup(repo)
    assert git(repo / "worktrees/a", "status", "--porcelain") == ""


def test_files_put_in_a_parked_worktree_are_never_removed_with_it(repo):
    """A file dropped into a parked worktree after it was parked, where the new base adds one: the
    switch refuses, and the next setup keeps that worktree (and the file) instead of making it again."""
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    setup(repo)
    finish_and_merge(repo, "a")
    (repo / "worktrees/.pool/0/notes.txt").write_text("mine, not ctx's\n")
    (repo / "notes.txt").write_text("the base's own notes\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "notes")
    first = ctx(repo, "setup")
    assert first.returncode == 1 and "Traceback" not in first.stderr
    assert "setup of b failed" in first.stderr
    again = ctx(repo, "setup")
    assert "files git does not track (notes.txt)" in again.stdout + again.stderr
    assert (repo / "worktrees/b/notes.txt").read_text() == "mine, not ctx's\n"
    doctor = ctx(repo, "doctor")
    assert "files git does not track (notes.txt)" in doctor.stdout
