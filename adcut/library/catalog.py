"""The library folder's SQLite catalog: opening, migrating, reading and writing.

One file, WAL mode, one transaction per ingested file, so an interrupted ingest leaves either
the whole file or nothing. A catalog from a newer adcut is refused before anything is written.

Every SQLite error met through a catalog connection (a damaged page, a full disk, a read-only
folder, ...) becomes one `LibraryError` naming the library: the connection and its cursors are
subclasses that translate errors on execute and fetch, so no query can leak a raw
`sqlite3.DatabaseError` (only misuse by adcut itself, `ProgrammingError`, stays a bug).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from adcut import __version__
from adcut.core.errors import LibraryError, SchemaTooNewError
from adcut.library.schema import MIGRATIONS, SCHEMA_VERSION
from adcut.library.store import writing_into

CATALOG_NAME = "catalog.sqlite"


class CatalogDamagedError(LibraryError):
    """The catalog file itself is damaged (a page SQLite cannot read, text that is not text)."""


# SQLite's primary result codes (an extended code carries its primary code in the low byte).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_NOMEM, _SQLITE_READONLY = 3, 5, 6, 7, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_AUTH = 10, 11, 13, 14, 23
_SQLITE_NOTADB = 26
# Errors of adcut's own use of the API (a closed connection, wrong bindings): bugs, not faults.
_MISUSE = (sqlite3.ProgrammingError, sqlite3.InterfaceError)
_NOT_UTF8 = re.compile(r"Could not decode to UTF-8 column '([^']*)'")


def check_hint(folder: Path) -> str:
    return f"run `adcut library check {folder}` to see what is wrong"


def catalog_error(exc: sqlite3.Error, folder: Path) -> LibraryError:
    """One line for a SQLite error met while using the catalog of library `folder`."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    not_utf8 = _NOT_UTF8.match(text)
    if not_utf8:
        return CatalogDamagedError(f"the catalog of {folder} is damaged (column "
                                   f"{not_utf8.group(1)!r} holds bytes that are not text)",
                                   hint=check_hint(folder))
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CatalogDamagedError(f"the catalog of {folder} is damaged ({text})",
                                   hint=check_hint(folder))
    if code == _SQLITE_FULL:
        return LibraryError(f"no space left to write the catalog of {folder} ({text})",
                            hint="free some space, then run the same command again")
    if code == _SQLITE_READONLY:
        return LibraryError(f"the catalog of {folder} cannot be written ({text})",
                            hint="make the library folder writable, or use another library folder")
    if code == _SQLITE_CANTOPEN:
        return LibraryError(f"the catalog of {folder} cannot be opened ({text})",
                            hint="check that the library folder exists and that adcut may read "
                                 "and write it")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return LibraryError(f"the catalog of {folder} is busy ({text})",
                            hint="another program is using it; run the command again when it "
                                 "has finished")
    if code == _SQLITE_IOERR:
        return LibraryError(f"the disk failed while adcut used the catalog of {folder} ({text})",
                            hint="check the disk and its free space, then run the command again")
    if code in (_SQLITE_PERM, _SQLITE_AUTH):
        return LibraryError(f"the catalog of {folder} may not be used ({text})",
                            hint="fix the permissions of the library folder")
    if code == _SQLITE_NOMEM:
        return LibraryError(f"out of memory while using the catalog of {folder}",
                            hint="close other programs and run the command again")
    if isinstance(exc, sqlite3.IntegrityError):  # with one writer at a time: never, unless damaged
        return LibraryError(f"the catalog of {folder} refused a write ({text})",
                            hint=check_hint(folder))
    # No such table or column, ...: the catalog is not what this adcut wrote.
    return CatalogDamagedError(f"the catalog of {folder} cannot be used ({text})",
                               hint=check_hint(folder))


def _translating(method):
    """`method` of a catalog connection or cursor, with its SQLite errors as LibraryErrors."""

    @functools.wraps(method)
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except _MISUSE:
            raise
        except sqlite3.DatabaseError as exc:
            folder = self.folder if isinstance(self, sqlite3.Connection) else self.connection.folder
            raise catalog_error(exc, folder) from exc

    return wrapper


class _Cursor(sqlite3.Cursor):
    """A cursor whose SQLite errors are `LibraryError`s (see the module docstring)."""

    execute = _translating(sqlite3.Cursor.execute)
    executemany = _translating(sqlite3.Cursor.executemany)
    executescript = _translating(sqlite3.Cursor.executescript)
    fetchone = _translating(sqlite3.Cursor.fetchone)
    fetchmany = _translating(sqlite3.Cursor.fetchmany)
    fetchall = _translating(sqlite3.Cursor.fetchall)
    __next__ = _translating(sqlite3.Cursor.__next__)


class _Connection(sqlite3.Connection):
    """A connection whose statements run on `_Cursor`s; `folder` names the library."""

    folder: Path

    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script, /):
        return self.cursor().executescript(sql_script)

    commit = _translating(sqlite3.Connection.commit)
    close = _translating(sqlite3.Connection.close)


def connect(folder: Path, target: str, *, uri: bool = False) -> _Connection:
    """A translating connection to a catalog (autocommit: transactions are explicit)."""
    try:
        con = sqlite3.connect(target, uri=uri, isolation_level=None, factory=_Connection)
    except _MISUSE:
        raise
    except sqlite3.DatabaseError as exc:
        raise catalog_error(exc, folder) from exc
    con.folder = folder
    return con


def _wal_has_frames(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


@dataclass(frozen=True)
class SourceRecord:
    id: str
    kind: str  # 'footage' | 'music'
    path: str
    content_hash: str
    size_bytes: int
    mtime_ns: int
    container: str
    duration_s: float
    decoded_s: float
    width: int | None
    height: int | None
    rotation_deg: int | None
    fps: float | None
    is_vfr: bool | None
    has_audio: bool
    warnings: list[str] = field(default_factory=list)
    still: bool = False  # a still image: one clip, rendered with a slow pan/zoom
    captions_hash: str | None = None  # of the sidecar captions that applied (see sidecar.py)


@dataclass(frozen=True)
class EmbeddingRecord:
    kind: str  # 'frames' | 'clips' | 'windows'
    encoder: str
    encoder_version: str
    dim: int
    rows: int
    path: str


@dataclass(frozen=True)
class ClipRecord:
    id: str
    idx: int
    start_s: float
    end_s: float
    start_f: int
    end_f: int
    emb_row: int
    thumb: str
    speech_prob: float | None
    music_prob: float | None
    has_speech: bool
    has_music: bool
    labels: list[tuple[str, float]]
    transcript: str
    caption: str
    ocr: list[dict] = field(default_factory=list)  # [{"text", "box": [x0,y0,x1,y1], "score"}]
    ocr_engine: str | None = None  # None: the text on screen was not read

    @property
    def ocr_text(self) -> str:
        return ocr_text(self.ocr)


def ocr_text(items: list[dict]) -> str:
    """The text read on screen, one phrase after another in reading order."""
    return " ".join(str(i.get("text", "")).strip() for i in items if str(i.get("text", "")).strip())


def row_ocr(row: sqlite3.Row) -> tuple[list[dict], str | None]:
    """(ocr items, engine) of a clips row; a catalog from before schema v2 (read-only, so not
    migrated) has none."""
    if "ocr" not in row.keys():
        return [], None
    try:
        items = json.loads(row["ocr"] or "[]")
    except ValueError:
        items = []
    return (items if isinstance(items, list) else []), row["ocr_engine"]


@dataclass(frozen=True)
class FrameRecord:
    row: int
    t_s: float
    clip_id: str


@dataclass(frozen=True)
class WordRecord:
    start_s: float
    end_s: float
    word: str
    prob: float | None


@dataclass(frozen=True)
class CaptionRecord:
    start_s: float | None
    end_s: float | None
    text: str
    origin: str


@dataclass(frozen=True)
class TrackRecord:
    title: str
    tempo_bpm: float
    beat_times_s: list[float]
    integrated_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    tags: list[tuple[str, float]]


@dataclass(frozen=True)
class WindowRecord:
    id: str
    idx: int
    start_s: float
    end_s: float
    emb_row: int
    rms_db: float
    tags: list[tuple[str, float]]


@dataclass
class SourceBundle:
    """Everything ingest learned about one file, written in one transaction."""

    source: SourceRecord
    embeddings: list[EmbeddingRecord] = field(default_factory=list)
    clips: list[ClipRecord] = field(default_factory=list)
    frames: list[FrameRecord] = field(default_factory=list)
    words: list[WordRecord] = field(default_factory=list)
    captions: list[CaptionRecord] = field(default_factory=list)
    track: TrackRecord | None = None
    windows: list[WindowRecord] = field(default_factory=list)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into statements (executescript would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer


def refuse_newer_schema(folder: Path) -> int | None:
    """The catalog's schema version (None when there is no catalog yet); a catalog from a
    newer adcut is refused without writing anything."""
    version = read_schema_version(Path(folder) / CATALOG_NAME)
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"library {folder} has catalog schema v{version}; this adcut {__version__} "
            f"knows up to v{SCHEMA_VERSION}",
            hint="upgrade adcut to use it; the library was left untouched",
        )
    return version


def read_schema_version(path: Path) -> int | None:
    """The schema version of an existing catalog, read without modifying it (None if absent)."""
    if not path.exists():
        return None
    # immutable=1 reads without creating -wal/-shm files, so a refused library is left exactly
    # as it was; it is only safe when no write-ahead log holds newer pages.
    mode = "mode=ro" if _wal_has_frames(path) else "immutable=1"
    try:
        con = connect(path.parent, f"{path.resolve().as_uri()}?{mode}", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            con.close()
    except CatalogDamagedError as exc:
        cause = exc.__cause__
        code = getattr(cause, "sqlite_errorcode", 0) or 0
        if code & 0xFF == _SQLITE_NOTADB or "no such table" in str(cause):
            raise LibraryError(
                f"{path} is not an adcut catalog ({cause})",
                hint="point --library at an adcut library folder or a new empty folder",
            ) from cause
        raise
    if row is None:
        raise LibraryError(f"{path} has no schema version", hint="it was not written by adcut")
    return int(row[0])


class Catalog:
    """A connection to one library's catalog. Use as a context manager."""

    def __init__(self, folder: Path, *, create: bool = True, readonly: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / CATALOG_NAME
        if self.folder.exists() and not self.folder.is_dir():
            raise LibraryError(f"library path {self.folder} is a file, not a folder",
                               hint="give --library a folder (new or existing)")
        version = refuse_newer_schema(self.folder)
        if version is None and (readonly or not create):
            raise LibraryError(f"{self.folder} is not an adcut library (no {CATALOG_NAME})",
                               hint="create one with: adcut ingest FOOTAGE... --library "
                                    f"{self.folder}")
        if readonly:
            # A reader of a WAL catalog needs to create its -shm file; in a folder nobody may
            # write (a read-only mount, a shared card) it reads the file as it is instead, which
            # is exact when no write-ahead log is pending.
            writable = os.access(self.folder, os.W_OK)
            mode = "mode=ro" if writable or _wal_has_frames(self.path) else "immutable=1"
            self.con = connect(self.folder, f"{self.path.resolve().as_uri()}?{mode}", uri=True)
        else:
            with writing_into(self.folder):
                self.folder.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are explicit (see transaction()).
            self.con = connect(self.folder, str(self.path))
        try:
            if not readonly:
                self.con.execute("PRAGMA journal_mode=WAL")
                self.con.execute("PRAGMA synchronous=NORMAL")
            self.con.execute("PRAGMA foreign_keys=ON")
            self.con.row_factory = sqlite3.Row
            if not readonly:
                self._migrate(version or 0)
        except BaseException:
            self.con.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything inside commits together or not at all.

        A failed COMMIT (a full disk) is rolled back too. SQLite may already have rolled back
        on its own after such an error, so the rollback runs only when a transaction is still
        open, and an error of the rollback never hides the error that caused it."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
            self.con.execute("COMMIT")
        except BaseException:
            if self.con.in_transaction:
                try:
                    self.con.execute("ROLLBACK")
                except LibraryError:
                    pass
            raise

    def integrity_problems(self, *, quick: bool = False, limit: int = 20) -> list[str]:
        """What SQLite's own check finds wrong with the catalog file (empty when healthy).

        `quick` runs quick_check (pages and records, not whether every index agrees with its
        table); the full integrity_check also compares indexes and costs about 1.5 times as
        much."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            found = [row[0] for row in self.con.execute(f"PRAGMA {pragma}({int(limit)})")]
        except CatalogDamagedError as exc:
            return [str(exc.__cause__ or exc.message)]
        return [] if found == ["ok"] else [" ".join(str(m).split()) for m in found]

    def _migrate(self, current: int) -> None:
        if current == SCHEMA_VERSION:
            return
        with self.transaction() as con:
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[version]):
                    con.execute(statement)
                con.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(version),),
                )
            if current == 0:
                con.execute("INSERT INTO meta(key, value) VALUES ('created_at', ?)", (_now(),))
                con.execute("INSERT INTO meta(key, value) VALUES ('created_by', ?)",
                            (f"adcut {__version__}",))

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.con.execute("SELECT key, value FROM meta")}

    # -- sources ------------------------------------------------------------------------------
    def source_by_path(self, kind: str, path: str) -> sqlite3.Row | None:
        return self.con.execute("SELECT * FROM sources WHERE kind = ? AND path = ?",
                                (kind, path)).fetchone()

    def source_by_id(self, source_id: str) -> sqlite3.Row | None:
        return self.con.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()

    def sources(self, kind: str | None = None) -> list[sqlite3.Row]:
        if kind is None:
            return self.con.execute("SELECT * FROM sources ORDER BY path").fetchall()
        return self.con.execute("SELECT * FROM sources WHERE kind = ? ORDER BY path",
                                (kind,)).fetchall()

    def touch_source(self, source_id: str, *, path: str, mtime_ns: int,
                     replaces: str | None = None) -> None:
        """Record that a known file moved or was touched without changing its content;
        `replaces` is the source that was at `path` before (its content was overwritten by
        this one's), removed in the same transaction."""
        with self.transaction() as con:
            if replaces is not None and replaces != source_id:
                con.execute("DELETE FROM sources WHERE id = ?", (replaces,))
            con.execute("UPDATE sources SET path = ?, mtime_ns = ? WHERE id = ?",
                        (path, mtime_ns, source_id))

    def encoders_in_use(self, kind: str) -> set[tuple[str, str]]:
        """(encoder, version) pairs of the stored embeddings of one kind ('frames', ...)."""
        rows = self.con.execute(
            "SELECT DISTINCT encoder, encoder_version FROM embeddings WHERE kind = ?", (kind,))
        return {(r[0], r[1]) for r in rows}

    def write_bundle(self, bundle: SourceBundle, *, replaces: str | Iterable[str] | None = None,
                     meta: dict[str, str] | None = None) -> None:
        """Insert one file's records atomically, replacing the given older sources (an older
        version of the file, or its own records when they are rebuilt)."""
        s = bundle.source
        if isinstance(replaces, str):
            replaces = [replaces]
        with self.transaction() as con:
            for old_id in replaces or ():
                con.execute("DELETE FROM sources WHERE id = ?", (old_id,))
            con.execute(
                "INSERT INTO sources (id, kind, path, content_hash, size_bytes, mtime_ns, "
                "container, duration_s, decoded_s, width, height, rotation_deg, fps, is_vfr, "
                "has_audio, warnings, ingested_at, still, captions_hash) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (s.id, s.kind, s.path, s.content_hash, s.size_bytes, s.mtime_ns, s.container,
                 s.duration_s, s.decoded_s, s.width, s.height, s.rotation_deg, s.fps,
                 None if s.is_vfr is None else int(s.is_vfr), int(s.has_audio),
                 json.dumps(s.warnings), _now(), int(s.still), s.captions_hash),
            )
            con.executemany(
                "INSERT INTO embeddings VALUES (?,?,?,?,?,?,?)",
                [(s.id, e.kind, e.encoder, e.encoder_version, e.dim, e.rows, e.path)
                 for e in bundle.embeddings],
            )
            con.executemany(
                "INSERT INTO clips (id, source_id, idx, start_s, end_s, start_f, end_f, emb_row, "
                "thumb, speech_prob, music_prob, has_speech, has_music, labels, transcript, "
                "caption, ocr, ocr_engine) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(c.id, s.id, c.idx, c.start_s, c.end_s, c.start_f, c.end_f, c.emb_row, c.thumb,
                  c.speech_prob, c.music_prob, int(c.has_speech), int(c.has_music),
                  json.dumps(c.labels), c.transcript, c.caption,
                  json.dumps(c.ocr, ensure_ascii=False), c.ocr_engine) for c in bundle.clips],
            )
            con.executemany("INSERT INTO frames VALUES (?,?,?,?)",
                            [(s.id, f.row, f.t_s, f.clip_id) for f in bundle.frames])
            con.executemany("INSERT INTO words VALUES (?,?,?,?,?,?)",
                            [(s.id, i, w.start_s, w.end_s, w.word, w.prob)
                             for i, w in enumerate(bundle.words)])
            con.executemany("INSERT INTO captions VALUES (?,?,?,?,?)",
                            [(s.id, c.start_s, c.end_s, c.text, c.origin)
                             for c in bundle.captions])
            if bundle.track is not None:
                t = bundle.track
                con.execute("INSERT INTO music_tracks VALUES (?,?,?,?,?,?,?,?)",
                            (s.id, t.title, t.tempo_bpm, json.dumps(t.beat_times_s),
                             t.integrated_lufs, t.lra_lu, t.true_peak_dbtp, json.dumps(t.tags)))
            con.executemany(
                "INSERT INTO music_windows (id, source_id, idx, start_s, end_s, emb_row, rms_db, "
                "tags) VALUES (?,?,?,?,?,?,?,?)",
                [(w.id, s.id, w.idx, w.start_s, w.end_s, w.emb_row, w.rms_db, json.dumps(w.tags))
                 for w in bundle.windows],
            )
            for key, value in (meta or {}).items():
                con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def update_texts(self, source_id: str, clips: list[tuple[str, str, list[dict], str | None]],
                     captions: list[CaptionRecord], captions_hash: str | None,
                     texts: EmbeddingRecord | None, mtime_ns: int | None = None) -> None:
        """Replace what a source's clips say (caption, on-screen text) and its sidecar
        captions, with the text embeddings computed from them, in one transaction: `clips` are
        (clip id, caption, ocr items, ocr engine). The video is not decoded again."""
        with self.transaction() as con:
            con.executemany(
                "UPDATE clips SET caption = ?, ocr = ?, ocr_engine = ? WHERE id = ? "
                "AND source_id = ?",
                [(caption, json.dumps(ocr, ensure_ascii=False), engine, clip_id, source_id)
                 for clip_id, caption, ocr, engine in clips])
            con.execute("DELETE FROM captions WHERE source_id = ? AND origin LIKE 'sidecar:%'",
                        (source_id,))
            con.executemany("INSERT INTO captions VALUES (?,?,?,?,?)",
                            [(source_id, c.start_s, c.end_s, c.text, c.origin)
                             for c in captions if c.origin.startswith("sidecar:")])
            con.execute("UPDATE sources SET captions_hash = ? WHERE id = ?",
                        (captions_hash, source_id))
            if mtime_ns is not None:
                con.execute("UPDATE sources SET mtime_ns = ? WHERE id = ?", (mtime_ns, source_id))
            if texts is not None:
                con.execute("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?,?,?)",
                            (source_id, texts.kind, texts.encoder, texts.encoder_version,
                             texts.dim, texts.rows, texts.path))

    # -- reading ------------------------------------------------------------------------------
    def clips(self, source_id: str | None = None) -> list[sqlite3.Row]:
        if source_id is None:
            return self.con.execute(
                "SELECT c.*, s.path FROM clips c JOIN sources s ON s.id = c.source_id "
                "ORDER BY s.path, c.idx").fetchall()
        return self.con.execute("SELECT * FROM clips WHERE source_id = ? ORDER BY idx",
                                (source_id,)).fetchall()

    def windows(self, source_id: str | None = None) -> list[sqlite3.Row]:
        if source_id is None:
            return self.con.execute("SELECT * FROM music_windows ORDER BY source_id, idx").fetchall()
        return self.con.execute("SELECT * FROM music_windows WHERE source_id = ? ORDER BY idx",
                                (source_id,)).fetchall()

    def tracks(self) -> list[sqlite3.Row]:
        return self.con.execute(
            "SELECT t.*, s.path, s.duration_s FROM music_tracks t "
            "JOIN sources s ON s.id = t.source_id ORDER BY s.path").fetchall()

    def embedding(self, source_id: str, kind: str) -> sqlite3.Row | None:
        return self.con.execute("SELECT * FROM embeddings WHERE source_id = ? AND kind = ?",
                                (source_id, kind)).fetchone()

    def embeddings(self, source_id: str | None = None) -> list[sqlite3.Row]:
        """Every stored array's record (of one source, or of all), with its source's path."""
        sql = ("SELECT e.*, s.path AS source_path FROM embeddings e "
               "JOIN sources s ON s.id = e.source_id")
        if source_id is None:
            return self.con.execute(sql + " ORDER BY e.source_id, e.kind").fetchall()
        return self.con.execute(sql + " WHERE e.source_id = ? ORDER BY e.kind",
                                (source_id,)).fetchall()

    def thumbs(self, source_id: str | None = None) -> list[sqlite3.Row]:
        """(source_id, id, thumb) of every clip (of one source, or of all)."""
        if source_id is None:
            return self.con.execute("SELECT source_id, id, thumb FROM clips "
                                    "ORDER BY source_id, idx").fetchall()
        return self.con.execute("SELECT source_id, id, thumb FROM clips WHERE source_id = ? "
                                "ORDER BY idx", (source_id,)).fetchall()

    def counts(self) -> dict[str, int]:
        q = self.con.execute
        return {
            "footage_files": q("SELECT COUNT(*) FROM sources WHERE kind='footage'").fetchone()[0],
            "music_tracks": q("SELECT COUNT(*) FROM sources WHERE kind='music'").fetchone()[0],
            "clips": q("SELECT COUNT(*) FROM clips").fetchone()[0],
            "frames": q("SELECT COUNT(*) FROM frames").fetchone()[0],
            "music_windows": q("SELECT COUNT(*) FROM music_windows").fetchone()[0],
            "clips_with_speech": q("SELECT COUNT(*) FROM clips WHERE has_speech").fetchone()[0],
            "captions": q("SELECT COUNT(*) FROM captions").fetchone()[0],
        }

    def durations(self) -> dict[str, float]:
        q = self.con.execute
        return {
            "footage_s": q("SELECT COALESCE(SUM(decoded_s),0) FROM sources "
                           "WHERE kind='footage'").fetchone()[0],
            "music_s": q("SELECT COALESCE(SUM(decoded_s),0) FROM sources "
                         "WHERE kind='music'").fetchone()[0],
        }
