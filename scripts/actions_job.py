"""The steps of ctx's GitHub Actions job that need more than a line of shell. Standard library only.

Runs on the runner from the snapshot ctx pushed with the plan (`$RUNNER_TEMP/ctx/plugin`):
`prepare` puts the plan where the approval hook and `ctx task block` look for it and hands the
task's prompt, Claude Code arguments, setup and test commands to later steps as step outputs;
`report` writes the task's outcome and pushes it to `refs/ctx/results/<dispatch>/<task id>`, where
the ctx that dispatched the job fetches it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

WORKSPACE_MARK = "/ctx-workspace"  # stands for the runner's checkout in the prompts ctx wrote
_STATUS = re.compile(r"^status:\s*['\"]?([a-z_]+)", re.MULTILINE)
_REASON = re.compile(r"^reason:\s*(.*(?:\n[ \t]+.*)*)", re.MULTILINE)


def _git(*args: str, check: bool = True, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, input=input)
    if check and proc.returncode != 0:
        raise SystemExit(f"ctx job: git {' '.join(args[:2])} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace").strip()


def _home() -> Path:
    return Path(os.environ["RUNNER_TEMP"]) / "ctx"


def _output(name: str, value: str) -> None:
    """One step output, multi-line safe (GitHub's `name<<DELIMITER` form)."""
    delimiter = f"CTX_{uuid.uuid4().hex}"
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def prepare() -> int:
    home, task_id = _home(), os.environ["CTX_TASK_ID"]
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())
    spec_file = home / "jobs" / f"{task_id}.json"
    if not spec_file.is_file():
        print(f"ctx job: {os.environ.get('CTX_PLAN_REF')} has no task {task_id}", file=sys.stderr)
        return 1
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    plans = workspace / ".parallel" / "plans"
    if plans.exists():
        shutil.rmtree(plans)
    shutil.copytree(home / "plans", plans)
    if (home / "config.yaml").is_file():
        shutil.copy(home / "config.yaml", plans.parent / "config.yaml")
    if (home / "approve").is_file():  # the approval switch of the machine that dispatched (ctx approve)
        switch = Path(_git("rev-parse", "--absolute-git-dir")) / "ctx" / "approve"
        switch.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(home / "approve", switch)
    exclude = Path(_git("rev-parse", "--git-path", "info/exclude"))
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with open(exclude, "a", encoding="utf-8") as fh:
        fh.write("\n.parallel/\n")
    if not _git("config", "user.name", check=False):
        _git("config", "user.name", "github-actions[bot]")
        _git("config", "user.email", "41898282+github-actions[bot]@users.noreply.github.com")
    (home / "start").write_text(_git("rev-parse", "HEAD"))
    args = ["--plugin-dir", str(home / "plugin"), "--permission-mode", "acceptEdits"]
    if spec.get("allowed_tools"):
        args += ["--allowedTools", *spec["allowed_tools"]]
    _output("prompt", spec["prompt"].replace(WORKSPACE_MARK, str(workspace)))
    _output("claude_args", " ".join(shlex.quote(a) for a in args))
    _output("setup", spec.get("setup") or "")
    _output("agent", spec.get("agent") or "")
    with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as fh:  # what `ctx run` gives an agent command
        fh.write(f"CTX_WORKTREE={workspace}\nCTX_PLAN_ROOT={workspace}\n"
                 f"CTX_TASK_FILE={plans / _task_file(spec, task_id)}\n")
    _output("test", spec.get("test") or "")
    print(f"ctx job: task {task_id} of plan {spec.get('plan')}, from {os.environ.get('CTX_PLAN_REF')}")
    return 0


def _task_file(spec: dict, task_id: str) -> str:
    return spec.get("file") or f"tasks/{task_id}.md"


def _tail(path: Path, n: int = 8) -> str:
    try:
        lines = [l.rstrip() for l in path.read_text(encoding="utf-8", errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-800:]


def _agent_said(workspace: Path, task_id: str) -> str | None:
    """The reason the agent gave with `ctx task block`, from the task file on the runner."""
    try:
        spec = json.loads((_home() / "jobs" / f"{task_id}.json").read_text(encoding="utf-8"))
        text = (workspace / ".parallel" / "plans" / _task_file(spec, task_id)).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    head = text.split("\n---", 1)[0]
    status = _STATUS.search(head)
    if not status or status.group(1) != "blocked":
        return None
    reason = _REASON.search(head)
    return " ".join(reason.group(1).split()).strip("'\"") if reason else "blocked by its agent"


def _outcome(workspace: Path, task_id: str, commits: int) -> tuple[bool, str]:
    env = os.environ.get
    home = _home()
    if env("CTX_SETUP_OUTCOME") == "failure":
        return False, "setup command failed: " + _tail(home / "setup.log")
    said = _agent_said(workspace, task_id)
    if said:
        return False, said
    if env("CTX_AGENT_OUTCOME") != "success":
        return False, f"Claude Code step ended {env('CTX_AGENT_OUTCOME') or 'without running'}"
    if env("CTX_COMMIT_OUTCOME") != "success":
        return False, "committing the agent's work failed"
    if env("CTX_TEST_OUTCOME") == "failure":
        return False, "tests failed: " + _tail(home / "test.log")
    if env("CTX_PUSH_OUTCOME") != "success":
        return False, f"pushing feature/{task_id} failed"
    if commits == 0:
        return False, "agent exited 0 but left no commit"
    return True, f"{commits} commit(s)"


def report() -> int:
    home, task_id = _home(), os.environ["CTX_TASK_ID"]
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())
    start = (home / "start").read_text().strip()
    head = _git("rev-parse", "HEAD")
    commits = int(_git("rev-list", "--count", f"{start}..{head}"))
    ok, detail = _outcome(workspace, task_id, commits)
    result = {"task": task_id, "ok": ok, "detail": detail, "head": head, "commits": commits,
              "run_id": os.environ.get("GITHUB_RUN_ID"), "dispatch": os.environ.get("CTX_DISPATCH")}
    entries = [("result.json", json.dumps(result, indent=2) + "\n")]
    execution = os.environ.get("CTX_EXECUTION_FILE")
    if execution and Path(execution).is_file():
        entries.append(("execution.json", Path(execution).read_text(encoding="utf-8", errors="replace")))
    tree_lines = []
    for name, text in entries:
        blob = _git("hash-object", "-w", "--stdin", input=text.encode())
        tree_lines.append(f"100644 blob {blob}\t{name}\n")
    tree = _git("mktree", input="".join(tree_lines).encode())
    commit = _git("commit-tree", tree, "-m", f"ctx result: {task_id}: {'success' if ok else 'failure'}")
    _git("push", "--quiet", "--force", "origin", f"{commit}:refs/ctx/results/{os.environ['CTX_DISPATCH']}/{task_id}")
    print(f"ctx job: {task_id}: {'success' if ok else 'failure'}: {detail}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(f"### ctx task `{task_id}`: {'success' if ok else 'failure'}\n\n{detail}\n")
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    steps = {"prepare": prepare, "report": report}
    if len(argv) != 1 or argv[0] not in steps:
        print(f"usage: actions_job.py {'|'.join(steps)}", file=sys.stderr)
        return 2
    return steps[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
