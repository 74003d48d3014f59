"""`python -m adcut`, and the `adcut` console script (`run`)."""

import sys


def run() -> None:
    """Import the command line and run it. A Ctrl-C while Python is still importing it (the
    first half second, longer on a busy machine) ends the command like one a moment later:
    "interrupted", exit 130, no traceback."""
    try:
        from adcut.cli import main

        main()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    run()
