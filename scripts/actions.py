"""GitHub Actions as the place where tasks run: the workflow, the checks before dispatch, the plan ref.

The workflow (`.github/workflows/ctx.yml`, written by `ctx actions init`) runs one job per task.
Each job reads its task from `refs/ctx/plans/<plan name>`: a commit ctx pushes, outside the user's
branches, holding `.parallel/plans/`, the executor prompt of every task, and a snapshot of ctx's
own plugin (so the runner uses the same prompt and approval hook as this machine). The job pushes
`feature/<id>` and its outcome to `refs/ctx/results/<dispatch>/<id>`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from . import agents, git, plan as plan_model
from .actions_job import WORKSPACE_MARK
from .errors import CtxError, data_error
from .hooks.state import APPROVAL_FILE
from .plan import Plan
from .workspace import Workspace

WORKFLOW = Path(".github") / "workflows" / "ctx.yml"
WORKFLOW_NAME = WORKFLOW.name
SECRETS = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")
PUSH_PERMISSIONS = ("ADMIN", "MAINTAIN", "WRITE")
PLUGIN_PARTS = (".claude-plugin", "agents", "bin", "commands", "hooks", "scripts", "pyproject.toml", "LICENSE")
_SKIP = re.compile(r"(^|/)(__pycache__|\.venv|[^/]*\.egg-info)(/|$)|\.pyc$")


def plan_ref(plan: Plan) -> str:
    return f"refs/ctx/plans/{plan.name}"


def result_ref(dispatch: str, task_id: str) -> str:
    return f"refs/ctx/results/{dispatch}/{task_id}"


# --- the workflow ---------------------------------------------------------------------------------

def workflow_text(max_parallel: int = 4) -> str:
    text = resources.files("ctx").joinpath("data", "ctx-workflow.yml").read_text(encoding="utf-8")
    return re.sub(r"(?m)^(\s+max-parallel:) \d+$", rf"\g<1> {max_parallel}", text)


@dataclass
class InitOutcome:
    path: Path
    action: str  # written, unchanged, replaced


def init(ws: Workspace, *, max_parallel: int = 4, force: bool = False) -> InitOutcome:
    """Write the workflow; refuse to overwrite a different file without force."""
    path = ws.root / WORKFLOW
    text = workflow_text(max_parallel)
    if path.exists():
        if path.read_text(encoding="utf-8", errors="replace") == text:
            return InitOutcome(path, "unchanged")
        if not force:
            raise CtxError(f"{WORKFLOW} exists and differs from the workflow ctx writes",
                           hint="review it, then run: ctx actions init --force (or move it away)")
    action = "replaced" if path.exists() else "written"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return InitOutcome(path, action)


# --- gh --------------------------------------------------------------------------------------------

def gh(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["gh", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise CtxError("gh (the GitHub CLI) is not installed; running on GitHub Actions needs it",
                       hint="install it from https://cli.github.com, then run: gh auth login") from None


def gh_json(*args: str, cwd: Path):
    proc = gh(*args, cwd=cwd)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[-1]
        raise CtxError(f"gh {' '.join(args[:2])} failed: {detail}")
    try:
        return json.loads(proc.stdout or "null")
    except ValueError:
        raise CtxError(f"gh {' '.join(args[:2])} printed something that is not JSON") from None


def default_branch(ws: Workspace) -> str:
    res = git.run("ls-remote", "--symref", "origin", "HEAD", cwd=ws.root, check=False)
    match = re.search(r"^ref: refs/heads/(\S+)\s+HEAD$", res.stdout, re.MULTILINE)
    if not res.ok or not match:
        raise CtxError("cannot tell origin's default branch (git ls-remote --symref origin HEAD)",
                       hint="check that origin is reachable: git ls-remote origin")
    return match.group(1)


def preflight(ws: Workspace, *, needs_secret: bool = True) -> str:
    """Everything that would make a dispatch fail, checked before anything is pushed; the default branch."""
    if not shutil.which("gh"):
        gh("--version", cwd=ws.root)  # raises the "not installed" error
    if not git.run("remote", "get-url", "origin", cwd=ws.root, check=False).ok:
        raise CtxError("this repository has no remote named origin", hint="run: git remote add origin <url>")
    if gh("auth", "status", cwd=ws.root).returncode != 0:
        raise CtxError("gh is not logged in", hint="run: gh auth login")
    repo = gh_json("repo", "view", "--json", "viewerPermission", cwd=ws.root) or {}
    if repo.get("viewerPermission") not in PUSH_PERMISSIONS:
        raise CtxError(f"you cannot push to this repository on GitHub (permission: "
                       f"{repo.get('viewerPermission') or 'none'}); the jobs and ctx push the tasks' branches",
                       hint="ask for write access, or run the plan on a fork you own")
    default = default_branch(ws)
    fetched = git.run("fetch", "--quiet", "--no-tags", "origin", f"refs/heads/{default}", cwd=ws.root, check=False)
    if not fetched.ok or not git.run("cat-file", "-e", f"FETCH_HEAD:{WORKFLOW.as_posix()}", cwd=ws.root, check=False).ok:
        raise CtxError(f"{WORKFLOW} is not on origin's default branch {default}; GitHub dispatches only "
                       "workflows found there",
                       hint=f"run: ctx actions init, then commit {WORKFLOW} and git push origin {default}")
    names = {str(s.get("name")) for s in gh_json("secret", "list", "--json", "name", cwd=ws.root) or []}
    if needs_secret and not names & set(SECRETS):
        raise CtxError(f"the repository has no secret {SECRETS[0]} (or {SECRETS[1]}) for Claude Code on the runners",
                       hint=f"run: gh secret set {SECRETS[0]}")
    return default


# --- the plan ref ----------------------------------------------------------------------------------

def plugin_root() -> Path:
    root = agents.PLUGIN_ROOT
    if not (root / ".claude-plugin" / "plugin.json").is_file() or not (root / "scripts" / "actions_job.py").is_file():
        raise CtxError(f"ctx's plugin files are not at {root}; the runners need them",
                       hint="run ctx from its plugin folder or an editable install (pip install -e <ctx checkout>)")
    return root


def _files(folder: Path, prefix: str, parts: tuple[str, ...] | None = None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    tops = [folder / p for p in parts] if parts else [folder]
    for top in tops:
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else []
        for path in paths:
            rel = path.relative_to(folder).as_posix()
            if not _SKIP.search(rel):
                found[f"{prefix}/{rel}"] = path
    return found


def _tree(ws: Workspace, entries: dict[str, str]) -> str:
    """A git tree of `path -> blob id` entries (nested folders included), written with git mktree."""
    children: dict[str, dict] = {}
    for path, blob in entries.items():
        node = children
        *dirs, name = path.split("/")
        for d in dirs:
            node = node.setdefault(d + "/", {})
        node[name] = blob

    def write(node: dict) -> str:
        lines = []
        for name, value in sorted(node.items()):
            if name.endswith("/"):
                lines.append(f"040000 tree {write(value)}\t{name[:-1]}\n")
            else:
                lines.append(f"{value}\t{name}\n")
        return git.run("mktree", cwd=ws.root, input="".join(lines)).out

    return write(children)


def job_spec(plan: Plan, task, test_cmd: str | None = None) -> dict:
    """What a runner needs to start the task's agent exactly as `ctx run` would here; the task's
    `test:`, else the run's --test, is the gate it runs before pushing."""
    remote = replace(plan, workspace=Workspace(Path(WORKSPACE_MARK)))
    return {"plan": plan.name, "task": task.id, "prompt": agents.prompt(remote, task, Path(WORKSPACE_MARK)),
            "allowed_tools": agents.allowed_tools(task), "test": str(task.meta.get("test") or test_cmd or ""),
            "setup": str(plan.metadata.get("setup") or ""), "agent": str(task.meta.get("agent") or ""),
            "file": task.file}


def build_plan_commit(ws: Workspace, plan: Plan, test_cmd: str | None = None) -> str:
    """The commit for refs/ctx/plans/<name>: plans/, jobs/<id>.json, config.yaml, approve, plugin/."""
    files = {**_files(ws.plans, "plans"), **_files(plugin_root(), "plugin", PLUGIN_PARTS)}
    if ws.config_file.is_file():
        files["config.yaml"] = ws.config_file
    switch = ws.root / ".git" / APPROVAL_FILE  # `ctx approve`: the runner's hook approves as this one does
    if switch.is_file():
        files["approve"] = switch
    blobs = git.run("hash-object", "-w", "--stdin-paths", cwd=ws.root,
                    input="".join(f"{p}\n" for p in files.values())).out.splitlines()
    entries = {}
    for (name, path), blob in zip(files.items(), blobs):
        mode = "100755" if path.stat().st_mode & 0o111 else "100644"
        entries[name] = f"{mode} blob {blob}"
    for task in plan.tasks:
        spec = json.dumps(job_spec(plan, task, test_cmd), indent=2)
        blob = git.run("hash-object", "-w", "--stdin", cwd=ws.root, input=spec).out
        entries[f"jobs/{task.id}.json"] = f"100644 blob {blob}"
    tree = _tree(ws, entries)
    return git.out("commit-tree", tree, "-m", f"ctx plan {plan.name}", cwd=ws.root)


def push_plan(ws: Workspace, plan: Plan, test_cmd: str | None = None) -> str:
    ref = plan_ref(plan)
    commit = build_plan_commit(ws, plan, test_cmd)
    git.run("update-ref", ref, commit, cwd=ws.root)
    git.run("push", "--quiet", "--force", "origin", f"{commit}:{ref}", cwd=ws.root)
    return ref


def validate_name(plan: Plan) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", plan.name) or ".." in plan.name:
        raise data_error(f"{plan_model.rel(plan.workspace, plan.workspace.plan_file)}: metadata.name "
                         f"'{plan.name}' cannot name the ref refs/ctx/plans/<name>",
                         hint="use letters, digits, '.', '_' and '-'")
