"""`ctx run --merge` killed at random moments, then resumed: nothing lost, nothing run twice, nothing left.

Each seed picks up to two kills (SIGKILL of ctx alone, SIGKILL of its whole process tree, or SIGHUP as
when its terminal closes) at random moments, then runs `ctx run --resume --merge` until the plan is
done. The scripted agent logs every start, commit and finish per task, and notes when it finds an
earlier agent of its task still alive. CTX_FAULT_SEEDS=N runs N seeds (default 4).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import git, processes_with, write_plan

SEEDS = range(int(os.environ.get("CTX_FAULT_SEEDS", "4")))
TASKS = [{"id": "a"}, {"id": "b", "dependencies": ["a"]}, {"id": "c"},
         {"id": "d", "dependencies": ["b", "c"]}, {"id": "e"}]

AGENT = r"""#!/bin/sh
log="$AGENT_LOGS/$CTX_TASK_ID"
prev=$(grep '^start' "$log" 2>/dev/null | tail -n 1 | cut -d' ' -f2)
if [ -n "$prev" ] && [ -r "/proc/$prev/cmdline" ] && grep -q "$AGENT_MARKER" "/proc/$prev/cmdline" 2>/dev/null; then
  echo "overlap $$ $prev" >> "$log"
fi
echo "start $$" >> "$log"
sleep "$1"
echo "$CTX_TASK_ID $$" >> "$CTX_TASK_ID.txt"
git add -A && git commit -qm "$CTX_TASK_ID by $$" && echo "commit $(git rev-parse HEAD) $$" >> "$log"
echo "done $$" >> "$log"
"""


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _kill(proc: subprocess.Popen, how: str) -> None:
    if how == "ctx":
        proc.send_signal(signal.SIGKILL)
    elif how == "hup":
        proc.send_signal(signal.SIGHUP)
    else:  # the whole tree at one instant: freeze it, then kill every process in it
        tree = _descendants(proc.pid)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in tree:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass




@pytest.mark.parametrize("seed", SEEDS)
def test_killed_runs_resume_to_a_finished_plan(repo, tmp_path, seed):
    rng = random.Random(seed)
    marker = f"ctx-fault-agent-{seed}-{os.getpid()}"
    script = tmp_path / f"{marker}.sh"
    script.write_text(AGENT)
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    write_plan(repo, TASKS)
    env = dict(os.environ, AGENT_LOGS=str(logs), AGENT_MARKER=marker)
    agent = f"sh {script} {rng.choice([0.8, 1.2])}"
    kills = []
    for attempt in range(rng.choice([1, 2])):
        args = ["run", "--merge", "--agent", agent] + (["--resume"] if attempt else [])
        sizes = {"before": sum(len((logs / t["id"]).read_text()) if (logs / t["id"]).exists() else 0 for t in TASKS)}
        proc = subprocess.Popen([sys.executable, "-m", "ctx", *args], cwd=repo, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pause = rng.uniform(0.0, 2.5)
        if rng.random() < 0.8:  # mostly once agents are at work; sometimes during start-up
            deadline = time.time() + 30
            while proc.poll() is None and time.time() < deadline and \
                    sum(len((logs / t["id"]).read_text()) if (logs / t["id"]).exists() else 0 for t in TASKS) == \
                    sizes.get("before", -1):
                time.sleep(0.01)
        time.sleep(pause)
        how = rng.choice(["ctx", "ctx", "tree", "hup"])
        kills.append(how)
        _kill(proc, how)
        proc.wait(timeout=60)
    final = subprocess.run([sys.executable, "-m", "ctx", "run", "--resume", "--merge", "--agent", agent],
                           cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    context = f"seed {seed}, kills {kills}\n{final.stdout[-3000:]}\n{final.stderr[-2000:]}"
    assert final.returncode == 0, context

    merges = git(repo, "log", "--merges", "--format=%s", "main")
    for task in TASKS:
        tid = task["id"]
        front = yaml.safe_load((repo / f".parallel/plans/tasks/{tid}.md").read_text().split("---\n")[1])
        assert front["status"] == "completed" and front["merged"], context
        assert merges.count(f"Merge feature/{tid}:") == 1, f"{tid} merged more or less than once; {context}"
        lines = (logs / tid).read_text().splitlines()
        assert not [l for l in lines if l.startswith("overlap")], f"two agents at once on {tid}; {context}"
        latest = None
        for line in lines:  # an older agent still at work after a newer one started: two at once
            word, pid = line.split()[0], line.split()[-1]
            if word == "start":
                latest = pid
            assert pid == latest or word == "overlap", f"two agents at once on {tid}: {lines}; {context}"
        assert any(l.startswith("done") for l in lines), context
        first_done = next(n for n, l in enumerate(lines) if l.startswith("done"))
        rerun = [l for l in lines[first_done:] if l.startswith("start")]
        assert not rerun or "tree" in kills, f"{tid}'s finished agent ran again; {context}"
        for line in lines:
            if line.startswith("commit "):
                sha = line.split()[1]
                reachable = subprocess.run(["git", "merge-base", "--is-ancestor", sha, "main"], cwd=repo).returncode == 0
                kept = git(repo, "branch", "--contains", sha) != ""
                assert reachable or kept, f"commit {sha} of {tid} lost; {context}"
    assert processes_with(marker, str(repo / "worktrees")) == [], context
    assert not (repo / ".git/MERGE_HEAD").exists() and not (repo / ".git/index.lock").exists()
    assert not (repo / ".parallel/run.json").exists()
    # every merged task's worktree and branch released, whatever the kills interrupted
    assert not list((repo / ".parallel/journal").glob("*.json")), context
    assert git(repo, "branch", "--list", "feature/*") == "", context
    assert not [p for p in (repo / "worktrees").iterdir() if p.name != ".pool"], context


def test_a_run_killed_while_releasing_a_merged_worktree_finishes_the_release_when_resumed(repo):
    """A kill after the merge is recorded but before the worktree is parked leaves the task merged and
    the release in the journal; the resumed run parks the worktree, deletes the branch and goes on."""
    write_plan(repo, [{"id": "a"}, {"id": "b", "dependencies": ["a"]}])
    agent = 'echo "$CTX_TASK_ID" > "$CTX_TASK_ID.txt" && git add -A && git commit -qm "$CTX_TASK_ID"'
    killed = subprocess.run([sys.executable, "-m", "ctx", "run", "--merge", "--agent", agent], cwd=repo,
                            env=dict(os.environ, CTX_FAULT="merge:released"), capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    entry = json.loads((repo / ".parallel/journal/merge.json").read_text())
    assert entry["step"] == "releasing" and entry["data"]["task"] == "a"
    front = yaml.safe_load((repo / ".parallel/plans/tasks/a.md").read_text().split("---\n")[1])
    assert front["merged"] and git(repo, "branch", "--list", "feature/a") != ""  # merged, not yet released
    doctor = subprocess.run([sys.executable, "-m", "ctx", "doctor"], cwd=repo, capture_output=True, text=True)
    assert "a is merged, but releasing its worktree and branch was cut short" in doctor.stdout
    resumed = subprocess.run([sys.executable, "-m", "ctx", "run", "--resume", "--merge", "--agent", agent],
                             cwd=repo, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "finished releasing its worktree and branch after a kill" in resumed.stdout
    assert git(repo, "log", "--merges", "--format=%s", "main").count("Merge feature/a:") == 1
    assert (repo / "b.txt").read_text() == "b\n" and git(repo, "branch", "--list", "feature/*") == ""
    assert not list((repo / ".parallel/journal").glob("*.json"))
