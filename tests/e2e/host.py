"""The real Claude Code CLI for end-to-end tests: installed once (pinned), run against a scripted endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

VERSION = "2.1.328"
PLUGIN_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    return Path(os.environ.get("CTX_E2E_CACHE") or Path.home() / ".cache" / "ctx-e2e") / VERSION


def binary() -> Path:
    return cache_dir() / "node_modules" / "@anthropic-ai" / "claude-code-linux-x64" / "claude"


def install() -> Path:
    """Install the pinned CLI from the npm registry into the cache (about 10 s), once."""
    target = binary()
    if target.exists():
        return target
    if not shutil.which("npm"):
        raise RuntimeError("npm is not installed: the end-to-end tests need it to install Claude Code")
    cache_dir().mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                           f"@anthropic-ai/claude-code@{VERSION}"], cwd=cache_dir(), capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0 or not target.exists():
        raise RuntimeError(f"npm install @anthropic-ai/claude-code@{VERSION} failed: {proc.stderr[-800:]}")
    return target


def environment(home: Path, api_url: str, extra_path: list[Path] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "ANTHROPIC"))}
    env.update({
        "HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": api_url, "ANTHROPIC_API_KEY": "sk-test-scripted",
        "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "PATH": os.pathsep.join([*map(str, extra_path), os.environ.get("PATH", "")]),
    })
    for key, value in (("GIT_AUTHOR_NAME", "ctx e2e"), ("GIT_AUTHOR_EMAIL", "e2e@ctx.invalid"),
                       ("GIT_COMMITTER_NAME", "ctx e2e"), ("GIT_COMMITTER_EMAIL", "e2e@ctx.invalid")):
        env.setdefault(key, value)
    return env


def run(claude: Path, cwd: Path, env: dict, prompt: str, *args: str, timeout: float = 240) -> dict:
    """`claude -p PROMPT --plugin-dir <ctx> --output-format json ARGS`, its JSON result."""
    proc = subprocess.run([str(claude), "-p", prompt, "--plugin-dir", str(PLUGIN_ROOT), "--output-format", "json",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"claude exited {proc.returncode} without a JSON result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    result["_stderr"] = proc.stderr
    return result
