"""Which git commands the approval hook accepts: one table of options per subcommand, deny by default.

Each table says which options a subcommand may take (whole words; `--opt=value` forms as full
matches) and what its positional words may be. Every path is resolved the way git will see it
(textually and through symlinks) and must stay inside the checkout the command runs in, outside
its .git folder and outside any repository nested in it. Anything not in a table is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from . import state
from .shell import Unsafe, Word

_NUM = r"\d{1,6}"
_TEXT = r"[^\x00-\x1f\x7f]+"
# Patterns are compiled when first used (re caches them): the hook's start-up time counts.
_REV = r"(?:[\w@][\w./@{}^~+-]*)?(?:\.\.\.?(?:[\w@][\w./@{}^~+-]*)?)?(?::[^\x00-\x1f\x7f]*)?"
_BRANCH = r"[A-Za-z0-9][A-Za-z0-9._/-]*"


class Table:
    """The options of one subcommand (a plain class: the hook's start-up time counts)."""
    __slots__ = ("flags", "glued", "valued", "bundle")

    def __init__(self, flags: frozenset[str], glued: str, valued: frozenset[str], bundle: str):
        self.flags = flags  # whole words
        self.glued = glued  # a regex an option word may match in full (`--format=...`), compiled when first used
        self.valued = valued  # options whose value is the next word
        self.bundle = bundle  # single-letter flags that may be written together (`-as`)


class Call:
    """One git command: where it runs and what it was given."""
    __slots__ = ("cwd", "top", "options", "values", "before", "after", "dashes")

    def __init__(self, cwd: str, top: str):
        self.cwd = cwd  # the physical folder git starts in
        self.top = top  # the checkout git will use (main checkout or a task worktree)
        self.options: list[str] = []
        self.values: dict[str, list[Word]] = {}
        self.before: list[Word] = []  # positional words before `--`
        self.after: list[Word] = []  # words after `--`
        self.dashes = False


def _table(flags: str = "", glued: tuple[str, ...] = (), valued: str = "", bundle: str = "") -> Table:
    return Table(frozenset(flags.split()), "|".join(f"(?:{g})" for g in glued), frozenset(valued.split()), bundle)


_READ = _table(
    flags="--stat --shortstat --numstat --name-only --name-status --cached --staged -p -u --patch --no-patch -s "
          "--oneline --graph --all --decorate --no-decorate --abbrev-commit --no-abbrev-commit --no-color --color "
          "--word-diff --color-words -w --ignore-all-space -b --ignore-space-change --ignore-blank-lines --reverse "
          "--first-parent --merges --no-merges --summary --raw --full-history --follow --patch-with-stat --minimal "
          "--histogram --patience -M -R --no-renames --find-renames -z --left-right --cherry-pick --boundary "
          "--topo-order --date-order --no-ext-diff --no-textconv --exit-code --quiet --check --dirstat --full-index "
          "--binary --pretty --branches --tags --remotes --source --no-walk --compact-summary --parents --children "
          "--cc -m --no-prefix -W --function-context --notes --no-notes --relative-date --no-merges --ancestry-path "
          "--simplify-by-decoration --no-color-moved --color-moved --stat-count --dirstat-by-file",
    glued=(rf"-{_NUM}", rf"-U{_NUM}", rf"--unified={_NUM}", rf"-n{_NUM}", rf"--max-count={_NUM}",
           rf"--skip={_NUM}", rf"--(since|until|after|before|author|committer|grep)={_TEXT}",
           rf"--(format|pretty)={_TEXT}", r"--date=[\w:%-]+", rf"--abbrev={_NUM}", r"--stat=[\d,]+",
           r"--diff-filter=[ACDMRTUXBacdmrtuxb*]+", rf"-[SG]{_TEXT}", r"--(decorate|color|word-diff|color-moved)=\w+",
           r"--dirstat=[\w,.]+", r"-M\d{1,3}%?", r"--find-renames=\d{1,3}%?"),
    valued="-n --max-count --skip --since --until --after --before --author --committer --grep -S -G",
)
_STATUS = _table(
    flags="-s --short -b --branch --porcelain -z --long -v --verbose --show-stash --ahead-behind "
          "--no-ahead-behind --renames --no-renames --column --no-column -u -uno -unormal -uall --ignored",
    glued=(r"--porcelain=v[12]", r"--untracked-files=(no|normal|all)", r"--ignored=(traditional|no|matching)"),
    bundle="sbvz",
)
_BRANCH_LIST = _table(
    flags="-a --all -r --remotes -l --list -v -vv --verbose --show-current --merged --no-merged --contains "
          "--no-contains --ignore-case -i --color --no-color --column --no-column",
    glued=(r"--sort=-?[\w:()]+", rf"--format={_TEXT}", r"--color=\w+"),
    valued="--points-at",
)
_LISTING = {"-l", "--list", "--show-current", "--merged", "--no-merged", "--contains", "--no-contains"}
_REV_PARSE = _table(
    flags="--abbrev-ref --show-toplevel --git-common-dir --git-dir --absolute-git-dir --show-prefix --show-cdup "
          "--short --verify -q --quiet --is-inside-work-tree --is-inside-git-dir --is-bare-repository "
          "--is-shallow-repository --symbolic-full-name --symbolic --show-superproject-working-tree --sq",
    glued=(rf"--short={_NUM}", r"--abbrev-ref=(strict|loose)"),
)
_WORKTREE_LIST = _table(flags="--porcelain -v --verbose -z")
_ADD = _table(flags="-A --all -u --update -N --intent-to-add -v --verbose -n --dry-run --no-all --ignore-removal "
                    "--renormalize", glued=(r"--chmod=[+-]x",), bundle="Auvn")
_COMMIT = _table(
    flags="-a --all -s --signoff -q --quiet -v --verbose --allow-empty --allow-empty-message -i --include -o --only "
          "--no-status --status --no-edit",
    glued=(r"--cleanup=(strip|whitespace|verbatim|scissors|default)", rf"--(author|date|trailer)={_TEXT}",
           r"--message=.*", r"-m.+"),
    valued="-m --message --author --date --trailer",
    bundle="asqvio",
)
_NO_VERIFY = ("-n", "--no-verify")
_FETCH = _table(flags="-q --quiet -v --verbose --prune -p --tags --no-tags --progress --no-progress --dry-run")
_PUSH = _table(flags="-u --set-upstream -q --quiet -v --verbose --progress")
_MESSAGES = {"-m", "--message"}


def parse(table: Table, words: list[Word], call: Call, extra: frozenset[str] = frozenset()) -> None:
    """Sort words into options, option values and positional words; refuse any option not in the table."""
    i = 0
    while i < len(words):
        word = words[i]
        text = word.text
        if call.dashes:
            call.after.append(word)
        elif text == "--":
            call.dashes = True
        elif text.startswith("-") and len(text) > 1:
            if word.glob:
                raise Unsafe(f"a glob in option {text!r}")
            if text in table.valued:
                if i + 1 >= len(words):
                    raise Unsafe(f"option {text} without a value")
                if words[i + 1].glob:
                    raise Unsafe(f"a glob as the value of {text}")
                call.values.setdefault(text, []).append(words[i + 1])
                i += 1
            elif table is _COMMIT and text.startswith("-m") and len(text) > 2:
                call.values.setdefault("-m", []).append(Word(text[2:]))
            elif table is _COMMIT and text.startswith("--message="):
                call.values.setdefault("-m", []).append(Word(text[len("--message="):]))
            elif text in table.flags or text in extra or bool(table.glued and re.fullmatch(table.glued, text)):
                _plain(text)
            elif _bundle(table, text, words, i, call):
                if text.endswith("m"):
                    i += 1
            else:
                raise Unsafe(f"option {text!r}")
            call.options.append(text)
        else:
            call.before.append(word)
        i += 1
    for name, given in call.values.items():
        if name not in _MESSAGES:
            for value in given:
                _plain(value.text)


def _bundle(table: Table, text: str, words: list[Word], i: int, call: Call) -> bool:
    """`-as`, `-am MSG`: single-letter flags of the table written together."""
    letters = text[1:]
    if text.startswith("--") or not table.bundle or len(letters) < 2:
        return False
    message = letters.endswith("m") and "-m" in table.valued
    body = letters[:-1] if message else letters
    if not body or any(c not in table.bundle for c in body):
        return False
    if message:
        if i + 1 >= len(words) or words[i + 1].glob:
            raise Unsafe(f"option {text} without a value, or with a glob")
        call.values.setdefault("-m", []).append(words[i + 1])
    return True


def _plain(text: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise Unsafe(f"a newline or control character in {text.splitlines()[0]!r}...")


# --- paths ---------------------------------------------------------------------------------------

def path_inside(call: Call, word: Word) -> None:
    """A path (or pathspec) git is given must name something in the checkout, nowhere else."""
    text = word.text
    _plain(text)
    if not text or text.startswith((":", "-")):
        raise Unsafe(f"pathspec {text!r}")
    if word.glob:
        _glob(call, word)
        return
    if ".git" in (part.lower() for part in text.split("/")):
        raise Unsafe(f"path {text!r} names a .git entry")
    for path in (os.path.normpath(os.path.join(call.cwd, text)), os.path.realpath(os.path.join(call.cwd, text))):
        if not within(path, call.top):
            raise Unsafe(f"path {text!r} outside the checkout")
    if state.repository_of(os.path.join(call.cwd, text)) != state.real(call.top):
        raise Unsafe(f"path {text!r} lies in another repository")


def within(path: str, folder: str) -> bool:
    """path is folder or below it, compared as written (the caller resolves what needs resolving)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _glob(call: Call, word: Word) -> None:
    """An unquoted glob only after `--`, and only one the shell can expand to paths of the checkout."""
    text = word.text
    if not call.dashes:
        raise Unsafe(f"glob {text!r} before '--' (a file named like an option would become one)")
    if "[" in text:
        raise Unsafe(f"glob {text!r} with a bracket expression")
    parts = text.split("/")
    if any(p in (".", "..") for p in parts) or any(p.startswith(".") and any(c in p for c in "*?") for p in parts):
        raise Unsafe(f"glob {text!r} that could reach '..' or dot files")
    folder = word.lead.rsplit("/", 1)[0] if "/" in word.lead else "."
    path_inside(call, Word(folder))


def positional_paths(call: Call) -> None:
    for word in call.before + call.after:
        path_inside(call, word)


def revisions_or_paths(call: Call) -> None:
    """Before `--`: revisions, or paths (a word that names an existing file is a path to git)."""
    for word in call.before:
        text = word.text
        if word.glob or not re.fullmatch(_REV, text) or not text or os.path.lexists(os.path.join(call.cwd, text)):
            path_inside(call, word)
    for word in call.after:
        path_inside(call, word)


def revisions_only(call: Call) -> None:
    for word in call.before + call.after:
        if word.glob or not word.text or not re.fullmatch(_REV, word.text):
            raise Unsafe(f"revision {word.text!r}")


# --- subcommands ---------------------------------------------------------------------------------

class Rule:
    __slots__ = ("table", "check")

    def __init__(self, table: Table, check: Callable[..., None]):
        self.table, self.check = table, check


def _status(call, policy):
    positional_paths(call)


def _read(call, policy):
    revisions_or_paths(call)


def _branch(call, policy):
    listing = any(o in _LISTING for o in call.options) or "--points-at" in call.values
    if call.before and not listing or call.after:
        raise Unsafe("git branch that creates, renames or deletes a branch")
    for word in call.before + call.values.get("--points-at", []):
        if word.glob or not re.fullmatch(_REV, word.text.replace("*", "x")):
            raise Unsafe(f"git branch pattern {word.text!r}")


def _rev_parse(call, policy):
    revisions_only(call)


def _worktree(call, policy):
    if [w.text for w in call.before] != ["list"] or call.after:
        raise Unsafe("git worktree other than list")


def _add(call, policy):
    positional_paths(call)


def _commit(call, policy):
    if not call.values.get("-m") and not call.values.get("--message"):
        raise Unsafe("git commit without -m (an editor, or a message read from a file)")
    if any(o in _NO_VERIFY for o in call.options) and not policy.allow_no_verify:
        raise Unsafe("git commit --no-verify (hooks skipped)")
    policy.on_branch(call, "commit")
    positional_paths(call)


def _fetch(call, policy):
    positional = [w.text for w in call.before + call.after]
    if positional and positional[0] != "origin":
        raise Unsafe("git fetch from a remote other than origin")
    for ref in positional[1:]:
        if not (len(ref) < 200 and re.fullmatch(_BRANCH, ref)) or ".." in ref or ref.endswith((".lock", "/", ".")):
            raise Unsafe(f"git fetch refspec {ref!r}")


def _push(call, policy):
    if any(o == "--no-verify" for o in call.options) and not policy.allow_no_verify:
        raise Unsafe("git push --no-verify (hooks skipped)")
    positional = [w.text for w in call.before + call.after]
    branch = policy.on_branch(call, "push")
    if len(positional) != 2 or positional[0] != "origin":
        raise Unsafe("git push must name origin and one refspec")
    src, colon, dst = positional[1].partition(":")
    own = (branch, f"refs/heads/{branch}")
    if src not in own + ("HEAD",) or (dst if colon else src if src != "HEAD" else branch) not in own:
        raise Unsafe(f"git push refspec {positional[1]!r}: only {branch} to the same name on origin")


RULES: dict[str, Rule] = {
    "status": Rule(_STATUS, _status), "diff": Rule(_READ, _read), "log": Rule(_READ, _read),
    "show": Rule(_READ, _read), "branch": Rule(_BRANCH_LIST, _branch), "rev-parse": Rule(_REV_PARSE, _rev_parse),
    "worktree": Rule(_WORKTREE_LIST, _worktree), "add": Rule(_ADD, _add), "commit": Rule(_COMMIT, _commit),
    "fetch": Rule(_FETCH, _fetch), "push": Rule(_PUSH, _push),
}
GLOBAL_FLAGS = {"--no-pager", "-P", "--no-optional-locks", "--literal-pathspecs"}


def extra_flags(sub: str, allow_no_verify: bool) -> frozenset[str]:
    if allow_no_verify and sub == "commit":
        return frozenset(_NO_VERIFY)
    if allow_no_verify and sub == "push":
        return frozenset({"--no-verify"})
    return frozenset()
