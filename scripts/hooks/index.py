"""Whether git's index tracks paths under a folder, read from the index file (no git process).

Reads index versions 2, 3 and 4 (prefix-compressed names). Anything it cannot read for certain
(another version, a split index, a truncated file) counts as tracked: the caller then trusts nothing.
"""

from __future__ import annotations

import os
import struct

_FIXED = 40  # ctime, mtime, dev, ino, mode, uid, gid, size: ten 32-bit fields


def _hash_size(gitdir: str) -> int:
    try:
        with open(os.path.join(gitdir, "config"), encoding="utf-8", errors="replace") as fh:
            text = fh.read(65536).lower().replace(" ", "").replace("\t", "")
    except OSError:
        return 20
    return 32 if "objectformat=sha256" in text else 20


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    value = byte & 0x7F
    pos += 1
    while byte & 0x80:
        byte = data[pos]
        value = ((value + 1) << 7) | (byte & 0x7F)
        pos += 1
    return value, pos


def tracks(gitdir: str, prefix: str) -> bool:
    """True when the index in gitdir holds a path starting with prefix (or cannot be read for certain)."""
    try:
        with open(os.path.join(gitdir, "index"), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    want = prefix.encode()
    try:
        signature, version, count = struct.unpack(">4sII", data[:12])
        if signature != b"DIRC" or version not in (2, 3, 4):
            return True
        size = _hash_size(gitdir)
        pos, previous = 12, b""
        for _ in range(count):
            start = pos
            pos += _FIXED + size
            (flags,) = struct.unpack(">H", data[pos:pos + 2])
            pos += 2
            if flags & 0x4000 and version >= 3:
                pos += 2
            if version == 4:
                strip, pos = _varint(data, pos)
                end = data.index(b"\0", pos)
                if strip > len(previous):
                    return True
                name = previous[:len(previous) - strip] + data[pos:end]
                pos = end + 1
            else:
                end = data.index(b"\0", pos)
                name = data[pos:end]
                pos = start + ((end - start) // 8 + 1) * 8
            if name.startswith(want):
                return True
            previous = name
        while pos + 8 <= len(data) - size:
            ext, length = struct.unpack(">4sI", data[pos:pos + 8])
            if ext == b"link":
                return True
            pos += 8 + length
    except (struct.error, ValueError, IndexError):
        return True
    return False
