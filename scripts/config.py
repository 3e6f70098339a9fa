"""Per-repository settings in .parallel/config.yaml, with defaults filled in."""

from __future__ import annotations

from typing import Any

from .errors import data_error
from .plan import read_yaml, rel
from .workspace import Workspace

DEFAULTS: dict[str, Any] = {
    "pool_size": 20,
    "jobs": None,
}
CHOICES: dict[str, tuple[str, ...]] = {}
MOVED = {"auto_approve": "ctx approve plan|always|off", "allow_no_verify": "ctx approve --no-verify"}


def load(ws: Workspace) -> dict[str, Any]:
    settings = dict(DEFAULTS)
    if not ws.config_file.exists():
        return settings
    label = rel(ws, ws.config_file)
    raw = read_yaml(ws.config_file, label) or {}
    if not isinstance(raw, dict):
        raise data_error(f"{label}: expected a mapping of settings")
    for key, value in raw.items():
        if key in MOVED:
            raise data_error(f"{label}: {key}: no longer read from here (a repository could ship it)",
                             hint=f"remove the line and run `{MOVED[key]}`")
        if key not in DEFAULTS:
            raise data_error(f"{label}: {key}: unknown setting (known: {', '.join(DEFAULTS)})")
        if key in CHOICES and value not in CHOICES[key]:
            raise data_error(f"{label}: {key}: must be one of {', '.join(CHOICES[key])}, not {value!r}")
        settings[key] = value
    return settings
