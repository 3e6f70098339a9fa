"""Plain value classes for the hooks: fields named in __slots__, compared and shown by their values.

They stand in for dataclasses, whose import (inspect, ast, dis, tokenize) costs more than the rest of
a hook's own modules on every tool call.
"""

from __future__ import annotations


class Record:
    """Fields in __slots__ and set by the subclass's __init__; equal when of one class with equal fields."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({fields})"


class FrozenRecord(Record):
    """A Record whose fields are set once, in __init__ through _set, and hashable by them."""

    __slots__ = ()

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {self.__class__.__qualname__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {self.__class__.__qualname__}")

    def __hash__(self) -> int:
        return hash(self._values())
