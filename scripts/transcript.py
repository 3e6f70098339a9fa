"""Claude Code session transcripts: finding one, and reading the model's own words from it."""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Iterator

from .errors import data_error

SESSION_ENV = "CLAUDE_CODE_SESSION_ID"
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def config_dir() -> Path:
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(env).expanduser() if env else Path.home() / ".claude"


def encode_project(cwd: Path) -> str:
    """The folder name Claude Code gives a working directory under projects/."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def locate(*, transcript: str | None, session: str | None, cwd: Path) -> Path:
    """The transcript to read: --transcript, else --session, else this session (never the newest file)."""
    if transcript:
        path = Path(transcript).expanduser()
        if not path.is_file():
            raise data_error(f"--transcript: {path}: file not found")
        return path
    session = session or os.environ.get(SESSION_ENV)
    if not session:
        raise data_error(f"no transcript to read: {SESSION_ENV} is not set",
                         hint="inside Claude Code it is set for you; elsewhere pass --session ID or --transcript PATH")
    if not _SESSION_ID.match(session):
        raise data_error(f"--session: '{session}' is not a session id")
    projects = config_dir() / "projects"
    name = f"{session}.jsonl"
    for folder in (cwd, *cwd.parents):
        candidate = projects / encode_project(folder) / name
        if candidate.is_file():
            return candidate
    matches = sorted(projects.glob(f"*/{name}")) if projects.is_dir() else []
    if matches:
        return matches[0]
    raise data_error(f"no transcript for session {session} under {projects}",
                     hint="pass --transcript PATH to read a transcript file directly")


def assistant_messages(path: Path, marker: str | re.Pattern[str] | None = None) -> Iterator[tuple[str, str]]:
    """(message id, joined text) for the main conversation's assistant messages, oldest first.

    Claude Code writes one line per content block, several lines sharing a message.id; their text
    blocks are joined in order. Sidechain (subagent) records and every non-assistant record are
    ignored. With `marker` (a string, or a pattern to search for), only messages whose text contains
    it are yielded, and lines are JSON-decoded only when they can belong to such a message, so memory
    stays flat.
    """
    open_messages: OrderedDict[str, list[str]] = OrderedDict()
    try:
        fh = open(path, "r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise data_error(f"{path}: cannot read ({exc.strerror})") from None
    with fh:
        for line in fh:
            if '"assistant"' not in line or '"text"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("type") != "assistant" or record.get("isSidechain"):
                continue
            message = record.get("message")
            if not isinstance(message, dict):
                continue
            texts = [b.get("text", "") for b in message.get("content") or []
                     if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)]
            if not texts:
                continue
            mid = str(message.get("id") or record.get("uuid") or "")
            parts = open_messages.pop(mid, [])
            parts.extend(texts)
            open_messages[mid] = parts
            while len(open_messages) > 32:
                open_messages.popitem(last=False)
            text = "\n".join(parts)
            if marker is None or (marker in text if isinstance(marker, str) else marker.search(text)):
                yield mid, text
