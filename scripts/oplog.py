"""What a multi-step merge or cleanup has under way, written before each step so that a kill can be repaired.

One small JSON file per operation under .parallel/journal/ (`merge.json`, `cleanup.json`), replaced
atomically: a reader sees the previous step or the next one, never half of a record. The file is
removed when the operation is done; one left behind means the operation was interrupted, and the
next command of that kind finishes or rolls it back.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict, dataclass, field
from typing import Any

from .workspace import Workspace, atomic_write

FAULT_ENV = "CTX_FAULT"  # "merge:tested" kills ctx with SIGKILL at that point (fault-injection tests)


@dataclass
class Entry:
    operation: str  # merge, cleanup
    step: str  # how far it got, e.g. merging, testing, advancing, advanced
    data: dict[str, Any] = field(default_factory=dict)


def _file(ws: Workspace, operation: str):
    return ws.parallel / "journal" / f"{operation}.json"


# Steps after which nothing outside ctx's private places has changed: after a power loss such a
# record may be missing or empty, which reads as "unreadable" or as no operation, and both mean the
# same as the record itself (roll back; the integration worktree is reset on its next use). Every
# other step is fsynced before the change it announces: an "advancing" record must survive for the
# next ctx to finish or undo a moved base.
UNSYNCED = {("merge", "merging"), ("merge", "testing")}


def write(ws: Workspace, operation: str, step: str, **data: Any) -> Entry:
    entry = Entry(operation, step, data)
    atomic_write(_file(ws, operation), json.dumps(asdict(entry), indent=1),
                 sync=(operation, step) not in UNSYNCED)
    return entry


def read(ws: Workspace, operation: str) -> Entry | None:
    try:
        raw = json.loads(_file(ws, operation).read_text())
        return Entry(str(raw["operation"]), str(raw["step"]), dict(raw.get("data") or {}))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # a record we cannot read names no step: treat it as the earliest one, which rolls back
        return Entry(operation, "unreadable", {})


def clear(ws: Workspace, operation: str) -> None:
    _file(ws, operation).unlink(missing_ok=True)


def pending(ws: Workspace) -> list[Entry]:
    folder = ws.parallel / "journal"
    if not folder.is_dir():
        return []
    return [e for e in (read(ws, p.stem) for p in sorted(folder.glob("*.json"))) if e is not None]


def fault(point: str) -> None:
    """Die here, as a kill -9 would, when CTX_FAULT names this point (comma-separated list)."""
    wanted = os.environ.get(FAULT_ENV)
    if wanted and point in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
