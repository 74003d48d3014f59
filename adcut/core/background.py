"""Work on a thread of its own, beside a main thread that starts ffmpeg processes.

NumPy's BLAS runs on one thread while such work runs: OpenBLAS shuts its thread pool down at
every fork, so a threaded dot product running on one thread while another forks ffmpeg can wait
forever for pool threads that no longer exist (seen as a preview render stuck at 100% CPU in
OpenBLAS's exec_blas). The work runs in a copy of the caller's context, so the phases it times
(adcut.core.timing) are the command's. The thread is not a daemon: a command that ends waits
for it, and one interrupted exits at once without the interpreter's teardown
(adcut.cli.boundary.exit_interrupted); a daemon thread stopped by the teardown in the middle
of building an onnxruntime session aborted the process.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from adcut.core.interrupts import interrupts_deferred

T = TypeVar("T")


class Background(Generic[T]):
    """`work()` started on its own thread; result() waits for it and returns its value or
    raises its exception."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run, work))
        with interrupts_deferred():  # a Ctrl-C now comes once the thread is known (joined at exit)
            self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                self._value = work()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
