"""The pool's watcher: it vouches for a parked worktree only while nothing in it changed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ctx, git, write_plan

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def watcher_module():
    from ctx import watcher
    return watcher


def parked(repo, count=2, settle=True):
    """Set up `count` tasks with a file in a folder, merge them, and give back their parked worktrees
    with their commits, once the watcher has checked them."""
    (repo / "src" / "deep").mkdir(parents=True)
    (repo / "src" / "deep" / "mod.py").write_text("VALUE = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "src")
    ids = [f"t{n}" for n in range(count)]
    write_plan(repo, [{"id": i} for i in ids])
    assert ctx(repo, "setup").returncode == 0
    for tid in ids:
        wt = repo / "worktrees" / tid
        (wt / f"{tid}.txt").write_text(tid)
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", tid)
        ctx(repo, "task", "complete", tid, check=True)
    merged = ctx(repo, "merge")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    slots = sorted((repo / "worktrees" / ".pool").iterdir())
    assert len(slots) == count
    if settle:
        time.sleep(1.5)  # a second after parking, the watcher watches each parked worktree and checks it once
    return [(slot, git(slot, "rev-parse", "HEAD")) for slot in slots]


def watchers(repo):
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"watcher.py" in cmdline and str(repo / ".git").encode() in cmdline:
            pids.append(int(entry))
    return pids


def test_an_untouched_parked_worktree_is_vouched_for_once_and_the_watcher_then_exits(repo, monkeypatch):
    w = watcher_module()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "meant-for-agents")
    (first, head), (second, head2) = parked(repo)
    [pid] = watchers(repo)  # one per repository
    assert b"meant-for-agents" not in Path(f"/proc/{pid}/environ").read_bytes()  # it lives on: no secrets
    assert str(repo / "worktrees").encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert w.vouched(repo / ".git", first, head) is True
    assert w.vouched(repo / ".git", first, head) is False  # taken: setup checks it itself from now on
    assert w.vouched(repo / ".git", second, "0" * 40) is False  # not the commit it was parked at
    deadline = time.time() + 5
    while watchers(repo) and time.time() < deadline:
        time.sleep(0.05)
    assert watchers(repo) == []  # it vouches for nothing any more


def test_a_worktree_taken_the_moment_it_was_parked_is_checked_by_setup_and_no_watcher_stays(repo):
    """As in a run, where a task's dependents take its worktree as soon as it is parked: the watcher
    has not watched it yet, setup checks its files, and the watcher then has nothing to watch."""
    [(slot, head)] = parked(repo, count=1, settle=False)
    write_plan(repo, [{"id": "next"}], name="next-plan")
    out = ctx(repo, "setup").stdout
    assert "next" in out and "pooled" in out
    assert git(repo / "worktrees" / "next", "status", "--porcelain") == ""
    deadline = time.time() + 5
    while watchers(repo) and time.time() < deadline:
        time.sleep(0.05)
    assert watchers(repo) == []


@pytest.mark.parametrize("change", ["edit", "edit, mtime put back", "new file", "staged", "chmod",
                                    "folder swapped", "subfolder swapped"])
def test_any_change_in_a_parked_worktree_ends_the_watchers_word_for_it(repo, change):
    w = watcher_module()
    (slot, head), (other, other_head) = parked(repo)
    target = slot / "src" / "deep" / "mod.py"
    if change == "edit":
        target.write_text("VALUE = 2\n")
    elif change == "edit, mtime put back":
        before = target.stat()
        target.write_text("VALUE = 3\n")
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif change == "new file":
        (slot / "src" / "deep" / "new.py").write_text("")
    elif change == "staged":
        subprocess.run(["git", "add", "--chmod=+x", "src/deep/mod.py"], cwd=slot, check=True)
    elif change == "chmod":
        target.chmod(0o755)
    elif change == "folder swapped":  # the pool renamed away and a changed copy put in its place
        pool = slot.parent
        pool.rename(pool.with_name(".pool-old"))
        shutil.copytree(pool.with_name(".pool-old"), pool, symlinks=True)
        target.write_text("VALUE = 4\n")
    elif change == "subfolder swapped":
        (slot / "src").rename(slot / "src-old")
        shutil.copytree(slot / "src-old", slot / "src")
        shutil.rmtree(slot / "src-old")
    assert w.vouched(repo / ".git", slot, head) is False
    if change != "folder swapped":
        assert w.vouched(repo / ".git", other, other_head) is True  # the other worktree is not affected


def test_without_its_watcher_setup_checks_a_parked_worktree_itself(repo):
    [(slot, head)] = parked(repo, count=1)
    for pid in watchers(repo):
        os.kill(pid, signal.SIGKILL)
    (slot / "src" / "deep" / "mod.py").write_text("VALUE = 5\n")  # no one sees this happen
    write_plan(repo, [{"id": "next"}], name="next-plan")
    out = ctx(repo, "setup").stdout
    assert "next" in out and "created" in out  # the changed worktree was not taken
    assert (slot / "src" / "deep" / "mod.py").read_text() == "VALUE = 5\n"
    assert git(repo / "worktrees" / "next", "status", "--porcelain") == ""


def test_setup_takes_the_worktrees_the_watcher_vouches_for_at_the_new_base(repo):
    parked(repo)
    assert len(watchers(repo)) == 1
    write_plan(repo, [{"id": "n0"}, {"id": "n1"}], name="next-plan")
    out = ctx(repo, "setup").stdout
    assert "setup: 2 pooled" in out, out
    for tid in ("n0", "n1"):
        wt = repo / "worktrees" / tid
        assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == f"feature/{tid}"
        assert git(wt, "status", "--porcelain") == ""
        assert (wt / "t0.txt").exists() and (wt / "t1.txt").exists()  # at the new base
    deadline = time.time() + 5
    while watchers(repo) and time.time() < deadline:
        time.sleep(0.05)
    assert watchers(repo) == []  # both taken: it vouches for nothing any more


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to act as another user")
def test_another_user_gets_no_answer_and_cannot_stop_it(repo):
    w = watcher_module()
    [(slot, head)] = parked(repo, count=1)
    where = w.address(repo / ".git")  # the name has this user's id in it; another user can know it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # as another user: ask for the worktree, and ask it to watch a folder
        try:
            os.setgid(65534)
            os.setuid(65534)
            answers = []
            for request in (["take", head, str(slot)], ["stop"]):
                try:
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                        sock.settimeout(2)
                        sock.connect(where)
                        sock.sendall("\0".join(request).encode())
                        sock.shutdown(socket.SHUT_WR)
                        answers.append(sock.recv(64))
                except (BrokenPipeError, ConnectionResetError):  # closed on it, unread
                    answers.append(b"")
            os.write(write, repr(answers).encode())
        except BaseException as exc:
            os.write(write, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as fh:
        assert fh.read() == "[b'', b'']"  # the connection is closed unanswered
    assert w.vouched(repo / ".git", slot, head) is True  # still vouched for: no one else took it
