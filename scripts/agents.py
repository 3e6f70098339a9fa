"""The command each task's agent runs: the real Claude Code CLI by default, or any command."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from .errors import CtxError
from .plan import Plan, Task

PLUGIN_ROOT = Path(__file__).resolve().parent.parent


def prompt(plan: Plan, task: Task, worktree: Path) -> str:
    task_file = plan.task_path(task)
    test = task.meta.get("test")
    lines = [
        f"You are implementing task `{task.id}` ({task.name}) of the plan `{plan.name}`.",
        f"Work only inside the git worktree {worktree} (branch {task.branch}); do not touch other folders.",
        f"The full specification is in {task_file}; here it is:",
        "",
        task.body.strip(),
        "",
        "Steps: implement it; run its tests" + (f" (`{test}`)" if test else "") + "; commit your work on "
        f"{task.branch} with `git add -A && git commit -m \"...\"`.",
        f"If you cannot finish, run `ctx task block {task.id} --reason \"<the exact error>\"` and stop.",
    ]
    return "\n".join(lines)


def allowed_tools(task: Task) -> list[str]:
    test = task.meta.get("test")
    if not test:
        return []
    words = shlex.split(str(test))
    head = " ".join(words[:2]) if words and words[0] in ("python", "python3", "npm", "uv", "poetry", "cargo", "go") else words[0]
    return [f"Bash({head}:*)"]


def command(plan: Plan, task: Task, worktree: Path, override: str | None,
            text: str | None = None) -> tuple[list[str] | str, bool]:
    """(argv or shell string, uses_shell) for the task's agent; text replaces the task's prompt."""
    custom = task.meta.get("agent") or override
    if custom:
        return str(custom), True
    claude = shutil.which("claude")
    if not claude:
        raise CtxError("the default agent is the Claude Code CLI, and `claude` is not on PATH",
                       hint="install it (npm install -g @anthropic-ai/claude-code) or pass --agent CMD")
    argv = [claude, "-p", text or prompt(plan, task, worktree), "--output-format", "stream-json", "--verbose",
            "--permission-mode", "acceptEdits", "--plugin-dir", str(PLUGIN_ROOT)]
    tools = allowed_tools(task)
    if tools:
        argv += ["--allowedTools", *tools]
    return argv, False


def environment(plan: Plan, task: Task, worktree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"CTX_TASK_ID": task.id, "CTX_TASK_FILE": str(plan.task_path(task)),
                "CTX_WORKTREE": str(worktree), "CTX_PLAN_ROOT": str(plan.workspace.root)})
    return env
