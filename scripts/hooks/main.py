"""Hook entry: read one event as JSON on stdin, print at most one JSON answer, always exit 0."""

from __future__ import annotations

import json
import os
import sys

EVENTS = {"pre-tool-use": "PreToolUse", "user-prompt-submit": "UserPromptSubmit", "session-start": "SessionStart"}


def _answer(event: str, data: dict) -> dict | None:
    cwd = data.get("cwd") if isinstance(data.get("cwd"), str) else os.getcwd()
    if event == "PreToolUse":
        if data.get("tool_name") != "Bash" and not data.get("agent_id") and not os.environ.get("CTX_TASK_ID"):
            return None  # the main conversation's own edits: left to Claude Code, without loading the rules
        from .permissions import answer
        return answer(data, cwd)
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
