"""Token and cost accounting from transcripts in Claude Code's format and from stream-json logs."""

from __future__ import annotations

import json

import pytest

from ctx import usage


def line(mid, model, i, o, cw=0, cr=0, text="x", **extra):
    return {"type": "assistant", "uuid": f"u-{mid}-{text}", "sessionId": "s", **extra,
            "message": {"id": mid, "type": "message", "role": "assistant", "model": model,
                        "content": [{"type": "text", "text": text}],
                        "usage": {"input_tokens": i, "output_tokens": o, "cache_creation_input_tokens": cw,
                                  "cache_read_input_tokens": cr, "service_tier": "standard"}}}


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_each_message_id_counted_once_across_blocks_and_files(tmp_path):
    a = write(tmp_path / "a.jsonl", [
        {"type": "user", "message": {"role": "user", "content": "do it"}},
        line("msg_1", "claude-haiku-4-5-20251001", 10, 1, text="thinking"),   # written mid-stream
        line("msg_1", "claude-haiku-4-5-20251001", 10, 40, text="answer"),    # same message, final count
        {"type": "attachment", "usage": {"input_tokens": 999}},               # not a model message
        line("msg_2", "claude-haiku-4-5-20251001", 5, 5, 100, 200),
    ])
    b = write(tmp_path / "b.jsonl", [line("msg_2", "claude-haiku-4-5-20251001", 5, 5, 100, 200)])  # resumed copy
    total = usage.count([a, b])
    assert total.messages == 2
    assert total.tokens == {"input_tokens": 15, "output_tokens": 45,
                            "cache_creation_input_tokens": 100, "cache_read_input_tokens": 200}
    assert total.cost == pytest.approx((15 * 1 + 45 * 5 + 100 * 1.25 + 200 * 0.10) / 1e6)


def test_unknown_model_is_unpriced_not_guessed(tmp_path):
    path = write(tmp_path / "t.jsonl", [line("m1", "claude-opus-4-7", 1000, 1000),
                                       line("m2", "claude-opus-4-5-20251101", 1_000_000, 0)])
    total = usage.count([path])
    assert total.unpriced == {"claude-opus-4-7"}
    assert total.to_json()["cost_usd"] is None and total.to_json()["total_tokens"] == 1_002_000
    assert usage.price_of("claude-opus-4-7") is None  # not priced like claude-opus-4
    assert usage.price_of("claude-opus-4-20250514")["input"] == 15.0
    assert usage.price_of("claude-opus-4-5-20251101")["input"] == 5.0


def test_stream_json_log_has_the_same_shape(tmp_path):
    log = write(tmp_path / "task.log", [
        {"type": "system", "subtype": "init", "session_id": "s", "model": "claude-sonnet-4-5-20250929"},
        {**line("msg_9", "claude-sonnet-4-5-20250929", 3, 7), "session_id": "s", "parent_tool_use_id": None},
        {"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "content": "ok"}]}},
        {"type": "result", "subtype": "success", "total_cost_usd": 0.5,
         "usage": {"input_tokens": 3, "output_tokens": 7}},
    ])
    (tmp_path / "broken.log").write_text('{"type": "assistant", "message": {"usage": \n')  # cut off by a kill
    total = usage.count([log, tmp_path / "broken.log", tmp_path / "missing.log"])
    assert total.messages == 1 and total.total_tokens == 10
    assert total.cost == pytest.approx((3 * 3 + 7 * 15) / 1e6)


def test_per_model_rows_and_ids_shared_across_files_of_one_report(tmp_path):
    a = write(tmp_path / "a.jsonl", [line("m1", "claude-haiku-4-5", 1, 2), line("m2", "claude-sonnet-4-5", 3, 4)])
    b = write(tmp_path / "b.jsonl", [line("m2", "claude-sonnet-4-5", 3, 4), line("m3", "claude-sonnet-4-5", 5, 6)])
    seen: set[str] = set()
    first, second = usage.count([a], seen), usage.count([b], seen)
    assert (first.messages, second.messages) == (2, 1)  # m2 belongs to the file that showed it first
    first.add(second)
    models = first.to_json()["models"]
    assert models["claude-sonnet-4-5"]["messages"] == 2 and models["claude-sonnet-4-5"]["output_tokens"] == 10
    assert models["claude-haiku-4-5"] == {"input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": 0,
                                          "cache_read_input_tokens": 0, "messages": 1}
