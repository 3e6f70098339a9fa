"""PreToolUse auto-approval, proven on a corpus of hostile and benign commands in a real repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers import ctx, git, write_plan

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "data" / "approval_corpus.tsv"
HOOK = ["python3", "-S", str(ROOT / "scripts" / "hooks" / "run.py"), "pre-tool-use"]


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "ntr\\":
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def load_corpus():
    cases = []
    for line in CORPUS.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        verdict, where, command, why = line.split("\t")
        cases.append((verdict, where, unescape(command), why))
    return cases


def plant_hostile_content(checkout: Path, outside: Path, marker: Path) -> None:
    """What a hostile repository (or an earlier prompt-injected step) can leave in a checkout."""
    hook = outside / "fsmonitor-hook"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    hook.chmod(0o755)
    nested = checkout / "vendor" / "lib"
    (nested / "src").mkdir(parents=True)
    git(nested, "init", "-q")
    git(nested, "config", "core.fsmonitor", str(hook))
    bare = checkout / "evil.git"
    git(checkout, "init", "-q", "--bare", str(bare))
    git(bare, "config", "remote.origin.url", str(checkout))
    git(bare, "config", "remote.origin.uploadpack", f"touch {marker}; git-upload-pack")
    (checkout / "out").symlink_to(outside)
    (checkout / "up").symlink_to("..")
    (checkout / "deep" / "inner" / "x").mkdir(parents=True)
    (checkout / "hop").symlink_to("deep/inner")
    (checkout / "l").symlink_to("deep/inner/x")
    (checkout / "src").mkdir(exist_ok=True)
    (checkout / "src" / "auth.py").write_text("x = 1\n")
    (checkout / "-f").write_text("a file named like an option\n")
    (checkout / ".env").write_text("API_KEY=secret\n")
    (checkout / "secrets.txt").write_text("password\n")
    (checkout / "a\nb").mkdir()
    (checkout / ".gitignore").write_text(".env\nsecrets.txt\n")


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    from helpers import make_repo
    base = tmp_path_factory.mktemp("approve")
    env_backup = dict(os.environ)
    repo = make_repo(base)
    write_plan(repo, [{"id": "auth-api"}, {"id": "other"}])
    ctx(repo, "setup", check=True)
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the repository\n")
    plant_hostile_content(repo, outside, base / "MARK")
    plant_hostile_content(repo / "worktrees" / "auth-api", outside, base / "MARK")
    (repo / "l2").symlink_to("src/a/b")
    (repo / "src" / "a" / "b").mkdir(parents=True)
    os.environ.clear()
    os.environ.update(env_backup)
    return repo


def run_hook(command: str, cwd: Path, argv=HOOK, env=None) -> str:
    event = {"session_id": "s", "transcript_path": "/nonexistent", "cwd": str(cwd), "hook_event_name": "PreToolUse",
             "tool_name": "Bash", "tool_input": {"command": command, "description": "d"}, "tool_use_id": "t1"}
    proc = subprocess.run(argv, input=json.dumps(event), capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    return proc.stdout


def decide_all(repo: Path):
    """Every corpus case through decide(), the function the hook process calls."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from ctx.hooks.approve import decide
    wt = repo / "worktrees" / "auth-api"
    results = []
    for verdict, where, command, why in load_corpus():
        command = command.replace("{root}", str(repo)).replace("{wt}", str(wt))
        cwd = wt if where == "wt" else repo
        results.append((verdict, command, why, decide(command, str(cwd)), cwd))
    return results


@pytest.fixture(scope="module")
def verdicts(planned):
    return decide_all(planned)


def test_the_hook_process_decides_as_the_function_does(verdicts):
    """A fifth of the corpus, every kind of case, through python3 -S run.py with JSON on stdin."""
    sample = verdicts[::5]
    env = {k: v for k, v in os.environ.items() if k != "CDPATH"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda c: run_hook(c[1], c[4], env=env), sample))
    for (verdict, command, why, reason, cwd), out in zip(sample, answers):
        got = json.loads(out)["hookSpecificOutput"]["permissionDecisionReason"] if out else None
        assert got == reason, (command, why)


def test_corpus_size_and_distinct_cases():
    cases = load_corpus()
    hostile = [c for c in cases if c[0] == "deny"]
    benign = [c for c in cases if c[0] == "allow"]
    assert len(hostile) >= 200 and len(benign) >= 100
    assert len({(c[1], c[2]) for c in cases}) == len(cases), "every case is a distinct command"


def test_no_hostile_command_is_approved(verdicts):
    approved = [(cmd, why) for verdict, cmd, why, reason, _ in verdicts if verdict == "deny" and reason]
    assert approved == []


def test_benign_commands_are_approved(verdicts):
    results = [(cmd, why, reason) for verdict, cmd, why, reason, _ in verdicts if verdict == "allow"]
    refused = [(cmd, why) for cmd, why, reason in results if reason is None]
    rate = 1 - len(refused) / len(results)
    print(f"\nbenign approval rate: {rate:.1%} ({len(results) - len(refused)} of {len(results)}); refused: {refused}")
    assert rate >= 0.95


def test_whole_process_answers_as_claude_code_expects(planned):
    out = json.loads(run_hook("git status", planned))
    assert out["hookSpecificOutput"]["hookEventName"] == "PreToolUse"
    assert out["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert out["hookSpecificOutput"]["permissionDecisionReason"]
    assert run_hook("git status; touch /tmp/pwned", planned) == ""  # no decision: never "deny"


def test_runs_with_no_dependencies_importable(planned, tmp_path):
    """The hooks.json command works with a bare python3: no site-packages, no ctx install."""
    hooks = json.loads((ROOT / "hooks" / "hooks.json").read_text())["hooks"]
    command = hooks["PreToolUse"][0]["hooks"][0]["command"].replace("${CLAUDE_PLUGIN_ROOT}", str(ROOT))
    event = json.dumps({"cwd": str(planned), "tool_name": "Bash", "tool_input": {"command": "git log --oneline"}})
    proc = subprocess.run(["bash", "-c", command], input=event, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"}, cwd=tmp_path)
    assert proc.returncode == 0 and '"allow"' in proc.stdout, proc.stderr
    via_cli = ctx(planned, "hook", "pre-tool-use", input=event)
    assert via_cli.stdout == proc.stdout


def test_switch_set_by_ctx_approve_plan_always_off(planned, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    git(outside, "init", "-q")
    wt = planned / "worktrees" / "auth-api"
    try:
        assert run_hook("git status", outside) == ""  # no plan in that repository
        assert run_hook("git status", planned / "worktrees") == ""  # not a task worktree
        ctx(planned, "approve", "off", check=True)
        assert run_hook("git status", planned) == ""
        assert run_hook("git status", wt) == ""
        ctx(wt, "approve", "always", check=True)  # from a worktree: the same switch
        assert '"allow"' in run_hook("git status", planned)
        assert run_hook("git commit --no-verify -m x", wt) == ""
        ctx(planned, "approve", "--no-verify", check=True)
        assert '"allow"' in run_hook("git commit --no-verify -m x", wt)
        shown = json.loads(ctx(wt, "approve", "--json", check=True).stdout)
        assert shown == {"auto_approve": "always", "allow_no_verify": "true",
                         "file": str(planned / ".git" / "ctx" / "approve")}
    finally:
        ctx(planned, "approve", "plan", "--verify", check=True)
    assert run_hook("git commit --no-verify -m x", wt) == ""
    assert '"allow"' in run_hook("git status", planned)


def test_ctx_approve_rejects_an_unknown_mode(planned):
    proc = ctx(planned, "approve", "sometimes")
    assert proc.returncode == 2 and "sometimes" in proc.stderr and "Traceback" not in proc.stderr


def shipped_repository(tmp_path: Path, config: str | None = None) -> Path:
    """A clone of a repository whose commits carry .parallel/ (a plan in progress, maybe settings)."""
    from helpers import make_repo
    upstream = make_repo(tmp_path / "upstream")
    write_plan(upstream, [{"id": "auth-api"}])
    if config is not None:
        (upstream / ".parallel" / "config.yaml").write_text(config)
    git(upstream, "add", "-f", ".parallel")
    git(upstream, "commit", "-q", "-m", "ship a plan")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    return clone


def test_a_plan_shipped_in_the_repository_turns_nothing_on(tmp_path):
    clone = shipped_repository(tmp_path)
    assert (clone / ".parallel" / "plans" / "plan.yaml").exists()
    assert run_hook("git status", clone) == ""
    git(clone, "rm", "-r", "-q", "--cached", ".parallel")  # the same files, now written by the user, untracked
    assert '"allow"' in run_hook("git status", clone)


def test_shipped_settings_can_neither_switch_on_nor_widen(tmp_path):
    clone = shipped_repository(tmp_path, "auto_approve: always\nallow_no_verify: true\n")
    git(clone, "rm", "-r", "-q", "--cached", ".parallel")
    assert run_hook("git commit --no-verify -m x", clone) == ""
    proc = ctx(clone, "setup")
    assert proc.returncode == 2
    assert "auto_approve: no longer read from here" in proc.stderr and "ctx approve" in proc.stderr


def test_shipped_settings_under_an_index_of_version_4(tmp_path):
    clone = shipped_repository(tmp_path)
    git(clone, "update-index", "--index-version", "4")
    assert run_hook("git status", clone) == ""


def test_a_150000_character_command_is_refused_at_once(planned):
    """The reader caps its input, and its work grows linearly below the cap (counted in traced lines)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from ctx.hooks import shell
    from ctx.hooks.approve import decide
    huge = "git status " + "a" * 150_000
    event = json.dumps({"cwd": str(planned), "tool_name": "Bash", "tool_input": {"command": huge}})
    proc = subprocess.run(HOOK, input=event, capture_output=True, text=True, timeout=60)  # a guard, not a measure
    assert proc.returncode == 0 and proc.stdout == ""
    assert decide(huge, str(planned)) is None
    with pytest.raises(shell.Unsafe, match="longer than"):
        shell.split(huge)

    def steps(command: str) -> int:
        count = 0

        def tracer(frame, event, arg):
            nonlocal count
            if frame.f_code.co_filename == shell.__file__:
                count += 1
            return tracer
        sys.settrace(tracer)
        try:
            shell.split(command)
        except shell.Unsafe:
            pass
        finally:
            sys.settrace(None)
        return count

    for unit in ('"a" ', "'b'\\c ", 'x' * 9 + " ", "\"$(cat <<'E'\n(a)\nE\n)\" "):
        small, large = steps("git log " + unit * 150), steps("git log " + unit * 600)
        assert large < 4.5 * small, unit


def test_hostile_content_is_real(planned, tmp_path):
    """Run the refused commands for real: each does what the corpus says it would."""
    wt = planned / "worktrees" / "auth-api"
    mark = planned.parent / "MARK"
    env = dict(os.environ)
    subprocess.run(["bash", "-c", "cd vendor/lib && git status"], cwd=wt, capture_output=True, env=env)
    assert mark.exists(), "a nested repository's core.fsmonitor runs on git status"
    mark.unlink()
    subprocess.run(["bash", "-c", "git -C evil.git fetch origin"], cwd=wt, capture_output=True, env=env)
    assert mark.exists(), "a nested bare repository's upload-pack runs on git fetch"
    mark.unlink()
    copy = tmp_path / "copy"
    git(tmp_path, "clone", "-q", str(planned), str(copy))
    (copy / "-f").write_text("x\n")
    (copy / ".gitignore").write_text("secrets.txt\n")
    (copy / "secrets.txt").write_text("password\n")
    subprocess.run(["bash", "-c", "git add *"], cwd=copy, capture_output=True)
    assert "secrets.txt" in git(copy, "diff", "--cached", "--name-only"), "git add * force-adds an ignored file"
    leak = subprocess.run(["git", "diff", "/etc/hostname", "/dev/null"], cwd=wt, capture_output=True, text=True)
    assert leak.stdout, "git diff with two paths outside prints a file"
    for command in ("cd vendor/lib && git status", "git -C evil.git fetch origin", "git add *", "git diff /etc/hostname /dev/null"):
        assert run_hook(command, wt) == ""


def test_no_plan_in_progress_means_no_approval(repo):
    write_plan(repo, [{"id": "a"}], status="completed")
    assert run_hook("git status", repo) == ""


@pytest.mark.parametrize("stdin", ["", "not json", "[]", '{"tool_name": "Bash"}', '{"tool_name": "Bash", "tool_input": 3}'])
def test_bad_input_gives_no_decision_and_exit_0(stdin, tmp_path):
    proc = subprocess.run(HOOK, input=stdin, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""


def test_relative_cd_is_not_trusted_when_cdpath_is_set(planned):
    event = {"cwd": str(planned), "tool_name": "Bash", "tool_input": {"command": "cd worktrees/auth-api && git status"}}
    plain = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True)
    assert '"allow"' in plain.stdout
    redirected = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True,
                                env=dict(os.environ, CDPATH="/tmp"))
    assert redirected.stdout == ""


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_index_reader_agrees_with_git_ls_files(repo, version):
    sys.path.insert(0, str(ROOT / "scripts"))
    from ctx.hooks import index
    for n in range(12):  # names of every length around the 8-byte padding, and shared prefixes for version 4
        (repo / f".parallel-{'x' * n}").write_text("x\n")
    (repo / "zz-intent.py").write_text("x\n")
    git(repo, "add", ".")
    git(repo, "add", "-N", "zz-intent.py")  # an extended flag (version 3)
    git(repo, "update-index", "--index-version", version)
    gitdir = str(repo / ".git")
    assert not index.tracks(gitdir, ".parallel/")
    assert index.tracks(gitdir, "zz-intent")
    (repo / ".parallel").mkdir()
    (repo / ".parallel" / "plan.yaml").write_text("x\n")
    git(repo, "add", "-f", ".parallel")
    git(repo, "update-index", "--index-version", version)
    assert ".parallel/plan.yaml" in git(repo, "ls-files")
    assert index.tracks(gitdir, ".parallel/")


def test_an_index_the_reader_cannot_be_sure_of_counts_as_tracked(repo):
    sys.path.insert(0, str(ROOT / "scripts"))
    from ctx.hooks import index
    git(repo, "update-index", "--split-index")
    assert index.tracks(str(repo / ".git"), ".parallel/")
    (repo / ".git" / "index").write_bytes(b"DIRC\x00\x00\x00\x09")
    assert index.tracks(str(repo / ".git"), ".parallel/")
