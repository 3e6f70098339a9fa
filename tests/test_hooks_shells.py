"""Heredoc commit messages: every form the hook accepts means the same under each real shell.

Each accepted form is run under bash, bash in POSIX mode, zsh, dash and mksh in a real repository;
the commit message must be the body the hook read, and no marker file may appear. Each refused
form is shown to run the marker under at least one shell (or to be read differently), so these
tests would fail if the reader accepted it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import git, make_repo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from ctx.hooks import shell  # noqa: E402

SHELLS = {"bash": ["bash", "-c"], "bash-posix": ["bash", "--posix", "-c"], "zsh": ["zsh", "-c"],
          "dash": ["dash", "-c"], "mksh": ["mksh", "-c"]}

ACCEPTED = [
    "git commit -q -m \"$(cat <<'EOF'\nAdd auth API\n\n- login endpoint\n- token refresh (with tests)\nEOF\n)\"",
    "git commit -q -m \"$(cat <<\"EOF\"\nUse $HOME and $(touch MARK) literally\nEOF\n)\"",
    "git commit -q -m \"$(cat <<'MSG'\nSymbols ; | & < > { } * ? ~ # ! stay text\nMSG\n)\"",
    "git commit -q -m \"$(cat <<'EOF'\nsubject\nEOF\n) and more\"",
    "git commit -q -m \"$(cat <<'EOF'\nfirst\nEOF\n)\" -m \"$(cat <<'EOF'\nsecond 'quoted' \"too\"\nEOF\n)\"",
    "git commit -q -m \"$(cat <<'EOF'\n\tindented with a tab\n  EOF (not the end: it does not start the line)\nEOF\n)\"",
]

REFUSED = [
    # bash and mksh end the heredoc at "EOF)", then run the rest; zsh and dash read on.
    ("git commit -q -m \"$(cat <<'EOF'\nx\nEOF)\"; touch MARK; echo \"\nEOF\n)\"", "starts with its delimiter"),
    ("git commit -q -m \"$(cat <<'EOF'\nx\nEOF )\" && touch MARK && echo \"\nEOF\n)\"", "starts with its delimiter"),
    ("git commit -q -m \"$(cat <<'EOF'\nx\nEOF\n  )\"", "text after a heredoc"),
    ("git commit -q -m \"$(cat <<-'EOF'\nx\n\tEOF\n)\"", "an expansion inside double quotes"),
    ("git commit -q -m \"$(cat <<EOF\n$(touch MARK)\nEOF\n)\"", "an expansion inside double quotes"),
    ("git commit -q -m \"$(cat <<'EOF'\nx\nEOF\ntouch MARK\n)\"", "text after a heredoc"),
    ("git commit -q -m \"$(cat <<'EOF'\nit's (open\nEOF\n)\"", "unbalanced"),
    ("git commit -q -m \"$(cat <<'EOF'\n`touch MARK`\nEOF\n)\"", "unbalanced"),
    ("git commit -q -m \"$(cat <<'EOF'\nx\\\nEOF\n)\"", "a backslash"),
]

# Shown hostile: what each shell really does with the first refused form.
DISAGREEING = REFUSED[0][0]


def shells_present() -> dict[str, list[str]]:
    found = {name: argv for name, argv in SHELLS.items() if shutil.which(argv[0])}
    missing = sorted(set(SHELLS) - set(found))
    if missing and os.environ.get("CI"):
        pytest.fail(f"shells missing in CI: {', '.join(missing)} (.ci/run installs them)")
    return found


@pytest.fixture(params=sorted(SHELLS))
def shell_argv(request):
    found = shells_present()
    if request.param not in found:
        pytest.skip(f"{request.param} is not installed")
    return found[request.param]


def expected_message(command: str) -> str:
    """What git records: the -m values the reader found, joined as git joins them."""
    words = shell.split(command)[0]
    messages = [words[i + 1].text for i, w in enumerate(words) if w.text == "-m"]
    return "\n\n".join(m.strip("\n") for m in messages)


@pytest.mark.parametrize("command", ACCEPTED)
def test_accepted_form_means_the_same_in_every_shell(command, shell_argv, tmp_path):
    repo = make_repo(tmp_path)
    (repo / "app.py").write_text("changed\n")
    git(repo, "add", "app.py")
    proc = subprocess.run([*shell_argv, command], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (repo / "MARK").exists()
    assert git(repo, "log", "-1", "--format=%B") == expected_message(command).strip()


@pytest.mark.parametrize("command,reason", REFUSED)
def test_refused_form_is_refused_with_its_reason(command, reason):
    with pytest.raises(shell.Unsafe, match=reason.replace("(", r"\(")):
        shell.split(command)


def test_the_shells_really_disagree_on_the_refused_form(tmp_path):
    """The first refused form runs the marker under bash and mksh: a reader that accepted it would be fooled."""
    ran = {}
    for name, argv in shells_present().items():
        repo = make_repo(tmp_path / name)
        subprocess.run([*argv, DISAGREEING.replace("-q -m", "-q --allow-empty -m")], cwd=repo, capture_output=True)
        ran[name] = (repo / "MARK").exists()
    assert ran.get("bash") is True
    assert len(set(ran.values())) == 2 or len(ran) == 1, ran
