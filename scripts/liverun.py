"""Is a `ctx run` still going? Read from what the run leaves: .parallel/run.json or its lock.

The record is judged by runstate.live_run (pid and process start time), so a pid the system has
since given to another process never passes for the run.
"""

from __future__ import annotations

import os

from . import locks, runstate
from .workspace import Workspace


def live_run(ws: Workspace) -> str | None:
    """Who is running (e.g. "ctx run pid 4242 (since ...)"), or None when no run is live."""
    record = runstate.live_run(ws)
    if record is not None and record.pid != os.getpid():
        return f"ctx run pid {record.pid}" + (f" (since {record.since})" if record.since else "")
    if locks.held(ws, "run"):
        who = locks.holder(ws, "run")
        return str(who) if who else "a ctx run (it holds .parallel/locks/run.lock)"
    return None
