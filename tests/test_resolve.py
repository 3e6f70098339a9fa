"""Merge conflicts handed back to an agent: `ctx resolve` by hand, and `ctx run --merge` headless."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from helpers import ctx, git, processes_with, write_plan

AGENT = r'''
import os, pathlib, subprocess, sys
tid, record = os.environ["CTX_TASK_ID"], pathlib.Path(sys.argv[1])
def commit(message):
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-qm", message], check=True)
if os.environ.get("CTX_RESOLVE") != "1":
    if tid == "three":
        pathlib.Path("three.py").write_text("THREE = 3\n")
    else:
        pathlib.Path("app.py").write_text(f"def hello():\n    return '{tid}'\n")
    commit(f"work on {tid}")
    sys.exit(0)
with record.open("a") as fh:
    fh.write(f"{tid} resolving {os.environ['CTX_CONFLICTS']!r} merge_head={pathlib.Path(subprocess.run(['git', 'rev-parse', '--git-path', 'MERGE_HEAD'], capture_output=True, text=True).stdout.strip()).exists()}\n")
how = os.environ["HOW"]
if how == "fix":
    pathlib.Path("app.py").write_text("def hello():\n    return 'one and two'\n")
    commit("Merge main")
elif how == "markers":
    commit("Merge main, markers and all")
elif how == "fail":
    sys.exit(1)
elif how == "hang":
    import time
    time.sleep(120)
'''


def front(repo, tid):
    return yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])


def run_plan(repo, tmp_path, how, *args, test="python3 -c 'import app; app.hello()'"):
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    record = tmp_path / "record.txt"
    write_plan(repo, [{"id": "one", "test": test}, {"id": "two", "test": test}, {"id": "three"}])
    proc = ctx(repo, "run", "--merge", "--jobs", "2", "--agent", f"{sys.executable} {script} {record}", *args,
               env={"HOW": how})
    resolved = record.read_text().splitlines() if record.exists() else []
    return proc, resolved


def the_second(resolved):
    """The task whose merge conflicted: whichever of one and two finished last."""
    ids = {line.split()[0] for line in resolved}
    assert len(ids) == 1, resolved
    return ids.pop()


def test_conflict_resolved_by_the_agent_is_tested_and_merged(repo, tmp_path):
    proc, resolved = run_plan(repo, tmp_path, "fix")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    second = the_second(resolved)
    assert resolved == [f"{second} resolving 'app.py' merge_head=True"]  # the worktree was prepared, files named
    assert (repo / "app.py").read_text() == "def hello():\n    return 'one and two'\n"
    for tid in ("one", "two", "three"):
        assert front(repo, tid)["status"] == "completed" and front(repo, tid)["merged"], tid
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_a_resolving_agent_does_not_outlive_a_run_killed_with_kill_9(repo, tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    record = tmp_path / "record.txt"
    write_plan(repo, [{"id": "one"}, {"id": "two"}, {"id": "three"}])
    run = subprocess.Popen([sys.executable, "-m", "ctx", "run", "--merge", "--jobs", "2", "--agent",
                            f"{sys.executable} {script} {record}"], cwd=repo, env=dict(os.environ, HOW="hang"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not record.exists() and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert record.exists(), "no resolving agent started"
    assert processes_with(str(script))  # the resolving agent is at work
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.time() + 10
    while processes_with(str(script)) and time.time() < deadline:
        time.sleep(0.05)
    assert processes_with(str(script)) == []


def test_failed_resolution_blocks_the_task_keeps_its_worktree_and_others_merge(repo, tmp_path):
    proc, resolved = run_plan(repo, tmp_path, "fail", "--resolve-attempts", "2")
    assert proc.returncode == 1
    second = the_second(resolved)
    first = "one" if second == "two" else "two"
    assert len(resolved) == 2  # two attempts, each in the prepared worktree
    meta = front(repo, second)
    assert meta["status"] == "blocked" and not meta.get("merged")
    assert meta["reason"].startswith("merge conflict with main in app.py: not resolved after 2 attempts")
    assert front(repo, first)["merged"] and front(repo, "three")["merged"]
    assert (repo / "app.py").read_text() == f"def hello():\n    return '{first}'\n"  # the base holds no half-merge
    assert not (repo / ".git/MERGE_HEAD").exists() and git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    wt = repo / "worktrees" / second
    assert "<<<<<<<" in (wt / "app.py").read_text()  # kept as the agent left it: still mid-merge
    assert git(wt, "rev-parse", "-q", "--verify", "MERGE_HEAD")


def test_markers_left_by_the_agent_are_never_merged(repo, tmp_path):
    proc, resolved = run_plan(repo, tmp_path, "markers", "--resolve-attempts", "3")
    assert proc.returncode == 1
    second = the_second(resolved)
    assert len(resolved) == 1  # no second attempt on top of a commit with markers
    assert "conflict markers left in app.py" in front(repo, second)["reason"]
    assert not front(repo, second).get("merged")
    assert "<<<<<<<" not in (repo / "app.py").read_text()
    assert "<<<<<<<" in git(repo, "show", f"feature/{second}:app.py")  # the agent's commit is kept, unmerged


def test_resolution_whose_tests_fail_is_not_merged(repo, tmp_path):
    # the task's own work passes its test; the resolution the agent commits does not
    proc, resolved = run_plan(repo, tmp_path, "fix", test="python3 -c 'import app; assert \" and \" not in app.hello()'")
    assert proc.returncode == 1
    second = the_second(resolved)
    assert "tests failed after resolving" in front(repo, second)["reason"]
    assert "one and two" not in (repo / "app.py").read_text()


def test_no_resolution_attempt_when_told_so(repo, tmp_path):
    proc, resolved = run_plan(repo, tmp_path, "fix", "--resolve-attempts", "0")
    assert proc.returncode == 1 and resolved == []
    blocked = [tid for tid in ("one", "two") if front(repo, tid)["status"] == "blocked"]
    assert len(blocked) == 1 and front(repo, blocked[0])["reason"] == "merge conflict with main in app.py"


def clash(repo):
    write_plan(repo, [{"id": "clash"}])
    ctx(repo, "setup", check=True)
    wt = repo / "worktrees/clash"
    (wt / "app.py").write_text("def hello():\n    return 'task'\n")
    git(wt, "commit", "-qam", "task work")
    ctx(wt, "task", "complete", "clash", check=True)
    (repo / "app.py").write_text("def hello():\n    return 'main'\n")
    git(repo, "commit", "-qam", "main moved on")
    assert ctx(repo, "merge").returncode == 1
    return wt


def test_resolve_by_hand(repo):
    wt = clash(repo)
    proc = ctx(repo, "resolve", "clash")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == [f"resolve clash: merged main into feature/clash in {wt}; 1 conflicted file:",
                                             "  app.py"]
    assert "ctx merge clash" in proc.stdout
    assert git(wt, "rev-parse", "-q", "--verify", "MERGE_HEAD") == git(repo, "rev-parse", "main")
    assert "<<<<<<<" in (wt / "app.py").read_text()
    again = json.loads(ctx(repo, "resolve", "clash", "--json").stdout)  # a second call changes nothing
    assert again == {"task": "clash", "worktree": str(wt), "branch": "feature/clash", "base": "main",
                     "state": "conflicted", "files": ["app.py"]}
    assert "<<<<<<<" in (wt / "app.py").read_text()
    (wt / "app.py").write_text("def hello():\n    return 'task and main'\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "Merge main into feature/clash")
    assert json.loads(ctx(repo, "resolve", "clash", "--json").stdout)["state"] == "up to date"
    ctx(wt, "task", "complete", "clash", check=True)
    ctx(repo, "merge", "clash", check=True)
    assert (repo / "app.py").read_text() == "def hello():\n    return 'task and main'\n"


def test_resolve_refuses_what_it_would_lose_or_cannot_find(repo):
    wt = clash(repo)
    (wt / "README.md").write_text("an edit not yet committed\n")
    proc = ctx(repo, "resolve", "clash")
    assert proc.returncode == 1 and "worktrees/clash has uncommitted changes (README.md)" in proc.stderr
    assert "hint: commit them on feature/clash" in proc.stderr
    assert not subprocess.run(["git", "rev-parse", "-q", "--verify", "MERGE_HEAD"], cwd=wt).returncode == 0
    assert (wt / "README.md").read_text() == "an edit not yet committed\n"
    proc = ctx(repo, "resolve", "nope")
    assert proc.returncode == 2 and "no task with id 'nope'" in proc.stderr and "Traceback" not in proc.stderr
