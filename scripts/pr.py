"""Pull requests for completed tasks through the `gh` CLI: stacked on unmerged dependencies, never duplicated."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Callable

from . import git, integration, plan as plan_model, schedule, worktrees
from .errors import CtxError
from .workspace import Workspace

Echo = Callable[[str], None]


@dataclass
class PrOutcome:
    task_id: str
    action: str  # opened, exists, would open, skipped
    base: str
    url: str | None = None
    detail: str = ""


def _gh(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["gh", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def _preflight(ws: Workspace) -> None:
    if not shutil.which("gh"):
        raise CtxError("gh (the GitHub CLI) is not installed; ctx pr needs it",
                       hint="install it from https://cli.github.com, then run: gh auth login")
    if _gh("auth", "status", cwd=ws.root).returncode != 0:
        raise CtxError("gh is not logged in", hint="run: gh auth login")
    if not git.run("remote", "get-url", "origin", cwd=ws.root, check=False).ok:
        raise CtxError("this repository has no remote named origin", hint="run: git remote add origin <url>")


def _push(ws: Workspace, branch: str) -> None:
    git.run("push", "--quiet", "--set-upstream", "origin", f"refs/heads/{branch}:refs/heads/{branch}", cwd=ws.root)


def _on_origin(ws: Workspace, branch: str) -> bool:
    res = git.run("ls-remote", "--exit-code", "--heads", "origin", f"refs/heads/{branch}", cwd=ws.root, check=False)
    return res.ok


def existing(ws: Workspace, branch: str) -> str | None:
    proc = _gh("pr", "list", "--head", branch, "--state", "open", "--json", "number,url", cwd=ws.root)
    if proc.returncode != 0:
        raise CtxError(f"gh pr list --head {branch} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    try:
        found = json.loads(proc.stdout or "[]")
    except ValueError:
        raise CtxError(f"gh pr list --head {branch} printed something that is not JSON") from None
    return str(found[0].get("url") or f"#{found[0].get('number')}") if found else None


def open_prs(ws: Workspace, ids: list[str] | None = None, *, base: str | None = None, draft: bool = False,
             dry_run: bool = False, echo: Echo = print) -> list[PrOutcome]:
    plan = plan_model.load(ws)
    base = base or worktrees.base_branch(ws, plan)
    for tid in ids or []:
        plan.task(tid)
    _preflight(ws)
    order = [t for wave in schedule.waves(plan) for t in wave]
    chosen = [t for t in order if t.id in ids] if ids else [t for t in order if t.status == "completed" and not t.meta.get("merged")]
    outcomes = []
    for task in chosen:
        unmerged = [d for d in task.dependencies if not worktrees.dependency_done(ws, plan.task(d), base)]
        target = plan.task(unmerged[0]).branch if unmerged else base
        if not git.rev(f"refs/heads/{task.branch}", ws.root):
            outcomes.append(PrOutcome(task.id, "skipped", target, detail=f"no branch {task.branch}"))
            continue
        if integration.commits_not_in(ws.root, task.branch, target) == 0:
            outcomes.append(PrOutcome(task.id, "skipped", target, detail=f"no commits ahead of {target}"))
            continue
        url = existing(ws, task.branch)
        if url:
            outcomes.append(PrOutcome(task.id, "exists", target, url))
            continue
        if dry_run:
            outcomes.append(PrOutcome(task.id, "would open", target, detail=f"push {task.branch} to origin"))
            continue
        if target != base and not _on_origin(ws, target):
            _push(ws, target)  # a stacked pull request needs its base branch on the remote
        _push(ws, task.branch)
        argv = ["pr", "create", "--head", task.branch, "--base", target, "--title", task.name,
                "--body-file", str(plan.task_path(task))]
        for label in task.labels:
            argv += ["--label", label]
        if draft:
            argv.append("--draft")
        proc = _gh(*argv, cwd=ws.root)
        if proc.returncode != 0:
            raise CtxError(f"gh pr create for {task.branch} failed: {(proc.stderr or proc.stdout).strip()}")
        lines = proc.stdout.strip().splitlines()
        outcomes.append(PrOutcome(task.id, "opened", target, lines[-1] if lines else None))
    for o in outcomes:
        echo(f"{o.task_id:<24} {o.action:<10} {o.url or o.detail} (base {o.base})")
    if not outcomes:
        echo("pr: no completed, unmerged task to open a pull request for")
    return outcomes


def as_json(outcomes: list[PrOutcome]) -> list[dict]:
    return [asdict(o) for o in outcomes]
