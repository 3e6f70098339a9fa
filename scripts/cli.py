"""The `ctx` command line: a thin click group; each command lives in ctx.commands.<module>.

A command's module is imported only when that command runs (or when help lists them all), so
`ctx --version` or `ctx task start` does not pay for what other commands import.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading

import click

from . import __version__
from .errors import CtxError


# command name -> the module of ctx.commands that defines it (in its COMMANDS list)
LAZY = {
    "actions": "actions", "approve": "approve", "cleanup": "cleanup", "demo": "run", "doctor": "doctor", "hook": "hook", "merge": "merge",
    "plan": "plan", "pr": "pr", "report": "report", "resolve": "resolve", "run": "run", "setup": "worktree",
    "status": "worktree", "task": "task",
}


class CtxGroup(click.Group):
    """Loads each command's module on first use; turns CtxError into a one-line message and an exit
    code, never a traceback on screen."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, click.Command] = {}

    @property
    def commands(self) -> dict[str, click.Command]:  # type: ignore[override]
        """Every command, loaded: for help and for tests that walk the whole tree."""
        self._load_all()
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._loaded = dict(value)

    def _load_module(self, module_name: str) -> None:
        module = importlib.import_module(f"{__package__}.commands.{module_name}")
        for command in module.COMMANDS:
            self._loaded.setdefault(command.name, command)

    def _load_all(self) -> None:
        import pkgutil

        from . import commands
        for info in pkgutil.iter_modules(commands.__path__):
            self._load_module(info.name)

    def _load(self, name: str) -> click.Command | None:
        if name not in self._loaded:
            if name in LAZY:
                self._load_module(LAZY[name])
            else:  # a command missing from the table still works, at the cost of loading them all
                self._load_all()
        return self._loaded.get(name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(LAZY) | set(self._loaded))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CtxError as exc:
            click.echo(f"ctx: error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            ctx.exit(exc.code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            ctx.exit(1)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            import tempfile
            import traceback
            log = os.path.join(tempfile.gettempdir(), "ctx-crash.log")
            try:
                with open(log, "a") as fh:
                    fh.write(f"--- ctx {__version__} {' '.join(sys.argv)}\n{traceback.format_exc()}")
            except OSError:
                log = "(could not write a log)"
            click.echo(f"ctx: unexpected error: {type(exc).__name__}: {exc} (details in {log})", err=True)
            ctx.exit(1)


@click.group(cls=CtxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ctx")
def cli() -> None:
    """Run a plan's coding tasks in parallel: one git worktree, branch and agent per task."""



def main() -> None:
    """The ctx process. When the command is done, it ends without the interpreter's teardown, which
    only frees memory the process gives back anyway: 30 ms after a run that loaded the validator."""
    try:
        cli(prog_name="ctx")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():  # what a normal exit waits for, in its order
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        code = code or 1
    os._exit(code or 0)


if __name__ == "__main__":
    main()
