"""A strict reader for the small part of shell syntax that safe agent commands use.

It accepts words (plain, 'single-quoted', "double-quoted" without expansions), `&&` between
commands, and one inert form of command substitution: a quoted heredoc inside double quotes,
`"$(cat <<'EOF' ... EOF)"`, whose body the shell never expands. Anything else that could run
code, redirect, expand or chain (`;`, `|`, `||`, `&`, `<`, `>`, `$x`, `$(..)`, backticks, braces,
`~`, comments, newlines between commands, control characters) raises Unsafe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEREDOC = re.compile(r"\$\(cat[ \t]*<<[ \t]*(['\"])([A-Za-z_][A-Za-z0-9_]*)\1[ \t]*\n")
_GLOB = set("*?[")
_FORBIDDEN = {";": "';'", "|": "a pipe or '||'", "<": "redirection", ">": "redirection",
              "(": "a subshell", ")": "a subshell", "{": "braces", "}": "braces",
              "`": "backticks", "$": "an expansion"}


class Unsafe(Exception):
    """The command uses shell syntax that is not proven safe."""


@dataclass
class Word:
    text: str
    glob: bool = False  # holds an unquoted * ? or [


def _heredoc(command: str, i: int) -> tuple[str, int]:
    """(body, index after the closing parenthesis) for "$(cat <<'X' ... X)" starting at command[i]."""
    m = _HEREDOC.match(command, i)
    if not m:
        raise Unsafe("an expansion inside double quotes")
    delim = m.group(2)
    pos = m.end()
    lines = []
    while True:
        end = command.find("\n", pos)
        if end < 0:
            raise Unsafe("an unterminated heredoc")
        line = command[pos:end]
        pos = end + 1
        if line == delim:
            break
        lines.append(line)
    rest = re.compile(r"[ \t\n]*\)").match(command, pos)
    if not rest:
        raise Unsafe("text after a heredoc inside a command substitution")
    return "\n".join(lines), rest.end()


def split(command: str) -> list[list[Word]]:
    """The simple commands of `a && b && c`, each a list of words; Unsafe for anything else."""
    commands: list[list[Word]] = [[]]
    word: list[str] | None = None
    glob = False
    i, n = 0, len(command)

    def finish() -> None:
        nonlocal word, glob
        if word is not None:
            commands[-1].append(Word("".join(word), glob))
        word, glob = None, False

    while i < n:
        c = command[i]
        if c in " \t":
            finish()
            i += 1
        elif c == "\n":
            raise Unsafe("a newline between commands")
        elif c == "&":
            if command.startswith("&&", i):
                finish()
                if not commands[-1]:
                    raise Unsafe("'&&' with nothing before it")
                commands.append([])
                i += 2
            else:
                raise Unsafe("'&' (background)")
        elif c == "'":
            end = command.find("'", i + 1)
            if end < 0:
                raise Unsafe("an unterminated quote")
            word = (word or []) + [command[i + 1:end]]
            i = end + 1
        elif c == '"':
            word = word or []
            i += 1
            while True:
                if i >= n:
                    raise Unsafe("an unterminated quote")
                d = command[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\" and i + 1 < n and command[i + 1] in '$`"\\\n':
                    if command[i + 1] != "\n":
                        word.append(command[i + 1])
                    i += 2
                elif d == "$":
                    body, i = _heredoc(command, i)
                    word.append(body)
                elif d == "`":
                    raise Unsafe("backticks")
                else:
                    word.append(d)
                    i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise Unsafe("a trailing backslash")
            if command[i + 1] != "\n":
                word = (word or []) + [command[i + 1]]
            i += 2
        elif c in _FORBIDDEN:
            raise Unsafe(_FORBIDDEN[c])
        elif ord(c) < 32 or ord(c) == 127:
            raise Unsafe("a control character")
        elif word is None and c in "~#!":
            raise Unsafe({"~": "'~' expansion", "#": "a comment", "!": "'!'"}[c])
        else:
            if c in _GLOB:
                glob = True
            word = (word or []) + [c]
            i += 1
    finish()
    if not commands[-1]:
        raise Unsafe("an empty command")
    return commands
