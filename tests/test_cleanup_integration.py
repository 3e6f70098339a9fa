"""The named integration checks that decide whether a branch may be deleted; unknown means keep."""

from __future__ import annotations

import json

from ctx import integration

from helpers import ctx, git, write_plan


def branch_with(repo, name, files, start="main"):
    git(repo, "checkout", "-q", "-b", name, start)
    for path, text in files.items():
        (repo / path).write_text(text)
        git(repo, "add", path)
        git(repo, "commit", "-qm", f"{name}: {path}")
    git(repo, "checkout", "-q", "main")
    return git(repo, "rev-parse", name)


def diverge(repo):
    (repo / "README.md").write_text("# project, moved on\n")
    git(repo, "commit", "-qam", "main moves on first")


def test_each_check_names_its_reason(repo):
    branch_with(repo, "same", {})
    assert integration.integrated(repo, "same", "main") == "same commit"
    branch_with(repo, "merged", {"m.py": "m\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "merged")
    assert integration.integrated(repo, "merged", "main") == "ancestor"
    branch_with(repo, "squashed", {"s.py": "s\n"})
    git(repo, "merge", "-q", "--squash", "squashed")
    git(repo, "commit", "-qm", "squash")
    assert integration.integrated(repo, "squashed", "main") == "trees match"
    (repo / "later.py").write_text("later\n")
    git(repo, "add", "later.py")
    git(repo, "commit", "-qm", "later work on main")
    assert integration.integrated(repo, "squashed", "main") == "merge adds nothing"
    branch_with(repo, "unmerged", {"u.py": "u\n"})
    assert integration.integrated(repo, "unmerged", "main") is None


def test_cherry_picked_then_edited_on_base_is_recognised_by_patch_id(repo):
    tip = branch_with(repo, "picked", {"app.py": "def hello():\n    return 'picked'\n"})
    diverge(repo)
    git(repo, "cherry-pick", tip)
    (repo / "app.py").write_text("def hello():\n    return 'edited again on main'\n")
    git(repo, "commit", "-qam", "edit after the pick")
    assert integration.integrated(repo, "picked", "main") == "patch-id match"


def test_delete_is_a_compare_and_swap(repo):
    old = branch_with(repo, "moving", {"x.py": "x\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "moving")
    git(repo, "checkout", "-q", "moving")
    (repo / "y.py").write_text("more work after the check\n")
    git(repo, "add", "y.py")
    git(repo, "commit", "-qm", "more work")
    git(repo, "checkout", "-q", "main")
    outcome = integration.delete_if_integrated(repo, "moving", "main", expected_sha=old)
    assert str(outcome) == "retained: moved meanwhile" and git(repo, "rev-parse", "moving") != old
    outcome = integration.delete_if_integrated(repo, "moving", "main")
    assert str(outcome) == "retained: unmerged commits (1 not in main)"
    assert not integration.delete_branch(repo, "moving", old)  # the ref no longer holds `old`
    git(repo, "merge", "-q", "--no-ff", "-m", "merge again", "moving")
    assert str(integration.delete_if_integrated(repo, "moving", "main")) == "deleted: integrated (ancestor)"
    assert "moving" not in git(repo, "branch", "--list")


def test_cleanup_deletes_a_cherry_picked_branch_and_keeps_a_rebased_away_one(repo):
    write_plan(repo, [{"id": "picked", "status": "completed"}, {"id": "kept", "status": "completed"}])
    tip = branch_with(repo, "feature/picked", {"app.py": "def hello():\n    return 'picked'\n"})
    branch_with(repo, "feature/kept", {"k.py": "k\n"})
    diverge(repo)
    git(repo, "cherry-pick", tip)
    (repo / "app.py").write_text("def hello():\n    return 'edited again on main'\n")
    git(repo, "commit", "-qam", "edit after the pick")
    out = json.loads(ctx(repo, "cleanup", "--json").stdout)
    result = {a["target"]: (a["outcome"], a["reason"]) for a in out["actions"]}
    assert result["feature/picked"] == ("deleted", "integrated (patch-id match)")
    assert result["feature/kept"] == ("retained", "unmerged commits (1 not in main)")
    assert git(repo, "branch", "--list", "feature/*") == "feature/kept"
    assert (repo / ".parallel/plans/plan.yaml").exists()  # not archived while work is kept
