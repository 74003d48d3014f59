"""`python -m adcut`, and the `adcut` console script (`run`)."""

import os
import signal
import sys
from typing import NoReturn


def run() -> None:
    """Run the command line, with Ctrl-C handled from the first moment (see
    adcut.core.interrupts.raise_interrupt). One arriving before the command itself starts
    (while Python imports the command line and typer builds it: the first half second, longer
    on a busy machine) ends it like one a moment later: "interrupted", exit 130, no traceback.
    Once started, the command line's own boundary (adcut.cli.boundary) handles it."""
    try:
        from adcut.core.interrupts import interrupt_pending, raise_interrupt

        signal.signal(signal.SIGINT, raise_interrupt)
    except KeyboardInterrupt:
        _exit_interrupted()
    try:
        from adcut.cli import main

        main()
    except KeyboardInterrupt:
        _exit_interrupted()
    except Exception:
        if not interrupt_pending():  # a fault of its own: the traceback says where
            raise
        _exit_interrupted()  # what C code made of the KeyboardInterrupt


def _exit_interrupted() -> NoReturn:
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # nothing was started; the interpreter's teardown is not needed


if __name__ == "__main__":
    run()
