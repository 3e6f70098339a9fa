"""ctx pr: pushes to a real bare origin and opens pull requests through a recording gh on PATH."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from helpers import ctx, git, write_plan

STUB = Path(__file__).parent / "bin"


@pytest.fixture
def gh(tmp_path):
    log, state = tmp_path / "gh.log", tmp_path / "gh.json"
    env = {"PATH": f"{STUB}{os.pathsep}{os.environ['PATH']}", "GH_STUB_LOG": str(log), "GH_STUB_STATE": str(state)}

    class Gh:
        def calls(self):
            return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

        def prs(self):
            return json.loads(state.read_text()) if state.exists() else []
    Gh.env = env
    return Gh()


def finish(repo, tid):
    wt = repo / "worktrees" / tid
    (wt / f"{tid}.py").write_text(f"# {tid}\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", tid)
    ctx(wt, "task", "complete", tid, check=True)


def test_opens_stacked_prs_once(repo, gh):
    write_plan(repo, [{"id": "api", "name": "Auth API", "labels": ["backend", "auth"]},
                      {"id": "ui", "name": "Dashboard UI", "dependencies": ["api"]}])
    ctx(repo, "setup", check=True)
    finish(repo, "api")
    # the dependent is stacked on its unmerged dependency's branch
    git(repo, "worktree", "add", "-q", "-b", "feature/ui", str(repo / "worktrees/ui"), "feature/api")
    finish(repo, "ui")
    proc = ctx(repo, "pr", env=gh.env)
    assert proc.returncode == 0, proc.stderr
    prs = gh.prs()
    assert [(p["head"], p["base"], p["title"]) for p in prs] == [
        ("feature/api", "main", "Auth API"), ("feature/ui", "feature/api", "Dashboard UI")]
    assert prs[0]["labels"] == ["backend", "auth"]
    assert "## Objective" in prs[0]["body"]
    origin = repo.parent / "origin.git"
    assert git(origin, "rev-parse", "feature/api") == git(repo, "rev-parse", "feature/api")
    again = ctx(repo, "pr", "--json", env=gh.env)
    assert [o["action"] for o in json.loads(again.stdout)] == ["exists", "exists"]
    assert len(gh.prs()) == 2
    assert sum(c[:2] == ["pr", "create"] for c in gh.calls()) == 2


def test_draft_and_dry_run(repo, gh):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    out = json.loads(ctx(repo, "pr", "--dry-run", "--json", env=gh.env).stdout)
    assert out[0]["action"] == "would open" and gh.prs() == []
    assert "feature/a" not in git(repo.parent / "origin.git", "branch", "--list")
    ctx(repo, "pr", "--draft", env=gh.env, check=True)
    assert gh.prs()[0]["draft"] is True


def test_missing_gh_or_login_or_origin_stops_before_pushing(repo, gh, tmp_path):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    bare_path = tmp_path / "nogh"
    bare_path.mkdir()
    for tool in ("git", "python3"):
        os.symlink(shutil.which(tool), bare_path / tool)
    proc = ctx(repo, "pr", env={"PATH": str(bare_path)})
    assert proc.returncode == 1 and "gh (the GitHub CLI) is not installed" in proc.stderr
    proc = ctx(repo, "pr", env={**gh.env, "GH_STUB_AUTH": "0"})
    assert proc.returncode == 1 and "gh is not logged in" in proc.stderr and "gh auth login" in proc.stderr
    git(repo, "remote", "remove", "origin")
    proc = ctx(repo, "pr", env=gh.env)
    assert proc.returncode == 1 and "no remote named origin" in proc.stderr
    assert "feature/a" not in git(repo.parent / "origin.git", "branch", "--list")
    assert not any(c[:2] == ["pr", "create"] for c in gh.calls())


def test_a_dependent_alone_is_stacked_and_its_base_pushed(repo, gh):
    write_plan(repo, [{"id": "api"}, {"id": "ui", "name": "UI", "dependencies": ["api"], "labels": ["frontend"]}])
    ctx(repo, "setup", check=True)
    finish(repo, "api")
    git(repo, "worktree", "add", "-q", "-b", "feature/ui", str(repo / "worktrees/ui"), "feature/api")
    finish(repo, "ui")
    ctx(repo, "pr", "ui", env=gh.env, check=True)
    create = [c for c in gh.calls() if c[:2] == ["pr", "create"]]
    assert len(create) == 1
    call = create[0]
    assert call[call.index("--base") + 1] == "feature/api" and call[call.index("--head") + 1] == "feature/ui"
    assert call[call.index("--title") + 1] == "UI" and call[call.index("--label") + 1] == "frontend"
    origin = repo.parent / "origin.git"
    assert git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split() == ["feature/api", "feature/ui", "main"]


def test_existing_pr_is_found_from_gh_json_and_a_branch_with_nothing_ahead_skipped(repo, gh):
    write_plan(repo, [{"id": "a"}, {"id": "idle", "status": "completed"}])
    ctx(repo, "setup", check=True)
    finish(repo, "a")
    git(repo, "branch", "feature/idle")  # completed, but its branch holds nothing new
    with open(gh.env["GH_STUB_STATE"], "w") as fh:
        json.dump([{"number": 7, "url": "https://github.com/acme/project/pull/7", "head": "feature/a"}], fh)
    out = {o["task_id"]: o for o in json.loads(ctx(repo, "pr", "--json", env=gh.env).stdout)}
    assert out["a"]["action"] == "exists" and out["a"]["url"].endswith("/pull/7")
    assert out["idle"]["action"] == "skipped" and "no commits ahead of main" in out["idle"]["detail"]
    assert not any(c[:2] == ["pr", "create"] for c in gh.calls())
    assert ["pr", "list", "--head", "feature/a", "--state", "open", "--json", "number,url"] in gh.calls()
