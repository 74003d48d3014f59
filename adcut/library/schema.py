"""The catalog schema and its migrations.

Every change to the schema is a new entry in MIGRATIONS, applied in order inside one
transaction; the version reached is stored in `meta.schema_version`. A catalog whose version
is newer than the last migration here was written by a newer adcut and is refused.
"""

from __future__ import annotations

SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per ingested file (footage or music), keyed by its content.
CREATE TABLE sources (
    id            TEXT PRIMARY KEY,            -- 'f' (footage) or 'm' (music) + 15 hex of content_hash
    kind          TEXT NOT NULL CHECK (kind IN ('footage', 'music')),
    path          TEXT NOT NULL,               -- absolute path when ingested
    content_hash  TEXT NOT NULL,               -- blake2b-256 of the file's bytes
    size_bytes    INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    container     TEXT NOT NULL,
    duration_s    REAL NOT NULL,               -- probed duration
    decoded_s     REAL NOT NULL,               -- how much actually decoded (less when truncated)
    width         INTEGER,                     -- display size, after rotation
    height        INTEGER,
    rotation_deg  INTEGER,
    fps           REAL,
    is_vfr        INTEGER,
    has_audio     INTEGER NOT NULL,
    warnings      TEXT NOT NULL DEFAULT '[]',  -- JSON list of strings
    ingested_at   TEXT NOT NULL,
    UNIQUE (kind, path)
);

-- Which encoder produced each stored embedding array, so mixing encoders is detected.
CREATE TABLE embeddings (
    source_id        TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,            -- 'frames' | 'clips' | 'windows'
    encoder          TEXT NOT NULL,
    encoder_version  TEXT NOT NULL,
    dim              INTEGER NOT NULL,
    rows             INTEGER NOT NULL,
    path             TEXT NOT NULL,            -- relative to the library folder
    PRIMARY KEY (source_id, kind)
);

-- Footage shots (after splitting over-long takes). vec_id is the FAISS id; AUTOINCREMENT so an
-- id is never reused after a source is replaced and a stale index entry can never alias.
CREATE TABLE clips (
    vec_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,         -- "{source_id}-{idx:04d}"
    source_id    TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    start_s      REAL NOT NULL,
    end_s        REAL NOT NULL,
    start_f      INTEGER NOT NULL,             -- in the analysis frame rate (sources.fps)
    end_f        INTEGER NOT NULL,
    emb_row      INTEGER NOT NULL,             -- row in the source's 'clips' array
    thumb        TEXT NOT NULL,                -- JPEG, relative to the library folder
    speech_prob  REAL,                         -- max AudioSet 'Speech' score over the clip; NULL without audio
    music_prob   REAL,
    has_speech   INTEGER NOT NULL DEFAULT 0,
    has_music    INTEGER NOT NULL DEFAULT 0,
    labels       TEXT NOT NULL DEFAULT '[]',   -- JSON [[label, prob], ...] from the vision encoder's classes
    transcript   TEXT NOT NULL DEFAULT '',
    caption      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX clips_source ON clips(source_id, idx);

-- The frames sampled (1 per second, at least one per clip) and embedded.
CREATE TABLE frames (
    source_id  TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    row        INTEGER NOT NULL,               -- row in the source's 'frames' array
    t_s        REAL NOT NULL,
    clip_id    TEXT NOT NULL,
    PRIMARY KEY (source_id, row)
);

-- Speech in footage, word by word.
CREATE TABLE words (
    source_id  TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    start_s    REAL NOT NULL,
    end_s      REAL NOT NULL,
    word       TEXT NOT NULL,
    prob       REAL,
    PRIMARY KEY (source_id, idx)
);

-- Human or model descriptions of footage (sidecar files or a captioner); NULL times = whole file.
CREATE TABLE captions (
    source_id  TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    start_s    REAL,
    end_s      REAL,
    text       TEXT NOT NULL,
    origin     TEXT NOT NULL                   -- 'sidecar:<file>' | 'captioner:<model>'
);
CREATE INDEX captions_source ON captions(source_id);

CREATE TABLE music_tracks (
    source_id        TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    tempo_bpm        REAL NOT NULL,            -- 0 when no steady pulse
    beat_times_s     TEXT NOT NULL,            -- JSON list
    integrated_lufs  REAL,                     -- NULL for silence
    lra_lu           REAL,
    true_peak_dbtp   REAL,
    tags             TEXT NOT NULL             -- JSON [[AudioSet class, mean score], ...], best first
);

-- Fixed-length windows of each track, embedded, so planning can pick the best stretch.
CREATE TABLE music_windows (
    vec_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,           -- "{source_id}-w{idx:03d}"
    source_id  TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    start_s    REAL NOT NULL,
    end_s      REAL NOT NULL,
    emb_row    INTEGER NOT NULL,
    rms_db     REAL NOT NULL,
    tags       TEXT NOT NULL                   -- JSON, as music_tracks.tags, for this window
);
CREATE INDEX music_windows_source ON music_windows(source_id, idx);
"""

# Version 2: text read on screen (OCR) per clip, still images as footage, and the sidecar
# captions each source was ingested with (so captions added later are picked up).
SCHEMA_V2 = """
-- On-screen text of the clip's middle frame: JSON [{"text": str, "box": [x0, y0, x1, y1],
-- "score": float}, ...], boxes normalised 0-1 to the source frame, in reading order.
ALTER TABLE clips ADD COLUMN ocr TEXT NOT NULL DEFAULT '[]';
-- The OCR engine and version that read it; NULL: not read (older adcut, or --ocr none).
ALTER TABLE clips ADD COLUMN ocr_engine TEXT;
-- 1 when the source is a still image (rendered with a slow pan/zoom), 0 for video.
ALTER TABLE sources ADD COLUMN still INTEGER NOT NULL DEFAULT 0;
-- Hash of the sidecar captions (NAME.txt, captions.jsonl lines) that applied at ingest;
-- NULL for music and for sources ingested before version 2.
ALTER TABLE sources ADD COLUMN captions_hash TEXT;
"""

# Version 3: RQ-VAE tokens (adcut.tokens) of every frame and music window, per tokenizer.
SCHEMA_V3 = """
-- A tokenizer whose tokens the catalog holds, identified by its weights and config.
CREATE TABLE tokenizers (
    id               TEXT PRIMARY KEY,         -- blake2b of config.json and model.safetensors
    modality         TEXT NOT NULL CHECK (modality IN ('video', 'audio')),
    encoder          TEXT NOT NULL,            -- the embedding it applies to (embeddings.encoder)
    encoder_version  TEXT NOT NULL,
    levels           INTEGER NOT NULL,
    codebook_size    INTEGER NOT NULL,
    path             TEXT NOT NULL,            -- the folder it was read from (absolute)
    added_at         TEXT NOT NULL
);

-- The codes of one embedding array of a source ('frames' of footage, 'windows' of music):
-- rows x levels, row-major, uint8 (uint16 little-endian when codebook_size > 256).
CREATE TABLE tokens (
    tokenizer_id  TEXT NOT NULL REFERENCES tokenizers(id) ON DELETE CASCADE,
    source_id     TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('frames', 'windows')),
    rows          INTEGER NOT NULL,
    codes         BLOB NOT NULL,
    PRIMARY KEY (tokenizer_id, source_id, kind)
);
"""

# version -> SQL that brings a catalog from version-1 to version. Version 1 creates everything.
MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2, 3: SCHEMA_V3}
SCHEMA_VERSION = max(MIGRATIONS)
