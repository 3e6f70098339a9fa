"""A scripted Messages API endpoint on 127.0.0.1 for driving the real Claude Code CLI in tests.

A policy function sees each request (its JSON body) and returns the reply: a list of content blocks
(`{"type": "text", "text": ...}` or `{"type": "tool_use", "name": ..., "input": {...}}`). The server
streams it back as server-sent events the way the API does, with a usage object it records, so tests
can compare what ctx reports with what was really sent.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Policy = Callable[[dict], list[dict]]


@dataclass
class Exchange:
    body: dict
    reply: list[dict]
    message_id: str
    usage: dict


@dataclass
class ScriptedAPI:
    policy: Policy
    exchanges: list[Exchange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if "count_tokens" in self.path:
                    return self._json({"input_tokens": 100})
                if not self.path.startswith("/v1/messages"):
                    return self._json({"error": "not found"}, 404)
                try:
                    reply = api.policy(body)
                except Exception as exc:  # the test sees it in api.errors
                    api.errors.append(f"{type(exc).__name__}: {exc}")
                    reply = [{"type": "text", "text": f"policy error: {exc}"}]
                with api._lock:
                    n = next(api._ids)
                mid = f"msg_scripted_{n:04d}"
                usage = {"input_tokens": 1000 + n, "output_tokens": 50 + n,
                         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
                with api._lock:
                    api.exchanges.append(Exchange(body, reply, mid, usage))
                if body.get("stream"):
                    self._stream(mid, body.get("model", "claude-sonnet-4-5"), reply, usage)
                else:
                    blocks = [dict(b, id=b.get("id") or f"toolu_{mid}_{i}") if b["type"] == "tool_use" else b
                              for i, b in enumerate(reply)]
                    self._json({"id": mid, "type": "message", "role": "assistant", "model": body.get("model"),
                                "content": blocks, "stop_reason": _stop(reply), "usage": usage})

            def _json(self, data, status=200):
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, mid, model, reply, usage):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()

                def event(name, data):
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

                start_usage = dict(usage, output_tokens=1)
                event("message_start", {"type": "message_start", "message": {
                    "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
                    "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
                for i, block in enumerate(reply):
                    if block["type"] == "text":
                        event("content_block_start", {"type": "content_block_start", "index": i,
                                                      "content_block": {"type": "text", "text": ""}})
                        event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                      "delta": {"type": "text_delta", "text": block["text"]}})
                    else:
                        event("content_block_start", {"type": "content_block_start", "index": i, "content_block": {
                            "type": "tool_use", "id": block.get("id") or f"toolu_{mid}_{i}", "name": block["name"],
                            "input": {}}})
                        event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {
                            "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
                    event("content_block_stop", {"type": "content_block_stop", "index": i})
                event("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": _stop(reply), "stop_sequence": None},
                                        "usage": {"output_tokens": usage["output_tokens"]}})
                event("message_stop", {"type": "message_stop"})
                self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "ScriptedAPI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _stop(reply: list[dict]) -> str:
    return "tool_use" if any(b["type"] == "tool_use" for b in reply) else "end_turn"


# --- helpers for policies --------------------------------------------------------------------------

def text_of(content) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(text_of(block.get("content")))
    return "\n".join(parts)


def system_text(body: dict) -> str:
    return text_of(body.get("system"))


def all_text(body: dict) -> str:
    return system_text(body) + "\n" + "\n".join(text_of(m.get("content")) for m in body.get("messages", []))


def tool_results(body: dict) -> list[dict]:
    """The tool_result blocks of the last user message."""
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user" or isinstance(messages[-1].get("content"), str):
        return []
    return [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]


def turns(body: dict) -> int:
    """How many assistant turns the conversation already has."""
    return sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")


def bash(command: str, description: str = "run a command") -> dict:
    return {"type": "tool_use", "name": "Bash", "input": {"command": command, "description": description}}


def say(text: str) -> dict:
    return {"type": "text", "text": text}
