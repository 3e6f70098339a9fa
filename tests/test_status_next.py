"""The `next:` line of ctx status matches the state the plan is in; a report covers one plan."""

from __future__ import annotations

import json

from helpers import ctx, git, write_plan


def next_line(repo) -> str:
    return json.loads(ctx(repo, "status", "--json", check=True).stdout)["next"]


def test_next_follows_the_plan_from_setup_to_cleanup(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    assert next_line(repo) == "ready to start: a: run ctx run (or ctx setup to only prepare worktrees)"
    ctx(repo, "setup", check=True)
    assert next_line(repo) == "worktrees are ready for a: run ctx run (or /ctx:execute)"
    ctx(repo / "worktrees/a", "task", "start", "a", check=True)
    assert next_line(repo).startswith("in progress but no ctx run is live: a")  # e.g. a killed run
    assert "ctx run --resume" in next_line(repo)
    ctx(repo / "worktrees/a", "task", "complete", "a", check=True)
    assert next_line(repo).startswith("completed without commits: a: commit the work in its worktree")
    (repo / "worktrees/a/a.py").write_text("a\n")
    git(repo / "worktrees/a", "add", "-A")
    git(repo / "worktrees/a", "commit", "-qm", "a")
    assert next_line(repo) == "completed tasks await merging: run ctx merge (or ctx pr)"
    ctx(repo, "merge", check=True)
    assert next_line(repo) == "ready to start: b: run ctx run (or ctx setup to only prepare worktrees)"
    ctx(repo, "task", "block", "b", "--reason", "needs a decision")
    assert next_line(repo) == "blocked: b: read the reason above, fix it, then ctx task retry b"


def test_a_report_covers_one_plan_not_the_ones_before_it(repo):
    write_plan(repo, [{"id": "api"}], name="first-plan")
    ctx(repo, "setup", check=True)
    line = {"type": "assistant", "message": {"id": "m1", "model": "claude-haiku-4-5", "content": [],
                                            "usage": {"input_tokens": 100, "output_tokens": 10}}}
    logs = repo / ".parallel/logs"
    logs.mkdir(parents=True)
    (logs / "api.log").write_text(json.dumps(line) + "\n")
    wt = repo / "worktrees/api"
    (wt / "api.py").write_text("x\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "api")
    ctx(wt, "task", "complete", "api", check=True)
    ctx(repo, "merge", check=True)
    ctx(repo, "cleanup", check=True)
    first = json.loads(ctx(repo, "report", "--json", check=True).stdout)
    assert first["plan"] == "first-plan" and first["total"]["total_tokens"] == 110
    write_plan(repo, [{"id": "api"}], name="second-plan")  # the same task id again
    second = json.loads(ctx(repo, "report", "--json", check=True).stdout)
    assert second["plan"] == "second-plan" and second["total"]["total_tokens"] == 0
