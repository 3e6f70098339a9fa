"""What a `ctx run` leaves on disk so that any later command can tell what is under way.

- `.parallel/run.json`: the live run: {pid, start, since, command}. `start` is the process's start
  time (see processes.start_time), so a reused pid never passes for the run. (A merge under way is
  recorded by merge itself, in its journal.)
- `.parallel/agents/<id>.json`: the task's latest agent: {task, pid, start, token, since,
  base_tip, run_pid}. The agent runs under agent_guard.py in process group `pid`; every process it
  starts carries CTX_AGENT_TOKEN=<token> in its environment.
- `.parallel/agents/<id>.exit`: written by the guard when that agent ended: {exit, signal, orphaned}.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import locks, processes
from .errors import CtxError
from .workspace import Workspace, atomic_write

TOKEN_VAR = "CTX_AGENT_TOKEN"


@dataclass
class RunRecord:
    pid: int
    start: int | None
    since: str
    command: str

    @property
    def live(self) -> bool:
        return processes.alive(self.pid, self.start)


@dataclass
class AgentRecord:
    task: str
    pid: int
    start: int | None
    token: str
    since: str
    base_tip: str | None
    run_pid: int
    extra: dict = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return processes.alive(self.pid, self.start)


@dataclass
class AgentExit:
    exit: int | None  # the command's exit status; negative: killed by that signal; None: never reaped
    signal: int | None  # the stop signal the guard received, if any
    orphaned: bool  # ctx was gone when it was stopped

    @property
    def finished(self) -> bool:
        """The agent ended on its own (not stopped by ctx or by ctx's death)."""
        return self.signal is None and self.exit is not None

    @property
    def code(self) -> int | None:
        """The exit status as a shell reports it (128 + N when killed by signal N), None if never reaped."""
        if self.exit is None:
            return None
        return self.exit if self.exit >= 0 else 128 - self.exit


def run_file(ws: Workspace) -> Path:
    return ws.parallel / "run.json"


def agents_dir(ws: Workspace) -> Path:
    return ws.parallel / "agents"


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def current(ws: Workspace) -> RunRecord | None:
    """The recorded run, live or not (a killed run leaves its record behind)."""
    data = _read(run_file(ws))
    if not data or not isinstance(data.get("pid"), int):
        return None
    return RunRecord(pid=data["pid"], start=data.get("start"), since=str(data.get("since", "")),
                     command=str(data.get("command", "")))


def live_run(ws: Workspace) -> RunRecord | None:
    """The `ctx run` that is working in this repository right now, or None."""
    record = current(ws)
    return record if record is not None and record.live else None


def claim(ws: Workspace, started_at: str) -> RunRecord | None:
    """Record this process as the live run; the previous (dead) record, if any. Refuses while another run is live."""
    with locks.lock(ws, "run", timeout=10):
        previous = current(ws)
        if previous is not None and previous.live and previous.pid != os.getpid():
            raise CtxError(f"another ctx run is live in this repository (pid {previous.pid}, since "
                           f"{previous.since}: {previous.command})",
                           hint="wait for it to finish, or stop it (kill -TERM "
                                f"{previous.pid}) and run: ctx run --resume")
        pid = os.getpid()
        record = RunRecord(pid=pid, start=processes.start_time(pid), since=started_at,
                           command=" ".join(["ctx", *sys.argv[1:]])[:300])
        # no fsync, here and for agent records: they name live processes, and no process outlives a
        # power loss (the guard's exit records are not synced either)
        atomic_write(run_file(ws), json.dumps(asdict(record), indent=1), sync=False)
        return previous


def release(ws: Workspace) -> None:
    record = current(ws)
    if record is not None and record.pid == os.getpid():
        run_file(ws).unlink(missing_ok=True)


def agent(ws: Workspace, task_id: str) -> AgentRecord | None:
    data = _read(agents_dir(ws) / f"{task_id}.json")
    if not data or not isinstance(data.get("pid"), int):
        return None
    known = {"task", "pid", "start", "token", "since", "base_tip", "run_pid"}
    return AgentRecord(task=str(data.get("task", task_id)), pid=data["pid"], start=data.get("start"),
                       token=str(data.get("token", "")), since=str(data.get("since", "")),
                       base_tip=data.get("base_tip"), run_pid=int(data.get("run_pid") or 0),
                       extra={k: v for k, v in data.items() if k not in known})


def save_agent(ws: Workspace, record: AgentRecord) -> None:
    data = asdict(record)
    data.update(data.pop("extra"))
    atomic_write(agents_dir(ws) / f"{record.task}.json", json.dumps(data, indent=1), sync=False)


def exit_file(ws: Workspace, task_id: str, what: str = "agent") -> Path:
    return agents_dir(ws) / (f"{task_id}.exit" if what == "agent" else f"{task_id}.{what}.exit")


def agent_exit(ws: Workspace, task_id: str, what: str = "agent") -> AgentExit | None:
    data = _read(exit_file(ws, task_id, what))
    if data is None:
        return None
    code = data.get("exit")
    return AgentExit(exit=code if isinstance(code, int) else None, signal=data.get("signal"),
                     orphaned=bool(data.get("orphaned")))
