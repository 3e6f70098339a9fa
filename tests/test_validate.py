"""ctx plan validate and ctx plan show: every problem named by file and field; waves in order."""

from __future__ import annotations

import json

import pytest
import yaml

from helpers import ctx, write_plan


def plan_yaml(repo):
    return repo / ".parallel/plans/plan.yaml"


def edit_plan(repo, change):
    data = yaml.safe_load(plan_yaml(repo).read_text())
    change(data)
    plan_yaml(repo).write_text(yaml.safe_dump(data, sort_keys=False))


def test_valid_plan(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 0 and "valid: 2 tasks" in proc.stdout
    assert json.loads(ctx(repo, "plan", "validate", "--json").stdout) == {"valid": True, "problems": [], "warnings": []}


HOSTILE = {
    "cycle": (lambda d: d["tasks"][0].update(dependencies=["c"]), "tasks", "dependency cycle: a -> c -> b -> a"),
    "self dependency": (lambda d: d["tasks"][0].update(dependencies=["a"]), "tasks[0].dependencies", "depends on itself"),
    "duplicate id": (lambda d: d["tasks"][2].update(id="a"), "tasks[2].id", "duplicate id 'a'"),
    "uppercase id": (lambda d: d["tasks"][1].update(id="Bad"), "tasks[1].id", "not a valid task id"),
    "dotdot id": (lambda d: d["tasks"][1].update(id="a..b"), "tasks[1].id", "not a valid git branch name"),
    "slash id": (lambda d: d["tasks"][1].update(id="x/y"), "tasks[1].id", "not a valid task id"),
    "leading dash": (lambda d: d["tasks"][1].update(id="-rf"), "tasks[1].id", "not a valid task id"),
    "lock suffix": (lambda d: d["tasks"][1].update(id="x.lock"), "tasks[1].id", "not a valid git branch name"),
    "unknown dependency": (lambda d: d["tasks"][1].update(dependencies=["ghost"]), "tasks[1].dependencies", "unknown task 'ghost'"),
    "wrong type": (lambda d: d["tasks"][1].update(dependencies="a"), "tasks[1].dependencies", "is not of type 'array'"),
    "bad priority": (lambda d: d["tasks"][1].update(priority="urgent"), "tasks[1].priority", "is not one of"),
    "missing name": (lambda d: d["tasks"][1].pop("name"), "tasks[1]", "'name' is a required property"),
    "no tasks": (lambda d: d.update(tasks=[]), "tasks", "should be non-empty"),
    "file outside plans": (lambda d: d["tasks"][1].update(file="../../etc/passwd"), "tasks[1].file", "must be a path inside"),
    "missing file": (lambda d: d["tasks"][1].update(file="tasks/nope.md"), "", "task file for 'b' not found"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_plans_are_named_by_file_and_field(repo, case):
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}, {"id": "c", "dependencies": ["b"]}])
    change, field, message = HOSTILE[case]
    edit_plan(repo, change)
    proc = ctx(repo, "plan", "validate", "--json")
    assert proc.returncode == 2
    problems = json.loads(proc.stdout)["problems"]
    assert any(p["field"] == field and message in p["message"] for p in problems), problems
    text = ctx(repo, "plan", "validate")
    assert text.returncode == 2 and ".parallel/plans/" in text.stderr and "Traceback" not in text.stderr


def test_task_file_problems(repo):
    write_plan(repo, [{"id": "a"}, {"id": "b", "status": "done"}])
    task_b = repo / ".parallel/plans/tasks/b.md"
    (repo / ".parallel/plans/tasks/a.md").write_text("---\nid: other\n---\nbody\n")
    problems = json.loads(ctx(repo, "plan", "validate", "--json").stdout)["problems"]
    assert {"file": ".parallel/plans/tasks/a.md", "field": "id",
            "message": "'other' does not match the plan's id 'a'"} in problems
    assert any(p["file"].endswith("tasks/b.md") and p["field"] == "status" for p in problems)
    task_b.write_text("---\nid: [unclosed\n---\n")
    problems = json.loads(ctx(repo, "plan", "validate", "--json").stdout)["problems"]
    assert any(p["file"].endswith("tasks/b.md") and "YAML" in p["message"] for p in problems)


def test_broken_yaml_and_missing_plan(repo):
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 2 and "no plan found" in proc.stderr
    write_plan(repo, [{"id": "a"}])
    plan_yaml(repo).write_text("metadata: {name: x\ntasks: [")
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 2 and "invalid YAML" in proc.stderr and "Traceback" not in proc.stderr
    assert ctx(repo, "plan", "show").returncode == 2


def test_show_orders_waves_by_dependencies_then_priority_then_id(repo):
    write_plan(repo, [
        {"id": "docs", "priority": "low"},
        {"id": "api", "priority": "high"},
        {"id": "schema", "priority": "blocker"},
        {"id": "cli", "priority": "high"},
        {"id": "ui", "dependencies": ["api"], "status": "completed"},
        {"id": "e2e", "dependencies": ["ui", "schema"]},
    ])
    out = json.loads(ctx(repo, "plan", "show", "--json").stdout)
    assert out["waves"] == [["schema", "api", "cli", "docs"], ["ui"], ["e2e"]]
    text = ctx(repo, "plan", "show").stdout
    assert "3 waves, 1 completed" in text
    assert "[✓] ui" in text


def test_works_from_inside_a_task_worktree(repo):
    write_plan(repo, [{"id": "a"}])
    import subprocess
    subprocess.run(["git", "worktree", "add", "-q", "-b", "feature/a", str(repo / "worktrees/a")], cwd=repo, check=True)
    out = json.loads(ctx(repo / "worktrees/a", "plan", "show", "--json").stdout)
    assert out["waves"] == [["a"]]


def test_a_validated_plan_is_not_validated_again_until_a_file_changes(repo):
    from test_startup import imported_modules
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    assert ctx(repo, "plan", "validate").returncode == 0
    # the remembered result spares `ctx setup` the schema validator ...
    loaded = imported_modules(repo, "setup", "a")
    assert "ctx.commands.worktree" in loaded and (repo / "worktrees/a").is_dir()
    assert "jsonschema" not in loaded and "ctx.validate" not in loaded
    # ... and any change to a file of the plan is validated again, and refused when wrong
    task_b = repo / ".parallel/plans/tasks/b.md"
    task_b.write_text(task_b.read_text().replace("status: pending", "status: done"))
    proc = ctx(repo, "setup", "b")
    assert proc.returncode == 2 and "tasks/b.md" in proc.stderr and "status" in proc.stderr
    task_b.write_text(task_b.read_text().replace("status: done", "status: pending"))
    edit_plan(repo, lambda d: d["tasks"][1].update(id="-rf"))
    proc = ctx(repo, "setup")
    assert proc.returncode == 2 and "tasks[1].id" in proc.stderr and "Traceback" not in proc.stderr
    assert not (repo / "worktrees/-rf").exists()
