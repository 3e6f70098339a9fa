"""A plan written in the conversation, turned into plan.yaml and task files."""

from __future__ import annotations

import re
import shutil
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from . import transcript, validate
from .errors import data_error
from .plan import dump_yaml, rel
from .workspace import Workspace

MARKER = "**Type:** Plan"
_MARKER_LINE = re.compile(r"^\s*\*\*Type:\*\*\s*Plan\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)")
_TASK_HEADING = re.compile(r"^###\s+Task\s+(\S+?)\s*:\s*(.*?)\s*$")
_PASSTHROUGH = ("test", "agent", "labels", "files")


@dataclass
class WrittenPlan:
    name: str
    task_ids: list[str]
    source: Path
    archived: Path | None
    unchanged: bool = False  # this very message was extracted before: nothing written


def _existing_metadata(ws: Workspace) -> dict:
    try:
        raw = yaml.safe_load(ws.plan_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    meta = raw.get("metadata") if isinstance(raw, dict) else None
    return meta if isinstance(meta, dict) else {}


def _source_of(ws: Workspace) -> str | None:
    return _existing_metadata(ws).get("source_message")


def _name_of(ws: Workspace) -> str:
    return str(_existing_metadata(ws).get("name", "plan"))


def _closes(line: str, fence: str) -> bool:
    """Does `line` close a code block opened with `fence` (same character, at least as long)?"""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _lines_outside_fences(lines: list[str]):
    """(index, line, inside_fence) for every line, tracking ``` and ~~~ fences."""
    fence: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            yield i, line, True
            continue
        if fence is not None:
            if _closes(line, fence):
                fence = None
            yield i, line, True
            continue
        yield i, line, False


def parse(text: str, label: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(the yaml block's data, {task id: section body}) from one assistant message."""
    lines = text.splitlines()
    start = next((i for i, line, fenced in _lines_outside_fences(lines)
                  if not fenced and _MARKER_LINE.match(line)), None)
    if start is None:
        raise data_error(f"{label}: no '{MARKER}' line outside a code block")
    block: list[str] | None = None
    end = None
    for i in range(start + 1, len(lines)):
        m = _FENCE.match(lines[i])
        if block is None and m and m.group(2).lower() in ("yaml", "yml"):
            block, fence = [], m.group(1)
        elif block is not None:
            if _closes(lines[i], fence):
                end = i
                break
            block.append(lines[i])
    if block is None or end is None:
        raise data_error(f"{label}: the plan has no complete ```yaml block after '{MARKER}'")
    try:
        data = yaml.safe_load("\n".join(block))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (yaml block line {mark.line + 1})" if mark else ""
        raise data_error(f"{label}: the plan's yaml block is malformed{where}: "
                         f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise data_error(f"{label}: the plan's yaml block needs 'metadata' and a 'tasks' list")
    sections: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []
    rest = lines[end + 1:]
    for _, line, fenced in _lines_outside_fences(rest):
        heading = None if fenced else _TASK_HEADING.match(line)
        if heading:
            if current is not None:
                sections[current] = "\n".join(body)
            current, body = heading.group(1), []
            if current in sections:
                raise data_error(f"{label}: two sections for task '{current}'")
        elif current is not None:
            body.append(line)
    if current is not None:
        sections[current] = "\n".join(body)
    return data, {k: v.strip("\n") + "\n" for k, v in sections.items()}


def newest_plan_text(path: Path) -> tuple[str, str]:
    """(message id, text) of the newest assistant message of the main conversation holding a plan."""
    found = None
    for mid, text in transcript.assistant_messages(path, marker="**Type:**"):
        if any(_MARKER_LINE.match(line) for line in text.splitlines()):
            found = (mid, text)
    if found is None:
        raise data_error(f"{path}: no plan found in the assistant's messages",
                         hint="ask for one with /ctx:plan (a '**Type:** Plan' line, a yaml block, '### Task <id>: <name>' sections)")
    return found


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _build(data: dict[str, Any], sections: dict[str, str], label: str) -> tuple[dict, dict[str, str]]:
    """plan.yaml content and {task id: task file text}; refuses ids that cannot be file names."""
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise data_error(f"{label}: metadata: expected a mapping")
    stamp = _now()
    metadata = {"name": metadata.get("name") or "plan", "created": str(metadata.get("created") or stamp),
                "status": "ready", **{k: v for k, v in metadata.items() if k not in ("name", "created", "status")}}
    entries, files = [], {}
    for n, task in enumerate(data["tasks"]):
        if not isinstance(task, dict) or "id" not in task:
            raise data_error(f"{label}: tasks[{n}]: each task needs an 'id'")
        tid = str(task["id"])
        why = validate.id_problem(tid)
        if why:
            raise data_error(f"{label}: tasks[{n}].id: {why}")
        if tid not in sections:
            raise data_error(f"{label}: task '{tid}' is listed in the yaml block but has no '### Task {tid}: ...' section")
        entry = {"id": tid, "name": task.get("name", tid), "file": f"tasks/{tid}.md",
                 "priority": task.get("priority", "medium"), "dependencies": task.get("dependencies") or []}
        entries.append(entry)
        front = {"id": tid, "name": entry["name"], "priority": entry["priority"], "status": "pending",
                 "dependencies": entry["dependencies"], "labels": task.get("labels") or [],
                 **{k: task[k] for k in _PASSTHROUGH if k in task and k != "labels"},
                 "created": stamp, "updated": stamp}
        files[tid] = "---\n" + dump_yaml(front) + "---\n\n" + sections[tid]
    listed = {e["id"] for e in entries}
    extra = sorted(set(sections) - listed)
    if extra:
        raise data_error(f"{label}: section '### Task {extra[0]}' names no task in the yaml block")
    return {"metadata": metadata, "tasks": entries}, files


def extract(ws: Workspace, *, transcript_path: str | None = None, session: str | None = None,
            force: bool = False) -> WrittenPlan:
    """Write the newest plan of the transcript to .parallel/plans/, all or nothing."""
    source = transcript.locate(transcript=transcript_path, session=session, cwd=Path.cwd())
    label = str(source)
    message_id, text = newest_plan_text(source)
    if ws.plan_file.exists() and not force:
        if _source_of(ws) == message_id:
            return WrittenPlan(_name_of(ws), [], source, None, unchanged=True)
        raise data_error(f"{rel(ws, ws.plan_file)}: a plan exists already",
                         hint="ctx plan extract --force archives it under .parallel/archive/ and writes the new one")
    data, sections = parse(text, label)
    plan_yaml, files = _build(data, sections, label)
    plan_yaml["metadata"]["source_message"] = message_id
    ws.parallel.mkdir(parents=True, exist_ok=True)
    ws.ensure_excluded()
    staging = ws.parallel / f".plans-new-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / "tasks").mkdir(parents=True)
        (staging / "plan.yaml").write_text(dump_yaml(plan_yaml), encoding="utf-8")
        for tid, text in files.items():
            (staging / "tasks" / f"{tid}.md").write_text(text, encoding="utf-8")
        found = validate.problems(ws, staging)
        if found:
            first = found[0]
            field = f"{first.field}: " if first.field else ""
            raise data_error(f"{label}: the plan is not valid: {field}{first.message}")
        archived = archive_plans(ws) if ws.plans.exists() else None
        os.replace(staging, ws.plans)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return WrittenPlan(plan_yaml["metadata"]["name"], list(files), source, archived)


def archive_plans(ws: Workspace) -> Path:
    """Move .parallel/plans/ to .parallel/archive/<timestamp>/ and return where it went."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = ws.archive / stamp
    n = 1
    while target.exists():
        n += 1
        target = ws.archive / f"{stamp}-{n}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(ws.plans, target)
    return target
