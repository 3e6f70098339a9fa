"""`ctx demo`: a scratch repository, a six-task plan, scripted agents, merges, status, history and report."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from . import git, plan as plan_model, report, run as runner, status
from .display import Display
from .plan import dump_yaml
from .demo_project import PROJECT, TASKS, TEST
from .workspace import Workspace

IDENTITY = {"GIT_AUTHOR_NAME": "ctx demo", "GIT_AUTHOR_EMAIL": "demo@ctx.invalid",
            "GIT_COMMITTER_NAME": "ctx demo", "GIT_COMMITTER_EMAIL": "demo@ctx.invalid"}


def build(scratch: Path) -> Workspace:
    repo = scratch / "textkit"
    repo.mkdir(parents=True)
    for name, text in PROJECT.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git.run("init", "-q", "-b", "main", cwd=repo)
    git.run("add", "-A", cwd=repo)
    git.run("commit", "-q", "-m", "textkit: slugify and its test", cwd=repo)
    ws = Workspace(repo.resolve())
    ws.ensure_excluded()
    (ws.tasks_dir).mkdir(parents=True)
    entries = []
    for tid, (name, priority, deps, objective, files, _) in TASKS.items():
        entries.append({"id": tid, "name": name, "file": f"tasks/{tid}.md", "priority": priority, "dependencies": deps})
        front = {"id": tid, "name": name, "priority": priority, "status": "pending", "dependencies": deps,
                 "labels": ["demo"], "test": TEST}
        body = (f"## Objective\n{objective}\n\n## Files to Touch\n" + "".join(f"- `{f}`\n" for f in files) +
                f"\n## Tests Required\n`{TEST}` passes.\n\n## Acceptance Criteria\n- the tests pass\n")
        (ws.tasks_dir / f"{tid}.md").write_text("---\n" + dump_yaml(front) + "---\n\n" + body)
    (ws.plan_file).write_text(dump_yaml({"metadata": {"name": "textkit-improvements", "status": "ready"},
                                         "tasks": entries}))
    script = {tid: {"files": files, "message": message, "test": TEST}
              for tid, (_, _, _, _, files, message) in TASKS.items()}
    (ws.parallel / "demo-agent.json").write_text(json.dumps(script))
    return ws


def demo(directory: str | None, echo: Callable[[str], None] = print, think: float = 0.8) -> int:
    started = time.monotonic()
    scratch = Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="ctx-demo-"))
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ.update(IDENTITY)
    os.environ["CTX_DEMO_SCRIPT"] = ""  # set below, once the workspace exists
    ws = build(scratch)
    os.environ["CTX_DEMO_SCRIPT"] = str(ws.parallel / "demo-agent.json")
    os.environ["CTX_DEMO_THINK"] = str(think)
    plan = plan_model.load(ws)
    echo(f"ctx demo: a scratch repository at {ws.root}")
    echo(f"plan {plan.name}: {len(plan.tasks)} tasks; `ctx plan show` gives:")
    from .schedule import waves
    for n, wave in enumerate(waves(plan), 1):
        echo(f"  wave {n}: " + ", ".join(t.id + (f" (after {', '.join(t.dependencies)})" if t.dependencies else "")
                                         for t in wave))
    echo("")
    echo("ctx run --merge: each task in its own worktree and branch, scripted agents edit, test and commit;")
    echo("finished tasks merge into main before their dependents start.")
    agent = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).with_name('demo_agent.py')))}"
    result = runner.run(ws, jobs=4, agent=agent, mode="merge", display=Display(plan.ids()))
    echo("")
    echo("ctx status:")
    echo(status.render(status.collect(ws)))
    echo("")
    echo("git log --graph --oneline main:")
    echo(git.out("log", "--graph", "--oneline", "main", cwd=ws.root))
    echo("")
    echo(report.render(report.build(ws)))
    echo("")
    expected_block = set(result.blocked) == {"reverse-words"}
    if expected_block:
        echo("reverse-words was blocked on purpose: its implementation reverses characters, its test caught it,")
        echo("and its worktree is kept for a person to look at; the other five tasks merged.")
    echo(f"took {time.monotonic() - started:.1f} s; everything is in {scratch} (remove it with: rm -rf {scratch})")
    ok = expected_block and sorted(result.merged) == sorted(t for t in TASKS if t != "reverse-words")
    return 0 if ok else 1
