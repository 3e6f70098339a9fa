"""A strict reader for the small part of shell syntax that safe agent commands use.

It accepts words (plain, 'single-quoted', "double-quoted" without expansions), `&&` between
commands, and one inert form of command substitution: a quoted heredoc inside double quotes,
`"$(cat <<'EOF'` newline, body lines, a line `EOF`, a line starting with `)`, whose body the
shell never expands. Anything else that could run code, redirect, expand or chain (`;`, `|`,
`||`, `&`, `<`, `>`, `$x`, `$(..)`, backticks, braces, `~`, comments, newlines between commands,
control characters) raises Unsafe.

Where shells disagree the reader refuses. bash 5 ends a heredoc inside `$( )` at a line that
merely starts with the delimiter followed by `)`; bash 3.2 matches quotes and parentheses inside
the body. So a body line may not start with the delimiter, and the body's quotes and parentheses
must balance. The reader is one left-to-right pass over at most MAX_CHARS characters.
"""

from __future__ import annotations

import re

from .record import Record

MAX_CHARS = 32768
MAX_WORDS = 400
_HEREDOC = re.compile(r"\$\(cat <<(['\"])([A-Za-z_][A-Za-z0-9_]{0,31})\1\n")
_GLOB = set("*?[")
_FORBIDDEN = {";": "';'", "|": "a pipe or '||'", "<": "redirection", ">": "redirection",
              "(": "a subshell", ")": "a subshell", "{": "braces", "}": "braces",
              "`": "backticks", "$": "an expansion"}


class Unsafe(Exception):
    """The command uses shell syntax that is not proven safe."""


class Word(Record):
    """text; glob: holds an unquoted * ? or [; lead: the text before the first glob character (what
    the shell keeps)."""

    __slots__ = ("text", "glob", "lead")

    def __init__(self, text: str, glob: bool = False, lead: str = ""):
        self.text = text
        self.glob = glob
        self.lead = lead


def _balanced(body: str) -> bool:
    depth = 0
    for c in body:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and body.count("'") % 2 == 0 and body.count('"') % 2 == 0 and "`" not in body


def _heredoc(command: str, i: int) -> tuple[str, int]:
    """(body, index after the closing parenthesis) for "$(cat <<'X' ... X\n)" starting at command[i]."""
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
        if line.startswith(delim):
            raise Unsafe("a heredoc line that starts with its delimiter (shells end it differently)")
        if "\\" in line or any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in line):
            raise Unsafe("a backslash or control character in a heredoc")
        lines.append(line)
    if not command.startswith(")", pos):
        raise Unsafe("text after a heredoc inside a command substitution")
    body = "\n".join(lines)
    if not _balanced(body):
        raise Unsafe("unbalanced quotes or parentheses in a heredoc (shells read it differently)")
    return body, pos + 1


def split(command: str) -> list[list[Word]]:
    """The simple commands of `a && b && c`, each a list of words; Unsafe for anything else."""
    if len(command) > MAX_CHARS:
        raise Unsafe(f"a command longer than {MAX_CHARS} characters")
    commands: list[list[Word]] = [[]]
    word: list[str] | None = None
    glob = False
    lead: list[str] = []
    count = 0
    i, n = 0, len(command)

    def finish() -> None:
        nonlocal word, glob, lead, count
        if word is not None:
            commands[-1].append(Word("".join(word), glob, "".join(lead) if glob else ""))
            count += 1
            if count > MAX_WORDS:
                raise Unsafe(f"more than {MAX_WORDS} words")
        word, glob, lead = None, False, []

    def add(text: str) -> None:
        nonlocal word
        if word is None:
            word = []
        word.append(text)
        if not glob:
            lead.append(text)

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
            add(command[i + 1:end])
            i = end + 1
        elif c == '"':
            add("")
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
                        add(command[i + 1])
                    i += 2
                elif d == "$":
                    body, i = _heredoc(command, i)
                    add(body)
                elif d == "`":
                    raise Unsafe("backticks")
                else:
                    add(d)
                    i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise Unsafe("a trailing backslash")
            if command[i + 1] == "\n":
                raise Unsafe("a backslash-newline")
            add(command[i + 1])
            i += 2
        elif c in _FORBIDDEN:
            raise Unsafe(_FORBIDDEN[c])
        elif ord(c) < 32 or ord(c) == 127:
            raise Unsafe("a control character")
        elif word is None and c in "~#!":
            raise Unsafe({"~": "'~' expansion", "#": "a comment", "!": "'!'"}[c])
        elif c == "~" and command[i - 1] in "=:":
            raise Unsafe("'~' after '=' or ':' (bash expands it in words shaped like assignments)")
        elif c == "=" and word is None:
            raise Unsafe("a word starting with '=' (zsh expands it to a program path)")
        else:
            if c in _GLOB:
                glob = True
            add(c)
            i += 1
    finish()
    if not commands[-1]:
        raise Unsafe("an empty command")
    return commands
