"""Runs one agent (or test) command on behalf of `ctx run` and makes sure it never outlives ctx.

Usage: python3 agent_guard.py EXIT_FILE PARENT_PID -- COMMAND...

Started by ctx as the leader of a new process group; the command runs in that same group. When ctx
dies, even by SIGKILL, the kernel sends this guard SIGTERM (Linux parent-death signal); the guard
then stops the whole group: SIGTERM, and SIGKILL after a grace period. On SIGTERM, SIGHUP or SIGINT
from anyone it does the same. Whatever happens, it writes EXIT_FILE (JSON: exit, signal, orphaned)
before it exits, so a later `ctx run --resume` knows how the agent ended.

Standard library only, and nothing from ctx: it starts in a few milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE = 3
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _die_with_parent() -> None:
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: ctx's own signal handling still stops the group
        pass


def _json(value) -> str:
    """Numbers, booleans and None as JSON (json itself costs more to import than the guard to run)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _write(path: str, record: dict) -> None:
    """Replace the file whole: a reader sees the old or the new record (a kill cannot tear it)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write("{" + ", ".join(f'"{key}": {_json(value)}' for key, value in record.items()) + "}")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: agent_guard.py EXIT_FILE PARENT_PID -- COMMAND...", file=sys.stderr)
        return 2
    exit_file, parent, command = argv[1], int(argv[2]), argv[4:]
    stopped: dict = {}

    def record(**fields) -> None:
        _write(exit_file, {"signal": stopped.get("signal"), "orphaned": stopped.get("orphaned", False),
                           "at": time.time(), **fields})

    def on_stop(signum, frame) -> None:
        if stopped:
            return
        stopped.update(signal=signum, orphaned=os.getppid() != parent)
        try:
            os.killpg(0, signal.SIGTERM)  # the whole group; this guard ignores the echo
        except OSError:
            pass
        signal.alarm(GRACE)

    def on_grace_over(signum, frame) -> None:
        record(exit=None, forced=True)
        os.killpg(0, signal.SIGKILL)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_stop)
    signal.signal(signal.SIGALRM, on_grace_over)
    _die_with_parent()
    if os.getppid() != parent:  # ctx died before the parent-death signal was armed
        stopped.update(signal=int(signal.SIGTERM), orphaned=True)
        record(exit=None)
        return 1
    try:
        child = os.posix_spawnp(command[0], command, os.environ,
                                setsigdef=(*STOP_SIGNALS, signal.SIGALRM))
    except OSError as exc:
        print(f"ctx: cannot start {command[0]}: {exc}", file=sys.stderr)
        record(exit=127)
        return 127
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            status = 1 << 8
            break
    code = os.waitstatus_to_exitcode(status)
    signal.alarm(0)
    record(exit=code)
    if stopped.get("orphaned") or os.getppid() != parent:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:  # nobody is left to clean up after the agent: take what it started along
            os.killpg(0, signal.SIGKILL)
        except OSError:
            pass
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
