"""Jobs: their states in the studio database, and the scheduler that runs them.

Every long operation (ingest, edit, render) is a row of `jobs`:

    queued ──claim──▶ running ──worker ends──▶ done | failed
       │                 │  └──cancel──▶ cancelling ──stopped──▶ cancelled
       └──cancel──▶ cancelled      └──server stops──▶ interrupted ──retry──▶ queued

A job runs in a child process (`python -m adcut.serve.worker`), in a session of its own, so
cancelling it stops everything it started: SIGTERM to its process group (the worker turns it
into the same clean-up as Ctrl-C: temporary files removed, ffmpeg stopped), SIGKILL after a
grace period, and the memory it held goes with the process. The worker writes its progress to
the database; the scheduler only starts, stops and reaps. Workers die with the scheduler thread
(PR_SET_PDEATHSIG), and a job found `running` when the server starts was cut short by its last
stop: it becomes `interrupted`, and `retry` queues it again (its outputs are written atomically
and resumable: an ingest goes on from the files done, a render starts over in its own folder).

Concurrency is bounded per lane: by default one edit-or-render and one ingest at a time, what
a 2-core machine can do without the jobs slowing each other down.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from adcut.serve.store import NEXT_SEQ, Store, dumps, loads, new_id, now

log = logging.getLogger("adcut.serve.jobs")

KINDS = {"ingest": "ingest", "edit": "render", "render": "render"}  # kind -> lane
ACTIVE = ("queued", "running", "cancelling")
TERMINAL = ("done", "failed", "cancelled", "interrupted")
RETRYABLE = ("failed", "cancelled", "interrupted")
EXIT_INTERRUPTED = 130


class JobStateError(Exception):
    """A transition the job's state does not allow (cancel a finished job, retry a running
    one); the API answers 409."""


# -- the state machine (each function one short transaction) ---------------------------------

def enqueue(store: Store, kind: str, params: dict, *, library_id: str | None = None,
            variant_id: str | None = None, render_id: str | None = None,
            job_id: str | None = None, con=None) -> str:
    """A new queued job; `con` to make it part of a caller's transaction."""
    job_id = job_id or new_id("job")
    stamp = now()
    sql = (f"INSERT INTO jobs (id, kind, lane, state, params, message, library_id, variant_id, "
           f"render_id, created_at, updated_at, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,{NEXT_SEQ})")
    args = (job_id, kind, KINDS[kind], "queued", dumps(params), "waiting for its turn",
            library_id, variant_id, render_id, stamp, stamp)
    store.write(sql, args, con)
    return job_id


def claim_next(store: Store, lane: str) -> str | None:
    """The oldest queued job of `lane`, now `running` (None when none waits)."""
    with store.tx() as con:
        row = con.execute("SELECT id FROM jobs WHERE state='queued' AND lane=? "
                          "ORDER BY created_at, rowid LIMIT 1", (lane,)).fetchone()
        if row is None:
            return None
        stamp = now()
        con.execute(f"UPDATE jobs SET state='running', started_at=?, finished_at=NULL, "
                    f"attempt=attempt+1, progress=0, message='starting', error=NULL, "
                    f"result=NULL, pid=NULL, updated_at=?, seq={NEXT_SEQ} WHERE id=?",
                    (stamp, stamp, row["id"]))
        return row["id"]


def set_pid(store: Store, job_id: str, pid: int) -> None:
    with store.tx() as con:
        con.execute("UPDATE jobs SET pid=? WHERE id=?", (pid, job_id))


def report(store: Store, job_id: str, progress: float, message: str,
           detail: dict | None = None) -> bool:
    """A worker's progress (0-1, one line, and details such as per-file states). False when
    the job is no longer running (cancelled): the worker is about to be stopped."""
    progress = min(1.0, max(0.0, float(progress)))
    with store.tx() as con:
        sets = "progress=?, message=?, updated_at=?, seq=" + NEXT_SEQ
        args: list = [progress, message[:500], now()]
        if detail is not None:
            sets += ", detail=?"
            args.append(dumps(detail))
        cur = con.execute(f"UPDATE jobs SET {sets} WHERE id=? AND state IN "
                          "('running','cancelling')", (*args, job_id))
        return cur.rowcount == 1


def finish(store: Store, job_id: str, state: str, *, result: dict | None = None,
           error: dict | None = None, message: str | None = None, con=None) -> bool:
    """Move a running (or cancelling) job to a terminal state. False when it was not running
    (already finished by someone else)."""
    assert state in TERMINAL
    stamp = now()
    sql = (f"UPDATE jobs SET state=?, result=COALESCE(?, result), error=?, "
           f"message=COALESCE(?, message), progress=CASE WHEN ?='done' THEN 1 ELSE progress END, "
           f"finished_at=?, updated_at=?, seq={NEXT_SEQ} "
           f"WHERE id=? AND state IN ('running','cancelling')")
    args = (state, dumps(result) if result is not None else None,
            dumps(error) if error is not None else None, message, state, stamp, stamp, job_id)
    return store.write(sql, args, con) == 1


def request_cancel(store: Store, job_id: str) -> str:
    """Cancel: a queued (or interrupted) job is cancelled at once, a running one becomes
    `cancelling` until the scheduler has stopped its process. Returns the new state."""
    with store.tx() as con:
        row = con.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(job_id)
        state, stamp = row["state"], now()
        if state in ("queued", "interrupted"):
            con.execute(f"UPDATE jobs SET state='cancelled', message='cancelled', finished_at=?, "
                        f"updated_at=?, seq={NEXT_SEQ} WHERE id=?", (stamp, stamp, job_id))
            return "cancelled"
        if state == "running":
            con.execute(f"UPDATE jobs SET state='cancelling', message='stopping', updated_at=?, "
                        f"seq={NEXT_SEQ} WHERE id=?", (stamp, job_id))
            return "cancelling"
        if state == "cancelling":
            return state
        raise JobStateError(f"job {job_id} is {state}; only a queued or running job can be "
                            "cancelled")


def retry(store: Store, job_id: str) -> None:
    """Queue a failed, cancelled or interrupted job again (same id, same parameters)."""
    with store.tx() as con:
        row = con.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(job_id)
        if row["state"] not in RETRYABLE:
            raise JobStateError(f"job {job_id} is {row['state']}; only a failed, cancelled or "
                                "interrupted job can be retried")
        stamp = now()
        con.execute(f"UPDATE jobs SET state='queued', message='waiting for its turn', "
                    f"progress=0, error=NULL, result=NULL, pid=NULL, started_at=NULL, "
                    f"finished_at=NULL, created_at=?, updated_at=?, seq={NEXT_SEQ} WHERE id=?",
                    (stamp, stamp, job_id))


def recover(store: Store) -> list[str]:
    """At start-up: jobs the last server left running are `interrupted` (retry queues them
    again), those it was cancelling are `cancelled`. Their processes, if any survived (not on
    Linux, where they die with the server), are stopped first. Returns the ids interrupted."""
    rows = store.all("SELECT id, state, pid FROM jobs WHERE state IN ('running','cancelling')")
    for row in rows:
        if row["pid"]:
            _stop_orphan(row["pid"], row["id"])
    stamp = now()
    with store.tx() as con:
        for row in rows:
            interrupted = row["state"] == "running"
            con.execute(
                f"UPDATE jobs SET state=?, message=?, finished_at=?, updated_at=?, pid=NULL, "
                f"seq={NEXT_SEQ} WHERE id=?",
                ("interrupted" if interrupted else "cancelled",
                 "the server stopped while this job ran; retry it" if interrupted
                 else "cancelled", stamp, stamp, row["id"]))
    return [r["id"] for r in rows if r["state"] == "running"]


def _stop_orphan(pid: int, job_id: str) -> None:
    """Kill a worker of an earlier server still running (only when /proc says it is ours)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if b"adcut.serve.worker" in cmdline and job_id.encode() in cmdline:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def job_json(row, *, base: str = "/api/v1") -> dict:
    """A job row as the API shows it."""
    state = row["state"]
    error = loads(row["error"])
    return {
        "id": row["id"], "kind": row["kind"], "state": state,
        "progress": round(row["progress"], 4), "message": row["message"],
        "detail": loads(row["detail"], {}), "result": loads(row["result"]),
        "error": error, "attempt": row["attempt"],
        "library_id": row["library_id"], "variant_id": row["variant_id"],
        "render_id": row["render_id"], "params": loads(row["params"], {}),
        "created_at": row["created_at"], "started_at": row["started_at"],
        "finished_at": row["finished_at"], "updated_at": row["updated_at"], "seq": row["seq"],
        "can_cancel": state in ("queued", "running", "interrupted"),
        "can_retry": state in RETRYABLE,
        "events_url": f"{base}/jobs/{row['id']}/events",
    }


# -- the scheduler ----------------------------------------------------------------------------

@dataclass
class _Running:
    job_id: str
    lane: str
    proc: subprocess.Popen
    log_file: object
    term_sent_at: float | None = None
    killed: bool = False


@dataclass
class Scheduler:
    """Starts queued jobs while their lane has a free slot, stops cancelled ones, reaps the
    finished; one thread, woken by `wake()` or every `poll_s`."""

    store: Store
    slots: dict[str, int]
    log_dir: Path
    grace_s: float = 5.0
    poll_s: float = 0.2
    paused: bool = False  # tests: hold queued jobs (a job queued before a restart)
    _running: dict[str, _Running] = field(default_factory=dict)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="adcut-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def stop(self) -> None:
        """Stop every running job (SIGTERM, then SIGKILL after the grace period) and mark it
        interrupted; used when the server shuts down."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.grace_s + 10)

    # the thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        # Workers are started from this thread: they die with it (PR_SET_PDEATHSIG), so it
        # lives until the server stops, whatever goes wrong in one round.
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:  # one bad round must not stop every job
                log.exception("scheduler round failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()
        self._shutdown()

    def _round(self) -> None:
        self._reap()
        self._signal_cancelled()
        if self.paused:
            return
        for lane, slots in self.slots.items():
            while sum(r.lane == lane for r in self._running.values()) < slots:
                job_id = claim_next(self.store, lane)
                if job_id is None:
                    break
                self._launch(job_id, lane)

    def _launch(self, job_id: str, lane: str) -> None:
        from adcut.media.ffmpeg import spawn

        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{job_id}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115  (closed when the worker is reaped)
        cmd = [sys.executable, "-m", "adcut.serve.worker", "--db", str(self.store.path),
               "--job", job_id]
        env = worker_env(os.environ)
        try:
            proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                         start_new_session=True, env=env)
        except OSError as exc:
            log_file.close()
            finish(self.store, job_id, "failed",
                   error={"message": f"the job could not start ({exc.strerror or exc})",
                          "hint": "check the server log", "code": "start"})
            return
        set_pid(self.store, job_id, proc.pid)
        with self._lock:
            self._running[job_id] = _Running(job_id, lane, proc, log_file)
        log.info("job %s started (pid %d, log %s)", job_id, proc.pid, log_path)

    def _signal_cancelled(self) -> None:
        if not self._running:
            return
        ids = list(self._running)
        marks = ",".join("?" * len(ids))
        cancelling = {r["id"] for r in self.store.all(
            f"SELECT id FROM jobs WHERE state='cancelling' AND id IN ({marks})", tuple(ids))}
        for job_id in cancelling:
            self._terminate(self._running[job_id])

    def _terminate(self, run: _Running) -> None:
        """SIGTERM to the job's process group once; SIGKILL when the grace period is over."""
        if run.proc.poll() is not None:
            return
        if run.term_sent_at is None:
            run.term_sent_at = time.monotonic()
            _signal_group(run.proc.pid, signal.SIGTERM)
        elif not run.killed and time.monotonic() - run.term_sent_at > self.grace_s:
            run.killed = True
            _signal_group(run.proc.pid, signal.SIGKILL)

    def _reap(self) -> None:
        for job_id, run in list(self._running.items()):
            code = run.proc.poll()
            if code is None:
                continue
            # Whatever the worker left in its group (an ffmpeg it could not stop) goes too.
            _signal_group(run.proc.pid, signal.SIGKILL)
            run.log_file.close()
            with self._lock:
                del self._running[job_id]
            self._settle(job_id, code)

    def _settle(self, job_id: str, code: int) -> None:
        """The job's state after its worker ended, when the worker did not write it itself:
        cancelled when it was being cancelled, else failed (a crash, a kill from outside)."""
        row = self.store.one("SELECT state FROM jobs WHERE id=?", (job_id,))
        if row is None or row["state"] not in ("running", "cancelling"):
            log.info("job %s ended (exit %s): %s", job_id, code, row["state"] if row else "?")
            return
        if row["state"] == "cancelling":
            finish(self.store, job_id, "cancelled", message="cancelled")
        elif self._stop.is_set() or code == EXIT_INTERRUPTED:
            finish(self.store, job_id, "interrupted",
                   message="the server stopped while this job ran; retry it")
        else:
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            finish(self.store, job_id, "failed",
                   error={"message": f"the job's process ended unexpectedly ({how})",
                          "hint": f"see {self.log_dir / (job_id + '.log')} on the server",
                          "code": "crash"}, message="failed")
        log.info("job %s ended (exit %s)", job_id, code)

    def _shutdown(self) -> None:
        runs = list(self._running.values())
        for run in runs:
            if run.proc.poll() is None:
                _signal_group(run.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for run in runs:
            try:
                run.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(run.proc.pid, signal.SIGKILL)
                run.proc.wait()
        self._reap()


def worker_env(environ) -> dict[str, str]:
    """The environment of a worker: the server's, unbuffered, and with OpenBLAS on one thread
    unless the user chose otherwise. A render forks ffmpeg children (with a preexec hook, so a
    real fork) while its QC thread runs numpy's threaded dot product; OpenBLAS shuts its thread
    pool down in a fork handler, and the dot product in flight then waits forever for a worker
    that is gone (seen as a preview render stuck at 100% CPU in `exec_blas`). Without the
    pool there is nothing to wait for; the jobs' heavy work is ffmpeg, torch and onnxruntime,
    which keep their own threads."""
    env = {**environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
