"""What `ctx setup` has under way, written before it is done, so that a killed setup can be finished.

One file per task under .parallel/journal/setup/. Phase "checkout": the worktree is being added (or
a parked one moved and checked out) and may be half-made; "prepare": its files are all there and
only ctx's own steps (env files, ports, setup command) remain. The file goes when the task is set up.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .workspace import Workspace

CHECKOUT = "checkout"
PREPARE = "prepare"


@dataclass
class Entry:
    task_id: str
    path: str  # the task's worktree folder
    branch: str
    phase: str  # CHECKOUT or PREPARE
    pid: int
    started: str  # the owner's start time, so that a recycled pid is not taken for it
    pooled: bool = False  # a parked worktree moved to the path: it may hold files of its own

    def owner_alive(self) -> bool:
        return process_start(self.pid) == self.started


def folder(ws: Workspace) -> Path:
    return ws.parallel / "journal" / "setup"


def process_start(pid: int) -> str | None:
    """A token that names one process: its start time (Linux), else only whether the pid exists."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "alive"


def begin(ws: Workspace, task_id: str, path: Path, branch: str, pooled: bool = False) -> Entry:
    pid = os.getpid()
    entry = Entry(task_id, str(path), branch, CHECKOUT, pid, process_start(pid) or "", pooled)
    _write(ws, entry)
    return entry


def advance(ws: Workspace, entry: Entry, phase: str) -> None:
    entry.phase = phase
    _write(ws, entry)


def finish(ws: Workspace, entry: Entry) -> None:
    (folder(ws) / f"{entry.task_id}.json").unlink(missing_ok=True)


def entries(ws: Workspace) -> list[Entry]:
    found = []
    if not folder(ws).is_dir():
        return found
    for file in sorted(folder(ws).glob("*.json")):
        try:
            found.append(Entry(**json.loads(file.read_text())))
        except (OSError, ValueError, TypeError):
            # unreadable: written by nothing ctx knows; keep it out of the way of recovery
            continue
    return found


def _write(ws: Workspace, entry: Entry) -> None:
    """Replace the entry whole (a kill leaves the old or the new one). No fsync: the journal guards
    against killed processes, not lost power, and setup writes it twice per task."""
    target = folder(ws) / f"{entry.task_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(entry)) + "\n")
    os.replace(tmp, target)
