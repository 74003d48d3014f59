"""The studio's SQLite database: libraries, uploads, briefs, assets, jobs, variants, plan
revisions and renders, in one file (`DATA/studio.sqlite`, WAL mode).

The server and its job workers (child processes) all write here, each through short
transactions on its own connection (`busy_timeout` covers the moments another holds the write
lock). WAL lets every reader go on while one writes, so status and listing requests never wait
for a worker's progress update. `jobs.seq` increases with every change of any job: an event
stream asks for the rows whose seq passed the last one it sent.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS libraries (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL UNIQUE,      -- the adcut library folder (catalog.sqlite inside)
    media_dir   TEXT NOT NULL,             -- where uploads into it are stored
    external    INTEGER NOT NULL,          -- 1: given with --library (its sources may be anywhere)
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id             TEXT PRIMARY KEY,
    library_id     TEXT NOT NULL,
    kind           TEXT NOT NULL,          -- footage | music
    path           TEXT NOT NULL UNIQUE,   -- server-chosen name under the library's media_dir
    original_name  TEXT NOT NULL,
    media          TEXT NOT NULL,          -- what sniffing found: video | image | audio
    size_bytes     INTEGER NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assets (
    id             TEXT PRIMARY KEY,
    path           TEXT NOT NULL UNIQUE,
    original_name  TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS briefs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,             -- the Brief as JSON (validated by adcut.core.brief)
    voice       INTEGER NOT NULL,          -- 0: no voice-over (subtitles only)
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,            -- ingest | edit | render
    lane         TEXT NOT NULL,            -- ingest | render (bounded concurrency per lane)
    state        TEXT NOT NULL,            -- queued running cancelling done failed cancelled interrupted
    params       TEXT NOT NULL,
    progress     REAL NOT NULL DEFAULT 0,
    message      TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '{}',
    result       TEXT,
    error        TEXT,
    attempt      INTEGER NOT NULL DEFAULT 0,
    pid          INTEGER,
    library_id   TEXT,
    variant_id   TEXT,
    render_id    TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    updated_at   TEXT NOT NULL,
    seq          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, lane, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_seq ON jobs (seq);
CREATE TABLE IF NOT EXISTS variants (
    id           TEXT PRIMARY KEY,
    edit_job_id  TEXT NOT NULL,
    library_id   TEXT NOT NULL,
    brief_id     TEXT,
    idx          INTEGER NOT NULL,         -- 1..N within its edit
    name         TEXT NOT NULL,
    folder       TEXT NOT NULL,            -- DATA/variants/ID: plan.json and renders/
    explanation  TEXT NOT NULL,            -- the planner's --explain record (candidates, music)
    current_rev  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (edit_job_id, idx)
);
CREATE TABLE IF NOT EXISTS revisions (
    variant_id  TEXT NOT NULL,
    rev         INTEGER NOT NULL,
    parent      INTEGER,                  -- the revision it was edited from (undo goes there)
    plan        TEXT NOT NULL,            -- the EditPlan JSON
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (variant_id, rev)
);
CREATE TABLE IF NOT EXISTS renders (
    id           TEXT PRIMARY KEY,
    variant_id   TEXT NOT NULL,
    rev          INTEGER NOT NULL,
    quality      TEXT NOT NULL,            -- preview | full
    job_id       TEXT NOT NULL,
    folder       TEXT NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0, -- 1 once every file is in place
    result       TEXT,                     -- duration, size, QC checks (when done)
    created_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX IF NOT EXISTS renders_by_variant ON renders (variant_id, created_at);
"""


def where_clause(*conditions: str, **equal) -> tuple[str, tuple]:
    """' WHERE a AND b ...' (or '') from SQL `conditions` and the `column=value` pairs whose
    value is set, with their arguments in order: the list endpoints' optional filters."""
    conditions, args = list(conditions), []
    for column, value in equal.items():
        if value:
            conditions.append(f"{column}=?")
            args.append(value)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), tuple(args)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    """A random id: `prefix` + 12 hex digits (what every id path parameter must look like)."""
    return f"{prefix}_{secrets.token_hex(6)}"


ID_PATTERN = r"^[a-z]{3}_[0-9a-f]{12}$"


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None, default=None):
    return default if text is None else json.loads(text)


class Store:
    """Opens connections to the studio database (one per unit of work: the server answers
    requests from a thread pool, and each worker process has its own)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def create(self) -> None:
        """Create the file and its tables (idempotent); refuse a newer schema."""
        from adcut.core.errors import LibraryError

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
            row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise LibraryError(f"{self.path} was written by a newer adcut (schema {row[0]})",
                                   hint="upgrade adcut, or give --data another folder")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode; use `with store.tx() as con` to write several rows
        at once."""
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                              check_same_thread=False)
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA synchronous=NORMAL")
            yield con
        finally:
            con.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: the write lock is taken at once, so two
        writers never deadlock upgrading read locks)."""
        with self.connect() as con:
            for attempt in range(50):
                try:
                    con.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:  # locked past busy_timeout
                    if "locked" not in str(exc) or attempt == 49:
                        raise
                    time.sleep(0.05)
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def write(self, sql: str, args: tuple = (), con: sqlite3.Connection | None = None) -> int:
        """Run one write statement inside the caller's transaction `con`, or in a transaction
        of its own when None; returns the rows it changed."""
        if con is not None:
            return con.execute(sql, args).rowcount
        with self.tx() as c:
            return c.execute(sql, args).rowcount

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with self.connect() as con:
            return con.execute(sql, args).fetchone()

    def all(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self.connect() as con:
            return con.execute(sql, args).fetchall()


NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)"
