"""PreToolUse auto-approval, proven on a corpus of hostile and benign commands in a real repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ctx, git, write_plan

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "data" / "approval_corpus.tsv"
HOOK = ["python3", "-S", str(ROOT / "scripts" / "hooks" / "run.py"), "pre-tool-use"]


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "ntr\\":
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def load_corpus():
    cases = []
    for line in CORPUS.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        verdict, where, command, why = line.split("\t")
        cases.append((verdict, where, unescape(command), why))
    return cases


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    from helpers import make_repo
    base = tmp_path_factory.mktemp("approve")
    env_backup = dict(os.environ)
    repo = make_repo(base)
    write_plan(repo, [{"id": "auth-api"}, {"id": "other"}])
    ctx(repo, "setup", check=True)
    os.environ.clear()
    os.environ.update(env_backup)
    return repo


def run_hook(command: str, cwd: Path, argv=HOOK) -> str:
    event = {"session_id": "s", "transcript_path": "/nonexistent", "cwd": str(cwd), "hook_event_name": "PreToolUse",
             "tool_name": "Bash", "tool_input": {"command": command, "description": "d"}, "tool_use_id": "t1"}
    proc = subprocess.run(argv, input=json.dumps(event), capture_output=True, text=True)
    assert proc.returncode == 0
    return proc.stdout


def decide_all(repo: Path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from ctx.hooks.approve import decide
    results = []
    wt = repo / "worktrees" / "auth-api"
    for verdict, where, command, why in load_corpus():
        command = command.replace("{root}", str(repo)).replace("{wt}", str(wt))
        cwd = wt if where == "wt" else repo
        results.append((verdict, command, why, decide(command, str(cwd))))
    return results


def test_corpus_size_and_distinct_cases():
    cases = load_corpus()
    hostile = [c for c in cases if c[0] == "deny"]
    benign = [c for c in cases if c[0] == "allow"]
    assert len(hostile) >= 200 and len(benign) >= 100
    assert len({(c[1], c[2]) for c in cases}) == len(cases), "every case is a distinct command"


def test_no_hostile_command_is_approved(planned):
    approved = [(cmd, why) for verdict, cmd, why, reason in decide_all(planned) if verdict == "deny" and reason]
    assert approved == []


def test_benign_commands_are_approved(planned):
    results = [(cmd, why, reason) for verdict, cmd, why, reason in decide_all(planned) if verdict == "allow"]
    refused = [(cmd, why) for cmd, why, reason in results if reason is None]
    rate = 1 - len(refused) / len(results)
    print(f"\nbenign approval rate: {rate:.1%} ({len(results) - len(refused)} of {len(results)}); refused: {refused}")
    assert rate >= 0.95


def test_whole_process_answers_as_claude_code_expects(planned):
    out = json.loads(run_hook("git status", planned))
    assert out["hookSpecificOutput"]["hookEventName"] == "PreToolUse"
    assert out["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert out["hookSpecificOutput"]["permissionDecisionReason"]
    assert run_hook("git status; touch /tmp/pwned", planned) == ""  # no decision: never "deny"


def test_runs_with_no_dependencies_importable(planned, tmp_path):
    """The hooks.json command works with a bare python3: no site-packages, no ctx install."""
    hooks = json.loads((ROOT / "hooks" / "hooks.json").read_text())["hooks"]
    command = hooks["PreToolUse"][0]["hooks"][0]["command"].replace("${CLAUDE_PLUGIN_ROOT}", str(ROOT))
    event = json.dumps({"cwd": str(planned), "tool_name": "Bash", "tool_input": {"command": "git log --oneline"}})
    proc = subprocess.run(["bash", "-c", command], input=event, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"}, cwd=tmp_path)
    assert proc.returncode == 0 and '"allow"' in proc.stdout, proc.stderr
    via_cli = ctx(planned, "hook", "pre-tool-use", input=event)
    assert via_cli.stdout == proc.stdout


def test_scope_plan_always_off(planned, tmp_path):
    config = planned / ".parallel" / "config.yaml"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    git(outside, "init", "-q")
    try:
        assert run_hook("git status", outside) == ""  # no plan in that repository
        assert run_hook("git status", planned / "worktrees" / ".pool") == ""  # not a task worktree
        config.write_text("auto_approve: off\n")
        assert run_hook("git status", planned) == ""
        config.write_text("auto_approve: always\n")
        assert '"allow"' in run_hook("git status", planned)
        config.write_text("allow_no_verify: true\n")
        assert '"allow"' in run_hook("git commit --no-verify -m x", planned / "worktrees" / "auth-api")
    finally:
        config.unlink(missing_ok=True)
    assert run_hook("git commit --no-verify -m x", planned / "worktrees" / "auth-api") == ""


def test_no_plan_in_progress_means_no_approval(repo):
    write_plan(repo, [{"id": "a"}], status="completed")
    assert run_hook("git status", repo) == ""


@pytest.mark.parametrize("stdin", ["", "not json", "[]", '{"tool_name": "Bash"}', '{"tool_name": "Bash", "tool_input": 3}'])
def test_bad_input_gives_no_decision_and_exit_0(stdin, tmp_path):
    proc = subprocess.run(HOOK, input=stdin, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""


def test_relative_cd_is_not_trusted_when_cdpath_is_set(planned):
    event = {"cwd": str(planned), "tool_name": "Bash", "tool_input": {"command": "cd worktrees/auth-api && git status"}}
    plain = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True)
    assert '"allow"' in plain.stdout
    redirected = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True,
                                env=dict(os.environ, CDPATH="/tmp"))
    assert redirected.stdout == ""
