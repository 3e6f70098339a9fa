"""Tokens and cost from what Claude Code wrote: session transcripts and `--output-format stream-json` logs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import yaml

KINDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_PRICE_KEYS = {"input_tokens": "input", "output_tokens": "output",
               "cache_creation_input_tokens": "cache_write", "cache_read_input_tokens": "cache_read"}


@lru_cache(maxsize=1)
def prices() -> dict[str, dict[str, float]]:
    return yaml.safe_load(resources.files("ctx").joinpath("prices.yaml").read_text()) or {}


def price_of(model: str) -> dict[str, float] | None:
    matches = [name for name in prices() if model.startswith(name)]
    return prices()[max(matches, key=len)] if matches else None


@dataclass
class Usage:
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    cost: float = 0.0
    unpriced: set[str] = field(default_factory=set)  # models missing from the price table
    messages: int = 0

    def add(self, other: "Usage") -> None:
        for k in KINDS:
            self.tokens[k] += other.tokens[k]
        self.cost += other.cost
        self.unpriced |= other.unpriced
        self.messages += other.messages

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())

    def to_json(self) -> dict:
        return {**self.tokens, "total_tokens": self.total_tokens, "messages": self.messages,
                "cost_usd": round(self.cost, 6) if not self.unpriced else None,
                "unpriced_models": sorted(self.unpriced)}


def _records(path: Path) -> Iterable[dict]:
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return
    with fh:
        for line in fh:
            if '"usage"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def count(paths: Iterable[Path]) -> Usage:
    """Usage of every assistant message in the files, each message.id counted once (its last record)."""
    seen: dict[str, tuple[str, dict]] = {}
    for path in paths:
        for record in _records(path):
            if record.get("type") != "assistant":
                continue
            message = record.get("message") or {}
            usage = message.get("usage")
            mid = message.get("id")
            if isinstance(usage, dict) and mid:
                seen[mid] = (str(message.get("model") or "unknown"), usage)
    total = Usage()
    for model, usage in seen.values():
        total.messages += 1
        price = price_of(model)
        for kind in KINDS:
            n = int(usage.get(kind) or 0)
            total.tokens[kind] += n
            if price:
                total.cost += n * price[_PRICE_KEYS[kind]] / 1_000_000
        if price is None and model != "<synthetic>":
            total.unpriced.add(model)
    return total
