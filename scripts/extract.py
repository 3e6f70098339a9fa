"""A plan written in the conversation, turned into plan.yaml and task files."""

from __future__ import annotations

import shutil
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from . import plan_text, transcript, validate
from .errors import data_error
from .plan import dump_yaml, rel
from .workspace import Workspace

_PASSTHROUGH = ("test", "agent", "labels")


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


def newest_plan_text(path: Path) -> tuple[str, str]:
    """(message id, text) of the newest assistant message of the main conversation holding a plan."""
    found = near = None
    for mid, text in transcript.assistant_messages(path, marker=plan_text.TYPE_ANYWHERE):
        if plan_text.holds_plan(text):
            found, near = (mid, text), None
        elif plan_text.mentions_plan(text) is not None:
            near = (mid, text)
    # A newer message that starts a plan ctx cannot read is refused, never passed over for an older one.
    if near is not None:
        lines = near[1].splitlines()
        raise data_error(f"{path}: no plan found: {plan_text.quote(lines, plan_text.mentions_plan(near[1]))} "
                         "is not a type line ctx reads",
                         hint=f"write it as '{plan_text.TYPE_LINE}' on a line of its own, outside any code block")
    if found is None:
        raise data_error(f"{path}: no plan found in the assistant's messages",
                         hint=f"ask for one with /ctx:plan; {plan_text.FORM}")
    return found


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _build(plan: plan_text.PlanText) -> tuple[dict, dict[str, str]]:
    """plan.yaml content and {task id: task file text}; refuses ids that cannot be file names."""
    data, sections = plan.data, plan.sections
    metadata = data.get("metadata") or {}
    stamp = _now()
    metadata = {"name": metadata.get("name") or "plan", "created": str(metadata.get("created") or stamp),
                "status": "ready", **{k: v for k, v in metadata.items() if k not in ("name", "created", "status")}}
    entries, files = [], {}
    for n, task in enumerate(data["tasks"]):
        if not isinstance(task, dict) or "id" not in task:
            raise plan.task_error(n, "each task needs an 'id'")
        tid = str(task["id"])
        why = validate.id_problem(tid)
        if why:
            raise plan.task_error(n, f"id: {why}", hint="ids look like auth-api: lowercase, digits, '.', '_', '-'")
        seen = next((k for k, e in enumerate(entries) if e["id"] == tid), None)
        if seen is not None:
            raise plan.task_error(n, f"id: duplicate id '{tid}' (also tasks[{seen}])", hint="give each task its own id")
        if tid not in sections:
            raise plan.missing_section(tid)
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
        raise plan.extra_section(min(extra, key=plan.heading_at.__getitem__))
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
    plan = plan_text.parse(text, label)
    plan_yaml, files = _build(plan)
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
            raise plan.invalid(found[0].file, found[0].field, found[0].message)
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
