"""The PreToolUse decision: who makes the tool call, and what that caller may do.

The main conversation: Bash commands the approval rules prove safe are approved; its edits are left
to Claude Code. An executor agent (a subagent of an executor type, or a headless agent `ctx run`
started in a task's worktree) acts only on its own task: writes inside its worktree are allowed and
anywhere else denied; a Bash command whose cd, git or ctx leaves its task is denied, and the rest is
approved only when the approval rules, narrowed to its scope, prove it safe. Any other subagent is
left to Claude Code.
"""

from __future__ import annotations

import os

from . import approve, state

TYPE_CHECKING = False  # importing typing would cost every tool call; type checkers read this as True

if TYPE_CHECKING:
    from .identity import Agent
    from .scope import Scope


def _decision(decision: str, reason: str) -> dict:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": decision,
                                   "permissionDecisionReason": reason}}


def _approval(command, cwd: str, scope=None) -> str | None:
    if scope is None:
        return approve.decide(command, cwd)
    code = approve.decide.__code__
    if "scope" in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        return approve.decide(command, cwd, scope=scope)
    return approve.decide(command, cwd)  # rules that do not narrow to a scope: confine.bash_refusal does


def answer(data: dict, cwd: str) -> dict | None:
    """The PreToolUse answer for this event, or None to leave the call to Claude Code."""
    tool = data.get("tool_name")
    tool_input = data.get("tool_input") if isinstance(data.get("tool_input"), dict) else {}
    if tool == "Bash" and not data.get("agent_id") and not os.environ.get("CTX_TASK_ID"):
        reason = _approval(tool_input.get("command"), cwd)  # the main conversation, on its quickest path
        return _decision("allow", reason) if reason else None
    from . import confine, identity  # loaded only for agents: the hook runs before every Bash call
    if tool != "Bash" and tool not in confine.EDIT_TOOLS:
        return None
    agent = identity.agent_of(data)
    root = state.main_root(cwd) if agent is None or agent.executor else None
    if agent is None:
        scope = identity.started_for(root, cwd) if root else None
        if scope is not None:  # a headless agent `ctx run` started in a task's worktree
            return _executor(root, None, scope, tool, tool_input, cwd)
        if tool != "Bash":  # the main conversation's edits are left to Claude Code
            return None
        reason = _approval(tool_input.get("command"), cwd)
        return _decision("allow", reason) if reason else None
    if root is None:  # another kind of subagent, or no repository: left to Claude Code
        return None
    return _executor(root, agent, identity.scope_for(root, agent), tool, tool_input, cwd)


def _executor(root: str, agent: Agent | None, scope: Scope | None, tool: str, tool_input: dict,
              cwd: str) -> dict | None:
    from . import confine, identity
    if tool != "Bash":
        refusal = confine.write_refusal(tool_input, tool, cwd, scope)
        if refusal:
            return _decision("deny", refusal)
        return _decision("allow", f"ctx: inside task {scope.task_id}'s worktree")
    command = tool_input.get("command")
    if not isinstance(command, str):
        return None
    if scope is None:
        return _unclaimed_bash(root, agent, command, cwd) if agent else None
    if confine.is_test_command(command, cwd, scope):
        return _decision("allow", f"ctx: task {scope.task_id}'s declared test command, in its worktree")
    refusal = confine.ctx_refusal(command, scope)
    if refusal:
        return _decision("deny", refusal)
    refusal = confine.bash_refusal(command, cwd, scope)
    if refusal:
        return _decision("deny", refusal)
    reason = _approval(command, cwd, scope)
    if reason is None:
        return None
    if agent and confine.finishes_task(command):
        identity.finish(root, agent)
    return _decision("allow", reason)


def _unclaimed_bash(root: str, agent: Agent, command: str, cwd: str) -> dict | None:
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
    refusal = confine.ctx_refusal(command, None)
    if refusal:
        return _decision("deny", refusal)
    reason = _approval(command, cwd)
    if reason and confine.read_only(command):
        return _decision("allow", reason)
    if reason:
        return _decision("deny", "ctx: an executor runs `ctx task start <id>` for its task first; until then "
                                 "only commands that read are approved")
    return None


