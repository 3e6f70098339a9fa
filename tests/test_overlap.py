"""Plan-time overlap: warned only for tasks that can be in progress together and name the same file."""

from __future__ import annotations

import json

from helpers import ctx, write_plan

from ctx.overlap import files_in_body

BODY = """## Objective
Do it.

## Files to Touch
- `src/app.py`: add the route
- Update src/models.py for the new field
- the config in `settings.toml`, and `README.md` too
- nothing path-like here

### Notes inside the section
- `docs/ignored-because-a-subheading.md`

## Tests Required
- `tests/test_app.py`
"""


def test_files_come_from_the_first_path_like_token_of_each_item_under_the_heading():
    assert files_in_body(BODY) == ["src/app.py", "src/models.py", "settings.toml", "docs/ignored-because-a-subheading.md"]
    assert files_in_body("#### files to touch (expected)\n* Makefile\n1. `lib/`\n# Next\n- other.py\n") == ["Makefile", "lib/"]
    assert files_in_body("## Objective\n- `app.py`\n") == []


def body(*files):
    return "## Objective\nWork.\n\n### Files to Touch\n" + "".join(f"- `{f}`: change it\n" for f in files)


def test_overlap_warned_only_for_tasks_that_can_run_at_the_same_time(repo):
    write_plan(repo, [
        {"id": "api", "body": body("src/app.py", "src/db.py")},
        {"id": "ui", "body": body("src/app.py", "web/page.html")},          # shares app.py with api: warned
        {"id": "later", "dependencies": ["ui"], "body": body("src/app.py")},  # after ui, but may run beside api
        {"id": "last", "dependencies": ["later", "api"], "body": body("src/app.py", "web/page.html")},  # after all
        {"id": "docs", "files": ["docs/", "src/db.py"]},                    # frontmatter list; folder covers files
        {"id": "guide", "body": body("docs/guide.md")},
    ])
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 0 and "is valid: 6 tasks" in proc.stdout
    lines = proc.stderr.splitlines()
    assert lines == [
        "warning: tasks api and ui both touch src/app.py and may run at the same time; "
        "make one depend on the other, or merge them into one task",
        "warning: tasks api and later both touch src/app.py and may run at the same time; "
        "make one depend on the other, or merge them into one task",
        "warning: tasks api and docs both touch src/db.py and may run at the same time; "
        "make one depend on the other, or merge them into one task",
        "warning: tasks docs and guide both touch docs/guide.md and may run at the same time; "
        "make one depend on the other, or merge them into one task",
    ]
    out = json.loads(ctx(repo, "plan", "validate", "--json").stdout)
    assert out["valid"] is True and out["warnings"] == [
        {"tasks": ["api", "ui"], "files": ["src/app.py"]},
        {"tasks": ["api", "later"], "files": ["src/app.py"]},
        {"tasks": ["api", "docs"], "files": ["src/db.py"]},
        {"tasks": ["docs", "guide"], "files": ["docs/guide.md"]},
    ]
    shown = ctx(repo, "plan", "show")
    assert shown.returncode == 0 and shown.stderr.splitlines() == lines
    assert json.loads(ctx(repo, "plan", "show", "--json").stdout)["warnings"] == out["warnings"]


def test_no_warning_when_dependencies_order_the_shared_files(repo):
    write_plan(repo, [{"id": "a", "body": body("app.py")}, {"id": "b", "dependencies": ["a"], "body": body("app.py")},
                      {"id": "c", "dependencies": ["b"], "files": ["app.py"]}, {"id": "d", "body": body("other.py")}])
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(ctx(repo, "plan", "validate", "--json").stdout)["warnings"] == []


def test_a_files_list_that_is_not_a_list_is_a_problem(repo):
    write_plan(repo, [{"id": "a", "files": "app.py"}])
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 2 and "tasks/a.md: files: 'app.py' is not of type 'array'" in proc.stderr


def test_files_written_in_the_conversation_reach_the_warnings(repo, tmp_path):
    from test_plan_extract import record, write_transcript
    plan = """**Type:** Plan

```yaml
metadata:
  name: shared
tasks:
  - {id: login, name: Login, files: [src/auth.py, src/app.py]}
  - {id: signup, name: Signup}
```

### Task login: Login
## Objective
Log in.

### Task signup: Signup
## Objective
Sign up.
### Files to Touch
- `src/app.py` (the routes)
"""
    path = write_transcript(tmp_path / "t.jsonl", [record("user", "plan it"), record("assistant", plan)])
    ctx(repo, "plan", "extract", "--transcript", str(path), check=True)
    proc = ctx(repo, "plan", "validate")
    assert proc.returncode == 0 and "warning: tasks login and signup both touch src/app.py" in proc.stderr
