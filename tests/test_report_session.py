"""ctx report finds the session's transcript where Claude Code writes it, and its subagents beside it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from helpers import ctx, write_plan

SESSION = "0b9d5c1e-5a7f-4d7e-9a55-3c1f2b8e4a10"


def record(kind, cwd, n, **fields):
    """One transcript line with the envelope Claude Code writes around every record."""
    return {"parentUuid": f"uuid-{n - 1}" if n else None, "isSidechain": False, "userType": "external",
            "cwd": str(cwd), "sessionId": SESSION, "version": "2.1.328", "gitBranch": "main",
            "type": kind, "uuid": f"uuid-{n}", "timestamp": f"2026-11-23T10:00:{n:02d}.000Z", **fields}


def reply(cwd, n, mid, blocks, usage, model="claude-sonnet-4-5-20250929", sidechain=False):
    return [{**record("assistant", cwd, n + i, requestId=f"req_{mid}", isSidechain=sidechain,
                      message={"id": mid, "type": "message", "role": "assistant", "model": model,
                               "content": [block], "stop_reason": None, "stop_sequence": None,
                               "usage": {**usage, "service_tier": "standard"}})}
            for i, block in enumerate(blocks)]


def tokens(i, o, cw, cr):
    return {"input_tokens": i, "output_tokens": o, "cache_creation_input_tokens": cw, "cache_read_input_tokens": cr}


def write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def session(repo):
    write_plan(repo, [
        {"id": "auth", "status": "completed", "started": "2026-11-23T10:00:00Z", "completed": "2026-11-23T10:30:00Z"},
        {"id": "auth-ui", "status": "completed", "started": "2026-11-23T10:30:00Z",
         "completed": "2026-11-23T10:45:00Z", "dependencies": ["auth"]},
        {"id": "docs", "status": "completed", "started": "2026-11-23T10:05:00Z", "completed": "2026-11-23T10:20:00Z"},
    ])
    folder = os.environ["CLAUDE_CONFIG_DIR"] + "/projects/" + re.sub(r"[^A-Za-z0-9]", "-", str(repo))
    main = [record("user", repo, 0, message={"role": "user", "content": "/ctx:execute"}),
            *reply(repo, 1, "msg_01", [{"type": "thinking", "thinking": "plan"}, {"type": "text", "text": "go"},
                                       {"type": "tool_use", "id": "t1", "name": "Agent", "input": {}}],
                   tokens(12, 300, 4000, 20000)),
            record("queue-operation", repo, 4, operation="enqueue"),
            *reply(repo, 5, "msg_02", [{"type": "text", "text": "done"}], tokens(3, 50, 0, 24000))]
    write(Path(folder) / f"{SESSION}.jsonl", main)
    subagents = Path(folder) / SESSION / "subagents"
    for agent, (prompt, mid, usage) in {
        "a1": ("You implement task auth in worktrees/auth.", "msg_11", tokens(100, 1000, 0, 0)),
        "a2": ("You implement task auth-ui in worktrees/auth-ui.", "msg_12", tokens(200, 2000, 0, 0)),
        "a3": ("Review the plan for risks.", "msg_13", tokens(7, 7, 0, 0)),
    }.items():
        write(subagents / f"agent-{agent}.jsonl",
              [{**record("user", repo, 0, message={"role": "user", "content": prompt}), "isSidechain": True},
               *reply(repo, 1, mid, [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], usage,
                      model="claude-haiku-4-5-20251001", sidechain=True)])
    return repo


def test_session_by_environment_and_subagents_attributed_by_first_prompt(session):
    out = json.loads(ctx(session, "report", "--json", env={"CLAUDE_CODE_SESSION_ID": SESSION}).stdout)
    assert out["wall_seconds"] == 45 * 60 and out["sum_seconds"] == (30 + 15 + 15) * 60
    assert out["speedup"] == pytest.approx(60 / 45, abs=0.01)
    per_task = {t["id"]: t["usage"] for t in out["tasks"]}
    assert per_task["auth"]["output_tokens"] == 1000 and per_task["auth"]["messages"] == 1
    assert per_task["auth-ui"]["output_tokens"] == 2000  # the longer id wins over "auth"
    assert per_task["docs"]["messages"] == 0
    orch = out["orchestration"]
    assert orch["messages"] == 3  # msg_01 (three lines) once, msg_02, and the unattributed a3
    assert orch["input_tokens"] == 12 + 3 + 7 and orch["cache_read_input_tokens"] == 44000
    assert out["total"]["cost_usd"] == pytest.approx(
        (15 * 3 + 350 * 15 + 4000 * 3.75 + 44000 * 0.3 + 307 * 1 + 3007 * 5) / 1e6)
    same = json.loads(ctx(session, "report", "--json", "--session", SESSION).stdout)
    assert same["total"] == out["total"]


def test_missing_session_transcript_is_a_note_or_a_clear_error(session):
    proc = ctx(session, "report", env={"CLAUDE_CODE_SESSION_ID": "not-on-disk"})
    assert proc.returncode == 0 and "note: session transcript not counted" in proc.stdout
    proc = ctx(session, "report", "--session", "not-on-disk")
    assert proc.returncode == 2 and "no transcript for session not-on-disk" in proc.stderr
