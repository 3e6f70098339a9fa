"""The auto-approval switch: where it lives (under the git folder, out of any clone's reach) and its values."""

from __future__ import annotations

from pathlib import Path

from . import git
from .errors import data_error
from .hooks import state
from .workspace import atomic_write

MODES = state.APPROVAL_CHOICES["auto_approve"]


def settings_file(cwd: Path | str) -> Path:
    """<main checkout>/.git/ctx/approve, the file the PreToolUse hook reads."""
    root = git.main_checkout(cwd)
    if not (root / ".git").is_dir():
        raise data_error(f"{root}: its .git is not a folder, so the approval hook cannot read a switch there",
                         hint="auto-approval stays off in this checkout")
    return root / ".git" / state.APPROVAL_FILE


def read(cwd: Path | str) -> dict[str, str]:
    return state.settings(str(git.main_checkout(cwd)))


def write(cwd: Path | str, mode: str | None, allow_no_verify: bool | None) -> dict[str, str]:
    """Set the mode and/or the --no-verify permission; return the settings now in force."""
    if mode is not None and mode not in MODES:
        raise data_error(f"approve: mode must be one of {', '.join(MODES)}, not {mode!r}")
    path = settings_file(cwd)
    found = read(cwd)
    if mode is not None:
        found["auto_approve"] = mode
    if allow_no_verify is not None:
        found["allow_no_verify"] = "true" if allow_no_verify else "false"
    atomic_write(path, "".join(f"{key} = {value}\n" for key, value in found.items()))
    return found
