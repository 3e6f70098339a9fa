"""The `ctx` command line: a thin click group; each command lives in ctx.commands.<name>."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import tempfile
import traceback

import click

from . import __version__, commands
from .errors import CtxError


class CtxGroup(click.Group):
    """Turns CtxError into a one-line message and an exit code; never a traceback on screen."""

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


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="ctx")


if __name__ == "__main__":
    main()
