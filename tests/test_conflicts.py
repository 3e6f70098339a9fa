"""ctx status predicts conflicts between unmerged tasks and with the base, touching no worktree."""

from __future__ import annotations

import json
import subprocess

from helpers import ctx, git, write_plan

from ctx.conflicts import version_supported

APP = "def hello():\n    return 'hello'\n"


def commit(wt, files: dict[str, str]):
    for name, text in files.items():
        (wt / name).write_text(text)
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "work")


def state(wt):
    """Everything a prediction must leave alone: HEAD, the index file, the files, the stash."""
    admin = git(wt, "rev-parse", "--path-format=absolute", "--git-dir")
    index = (wt / ".git").read_text() if (wt / ".git").is_file() else ""
    from pathlib import Path
    return (git(wt, "rev-parse", "HEAD"), Path(admin, "index").read_bytes(), index,
            git(wt, "status", "--porcelain", "--untracked-files=all"),
            {p.name: p.read_bytes() for p in wt.iterdir() if p.is_file()},
            git(wt, "stash", "list"))


def test_status_names_exact_conflicts_and_touches_no_worktree(repo):
    ids = ["one", "two", "three", "four", "five", "six", "seven"]
    write_plan(repo, [{"id": tid} for tid in ids])
    ctx(repo, "setup", check=True)
    wt = {tid: repo / "worktrees" / tid for tid in ids}
    commit(wt["one"], {"app.py": "def hello():\n    return 'one'\n"})
    commit(wt["two"], {"app.py": "def hello():\n    return 'two'\n"})
    commit(wt["three"], {"README.md": "# three's title\n"})
    commit(wt["four"], {"four.py": "print(4)\n"})                     # clean: a file of its own
    (wt["five"] / "app.py").write_text("def hello():\n    return 'five, uncommitted'\n")  # only on disk
    (wt["six"] / "new.py").write_text("six = 6\n")                    # untracked, not even added
    commit(wt["seven"], {"new.py": "seven = 7\n"})
    commit(repo, {"README.md": "# main moved on\n"})                  # the base moved: three collides with it
    before = {tid: state(wt[tid]) for tid in ids}

    out = json.loads(ctx(repo, "status", "--json").stdout)
    found = {t["id"]: t["conflicts"] for t in out["tasks"]}
    assert found == {"one": ["two", "five"], "two": ["one", "five"], "three": ["main"], "four": [],
                     "five": ["one", "two"], "six": ["seven"], "seven": ["six"]}
    assert out["conflicts_note"] is None
    assert {tid: state(wt[tid]) for tid in ids} == before  # no worktree, index or stash touched

    table = ctx(repo, "status").stdout
    assert "conflict: three with main in README.md" in table
    assert "conflict: one and two in app.py" in table and "conflict: six and seven in new.py" in table
    assert "conflict: four" not in table


def test_merged_and_clean_tasks_have_no_conflicts(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b"}, {"id": "untouched"}])
    ctx(repo, "setup", check=True)
    commit(repo / "worktrees/a", {"app.py": "def hello():\n    return 'a'\n"})
    commit(repo / "worktrees/b", {"app.py": "def hello():\n    return 'b'\n"})
    assert {t["id"]: t["conflicts"] for t in json.loads(ctx(repo, "status", "--json").stdout)["tasks"]} == \
        {"a": ["b"], "b": ["a"], "untouched": []}
    ctx(repo / "worktrees/a", "task", "complete", "a", check=True)
    ctx(repo, "merge", "a", check=True)
    out = json.loads(ctx(repo, "status", "--json").stdout)
    # a is merged: b now conflicts with the base that holds a's change, no longer with a
    assert {t["id"]: t["conflicts"] for t in out["tasks"]} == {"a": [], "b": ["main"], "untouched": []}


def test_conflicts_after_a_task_resolved_them_are_gone(repo):
    write_plan(repo, [{"id": "a"}])
    ctx(repo, "setup", check=True)
    wt = repo / "worktrees/a"
    commit(wt, {"app.py": "def hello():\n    return 'a'\n"})
    commit(repo, {"app.py": "def hello():\n    return 'main'\n"})
    assert json.loads(ctx(repo, "status", "--json").stdout)["tasks"][0]["conflicts"] == ["main"]
    subprocess.run(["git", "merge", "-q", "main"], cwd=wt, capture_output=True)
    commit(wt, {"app.py": "def hello():\n    return 'a and main'\n"})
    assert json.loads(ctx(repo, "status", "--json").stdout)["tasks"][0]["conflicts"] == []


def test_git_version_gate():
    assert version_supported("git version 2.38.0") and version_supported("git version 2.39.5")
    assert version_supported("git version 3.0.0.windows.1")
    assert not version_supported("git version 2.37.7 (Apple Git-140)") and not version_supported("")
