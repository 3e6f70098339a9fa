"""Tokens and cost from what Claude Code wrote: session transcripts and `--output-format stream-json` logs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

KINDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_PRICE_KEYS = {"input_tokens": "input", "output_tokens": "output",
               "cache_creation_input_tokens": "cache_write", "cache_read_input_tokens": "cache_read"}


@lru_cache(maxsize=1)
def prices() -> dict[str, dict[str, float]]:
    # beside this module (importlib.resources would cost more to import than the whole report)
    return yaml.safe_load((Path(__file__).parent / "prices.yaml").read_text()) or {}


_DATED = re.compile(r"^(?P<family>.+?)(?:(?:[-@]\d{8})?(?:-v\d+(?::\d+)?)?|-latest)$")


def price_of(model: str) -> dict[str, float] | None:
    """The table's row for `model`: its exact name, or the name plus a release-date suffix.

    `claude-opus-4-20250514` is priced as `claude-opus-4`, but `claude-opus-4-7` is not: a model
    missing from the table is reported as unpriced, never priced like a neighbour.
    """
    table = prices()
    name = model.strip().removeprefix("anthropic.")
    if name in table:
        return table[name]
    dated = _DATED.match(name)
    return table.get(dated.group("family")) if dated else None


@dataclass
class Usage:
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    cost: float = 0.0
    unpriced: set[str] = field(default_factory=set)  # models missing from the price table
    messages: int = 0
    models: dict[str, dict[str, int]] = field(default_factory=dict)  # per model: tokens by kind, messages

    def add(self, other: "Usage") -> None:
        for k in KINDS:
            self.tokens[k] += other.tokens[k]
        self.cost += other.cost
        self.unpriced |= other.unpriced
        self.messages += other.messages
        for model, row in other.models.items():
            mine = self.models.setdefault(model, dict.fromkeys((*KINDS, "messages"), 0))
            for key, n in row.items():
                mine[key] += n

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())

    def to_json(self) -> dict:
        return {**self.tokens, "total_tokens": self.total_tokens, "messages": self.messages,
                "cost_usd": round(self.cost, 6) if not self.unpriced else None,
                "unpriced_models": sorted(self.unpriced), "models": self.models}


def _records(path: Path, marker: str = '"usage"') -> Iterable[dict]:
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return
    with fh:
        for line in fh:
            if marker not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def _int(value) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def messages(paths: Iterable[Path]) -> dict[str, tuple[str, dict[str, int]]]:
    """{message.id: (model, tokens)} over the files' assistant records.

    One message is written as several records (one per content block) sharing message.id; it is
    counted once, each kind of token taking the largest value its records carry (a record written
    mid-stream may carry a partial output count). Records without a message.id cannot be told apart
    and are skipped.
    """
    seen: dict[str, tuple[str, dict[str, int]]] = {}
    for path in paths:
        for record in _records(path):
            if record.get("type") != "assistant":
                continue
            message = record.get("message")
            if not isinstance(message, dict):
                continue
            usage, mid = message.get("usage"), message.get("id")
            if not isinstance(usage, dict) or not isinstance(mid, str) or not mid:
                continue
            tokens = {kind: _int(usage.get(kind)) for kind in KINDS}
            if mid in seen:
                tokens = {kind: max(tokens[kind], seen[mid][1][kind]) for kind in KINDS}
            seen[mid] = (str(message.get("model") or "unknown"), tokens)
    return seen


def count(paths: Iterable[Path], seen: set[str] | None = None) -> Usage:
    """Usage of every assistant message in the files, each message.id counted once.

    `seen` carries the ids already counted elsewhere (another file of the same report); they are
    skipped here and the ids counted here are added to it.
    """
    total = Usage()
    for mid, (model, tokens) in messages(paths).items():
        if seen is not None:
            if mid in seen:
                continue
            seen.add(mid)
        total.messages += 1
        price = price_of(model)
        row = total.models.setdefault(model, dict.fromkeys((*KINDS, "messages"), 0))
        row["messages"] += 1
        for kind in KINDS:
            n = tokens[kind]
            row[kind] += n
            total.tokens[kind] += n
            if price:
                total.cost += n * price[_PRICE_KEYS[kind]] / 1_000_000
        if price is None and model != "<synthetic>":
            total.unpriced.add(model)
    return total


def reported_cost(paths: Iterable[Path]) -> float | None:
    """The sum of `total_cost_usd` from the `result` lines of stream-json logs (one per agent run), or None."""
    costs = [record["total_cost_usd"] for path in paths for record in _records(path, marker='"total_cost_usd"')
             if record.get("type") == "result" and isinstance(record.get("total_cost_usd"), (int, float))]
    return round(sum(costs), 6) if costs else None
