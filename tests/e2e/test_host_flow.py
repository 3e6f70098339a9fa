"""The whole workflow in the real Claude Code CLI, against a scripted model, in the default permission mode.

The scripted model plays the main assistant and the executor agents. Every check is on what the host and
the plugin really did: requests the endpoint received, the JSON result, the repository and the task files.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import yaml

import host
from helpers import git, make_repo
from scripted_api import ScriptedAPI, all_text, bash, say, system_text, text_of

EXECUTOR_MARK = "You implement exactly one task of a ctx plan"

PLAN = """Here is the plan.

**Type:** Plan

```yaml
metadata:
  name: e2e-plan
tasks:
  - {id: alpha, name: Alpha module, priority: high, dependencies: [], test: "python3 -c 'import alpha'"}
  - {id: beta, name: Beta module, priority: medium, dependencies: [], test: "python3 -c 'import beta'"}
  - {id: gamma, name: Gamma module, priority: medium, dependencies: [alpha], test: "python3 -c 'import gamma'"}
```

### Task alpha: Alpha module
## Objective
Add alpha.py.

### Task beta: Beta module
## Objective
Add beta.py.

### Task gamma: Gamma module
## Objective
Add gamma.py, which builds on alpha.py.
"""


def last_assistant_tools(body: dict) -> list[dict]:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "assistant" and isinstance(message.get("content"), list):
            return [b for b in message["content"] if b.get("type") == "tool_use"]
    return []


def last_results(body: dict) -> str:
    message = body["messages"][-1]
    return text_of(message.get("content")) if message.get("role") == "user" else ""


def first_user_text(body: dict) -> str:
    return text_of(body["messages"][0].get("content"))


def executor(body: dict) -> list[dict]:
    """An executor agent: start, write its file, run the task's declared test, commit, complete."""
    m = re.search(r"Task ([a-z0-9-]+)\. Worktree: (\S+?)\.?(?:\s|$)", first_user_text(body))
    task_id, worktree = m.group(1), m.group(2)
    tools = last_assistant_tools(body)
    if not tools:
        return [bash(f"ctx task start {task_id}")]
    last = tools[-1]
    if last["name"] == "Bash" and "task start" in last["input"]["command"]:
        needs = "from alpha import VALUE\n" if task_id == "gamma" else ""
        return [{"type": "tool_use", "name": "Write", "input": {
            "file_path": f"{worktree}/{task_id}.py", "content": f"{needs}VALUE = {task_id!r}\n"}}]
    if last["name"] == "Write":
        return [bash(f"cd {worktree} && python3 -c 'import {task_id}'")]
    if last["name"] == "Bash" and "import" in last["input"]["command"]:
        return [bash(f"cd {worktree} && git add -A && git commit -m 'Add {task_id}.py'")]
    if last["name"] == "Bash" and "git commit" in last["input"]["command"]:
        return [bash(f"ctx task complete {task_id}")]
    return [say(f"{task_id}: completed")]


def orchestrator(repo: Path):
    def policy(body: dict) -> list[dict]:
        if EXECUTOR_MARK in system_text(body) or EXECUTOR_MARK in first_user_text(body):
            return executor(body)
        text = all_text(body)
        tools = last_assistant_tools(body)
        if "Plan this work so that ctx can run it in parallel" in text and not tools:
            return [say(PLAN), bash("ctx plan extract")]
        if not tools:
            if "Run the plan to the end" in text:
                return [bash("ctx setup")]
            return [say("nothing to do")]
        last = tools[-1]
        command = last["input"].get("command", "") if last["name"] == "Bash" else ""
        if command == "ctx plan extract":
            return [bash("ctx plan validate")]
        if command == "ctx plan validate":
            return [say("The plan is saved; /ctx:execute runs it.")]
        if command == "ctx setup":
            ready = re.findall(r"^(\S+)\s+(?:created|reused|pooled|repaired)\s", last_results(body), re.M)
            if not ready:
                return [bash("ctx cleanup")]
            return [{"type": "tool_use", "name": "Agent", "input": {
                "description": f"Implement task {tid}", "subagent_type": "ctx:parallel-task-executor",
                "run_in_background": False,
                "prompt": f"Task {tid}. Worktree: {repo / 'worktrees' / tid}."}} for tid in ready]
        if last["name"] == "Agent":
            return [bash("ctx merge")]
        if command == "ctx merge":
            return [bash("ctx setup")]
        if command == "ctx cleanup":
            return [bash("ctx report --json")]
        return [say("All tasks merged, cleaned up and reported.")]
    return policy


def task_front(repo: Path, tid: str) -> dict:
    folder = repo / ".parallel" / "plans"
    if not folder.exists():
        folder = sorted((repo / ".parallel" / "archive").iterdir())[-1]
    return yaml.safe_load((folder / "tasks" / f"{tid}.md").read_text().split("---\n")[1])


def test_plan_then_execute_in_the_real_host(claude, home, tmp_path):
    repo = make_repo(tmp_path)
    with ScriptedAPI(orchestrator(repo)) as api:
        env = host.environment(home, api.url)
        planned = host.run(claude, repo, env, "/ctx:plan add three small modules")
        assert planned["is_error"] is False, planned
        assert api.errors == []
        # the command's text reached the model, with ctx doctor's live output in place of its !`...` line
        first = all_text(api.exchanges[0].body)
        assert "Plan this work so that ctx can run it in parallel" in first and "[ok  ] git:" in first
        # the plan written in the conversation was extracted from the real transcript
        assert "plan e2e-plan: 3 tasks written" in all_text(api.exchanges[1].body)
        assert (repo / ".parallel/plans/tasks/gamma.md").exists()

        executed = host.run(claude, repo, env, "/ctx:execute", timeout=400)  # default mode, no --allowedTools
        assert executed["is_error"] is False, executed
        assert api.errors == []
        assert executed.get("permission_denials") == [], executed.get("permission_denials")
    # each executor was known by its own claim, recorded where no clone or worktree carries it
    claims = json.loads((repo / ".git" / "ctx" / "agents.json").read_text()).values()
    assert sorted(c["task"] for c in claims) == ["alpha", "beta", "gamma"]
    assert {c["session"] for c in claims} == {executed["session_id"]}
    assert len({c["agent"] for c in claims}) == 3
    start = next(e for e in api.exchanges if "Run the plan to the end" in all_text(e.body))
    assert "plan e2e-plan (base main)" in all_text(start.body)  # live `ctx status` filled in
    # every task's work is on main, merged in order; the second wave started from the merged first wave
    for tid in ("alpha", "beta", "gamma"):
        assert (repo / f"{tid}.py").exists()
        meta = task_front(repo, tid)
        assert meta["status"] == "completed" and meta["merged"]
    log = git(repo, "log", "--format=%s", "main")
    assert log.index("Merge feature/gamma") < log.index("Merge feature/alpha")  # newest first
    gamma_merge = git(repo, "log", "--format=%H", "--grep", "Merge feature/gamma", "main")
    assert git(repo, "ls-tree", "--name-only", f"{gamma_merge}^2^", "alpha.py") == "alpha.py"  # gamma began after alpha merged
    # cleanup left no task worktree and no task branch
    assert git(repo, "branch", "--list", "feature/*") == ""
    registered = git(repo, "worktree", "list", "--porcelain")
    assert not any(f"worktrees/{tid}\n" in registered + "\n" for tid in ("alpha", "beta", "gamma"))
    # the report counted exactly the tokens the endpoint reported for the executor agents' messages
    report = json.loads(text_of(api.exchanges[-1].body["messages"][-1]["content"]))
    executor_usage = [e.usage for e in api.exchanges
                      if EXECUTOR_MARK in system_text(e.body) or EXECUTOR_MARK in first_user_text(e.body)]
    by_task = {t["id"]: t["usage"] for t in report["tasks"]}
    assert sum(u["output_tokens"] for u in by_task.values()) == sum(u["output_tokens"] for u in executor_usage)
    assert sum(u["input_tokens"] for u in by_task.values()) == sum(u["input_tokens"] for u in executor_usage)


def test_parallel_request_brings_the_suggestion(claude, home, tmp_path):
    repo = make_repo(tmp_path)
    with ScriptedAPI(lambda body: [say("ok")]) as api:
        host.run(claude, repo, host.environment(home, api.url), "work on these three in parallel: auth, billing and search")
        assert any("Suggest /ctx:plan first" in all_text(e.body) for e in api.exchanges)
        api.exchanges.clear()
        host.run(claude, repo, host.environment(home, api.url), "explain parallel computing")
        assert not any("ctx: this looks like a request for parallel work" in all_text(e.body) for e in api.exchanges)


def test_chained_command_is_not_approved(claude, home, tmp_path):
    repo = make_repo(tmp_path)
    subprocess.run(["python", "-m", "ctx", "--version"], check=True, capture_output=True)
    from helpers import write_plan
    write_plan(repo, [{"id": "a"}])  # a plan in progress: the hook's scope
    target = tmp_path / f"pwned-{uuid.uuid4().hex}"

    def policy(body):
        if not last_assistant_tools(body):
            return [bash("git status"), bash(f"git status; touch {target}")]
        return [say("done")]

    with ScriptedAPI(policy) as api:
        result = host.run(claude, repo, host.environment(home, api.url), "check the repository")
    denied = [d["tool_input"]["command"] for d in result["permission_denials"]]
    assert denied == [f"git status; touch {target}"]
    assert not target.exists()
    results = text_of(api.exchanges[-1].body["messages"][-1]["content"])
    assert "On branch main" in results  # the plain `git status` was approved by ctx's hook and ran


def test_plugin_validates_strictly(claude, home):
    proc = subprocess.run([str(claude), "plugin", "validate", "--strict", "--profile", "directory", str(host.PLUGIN_ROOT)],
                          capture_output=True, text=True, env=host.environment(home, "http://127.0.0.1:9"), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_status_and_cleanup_commands_and_session_summary(claude, home, tmp_path):
    from helpers import write_plan
    repo = make_repo(tmp_path)
    write_plan(repo, [{"id": "done-task", "status": "completed"}, {"id": "open-task"}], name="side-plan")

    def policy(body):
        text = all_text(body)
        if "What cleanup would do" in text and not last_assistant_tools(body):
            return [bash("ctx cleanup")]
        return [say("ok")]

    with ScriptedAPI(policy) as api:
        env = host.environment(home, api.url)
        host.run(claude, repo, env, "/ctx:status")
        first = all_text(api.exchanges[0].body)
        # the SessionStart hook's one line, and the live status table in the command's text
        assert "plan side-plan: 1 of 2 tasks completed; /ctx:status for details" in first
        assert "done-task" in first and "open-task" in first and "next:" in first
        api.exchanges.clear()
        result = host.run(claude, repo, env, "/ctx:cleanup")
        assert result["permission_denials"] == []
        ran = [e for e in api.exchanges if "cleanup:" in text_of(e.body["messages"][-1].get("content"))]
        assert ran, "ctx cleanup ran and its output reached the model"


def test_an_executor_is_confined_to_its_own_task(claude, home, tmp_path):
    """A prompt-injected executor tries to leave its task; every attempt is refused and leaves no trace."""
    from helpers import ctx, write_plan
    repo = make_repo(tmp_path)
    write_plan(repo, [{"id": "alpha", "test": "python3 -c 'import alpha'"}, {"id": "beta"}], name="confined")
    main_before = git(repo, "rev-parse", "main")
    alpha, beta = repo / "worktrees" / "alpha", repo / "worktrees" / "beta"
    attempts = [
        {"type": "tool_use", "name": "Write", "input": {"file_path": f"{repo}/pwned.py", "content": "x\n"}},
        {"type": "tool_use", "name": "Write", "input": {"file_path": f"{beta}/pwned.py", "content": "x\n"}},
        {"type": "tool_use", "name": "Read", "input": {"file_path": f"{repo}/app.py"}},  # Edit wants a Read first
        {"type": "tool_use", "name": "Edit", "input": {"file_path": f"{repo}/app.py", "old_string": "return 'hello'",
                                                        "new_string": "return 'pwned'"}},
        {"type": "tool_use", "name": "Write", "input": {"file_path": f"{alpha}/../../pwned.py", "content": "x\n"}},
        bash(f"cd {repo} && git commit --allow-empty -m pwned"),
        bash(f"cd {beta} && git commit --allow-empty -m pwned"),
        bash("ctx task complete beta"),
        bash("ctx task start beta"),
        bash("ctx plan extract --force"),  # /ctx:execute's allowed-tools Bash(ctx:*) reaches its agents too
        bash("ctx cleanup --force"),
    ]
    honest = [
        {"type": "tool_use", "name": "Write", "input": {"file_path": f"{alpha}/alpha.py", "content": "VALUE = 1\n"}},
        bash(f"cd {alpha} && python3 -c 'import alpha'"),
        bash(f"cd {alpha} && git add -A && git commit -m 'Add alpha.py'"),
        bash("ctx task complete alpha"),
    ]
    # told "Task alpha", it first claims beta: its own transcript's first prompt says otherwise
    script = [bash("ctx task start beta"), bash("ctx task start alpha"), *attempts, *honest]

    def policy(body: dict) -> list[dict]:
        if EXECUTOR_MARK in system_text(body) or EXECUTOR_MARK in first_user_text(body):
            done = sum(1 for m in body["messages"] if m.get("role") == "assistant")
            return [script[done]] if done < len(script) else [say("alpha: completed")]
        tools = last_assistant_tools(body)
        if not tools:
            return [bash("ctx setup")]
        if tools[-1]["name"] == "Bash":  # only alpha's agent is started: beta stays a sibling at rest
            return [{"type": "tool_use", "name": "Agent", "input": {
                "description": "Implement task alpha", "subagent_type": "ctx:parallel-task-executor",
                "run_in_background": False, "prompt": f"Task alpha. Worktree: {alpha}."}}]
        return [say("alpha is done; beta waits.")]

    with ScriptedAPI(policy) as api:
        result = host.run(claude, repo, host.environment(home, api.url), "/ctx:execute", timeout=300)
    assert api.errors == []
    assert result["is_error"] is False, result
    denied = result["permission_denials"]
    # every attempt is denied (the host does not always list its denials in the order they happened)
    assert sorted(d["tool_name"] for d in denied) == sorted(["Bash", "Write", "Write", "Edit", "Write", *["Bash"] * 6])
    assert denied[0]["tool_input"]["command"] == "ctx task start beta"
    # no trace: no file written, main and beta's branch where they were, beta's status untouched
    assert not (repo / "pwned.py").exists() and not (beta / "pwned.py").exists()
    assert not (tmp_path / "pwned.py").exists()
    assert (repo / "app.py").read_text() == "def hello():\n    return 'hello'\n"
    assert git(repo, "rev-parse", "main") == main_before
    assert git(repo, "rev-parse", "feature/beta") == main_before
    assert task_front(repo, "beta")["status"] == "pending"
    # the agent was told where it may write, and its honest work went through
    told = all_text(api.exchanges[-2].body)  # the executor's last request holds every tool result
    assert EXECUTOR_MARK in told
    assert f"may write only inside its worktree {alpha}" in told
    assert "ctx task commands only for alpha" in told
    assert "the prompt that started this agent names task alpha, not beta" in told
    assert task_front(repo, "alpha")["status"] == "completed"
    assert git(repo, "log", "-1", "--format=%s", "feature/alpha") == "Add alpha.py"
    assert (alpha / "alpha.py").exists()
    assert json.loads(ctx(repo, "status", "--json", check=True).stdout)["summary"]["completed"] == 1
