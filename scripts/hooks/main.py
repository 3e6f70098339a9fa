"""Hook entry: read one event as JSON on stdin, print at most one JSON answer, always exit 0."""

from __future__ import annotations

import json
import os
import sys

EVENTS = {"pre-tool-use": "PreToolUse", "user-prompt-submit": "UserPromptSubmit", "session-start": "SessionStart"}


def _decision(decision: str, reason: str) -> dict:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": decision,
                                   "permissionDecisionReason": reason}}


def _approval(command, cwd: str, scope=None) -> str | None:
    from . import approve
    if scope is None:
        return approve.decide(command, cwd)
    code = approve.decide.__code__
    if "scope" in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        return approve.decide(command, cwd, scope=scope)
    return approve.decide(command, cwd)  # rules that do not narrow to a scope: confine.bash_refusal does


def _pre_tool_use(data: dict, cwd: str) -> dict | None:
    from .confine import EDIT_TOOLS
    from .identity import agent_of
    tool = data.get("tool_name")
    if tool != "Bash" and tool not in EDIT_TOOLS:
        return None
    tool_input = data.get("tool_input") if isinstance(data.get("tool_input"), dict) else {}
    agent = agent_of(data)
    if agent is None:  # the main conversation: its edits are left to Claude Code
        if tool != "Bash":
            return None
        reason = _approval(tool_input.get("command"), cwd)
        return _decision("allow", reason) if reason else None
    if not agent.executor:  # another kind of subagent: left to Claude Code
        return None
    from . import confine, identity, state
    root = state.main_root(cwd)
    if root is None:
        return None
    scope = identity.scope_for(root, agent)
    if tool != "Bash":
        refusal = confine.write_refusal(tool_input, tool, cwd, scope)
        if refusal:
            return _decision("deny", refusal)
        return _decision("allow", f"ctx: inside task {scope.task_id}'s worktree")
    command = tool_input.get("command")
    if not isinstance(command, str):
        return None
    if scope is None:
        return _unclaimed_bash(root, agent, command, cwd)
    if confine.is_test_command(command, cwd, scope):
        return _decision("allow", f"ctx: task {scope.task_id}'s declared test command, in its worktree")
    reason = _approval(command, cwd, scope)
    refusal = confine.bash_refusal(command, cwd, scope)
    if reason and not refusal:
        if confine.finishes_task(command):
            identity.finish(root, agent)
        return _decision("allow", reason)
    if refusal and (reason or _approval(command, cwd)):
        return _decision("deny", refusal)
    return None


def _unclaimed_bash(root: str, agent, command: str, cwd: str) -> dict | None:
    """An executor that has not claimed a task: its claim, and commands that only read."""
    from . import confine, identity
    task_id = confine.claimed_task(command)
    if task_id is not None:
        scope = identity.scope_of(root, task_id)
        if confine.bash_refusal(command, cwd, scope) or not _approval(command, cwd, scope):
            return None
        try:
            identity.claim(root, agent, task_id)
        except identity.Refused as exc:
            return _decision("deny", f"ctx: not recorded as task {task_id}'s agent: {exc}")
        return _decision("allow", f"ctx: agent {agent.agent_id} works on task {task_id} from now on")
    reason = _approval(command, cwd)
    if reason and confine.read_only(command):
        return _decision("allow", reason)
    if reason:
        return _decision("deny", "ctx: an executor runs `ctx task start <id>` for its task first; until then "
                                 "only commands that read are approved")
    return None


def _answer(event: str, data: dict) -> dict | None:
    cwd = data.get("cwd") if isinstance(data.get("cwd"), str) else os.getcwd()
    if event == "PreToolUse":
        return _pre_tool_use(data, cwd)
    if event == "UserPromptSubmit":
        from .intent import suggestion, wants_parallel_work
        if not wants_parallel_work(data.get("prompt")):
            return None
        from .state import load_plan, main_root
        root = main_root(cwd)
        return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                       "additionalContext": suggestion(bool(root and load_plan(root)))}}
    if event == "SessionStart":
        from .session import summary
        line = summary(cwd)
        if line is None:
            return None
        return {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": line}}
    return None


def main(argv: list[str], stdin=None, stdout=None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if len(argv) != 1 or argv[0] not in EVENTS:
        sys.stderr.write(f"ctx hook: expected one of {', '.join(EVENTS)}\n")
        return 0
    try:
        data = json.loads(stdin.read() or "null")
    except (ValueError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"ctx hook {argv[0]}: stdin is not JSON ({exc}); no decision\n")
        return 0
    if not isinstance(data, dict):
        sys.stderr.write(f"ctx hook {argv[0]}: expected a JSON object on stdin; no decision\n")
        return 0
    try:
        answer = _answer(EVENTS[argv[0]], data)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the host
        sys.stderr.write(f"ctx hook {argv[0]}: {type(exc).__name__}: {exc}; no decision\n")
        return 0
    if answer is not None:
        stdout.write(json.dumps(answer) + "\n")
    return 0
