"""A stable block of free TCP ports per task, so parallel dev servers do not collide."""

from __future__ import annotations

import socket
import zlib

BLOCK = 10
FIRST = 20000
BLOCKS = 4000  # 20000..59999


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def assign(task_id: str, taken: set[int] = frozenset()) -> int:
    """The first port of a free block for task_id: derived from the id, so it is the same every run."""
    start = zlib.crc32(task_id.encode()) % BLOCKS
    for step in range(BLOCKS):
        base = FIRST + ((start + step) % BLOCKS) * BLOCK
        if base in taken:
            continue
        if all(_free(p) for p in range(base, base + BLOCK)):
            return base
    raise OSError("no free block of ports between 20000 and 59999")


def env_text(base: int) -> str:
    lines = [f"CTX_PORT={base}", f"CTX_PORT_RANGE={base}-{base + BLOCK - 1}"]
    lines += [f"CTX_PORT_{n}={base + n}" for n in range(BLOCK)]
    return "\n".join(lines) + "\n"


def read(path) -> int | None:
    try:
        for line in open(path):
            if line.startswith("CTX_PORT="):
                return int(line.split("=", 1)[1])
    except (OSError, ValueError):
        pass
    return None
