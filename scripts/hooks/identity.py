"""Which task an executor agent works on: claimed once, by its own `ctx task start <id>`.

Hook input for a tool call inside a subagent carries `agent_id` and `agent_type`. An executor (an
agent of a type in EXECUTORS) claims its task when its first `ctx task start <id>` passes through
the PreToolUse hook; the claim (session, agent, task) is kept in `<git common dir>/ctx/agents.json`,
a place no clone ships and no worktree checks out. A claim is refused when the agent already works on
another task, when the prompt that started it names another task, when another live agent of the
same session holds the task, or when the plan's files are tracked by git (shipped with the
repository rather than written by ctx). Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import time

from . import index, state
from .record import FrozenRecord
from .scope import Scope

EXECUTORS = frozenset({"ctx:parallel-task-executor", "ctx:conflict-resolver"})  # both act on one task
_FINISHED = ("completed", "blocked")
_KEEP_SECONDS = 14 * 24 * 3600  # claims older than this are dropped when the file is next written


class Agent(FrozenRecord):
    """session; agent_id; agent_type; transcript: the session's transcript (the agent's own lies beside it)."""

    __slots__ = ("session", "agent_id", "agent_type", "transcript")

    def __init__(self, session: str, agent_id: str, agent_type: str, transcript: str = ""):
        self._set(session=session, agent_id=agent_id, agent_type=agent_type, transcript=transcript)

    @property
    def executor(self) -> bool:
        return self.agent_type in EXECUTORS

    @property
    def key(self) -> str:
        return f"{self.session}/{self.agent_id}"


def agent_of(data: dict) -> Agent | None:
    """The subagent making this tool call, or None for the main conversation."""
    agent_id = data.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id:
        return None
    session = data.get("session_id") if isinstance(data.get("session_id"), str) else ""
    agent_type = data.get("agent_type") if isinstance(data.get("agent_type"), str) else ""
    transcript = data.get("transcript_path") if isinstance(data.get("transcript_path"), str) else ""
    return Agent(session, agent_id, agent_type, transcript)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


_TAIL = 1 << 16  # bytes of the session's transcript read at a time, from its end
_TAIL_MAX = 1 << 22  # and at most this much


def _first_prompt(path: str, agent_id: str) -> str | None:
    """The first message of a subagent's own transcript: the prompt that started it."""
    try:
        with open(path, encoding="utf-8") as fh:
            first = json.loads(fh.readline(1 << 20))
    except (OSError, ValueError):
        return None
    message = first.get("message") if isinstance(first, dict) else None
    if first.get("type") != "user" or first.get("agentId") != agent_id or not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, list):
        content = "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return content if isinstance(content, str) else None


def _spawning_call(transcript: str, tool_use_id: str) -> str | None:
    """The prompt and description of the Agent call `tool_use_id` in the session's transcript, read from
    its end (the call that started a subagent is among the last lines written when the subagent acts)."""
    needle = json.dumps(tool_use_id).encode()
    try:
        with open(transcript, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            start = end
            while start > 0 and end - start < _TAIL_MAX:
                start = max(0, start - _TAIL)
                fh.seek(start)
                chunk = fh.read(end - start)
                if needle in chunk:
                    break
            else:
                return None
    except OSError:
        return None
    for line in chunk.splitlines():
        if needle not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) and entry.get("type") == "assistant" else None
        blocks = message.get("content") if isinstance(message, dict) else None
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id") == tool_use_id:
                args = block.get("input") if isinstance(block.get("input"), dict) else {}
                return "\n".join(v for v in (args.get("description"), args.get("prompt")) if isinstance(v, str))
    return None


def _started_with(agent: Agent) -> str | None:
    """What the conversation that started the agent told it: the first line of the agent's own
    transcript; while the host has not written that yet, the Agent call its `.meta.json` names, in the
    session's transcript, else the call's description kept in that file."""
    folder = os.path.join(os.path.dirname(agent.transcript), agent.session, "subagents")
    prompt = _first_prompt(os.path.join(folder, f"agent-{agent.agent_id}.jsonl"), agent.agent_id)
    if prompt is not None:
        return prompt
    try:
        with open(os.path.join(folder, f"agent-{agent.agent_id}.meta.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    call = meta.get("toolUseId")
    found = _spawning_call(agent.transcript, call) if isinstance(call, str) and call else None
    if found is not None:
        return found
    return meta.get("description") if isinstance(meta.get("description"), str) else None


def assignment(agent: Agent, task_ids: list[str]) -> set[str] | None:
    """The tasks the prompt that started the agent (written by the conversation that started it) names
    as `Task <id>` or `worktrees/<id>`; None when it cannot be read."""
    if not agent.transcript or not _SAFE_NAME.match(agent.session) or not _SAFE_NAME.match(agent.agent_id):
        return None
    content = _started_with(agent)
    if content is None:
        return None
    return {tid for tid in task_ids if re.search(
        rf"(worktrees/|\btask[ :]+){re.escape(tid)}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])", content, re.IGNORECASE)}


# --- where claims live -----------------------------------------------------------------------------

def _claims_dir(root: str) -> str:
    return os.path.join(root, ".git", "ctx")


def _read_claims(root: str) -> dict:
    try:
        with open(os.path.join(_claims_dir(root), "agents.json"), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_claims(root: str, claims: dict) -> None:
    path = os.path.join(_claims_dir(root), "agents.json")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(claims, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class _locked:
    """`with _locked(root):` holds the claims file's lock (a plain class: contextlib costs an import)."""

    def __init__(self, root: str):
        self.folder = _claims_dir(root)
        self.fd = -1

    def __enter__(self) -> None:
        import fcntl
        os.makedirs(self.folder, exist_ok=True)
        self.fd = os.open(os.path.join(self.folder, "agents.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


# --- the plan as ctx wrote it ----------------------------------------------------------------------

def plan_shipped(root: str) -> bool:
    """Whether git tracks anything under .parallel/: a plan a clone brought along, not one ctx wrote."""
    return index.tracks(os.path.join(root, ".git"), ".parallel/")


def _frontmatter_value(text: str, key: str) -> str | None:
    """A plain or quoted YAML scalar of the frontmatter (folded lines joined), or None when absent,
    given twice, or not that simple."""
    lines = text.split("\n---", 1)[0].splitlines()
    found = [i for i, line in enumerate(lines) if line.startswith(key + ":")]
    if len(found) != 1:
        return None
    i = found[0]
    parts = [lines[i][len(key) + 1:].strip()]
    for line in lines[i + 1:]:
        if not line[:1] in (" ", "\t"):
            break
        parts.append(line.strip())
    if not all(parts):
        return None
    value = " ".join(parts)
    if value[0] == "'":
        inner = value[1:-1] if len(value) >= 2 and value.endswith("'") else None
        if inner is None or "'" in inner.replace("''", ""):
            return None
        return inner.replace("''", "'")
    if value[0] == '"':
        inner = value[1:-1] if len(value) >= 2 and value.endswith('"') else None
        return inner if inner is not None and "\\" not in inner and '"' not in inner else None
    if value[0] in "[]{}&*!|>%@`#,?-:" or ": " in value or " #" in value or value.endswith(":"):
        return None
    return value


def _task_text(root: str, task_id: str) -> str | None:
    try:
        with open(os.path.join(root, ".parallel", "plans", "tasks", task_id + ".md"), encoding="utf-8") as fh:
            return fh.read(65536)
    except OSError:
        return None


def _plan(root: str):
    plan = state.load_plan(root)
    if plan is None or not plan.in_progress or plan_shipped(root):
        return None
    return plan


def scope_of(root: str, task_id: str) -> Scope:
    text = _task_text(root, task_id) or ""
    return Scope(task_id=task_id, worktree=os.path.realpath(os.path.join(root, "worktrees", task_id)),
                 branch=f"feature/{task_id}", test=_frontmatter_value(text, "test"))


# --- claims ----------------------------------------------------------------------------------------

def scope_for(root: str, agent: Agent) -> Scope | None:
    """The task this executor claimed in this session, while it is a task of the plan in progress."""
    claim = _read_claims(root).get(agent.key)
    if not isinstance(claim, dict) or not isinstance(claim.get("task"), str):
        return None
    plan = _plan(root)
    if plan is None or claim["task"] not in plan.task_ids or claim.get("plan") != plan.name:
        return None
    return scope_of(root, claim["task"])


class Refused(Exception):
    """The claim is not recorded; the message says why."""


def claim(root: str, agent: Agent, task_id: str) -> Scope:
    """Record that `agent` works on `task_id`, or raise Refused."""
    if not agent.session:
        raise Refused("the hook input names no session")
    plan = _plan(root)
    if plan is None:
        raise Refused("no plan written by ctx is in progress")
    if task_id not in plan.task_ids:
        raise Refused(f"{task_id} is not a task of plan {plan.name}")
    if not os.path.isdir(os.path.join(root, "worktrees", task_id)):
        raise Refused(f"task {task_id} has no worktree yet (ctx setup creates it)")
    named = assignment(agent, plan.task_ids)
    if named and task_id not in named:
        raise Refused(f"the prompt that started this agent names task {', '.join(sorted(named))}, not {task_id}")
    statuses = plan.task_statuses()
    if statuses.get(task_id) == "completed":
        raise Refused(f"task {task_id} is completed already")
    with _locked(root):
        claims = _read_claims(root)
        mine = claims.get(agent.key)
        if isinstance(mine, dict) and mine.get("plan") == plan.name and mine.get("task") not in (None, task_id):
            raise Refused(f"this agent already works on task {mine.get('task')}")
        for key, other in claims.items():
            if key == agent.key or not isinstance(other, dict) or other.get("task") != task_id:
                continue
            live = (other.get("plan") == plan.name and not other.get("done")
                    and statuses.get(task_id) not in _FINISHED)
            if other.get("session") == agent.session and live:
                raise Refused(f"task {task_id} is already claimed by agent {other.get('agent')} of this session")
        now = time.time()
        claims = {k: v for k, v in claims.items()
                  if isinstance(v, dict) and now - float(v.get("at") or 0) < _KEEP_SECONDS}
        claims[agent.key] = {"session": agent.session, "agent": agent.agent_id, "type": agent.agent_type,
                             "plan": plan.name, "task": task_id, "at": now}
        _write_claims(root, claims)
    return scope_of(root, task_id)


def finish(root: str, agent: Agent) -> None:
    """The agent is completing or blocking its task: its claim no longer holds the task for others."""
    with _locked(root):
        claims = _read_claims(root)
        mine = claims.get(agent.key)
        if isinstance(mine, dict) and not mine.get("done"):
            mine["done"] = time.time()
            _write_claims(root, claims)


def started_for(root: str, cwd: str) -> Scope | None:
    """The task of a headless agent `ctx run` started: CTX_TASK_ID in the environment ctx gave the agent's
    process (no tool call can change it), and the session running in that task's worktree."""
    task_id = os.environ.get("CTX_TASK_ID")
    if not task_id or "/" in task_id or task_id.startswith("."):
        return None
    worktree = os.path.realpath(os.path.join(root, "worktrees", task_id))
    here = os.path.realpath(cwd)
    if here != worktree and not here.startswith(worktree + os.sep):
        return None
    plan = _plan(root)
    return scope_of(root, task_id) if plan is not None and task_id in plan.task_ids else None
