"""End-to-end fixtures: the real Claude Code CLI (installed once, pinned) and a scripted endpoint."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import host  # noqa: E402


@pytest.fixture(scope="session")
def claude() -> Path:
    try:
        return host.install()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"the end-to-end tests must run in CI, but Claude Code could not be installed: {exc}")
        pytest.skip(f"Claude Code could not be installed: {exc}")


@pytest.fixture
def home(tmp_path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder
