"""The plan on disk: plan.yaml plus one Markdown task file per task."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import CtxError, data_error
from .workspace import Workspace

PRIORITIES = ("blocker", "high", "medium", "low")
STATUSES = ("pending", "in_progress", "completed", "blocked")

# libyaml's loader and dumper when PyYAML was built with it (same documents, several times faster)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Task:
    id: str
    name: str
    file: str  # relative to .parallel/plans/
    priority: str = "medium"
    dependencies: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    status: str = "pending"
    meta: dict[str, Any] = field(default_factory=dict)  # the task file's frontmatter
    body: str = ""

    @property
    def branch(self) -> str:
        return f"feature/{self.id}"

    @property
    def reason(self) -> str | None:
        return self.meta.get("reason")


@dataclass
class Plan:
    name: str
    metadata: dict[str, Any]
    tasks: list[Task]
    workspace: Workspace

    @property
    def status(self) -> str:
        return str(self.metadata.get("status", "ready"))

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise data_error(f"{rel(self.workspace, self.workspace.plan_file)}: no task with id '{task_id}'",
                         hint="ctx plan show lists the tasks")

    def ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    def task_path(self, task: Task) -> Path:
        return self.workspace.plans / task.file


def rel(ws: Workspace, path: Path) -> str:
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def read_yaml(path: Path, label: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise data_error(f"{label}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise data_error(f"{label}: cannot read ({exc})") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise data_error(f"{label}:{where} invalid YAML ({getattr(exc, 'problem', None) or exc})") from None


def load_yaml(text: str) -> Any:
    """yaml.safe_load, through libyaml when available."""
    return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader


def read_task_file(path: Path, label: str) -> tuple[dict[str, Any], str]:
    import frontmatter  # only commands that read whole task files pay for it
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise data_error(f"{label}: file not found") from None
    except yaml.YAMLError as exc:
        raise data_error(f"{label}: invalid YAML frontmatter ({getattr(exc, 'problem', None) or exc})") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise data_error(f"{label}: cannot read ({exc})") from None
    if not isinstance(post.metadata, dict):
        raise data_error(f"{label}: frontmatter is not a mapping")
    return dict(post.metadata), post.content


def load(ws: Workspace, *, check: bool = True) -> Plan:
    """Load the plan; check=True refuses a plan that `ctx plan validate` would reject."""
    if not ws.plan_file.exists():
        raise data_error(f"{rel(ws, ws.plan_file)}: no plan found",
                         hint="write one with /ctx:plan, then run: ctx plan extract")
    label = rel(ws, ws.plan_file)
    raw: Any = None
    if check:
        raw = read_raw(ws)
        seal = fingerprint(ws, raw)
        if seal is None or not validated(ws, seal):
            from .validate import problems
            found = problems(ws)
            if found:
                first = found[0]
                more = f" (and {len(found) - 1} more; run: ctx plan validate)" if len(found) > 1 else ""
                raise data_error(str(first) + more)
            if not remember_valid(ws, seal, raw):
                raw = None  # changed while it was validated: read what was validated, as before
    raw = (read_yaml(ws.plan_file, label) if raw is None else raw) or {}
    metadata = dict(raw.get("metadata") or {})
    tasks = []
    for entry in raw.get("tasks") or []:
        task = Task(id=str(entry["id"]), name=str(entry.get("name", entry["id"])),
                    file=str(entry.get("file") or f"tasks/{entry['id']}.md"),
                    priority=str(entry.get("priority", "medium")),
                    dependencies=[str(d) for d in entry.get("dependencies") or []],
                    labels=[str(x) for x in entry.get("labels") or []])
        path = ws.plans / task.file
        if path.exists():
            meta, body = read_task_file(path, rel(ws, path))
            task.meta, task.body = meta, body
            task.status = str(meta.get("status", "pending"))
            task.labels = [str(x) for x in meta.get("labels") or task.labels]
        tasks.append(task)
    return Plan(name=str(metadata.get("name", "plan")), metadata=metadata, tasks=tasks, workspace=ws)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=YAML_DUMPER, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)


# A plan that passed `ctx plan validate` is remembered by a fingerprint of its files, so the commands
# after it (ctx run, ctx setup, ...) skip loading the schema validator (jsonschema: some 50 ms) until a
# file changes. The record is kept in the git folder, which no commit can ship.
CODE = ("validate.py", "plan_schema.json")


def read_raw(ws: Workspace) -> Any:
    """plan.yaml as parsed, or None when it cannot be read (validation says why)."""
    try:
        return read_yaml(ws.plan_file, rel(ws, ws.plan_file))
    except CtxError:
        return None


def fingerprint(ws: Workspace, raw: Any) -> str | None:
    """sha256 of the plan.yaml bytes, each task file it names and the validating code; None when the
    plan is too broken to name its files (validation then says why)."""
    import hashlib
    digest = hashlib.sha256()
    try:
        for name in CODE:
            digest.update((Path(__file__).parent / name).read_bytes())
        digest.update(ws.plan_file.read_bytes())
        for entry in raw["tasks"]:
            name = entry.get("file") or f"tasks/{entry['id']}.md"
            if not isinstance(name, str) or Path(name).is_absolute() or ".." in Path(name).parts:
                return None
            content = (ws.plans / name).read_bytes()
            digest.update(f"\0{name}\0{len(content)}\0".encode())
            digest.update(content)
    except (OSError, KeyError, TypeError, AttributeError):
        return None
    return digest.hexdigest()


def _seal_file(ws: Workspace) -> Path:
    return ws.git_dir() / "ctx-valid-plan"


def validated(ws: Workspace, seal: str) -> bool:
    try:
        return _seal_file(ws).read_text().strip() == seal
    except OSError:
        return False


def remember_valid(ws: Workspace, seal: str | None, raw: Any) -> bool:
    """Record that the plan fingerprinted `seal` before its validation passed, unless a file changed
    meanwhile (then what passed may not be what was fingerprinted): False then. A lost record costs
    a validation."""
    if seal is None or fingerprint(ws, raw) != seal:
        return False
    from .workspace import atomic_write
    try:
        atomic_write(_seal_file(ws), seal + "\n", sync=False)
    except OSError:
        pass
    return True
