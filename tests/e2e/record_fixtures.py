"""Re-record the real transcripts under tests/fixtures/transcripts/ with the real Claude Code CLI.

Run: python tests/e2e/record_fixtures.py [NAME ...]   (all sessions, or the named ones; installs the
pinned CLI if needed; no network beyond npm)
Each fixture is a session's transcript as Claude Code wrote it, plus its subagents' transcripts.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import host  # noqa: E402
from helpers import make_repo  # noqa: E402
from scripted_api import ScriptedAPI, all_text, say, system_text, text_of  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts"

PLAN = """Two tasks, independent of each other.

**Type:** Plan

```yaml
metadata:
  name: recorded-plan
tasks:
  - {id: parser, name: Parser, priority: high, dependencies: [], labels: [core]}
  - {id: printer, name: Printer, priority: medium, dependencies: [parser]}
```

### Task parser: Parser
## Objective
Parse the input format.

```python
### Task not-a-heading: inside a code block
```

### Task printer: Printer
## Objective
Print what the parser returns.
"""

# The same plan as a model may spell it: colon outside the bold, a yml fence, headings at levels 2
# and 4 with an em dash and a hyphen between id and name.
VARIANT = (PLAN.replace("recorded-plan", "recorded-variant").replace("**Type:** Plan", "**Type**: Plan")
           .replace("```yaml", "```yml").replace("### Task parser:", "## Task parser —")
           .replace("### Task printer:", "#### Task printer -"))

# Ambiguous: a second plan in the same reply.
TWO_PLANS = PLAN + "\nOr, smaller:\n\n" + PLAN.replace("recorded-plan", "second-plan")

DECOY = PLAN.replace("recorded-plan", "subagent-decoy").replace("parser", "decoy")


def plan_policy(body: dict) -> list[dict]:
    return [say(PLAN)]


def subagent_policy(body: dict) -> list[dict]:
    first = text_of(body["messages"][0].get("content"))
    if "Draft a plan for the parser" in first:  # the subagent: its words are a sidechain
        return [say(DECOY)]
    last = body["messages"][-1]
    if last.get("role") == "user" and any(b.get("type") == "tool_result" for b in last.get("content") or []
                                          if isinstance(b, dict)):
        return [say(PLAN)]
    return [{"type": "tool_use", "name": "Agent", "input": {
        "description": "draft", "prompt": "Draft a plan for the parser", "subagent_type": "general-purpose",
        "run_in_background": False}}]


def variant_policy(body: dict) -> list[dict]:
    return [say(VARIANT)]


def two_plans_policy(body: dict) -> list[dict]:
    return [say(TWO_PLANS)]


def no_plan_policy(body: dict) -> list[dict]:
    return [say("I looked at the example you pasted; there is nothing to plan yet.")]


SESSIONS = {
    "plan-in-reply": (plan_policy, "/ctx:plan a parser and a printer"),
    "subagent-decoy": (subagent_policy, "plan the parser work"),
    "plan-only-in-prompt": (no_plan_policy, "Here is an example:\n\n" + PLAN + "\nWhat do you think?"),
    "plan-variant-spelling": (variant_policy, "/ctx:plan a parser and a printer"),
    "plan-two-in-one-reply": (two_plans_policy, "/ctx:plan a parser and a printer"),
}


def record(names: list[str]) -> None:
    unknown = sorted(set(names) - set(SESSIONS))
    if unknown:
        raise SystemExit(f"unknown session {unknown[0]}; known: {', '.join(SESSIONS)}")
    claude = host.install()
    for name, (policy, prompt) in SESSIONS.items():
        if names and name not in names:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            repo = make_repo(tmp)
            home = tmp / "home"
            home.mkdir()
            with ScriptedAPI(policy) as api:
                result = host.run(claude, repo, host.environment(home, api.url), prompt)
            session = result["session_id"]
            main = next((home / ".claude" / "projects").glob(f"*/{session}.jsonl"))
            target = OUT / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            shutil.copy(main, target / "session.jsonl")
            subagents = main.parent / session / "subagents"
            if subagents.is_dir():
                shutil.copytree(subagents, target / "session" / "subagents")
            print(f"{name}: {sum(1 for _ in open(main))} records, session {session}")


if __name__ == "__main__":
    record(sys.argv[1:])
