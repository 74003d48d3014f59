"""Keeping Ctrl-C and SIGTERM from being lost while native libraries load.

Some C extensions clear whatever Python exception is pending while they initialise (onnx
imports ml_dtypes, whose module init runs for about 0.6 s). A KeyboardInterrupt raised by the
signal handler in that window was dropped without a trace and the command went on to the end
with exit 0. Model loading therefore runs inside `interrupts_deferred()`: a signal arriving
there is only recorded, and the handler that was in place gets it when the block ends (and
raises KeyboardInterrupt as usual), so the stop is at most one model load late, never lost.

The command line's handler (raise_interrupt) also keeps a KeyboardInterrupt out of the import
machinery, where it can leave the global import lock held, and remembers it, so one reported
as "ignored" by C code on its way up is raised again where work starts or outputs are put in
place (stop_if_interrupted).
"""

from __future__ import annotations

import _thread
import contextlib
import importlib
import signal
import threading
import time
from collections.abc import Iterator


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """SIGINT/SIGTERM arriving inside the block take effect when it ends. Outside the main
    thread, or for a signal without a Python handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):
            saved[sig] = handler
            signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if caught:
            saved[caught[0]](caught[0], None)


def import_deferred(*modules: str) -> None:
    """Import native modules with interrupts deferred (an ImportError goes on as usual)."""
    with interrupts_deferred():
        for name in modules:
            importlib.import_module(name)


# How long a signal that arrived inside the import machinery waits before it is delivered again.
REDELIVER_S = 0.02


# Set when a Ctrl-C or SIGTERM was raised as KeyboardInterrupt, until the command line has
# handled it: a KeyboardInterrupt raised where C code calls back into Python (a pydantic-core
# validator, a weakref callback) is reported as "ignored" there and lost, and the command would
# go on to finish as if never stopped. stop_if_interrupted() raises it again at the points
# where work starts or results are put in place. A plain list, not a threading.Event: the
# handler must take no lock (it may run inside code that holds one).
_pending: list[int] = []


def raise_interrupt(signum, frame) -> None:
    """KeyboardInterrupt (remembered, see stop_if_interrupted), except inside the interpreter's
    own import machinery: raised there (between `_imp.acquire_lock()` and its `try` in the
    callback that forgets a module's lock), it is reported as ignored and leaves the global
    import lock held, so the next import on another thread (the voice model's) waits forever
    and the command with it. There the signal is delivered again a moment later, by when the
    machinery has let go."""
    _pending.append(signum)
    if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        # A bare thread: threading.Thread.start() waits for the thread to run, and a signal
        # arriving during that wait raised here after all (inside the same callback).
        _thread.start_new_thread(_deliver_later, (signum,))
        return
    raise KeyboardInterrupt


def _deliver_later(signum: int) -> None:
    time.sleep(REDELIVER_S)
    # to the main thread itself, so a wait it is in (a sleep, a child process) is interrupted
    signal.pthread_kill(threading.main_thread().ident, signum)


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt again if one was raised and not yet handled (it may have been
    lost on its way up: see _pending). Called before a child process starts and before
    outputs are put in place."""
    if _pending:
        raise KeyboardInterrupt


def interrupt_pending() -> bool:
    """Whether a Ctrl-C or SIGTERM was raised and not yet handled: an error that C code made
    of the KeyboardInterrupt (pydantic-core wraps it in a SchemaError while it builds a model)
    is the interrupt's doing, not a fault."""
    return bool(_pending)


def interrupt_handled() -> None:
    """The command line has handled the interrupt (it exits 130, or, in a test, goes on)."""
    _pending.clear()
