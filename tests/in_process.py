"""The command line run in-process, as the tests drive it."""

from __future__ import annotations

from typer.testing import CliRunner

from adcut.cli import app


def run(*args):
    """`adcut ARGS` (each argument as str); a Python exception escaping it fails the test."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result
