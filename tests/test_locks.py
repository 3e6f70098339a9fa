"""ctx's cross-process locks: one holder at a time, named to whoever waits, free the moment the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ctx import locks
from ctx.errors import CtxError
from ctx.workspace import Workspace

HOLD = """
import sys, time
from ctx import locks
from ctx.workspace import Workspace
with locks.lock(Workspace.find(sys.argv[1]), "merge", record=True):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_lock_waits_for_its_holder_names_it_and_is_free_once_the_holder_is_killed(repo):
    ws = Workspace.find(repo)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(repo)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locks.held(ws, "merge")
        started = time.monotonic()
        with pytest.raises(CtxError) as refused:
            with locks.lock(ws, "merge", timeout=0.3, record=True):
                pytest.fail("two holders at once")
        assert time.monotonic() - started >= 0.3
        assert f"by pid {holder.pid}" in refused.value.message and "still locked" in refused.value.message
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # no release, no clean-up: the kernel frees the lock
        holder.wait()
    assert not locks.held(ws, "merge")
    with locks.lock(ws, "merge", timeout=1):
        assert locks.held(ws, "merge")
    assert not locks.held(ws, "merge")


def test_threads_of_one_process_take_turns(repo):
    ws = Workspace.find(repo)
    inside, overlaps = [], []

    def work() -> None:
        for _ in range(20):
            with locks.lock(ws, "status", timeout=10):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not overlaps and not locks.held(ws, "status")


def test_a_lock_file_that_cannot_be_opened_is_a_clear_error(repo):
    ws = Workspace.find(repo)
    ws.locks.mkdir(parents=True)
    (ws.locks / "git.lock").mkdir()  # not a file
    with pytest.raises(CtxError) as refused:
        with locks.lock(ws, "git", timeout=1):
            pass
    assert "git.lock: cannot open the lock file" in refused.value.message
