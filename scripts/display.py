"""Progress of a run: redrawn lines on a terminal, plain event lines anywhere else."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

_COLOURS = {"running": "\033[36m", "completed": "\033[32m", "blocked": "\033[31m", "waiting": "\033[2m",
            "merged": "\033[32m", "setup": "\033[33m", "testing": "\033[35m"}


@dataclass
class Row:
    task_id: str
    state: str = "waiting"
    started: float | None = None
    ended: float | None = None
    last_line: str = ""


@dataclass
class Display:
    ids: list[str]
    stream: object = field(default_factory=lambda: sys.stdout)
    live: bool | None = None

    def __post_init__(self):
        self.rows = {i: Row(i) for i in self.ids}
        self.start = time.monotonic()
        if self.live is None:
            self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._drawn = 0

    def _elapsed(self, row: Row) -> str:
        if row.started is None:
            return "    -"
        seconds = (row.ended or time.monotonic()) - row.started
        return f"{seconds:5.1f}s"

    def event(self, task_id: str, state: str, message: str = "") -> None:
        row = self.rows[task_id]
        if state == "running" and row.started is None:
            row.started = time.monotonic()
        if state in ("completed", "blocked"):
            row.ended = time.monotonic()
        row.state = state
        if message:
            row.last_line = message
        if not self.live:
            stamp = time.monotonic() - self.start
            self.stream.write(f"[{stamp:6.1f}s] {task_id:<20} {state:<10} {message}\n")
            self.stream.flush()
        else:
            self.redraw()

    def output(self, lines: dict[str, str]) -> None:
        """The latest output line of each running task; redraws the live view."""
        for task_id, line in lines.items():
            if line.strip():
                self.rows[task_id].last_line = line.strip()[:200]
        if self.live:
            self.redraw()

    def redraw(self) -> None:
        if not self.live:
            return
        width = 100
        lines = []
        done = sum(r.state in ("completed", "merged", "blocked") for r in self.rows.values())
        lines.append(f"ctx run: {done}/{len(self.rows)} finished, {time.monotonic() - self.start:.1f}s")
        for row in self.rows.values():
            colour = _COLOURS.get(row.state, "")
            text = f"  {row.task_id:<20} {colour}{row.state:<10}\033[0m {self._elapsed(row)}  {row.last_line}"
            lines.append(text[: width + 10])
        if self._drawn:
            self.stream.write(f"\033[{self._drawn}F")
        for line in lines:
            self.stream.write("\033[2K" + line + "\n")
        self._drawn = len(lines)
        self.stream.flush()
