"""The Typer application every command module registers on.

`App.command` wraps each command so that Ctrl-C (or SIGTERM) inside it becomes an
`Interrupted` error carrying that command's own note on what was kept; everything else about
errors is decided once, in `adcut.cli.boundary`.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Annotated, Optional

import typer

from adcut import __version__
from adcut.cli.boundary import AdcutGroup
from adcut.core.errors import Interrupted

DEFAULT_INTERRUPTED = "stopped; nothing half-written was left"


class App(typer.Typer):
    def command(self, *args, interrupted: str = DEFAULT_INTERRUPTED, **kwargs):
        register = super().command(*args, **kwargs)

        def decorator(fn):
            @functools.wraps(fn)
            def guarded(*a, **kw):
                try:
                    return fn(*a, **kw)
                except KeyboardInterrupt:
                    raise Interrupted(interrupted) from None

            guarded.adcut_guarded = True
            register(guarded)
            return fn

        return decorator


app = App(
    name="adcut",
    cls=AdcutGroup,
    help="Turn raw footage, a product brief and a music library into a finished ad.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
library_app = App(help="Inspect, check and repair a library built by `adcut ingest`.",
                  no_args_is_help=True)
app.add_typer(library_app, name="library")
dataset_app = App(help="Corpora of finished ads and the training data built from them.",
                  no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")


def _version(value: bool) -> None:
    if value:
        print(f"adcut {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def note(line: str) -> None:
    """A remark for the user on stderr (results go to stdout)."""
    print(line, file=sys.stderr)
