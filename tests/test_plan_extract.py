"""ctx plan extract: the newest plan the assistant wrote, from the right transcript, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import ctx, make_repo

PLAN = """I split the work into two tasks.

**Type:** Plan

```yaml
metadata:
  name: user-dashboard
tasks:
  - {id: auth-api, name: Auth API, priority: high, dependencies: []}
  - {id: dashboard-ui, name: Dashboard UI, priority: medium, dependencies: [auth-api], labels: [ui], test: "pytest -q"}
```

### Task auth-api: Auth API
## Objective
Add login and token endpoints.

```markdown
### Task not-a-task: inside a code block
```

### Implementation Approach
Use the existing router.

### Task dashboard-ui: Dashboard UI
## Objective
Show the user's data.
"""


def record(kind: str, text: str, mid: str = "msg_1", sidechain: bool = False, **extra) -> dict:
    if kind == "assistant":
        return {"type": "assistant", "isSidechain": sidechain, "uuid": mid + "-u",
                "message": {"id": mid, "role": "assistant", "model": "claude-sonnet-4-5",
                            "content": [{"type": "text", "text": text}]}, **extra}
    return {"type": kind, "isSidechain": sidechain, "message": {"role": "user", "content": text}, **extra}


def write_transcript(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return path


@pytest.fixture
def transcript(tmp_path):
    return write_transcript(tmp_path / "session.jsonl", [
        record("user", "please plan the dashboard"), record("assistant", PLAN)])


def extract(repo, transcript, *args):
    return ctx(repo, "plan", "extract", "--transcript", str(transcript), *args)


def test_writes_plan_yaml_and_task_files(repo, transcript):
    proc = extract(repo, transcript)
    assert proc.returncode == 0, proc.stderr
    plan = yaml.safe_load((repo / ".parallel/plans/plan.yaml").read_text())
    assert plan["metadata"]["name"] == "user-dashboard"
    assert [t["id"] for t in plan["tasks"]] == ["auth-api", "dashboard-ui"]
    assert plan["tasks"][1]["dependencies"] == ["auth-api"]
    text = (repo / ".parallel/plans/tasks/auth-api.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["status"] == "pending" and front["priority"] == "high"
    # sub-headings and code blocks stay in the task; a heading inside a fence does not split it
    assert "### Implementation Approach" in text and "### Task not-a-task" in text
    assert "Show the user's data" not in text
    ui = yaml.safe_load((repo / ".parallel/plans/tasks/dashboard-ui.md").read_text().split("---")[1])
    assert ui["labels"] == ["ui"] and ui["test"] == "pytest -q"


def test_plan_state_never_dirties_the_checkout(repo, transcript):
    extract(repo, transcript)
    assert ctx(repo, "plan", "validate").returncode == 0
    import subprocess
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert status == ""
    assert not (repo / ".gitignore").exists()


def test_only_the_newest_main_conversation_assistant_plan_counts(repo, tmp_path):
    older = PLAN.replace("user-dashboard", "older-plan")
    decoy = PLAN.replace("user-dashboard", "decoy")
    path = write_transcript(tmp_path / "t.jsonl", [
        record("assistant", older, mid="msg_a"),
        record("user", decoy),  # the user's prompt or an expanded command holding an example
        record("attachment", decoy),
        record("assistant", decoy, mid="msg_side", sidechain=True),  # a subagent's words
    ])
    assert extract(repo, path).returncode == 0
    assert "older-plan" in (repo / ".parallel/plans/plan.yaml").read_text()


def test_text_blocks_of_one_message_are_joined(repo, tmp_path):
    head, tail = PLAN.split("### Task dashboard-ui")
    path = write_transcript(tmp_path / "t.jsonl", [
        record("assistant", head, mid="msg_9"),
        {"type": "assistant", "message": {"id": "msg_9", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]}},
        record("assistant", "### Task dashboard-ui" + tail, mid="msg_9"),
    ])
    proc = extract(repo, path)
    assert proc.returncode == 0, proc.stderr
    assert "Show the user's data" in (repo / ".parallel/plans/tasks/dashboard-ui.md").read_text()


def test_session_id_finds_that_sessions_transcript_not_the_newest(repo, tmp_path, monkeypatch):
    projects = Path.home() / ".claude" / "projects" / ("-" + str(repo).strip("/").replace("/", "-").replace("_", "-"))
    projects.mkdir(parents=True)
    write_transcript(projects / "mine.jsonl", [record("assistant", PLAN)])
    write_transcript(projects / "other.jsonl", [record("assistant", PLAN.replace("user-dashboard", "other-session"))])
    proc = ctx(repo, "plan", "extract", env={"CLAUDE_CODE_SESSION_ID": "mine"})
    assert proc.returncode == 0, proc.stderr
    assert "user-dashboard" in (repo / ".parallel/plans/plan.yaml").read_text()
    proc = ctx(repo, "plan", "extract", "--session", "other", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "other-session" in (repo / ".parallel/plans/plan.yaml").read_text()


def test_extracting_the_same_message_again_changes_nothing(repo, transcript):
    assert extract(repo, transcript).returncode == 0
    before = (repo / ".parallel/plans/plan.yaml").read_text()
    proc = extract(repo, transcript)
    assert proc.returncode == 0 and "already extracted" in proc.stdout
    assert (repo / ".parallel/plans/plan.yaml").read_text() == before


def test_existing_plan_is_kept_unless_force_then_archived(repo, transcript, tmp_path):
    assert extract(repo, transcript).returncode == 0
    before = (repo / ".parallel/plans/plan.yaml").read_text()
    transcript = write_transcript(tmp_path / "newer.jsonl", [record("assistant", PLAN, mid="msg_newer")])
    proc = extract(repo, transcript)
    assert proc.returncode == 2 and "a plan exists already" in proc.stderr
    assert (repo / ".parallel/plans/plan.yaml").read_text() == before
    assert extract(repo, transcript, "--force").returncode == 0
    archived = list((repo / ".parallel/archive").glob("*/plan.yaml"))
    assert len(archived) == 1 and archived[0].read_text() == before


def written(repo: Path) -> dict:
    """What extraction wrote, without the timestamps: the plan's tasks and every task file's text."""
    plan = yaml.safe_load((repo / ".parallel/plans/plan.yaml").read_text())
    files = {}
    for path in sorted((repo / ".parallel/plans/tasks").glob("*.md")):
        _, front, body = path.read_text().split("---\n", 2)
        front = {k: v for k, v in yaml.safe_load(front).items() if k not in ("created", "updated")}
        files[path.name] = (front, body)
    return {"name": plan["metadata"]["name"], "tasks": plan["tasks"], "files": files}


# Spellings a model plausibly writes, each read exactly as the canonical PLAN.
ACCEPTED = {
    "type, colon outside bold": [("**Type:** Plan", "**Type**: Plan")],
    "type, no emphasis": [("**Type:** Plan", "Type: Plan")],
    "type, italic": [("**Type:** Plan", "*Type:* Plan")],
    "type, italic colon outside": [("**Type:** Plan", "*Type*: Plan")],
    "type, underscores": [("**Type:** Plan", "__Type__: Plan")],
    "type, whole line bold": [("**Type:** Plan", "**Type: Plan**")],
    "headings at level 2": [("### Task auth-api:", "## Task auth-api:"), ("### Task dashboard-ui:", "## Task dashboard-ui:")],
    "headings at level 4": [("### Task auth-api:", "#### Task auth-api:"), ("### Task dashboard-ui:", "#### Task dashboard-ui:")],
    "hyphen separator": [("### Task auth-api:", "### Task auth-api -"), ("### Task dashboard-ui:", "### Task dashboard-ui -")],
    "en dash separator": [("### Task auth-api:", "### Task auth-api –")],
    "em dash separator": [("### Task auth-api:", "### Task auth-api —"), ("### Task dashboard-ui: ", "### Task dashboard-ui—")],
    "yml fence": [("```yaml", "```yml")],
    "tilde fence": [("```yaml\nmetadata", "~~~yaml\nmetadata"), ("labels: [ui], test: \"pytest -q\"}\n```",
                                                               "labels: [ui], test: \"pytest -q\"}\n~~~")],
    "all at once": [("**Type:** Plan", "Type: Plan"), ("```yaml", "```YML"), ("### Task auth-api:", "## Task auth-api —"),
                    ("### Task dashboard-ui:", "#### Task dashboard-ui -")],
}


def variant(edits: list[tuple[str, str]]) -> str:
    text = PLAN
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    base = tmp_path_factory.mktemp("canonical")
    repo = make_repo(base)
    path = write_transcript(base / "t.jsonl", [record("assistant", PLAN)])
    assert extract(repo, path).returncode == 0
    return written(repo)


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_variants_a_model_writes_are_read_as_the_canonical_plan(repo, tmp_path, canonical, case):
    path = write_transcript(tmp_path / "t.jsonl", [record("assistant", variant(ACCEPTED[case]))])
    proc = extract(repo, path)
    assert proc.returncode == 0, proc.stderr
    assert written(repo) == canonical
    # the heading inside the code block stays in the task's text, never a section of its own
    assert "### Task not-a-task" in canonical["files"]["auth-api.md"][1]


FORM = "expected form: a line '**Type:** Plan', then one ```yaml block"
REFUSED = {
    "no plan": ("Just chatting, no plan here.", "no plan found in the assistant's messages", FORM),
    "type line not read": (PLAN.replace("**Type:** Plan", "**Type:** Plan v2"),
                           "no plan found: line 3 '**Type:** Plan v2' is not a type line ctx reads",
                           "write it as '**Type:** Plan' on a line of its own"),
    "type line only inside a fence": ("```markdown\n**Type:** Plan\n```\n",
                                      "no plan found: line 2 '**Type:** Plan' is not a type line", "outside any code block"),
    "two plans in one message": (PLAN + "\n" + PLAN.replace("user-dashboard", "second"),
                                 "two plans in one message, at line 3 '**Type:** Plan' and line 30 '**Type:** Plan'",
                                 "write one plan per message"),
    "malformed yaml": (PLAN.replace("  - {id: auth-api,", "  - {id: auth-api,,: ["),
                       "the plan's yaml block is malformed at line 9 '- {id: auth-api,,: [", FORM),
    "no tasks list": (PLAN.replace("tasks:\n", "steps:\n"), "the yaml block at line 5 '```yaml' needs 'metadata' and a 'tasks' list", FORM),
    "no yaml block": ("**Type:** Plan\n\nSome words.\n", "line 1 '**Type:** Plan' is followed by no ```yaml block", FORM),
    "yaml block never closed": ("**Type:** Plan\n\n```yaml\ntasks: []\n",
                                "the ```yaml block opened at line 3 '```yaml' is never closed", FORM),
    "section before the yaml block": ("**Type:** Plan\n\n### Task a: A\nbody\n```yaml\ntasks: [{id: a}]\n```\n",
                                      "line 3 '### Task a: A' comes before the plan's ```yaml block", FORM),
    "missing section": (PLAN.split("### Task dashboard-ui")[0],
                        "task 'dashboard-ui' is listed in the yaml block but has no '### Task dashboard-ui: <name>' section",
                        FORM),
    "section only inside a code fence": (PLAN.replace("### Task dashboard-ui: Dashboard UI",
                                                      "```\n### Task dashboard-ui: Dashboard UI\n```"),
                                         "task 'dashboard-ui' is listed in the yaml block but has no", FORM),
    "heading at level 5": (PLAN.replace("### Task dashboard-ui:", "##### Task dashboard-ui:"),
                           "line 24 '##### Task dashboard-ui: Dashboard UI' is not a task heading ctx reads",
                           "write it as '### Task dashboard-ui: <name>'"),
    "heading without a name": (PLAN.replace("### Task dashboard-ui: Dashboard UI", "### Task dashboard-ui"),
                               "line 24 '### Task dashboard-ui' is not a task heading ctx reads", "write it as"),
    "heading with a slash": (PLAN.replace("### Task dashboard-ui:", "**Task dashboard-ui** /"),
                             "line 24 '**Task dashboard-ui** / Dashboard UI' is not a task heading", "write it as"),
    "section without a task": (PLAN + "\n## Task extra — Extra\nmore\n",
                               "line 28 '## Task extra — Extra' names no task of the yaml block (its tasks: auth-api, dashboard-ui)",
                               "add the task to the yaml block's 'tasks' list"),
    "two sections for one task": (PLAN + "\n#### Task auth-api - Again\n",
                                  "two sections for task 'auth-api', at line 13 '### Task auth-api: Auth API' and line 28 '#### Task auth-api - Again'",
                                  "merge them"),
    "path traversal id": (PLAN.replace("id: auth-api,", "id: ../evil,"),
                          "tasks[0] at line 9 '- {id: ../evil, name: Auth API, priority: high, dependencies: []}': "
                          "id: '../evil' is not a valid task id", "ids look like auth-api"),
    "task without an id": (PLAN.replace("  - {id: auth-api, ", "  - {"),
                           "tasks[0] at line 9 '- {name: Auth API, priority: high, dependencies: []}': each task needs an 'id'",
                           "a task in the yaml block looks like: - {id: auth-api, name: Auth API"),
    "duplicate id": (PLAN.replace("id: dashboard-ui,", "id: auth-api,"),
                     "tasks[1] at line 10 '- {id: auth-api, name: Dashboard UI", "give each task its own id"),
    "metadata not a mapping": (PLAN.replace("name: user-dashboard", "- x"),
                               "the yaml block at line 5 '```yaml': metadata: expected a mapping",
                               "metadata looks like: metadata: {name: user-dashboard}"),
    "cycle": (PLAN.replace("dependencies: []}", "dependencies: [dashboard-ui]}"),
              "tasks[0] at line 9 '- {id: auth-api, name: Auth API, priority: high, dependencies: [dashboard-ui]}': "
              "dependency cycle: auth-api -> dashboard-ui -> auth-api", "dependencies must not form a cycle"),
    "unknown dependency": (PLAN.replace("dependencies: [auth-api]", "dependencies: [ghost]"),
                           "tasks[1] at line 10 '- {id: dashboard-ui, name: Dashboard UI, priority: medium, "
                           "dependencies: [gho...': dependencies: unknown task 'ghost'", "a task in the yaml block looks like"),
    "bad priority, block style": (PLAN.replace("  - {id: dashboard-ui, name: Dashboard UI, priority: medium, "
                                               "dependencies: [auth-api], labels: [ui], test: \"pytest -q\"}",
                                               "  - id: dashboard-ui\n    name: Dashboard UI\n    priority: urgent"),
                                  "tasks[1] at line 10 '- id: dashboard-ui': priority: 'urgent' is not one of",
                                  "a task in the yaml block looks like"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_quote_the_line_show_the_form_and_write_nothing(repo, tmp_path, case):
    text, expected, hint = REFUSED[case]
    assert hint
    path = write_transcript(tmp_path / "t.jsonl", [record("assistant", text)])
    proc = extract(repo, path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and 1 <= len(lines) <= 2
    assert lines[0].startswith("ctx: error: ") and expected in lines[0], proc.stderr
    assert lines[1].startswith("hint: ") and hint in lines[1], proc.stderr
    assert not (repo / ".parallel/plans").exists()
    assert not (tmp_path / "evil.md").exists()


def test_missing_transcript_and_session_are_clear_errors(repo, tmp_path):
    proc = ctx(repo, "plan", "extract")
    assert proc.returncode == 2 and "CLAUDE_CODE_SESSION_ID is not set" in proc.stderr
    proc = ctx(repo, "plan", "extract", "--transcript", str(tmp_path / "nope.jsonl"))
    assert proc.returncode == 2 and "nope.jsonl: file not found" in proc.stderr
    proc = ctx(repo, "plan", "extract", "--session", "no-such-session")
    assert proc.returncode == 2 and "no transcript for session no-such-session" in proc.stderr


FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"


def test_real_transcript_plan_in_the_reply(repo):
    """Recorded with the real Claude Code CLI (tests/e2e/record_fixtures.py): /ctx:plan, then the plan."""
    proc = extract(repo, FIXTURES / "plan-in-reply" / "session.jsonl")
    assert proc.returncode == 0, proc.stderr
    plan = yaml.safe_load((repo / ".parallel/plans/plan.yaml").read_text())
    assert plan["metadata"]["name"] == "recorded-plan"
    assert [(t["id"], t["dependencies"]) for t in plan["tasks"]] == [("parser", []), ("printer", ["parser"])]
    parser = (repo / ".parallel/plans/tasks/parser.md").read_text()
    assert "### Task not-a-heading: inside a code block" in parser and "Print what" not in parser


def test_real_transcript_ignores_a_subagents_plan(repo):
    folder = FIXTURES / "subagent-decoy"
    assert "subagent-decoy" in (folder / "session.jsonl").read_text()  # the decoy came back as a tool result
    assert extract(repo, folder / "session.jsonl").returncode == 0
    assert "recorded-plan" in (repo / ".parallel/plans/plan.yaml").read_text()
    sub = next((folder / "session" / "subagents").glob("agent-*.jsonl"))
    proc = extract(repo, sub, "--force")
    assert proc.returncode == 2 and "no plan found" in proc.stderr  # sidechain records are not the model's reply


def test_real_transcript_plan_only_in_the_users_prompt(repo):
    proc = extract(repo, FIXTURES / "plan-only-in-prompt" / "session.jsonl")
    assert proc.returncode == 2 and "no plan found in the assistant's messages" in proc.stderr
    assert not (repo / ".parallel/plans").exists()


def test_real_transcript_variant_spelling_is_read_as_the_canonical_plan(repo, tmp_path):
    """Recorded with the real CLI: '**Type**: Plan', a yml fence, '## Task parser —', '#### Task printer -'."""
    session = FIXTURES / "plan-variant-spelling" / "session.jsonl"
    assert "## Task parser —" in session.read_text() and "```yml" in session.read_text()
    proc = extract(repo, session)
    assert proc.returncode == 0, proc.stderr
    variant = written(repo)
    other = make_repo(tmp_path / "canonical")
    assert extract(other, FIXTURES / "plan-in-reply" / "session.jsonl").returncode == 0
    canonical = written(other)
    assert variant["name"] == "recorded-variant" and canonical["name"] == "recorded-plan"
    assert variant["tasks"] == canonical["tasks"] and variant["files"] == canonical["files"]


def test_real_transcript_two_plans_in_one_reply_are_refused(repo):
    proc = extract(repo, FIXTURES / "plan-two-in-one-reply" / "session.jsonl")
    assert proc.returncode == 2
    assert "two plans in one message, at line 3 '**Type:** Plan' and line 29 '**Type:** Plan'" in proc.stderr
    assert "hint: write one plan per message" in proc.stderr
    assert not (repo / ".parallel/plans").exists()


def test_a_newer_plan_that_cannot_be_read_is_refused_not_passed_over(repo, tmp_path):
    newer = PLAN.replace("**Type:** Plan", "# Type: Plan").replace("user-dashboard", "newer")
    path = write_transcript(tmp_path / "t.jsonl", [record("assistant", PLAN, mid="msg_a"),
                                                   record("assistant", newer, mid="msg_b")])
    proc = extract(repo, path)
    assert proc.returncode == 2
    assert "no plan found: line 3 '# Type: Plan' is not a type line ctx reads" in proc.stderr
    assert "hint: write it as '**Type:** Plan' on a line of its own" in proc.stderr
    assert not (repo / ".parallel/plans").exists()
    # words about the plan after it are not a plan
    path = write_transcript(tmp_path / "t2.jsonl", [record("assistant", PLAN, mid="msg_a"),
                                                    record("assistant", "I wrote it with a Type: Plan line.", mid="msg_b")])
    proc = extract(repo, path)
    assert proc.returncode == 0, proc.stderr
    assert "user-dashboard" in (repo / ".parallel/plans/plan.yaml").read_text()
