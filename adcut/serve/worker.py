"""`python -m adcut.serve.worker --db DATA/studio.sqlite --job ID`: runs one job, in its own
process (started by adcut.serve.jobs.Scheduler).

The job body (adcut.serve.tasks) calls the same stage functions as the command line; this
module is its boundary: SIGTERM (a cancel, the server stopping) becomes KeyboardInterrupt so
every clean-up path runs exactly as for Ctrl-C at the terminal (temporary files removed, ffmpeg
stopped) and the process exits 130; a refusal of a stage (`AdcutError`) ends the job `failed`
with its one line and hint; anything else is a bug, logged with its traceback to this job's
log file, and the job says where.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback

from adcut.serve.jobs import EXIT_INTERRUPTED, finish, report
from adcut.serve.store import Store, loads

log = logging.getLogger("adcut.serve.worker")


class Reporter:
    """Progress of one job into the database, at most every `every_s` seconds (the last
    state of a burst is written by the next call or by `flush`)."""

    def __init__(self, store: Store, job_id: str, every_s: float = 0.25):
        self.store, self.job_id, self.every_s = store, job_id, every_s
        self._last = 0.0
        self._pending: tuple | None = None

    def __call__(self, progress: float, message: str, detail: dict | None = None, *,
                 force: bool = False) -> None:
        self._pending = (progress, message, detail)
        if force or time.monotonic() - self._last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        if self._pending is None:
            return
        progress, message, detail = self._pending
        self._pending = None
        self._last = time.monotonic()
        report(self.store, self.job_id, progress, message, detail)


def run_job(store: Store, job_id: str) -> int:
    """Run job `job_id` (state `running`) to its end; returns the exit code."""
    from adcut.cli.boundary import one_line, os_fault_line, write_crash_log
    from adcut.core.errors import AdcutError, Interrupted
    from adcut.serve import tasks

    row = store.one("SELECT * FROM jobs WHERE id=?", (job_id,))
    if row is None or row["state"] != "running":  # cancelled before it started
        return EXIT_INTERRUPTED
    reporter = Reporter(store, job_id)
    params = loads(row["params"], {})
    body = {"ingest": tasks.run_ingest, "edit": tasks.run_edit, "render": tasks.run_render}
    try:
        result, message = body[row["kind"]](store, row, params, reporter)
    except (KeyboardInterrupt, Interrupted):
        return EXIT_INTERRUPTED
    except AdcutError as exc:
        finish(store, job_id, "failed", message="failed", error={
            "message": one_line(exc.message), "hint": exc.hint and one_line(exc.hint),
            "code": type(exc).__name__})
        return 1
    except OSError as exc:
        line = os_fault_line(exc)
        if line is None:
            raise
        finish(store, job_id, "failed", message="failed",
               error={"message": line.removeprefix("error: "), "hint": None, "code": "os"})
        return 1
    except Exception as exc:  # noqa: BLE001  (the boundary: every other exception is a bug)
        path = write_crash_log(exc, [f"job {job_id}"])
        traceback.print_exc()
        finish(store, job_id, "failed", message="failed", error={
            "message": one_line(f"internal error: {type(exc).__name__}: {exc}", 300),
            "hint": f"this is a bug in adcut; details in {path} on the server",
            "code": "internal"})
        return 1
    reporter.flush()
    finish(store, job_id, "done", result=result, message=message)
    return 0


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from adcut.cli.boundary import install_signal_handlers

    parser = argparse.ArgumentParser(prog="python -m adcut.serve.worker")
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_signal_handlers()
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID`: every thread's stack to the log
    try:
        return run_job(Store(args.db), args.job)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
