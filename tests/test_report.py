"""ctx report: durations from task timestamps, tokens from transcripts with each message counted once."""

from __future__ import annotations

import json

import pytest

from helpers import ctx, write_plan


def assistant(mid, model, usage, sidechain=False, text="working"):
    return {"type": "assistant", "isSidechain": sidechain, "sessionId": "s1",
            "message": {"id": mid, "type": "message", "role": "assistant", "model": model,
                        "content": [{"type": "text", "text": text}], "usage": usage}}


def usage(i, o, cw=0, cr=0):
    return {"input_tokens": i, "output_tokens": o, "cache_creation_input_tokens": cw, "cache_read_input_tokens": cr}


def jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def planned(repo):
    write_plan(repo, [
        {"id": "api", "status": "completed", "started": "2026-11-23T10:00:00Z", "completed": "2026-11-23T10:10:00Z"},
        {"id": "ui", "status": "completed", "started": "2026-11-23T10:02:00Z", "completed": "2026-11-23T10:12:00Z"},
        {"id": "docs", "status": "blocked", "started": "2026-11-23T10:01:00Z", "reason": "tests failed"},
    ])
    return repo


def test_durations_and_speedup_from_timestamps(planned):
    out = json.loads(ctx(planned, "report", "--json").stdout)
    assert out["wall_seconds"] == 720 and out["sum_seconds"] == 1200
    assert out["speedup"] == pytest.approx(1.67, abs=0.01)
    assert {t["id"]: t["seconds"] for t in out["tasks"]} == {"api": 600, "ui": 600, "docs": None}


def test_tokens_from_session_and_subagent_transcripts(planned, tmp_path):
    main = tmp_path / "proj" / "s1.jsonl"
    jsonl(main, [
        {"type": "user", "message": {"role": "user", "content": "/ctx:execute"}},
        # one message written as two lines (two content blocks): counted once
        assistant("msg_a", "claude-sonnet-4-5-20250929", usage(100, 20, 1000, 5000)),
        assistant("msg_a", "claude-sonnet-4-5-20250929", usage(100, 20, 1000, 5000)),
        assistant("msg_b", "claude-sonnet-4-5-20250929", usage(10, 30)),
    ])
    sub = main.parent / "s1" / "subagents"
    jsonl(sub / "agent-1.jsonl", [
        {"type": "user", "isSidechain": True, "message": {"role": "user", "content": "Implement task api in worktrees/api"}},
        assistant("msg_c", "claude-haiku-4-5-20251001", usage(2000, 400), sidechain=True),
    ])
    jsonl(sub / "agent-2.jsonl", [
        {"type": "user", "isSidechain": True, "message": {"role": "user", "content": "Run `ctx task start ui` first"}},
        assistant("msg_d", "claude-haiku-4-5-20251001", usage(1000, 100), sidechain=True),
        assistant("msg_e", "some-future-model", usage(1, 1), sidechain=True),
    ])
    out = json.loads(ctx(planned, "report", "--json", "--transcript", str(main)).stdout)
    tasks = {t["id"]: t["usage"] for t in out["tasks"]}
    assert tasks["api"]["input_tokens"] == 2000 and tasks["api"]["output_tokens"] == 400
    assert tasks["api"]["cost_usd"] == pytest.approx((2000 * 1 + 400 * 5) / 1e6)
    assert tasks["ui"]["total_tokens"] == 1102 and tasks["ui"]["cost_usd"] is None
    assert tasks["ui"]["unpriced_models"] == ["some-future-model"]
    assert out["orchestration"]["messages"] == 2
    assert out["orchestration"]["input_tokens"] == 110 and out["orchestration"]["cache_read_input_tokens"] == 5000
    assert out["total"]["total_tokens"] == (6120 + 40) + 2400 + 1102
    text = ctx(planned, "report", "--transcript", str(main)).stdout
    assert "speed-up 1.67x" in text and "not in prices.yaml" in text


def test_tokens_from_headless_agent_logs(planned):
    log = planned / ".parallel/logs/api.log"
    jsonl(log, [
        {"type": "system", "subtype": "init"},
        {"type": "assistant", "message": {"id": "m1", "model": "claude-haiku-4-5", "usage": usage(50, 5),
                                          "content": [{"type": "text", "text": "hi"}]}},
        {"type": "result", "total_cost_usd": 0.1, "usage": usage(50, 5)},
    ])
    out = json.loads(ctx(planned, "report", "--json").stdout)
    assert {t["id"]: t["usage"]["total_tokens"] for t in out["tasks"]}["api"] == 55
    assert {t["id"]: t["agent_reported_cost_usd"] for t in out["tasks"]} == {"api": 0.1, "ui": None, "docs": None}


def test_report_after_cleanup_reads_the_archived_plan(planned):
    (planned / ".parallel/archive/20261123T101500Z").parent.mkdir(parents=True, exist_ok=True)
    (planned / ".parallel/plans").rename(planned / ".parallel/archive/20261123T101500Z")
    out = json.loads(ctx(planned, "report", "--json").stdout)
    assert out["plan"] == "demo-plan" and out["wall_seconds"] == 720
