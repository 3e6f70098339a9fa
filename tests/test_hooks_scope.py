"""Approval narrowed to one task: what a task's agent may run, and what it may not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from helpers import ctx, git, make_repo, write_plan

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from ctx.hooks.approve import decide  # noqa: E402
from ctx.hooks.scope import Scope  # noqa: E402

TEST = "python -m pytest -q tests/test_auth.py"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    env_backup = dict(os.environ)
    repo = make_repo(tmp_path_factory.mktemp("scope"))
    write_plan(repo, [{"id": "auth-api"}, {"id": "other"}])
    ctx(repo, "setup", check=True)
    os.environ.clear()
    os.environ.update(env_backup)
    return repo


@pytest.fixture
def scope(planned):
    wt = planned / "worktrees" / "auth-api"
    return Scope(task_id="auth-api", worktree=str(wt), branch="feature/auth-api", test=TEST)


ALLOWED = [
    ("wt", "git status"),
    ("wt", "git add -A && git commit -m 'Add auth API'"),
    ("wt", "git push -u origin feature/auth-api"),
    ("wt", "git push origin HEAD"),
    ("main", "cd {wt} && git add -A && git commit -m x"),
    ("main", "git -C {wt} log --oneline -3"),
    ("wt", "ctx task start auth-api"),
    ("wt", "ctx task complete auth-api"),
    ("wt", "ctx task block auth-api --reason 'tests fail'"),
    ("main", "ctx status --json"),
    ("wt", TEST),
    ("main", "cd {wt} && " + TEST),
    ("wt", "cd {wt} && " + TEST),
]

REFUSED = [
    ("main", "git status", "git in the main checkout"),
    ("wt", "cd {root} && git status", "cd into the main checkout"),
    ("wt", "git -C {root} log", "-C into the main checkout"),
    ("wt", "cd ../other && git status", "cd into a sibling's worktree"),
    ("wt", "git -C ../other commit -m x", "commit in a sibling's worktree"),
    ("main", "cd {root}/worktrees/other && git add -A && git commit -m x", "commit in a sibling's worktree from main"),
    ("wt", "cd {wt} && cd .. && git status", "cd out of the worktree"),
    ("wt", "git push origin feature/other", "push a sibling's branch"),
    ("wt", "git push origin HEAD:main", "push onto the base"),
    ("wt", "ctx task complete other", "complete another task"),
    ("wt", "ctx task start other", "start another task"),
    ("wt", "ctx task block other --reason x", "block another task"),
    ("main", TEST, "the test command outside the worktree"),
    ("wt", TEST + " -x", "a test command other than the declared one"),
    ("wt", TEST + " && touch /tmp/pwned", "the test command with more after it"),
    ("wt", "cd {wt} && " + TEST + "; touch /tmp/pwned", "cd, test, then more"),
    ("main", "cd {root}/worktrees/other && " + TEST, "the test command in a sibling's worktree"),
    ("wt", "cd . && " + TEST, "the test command after a relative cd"),
    ("wt", "make test", "another program"),
]


def where(repo: Path, key: str) -> Path:
    return repo / "worktrees" / "auth-api" if key == "wt" else repo


def fill(repo: Path, command: str) -> str:
    return command.replace("{root}", str(repo)).replace("{wt}", str(repo / "worktrees" / "auth-api"))


@pytest.mark.parametrize("key,command", ALLOWED)
def test_the_task_agent_may(planned, scope, key, command):
    assert decide(fill(planned, command), str(where(planned, key)), scope)


@pytest.mark.parametrize("key,command,why", REFUSED)
def test_the_task_agent_may_not(planned, scope, key, command, why):
    assert decide(fill(planned, command), str(where(planned, key)), scope) is None, why


def test_commit_and_push_need_the_scope_branch_checked_out(planned):
    wt = planned / "worktrees" / "auth-api"
    elsewhere = Scope(task_id="auth-api", worktree=str(wt), branch="feature/elsewhere")
    assert decide("git status", str(wt), elsewhere)
    assert decide("git commit -m x", str(wt), elsewhere) is None
    assert decide("git push origin feature/auth-api", str(wt), elsewhere) is None
    assert decide("git push origin feature/elsewhere", str(wt), elsewhere) is None


def test_no_declared_test_means_no_test_command(planned):
    wt = planned / "worktrees" / "auth-api"
    bare = Scope(task_id="auth-api", worktree=str(wt), branch="feature/auth-api")
    assert decide(TEST, str(wt), bare) is None


def test_the_main_conversation_keeps_its_wider_rules(planned):
    wt = planned / "worktrees" / "auth-api"
    assert decide("ctx task complete other", str(wt))
    assert decide("cd ../other && git status", str(wt))
    assert decide("git status", str(planned))
    assert decide(TEST, str(wt)) is None


def test_switched_off_means_nothing_for_agents_either(planned, scope):
    wt = planned / "worktrees" / "auth-api"
    ctx(planned, "approve", "off", check=True)
    try:
        assert decide("git status", str(wt), scope) is None
        assert decide(TEST, str(wt), scope) is None
    finally:
        ctx(planned, "approve", "plan", check=True)
    assert decide("git status", str(wt), scope)
    assert git(wt, "branch", "--show-current") == "feature/auth-api"
