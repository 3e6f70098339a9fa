"""Task status updates: frontmatter only, atomic, under a lock, from any checkout of the repository."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from . import locks
from .errors import data_error
from .plan import STATUSES, dump_yaml, load_yaml, read_yaml, rel
from .workspace import Workspace, atomic_write

_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)

# Moves that throw away recorded work need --force.
_NEEDS_FORCE = {("completed", "in_progress"), ("completed", "pending")}


def now() -> str:
    """UTC, to the millisecond, so that durations of quick tasks are measured, not rounded away."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_frontmatter(text: str, label: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, rest) where rest is everything from the closing `---` line's end, untouched."""
    first = _FENCE.match(text)
    closing = _FENCE.search(text, first.end()) if first else None
    if not first or not closing:
        raise data_error(f"{label}: no YAML frontmatter (the file must start with a '---' block)")
    try:
        meta = load_yaml(text[first.end():closing.start()]) or {}
    except yaml.YAMLError as exc:
        raise data_error(f"{label}: invalid YAML frontmatter ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(meta, dict):
        raise data_error(f"{label}: frontmatter is not a mapping")
    return meta, text[closing.end():]


def join_frontmatter(meta: dict[str, Any], rest: str) -> str:
    return "---\n" + dump_yaml(meta) + "---" + rest


def task_file(ws: Workspace, task_id: str) -> Path:
    label = rel(ws, ws.plan_file)
    if not ws.plan_file.exists():
        raise data_error(f"{label}: no plan found", hint="write one with /ctx:plan, then run: ctx plan extract")
    raw = read_yaml(ws.plan_file, label) or {}
    entries = raw.get("tasks") if isinstance(raw, dict) else None
    for entry in entries or []:
        if isinstance(entry, dict) and str(entry.get("id")) == task_id:
            return ws.plans / str(entry.get("file") or f"tasks/{task_id}.md")
    known = ", ".join(str(e.get("id")) for e in entries or [] if isinstance(e, dict))
    raise data_error(f"{label}: no task with id '{task_id}'" + (f" (tasks: {known})" if known else ""))


def _edit(ws: Workspace, task_id: str, change) -> dict[str, Any]:
    with locks.lock(ws, "status"):
        path = task_file(ws, task_id)
        label = rel(ws, path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise data_error(f"{label}: task file not found") from None
        meta, rest = split_frontmatter(text, label)
        change(meta, label)
        atomic_write(path, join_frontmatter(meta, rest))
        return meta


def set_status(ws: Workspace, task_id: str, status: str, *, reason: str | None = None,
               force: bool = False) -> dict[str, Any]:
    """Move a task to `status`, stamping updated/started/completed and keeping `reason` for blocked."""
    if status not in STATUSES:
        raise data_error(f"status '{status}' is not one of {', '.join(STATUSES)}")

    def change(meta: dict[str, Any], label: str) -> None:
        old = str(meta.get("status", "pending"))
        if (old, status) in _NEEDS_FORCE and not force:
            raise data_error(f"{label}: task '{task_id}' is {old}; refusing to move it to {status}",
                             hint=f"add --force to reopen it")
        stamp = now()
        meta["status"] = status
        meta["updated"] = stamp
        if status == "in_progress" and (old != "in_progress" or "started" not in meta):
            meta["started"] = stamp
            meta.pop("completed", None)
        if status == "completed" and old != "completed":
            meta["completed"] = stamp
        if status == "blocked":
            meta["reason"] = reason or "blocked (no reason given)"
        else:
            meta.pop("reason", None)
        if status in ("pending", "in_progress"):
            meta.pop("merged", None)
            meta.pop("merge_commit", None)

    return _edit(ws, task_id, change)


def update(ws: Workspace, task_id: str, **fields: Any) -> dict[str, Any]:
    """Set further frontmatter keys (None removes one), e.g. merged=..., merge_commit=..."""

    def change(meta: dict[str, Any], label: str) -> None:
        for key, value in fields.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
        meta["updated"] = now()

    return _edit(ws, task_id, change)


def update_metadata(ws: Workspace, **fields: Any) -> dict[str, Any]:
    """Set keys of plan.yaml's metadata (None removes one)."""
    with locks.lock(ws, "status"):
        label = rel(ws, ws.plan_file)
        raw = read_yaml(ws.plan_file, label) or {}
        if not isinstance(raw, dict):
            raise data_error(f"{label}: expected a mapping with metadata and tasks")
        meta = raw.setdefault("metadata", {}) or {}
        raw["metadata"] = meta
        for key, value in fields.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
        atomic_write(ws.plan_file, dump_yaml(raw))
        return meta


def retry(ws: Workspace, task_id: str) -> dict[str, Any]:
    """Set a blocked task back to pending, keeping its branch, worktree and commits, for the next run."""

    def change(meta: dict[str, Any], label: str) -> None:
        old = str(meta.get("status", "pending"))
        if old == "in_progress":
            raise data_error(f"{label}: task '{task_id}' is in_progress: an agent may be working on it",
                             hint=f"stop that run first, or: ctx task block {task_id} --reason ...")
        if old == "completed" and meta.get("merged"):
            raise data_error(f"{label}: task '{task_id}' is already merged; nothing to retry")
        if old == "pending":
            return
        meta["status"] = "pending"
        meta["updated"] = now()
        meta["retries"] = int(meta.get("retries") or 0) + 1
        if meta.get("reason"):
            meta["last_reason"] = meta["reason"]
        for key in ("reason", "merged", "merge_commit", "completed"):
            meta.pop(key, None)

    return _edit(ws, task_id, change)
