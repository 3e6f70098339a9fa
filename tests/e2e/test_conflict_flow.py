"""A merge conflict in the real Claude Code CLI: two executors edit the same line, the second merge
conflicts, /ctx:execute runs `ctx resolve` and spawns the conflict resolver, both changes reach main."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import host
from helpers import git, make_repo, write_plan
from scripted_api import ScriptedAPI, all_text, bash, say, system_text
from test_host_flow import EXECUTOR_MARK, first_user_text, last_assistant_tools, last_results

RESOLVER_MARK = "You resolve the merge conflict of exactly one task"
CHECK = ("import os, sys\nsys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\nimport app\n"
         "assert 'left' in app.hello() and 'right' in app.hello(), app.hello()\nprint('checks passed')\n")
RESOLVED = "def hello():\n    return 'hello left right'\n"


def executor(body: dict) -> list[dict]:
    """Each executor changes the same line of app.py its own way."""
    m = re.search(r"Task ([a-z0-9-]+)\. Worktree: (\S+?)\.?(?:\s|$)", first_user_text(body))
    tid, worktree = m.group(1), m.group(2)
    tools = last_assistant_tools(body)
    if not tools:
        return [bash(f"ctx task start {tid}")]
    last = tools[-1]
    command = last["input"].get("command", "")
    if "task start" in command:
        return [{"type": "tool_use", "name": "Write", "input": {
            "file_path": f"{worktree}/app.py", "content": f"def hello():\n    return 'hello {tid}'\n"}}]
    if last["name"] == "Write":
        return [bash(f"cd {worktree} && git add -A && git commit -m 'Say hello from {tid}'")]
    if "git commit" in command:
        return [bash(f"ctx task complete {tid}")]
    return [say(f"{tid}: completed")]


def resolver(body: dict) -> list[dict]:
    """Take the task, read the marked file, keep both sides, test, commit the merge, complete the task."""
    m = re.search(r"Task ([a-z0-9-]+)\. Worktree: (\S+?)\.?(?:\s|$)", first_user_text(body))
    tid, worktree = m.group(1), m.group(2)
    tools = last_assistant_tools(body)
    if not tools:
        return [bash(f"ctx task start {tid}")]
    last = tools[-1]
    command = last["input"].get("command", "")
    if "task start" in command:
        return [{"type": "tool_use", "name": "Read", "input": {"file_path": f"{worktree}/app.py"}}]
    if last["name"] == "Read":
        return [{"type": "tool_use", "name": "Write", "input": {"file_path": f"{worktree}/app.py", "content": RESOLVED}}]
    if last["name"] == "Write":
        return [bash(f"python3 {worktree}/check.py")]
    if "check.py" in command:
        return [bash(f"cd {worktree} && git add -A && git commit -m 'Merge main into feature/{tid}'")]
    if "git commit" in command:
        return [bash(f"ctx task complete {tid}")]
    return [say(f"{tid}: resolved")]


def orchestrator(repo: Path, resolved: set[str]):
    def policy(body: dict) -> list[dict]:
        if RESOLVER_MARK in system_text(body) or RESOLVER_MARK in first_user_text(body):
            return resolver(body)
        if EXECUTOR_MARK in system_text(body) or EXECUTOR_MARK in first_user_text(body):
            return executor(body)
        tools = last_assistant_tools(body)
        if not tools:
            return [bash("ctx setup")] if "Run the plan to the end" in all_text(body) else [say("nothing to do")]
        last = tools[-1]
        command = last["input"].get("command", "") if last["name"] == "Bash" else ""
        output = last_results(body)
        if command == "ctx setup":
            ready = re.findall(r"^(\S+)\s+(?:created|reused|pooled|repaired)\s", output, re.M)
            if not ready:
                return [bash("ctx cleanup")]
            return [{"type": "tool_use", "name": "Agent", "input": {
                "description": f"Implement task {tid}", "subagent_type": "ctx:parallel-task-executor",
                "run_in_background": False, "prompt": f"Task {tid}. Worktree: {repo / 'worktrees' / tid}."}}
                for tid in ready]
        if last["name"] == "Agent":
            return [bash("ctx merge")]
        if command == "ctx merge":
            conflicted = [t for t in re.findall(r"^(\S+)\s+blocked\s+merge conflict", output, re.M) if t not in resolved]
            if conflicted:
                resolved.update(conflicted)
                return [bash(f"ctx resolve {tid}") for tid in conflicted]
            return [bash("ctx setup")]
        if command.startswith("ctx resolve "):
            tid = command.split()[-1]
            return [{"type": "tool_use", "name": "Agent", "input": {
                "description": f"Resolve the conflict of {tid}", "subagent_type": "ctx:conflict-resolver",
                "run_in_background": False,
                "prompt": f"Task {tid}. Worktree: {repo / 'worktrees' / tid}.\n{output}"}}]
        if command == "ctx cleanup":
            return [bash("ctx report --json")]
        return [say("Done: both tasks merged.")]
    return policy


def test_conflicting_executors_are_resolved_and_both_changes_reach_main(claude, home, tmp_path):
    repo = make_repo(tmp_path)
    (repo / "check.py").write_text(CHECK)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Add the checks")
    write_plan(repo, [{"id": "left", "files": ["app.py"]}, {"id": "right", "files": ["app.py"]}], name="clash-plan")
    warned = subprocess.run(["python", "-m", "ctx", "plan", "validate"], cwd=repo, capture_output=True, text=True)
    assert "warning: tasks left and right both touch app.py" in warned.stderr  # foreseen at plan time
    resolved: set[str] = set()
    with ScriptedAPI(orchestrator(repo, resolved)) as api:
        env = host.environment(home, api.url)
        result = host.run(claude, repo, env, "/ctx:execute", "--allowedTools", "Write", "Bash(python3:*)",
                          timeout=400)
        assert result["is_error"] is False, result
        assert api.errors == []
        assert result.get("permission_denials") == [], result.get("permission_denials")
    start = next(e for e in api.exchanges if "Run the plan to the end" in all_text(e.body))
    assert "`ctx resolve <id>`" in all_text(start.body) and "`ctx:conflict-resolver`" in all_text(start.body)
    assert len(resolved) == 1
    second = resolved.pop()
    # the resolver was spawned by the host as ctx:conflict-resolver, told the files, and found them marked
    resolver_calls = [e for e in api.exchanges if RESOLVER_MARK in system_text(e.body) + first_user_text(e.body)]
    assert resolver_calls, "no conflict-resolver agent ran"
    assert "1 conflicted file:\n  app.py" in first_user_text(resolver_calls[0].body)
    after_read = [json.dumps(e.body["messages"]) for e in resolver_calls
                  if [t["name"] for t in last_assistant_tools(e.body)] == ["Read"]]
    assert after_read and "<<<<<<< HEAD" in after_read[0] and ">>>>>>> " in after_read[0]  # the Read saw markers
    assert any("checks passed" in json.dumps(e.body["messages"]) for e in resolver_calls)  # its tests ran and passed
    # both changes are on main, through merge commits, and the checks pass there
    assert (repo / "app.py").read_text() == RESOLVED
    assert subprocess.run(["python3", "check.py"], cwd=repo).returncode == 0
    log = git(repo, "log", "--format=%s", "main")
    assert "Merge feature/left" in log and "Merge feature/right" in log
    assert f"Merge main into feature/{second}" in log
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
