"""The adcut command line: parses arguments, calls the stages, prints results.

One module per command group registers on `app` (adcut.cli.app); adcut.cli.boundary decides
what every error, signal and exit code looks like. Results go to stdout, logs and progress to
stderr. Exit codes: 0 success, 1 partial success or failed checks (or a bug, said as such),
2 bad input (one line saying what was wrong and what to do), 130 interrupted.
"""

from __future__ import annotations

from adcut.cli import (  # noqa: F401  (register)
    dataset, doctor, edit, evaluate, ingest, library, render, serve, tokenizer, train, voices)
from adcut.cli.app import app
from adcut.cli.boundary import join_planner_args

__all__ = ["app", "main", "join_planner_args"]


def main() -> None:
    """The console script: run the command line and exit with its code."""
    app()
