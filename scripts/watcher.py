"""The pool's watcher: it vouches that a parked worktree is as it was parked, so that setup need not
look at each of the worktree's files to know.

That look is a stat of every tracked file, about 30 ms at 12,000 files here, for each parked worktree
setup takes: it grows with the repository, not with what changed. Instead, a second after a
worktree is parked, a watcher process watches the worktree's folders and git's admin folder for it
with inotify, and then checks the worktree once itself. Setup asks it over a Unix socket. "clean"
means no change since that check. At any change, at an overflow of the kernel's queue and wherever it
cannot watch, the watcher drops the worktree. Setup then checks the files itself, as it does
wherever no watcher answers: not Linux, or the watcher was killed.

Not seen: a write through a hard link made from outside the worktree. git makes none, and an agent
is kept to its own worktree.

One watcher per repository, on an abstract socket named after its git folder, that talks only to
processes of its own user. It exits when it vouches for no worktree, and after a day without a
request. Standard library only: ctx starts this file as a script, apart from its package.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from pathlib import Path

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW = 0x400, 0x800, 0x4000
IN_ONLYDIR, IN_DONT_FOLLOW = 0x1000000, 0x2000000
CHANGES = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
           | IN_DELETE_SELF | IN_MOVE_SELF)
IDLE_EXIT = 24 * 3600  # seconds without a request after which the watcher exits
# A worktree is watched (and checked) this long after it was parked. A run's next setup takes a
# worktree parked a moment before, and checks it itself at the same cost: watching it too would only
# add work to the run's busiest moment.
WATCH_AFTER = 1.0
MAX_FOLDERS = 50_000  # a worktree with more folders is not watched (inotify's watches are a shared budget)
REPLY_WAIT = 2.0  # seconds a client waits for an answer
# What the watcher's git needs of ctx's environment, and nothing else: it lives on after ctx, and
# should hold no token or key that was meant for an agent.
KEPT = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "XDG_CONFIG_HOME", "LANG")


def address(common: Path) -> bytes:
    """The abstract socket of a repository's watcher: by user and git folder. Two repositories that
    came to share a name would only send each other requests that are answered "no"."""
    import zlib
    key = zlib.crc32(os.fsencode(os.path.realpath(common)))
    return f"\0ctx-pool-watcher-{os.getuid()}-{key:08x}".encode()


# ---- the client side, in ctx's own process -------------------------------------------------

def _ask(common: Path, request: list[str], wait: bool = True) -> bytes | None:
    """Send one request; its answer (b"" when not waited for), or None when no watcher of this user
    listens."""
    if not sys.platform.startswith("linux"):
        return None
    import socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(REPLY_WAIT)
            sock.connect(address(common))
            if _peer_uid(sock) != os.getuid():
                return None
            sock.sendall(b"\0".join(os.fsencode(part) for part in request))
            if not wait:
                return b""
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(64):
                answer += chunk
            return answer.strip()
    except OSError:
        return None


def _peer_uid(sock) -> int:
    import socket
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def watch(common: Path, slot: Path, head: str) -> None:
    """Have the repository's watcher watch a worktree just parked at commit `head`, starting the
    watcher when none runs. Returns at once; the watcher checks the worktree on its own."""
    request = ["watch", head, os.path.realpath(slot)]
    if not sys.platform.startswith("linux") or _ask(common, request, wait=False) is not None:
        return
    env = {k: v for k, v in os.environ.items() if k in KEPT or k.startswith(("LC_", "GIT_CONFIG"))}
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), str(common)],
                                cwd=str(common), env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        proc.stdin.write(b"\0".join(os.fsencode(part) for part in request))
        proc.stdin.close()
    except OSError:
        return  # no watcher: setup checks this worktree's files itself
    proc.returncode = 0  # it outlives this process by design: not a child to wait for


def vouched(common: Path, slot: Path, head: str) -> bool:
    """True when the watcher saw no change in the parked worktree since it checked it at `head`.
    The watcher forgets the worktree either way: setup is about to take it, or to check it itself.
    One parked under WATCH_AFTER ago is not watched yet: not asked about (git's admin folder for it
    was written when it was moved into the pool)."""
    gitdir = admin(str(slot))
    try:
        if gitdir is None or time.time() - os.stat(os.path.join(gitdir, "gitdir")).st_mtime < WATCH_AFTER:
            return False
    except OSError:
        return False
    return _ask(common, ["take", head, os.path.realpath(slot)]) == b"clean"


# ---- the watcher process ------------------------------------------------------------------

class _Slot:
    def __init__(self, path: str, head: str):
        import threading
        self.path, self.head = path, head
        self.wds: set[int] = set()
        self.gitdir = ""  # git's admin folder for it, when watched
        self.folders: tuple = ()  # the worktree's and its admin folder's identity when watched
        self.checked = threading.Event()  # its own check is done; `clean` says how it came out
        self.clean = False


def _identity(*folders: str) -> tuple:
    """Device and inode of each folder: whether a path still names the folder that was watched (a
    parent renamed away and another folder put in its place sends no event to the watches below)."""
    return tuple((st.st_dev, st.st_ino) for st in map(os.stat, folders))


def admin(worktree: str) -> str | None:
    """git's admin folder for a worktree, from the worktree's `.git` file."""
    try:
        text = Path(worktree, ".git").read_text()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    return os.path.join(worktree, text.removeprefix("gitdir:").strip())


class Watcher:
    """The watches, and the worktrees they vouch for. One thread reads requests and events; another
    checks each newly watched worktree, so that a request is answered while a check runs."""

    def __init__(self):
        import ctypes
        import queue
        import threading
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.slots: dict[str, _Slot] = {}
        self.due: dict[str, tuple[float, str]] = {}  # path -> (when to start watching, head)
        self.owner: dict[int, _Slot] = {}  # watch descriptor -> the worktree it belongs to
        self.env = dict(os.environ, LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
        self.to_check: queue.SimpleQueue = queue.SimpleQueue()
        self.wake, self._woken = os.pipe()  # the checking thread tells the other one a check is done
        os.set_blocking(self.wake, False)
        threading.Thread(target=self._checker, daemon=True).start()

    # inotify
    def _add(self, slot: _Slot, folder: str) -> bool:
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(folder), CHANGES | IN_ONLYDIR | IN_DONT_FOLLOW)
        if wd < 0:
            return False
        if self.owner.get(wd, slot) is not slot:  # one folder in two worktrees: it is neither's alone
            return False
        self.owner[wd] = slot
        slot.wds.add(wd)
        return True

    def drop(self, slot: _Slot) -> None:
        if self.slots.get(slot.path) is slot:
            del self.slots[slot.path]
        for wd in slot.wds:
            if self.owner.get(wd) is slot:
                del self.owner[wd]
                self.libc.inotify_rm_watch(self.fd, wd)
        slot.wds.clear()

    def drain(self) -> None:
        """Read every event the kernel has queued; a worktree with any is dropped."""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset + 16 <= len(data):
                wd, mask, _cookie, size = struct.unpack_from("iIII", data, offset)
                offset += 16 + size
                if mask & IN_Q_OVERFLOW:
                    for slot in list(self.slots.values()):
                        self.drop(slot)
                    continue
                slot = self.owner.get(wd)
                if slot is not None:
                    self.drop(slot)

    # requests
    def start_watching(self, head: str, path: str) -> None:
        slot = _Slot(path, head)
        self.slots[path] = slot
        if self._watch_tree(slot):
            self.to_check.put(slot)
        else:
            self.drop(slot)

    def _checker(self) -> None:
        while True:
            slot = self.to_check.get()
            slot.clean = self._verify(slot)
            slot.checked.set()
            os.write(self._woken, b".")

    def settle(self) -> None:
        """Drop the worktrees whose own check found a change."""
        try:
            os.read(self.wake, 4096)
        except BlockingIOError:
            pass
        for slot in list(self.slots.values()):
            if slot.checked.is_set() and not slot.clean:
                self.drop(slot)

    def _watch_tree(self, slot: _Slot) -> bool:
        gitdir = admin(slot.path)
        if gitdir is None or not self._add(slot, gitdir):
            return False
        slot.gitdir = gitdir
        try:
            slot.folders = _identity(slot.path, gitdir)
        except OSError:
            return False
        pending = [slot.path]
        while pending:  # a folder is watched before it is listed: one made later is an event
            folder = pending.pop()
            if len(slot.wds) > MAX_FOLDERS or not self._add(slot, folder):
                return False
            try:
                with os.scandir(folder) as entries:
                    pending.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
            except OSError:
                return False
        return True

    def _verify(self, slot: _Slot) -> bool:
        """The worktree at its head, its index and tracked files as the head has them (the check setup
        makes without a watcher), judged after the watches were set."""
        try:
            if Path(slot.gitdir, "HEAD").read_text().strip() != slot.head:
                return False
            result = subprocess.run(["git", "diff-index", "--quiet", slot.head, "--"], cwd=slot.path,
                                    env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=600)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    def start_due(self) -> float:
        """Start watching the worktrees whose time has come; seconds until the next one's."""
        now = time.monotonic()
        for path, (when, head) in sorted(self.due.items(), key=lambda item: item[1][0]):
            if when <= now:
                del self.due[path]
                self.start_watching(head, path)
        return min((when for when, _ in self.due.values()), default=now + 60) - now

    def take(self, head: str, path: str) -> bool:
        if self.due.pop(path, None) is not None:
            return False  # not watched yet
        slot = self.slots.get(path)
        if slot is None:
            return False
        slot.checked.wait(REPLY_WAIT / 2)  # its own check, when that is still under way
        self.drain()
        if self.slots.get(path) is not slot or not slot.clean:
            return False
        self.drop(slot)
        gitdir = admin(path)
        try:
            same = gitdir is not None and _identity(path, gitdir) == slot.folders
        except OSError:
            return False
        return same and slot.head == head

    def answer(self, request: bytes) -> tuple[bytes, bool]:
        """(reply, whether to exit)."""
        parts = [os.fsdecode(p) for p in request.split(b"\0")]
        if parts[0] == "watch" and len(parts) == 3:
            old = self.slots.get(parts[2])
            if old is not None:
                self.drop(old)
            self.due[parts[2]] = (time.monotonic() + WATCH_AFTER, parts[1])
            return b"ok", False
        if parts[0] == "take" and len(parts) == 3:
            return (b"clean" if self.take(parts[1], parts[2]) else b"no"), False
        if parts[0] == "stop":
            return b"ok", True
        return b"?", False


def _read_all(conn) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def serve(common: str, first: bytes) -> None:
    import selectors
    import socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address(Path(common)))
    except OSError:  # another watcher serves this repository: hand it the request
        listener.close()
        parts = [os.fsdecode(p) for p in first.split(b"\0")]
        if parts[0] == "watch":
            _ask(Path(common), parts)
        return
    listener.listen(16)
    watcher = Watcher()
    if first:
        watcher.answer(first)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(watcher.fd, selectors.EVENT_READ, "events")
    selector.register(watcher.wake, selectors.EVENT_READ, "checked")
    last = time.monotonic()
    while time.monotonic() - last < IDLE_EXIT:
        wait = watcher.start_due()
        if not watcher.slots and not watcher.due:
            break
        for key, _ in selector.select(timeout=max(0.0, min(60.0, wait))):
            if key.data == "events":
                watcher.drain()
                continue
            if key.data == "checked":
                watcher.settle()
                continue
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(REPLY_WAIT)
                try:
                    if _peer_uid(conn) != os.getuid():
                        continue
                    reply, done = watcher.answer(_read_all(conn))
                    conn.sendall(reply)
                except OSError:
                    continue
            last = time.monotonic()
            if done:
                return
    listener.close()


if __name__ == "__main__":
    try:
        serve(sys.argv[1], sys.stdin.buffer.read())
    except (OSError, IndexError):
        sys.exit(1)
