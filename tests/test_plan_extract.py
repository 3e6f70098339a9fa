"""ctx plan extract: the newest plan the assistant wrote, from the right transcript, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import ctx

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


BROKEN = {
    "no plan": ("Just chatting, no plan here.", "no plan found"),
    "malformed yaml": (PLAN.replace("  - {id: auth-api,", "  - {id: auth-api,,: ["), "malformed"),
    "missing section": (PLAN.split("### Task dashboard-ui")[0], "has no '### Task dashboard-ui"),
    "path traversal id": (PLAN.replace("id: auth-api,", "id: ../evil,"), "not a valid task id"),
    "cycle": (PLAN.replace("dependencies: []}", "dependencies: [dashboard-ui]}"), "dependency cycle"),
    "unknown dependency": (PLAN.replace("dependencies: [auth-api]", "dependencies: [ghost]"), "unknown task 'ghost'"),
    "bad priority": (PLAN.replace("priority: high", "priority: urgent"), "priority"),
    "no yaml block": ("**Type:** Plan\n\n### Task a: A\nbody\n", "no complete ```yaml block"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_bad_plans_give_one_clear_error_and_write_nothing(repo, tmp_path, case):
    text, expected = BROKEN[case]
    path = write_transcript(tmp_path / "t.jsonl", [record("assistant", text)])
    proc = extract(repo, path)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
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
