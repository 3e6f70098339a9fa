"""A recording stand-in for the GitHub CLI, for ctx run --on github-actions.

Every call is appended to $GH_ACTIONS_STATE/log. `workflow run` reads the workflow from the bare
repository $GH_ACTIONS_ORIGIN at the given ref, as GitHub does, and executes its job in a detached
process: one job per matrix task, in a fresh clone of origin, step by step. `run:` steps run under
bash exactly as written (with GITHUB_OUTPUT, RUNNER_TEMP and the step's env); `actions/checkout`
clones the ref; the Claude Code action step runs the command in $GH_ACTIONS_AGENT instead.
Also answers auth status, repo view, secret list, run list and run view from that state.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

STATE = Path(os.environ["GH_ACTIONS_STATE"])
ORIGIN = os.environ.get("GH_ACTIONS_ORIGIN", "")


@contextmanager
def runs_locked():
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = STATE / "runs.json"
        runs = json.loads(path.read_text()) if path.exists() else []
        yield runs
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs, indent=1))
        os.replace(tmp, path)


def read_runs() -> list[dict]:
    with runs_locked() as runs:
        return json.loads(json.dumps(runs))


def flag(args: list[str], name: str, default=None):
    return args[args.index(name) + 1] if name in args else default


def fields(record: dict, wanted: str) -> dict:
    return {k: record.get(k) for k in wanted.split(",")}


# --- expressions: the few forms ctx's workflow uses -------------------------------------------------

class Context:
    def __init__(self, inputs: dict, task: str, temp: str):
        self.values = {"inputs": inputs, "matrix": {"task": task}, "runner": {"temp": temp},
                       "github": {"token": "gh-token"}, "secrets": {}, "steps": {}}
        self.failed = False

    def get(self, dotted: str):
        node = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict):
                return ""
            node = node.get(part, "")
        return node

    def evaluate(self, expr: str):
        py = expr.replace("&&", " and ").replace("||", " or ")
        py = re.sub(r"\b(?:inputs|matrix|runner|github|secrets|steps)(?:\.[A-Za-z0-9_-]+)+",
                    lambda m: f"_get({m.group(0)!r})", py)
        names = {"_get": self.get, "always": lambda: True, "success": lambda: not self.failed,
                 "failure": lambda: self.failed, "fromJSON": json.loads}
        return eval(py, {"__builtins__": {}}, names)  # noqa: S307 - the workflow ctx generated

    def render(self, text: str) -> str:
        return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: str(self.evaluate(m.group(1))), str(text))

    def condition(self, expr) -> bool:
        if expr is None:
            return not self.failed
        expr = str(expr).strip()
        if expr.startswith("${{"):
            expr = expr[3:-2]
        if not re.search(r"\b(always|success|failure|cancelled)\(\)", expr):
            expr = f"success() && ({expr})"
        return bool(self.evaluate(expr))


def parse_outputs(path: Path) -> dict:
    found, lines, i = {}, path.read_text().splitlines() if path.exists() else [], 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            found[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        found[name] = value
        i += 1
    return found


def run_job(run: dict, workflow: dict, task: str, log) -> str:
    job = next(iter(workflow["jobs"].values()))
    base = STATE / f"run-{run['databaseId']}" / task
    workspace, temp = base / "work", base / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    ctx = Context(run["inputs"], task, str(temp))
    job_env = {k: ctx.render(v) for k, v in (job.get("env") or {}).items()}
    github_env = temp / "github-env"  # what steps append to $GITHUB_ENV reaches the steps after them
    github_env.touch()
    shell = ((workflow.get("defaults") or {}).get("run") or {}).get("shell")
    for n, step in enumerate(job["steps"]):
        sid = step.get("id") or f"step{n}"
        if not ctx.condition(step.get("if")):
            ctx.values["steps"][sid] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
            continue
        out = temp / f"output-{n}"
        out.touch()
        env = dict(os.environ, **job_env, **parse_outputs(github_env),
                   **{k: ctx.render(v) for k, v in (step.get("env") or {}).items()}, GITHUB_ENV=str(github_env),
                   GITHUB_WORKSPACE=str(workspace), RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(out),
                   GITHUB_STEP_SUMMARY=str(temp / "summary.md"), GITHUB_RUN_ID=str(run["databaseId"]), CI="true")
        with_ = {k: ctx.render(v) for k, v in (step.get("with") or {}).items()}
        log.write(f"::step {step.get('name')}\n")
        log.flush()
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            argv, cwd = ["git", "clone", "-q", "--branch", with_["ref"], ORIGIN, str(workspace)], base
        elif uses.startswith("anthropics/claude-code-action@"):
            env.update(CTX_PROMPT=with_.get("prompt", ""), CTX_CLAUDE_ARGS=with_.get("claude_args", ""),
                       CTX_EXECUTION_FILE=str(temp / "claude-execution-output.json"))
            argv, cwd = ["bash", "-c", os.environ["GH_ACTIONS_AGENT"]], workspace
        elif "run" in step:
            script = temp / f"step-{n}.sh"
            script.write_text(step["run"])
            argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)] if shell == "bash" \
                else ["bash", "-e", str(script)]
            cwd = workspace
        else:
            raise SystemExit(f"gh stub: cannot run step {step}")
        code = subprocess.run(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode
        outputs = parse_outputs(out)
        if uses.startswith("anthropics/claude-code-action@") and (temp / "claude-execution-output.json").exists():
            outputs["execution_file"] = str(temp / "claude-execution-output.json")
        outcome = "success" if code == 0 else "failure"
        ctx.values["steps"][sid] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
        log.write(f"::step ended {outcome} ({code})\n")
        ctx.failed = ctx.failed or code != 0
    return "failure" if ctx.failed else "success"


def execute(run_id: int) -> None:
    run = next(r for r in read_runs() if r["databaseId"] == run_id)
    workflow = yaml.safe_load(run["workflow"])
    tasks = json.loads(run["inputs"]["tasks"])
    with runs_locked() as runs:
        entry = next(r for r in runs if r["databaseId"] == run_id)
        entry["status"] = "in_progress"
        entry["jobs"] = [{"name": t, "status": "queued", "conclusion": None} for t in tasks]
    results = []
    for task in tasks:
        with runs_locked() as runs:
            job = next(j for j in next(r for r in runs if r["databaseId"] == run_id)["jobs"] if j["name"] == task)
            job["status"] = "in_progress"
        with open(STATE / f"run-{run_id}-{task}.log", "w") as log:
            conclusion = run_job(run, workflow, task, log)
        results.append(conclusion)
        with runs_locked() as runs:
            job = next(j for j in next(r for r in runs if r["databaseId"] == run_id)["jobs"] if j["name"] == task)
            job.update(status="completed", conclusion=conclusion)
    with runs_locked() as runs:
        entry = next(r for r in runs if r["databaseId"] == run_id)
        entry.update(status="completed", conclusion="success" if all(c == "success" for c in results) else "failure")


def hang(when: str) -> None:
    """GH_STUB_HANG=before|after: stop before or after creating the run until $GH_ACTIONS_STATE/release exists."""
    if os.environ.get("GH_STUB_HANG") == when:
        (STATE / f"hanging-{when}").write_text(str(os.getpid()))
        deadline = time.time() + 120
        while not (STATE / "release").exists() and time.time() < deadline:
            time.sleep(0.05)


def workflow_run(args: list[str]) -> int:
    name, ref = args[2], flag(args, "--ref", "main")
    hang("before")
    failure = os.environ.get("GH_STUB_DISPATCH_FAIL")  # "refused": GitHub said no; "lost": no answer came back
    if failure == "refused":
        sys.stderr.write("HTTP 422: Workflow does not have 'workflow_dispatch' trigger\n")
        return 1
    shown = subprocess.run(["git", "--git-dir", ORIGIN, "show", f"{ref}:.github/workflows/{name}"],
                           capture_output=True, text=True)
    if shown.returncode != 0:
        sys.stderr.write(f"could not find any workflows named {name}\n")
        return 1
    inputs = dict(a.split("=", 1) for a in (args[i + 1] for i, x in enumerate(args) if x == "-f"))
    workflow = yaml.safe_load(shown.stdout)
    declared = workflow[True]["workflow_dispatch"]["inputs"]  # YAML reads the key `on` as True
    unknown = set(inputs) - set(declared)
    if unknown:
        sys.stderr.write(f"HTTP 422: Unexpected inputs provided: {sorted(unknown)}\n")
        return 1
    ctx = Context(inputs, "", "")
    with runs_locked() as runs:
        run_id = len(runs) + 1
        runs.append({"databaseId": run_id, "displayTitle": ctx.render(workflow.get("run-name", name)),
                     "url": f"https://github.com/acme/project/actions/runs/{run_id}", "status": "queued",
                     "conclusion": None, "jobs": [], "inputs": inputs, "workflow": shown.stdout,
                     "event": "workflow_dispatch", "created": time.time()})
    subprocess.Popen([sys.executable, __file__, "__execute", str(run_id)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(STATE / "executor.err", "a"))
    hang("after")
    if failure == "lost":
        sys.stderr.write("error connecting to api.github.com\n")
        return 1
    sys.stderr.write(f"Created workflow_dispatch event for {name} at {ref}\n")
    return 0


def main(args: list[str]) -> int:
    if args[:1] == ["__execute"]:
        execute(int(args[1]))
        return 0
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "log", "a") as fh:
        fh.write(json.dumps(args) + "\n")
    if args[:2] == ["auth", "status"]:
        return 0 if os.environ.get("GH_STUB_AUTH", "1") == "1" else 1
    if args[:2] == ["repo", "view"]:
        print(json.dumps({"viewerPermission": os.environ.get("GH_STUB_PERMISSION", "WRITE")}))
        return 0
    if args[:2] == ["secret", "list"]:
        names = [n for n in os.environ.get("GH_STUB_SECRETS", "ANTHROPIC_API_KEY").split(",") if n]
        print(json.dumps([{"name": n, "updatedAt": "2026-11-24T00:00:00Z"} for n in names]))
        return 0
    if args[:2] == ["workflow", "run"]:
        return workflow_run(args)
    if args[:1] == ["pr"]:  # pull requests: the recording gh that the other tests use
        return subprocess.run([sys.executable, str(Path(__file__).with_name("gh")), *args]).returncode
    if args[:2] == ["run", "list"]:
        runs = sorted(read_runs(), key=lambda r: -r["databaseId"])[: int(flag(args, "--limit", "20"))]
        print(json.dumps([fields(r, flag(args, "--json")) for r in runs]))
        return 0
    if args[:2] == ["run", "view"]:
        failing = STATE / "view-failures"
        left = int(failing.read_text()) if failing.exists() else int(os.environ.get("GH_STUB_FAIL_VIEWS", "0"))
        if left > 0:  # GH_STUB_FAIL_VIEWS=N: the first N calls fail as when GitHub has a bad moment
            failing.write_text(str(left - 1))
            sys.stderr.write("HTTP 502: Server Error\n")
            return 1
        found = [r for r in read_runs() if str(r["databaseId"]) == args[2]]
        if not found:
            sys.stderr.write(f"could not find run {args[2]}\n")
            return 1
        print(json.dumps(fields(found[0], flag(args, "--json"))))
        return 0
    sys.stderr.write("gh stub: unsupported call " + " ".join(args) + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
