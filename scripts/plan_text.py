"""A plan as a model writes it in one message: one normalisation step, then a strict reading.

The normalisation step rewrites, outside code fences only and one line for one line (line numbers
do not change), every accepted spelling to the canonical one:

- the type line, `**Type:** Plan`: the colon inside or outside the emphasis, `*`, `**`, `_` or `__`
  emphasis or none (`**Type**: Plan`, `*Type:* Plan`, `__Type__: Plan`, `Type: Plan`);
- a task heading, `### Task <id>: <name>`: levels `##` to `####`, and `:`, ` - `, `–` or `—`
  between the id and the name (`## Task auth-api — Auth API`).

The yaml block may be fenced as `yaml` or `yml`. The canonical text is then read strictly; what is
ambiguous is refused: two plans in one message, a task in the yaml block without a section, a
section without a task, a task section before the yaml block. Headings inside code fences are never
sections. Every refusal quotes the line where reading stopped, or names the part that is missing,
and its hint shows the expected form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import yaml

from .errors import CtxError, data_error

TYPE_LINE = "**Type:** Plan"
HEADING = "### Task <id>: <name>"
TASK_FORM = "a task in the yaml block looks like: - {id: auth-api, name: Auth API, priority: high, dependencies: []}"
FORM = (f"expected form: a line '{TYPE_LINE}', then one ```yaml block holding 'metadata: {{name: ...}}' "
        f"and 'tasks:' (- {{id, name, priority, dependencies}}), then one '{HEADING}' section per task")

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)")
_EMPHASIS = ("**", "__", "*", "_", "")
_TYPE_FORMS = sorted({form for e in map(re.escape, _EMPHASIS)
                      for form in (rf"{e}Type\s*:{e}\s*Plan", rf"{e}Type{e}\s*:\s*Plan", rf"{e}Type\s*:\s*Plan{e}")})
_TYPE_VARIANT = re.compile(r"^\s{0,3}(?:" + "|".join(_TYPE_FORMS) + r")\s*$", re.IGNORECASE)
# Every accepted type line contains this; a cheap test before a message is read line by line.
TYPE_ANYWHERE = re.compile(r"type[\W_]{0,3}\s*:[\W_]{0,3}\s*plan", re.IGNORECASE)
_TYPE_NEAR = re.compile(r"^[\W_]*type[\W_]*:[\W_]*plan\b", re.IGNORECASE)
_HEADING_VARIANT = re.compile(
    r"^\s{0,3}#{2,4}\s+Task\s+([A-Za-z0-9][A-Za-z0-9._-]*)(?:\s*:|\s+-|\s*[–—])\s*(\S.*?)\s*$", re.IGNORECASE)
_TASK_HEADING = re.compile(r"^### Task (\S+): (.*)$")
_TASK_MENTION = re.compile(r"^\s{0,3}(?:#+\s*)?[*_]*Task\b", re.IGNORECASE)


@dataclass
class PlanText:
    """What one message says: the yaml block's data and the task sections, with where each was."""

    data: dict[str, Any]
    sections: dict[str, str]
    lines: list[str]  # as written
    heading_at: dict[str, int]  # task id -> index of its heading line
    label: str
    yaml_at: int = 0  # index of the yaml block's opening fence
    task_at: tuple[int, ...] = ()  # index of the line where each entry of 'tasks' starts

    def quote(self, index: int) -> str:
        return quote(self.lines, index)

    def task_error(self, n: int, message: str, hint: str = TASK_FORM) -> CtxError:
        """A refusal about the n-th task of the yaml block, quoting the line where it starts."""
        where = self.quote(self.task_at[n]) if n < len(self.task_at) else self.quote(self.yaml_at)
        return data_error(f"{self.label}: tasks[{n}] at {where}: {message}", hint=hint)

    def invalid(self, file: str, field: str, message: str) -> CtxError:
        """A refusal for what plan validation found, quoting the task's line in the yaml block."""
        ids = [str(t.get("id")) if isinstance(t, dict) else "" for t in self.data["tasks"]]
        m = re.match(r"tasks\[(\d+)\]\.?(.*)", field)
        if m:
            rest = f"{m.group(2)}: " if m.group(2) else ""
            return self.task_error(int(m.group(1)), rest + message)
        named = re.search(r"(?:^|/)tasks/([^/]+)\.md$", file) or re.match(r"dependency cycle: (\S+)", message)
        if named and named.group(1) in ids:
            if message.startswith("dependency cycle"):
                return self.task_error(ids.index(named.group(1)), message,
                                       hint="dependencies must not form a cycle: drop one of them")
            return self.task_error(ids.index(named.group(1)), f"{field}: {message}" if field else message)
        field = f"{field}: " if field else ""
        return data_error(f"{self.label}: the plan at {self.quote(self.yaml_at)} is not valid: {field}{message}",
                          hint=FORM)

    def missing_section(self, task_id: str) -> CtxError:
        """The refusal for a task of the yaml block with no section, pointing at a near miss if any."""
        canonical = f"### Task {task_id}: <name>"
        word = re.compile(rf"(?<![A-Za-z0-9._-]){re.escape(task_id)}(?![A-Za-z0-9_-])")
        for i, line, fenced in lines_outside_fences(self.lines):
            if not fenced and _TASK_MENTION.match(line) and word.search(line):
                return data_error(f"{self.label}: {self.quote(i)} is not a task heading ctx reads",
                                  hint=f"write it as '{canonical}' (levels ## to ####; ':', ' - ', '–' or '—' "
                                       "between id and name)")
        return data_error(f"{self.label}: task '{task_id}' is listed in the yaml block but has no "
                          f"'{canonical}' section", hint=FORM)

    def extra_section(self, task_id: str) -> CtxError:
        listed = ", ".join(str(t.get("id")) for t in self.data["tasks"] if isinstance(t, dict)) or "none"
        return data_error(f"{self.label}: {self.quote(self.heading_at[task_id])} names no task of the yaml "
                          f"block (its tasks: {listed})",
                          hint="add the task to the yaml block's 'tasks' list, or remove the section")


def quote(lines: list[str], index: int) -> str:
    text = lines[index].strip()
    if len(text) > 80:
        text = text[:77] + "..."
    return f"line {index + 1} '{text}'"


def _closes(line: str, fence: str) -> bool:
    """Does `line` close a code block opened with `fence` (same character, at least as long)?"""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def lines_outside_fences(lines: list[str]) -> Iterator[tuple[int, str, bool]]:
    """(index, line, inside_fence) for every line, tracking ``` and ~~~ fences."""
    fence: str | None = None
    for i, line in enumerate(lines):
        if fence is None:
            m = _FENCE.match(line)
            if m:
                fence = m.group(1)
            yield i, line, fence is not None
        else:
            if _closes(line, fence):
                fence = None
            yield i, line, True


def normalise(lines: list[str]) -> list[str]:
    """The one normalisation step: accepted spellings outside fences become the canonical ones."""
    out = list(lines)
    for i, line, fenced in lines_outside_fences(lines):
        if fenced:
            continue
        if _TYPE_VARIANT.match(line):
            out[i] = TYPE_LINE
            continue
        heading = _HEADING_VARIANT.match(line)
        if heading:
            out[i] = f"### Task {heading.group(1)}: {heading.group(2)}"
    return out


def _type_lines(canonical: list[str]) -> list[int]:
    return [i for i, line, fenced in lines_outside_fences(canonical) if not fenced and line == TYPE_LINE]


def holds_plan(text: str) -> bool:
    """Does this message hold a type line outside a code fence, in any accepted spelling?"""
    if not TYPE_ANYWHERE.search(text):
        return False
    return bool(_type_lines(normalise(text.splitlines())))


def mentions_plan(text: str) -> int | None:
    """Index of the first line that looks like a type line but is not read as one (for the refusal)."""
    if not TYPE_ANYWHERE.search(text):
        return None
    return next((i for i, line in enumerate(text.splitlines()) if _TYPE_NEAR.match(line)), None)


def _yaml_block(lines: list[str], canonical: list[str], start: int, label: str) -> tuple[int, int]:
    """(opening fence index, closing fence index) of the first yaml block after the type line."""
    fence: str | None = None
    opened = None
    for i in range(start + 1, len(lines)):
        if fence is None:
            m = _FENCE.match(lines[i])
            if m:
                fence = m.group(1)
                if m.group(2).lower() in ("yaml", "yml"):
                    opened = i
            elif _TASK_HEADING.match(canonical[i]):
                raise data_error(f"{label}: {quote(lines, i)} comes before the plan's ```yaml block", hint=FORM)
        elif _closes(lines[i], fence):
            if opened is not None:
                return opened, i
            fence = None
    if opened is not None:
        raise data_error(f"{label}: the ```yaml block opened at {quote(lines, opened)} is never closed", hint=FORM)
    raise data_error(f"{label}: {quote(lines, start)} is followed by no ```yaml block", hint=FORM)


def _task_starts(block: str, opened: int) -> tuple[int, ...]:
    """Message line index where each entry of the block's 'tasks' list starts."""
    root = yaml.compose(block, Loader=yaml.SafeLoader)
    for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
        if key.value == "tasks" and isinstance(value, yaml.SequenceNode):
            return tuple(opened + 1 + item.start_mark.line for item in value.value)
    return ()


def _load_yaml(lines: list[str], opened: int, closed: int, label: str) -> tuple[dict[str, Any], tuple[int, ...]]:
    block = "\n".join(lines[opened + 1:closed])
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at {quote(lines, min(opened + 1 + mark.line, closed - 1))}" if mark else ""
        raise data_error(f"{label}: the plan's yaml block is malformed{where}: "
                         f"{getattr(exc, 'problem', None) or exc}", hint=FORM) from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise data_error(f"{label}: the yaml block at {quote(lines, opened)} needs 'metadata' and a 'tasks' list",
                         hint=FORM)
    if not isinstance(data.get("metadata") or {}, dict):
        raise data_error(f"{label}: the yaml block at {quote(lines, opened)}: metadata: expected a mapping",
                         hint="metadata looks like: metadata: {name: user-dashboard}")
    return data, _task_starts(block, opened)


def parse(text: str, label: str) -> PlanText:
    """Normalise one message and read its plan: the yaml block's data and one section per task."""
    lines = text.splitlines()
    canonical = normalise(lines)
    starts = _type_lines(canonical)
    if not starts:
        raise data_error(f"{label}: no '{TYPE_LINE}' line outside a code block", hint=FORM)
    if len(starts) > 1:
        raise data_error(f"{label}: two plans in one message, at {quote(lines, starts[0])} and "
                         f"{quote(lines, starts[1])}", hint="write one plan per message; " + FORM)
    opened, closed = _yaml_block(lines, canonical, starts[0], label)
    data, task_at = _load_yaml(lines, opened, closed, label)
    sections: dict[str, list[str]] = {}
    heading_at: dict[str, int] = {}
    current: list[str] | None = None
    for i, line, fenced in lines_outside_fences(canonical):
        if i <= closed:
            continue
        heading = None if fenced else _TASK_HEADING.match(line)
        if heading:
            tid = heading.group(1)
            if tid in sections:
                raise data_error(f"{label}: two sections for task '{tid}', at {quote(lines, heading_at[tid])} "
                                 f"and {quote(lines, i)}", hint="merge them into one section")
            current = sections[tid] = []
            heading_at[tid] = i
        elif current is not None:
            current.append(lines[i])
    bodies = {tid: "\n".join(body).strip("\n") + "\n" for tid, body in sections.items()}
    return PlanText(data, bodies, lines, heading_at, label, opened, task_at)
