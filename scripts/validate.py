"""Checks a plan on disk: structure by JSON Schema, then meaning (ids, dependencies, cycles, files)."""

from __future__ import annotations

from dataclasses import dataclass

from .workspace import Workspace


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "field": self.field, "message": self.message}


def problems(ws: Workspace) -> list[Problem]:
    return []
