"""The one place where the command line meets errors, signals and the terminal.

Every command runs inside `AdcutGroup.main`, so what reaches the user is decided here and
nowhere else:

- an `AdcutError` prints its one line (`error: what was wrong (what to do)`) and exits with its
  code (2 for bad input, 130 when interrupted);
- a usage mistake caught by the argument parser prints one line and exits 2;
- an operating-system fault that is not adcut's doing (a full disk, a read-only folder, a
  name too long) prints one line naming the file and exits 2;
- anything else is a bug: one line (`internal error: ...; details in LOG`) with the traceback
  written to a log file, exit 1. No command ever prints a traceback to the terminal.

SIGTERM is turned into KeyboardInterrupt, so a terminated command cleans up exactly like one
stopped with Ctrl-C (temporary files removed, ffmpeg children killed) and exits 130.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import typer
from typer.core import TyperGroup

from adcut.core.errors import AdcutError, Interrupted
from adcut.core.interrupts import (
    interrupt_handled,
    interrupt_pending,
    raise_interrupt,
    stop_if_interrupted,
)

def _parser_errors(name: str) -> tuple[type[BaseException], ...]:
    """An exception class of the argument parser: Typer vendors click (typer._click) in recent
    releases and used the click package before, so both are looked up."""
    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            cls = getattr(__import__(module, fromlist=[name]), name, None)
        except ImportError:
            continue
        if cls is not None and cls not in found:
            found.append(cls)
    return tuple(found)


NO_ARGS_IS_HELP = _parser_errors("NoArgsIsHelpError")
USAGE_ERRORS = _parser_errors("UsageError")
PARSER_ERRORS = _parser_errors("ClickException")
ABORTS = (*_parser_errors("Abort"), typer.Abort, KeyboardInterrupt)

MAX_LINE_CHARS = 400  # an error line longer than this is cut in the middle
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a file-name byte that is not UTF-8

# Faults of the machine or the file system, not of adcut: said as one line, exit 2.
_OS_FAULTS = {
    errno.ENOSPC: ("no space left on the device", "free some space, then run the same command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space, then run the same command again"),
    errno.EROFS: ("read-only file system", "choose a writable location"),
    errno.EACCES: ("permission denied", "fix the permissions or choose another location"),
    errno.EPERM: ("operation not permitted", "fix the permissions or choose another location"),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter name or folder"),
    errno.ENOENT: ("no such file or folder", "check the path; it may have been moved while adcut ran"),
    errno.ENOTDIR: ("not a folder", "check the path"),
    errno.EISDIR: ("is a folder, not a file", "give the path of a file"),
    errno.EIO: ("input/output error", "the disk or its connection failed; check it and run again"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) and run again"),
    errno.ENFILE: ("too many open files in the system", "close other programs and run again"),
    errno.ELOOP: ("too many levels of symbolic links", "check the path"),
    errno.EFBIG: ("file too large for the file system", "choose another location"),
}


def one_line(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """`text` as a single readable line: control characters (newlines from a YAML dump, a tab
    in a file name) become spaces, bytes of a file name that are not UTF-8 are shown as \\xNN,
    and anything longer than `limit` is cut in the middle."""
    text = _ESCAPED_BYTE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", str(text))
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def error_line(exc: AdcutError) -> str:
    message = one_line(exc.message, MAX_LINE_CHARS - 120 if exc.hint else MAX_LINE_CHARS)
    line = f"{exc.prefix}: {message}"
    if exc.hint:
        line += f" ({one_line(exc.hint, 200)})"
    return line


def os_fault_line(exc: OSError) -> str | None:
    """One line for an OSError the machine caused, or None when it looks like a bug."""
    known = _OS_FAULTS.get(exc.errno)
    if known is None:
        return None
    what, todo = known
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    where = os.fsdecode(where) if isinstance(where, bytes) else str(where)
    return f"error: {what}" + (f": {one_line(where, 240)}" if where else "") + f" ({todo})"


def log_dir() -> Path:
    from adcut.core.files import cache_dir

    return cache_dir() / "logs"


def write_crash_log(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """The traceback and the command line in a log file (None when no folder will take it)."""
    from adcut import __version__

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    text = (f"adcut {__version__}, python {sys.version.split()[0]}\n"
            f"argv: {list(argv)!r}\n\n"
            + "".join(traceback.format_exception(exc)))
    import tempfile

    for folder in (log_dir(), Path(tempfile.gettempdir())):
        path = folder / f"adcut-crash-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", errors="backslashreplace")
            return path
        except OSError:
            continue
    return None


def internal_error_line(exc: BaseException, argv: Sequence[str]) -> str:
    path = write_crash_log(exc, argv)
    what = one_line(f"{type(exc).__name__}: {exc}", 240)
    where = f"details in {path}" if path else "the details could not be saved"
    return f"internal error: {what}; {where} (this is a bug in adcut: please report it with that file)"


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt (so every clean-up path runs, and a
    terminated command exits like one stopped with Ctrl-C), never inside the import machinery
    (see adcut.core.interrupts.raise_interrupt)."""
    try:
        signal.signal(signal.SIGTERM, raise_interrupt)
        signal.signal(signal.SIGINT, raise_interrupt)
    except ValueError:  # not the main thread (e.g. a test runner's worker): leave them
        pass


def join_planner_args(argv: list[str]) -> list[str]:
    """`--planner openai URL` (two words, as the docs write it) -> one option value."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--planner" and i + 2 < len(argv) \
                and argv[i + 1] in ("openai", "hf", "model") and not argv[i + 2].startswith("-"):
            out += ["--planner", f"{argv[i + 1]} {argv[i + 2]}"]
            i += 3
            continue
        out.append(argv[i])
        i += 1
    return out


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed: nothing more can be said
        pass


def _usage_line(exc) -> str:
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "adcut"
    message = exc.format_message().replace("Value error, ", "")  # pydantic's prefix
    return f"error: {one_line(message, MAX_LINE_CHARS - 80)} (see: {one_line(command, 60)} --help)"


def run_boundary(group: TyperGroup, argv: list[str], prog_name: str, extra: dict) -> int:
    """Run the command line and return its exit code; never lets an exception out."""
    log = logging.getLogger("adcut")
    for stream in (sys.stdout, sys.stderr):
        try:  # a file name that is not valid UTF-8 is printed escaped, not as a crash
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    install_signal_handlers()
    try:
        result = TyperGroup.main(group, args=argv, prog_name=prog_name,
                                 standalone_mode=False, **extra)
        stop_if_interrupted()  # stopped, though the KeyboardInterrupt was lost on its way here
        return result if isinstance(result, int) else 0
    except NO_ARGS_IS_HELP as exc:  # bare `adcut` or `adcut library`: the help, as asked
        print(exc.format_message())
        return 0
    except USAGE_ERRORS as exc:
        _say(_usage_line(exc))
        return 2
    except PARSER_ERRORS as exc:  # a parameter type's own failure (e.g. a bad file)
        _say(f"error: {one_line(exc.format_message(), MAX_LINE_CHARS - 10)}")
        return 2
    except ABORTS:
        return _interrupted()
    except AdcutError as exc:
        if not isinstance(exc, Interrupted) and interrupt_pending():
            return _interrupted()
        interrupt_handled()
        _say(error_line(exc))
        return exc.exit_code
    except BrokenPipeError:  # `adcut library ls | head`: the reader left; not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (silences the flush at exit)
        except OSError:
            pass
        return 1
    except MemoryError:
        _say("error: out of memory (close other programs, or process fewer files at once)")
        return 2
    except OSError as exc:
        if interrupt_pending():
            return _interrupted()
        line = os_fault_line(exc)
        if line is not None:
            log.debug("OS fault", exc_info=exc)
            _say(line)
            return 2
        _say(internal_error_line(exc, argv))
        return 1
    except SystemExit as exc:  # a library called sys.exit: keep the promise on codes
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code if code in (0, 1, 2, 130) else 1
    except Exception as exc:  # noqa: BLE001  (the boundary: every other exception is a bug)
        if interrupt_pending():  # what C code made of a KeyboardInterrupt
            return _interrupted()
        _say(internal_error_line(exc, argv))
        return 1


def _interrupted() -> int:
    interrupt_handled()
    _say("interrupted")
    return 130


class AdcutGroup(TyperGroup):
    """The root command group: every invocation (the console script, `python -m adcut`,
    CliRunner in tests) goes through `run_boundary`."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra):
        argv = join_planner_args(list(sys.argv[1:] if args is None else args))
        code = run_boundary(self, argv, prog_name or "adcut", extra)
        if standalone_mode and args is None and code == 130:
            exit_interrupted()  # the process's own command line (CliRunner passes args)
        if standalone_mode:
            sys.exit(code)
        return code


def exit_interrupted() -> NoReturn:
    """Exit 130 at once, the interrupted command having cleaned up after itself (its outputs
    discarded, its ffmpeg children killed): work still running on other threads (a voice model
    half-loaded) is not waited for, and the interpreter's teardown is skipped. Tearing down
    with onnxruntime mid-load aborted the process (SIGABRT from its C++ runtime) or ended it
    by SIGINT instead of exit 130, about one render in ten stopped in the first seconds."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)

