"""What really happened: durations from task timestamps, tokens and cost from real transcripts and logs."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import transcript, usage
from .errors import CtxError
from .plan import read_task_file, read_yaml
from .workspace import Workspace


@dataclass
class TaskReport:
    id: str
    status: str
    started: str | None
    completed: str | None
    seconds: float | None
    usage: usage.Usage = field(default_factory=usage.Usage)
    reported_cost: float | None = None  # what the headless agent's own result line said it cost


@dataclass
class Report:
    plan: str
    tasks: list[TaskReport]
    wall_seconds: float | None
    sum_seconds: float
    orchestration: usage.Usage
    sources: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def speedup(self) -> float | None:
        return self.sum_seconds / self.wall_seconds if self.wall_seconds else None

    def total(self) -> usage.Usage:
        total = usage.Usage()
        total.add(self.orchestration)
        for task in self.tasks:
            total.add(task.usage)
        return total

    def to_json(self) -> dict:
        return {"plan": self.plan, "wall_seconds": self.wall_seconds, "sum_seconds": self.sum_seconds,
                "speedup": round(self.speedup, 2) if self.speedup else None,
                "tasks": [{"id": t.id, "status": t.status, "started": t.started, "completed": t.completed,
                           "seconds": t.seconds, "usage": t.usage.to_json(),
                           "agent_reported_cost_usd": t.reported_cost} for t in self.tasks],
                "orchestration": self.orchestration.to_json(), "total": self.total().to_json(),
                "sources": self.sources, "notes": self.notes}


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def plans_dir(ws: Workspace) -> Path | None:
    """The active plan, else the newest archived one (cleanup archives a finished plan)."""
    if ws.plan_file.exists():
        return ws.plans
    archived = sorted(ws.archive.glob("*/plan.yaml")) if ws.archive.is_dir() else []
    return archived[-1].parent if archived else None


def logs_dir(ws: Workspace, folder: Path | None) -> Path:
    """The agent logs of this plan: moved beside it by cleanup when it archives it, else .parallel/logs/."""
    if folder is not None and (folder / "logs").is_dir():
        return folder / "logs"
    return ws.logs


def first_prompt(path: Path) -> str:
    """The text of the first `user` record of a transcript (a subagent's task prompt)."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return ""
    with fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("type") != "user":
                continue
            content = (record.get("message") or {}).get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(b.get("text", "") for b in content
                                 if isinstance(b, dict) and isinstance(b.get("text"), str))
            return ""
    return ""


def subagent_task(path: Path, ids: list[str]) -> str | None:
    """The task a subagent worked on: the one its first prompt names as `worktrees/<id>`,
    `task <id>`, `task: <id>` or `ctx task start <id>` (longest id first). None when the prompt
    names no task; its usage then counts as orchestration."""
    prompt = first_prompt(path)
    for tid in sorted(ids, key=len, reverse=True):
        if re.search(rf"(worktrees/|task[ :]+|ctx task start ){re.escape(tid)}(?![A-Za-z0-9_-])", prompt):
            return tid
    return None


def session_files(session: str | None, transcript_path: str | None, cwd: Path) -> tuple[Path | None, list[Path]]:
    """The session transcript and its subagents' transcripts, when a session is known."""
    if not (session or transcript_path or os.environ.get(transcript.SESSION_ENV)):
        return None, []
    main = transcript.locate(transcript=transcript_path, session=session, cwd=cwd)
    subagents = sorted((main.parent / main.stem / "subagents").glob("agent-*.jsonl"))
    return main, subagents


def build(ws: Workspace, *, session: str | None = None, transcript_path: str | None = None) -> Report:
    folder = plans_dir(ws)
    name, rows = "none", []
    if folder is not None:
        raw = read_yaml(folder / "plan.yaml", "plan.yaml") or {}
        name = str((raw.get("metadata") or {}).get("name", "plan"))
        for entry in raw.get("tasks") or []:
            path = folder / str(entry.get("file") or f"tasks/{entry['id']}.md")
            meta, _ = read_task_file(path, str(path)) if path.exists() else ({}, "")
            start, end = _time(meta.get("started")), _time(meta.get("completed"))
            seconds = (end - start).total_seconds() if start and end and end >= start else None
            rows.append(TaskReport(str(entry["id"]), str(meta.get("status", "pending")),
                                   meta.get("started"), meta.get("completed"), seconds))
    starts = [_time(t.started) for t in rows if t.started]
    ends = [_time(t.completed) for t in rows if t.completed]
    wall = (max(ends) - min(starts)).total_seconds() if starts and ends and max(ends) > min(starts) else None
    total = sum(t.seconds for t in rows if t.seconds)
    sources: list[str] = []
    ids = [t.id for t in rows]
    by_id = {t.id: t for t in rows}
    counted: set[str] = set()  # message ids already counted, across every file of this report
    logs = logs_dir(ws, folder)
    for task in rows:
        log = logs / f"{task.id}.log"
        if log.exists():
            task.usage = usage.count([log], counted)
            task.reported_cost = usage.reported_cost([log])
            sources.append(str(log))
    orchestration = usage.Usage()
    notes: list[str] = []
    try:
        main, subagents = session_files(session, transcript_path, Path.cwd())
    except CtxError as exc:
        if session or transcript_path:
            raise
        main, subagents = None, []  # the session in the environment has no transcript on disk
        notes.append(f"session transcript not counted: {exc.message}")
    if main is not None:
        orchestration = usage.count([main], counted)
        sources.append(str(main))
        for path in subagents:
            owner = subagent_task(path, ids)
            found = usage.count([path], counted)
            (by_id[owner].usage if owner else orchestration).add(found)
            sources.append(str(path))
    return Report(name, rows, wall, total, orchestration, sources, notes)


def print_report(ws: Workspace, *, session: str | None = None, transcript_path: str | None = None,
                 echo=print) -> Report:
    """Build the report and print it as text: what `ctx run` and `ctx demo` show at the end."""
    built = build(ws, session=session, transcript_path=transcript_path)
    echo(render(built))
    return built


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def _cost(u: usage.Usage) -> str:
    if not u.messages:
        return "-"
    return "unknown (" + ", ".join(sorted(u.unpriced)) + " not in prices.yaml)" if u.unpriced else f"${u.cost:.4f}"


def render(report: Report) -> str:
    lines = [f"report for plan {report.plan}"]
    lines.append(f"{'TASK':<24} {'STATUS':<12} {'TIME':>8} {'TOKENS':>10}  COST")
    for t in report.tasks:
        lines.append(f"{t.id:<24} {t.status:<12} {_dur(t.seconds):>8} {t.usage.total_tokens:>10}  "
                     f"{_cost(t.usage) if t.usage.messages else '-'}")
    if report.orchestration.messages:
        lines.append(f"{'(orchestration)':<24} {'':<12} {'':>8} {report.orchestration.total_tokens:>10}  "
                     f"{_cost(report.orchestration)}")
    total = report.total()
    lines.append(f"wall clock {_dur(report.wall_seconds)} (first start to last completion); "
                 f"sum of task times {_dur(report.sum_seconds)}; speed-up "
                 + (f"{report.speedup:.2f}x" if report.speedup else "-"))
    lines.append(f"tokens {total.total_tokens} (input {total.tokens['input_tokens']}, output "
                 f"{total.tokens['output_tokens']}, cache write {total.tokens['cache_creation_input_tokens']}, "
                 f"cache read {total.tokens['cache_read_input_tokens']}) in {total.messages} messages; cost {_cost(total)}")
    lines.extend(f"note: {n}" for n in report.notes)
    if not report.sources:
        lines.append("no transcripts or agent logs found: pass --session ID or --transcript PATH to count tokens")
    return "\n".join(lines)
