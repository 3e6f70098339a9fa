"""ctx run: real agent processes in real worktrees; merges between waves; timeouts; interrupts; resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from helpers import ctx, git, processes_with, write_plan

COMMIT = 'echo "$CTX_TASK_ID" > "$CTX_TASK_ID.txt" && git add -A && git commit -qm "$CTX_TASK_ID"'


def front(repo, tid):
    return yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])


def test_merge_mode_runs_dependents_on_merged_work(repo):
    write_plan(repo, [{"id": "lib"}, {"id": "app", "dependencies": ["lib"]}, {"id": "docs"}])
    agent = 'if [ "$CTX_TASK_ID" = app ]; then test -f lib.txt || { echo "lib.txt missing"; exit 1; }; fi; ' + COMMIT
    proc = ctx(repo, "run", "--merge", "--agent", agent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for tid in ("lib", "app", "docs"):
        assert front(repo, tid)["status"] == "completed" and front(repo, tid)["merged"]
        assert (repo / f"{tid}.txt").exists()
    assert "wall clock" in proc.stdout  # ends with the report
    lines = [l for l in proc.stdout.splitlines() if l.startswith("[")]
    assert lines and all("\033" not in l for l in lines)  # plain lines when stdout is not a terminal
    order = [l.split("]", 1)[1].split()[0] for l in lines if " merged " in l]
    assert order.index("lib") < order.index("app")


def test_failures_and_empty_runs_are_blocked_with_the_log_tail(repo):
    write_plan(repo, [{"id": "good"}, {"id": "bad"}, {"id": "lazy"}])
    agent = ('case "$CTX_TASK_ID" in bad) echo "E   AssertionError: 2 != 3"; exit 1;; lazy) echo thinking; exit 0;; esac; '
             + COMMIT)
    proc = ctx(repo, "run", "--agent", agent)
    assert proc.returncode == 1
    assert front(repo, "good")["status"] == "completed"
    assert front(repo, "bad")["status"] == "blocked" and "AssertionError: 2 != 3" in front(repo, "bad")["reason"]
    assert "left no commit" in front(repo, "lazy")["reason"]
    assert "AssertionError" in (repo / ".parallel/logs/bad.log").read_text()
    assert "feature/good" in git(repo, "branch", "--list")  # without --merge nothing is merged


def test_without_merge_dependents_wait_and_say_why(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    proc = ctx(repo, "run", "--agent", COMMIT)
    assert proc.returncode == 1
    assert "not started: b: waits for a to be merged" in proc.stdout
    assert front(repo, "b")["status"] == "pending"


def test_timeout_stops_the_agent_and_its_children(repo, tmp_path):
    write_plan(repo, [{"id": "slow"}])
    pidfile = tmp_path / "child.pid"
    agent = f'sleep 60 & echo $! > {pidfile}; wait'
    proc = ctx(repo, "run", "--timeout", "1", "--agent", agent)
    assert proc.returncode == 1
    meta = front(repo, "slow")
    assert meta["status"] == "blocked" and meta["reason"].startswith("timed out after 1 s")
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert (repo / "worktrees/slow").is_dir()  # left as it was


def test_sigterm_interrupts_then_resume_finishes(repo, tmp_path):
    write_plan(repo, [{"id": "one"}, {"id": "two"}])
    marker = tmp_path / "started"
    agent = f'touch {marker}-$CTX_TASK_ID; sleep 60'
    run = subprocess.Popen([sys.executable, "-m", "ctx", "run", "--agent", agent], cwd=repo,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not (Path(f"{marker}-one").exists() and Path(f"{marker}-two").exists()) and time.time() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 130, out + err
    for tid in ("one", "two"):
        meta = front(repo, tid)
        assert meta["status"] == "blocked" and meta["reason"].startswith("interrupted")
    leftover = subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True, text=True).stdout
    assert leftover == ""
    refused = ctx(repo, "run", "--agent", COMMIT)
    assert refused.returncode == 1 and front(repo, "one")["status"] == "blocked"  # blocked tasks are not re-run
    resumed = ctx(repo, "run", "--resume", "--agent", COMMIT)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert front(repo, "one")["status"] == "completed" and front(repo, "two")["status"] == "completed"


def test_refuses_to_start_over_tasks_in_progress(repo):
    write_plan(repo, [{"id": "a", "status": "in_progress"}])
    proc = ctx(repo, "run", "--agent", COMMIT)
    assert proc.returncode == 1 and "already in progress: a" in proc.stderr and "--resume" in proc.stderr


def test_task_agent_and_environment(repo):
    write_plan(repo, [{"id": "a", "agent": 'printf "%s|%s|%s" "$CTX_TASK_ID" "$CTX_WORKTREE" "$CTX_TASK_FILE" > env.txt && git add -A && git commit -qm env'}])
    ctx(repo, "run", check=True)
    text = git(repo, "show", "feature/a:env.txt")
    tid, worktree, task_file = text.split("|")
    assert tid == "a" and worktree == str(repo / "worktrees/a") and task_file.endswith(".parallel/plans/tasks/a.md")


def test_default_agent_needs_claude(repo):
    write_plan(repo, [{"id": "a"}])
    proc = ctx(repo, "run", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1 and "`claude` is not on PATH" in proc.stderr and "--agent" in proc.stderr


def test_pr_mode_and_tokens_from_stream_json(repo, tmp_path):
    import json as _json
    stub = Path(__file__).parent / "bin"
    env = {"PATH": f"{stub}{os.pathsep}{os.environ['PATH']}", "GH_STUB_LOG": str(tmp_path / "gh.log"),
           "GH_STUB_STATE": str(tmp_path / "gh.json")}
    write_plan(repo, [{"id": "solo", "name": "Solo task"}])
    line = _json.dumps({"type": "assistant", "message": {"id": "msg_1", "model": "claude-haiku-4-5",
                        "usage": {"input_tokens": 1200, "output_tokens": 300}, "content": []}})
    agent = f"echo '{line}' && " + COMMIT
    proc = ctx(repo, "run", "--pr", "--agent", agent, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prs = _json.loads((tmp_path / "gh.json").read_text())
    assert [(p["head"], p["base"], p["title"]) for p in prs] == [("feature/solo", "main", "Solo task")]
    assert "tokens 1500" in proc.stdout  # the closing report counted the agent's stream-json


# -- supervision: preflight, test gate, signals, kills, resume --------------------------------------

def counting_agent(tmp_path, sleep: float = 0.0) -> str:
    """An agent that records each start in a per-task log, then (after a pause) commits its work."""
    logs = tmp_path / "starts"
    logs.mkdir(exist_ok=True)
    pause = f"sleep {sleep}; " if sleep else ""
    return f'echo start >> {logs}/$CTX_TASK_ID; {pause}' + COMMIT


def starts(tmp_path, tid) -> int:
    path = tmp_path / "starts" / tid
    return path.read_text().count("start") if path.exists() else 0


def merges_of(repo, tid) -> int:
    return git(repo, "log", "--merges", "--format=%s", "main").count(f"Merge feature/{tid}:")


def test_preflight_refuses_a_dirty_checkout_before_any_agent_starts(repo, tmp_path):
    write_plan(repo, [{"id": "a"}])
    (repo / "app.py").write_text("changed\n")
    proc = ctx(repo, "run", "--merge", "--agent", counting_agent(tmp_path))
    assert proc.returncode == 1
    assert "ctx: error: the main checkout has uncommitted changes to tracked files (app.py)" in proc.stderr
    assert "hint: commit or stash them" in proc.stderr and "Traceback" not in proc.stderr
    assert starts(tmp_path, "a") == 0 and not (repo / "worktrees/a").exists()
    assert front(repo, "a")["status"] == "pending"
    assert not (repo / ".parallel/run.json").exists()
    assert ctx(repo, "run", "--agent", counting_agent(tmp_path)).returncode == 0  # without --merge: fine


def test_preflight_refuses_detached_head_merge_head_and_stale_locks(repo, tmp_path):
    write_plan(repo, [{"id": "a"}], base="main")
    git(repo, "checkout", "-q", "--detach")
    proc = ctx(repo, "run", "--merge", "--agent", counting_agent(tmp_path))
    assert proc.returncode == 1 and "the main checkout is on a detached HEAD" in proc.stderr
    assert "git -C" in proc.stderr and "checkout main" in proc.stderr
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "app.py").write_text("side\n")
    git(repo, "commit", "-qam", "side")
    git(repo, "checkout", "-q", "main")
    (repo / "app.py").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    subprocess.run(["git", "merge", "side"], cwd=repo, capture_output=True)
    proc = ctx(repo, "run", "--merge", "--agent", counting_agent(tmp_path))
    assert proc.returncode == 1 and "MERGE_HEAD" in proc.stderr and "git merge --abort" in proc.stderr
    git(repo, "merge", "--abort")
    (repo / ".git/index.lock").write_text("")
    proc = ctx(repo, "run", "--merge", "--agent", counting_agent(tmp_path))
    assert proc.returncode == 1 and f"{repo / '.git/index.lock'} exists" in proc.stderr
    assert f"rm {repo / '.git/index.lock'}" in proc.stderr
    assert starts(tmp_path, "a") == 0 and front(repo, "a")["status"] == "pending"


def test_a_failing_task_test_blocks_it_with_the_output_tail_and_never_merges(repo, tmp_path):
    write_plan(repo, [{"id": "good", "test": "test -f good.txt"},
                      {"id": "bad", "test": "echo 'FAILED test_bad - assert 1 == 2'; exit 3"},
                      {"id": "after", "dependencies": ["bad"]}])
    proc = ctx(repo, "run", "--merge", "--agent", counting_agent(tmp_path))
    assert proc.returncode == 1
    assert front(repo, "good")["merged"] and (repo / "good.txt").exists()
    bad = front(repo, "bad")
    assert bad["status"] == "blocked" and "tests failed in worktrees/bad" in bad["reason"]
    assert "exited 3" in bad["reason"] and "FAILED test_bad - assert 1 == 2" in bad["reason"]
    assert not (repo / "bad.txt").exists() and merges_of(repo, "bad") == 0
    assert "feature/bad" in git(repo, "branch", "--list")  # the work is kept
    assert front(repo, "after")["status"] == "pending" and starts(tmp_path, "after") == 0


def test_run_test_option_gates_every_task(repo, tmp_path):
    write_plan(repo, [{"id": "ok"}, {"id": "nope"}])
    test = 'test "$(cat *.txt)" != nope'
    proc = ctx(repo, "run", "--merge", "--test", test, "--agent", counting_agent(tmp_path))
    assert proc.returncode == 1
    assert front(repo, "ok")["merged"] and not front(repo, "nope").get("merged")
    assert front(repo, "nope")["reason"].startswith("tests failed in worktrees/nope")


def test_tasks_start_in_plan_show_order(repo, tmp_path):
    write_plan(repo, [{"id": "zeta", "priority": "low"}, {"id": "alpha", "priority": "low"},
                      {"id": "mid", "priority": "blocker"}, {"id": "beta", "priority": "high"}])
    proc = ctx(repo, "run", "--jobs", "1", "--agent", counting_agent(tmp_path))
    assert proc.returncode == 0
    started = [l.split()[2] for l in proc.stdout.splitlines() if l.startswith("[") and " running " in l]
    shown = ctx(repo, "plan", "show", "--json")
    import json as _json
    assert started == [i for wave in _json.loads(shown.stdout)["waves"] for i in wave] == ["mid", "beta", "alpha", "zeta"]


def _wait_for(predicate, seconds=20.0):
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(0.02)
    assert predicate()


def test_sighup_stops_agents_like_sigterm(repo, tmp_path):
    write_plan(repo, [{"id": "one"}])
    run = subprocess.Popen([sys.executable, "-m", "ctx", "run", "--agent", counting_agent(tmp_path, 60)], cwd=repo,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: starts(tmp_path, "one") == 1)
    run.send_signal(signal.SIGHUP)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 130, out + err
    assert front(repo, "one")["reason"].startswith("interrupted")
    assert processes_with(str(repo / "worktrees")) == []


def test_agents_die_with_a_killed_run_and_resume_runs_them_once_more(repo, tmp_path):
    write_plan(repo, [{"id": "one"}, {"id": "two", "dependencies": ["one"]}])
    agent = counting_agent(tmp_path, 60)
    run = subprocess.Popen([sys.executable, "-m", "ctx", "run", "--merge", "--agent", agent], cwd=repo,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: starts(tmp_path, "one") == 1)
    record = yaml.safe_load((repo / ".parallel/run.json").read_text())
    assert record["pid"] == run.pid and record["start"]
    run.kill()  # SIGKILL: ctx alone, no chance to clean up
    run.wait()
    _wait_for(lambda: processes_with(str(repo / "worktrees")) == [])  # the guard took the agent down with it
    assert front(repo, "one")["status"] == "in_progress"
    resumed = ctx(repo, "run", "--resume", "--merge", "--agent", counting_agent(tmp_path))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert starts(tmp_path, "one") == 2 and starts(tmp_path, "two") == 1
    assert merges_of(repo, "one") == 1 and merges_of(repo, "two") == 1
    assert not (repo / ".parallel/run.json").exists()


def test_resume_never_reruns_an_agent_that_finished(repo, tmp_path):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    agent = counting_agent(tmp_path)
    killed = ctx(repo, "run", "--merge", "--agent", agent, env={"CTX_FAULT": "agent-exited:a"})
    assert killed.returncode == -signal.SIGKILL
    assert front(repo, "a")["status"] == "in_progress" and starts(tmp_path, "a") == 1
    resumed = ctx(repo, "run", "--resume", "--merge", "--agent", agent)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert starts(tmp_path, "a") == 1 and merges_of(repo, "a") == 1 and merges_of(repo, "b") == 1


def test_resume_merges_what_completed_before_the_kill(repo, tmp_path):
    write_plan(repo, [{"id": "a"}, {"id": "b"}])
    agent = counting_agent(tmp_path)
    killed = ctx(repo, "run", "--jobs", "1", "--merge", "--agent", agent, env={"CTX_FAULT": "completed:a"})
    assert killed.returncode == -signal.SIGKILL
    assert front(repo, "a")["status"] == "completed" and not front(repo, "a").get("merged")
    resumed = ctx(repo, "run", "--resume", "--merge", "--agent", agent)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert starts(tmp_path, "a") == 1 and merges_of(repo, "a") == 1 and merges_of(repo, "b") == 1


def test_resume_adopts_a_live_agent_instead_of_starting_another(repo, tmp_path):
    """An agent of an earlier run that still lives is waited for, and its work merged."""
    import json as _json
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", "a", check=True)
    ctx(repo, "task", "start", "a", check=True)
    worktree = repo / "worktrees/a"
    base_tip = git(worktree, "rev-parse", "HEAD")
    agents = repo / ".parallel/agents"
    agents.mkdir(parents=True)
    guard = Path(__file__).resolve().parent.parent / "scripts/agent_guard.py"
    go = tmp_path / "go"
    script = f'while [ ! -e {go} ]; do sleep 0.05; done; ' + COMMIT
    live = subprocess.Popen([sys.executable, str(guard), str(agents / "a.exit"), str(os.getpid()), "--",
                             "/bin/sh", "-c", script], cwd=worktree, start_new_session=True,
                            env=dict(os.environ, CTX_TASK_ID="a"))
    stat = Path(f"/proc/{live.pid}/stat").read_text()
    start = int(stat[stat.rfind(")") + 2:].split()[19])
    (agents / "a.json").write_text(_json.dumps({"task": "a", "pid": live.pid, "start": start, "token": "t0ken",
                                                "since": "", "base_tip": base_tip, "run_pid": 1}))
    out = tmp_path / "out.txt"
    with open(out, "w") as fh:
        resumed = subprocess.Popen([sys.executable, "-m", "ctx", "run", "--resume", "--merge", "--agent",
                                    counting_agent(tmp_path)], cwd=repo, stdout=fh, stderr=subprocess.STDOUT)
        _wait_for(lambda: "adopted the live agent of an earlier run" in out.read_text())
        assert resumed.poll() is None  # waiting for the adopted agent
        go.touch()
        resumed.wait(timeout=60)
    live.wait(timeout=10)
    assert resumed.returncode == 0, out.read_text()
    assert starts(tmp_path, "a") == 0 and merges_of(repo, "a") == 1


def test_a_second_run_refuses_while_one_is_live(repo, tmp_path):
    write_plan(repo, [{"id": "one"}, {"id": "two"}])
    run = subprocess.Popen([sys.executable, "-m", "ctx", "run", "--agent", counting_agent(tmp_path, 60)], cwd=repo,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: starts(tmp_path, "one") == 1)
    second = ctx(repo, "run", "--resume", "--agent", COMMIT)
    assert second.returncode == 1
    assert f"another ctx run is live in this repository (pid {run.pid}" in second.stderr
    assert starts(tmp_path, "one") == 1
    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=30)


def test_a_reused_pid_never_passes_for_the_recorded_run(repo, tmp_path):
    import json as _json
    write_plan(repo, [{"id": "a"}])
    other = subprocess.Popen(["sleep", "60"])
    try:
        stat = Path(f"/proc/{other.pid}/stat").read_text()
        start = int(stat[stat.rfind(")") + 2:].split()[19])
        run_json = repo / ".parallel/run.json"
        run_json.write_text(_json.dumps({"pid": other.pid, "start": start, "since": "earlier", "command": "ctx run"}))
        refused = ctx(repo, "run", "--agent", COMMIT)
        assert refused.returncode == 1 and f"another ctx run is live in this repository (pid {other.pid}" in refused.stderr
        assert front(repo, "a")["status"] == "pending"
        run_json.write_text(_json.dumps({"pid": other.pid, "start": start - 1, "since": "earlier", "command": "ctx run"}))
        proc = ctx(repo, "run", "--agent", COMMIT)  # same pid, another process: that run is gone
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not run_json.exists()
    finally:
        other.kill()
        other.wait()


def test_a_run_killed_during_a_task_test_tests_again_on_resume_without_rerunning_the_agent(repo, tmp_path):
    tests_log = tmp_path / "tests.log"
    write_plan(repo, [{"id": "a", "test": f'echo "tested in $PWD" >> {tests_log}'}])
    agent = counting_agent(tmp_path)
    killed = ctx(repo, "run", "--merge", "--agent", agent, env={"CTX_FAULT": "test-exited:a"})
    assert killed.returncode == -signal.SIGKILL and merges_of(repo, "a") == 0
    resumed = ctx(repo, "run", "--resume", "--merge", "--agent", agent)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    in_worktree = [l for l in tests_log.read_text().splitlines() if l.endswith("/worktrees/a")]
    assert starts(tmp_path, "a") == 1 and len(in_worktree) == 2  # the killed run's test, then again
    assert merges_of(repo, "a") == 1
