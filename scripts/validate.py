"""Checks a plan on disk: structure by JSON Schema, then meaning (ids, dependencies, cycles, files)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import CtxError
from .plan import read_task_file, read_yaml, rel
from .workspace import Workspace

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "field": self.field, "message": self.message}


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(resources.files("ctx").joinpath("plan_schema.json").read_text())


def _field(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_problems(data: Any, schema: dict, label: str, prefix: str = "") -> list[Problem]:
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        field = _field(err.absolute_path)
        found.append(Problem(label, prefix + field, err.message))
    return found


def id_problem(task_id: str) -> str | None:
    """Why task_id cannot name a branch and a folder, or None."""
    if not ID_PATTERN.match(task_id):
        return (f"'{task_id}' is not a valid task id (lowercase letters, digits, '.', '_', '-'; "
                "starts with a letter or digit; at most 63 characters)")
    if ".." in task_id or task_id.endswith((".", ".lock")):
        return f"'{task_id}' is not a valid git branch name"
    return None


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a path that starts and ends on the same id, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                cycle = visit(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def problems(ws: Workspace, plans: Path | None = None) -> list[Problem]:
    """Every problem with the plan on disk, one per line-worthy fact; empty when it is valid.

    plans: another folder laid out like .parallel/plans/ (used to check a plan before it is moved in).
    """
    plans = plans or ws.plans
    plan_file = plans / "plan.yaml"
    label = rel(ws, plan_file)
    if not plan_file.exists():
        return [Problem(label, "", "no plan found (write one with /ctx:plan, then run: ctx plan extract)")]
    try:
        data = read_yaml(plan_file, label)
    except CtxError as exc:
        return [Problem(label, "", exc.message.split(": ", 1)[-1])]
    found = _schema_problems(data, _schema(), label)
    if found:
        return found
    tasks = data["tasks"]
    ids: dict[str, int] = {}
    for n, entry in enumerate(tasks):
        tid = entry["id"]
        why = id_problem(tid)
        if why:
            found.append(Problem(label, f"tasks[{n}].id", why))
        if tid in ids:
            found.append(Problem(label, f"tasks[{n}].id", f"duplicate id '{tid}' (also tasks[{ids[tid]}])"))
        ids.setdefault(tid, n)
    graph = {}
    for n, entry in enumerate(tasks):
        deps = entry.get("dependencies") or []
        graph[entry["id"]] = deps
        for dep in deps:
            if dep not in ids:
                found.append(Problem(label, f"tasks[{n}].dependencies", f"unknown task '{dep}'"))
            elif dep == entry["id"]:
                found.append(Problem(label, f"tasks[{n}].dependencies", f"'{dep}' depends on itself"))
    cycle = find_cycle({k: [d for d in v if d != k] for k, v in graph.items()})
    if cycle:
        found.append(Problem(label, "tasks", "dependency cycle: " + " -> ".join(cycle)))
    for n, entry in enumerate(tasks):
        if not id_problem(entry["id"]):
            found.extend(_task_file_problems(ws, plans, entry, n, label))
    return found


def _task_file_problems(ws: Workspace, plans: Path, entry: dict, n: int, label: str) -> list[Problem]:
    tid = entry["id"]
    name = entry.get("file") or f"tasks/{tid}.md"
    path = plans / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        return [Problem(label, f"tasks[{n}].file", f"'{name}' must be a path inside {rel(ws, ws.plans)}/")]
    flabel = rel(ws, path)
    if not path.exists():
        return [Problem(flabel, "", f"task file for '{tid}' not found")]
    try:
        meta, _ = read_task_file(path, flabel)
    except CtxError as exc:
        return [Problem(flabel, "", exc.message.split(": ", 1)[-1])]
    found = _schema_problems(meta, {**_schema()["$defs"]["task_file"]}, flabel)
    if "id" in meta and str(meta["id"]) != tid:
        found.append(Problem(flabel, "id", f"'{meta['id']}' does not match the plan's id '{tid}'"))
    return found
