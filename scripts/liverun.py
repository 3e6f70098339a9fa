"""Is a `ctx run` still going? Read from what the run leaves: .parallel/run.json (its pid) or its lock."""

from __future__ import annotations

import json
import os

from . import locks, registry
from .workspace import Workspace


def live_run(ws: Workspace) -> str | None:
    """Who is running (e.g. "ctx run pid 4242 (since ...)"), or None when no run is live."""
    raw: dict = {}
    try:
        raw = json.loads((ws.parallel / "run.json").read_text())
        pid = int(raw.get("pid"))
    except (OSError, ValueError, TypeError, AttributeError):
        pid = None
    if pid is not None and pid != os.getpid() and registry.pid_alive(pid):
        since = raw.get("started") or raw.get("since")
        return f"ctx run pid {pid}" + (f" (since {since})" if since else "")
    if locks.held(ws, "run"):
        who = locks.holder(ws, "run")
        return str(who) if who else "a ctx run (it holds .parallel/locks/run.lock)"
    return None
