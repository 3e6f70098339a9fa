"""Helpers for tests: real repositories, plans written to disk, the ctx CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(tmp_path: Path, name: str = "project") -> Path:
    tmp_path = Path(tmp_path).resolve()
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    work = tmp_path / name
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("# project\n")
    (work / "app.py").write_text("def hello():\n    return 'hello'\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial commit")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "-u", "origin", "main")
    return work


def write_plan(repo: Path, tasks: list[dict], name: str = "demo-plan", **metadata) -> Path:
    """Write .parallel/plans/plan.yaml and one task file per task, as `ctx plan extract` would.

    Each task dict takes id, and optionally name, priority, dependencies, labels, status, body
    and any further frontmatter keys.
    """
    plans = repo / ".parallel" / "plans"
    (plans / "tasks").mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in tasks:
        spec = dict(spec)
        tid = spec.pop("id")
        body = spec.pop("body", f"## Objective\nDo {tid}.\n")
        front = {"id": tid, "name": spec.pop("name", tid.replace("-", " ").title()),
                 "priority": spec.pop("priority", "medium"), "status": spec.pop("status", "pending"),
                 "dependencies": spec.pop("dependencies", []), "labels": spec.pop("labels", []),
                 "created": "2026-11-23T10:00:00Z", **spec}
        entries.append({"id": tid, "name": front["name"], "file": f"tasks/{tid}.md",
                        "priority": front["priority"], "dependencies": front["dependencies"]})
        (plans / "tasks" / f"{tid}.md").write_text(
            "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n" + body)
    meta = {"name": name, "created": "2026-11-23T10:00:00Z", "status": "ready", **metadata}
    (plans / "plan.yaml").write_text(yaml.safe_dump({"metadata": meta, "tasks": entries}, sort_keys=False))
    exclude = repo / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    with open(exclude, "a") as fh:
        fh.write(".parallel/\nworktrees/\n")
    return plans / "plan.yaml"


def ctx(cwd: Path, *args: str, input: str | None = None, env: dict | None = None,
        check: bool = False) -> subprocess.CompletedProcess:
    """Run the real `ctx` CLI as a subprocess (python -m ctx), as users and hooks do."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run([sys.executable, "-m", "ctx", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"ctx {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def finish(repo: Path, tid: str, files: dict[str, str] | None = None) -> None:
    """Do a task's work in its worktree as an agent would: write files, commit, mark it completed."""
    wt = repo / "worktrees" / tid
    for name, text in (files or {f"{tid}.py": f"# {tid}\n"}).items():
        (wt / name).write_text(text)
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", tid)
    ctx(wt, "task", "complete", tid, check=True)


def processes_with(*markers: str) -> list[int]:
    """Live processes (not this one, not zombies) whose command line or environment holds a marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            blob = Path(f"/proc/{entry}/cmdline").read_bytes() + Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(m.encode() in blob for m in markers):
            found.append(int(entry))
    return found
