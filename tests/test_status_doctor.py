"""ctx status and ctx doctor as a user reads them."""

from __future__ import annotations

import json
import shutil

from helpers import ctx, git, write_plan


def test_status_json_keys_and_facts(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    ctx(repo, "setup", check=True)
    wt = repo / "worktrees/a"
    for n in range(2):
        (wt / f"f{n}.py").write_text("x\n")
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", f"c{n}")
    (wt / "wip.py").write_text("uncommitted\n")
    ctx(wt, "task", "start", "a", check=True)
    out = json.loads(ctx(repo, "status", "--json").stdout)
    rows = {t["id"]: t for t in out["tasks"]}
    assert {"id", "status", "wave", "branch", "worktree", "ahead", "dirty"} <= set(rows["a"])
    assert (rows["a"]["status"], rows["a"]["wave"], rows["a"]["ahead"], rows["a"]["dirty"]) == ("in_progress", 1, 2, 1)
    assert rows["a"]["worktree"] == "worktrees/a" and rows["a"]["branch"] == "feature/a"
    assert (rows["b"]["wave"], rows["b"]["worktree"], rows["b"]["ahead"]) == (2, None, None)
    assert out["summary"] == {"total": 2, "pending": 1, "in_progress": 1, "completed": 0, "blocked": 0, "merged": 0}
    text = ctx(repo, "status").stdout
    assert "a   in_progress  1" in text and "next:" in text


def test_status_with_many_tasks(repo):
    write_plan(repo, [{"id": f"t{n:02d}"} for n in range(50)])
    ctx(repo, "setup", check=True)
    out = json.loads(ctx(repo, "status", "--json").stdout)
    assert len(out["tasks"]) == 50 and all(t["ahead"] == 0 and t["dirty"] == 0 for t in out["tasks"])


def test_doctor_reports_what_to_fix(repo):
    proc = ctx(repo, "doctor", "--json")
    out = json.loads(proc.stdout)
    checks = {c["name"]: c for c in out["checks"]}
    assert proc.returncode == 1 and not out["ready"]
    assert not checks["plan"]["ok"] and "/ctx:plan" in checks["plan"]["fix"]
    write_plan(repo, [{"id": "a"}])
    (repo / "app.py").write_text("changed\n")
    checks = {c["name"]: c for c in json.loads(ctx(repo, "doctor", "--json").stdout)["checks"]}
    assert checks["plan"]["ok"] and not checks["clean checkout"]["ok"] and "app.py" in checks["clean checkout"]["detail"]
    git(repo, "checkout", "-q", "app.py")
    ctx(repo, "setup", check=True)
    shutil.rmtree(repo / "worktrees/a")
    proc = ctx(repo, "doctor")
    assert proc.returncode == 1 and "[FAIL] worktree registrations: stale" in proc.stdout
    ctx(repo, "cleanup", check=True)
    proc = ctx(repo, "doctor")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ready"), proc.stdout


def test_doctor_outside_a_repository(tmp_path):
    proc = ctx(tmp_path, "doctor")
    assert proc.returncode == 1 and "[FAIL] repository: not inside a git repository" in proc.stdout


def test_doctor_checks_what_the_merges_will_need_before_agents_start(repo):
    """/ctx:execute stops on a failed doctor check, so doctor carries ctx run --merge's preflight."""
    write_plan(repo, [{"id": "a"}], base="main")
    check = lambda: {c["name"]: c for c in json.loads(ctx(repo, "doctor", "--json").stdout)["checks"]}["merge preflight"]
    assert check()["ok"]
    git(repo, "checkout", "-q", "--detach")
    found = check()
    assert not found["ok"] and "detached HEAD" in found["detail"] and "checkout main" in found["fix"]
    git(repo, "checkout", "-q", "main")
    (repo / ".git/index.lock").write_text("")
    found = check()
    assert not found["ok"] and "index.lock exists" in found["detail"]
    proc = ctx(repo, "doctor")
    assert proc.returncode == 1 and "[FAIL] merge preflight" in proc.stdout
    (repo / ".git/index.lock").unlink()
    (repo / "app.py").write_text("changed\n")  # uncommitted work: reported by the clean-checkout check alone
    assert check()["ok"]
