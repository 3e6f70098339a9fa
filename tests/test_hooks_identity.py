"""Executor agents: identity claimed by their own `ctx task start`, and confined to their task's worktree.

Every check runs the hook as Claude Code runs it (`python3 -S scripts/hooks/run.py pre-tool-use`, the
event as JSON on stdin) in a real repository with a plan in progress and real task worktrees.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from helpers import ctx, git, make_repo, write_plan

ROOT = Path(__file__).resolve().parent.parent
HOOK = ["python3", "-S", str(ROOT / "scripts" / "hooks" / "run.py"), "pre-tool-use"]
EXECUTOR = "ctx:parallel-task-executor"
TEST = "python3 -c 'print(42)'"


def hook(repo: Path, tool: str, tool_input: dict, agent: str | None = "a1", agent_type: str = EXECUTOR,
         session: str = "s1", cwd: Path | None = None, task_env: str | None = None,
         transcript: str = "/nonexistent") -> dict | None:
    event = {"session_id": session, "transcript_path": transcript, "cwd": str(cwd or repo),
             "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": tool_input, "tool_use_id": "t"}
    if agent is not None:
        event.update(agent_id=agent, agent_type=agent_type)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTX_")}
    if task_env:
        env["CTX_TASK_ID"] = task_env
    proc = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return json.loads(proc.stdout)["hookSpecificOutput"] if proc.stdout.strip() else None


def bash(repo: Path, command: str, **kw) -> str | None:
    """allow, deny or None (left to Claude Code)."""
    answer = hook(repo, "Bash", {"command": command, "description": "d"}, **kw)
    return answer and answer["permissionDecision"]


def write(repo: Path, path, **kw) -> dict | None:
    return hook(repo, "Write", {"file_path": str(path), "content": "x\n"}, **kw)


def claims(repo: Path) -> dict:
    path = repo / ".git" / "ctx" / "agents.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture
def repo(tmp_path):
    repo = make_repo(tmp_path)
    write_plan(repo, [{"id": "alpha", "test": TEST}, {"id": "beta"}])
    ctx(repo, "setup", check=True)
    return repo


def wt(repo: Path, tid: str) -> Path:
    return repo / "worktrees" / tid


# --- who is who ------------------------------------------------------------------------------------

def test_main_conversation_keeps_todays_behaviour(repo):
    assert write(repo, repo / "app.py", agent=None) is None  # its edits are left to Claude Code
    assert write(repo, "/etc/passwd", agent=None) is None
    assert bash(repo, "git status", agent=None) == "allow"
    assert bash(repo, "ctx task complete beta", agent=None) == "allow"
    assert claims(repo) == {}


@pytest.mark.parametrize("agent_type", ["general-purpose", "Explore", "ctx:test-runner", ""])
def test_agents_that_are_not_executors_are_left_to_claude_code(repo, agent_type):
    assert bash(repo, "ctx task start alpha", agent_type=agent_type) is None
    assert write(repo, wt(repo, "alpha") / "x.py", agent_type=agent_type) is None
    assert bash(repo, "git status", agent_type=agent_type) is None
    assert claims(repo) == {}


def test_unknown_executor_may_only_claim_and_read(repo):
    answer = write(repo, wt(repo, "alpha") / "x.py")
    assert answer["permissionDecision"] == "deny" and "ctx task start" in answer["permissionDecisionReason"]
    assert bash(repo, "git status") == "allow"
    assert bash(repo, f"cd {wt(repo, 'alpha')} && git log --oneline") == "allow"
    assert bash(repo, "ctx status --json") == "allow"
    assert bash(repo, f"cd {wt(repo, 'alpha')} && git add -A && git commit -m x") == "deny"
    assert bash(repo, "ctx task complete alpha") == "deny"
    assert bash(repo, f"cd {wt(repo, 'alpha')} && {TEST}") is None
    assert claims(repo) == {}


def test_the_first_task_start_claims_the_task(repo):
    assert bash(repo, "ctx task start alpha") == "allow"
    (claim,) = claims(repo).values()
    assert (claim["session"], claim["agent"], claim["task"]) == ("s1", "a1", "alpha")
    assert bash(repo, "ctx task start alpha") == "allow"  # again: same agent, same task
    assert len(claims(repo)) == 1


def test_a_claim_through_cd_into_the_own_worktree(repo):
    assert bash(repo, f"cd {wt(repo, 'beta')} && ctx task start alpha") is None
    assert bash(repo, f"cd {repo} && ctx task start alpha") is None
    assert claims(repo) == {}
    assert bash(repo, f"cd {wt(repo, 'alpha')} && ctx task start alpha") == "allow"
    assert [c["task"] for c in claims(repo).values()] == ["alpha"]


def test_two_agents_cannot_claim_one_task(repo):
    assert bash(repo, "ctx task start alpha", agent="a1") == "allow"
    ctx(repo, "task", "start", "alpha", check=True)
    answer = hook(repo, "Bash", {"command": "ctx task start alpha"}, agent="a2")
    assert answer["permissionDecision"] == "deny"
    assert "already claimed by agent a1" in answer["permissionDecisionReason"]
    assert write(repo, wt(repo, "alpha") / "x.py", agent="a2")["permissionDecision"] == "deny"
    assert [c["agent"] for c in claims(repo).values()] == ["a1"]


def test_concurrent_claims_of_one_task_record_exactly_one(repo):
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: bash(repo, "ctx task start beta", agent=f"agent{i}"), range(8)))
    assert answers.count("allow") == 1 and answers.count("deny") == 7
    (claim,) = claims(repo).values()
    assert claim["agent"] == f"agent{answers.index('allow')}"


def test_a_finished_task_can_be_claimed_again_in_a_later_wave(repo):
    assert bash(repo, "ctx task start beta", agent="a1") == "allow"
    ctx(repo, "task", "start", "beta", check=True)
    assert bash(repo, "ctx task block beta --reason 'tests fail'", agent="a1") == "allow"
    ctx(repo, "task", "block", "beta", "--reason", "tests fail", check=True)
    assert bash(repo, "ctx task start beta", agent="a2") == "allow"  # the retry's new agent
    assert bash(repo, "ctx task complete beta", agent="a1") == "allow"  # the first keeps its own task only
    assert bash(repo, "ctx task start alpha", agent="a1") == "deny"


def test_an_agent_claims_only_the_task_its_first_prompt_names(repo, tmp_path):
    """Claude Code writes a subagent's transcript beside the session's; its first record is the prompt
    the conversation started it with."""
    session = tmp_path / "projects" / "-p" / "s1.jsonl"
    subagents = session.parent / "s1" / "subagents"
    subagents.mkdir(parents=True)
    session.write_text("")
    for agent, prompt in (("a1", f"Task alpha. Worktree: {wt(repo, 'alpha')}."), ("a2", "Implement the next task."),
                          ("a3", [{"type": "text", "text": f"Work in {wt(repo, 'beta')}"}])):
        (subagents / f"agent-{agent}.jsonl").write_text(json.dumps(
            {"parentUuid": None, "isSidechain": True, "agentId": agent, "type": "user",
             "message": {"role": "user", "content": prompt}, "sessionId": "s1"}) + "\n")

    def start(task, agent):
        answer = hook(repo, "Bash", {"command": f"ctx task start {task}"}, agent=agent, transcript=str(session))
        return answer["permissionDecision"], answer["permissionDecisionReason"]

    decision, reason = start("beta", "a1")
    assert decision == "deny" and "names task alpha, not beta" in reason
    decision, reason = start("alpha", "a3")
    assert decision == "deny" and "names task beta, not alpha" in reason
    assert claims(repo) == {}
    assert start("alpha", "a1")[0] == "allow"
    assert start("beta", "a2")[0] == "allow"  # a prompt that names no task: the first claim decides
    assert sorted(c["task"] for c in claims(repo).values()) == ["alpha", "beta"]


def test_before_the_host_writes_the_agents_transcript_the_call_that_started_it_decides(repo, tmp_path):
    """Claude Code may run a subagent's first tool call before writing its transcript; by then the
    agent's .meta.json names the Agent call, which the session's transcript holds."""
    session = tmp_path / "projects" / "-p" / "s1.jsonl"
    subagents = session.parent / "s1" / "subagents"
    subagents.mkdir(parents=True)
    calls = [{"type": "tool_use", "id": f"toolu_{agent}", "name": "Agent",
              "input": {"description": "Implement the task", "prompt": prompt, "subagent_type": "ctx:parallel-task-executor"}}
             for agent, prompt in (("a1", f"Task alpha. Worktree: {wt(repo, 'alpha')}."), ("a2", "Task beta."))]
    lines = [{"type": "user", "message": {"role": "user", "content": "/ctx:execute"}},
             {"type": "assistant", "message": {"role": "assistant", "content": calls}},
             {"type": "user", "message": {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "toolu_a1", "content": "Task beta, says the result"}]}}]
    session.write_text("".join(json.dumps(line) + "\n" for line in lines) + "x" * 200_000 + "\n")
    for agent in ("a1", "a2"):
        (subagents / f"agent-{agent}.meta.json").write_text(json.dumps(
            {"agentType": "ctx:parallel-task-executor", "description": "Implement the task", "toolUseId": f"toolu_{agent}"}))
    (subagents / "agent-a3.meta.json").write_text(json.dumps(  # its call is not in the transcript yet
        {"agentType": "ctx:parallel-task-executor", "description": "Implement task beta", "toolUseId": "toolu_a3"}))

    def start(task, agent):
        answer = hook(repo, "Bash", {"command": f"ctx task start {task}"}, agent=agent, transcript=str(session))
        return answer["permissionDecision"], answer["permissionDecisionReason"]

    decision, reason = start("beta", "a1")
    assert decision == "deny" and "names task alpha, not beta" in reason
    decision, reason = start("alpha", "a3")  # the description is all there is: it names beta
    assert decision == "deny" and "names task beta, not alpha" in reason
    assert start("alpha", "a1")[0] == "allow"
    assert start("beta", "a2")[0] == "allow"


def test_an_agent_that_blocked_its_task_no_longer_holds_it(repo):
    assert bash(repo, "ctx task start beta", agent="a1") == "allow"
    ctx(repo, "task", "start", "beta", check=True)
    assert bash(repo, "ctx task start beta", agent="a2") == "deny"  # a1 is at work on it
    assert bash(repo, "ctx task block beta --reason x", agent="a1") == "allow"
    ctx(repo, "task", "block", "beta", "--reason", "x", check=True)
    ctx(repo, "task", "start", "beta", check=True)  # a person restarts it, in progress again
    assert bash(repo, "ctx task start beta", agent="a2") == "allow"


def test_claims_belong_to_one_plan(repo):
    assert bash(repo, "ctx task start alpha", agent="a1") == "allow"
    ctx(repo, "task", "start", "alpha", check=True)
    write_plan(repo, [{"id": "alpha"}, {"id": "beta"}], name="next-plan")  # the same ids, another plan
    assert write(repo, wt(repo, "alpha") / "x.py", agent="a1")["permissionDecision"] == "deny"
    assert bash(repo, "ctx task start alpha", agent="a2") == "allow"


def test_an_agent_claims_one_task_only(repo):
    assert bash(repo, "ctx task start alpha") == "allow"
    answer = hook(repo, "Bash", {"command": "ctx task start beta"})
    assert answer["permissionDecision"] == "deny" and "only for alpha" in answer["permissionDecisionReason"]
    assert [c["task"] for c in claims(repo).values()] == ["alpha"]


def test_an_agent_of_another_session_gets_nothing_from_this_sessions_claim(repo):
    assert bash(repo, "ctx task start alpha", session="s1") == "allow"
    assert write(repo, wt(repo, "alpha") / "x.py", session="s2")["permissionDecision"] == "deny"
    assert bash(repo, f"cd {wt(repo, 'alpha')} && git add -A && git commit -m x", session="s2") == "deny"
    assert bash(repo, "ctx task start beta", session="s2") == "allow"  # its own claim, in its own session
    assert write(repo, wt(repo, "beta") / "x.py", session="s2")["permissionDecision"] == "allow"
    assert write(repo, wt(repo, "beta") / "x.py", session="s1")["permissionDecision"] == "deny"


def test_claims_of_unknown_tasks_and_tasks_without_worktree_are_refused(repo):
    assert bash(repo, "ctx task start gamma") == "deny"
    write_plan(repo, [{"id": "alpha", "test": TEST}, {"id": "beta"}, {"id": "delta"}])
    answer = hook(repo, "Bash", {"command": "ctx task start delta"})
    assert answer["permissionDecision"] == "deny" and "no worktree" in answer["permissionDecisionReason"]
    assert claims(repo) == {}


def test_a_plan_shipped_in_the_repository_gives_no_identity(repo):
    git(repo, "add", "-f", ".parallel/plans/plan.yaml")
    answer = hook(repo, "Bash", {"command": "ctx task start alpha"})
    assert answer is None or answer["permissionDecision"] != "allow"
    assert claims(repo) == {}


def test_a_shipped_plan_is_seen_in_an_index_of_version_4(repo):
    from ctx.hooks.identity import plan_shipped
    git(repo, "update-index", "--index-version", "4")
    assert not plan_shipped(str(repo))
    for name in ("a", "b/c", "b/d/e"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(name)
    git(repo, "add", "a", "b")
    assert not plan_shipped(str(repo))
    git(repo, "add", "-f", ".parallel/plans/tasks/beta.md")
    assert git(repo, "ls-files", ".parallel") == ".parallel/plans/tasks/beta.md"
    assert plan_shipped(str(repo))


@pytest.mark.parametrize("setup", [["-c", "core.splitIndex=true"], ["init-sha256"]])
def test_a_shipped_plan_is_seen_in_split_and_sha256_indexes(tmp_path, setup):
    from ctx.hooks.identity import plan_shipped
    repo = tmp_path / "r"
    if setup == ["init-sha256"]:
        subprocess.run(["git", "init", "-q", "--object-format=sha256", str(repo)], check=True)
    else:
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        git(repo, "config", "core.splitIndex", "true")
    for i in range(30):
        (repo / f"f{i:02}").write_text(str(i))
    git(repo, "add", ".")
    split = setup != ["init-sha256"]
    assert plan_shipped(str(repo)) is split  # a split index cannot be read for certain: shipped
    (repo / ".parallel").mkdir()
    (repo / ".parallel" / "plan.yaml").write_text("x")
    git(repo, "add", ".parallel")
    assert plan_shipped(str(repo))


# --- writes ----------------------------------------------------------------------------------------

@pytest.fixture
def claimed(repo):
    assert bash(repo, "ctx task start alpha") == "allow"
    return repo


@pytest.mark.parametrize("tool,key", [("Write", "file_path"), ("Edit", "file_path"), ("MultiEdit", "file_path"),
                                      ("NotebookEdit", "notebook_path")])
def test_an_executor_writes_inside_its_worktree(claimed, tool, key):
    for path in (wt(claimed, "alpha") / "new.py", wt(claimed, "alpha") / "deep" / "er" / "file.py",
                 wt(claimed, "alpha") / "app.py", wt(claimed, "alpha") / "sub" / ".." / "x.py"):
        answer = hook(claimed, tool, {key: str(path), "content": "x"})
        assert answer["permissionDecision"] == "allow", (path, answer)


def test_an_executor_may_not_write_anywhere_else(claimed, tmp_path):
    alpha = wt(claimed, "alpha")
    (alpha / "to-main").symlink_to(claimed)
    (alpha / "to-beta").symlink_to(wt(claimed, "beta"))
    (alpha / "real").mkdir()
    (alpha / "real" / "link").symlink_to(claimed / "worktrees")
    outside = [claimed / "app.py", claimed / "new.py", wt(claimed, "beta") / "x.py", alpha / ".git",
               alpha / ".GIT" / "config", alpha / "sub" / ".git" / "config", claimed / ".git" / "config",
               claimed / ".git" / "ctx" / "agents.json", alpha / ".." / "beta" / "x.py", alpha / "to-main" / "x.py",
               alpha / "to-beta" / "x.py", alpha / "real" / "link" / ".." / "app.py", tmp_path / "outside.py",
               Path("/etc/passwd"), claimed / "worktrees" / "alphabet" / "x.py", "relative.py"]
    for path in outside:
        answer = write(claimed, path)
        assert answer["permissionDecision"] == "deny", path
        assert str(alpha.resolve()) in answer["permissionDecisionReason"]
    assert write(claimed, alpha / "real" / "x.py")["permissionDecision"] == "allow"


# --- Bash of a claimed executor --------------------------------------------------------------------

def test_an_executor_runs_git_only_in_its_worktree_on_its_branch(claimed):
    alpha, beta = wt(claimed, "alpha"), wt(claimed, "beta")
    assert bash(claimed, f"cd {alpha} && git status") == "allow"
    assert bash(claimed, f"cd {alpha} && git add -A && git commit -m 'Add x'") == "allow"
    assert bash(claimed, f"git -C {alpha} status") == "allow"
    assert bash(claimed, f"cd {alpha} && git push origin feature/alpha") == "allow"
    assert bash(claimed, "git status") == "deny"  # the main checkout
    assert bash(claimed, "git add -A && git commit -m x") == "deny"
    assert bash(claimed, f"cd {claimed} && git commit -m x") == "deny"
    assert bash(claimed, f"cd {alpha} && cd .. && git status") == "deny"
    assert bash(claimed, f"cd {alpha} && git -C {beta} commit -m x") == "deny"
    assert bash(claimed, f"cd {beta} && git status") == "deny"
    assert bash(claimed, f"cd {alpha} && git push origin feature/beta") in (None, "deny")


def test_cd_is_judged_the_way_the_shell_resolves_it(claimed):
    alpha = wt(claimed, "alpha")
    (alpha / "sub" / "deep").mkdir(parents=True)
    (alpha / "lnk").symlink_to(alpha / "sub" / "deep")
    assert bash(claimed, f"cd {alpha}/lnk && git status") == "allow"
    assert bash(claimed, f"cd {alpha}/sub/deep && cd ../.. && git status") == "allow"
    # logically `lnk/../..` is worktrees/, where git would find the main checkout's repository
    assert bash(claimed, f"cd {alpha}/lnk && cd ../.. && git commit --allow-empty -m x") == "deny"
    assert bash(claimed, f"cd {alpha}/lnk/../.. && git status") == "deny"


def test_git_in_a_repository_nested_in_the_worktree_is_refused(claimed):
    alpha = wt(claimed, "alpha")
    git(alpha, "init", "-q", "inner")
    (alpha / "bare").mkdir()
    git(alpha / "bare", "init", "-q", "--bare")
    for folder in ("inner", "bare", "bare/refs"):
        assert bash(claimed, f"cd {alpha}/{folder} && git status") == "deny", folder
    assert bash(claimed, f"git -C {alpha}/inner status") == "deny"


def test_a_completed_task_cannot_be_claimed(repo):
    ctx(repo, "task", "start", "beta", check=True)
    ctx(repo, "task", "complete", "beta", check=True)
    answer = hook(repo, "Bash", {"command": "ctx task start beta"})
    assert answer["permissionDecision"] == "deny" and "completed already" in answer["permissionDecisionReason"]
    assert claims(repo) == {}


def test_a_commit_from_a_worktree_on_another_branch_is_refused(claimed):
    alpha = wt(claimed, "alpha")
    git(alpha, "checkout", "-q", "-b", "elsewhere")
    answer = hook(claimed, "Bash", {"command": f"cd {alpha} && git commit -m x"})
    assert answer["permissionDecision"] == "deny" and "not on feature/alpha" in answer["permissionDecisionReason"]


def test_an_executor_updates_only_its_own_task(claimed):
    assert bash(claimed, "ctx task complete alpha") == "allow"
    assert bash(claimed, "ctx task block alpha --reason 'it broke'") == "allow"
    answer = hook(claimed, "Bash", {"command": "ctx task complete beta"})
    assert answer["permissionDecision"] == "deny"
    assert "ctx task commands only for alpha" in answer["permissionDecisionReason"]
    assert bash(claimed, "ctx task block beta --reason x") == "deny"
    assert bash(claimed, "ctx status") == "allow"


@pytest.mark.parametrize("command", ["ctx merge", "ctx setup", "ctx plan extract --force", "ctx cleanup --force",
                                     "ctx pr --all", "ctx run", "echo hi; ctx merge",
                                     "cd /tmp && ctx merge --all", "true && ctx cleanup"])
def test_other_ctx_commands_are_denied_to_executors(repo, command):
    """/ctx:execute's `allowed-tools: Bash(ctx:*)` reaches the agents it starts: the hook itself says no."""
    assert bash(repo, command, agent="fresh") == "deny"
    assert bash(repo, "ctx task start alpha") == "allow"
    assert bash(repo, command) == "deny"
    assert bash(repo, "ctx status") == "allow" and bash(repo, "ctx plan show --json") == "allow"


def test_the_declared_test_command_runs_only_as_declared_in_the_worktree(claimed):
    alpha = wt(claimed, "alpha")
    assert bash(claimed, f"cd {alpha} && {TEST}") == "allow"
    assert bash(claimed, f"cd '{alpha}' && {TEST}") == "allow"
    assert bash(claimed, f"cd {alpha}/../alpha && {TEST}") == "allow"
    assert bash(claimed, TEST) is None  # in the main checkout
    assert bash(claimed, f"cd {claimed} && {TEST}") == "deny"  # cd out of its worktree
    assert bash(claimed, f"cd {wt(claimed, 'beta')} && {TEST}") == "deny"
    assert bash(claimed, f"cd {alpha} && {TEST} && touch x") is None
    assert bash(claimed, f"cd {alpha} && {TEST}; touch x") is None
    assert bash(claimed, f"cd {alpha} && python3 -c 'print(43)'") is None


def test_another_tasks_test_command_is_not_approved(repo):
    assert bash(repo, "ctx task start beta") == "allow"
    assert bash(repo, f"cd {wt(repo, 'beta')} && {TEST}") is None


def test_the_test_command_is_read_as_yaml_reads_it():
    from ctx.hooks.identity import _frontmatter_value
    from ctx.plan import dump_yaml
    commands = ["pytest -q", "python -m pytest -q tests/x.py && echo 'ok: yes' # not a comment", "npm test",
                "make   test", "it's", 'say "hi"', "- a", "true", "a:b", "cargo test -- --nocapture " + "x " * 60]
    for command in commands:
        text = "---\n" + dump_yaml({"id": "a", "test": command, "status": "pending"}) + "---\nbody\n"
        assert yaml.safe_load(text.split("---")[1])["test"] == command
        assert _frontmatter_value(text, "test") == command, text
    for text in ("---\ntest: |\n  rm -rf /\n---\n", "---\ntest: 'open\n---\n", "---\ntest: a\ntest: b\n---\n",
                 "---\ntest: \"a\\nb\"\n---\n", "---\ntest: a # b\n---\n", "---\nid: a\n---\n"):
        assert _frontmatter_value(text, "test") is None, text


def test_no_plan_in_progress_no_identity(repo):
    plan = repo / ".parallel" / "plans" / "plan.yaml"
    plan.write_text(plan.read_text().replace("status: ready", "status: completed"))
    assert bash(repo, "ctx task start alpha") in (None, "deny")
    assert claims(repo) == {}
    assert write(repo, wt(repo, "alpha") / "x.py")["permissionDecision"] == "deny"


def test_a_broken_claims_file_fails_closed(claimed):
    (claimed / ".git" / "ctx" / "agents.json").write_text("{not json")
    assert write(claimed, wt(claimed, "alpha") / "x.py")["permissionDecision"] == "deny"
    assert bash(claimed, f"cd {wt(claimed, 'alpha')} && git commit -m x") == "deny"


def test_the_claims_live_where_no_worktree_or_clone_sees_them(claimed):
    assert (claimed / ".git" / "ctx" / "agents.json").is_file()
    assert git(claimed, "status", "--porcelain") == ""
    assert git(wt(claimed, "alpha"), "status", "--porcelain") == ""
    assert os.path.isfile(wt(claimed, "alpha") / ".git")  # a worktree has no place of its own for them


# --- headless agents of `ctx run` --------------------------------------------------------------------

def test_a_headless_agent_of_ctx_run_is_confined_to_the_task_it_was_started_for(repo):
    alpha = wt(repo, "alpha")

    def ask(tool, tool_input, cwd=alpha, task="alpha"):
        answer = hook(repo, tool, tool_input, agent=None, cwd=cwd, task_env=task)
        return answer and answer["permissionDecision"]

    assert ask("Write", {"file_path": str(alpha / "x.py")}) == "allow"
    assert ask("Edit", {"file_path": str(repo / "app.py")}) == "deny"
    assert ask("Write", {"file_path": str(wt(repo, "beta") / "x.py")}) == "deny"
    assert ask("Bash", {"command": "git add -A && git commit -m x"}) == "allow"
    assert ask("Bash", {"command": TEST}) == "allow"
    assert ask("Bash", {"command": f"cd {repo} && git commit -m x"}) == "deny"
    assert ask("Bash", {"command": "ctx task complete beta"}) == "deny"
    assert ask("Bash", {"command": "ctx task complete alpha"}) == "allow"
    # started for another task, or not in the task's worktree: the usual rules of a main conversation
    assert ask("Write", {"file_path": str(alpha / "x.py")}, task="beta") is None
    assert ask("Write", {"file_path": str(repo / "x.py")}, cwd=repo) is None
    assert ask("Bash", {"command": TEST}, task="beta") is None
    assert claims(repo) == {}
