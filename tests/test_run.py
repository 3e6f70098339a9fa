"""ctx run: real agent processes in real worktrees; merges between waves; timeouts; interrupts; resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from helpers import ctx, git, write_plan

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
