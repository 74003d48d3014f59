"""The library folder's SQLite catalog: opening, migrating, reading and writing.

One file, WAL mode, one transaction per ingested file, so an interrupted ingest leaves either
the whole file or nothing. A catalog from a newer adcut is refused before anything is written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from adcut import __version__
from adcut.core.errors import LibraryError, SchemaTooNewError
from adcut.library.schema import MIGRATIONS, SCHEMA_VERSION

CATALOG_NAME = "catalog.sqlite"


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


def read_schema_version(path: Path) -> int | None:
    """The schema version of an existing catalog, read without modifying it (None if absent)."""
    if not path.exists():
        return None
    # immutable=1 reads without creating -wal/-shm files, so a refused library is left exactly
    # as it was; it is only safe when no write-ahead log holds newer pages.
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size > 0 else "immutable=1"
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise LibraryError(
            f"{path} is not an adcut catalog ({exc})",
            hint="point --library at an adcut library folder or a new empty folder",
        ) from exc
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
        version = read_schema_version(self.path)
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"library {self.folder} has catalog schema v{version}; this adcut {__version__} "
                f"knows up to v{SCHEMA_VERSION}",
                hint="upgrade adcut to use it; the library was left untouched",
            )
        if version is None and (readonly or not create):
            raise LibraryError(f"{self.folder} is not an adcut library (no {CATALOG_NAME})",
                               hint="create one with: adcut ingest FOOTAGE... --library "
                                    f"{self.folder}")
        if readonly:
            self.con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are explicit (see transaction()).
            self.con = sqlite3.connect(self.path, isolation_level=None)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("PRAGMA foreign_keys=ON")
        self.con.row_factory = sqlite3.Row
        if not readonly:
            self._migrate(version or 0)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything inside commits together or not at all."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

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

    def touch_source(self, source_id: str, *, path: str, mtime_ns: int) -> None:
        """Record that a known file moved or was touched without changing its content."""
        with self.transaction() as con:
            con.execute("UPDATE sources SET path = ?, mtime_ns = ? WHERE id = ?",
                        (path, mtime_ns, source_id))

    def encoders_in_use(self, kind: str) -> set[tuple[str, str]]:
        """(encoder, version) pairs of the stored embeddings of one kind ('frames', ...)."""
        rows = self.con.execute(
            "SELECT DISTINCT encoder, encoder_version FROM embeddings WHERE kind = ?", (kind,))
        return {(r[0], r[1]) for r in rows}

    def write_bundle(self, bundle: SourceBundle, *, replaces: str | None = None,
                     meta: dict[str, str] | None = None) -> None:
        """Insert one file's records atomically, replacing an older version of it if given."""
        s = bundle.source
        with self.transaction() as con:
            if replaces is not None:
                con.execute("DELETE FROM sources WHERE id = ?", (replaces,))
            con.execute(
                "INSERT INTO sources (id, kind, path, content_hash, size_bytes, mtime_ns, "
                "container, duration_s, decoded_s, width, height, rotation_deg, fps, is_vfr, "
                "has_audio, warnings, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (s.id, s.kind, s.path, s.content_hash, s.size_bytes, s.mtime_ns, s.container,
                 s.duration_s, s.decoded_s, s.width, s.height, s.rotation_deg, s.fps,
                 None if s.is_vfr is None else int(s.is_vfr), int(s.has_audio),
                 json.dumps(s.warnings), _now()),
            )
            con.executemany(
                "INSERT INTO embeddings VALUES (?,?,?,?,?,?,?)",
                [(s.id, e.kind, e.encoder, e.encoder_version, e.dim, e.rows, e.path)
                 for e in bundle.embeddings],
            )
            con.executemany(
                "INSERT INTO clips (id, source_id, idx, start_s, end_s, start_f, end_f, emb_row, "
                "thumb, speech_prob, music_prob, has_speech, has_music, labels, transcript, "
                "caption) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(c.id, s.id, c.idx, c.start_s, c.end_s, c.start_f, c.end_f, c.emb_row, c.thumb,
                  c.speech_prob, c.music_prob, int(c.has_speech), int(c.has_music),
                  json.dumps(c.labels), c.transcript, c.caption) for c in bundle.clips],
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
