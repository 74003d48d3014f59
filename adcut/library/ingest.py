"""Ingest: footage and music files become catalog rows, embeddings, thumbnails and indexes.

Per footage file there is exactly one full video decode (ffmpeg, downscaled frames on a pipe):
the frames feed the shot detector, a 1 fps grid of them feeds the vision encoder on a worker
thread while decoding goes on, and a 4 fps cache of small JPEGs provides thumbnails and the
frames of clips too short to hold a grid frame. The audio track is decoded separately (cheap)
for speech/music detection and, when there is speech, transcription.

Each file's results are written in one catalog transaction after its arrays and thumbnails are
on disk, so an interrupted run leaves whole files or nothing, and a re-run resumes. A file that
fails half way (a full disk, Ctrl-C) takes the arrays and thumbnails it had written with it.

The whole run holds the library's writer lock (adcut.library.lock): a second ingest into the
same library waits, then finds the files the first one added unchanged. An unchanged file's
arrays (header: shape and type) and thumbnails are verified on every run, at the cost of one
small read per array, and the file is ingested again when they are missing or wrong
(status "repaired").

A library's clip text vectors all come from one text encoder. They are derived from what the
catalog holds (captions, speech, labels, on-screen text), so an ingest whose text encoder is not
the one they came from (a library made before the default changed, or `--text` naming another)
makes them all again from the catalog, without decoding anything, instead of refusing as it
does for another vision or audio encoder (see `Ingester._match_text_encoder`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from adcut.core.errors import (AdcutError, BadInputError, EncoderMismatchError, LibraryError,
                               MediaError, SchemaTooNewError)
from adcut.encoders.registry import DEFAULT_TEXT, text_encoder_name
from adcut.library.captioner import Captioner
from adcut.library.catalog import (
    CaptionRecord,
    Catalog,
    ocr_text,
    row_ocr,
    refuse_newer_schema,
    ClipRecord,
    EmbeddingRecord,
    FrameRecord,
    SourceBundle,
    SourceRecord,
    TrackRecord,
    WindowRecord,
    WordRecord,
)
from adcut.library.index import SyncReport, sync_index
from adcut.library.lock import library_lock, prepare_library_folder
from adcut.library.looks import LOOKS_DIR, LooksWriter
from adcut.library.sidecar import captions_for_range, captions_hash, load_sidecar_captions
from adcut.library.store import (EMB_DIR, THUMB_DIR, array_problem, hash_file, save_embeddings,
                                 write_library_file)

log = logging.getLogger(__name__)

VIDEO_EXTS = frozenset(
    ".mp4 .mov .m4v .mkv .webm .avi .mts .m2ts .ts .3gp .flv .wmv .mpg .mpeg .mxf".split())
AUDIO_EXTS = frozenset(".mp3 .wav .flac .m4a .aac .ogg .opus .wma .aif .aiff".split())
# Smaller pictures cannot be scaled and padded by the render's filters ("Error reinitializing
# filters"), and hold nothing an ad could show.
MIN_VIDEO_SIDE_PX = 16


@dataclass(frozen=True)
class IngestOptions:
    music: bool = False
    vision: str = "efficientnet-lite0"
    audio: str = "yamnet"
    text: str | None = DEFAULT_TEXT  # clip text embeddings (FAISS "texts" index); None: none
    asr: str | None = "tiny.en"  # None: no transcription
    max_shot_s: float = 8.0  # longer takes are split into near-equal clips no longer than this
    min_shot_s: float = 0.4
    cut_threshold: float = 27.0
    analysis_long_side: int = 384
    analysis_fps_max: float = 30.0
    sample_fps: float = 1.0  # frames embedded per second of footage
    cache_fps: float = 4.0  # small JPEGs kept during decode (thumbnails, short clips)
    speech_threshold: float = 0.5
    music_threshold: float = 0.5
    window_s: float = 10.0  # music windows
    window_hop_s: float = 5.0
    labels_per_clip: int = 5
    tags_per_track: int = 15
    captioner: Captioner | None = None
    ocr: str | None = "rapidocr"  # text on screen, read on each clip's middle frame; None: off
    still_s: float = 4.0  # how long the clip of a still image (PNG, JPEG, WebP) lasts


@dataclass
class FileOutcome:
    path: str
    # 'ingested' | 'unchanged' | 'updated' (captions or on-screen text only) | 'moved' |
    # 'repaired' | 'duplicate' | 'skipped'
    status: str
    message: str = ""
    clips: int = 0
    windows: int = 0
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "skipped"


@dataclass
class IngestReport:
    library: str
    outcomes: list[FileOutcome]
    indexes: list[SyncReport]
    elapsed_s: float
    notes: list[str] = field(default_factory=list)  # what the run did to the whole library

    @property
    def exit_code(self) -> int:
        """0 all good, 1 some files skipped, 2 nothing usable."""
        if not self.outcomes or not any(o.ok for o in self.outcomes):
            return 2
        return 0 if all(o.ok for o in self.outcomes) else 1

    def to_json(self) -> dict:
        return {
            "library": self.library,
            "elapsed_s": round(self.elapsed_s, 3),
            "exit_code": self.exit_code,
            "files": [o.__dict__ for o in self.outcomes],
            "indexes": [r.__dict__ for r in self.indexes],
            "notes": list(self.notes),
        }


class ProgressSink(Protocol):
    def start(self, files: int, total_s: float) -> None: ...
    def file_started(self, path: Path, duration_s: float) -> None: ...
    def advance(self, seconds: float = 0.0, shots: int = 0, frames: int = 0) -> None: ...
    def file_done(self, outcome: FileOutcome) -> None: ...


class NullProgress:
    def start(self, files: int, total_s: float) -> None:
        pass

    def file_started(self, path: Path, duration_s: float) -> None:
        pass

    def advance(self, seconds: float = 0.0, shots: int = 0, frames: int = 0) -> None:
        pass

    def file_done(self, outcome: FileOutcome) -> None:
        pass


# -- discovery ------------------------------------------------------------------------------

def discover(paths: Sequence[Path], *, music: bool) -> tuple[list[Path], list[FileOutcome]]:
    """Files to ingest (folders searched recursively for media of the right kind: video and
    still images for footage, audio for music), and one outcome per argument that cannot be
    used. Explicit files are taken whatever their name."""
    from adcut.media.stills import STILL_EXTS

    wanted = AUDIO_EXTS if music else VIDEO_EXTS | STILL_EXTS
    found: list[Path] = []
    problems: list[FileOutcome] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        # Absolute, but symlinks kept: a linked file's sidecar captions live beside the link.
        resolved = Path(os.path.abspath(p))
        if resolved not in seen:
            seen.add(resolved)
            found.append(resolved)

    for arg in paths:
        p = Path(os.path.abspath(Path(arg).expanduser()))
        if not p.exists():
            problems.append(FileOutcome(str(arg), "skipped", "path does not exist"))
        elif p.is_dir():
            matches = sorted(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in wanted
                and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not matches:
                kind = "audio" if music else "video or image"
                problems.append(FileOutcome(str(arg), "skipped", f"folder holds no {kind} files"))
            for f in matches:
                add(f)
        else:
            add(p)
    return found, problems


# -- helpers (pure) -----------------------------------------------------------------------------

def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def top_k(scores: np.ndarray, names: Sequence[str], k: int) -> list[tuple[str, float]]:
    order = np.argsort(-scores)[:k]
    return [(names[i], round(float(scores[i]), 4)) for i in order]


def patch_max(times_s: np.ndarray, patch_s: float, scores: np.ndarray,
              start_s: float, end_s: float) -> float:
    """Highest score among the audio patches overlapping [start_s, end_s)."""
    mask = (times_s < end_s) & (times_s + patch_s > start_s)
    return float(scores[mask].max()) if mask.any() else 0.0


def window_starts(duration_s: float, window_s: float, hop_s: float) -> list[float]:
    """Start times of fixed windows covering a track; one shorter window for a short track."""
    if duration_s <= window_s:
        return [0.0]
    starts = list(np.arange(0.0, duration_s - window_s + 1e-6, hop_s))
    if duration_s - (starts[-1] + window_s) > hop_s / 2:  # keep the ending reachable
        starts.append(duration_s - window_s)
    return [round(float(s), 3) for s in starts]


def _jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _unjpeg(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _encoder_id(encoder) -> tuple[str, str]:
    return encoder.name, encoder.version


# -- the pipeline ---------------------------------------------------------------------------

class Ingester:
    def __init__(self, folder: Path, options: IngestOptions, progress: ProgressSink | None = None,
                 on_wait: Callable[[str], None] | None = None):
        self.folder = Path(folder)
        self.options = options
        self.progress = progress or NullProgress()
        self.on_wait = on_wait  # told once when another writer holds the library
        self._vision = None
        self._audio = None
        self._text = None
        self._ocr = None
        self._encoders_checked = False
        self._texts_matched = False
        self.notes: list[str] = []
        self._written: list[Path] = []  # files of the file in progress, removed if it fails
        self._stored: StoredFiles | None = None

    # Models load only when a file actually needs them: an unchanged re-run loads none.
    @property
    def vision(self):
        if self._vision is None:
            from adcut.encoders.registry import load_vision_encoder

            self._vision = load_vision_encoder(self.options.vision)
        return self._vision

    @property
    def text(self):
        if self._text is None:
            from adcut.encoders.registry import load_text_encoder

            self._text = load_text_encoder(self.options.text)
        return self._text

    @property
    def ocr(self):
        if self._ocr is None:
            from adcut.encoders.ocr import load_ocr

            self._ocr = load_ocr(self.options.ocr)
        return self._ocr

    @property
    def audio(self):
        if self._audio is None:
            from adcut.encoders.registry import load_audio_encoder

            self._audio = load_audio_encoder(self.options.audio)
        return self._audio

    def run(self, paths: Sequence[Path]) -> IngestReport:
        started = time.perf_counter()
        kind = "music" if self.options.music else "footage"
        files, outcomes = discover(paths, music=self.options.music)
        new_library = not self.folder.exists()
        if not files and new_library:  # nothing to ingest: no empty library is left behind
            return IngestReport(str(self.folder), outcomes, [], time.perf_counter() - started)
        try:  # a library from a newer adcut is refused before the lock file is made
            refuse_newer_schema(self.folder)
        except SchemaTooNewError:
            raise
        except LibraryError:
            pass  # e.g. a catalog another ingest is creating: decided again under the lock
        prepare_library_folder(self.folder)
        with library_lock(self.folder, purpose="adcut ingest", on_wait=self.on_wait), \
                Catalog(self.folder) as catalog:
            if kind == "footage":
                self._match_text_encoder(catalog, load=False)
            self._stored = StoredFiles.read(catalog)
            todo: list[tuple[Path, os.stat_result, str | None]] = []
            for path in files:
                try:
                    st = path.stat()
                except OSError as exc:
                    outcomes.append(FileOutcome(str(path), "skipped",
                                                f"cannot be read ({exc.strerror})"))
                    continue
                known = catalog.source_by_path(kind, str(path))
                if known is not None and known["size_bytes"] == st.st_size and \
                        known["mtime_ns"] == st.st_mtime_ns:
                    problem = self._stored.problem(known["id"])
                    if problem is None:
                        outcomes.append(self._refresh_texts(catalog, known, path))
                        continue
                    todo.append((path, st, problem))
                else:
                    todo.append((path, st, None))
            outcomes.extend(self.ingest_files(catalog, kind, todo))
            indexes = [sync_index(catalog, name) for name in ("clips", "texts", "music")]
        order = {str(p): i for i, p in enumerate(files)}
        outcomes.sort(key=lambda o: order.get(o.path, -1))
        if new_library and not any(o.ok for o in outcomes):
            # Made by this run and holding nothing: a typo in a path leaves no empty library.
            shutil.rmtree(self.folder, ignore_errors=True)
        return IngestReport(str(self.folder), outcomes, indexes, time.perf_counter() - started,
                            self.notes)

    def ingest_files(self, catalog: Catalog, kind: str,
                     todo: Sequence[tuple[Path, os.stat_result, str | None]]) -> list[FileOutcome]:
        """Probe and ingest files (each with what is wrong with its stored files, when it is
        known and being repaired); the caller holds the library lock."""
        if self._stored is None:
            self._stored = StoredFiles.read(catalog)
        outcomes: list[FileOutcome] = []
        probed = self._probe_all(todo, outcomes)
        self.progress.start(len(probed), sum(info.duration_s for _, _, info, _ in probed))
        for path, st, info, problem in probed:
            self.progress.file_started(path, info.duration_s)
            try:
                outcome = self._ingest_one(catalog, kind, path, st, info, problem)
            except MediaError as exc:
                outcome = FileOutcome(str(path), "skipped", _one_line(exc, path))
            outcomes.append(outcome)
            self.progress.file_done(outcome)
        return outcomes

    def _probe_all(self, todo, outcomes):
        from adcut.media.probe import probe_media

        from adcut.media.stills import is_still, still_size

        probed = []
        for path, st, problem in todo:
            try:
                if not self.options.music and is_still(path):
                    width, height = still_size(path)
                    probed.append((path, st, StillInfo(width, height, self.options.still_s,
                                                       path.suffix.lower().lstrip(".")), problem))
                    continue
                info = probe_media(path)
                if self.options.music:
                    if info.audio is None:
                        raise MediaError("no audio stream: nothing to use as music")
                elif info.video is None:
                    raise MediaError("no video stream (audio only)",
                                     hint="ingest music with --music")
                elif min(info.video.width, info.video.height) < MIN_VIDEO_SIDE_PX:
                    raise MediaError(
                        f"the video is {info.video.width}x{info.video.height} pixels, smaller "
                        f"than the {MIN_VIDEO_SIDE_PX}x{MIN_VIDEO_SIDE_PX} minimum",
                        hint="export it at a usable size")
                probed.append((path, st, info, problem))
            except MediaError as exc:
                outcomes.append(FileOutcome(str(path), "skipped", _one_line(exc, path)))
        return probed

    def _check_encoders(self, catalog: Catalog, kind: str) -> None:
        """Refuse to mix vision or audio embeddings from two encoders in one library; text
        vectors from another text encoder are made again (`_match_text_encoder`)."""
        checks = [("windows", self.audio, "--audio")] if kind == "music" else [
            ("frames", self.vision, "--vision")]
        for emb_kind, encoder, flag in checks:
            self._check_encoder(catalog, emb_kind, encoder, flag)
        if kind == "footage":
            self._match_text_encoder(catalog, load=True)

    def _check_encoder(self, catalog: Catalog, emb_kind: str, encoder, flag: str) -> None:
        mine = _encoder_id(encoder)
        others = catalog.encoders_in_use(emb_kind) - {mine}
        if others:
            name, version = sorted(others)[0]
            raise EncoderMismatchError(
                f"library {self.folder} holds {emb_kind} embeddings from {name} "
                f"({version}); this ingest uses {mine[0]} ({mine[1]})",
                hint=f"ingest with {flag} {name}, or into a new library folder")

    def _match_text_encoder(self, catalog: Catalog, *, load: bool) -> None:
        """Make every clip text vector of the library come from this ingest's text encoder.

        Vectors from another encoder (or another version of it) are made again from the
        catalog's clip texts, the whole library in one batch, and swapped in with one
        transaction: the new arrays go under new names (`SOURCE.texts-TAG.npy`, TAG from the
        encoder and its version) and the old ones are deleted after the commit, so an
        interrupted run leaves the old vectors or the new ones, never a mix of encoders (which
        no index could hold). The recorded ingest options name the new encoder, so a later
        `library check --repair` keeps it; the texts index is rebuilt by the run's index sync.

        Without `load` (at the start of a run) the encoders are compared by name, and the
        encoder is loaded only when the names differ, so an unchanged re-run loads no model;
        with `load` (a file is being embedded anyway) versions are compared too."""
        if self._texts_matched or self.options.music or not self.options.text:
            return
        in_use = catalog.encoders_in_use("texts")
        if not load and {name for name, _ in in_use} <= {text_encoder_name(self.options.text)}:
            return
        self._texts_matched = True
        if not in_use:
            return
        encoder = self.text
        mine = _encoder_id(encoder)
        stale = [r for r in catalog.con.execute(
            "SELECT source_id, encoder, encoder_version, rows, path FROM embeddings "
            "WHERE kind = 'texts' ORDER BY source_id").fetchall()
            if (r["encoder"], r["encoder_version"]) != mine]
        if not stale:
            return
        tag = hashlib.sha256("\0".join(mine).encode()).hexdigest()[:8]
        texts: list[str] = []
        places: list[tuple[int, int]] = []  # (index into stale, row of its array)
        for i, r in enumerate(stale):
            for c in catalog.clips(r["source_id"]):
                if 0 <= c["emb_row"] < r["rows"]:
                    places.append((i, c["emb_row"]))
                    texts.append(_row_text(c))
        t0 = time.perf_counter()
        vectors = encoder.encode_texts(texts)
        arrays = [np.zeros((r["rows"], encoder.dim), np.float32) for r in stale]
        for (i, row), vec in zip(places, vectors):
            arrays[i][row] = vec
        written: list[Path] = []
        updates = []
        try:
            for r, arr in zip(stale, arrays):
                rel = f"{EMB_DIR}/{r['source_id']}.texts-{tag}.npy"
                written.append(save_embeddings(self.folder, rel, arr))
                updates.append((*mine, encoder.dim, rel, r["source_id"]))
            recorded = catalog.get_meta("footage_ingest_options")
            with catalog.transaction() as con:
                con.executemany("UPDATE embeddings SET encoder = ?, encoder_version = ?, dim = ?, "
                                "path = ? WHERE source_id = ? AND kind = 'texts'", updates)
                if recorded:
                    try:
                        options = json.loads(recorded)
                        options["text"] = self.options.text
                        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                                    ("footage_ingest_options", json.dumps(options)))
                    except (ValueError, TypeError):
                        pass  # unreadable: `library check` falls back to the catalog's encoders
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        for r in stale:
            old = self.folder / r["path"]
            if old not in written:
                try:
                    old.unlink(missing_ok=True)
                except OSError:
                    pass
        if self._stored is not None:  # it lists the arrays' paths: read it again
            self._stored = StoredFiles.read(catalog)
        before = ", ".join(sorted({name for name, _ in in_use if name != mine[0]})) or \
            "another version"
        self.notes.append(f"clip texts embedded again with {mine[0]} (were {before}): "
                          f"{_count(len(texts), 'clip')} of {_count(len(stale), 'file')} "
                          f"in {time.perf_counter() - t0:.1f} s")
        log.info("%s", self.notes[-1])

    def _ingest_one(self, catalog: Catalog, kind: str, path: Path, st: os.stat_result,
                    info, problem: str | None = None) -> FileOutcome:
        """Ingest one file; `problem` says what is wrong with its stored files when the
        caller already knows it (an unchanged file whose arrays are gone)."""
        content_hash = hash_file(path)
        source_id = f"{kind[0]}{content_hash[:15]}"
        same = catalog.source_by_id(source_id)
        old = catalog.source_by_path(kind, str(path))
        old_id = old["id"] if old is not None and old["id"] != source_id else None
        if same is not None:
            if same["path"] != str(path) and Path(same["path"]).exists():
                return FileOutcome(str(path), "duplicate",
                                   f"same content as {same['path']} (already in the library)",
                                   duration_s=same["decoded_s"])
            if problem is None:
                problem = self._stored.problem(source_id)
            if problem is None:
                catalog.touch_source(source_id, path=str(path), mtime_ns=st.st_mtime_ns,
                                     replaces=old_id)
                if old_id is not None:
                    remove_source_files(self.folder, old_id)
                status = "moved" if same["path"] != str(path) else "unchanged"
                return FileOutcome(str(path), status,
                                   f"moved from {same['path']}" if status == "moved" else "",
                                   duration_s=same["decoded_s"])
        if not self._encoders_checked:  # first file that needs the models: load and check
            self._check_encoders(catalog, kind)
            self._encoders_checked = True
        if same is None:  # what a killed earlier run left of this file is not in the catalog
            remove_source_files(self.folder, source_id)
        self._written = []
        try:
            if kind == "music":
                bundle = self._music_bundle(path, st, info, source_id, content_hash)
            elif isinstance(info, StillInfo):
                bundle = self._still_bundle(path, st, info, source_id, content_hash)
            else:
                bundle = self._footage_bundle(path, st, info, source_id, content_hash)
            encoder = self.audio if kind == "music" else self.vision
            meta = {f"{kind}_encoder": " ".join(_encoder_id(encoder)),
                    f"{kind}_ingest_options": json.dumps(self._recorded_options())}
            # Replaced: the record at this path when it held other content, and this
            # content's own record when it is being repaired.
            replaces = [i for i in (old_id, source_id if same is not None else None) if i]
            catalog.write_bundle(bundle, replaces=replaces, meta=meta)
        except BaseException:
            self._discard_written(catalog, source_id)
            raise
        finally:
            written, self._written = self._written, []
        if old_id is not None:
            remove_source_files(self.folder, old_id)
        if same is not None:  # repaired in place: drop files of clips the new run no longer has
            remove_source_files(self.folder, source_id, keep=set(written))
            self._stored.forget(source_id)
            return FileOutcome(str(path), "repaired", f"{problem}; ingested again",
                               clips=len(bundle.clips), windows=len(bundle.windows),
                               duration_s=bundle.source.decoded_s,
                               warnings=bundle.source.warnings)
        return FileOutcome(str(path), "ingested", "replaced an older version" if old_id else "",
                           clips=len(bundle.clips), windows=len(bundle.windows),
                           duration_s=bundle.source.decoded_s, warnings=bundle.source.warnings)

    def _recorded_options(self) -> dict:
        """The options a later `library check --repair` needs to ingest a file the same way."""
        opt = self.options
        return {"vision": opt.vision, "audio": opt.audio, "text": opt.text, "asr": opt.asr,
                "max_shot_s": opt.max_shot_s, "min_shot_s": opt.min_shot_s,
                "cut_threshold": opt.cut_threshold, "ocr": opt.ocr, "still_s": opt.still_s}

    def _store(self, rel: str, data: bytes) -> None:
        self._written.append(write_library_file(self.folder, rel, data))

    def _store_array(self, rel: str, vectors: np.ndarray) -> None:
        self._written.append(save_embeddings(self.folder, rel, vectors))

    def _discard_written(self, catalog: Catalog, source_id: str) -> None:
        """Remove what the failed file wrote, except files the catalog still refers to (the
        files of a source being repaired in place)."""
        try:
            keep = {self.folder / r["path"] for r in catalog.embeddings(source_id)}
            keep |= {self.folder / r["thumb"] for r in catalog.thumbs(source_id)}
        except AdcutError:
            keep = set()
        for path in self._written:
            if path not in keep:
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass

    # -- footage ----------------------------------------------------------------------------
    def _footage_bundle(self, path: Path, st, info, source_id: str, content_hash: str):
        from adcut.media.frames import FrameReader, analysis_size
        from adcut.media.shots import ShotDetector, split_long_shots

        opt = self.options
        video = info.video
        fps = float(min(video.fps, opt.analysis_fps_max)) if video.fps and video.fps > 0 else 25.0
        width, height = analysis_size(video, opt.analysis_long_side)
        detector = ShotDetector(fps, threshold=opt.cut_threshold, min_shot_s=opt.min_shot_s)
        vision = self.vision
        cache_every = max(1, round(fps / opt.cache_fps))
        sample_step_s = 1.0 / opt.sample_fps
        next_sample_s = sample_step_s / 2  # sample mid-second: away from cut frames

        cache: dict[int, bytes] = {}
        looks = LooksWriter(video.width, video.height)  # what an edit chooses crops from
        grid_times: list[float] = []
        grid_batch: list[np.ndarray] = []
        futures: list[Future] = []
        n_frames = 0
        # One worker: the encoder runs while ffmpeg decodes the next frames.
        with ThreadPoolExecutor(max_workers=1) as pool:
            last_report = 0
            reader = FrameReader(path, info, width=width, height=height, fps=fps)
            for index, t_s, rgb in reader:
                n_frames = index + 1
                detector.push(index, rgb)
                if index % cache_every == 0:
                    cache[index] = _jpeg(rgb)
                looks.offer(t_s, 1 / fps, rgb)
                if t_s + 0.5 / fps >= next_sample_s:
                    grid_times.append(t_s)
                    grid_batch.append(rgb)
                    next_sample_s += sample_step_s
                    if len(grid_batch) == 16:
                        futures.append(pool.submit(vision.encode_images, grid_batch))
                        grid_batch = []
                if index - last_report >= 15:
                    self.progress.advance(seconds=(index - last_report) / fps, frames=index - last_report)
                    last_report = index
            if grid_batch:
                futures.append(pool.submit(vision.encode_images, grid_batch))
            self.progress.advance(seconds=(n_frames - last_report) / fps, frames=n_frames - last_report)
            results = [f.result() for f in futures]
        if n_frames == 0:
            raise MediaError("no decodable video frames (truncated or corrupt)")

        decoded_s = reader.decoded_s
        warnings: list[str] = []
        if reader.truncated:
            warnings.append(f"truncated: only {decoded_s:.1f} s of {info.duration_s:.1f} s "
                            "could be decoded; the rest is not in the library")

        shots = split_long_shots(detector.finish(), n_frames, fps, opt.max_shot_s, opt.min_shot_s)
        self.progress.advance(shots=len(shots))

        grid_emb = np.concatenate([r.embeddings for r in results]) if results else np.zeros(
            (0, vision.dim), np.float32)
        has_probs = bool(results) and results[0].class_probs is not None
        grid_probs = np.concatenate([r.class_probs for r in results]) if has_probs else None

        # Frames per clip: the grid frames inside it, or its middle frame from the JPEG cache.
        cache_keys = np.array(sorted(cache))
        grid_t = np.array(grid_times)
        clip_frames: list[list[int]] = []  # indexes into all_t / all_emb
        all_t: list[float] = list(grid_times)
        extra_imgs: list[np.ndarray] = []
        for ci, (sf, ef) in enumerate(shots):
            start_s, end_s = sf / fps, ef / fps
            inside = np.nonzero((grid_t >= start_s) & (grid_t < end_s))[0].tolist()
            if not inside:
                # min_shot_s exceeds the cache interval, so the nearest cached frame is inside.
                key = int(cache_keys[np.argmin(np.abs(cache_keys - (sf + ef - 1) / 2))])
                extra_imgs.append(_unjpeg(cache[key]))
                inside = [len(all_t)]
                all_t.append(key / fps)
            clip_frames.append(inside)
        all_emb = grid_emb
        all_probs = grid_probs
        if extra_imgs:
            extra = vision.encode_images(extra_imgs)
            all_emb = np.concatenate([grid_emb, extra.embeddings])
            if has_probs:
                all_probs = np.concatenate([grid_probs, extra.class_probs])

        # Audio: speech/music per clip, transcript when there is speech.
        speech, music, words, audio_warn = self._footage_audio(path, info)
        warnings.extend(audio_warn)
        captions, caption_warn = load_sidecar_captions(path)
        warnings.extend(caption_warn)
        sidecar_hash = captions_hash(captions)
        on_screen = self._read_screen_text(
            path, info, [(sf + ef - 1) / 2 / fps for sf, ef in shots])

        clips: list[ClipRecord] = []
        frames: list[FrameRecord] = []
        clip_vecs = np.zeros((len(shots), all_emb.shape[1]), np.float32)
        # Frame rows are stored in time order.
        order = sorted(range(len(all_t)), key=lambda i: all_t[i])
        row_of = {i: r for r, i in enumerate(order)}
        owner: dict[int, str] = {}
        for ci, (sf, ef) in enumerate(shots):
            start_s, end_s = sf / fps, ef / fps
            clip_id = f"{source_id}-{ci:04d}"
            members = clip_frames[ci]
            clip_vecs[ci] = l2_normalise(all_emb[members].mean(axis=0))
            labels = (top_k(all_probs[members].mean(axis=0), vision.class_names,
                            opt.labels_per_clip) if has_probs else [])
            mid_f = (sf + ef - 1) / 2
            thumb_key = int(cache_keys[np.argmin(np.abs(cache_keys - mid_f))])
            thumb_rel = f"{THUMB_DIR}/{clip_id}.jpg"
            self._store(thumb_rel, cache[thumb_key])
            caption = captions_for_range(captions, start_s, end_s)
            if opt.captioner is not None:
                generated = opt.captioner.caption(cache[thumb_key])
                captions.append(CaptionRecord(start_s, end_s, generated, opt.captioner.origin))
                caption = f"{caption} {generated}".strip()
            sp = None if speech is None else patch_max(*speech, start_s, end_s)
            mu = None if music is None else patch_max(*music, start_s, end_s)
            clips.append(ClipRecord(
                id=clip_id, idx=ci, start_s=round(start_s, 6), end_s=round(end_s, 6),
                start_f=sf, end_f=ef, emb_row=ci, thumb=thumb_rel,
                speech_prob=sp, music_prob=mu,
                has_speech=sp is not None and sp >= opt.speech_threshold,
                has_music=mu is not None and mu >= opt.music_threshold,
                labels=labels,
                transcript=_transcript(words, start_s, end_s),
                caption=caption, ocr=on_screen[ci], ocr_engine=self._ocr_engine()))
            for m in members:
                owner[m] = clip_id
        for i in order:
            frames.append(FrameRecord(row_of[i], round(all_t[i], 6), owner.get(i, "")))

        frames_rel = f"{EMB_DIR}/{source_id}.frames.npy"
        clips_rel = f"{EMB_DIR}/{source_id}.clips.npy"
        self._store(f"{LOOKS_DIR}/{source_id}.npz", looks.finish())
        self._store_array(frames_rel, all_emb[order])
        self._store_array(clips_rel, clip_vecs)
        name, version = _encoder_id(vision)
        embeddings = [
            EmbeddingRecord("frames", name, version, vision.dim, len(order), frames_rel),
            EmbeddingRecord("clips", name, version, vision.dim, len(shots), clips_rel)]
        if opt.text:  # what each clip shows, in words, for text retrieval at planning time
            embeddings.append(self._store_texts(source_id, clips))
        source = self._source_record(path, st, info, source_id, content_hash, "footage",
                                     decoded_s, warnings, fps)
        source = replace(source, captions_hash=sidecar_hash)
        return SourceBundle(
            source=source,
            embeddings=embeddings,
            clips=clips, frames=frames,
            words=[WordRecord(w.start_s, w.end_s, w.text, w.prob) for w in words],
            captions=captions)

    def _store_texts(self, source_id: str, clips: list[ClipRecord],
                     texts_rel: str | None = None) -> EmbeddingRecord:
        """Embed what each clip shows (caption, speech, labels, on-screen text) and store it
        (at `texts_rel`, by default SOURCE.texts.npy)."""
        texts_rel = texts_rel or f"{EMB_DIR}/{source_id}.texts.npy"
        vectors = self.text.encode_texts([clip_text(c.caption, c.transcript,
                                                    [n for n, _ in c.labels], c.ocr_text)
                                          for c in clips])
        self._store_array(texts_rel, vectors)
        return EmbeddingRecord("texts", *_encoder_id(self.text), self.text.dim, len(clips),
                               texts_rel)

    def _ocr_engine(self) -> str | None:
        return self.ocr.engine_id if self.options.ocr else None

    def _read_screen_text(self, path: Path, info, times_s: list[float]) -> list[list[dict]]:
        """The text on screen at each time (one frame per clip, see adcut.encoders.ocr)."""
        if not self.options.ocr or not times_s:
            return [[] for _ in times_s]
        from adcut.encoders.ocr import READ_LONG_SIDE
        from adcut.media.frames import grab_frames

        reader = self.ocr
        frames = grab_frames(path, info, times_s, long_side=READ_LONG_SIDE)
        return [reader.read(f) if f is not None else [] for f in frames]

    # -- stills -------------------------------------------------------------------------------
    def _still_bundle(self, path: Path, st, info: StillInfo, source_id: str, content_hash: str):
        """A still image: one clip of `still_s` seconds, its embedding, labels, thumbnail, text
        on screen and sidecar captions (no decode pass, no audio)."""
        from adcut.media.stills import load_still

        opt = self.options
        rgb = load_still(path)
        vision = self.vision
        result = vision.encode_images([rgb])
        self.progress.advance(seconds=info.duration_s, frames=1, shots=1)
        clip_id = f"{source_id}-0000"
        thumb_rel = f"{THUMB_DIR}/{clip_id}.jpg"
        self._store(thumb_rel, _jpeg(_thumbnail(rgb, opt.analysis_long_side)))
        captions, warnings = load_sidecar_captions(path)
        sidecar_hash = captions_hash(captions)
        caption = captions_for_range(captions, 0.0, info.duration_s)
        if opt.captioner is not None:
            generated = opt.captioner.caption(_jpeg(_thumbnail(rgb, opt.analysis_long_side)))
            captions.append(CaptionRecord(0.0, info.duration_s, generated, opt.captioner.origin))
            caption = f"{caption} {generated}".strip()
        labels = (top_k(result.class_probs[0], vision.class_names, opt.labels_per_clip)
                  if result.class_probs is not None else [])
        fps = STILL_FPS
        clip = ClipRecord(
            id=clip_id, idx=0, start_s=0.0, end_s=round(info.duration_s, 6), start_f=0,
            end_f=max(1, round(info.duration_s * fps)), emb_row=0, thumb=thumb_rel,
            speech_prob=None, music_prob=None, has_speech=False, has_music=False, labels=labels,
            transcript="", caption=caption,
            ocr=self.ocr.read(rgb) if opt.ocr else [], ocr_engine=self._ocr_engine())
        vec = l2_normalise(result.embeddings[:1])
        frames_rel = f"{EMB_DIR}/{source_id}.frames.npy"
        clips_rel = f"{EMB_DIR}/{source_id}.clips.npy"
        self._store_array(frames_rel, vec)
        self._store_array(clips_rel, vec)
        name, version = _encoder_id(vision)
        embeddings = [EmbeddingRecord("frames", name, version, vision.dim, 1, frames_rel),
                      EmbeddingRecord("clips", name, version, vision.dim, 1, clips_rel)]
        if opt.text:
            embeddings.append(self._store_texts(source_id, [clip]))
        source = SourceRecord(
            id=source_id, kind="footage", path=str(path), content_hash=content_hash,
            size_bytes=st.st_size, mtime_ns=st.st_mtime_ns, container=info.container,
            duration_s=round(info.duration_s, 6), decoded_s=round(info.duration_s, 6),
            width=info.width, height=info.height, rotation_deg=0, fps=float(fps), is_vfr=False,
            has_audio=False, warnings=warnings, still=True, captions_hash=sidecar_hash)
        return SourceBundle(source=source, embeddings=embeddings, clips=[clip],
                            frames=[FrameRecord(0, 0.0, clip_id)], captions=captions)

    # -- captions and on-screen text of files already in the library ----------------------------
    def _refresh_texts(self, catalog: Catalog, known, path: Path) -> FileOutcome:
        """An unchanged footage file: update what its clips say when its sidecar captions
        changed since ingest, or read their on-screen text when it was never read (a library
        from before OCR), without decoding the video again: one frame per clip is read for
        OCR, and the clips' text embeddings are recomputed. Otherwise it is 'unchanged'."""
        unchanged = FileOutcome(str(path), "unchanged", duration_s=known["decoded_s"])
        if known["kind"] != "footage":
            return unchanged
        source_id = known["id"]
        captions, _ = load_sidecar_captions(path)
        new_hash = captions_hash(captions)
        stored = catalog.con.execute("SELECT start_s, end_s, text, origin FROM captions "
                                     "WHERE source_id = ?", (source_id,)).fetchall()
        old_caps = [CaptionRecord(r["start_s"], r["end_s"], r["text"], r["origin"])
                    for r in stored]
        old_hash = known["captions_hash"] or captions_hash(old_caps)
        rows = catalog.clips(source_id)
        unread = [r for r in rows if row_ocr(r)[1] is None] if self.options.ocr else []
        reasons = []
        if new_hash != old_hash:
            reasons.append("captions updated")
        if unread:
            reasons.append(f"on-screen text read in {len(unread)} clip"
                           + ("s" if len(unread) != 1 else ""))
        if not reasons:
            if known["captions_hash"] is None:  # remember it, so later runs compare cheaply
                catalog.update_texts(source_id, [(r["id"], r["caption"], *row_ocr(r))
                                                 for r in rows], old_caps, new_hash, None)
            return unchanged
        try:
            read = self._read_unread(path, known, unread)
        except MediaError as exc:
            return FileOutcome(str(path), "unchanged", duration_s=known["decoded_s"],
                               warnings=[f"on-screen text not read: {_one_line(exc, path)}"])
        generated = [c for c in old_caps if not c.origin.startswith("sidecar:")]
        updates, records = [], []
        for r in rows:
            ocr, engine = read.get(r["id"], row_ocr(r))
            caption = " ".join(p for p in (captions_for_range(captions, r["start_s"], r["end_s"]),
                                           captions_for_range(generated, r["start_s"],
                                                              r["end_s"])) if p)
            updates.append((r["id"], caption, ocr, engine))
            records.append(ClipRecord(
                id=r["id"], idx=r["idx"], start_s=r["start_s"], end_s=r["end_s"],
                start_f=r["start_f"], end_f=r["end_f"], emb_row=r["emb_row"], thumb=r["thumb"],
                speech_prob=r["speech_prob"], music_prob=r["music_prob"],
                has_speech=bool(r["has_speech"]), has_music=bool(r["has_music"]),
                labels=[tuple(x) for x in json.loads(r["labels"])], transcript=r["transcript"],
                caption=caption, ocr=ocr, ocr_engine=engine))
        texts = None
        self._written = []
        try:
            if catalog.embedding(source_id, "texts") is not None and self.options.text:
                self._match_text_encoder(catalog, load=True)
                texts = self._store_texts(source_id, sorted(records, key=lambda c: c.emb_row),
                                          catalog.embedding(source_id, "texts")["path"])
            catalog.update_texts(source_id, updates, captions, new_hash, texts)
        finally:
            self._written = []
        if texts is not None:
            from adcut.library.index import forget_vectors

            forget_vectors(catalog, "texts", [r["vec_id"] for r in rows])
        return FileOutcome(str(path), "updated", "; ".join(reasons),
                           duration_s=known["decoded_s"])

    def _read_unread(self, path: Path, known, rows) -> dict[str, tuple[list[dict], str | None]]:
        """On-screen text of the given clips of a known file: {clip id: (items, engine)}."""
        if not rows:
            return {}
        if known["still"]:
            from adcut.media.stills import load_still

            rgb = load_still(path)
            return {r["id"]: (self.ocr.read(rgb), self._ocr_engine()) for r in rows}
        from adcut.media.probe import probe_media

        info = probe_media(path)
        found = self._read_screen_text(path, info, [(r["start_s"] + r["end_s"]) / 2 for r in rows])
        return {r["id"]: (items, self._ocr_engine()) for r, items in zip(rows, found)}

    def _footage_audio(self, path: Path, info):
        """(speech, music) as (times, patch_s, scores) or None, words, warnings."""
        if info.audio is None:
            return None, None, [], []
        from adcut.media.audio import decode_audio

        encoder = self.audio
        try:
            audio = decode_audio(path, sample_rate=encoder.sample_rate)
        except MediaError as exc:
            return None, None, [], [f"audio track unusable: {exc.message}"]
        if audio.samples.size == 0:
            return None, None, [], []
        result = encoder.encode_audio(audio.samples)
        names = encoder.class_names
        speech = (result.times_s, encoder.patch_s, result.class_scores[:, names.index("Speech")])
        music = (result.times_s, encoder.patch_s, result.class_scores[:, names.index("Music")])
        words = []
        warnings: list[str] = []
        if self.options.asr and speech[2].size and speech[2].max() >= self.options.speech_threshold:
            from adcut.voice.asr import load_transcriber

            words, language = load_transcriber(self.options.asr).transcribe(audio.samples)
            if language and language != "en" and self.options.asr.endswith(".en"):
                warnings.append(f"speech may not be English ({language}); transcript unreliable")
        return speech, music, words, warnings

    # -- music --------------------------------------------------------------------------------
    def _music_bundle(self, path: Path, st, info, source_id: str, content_hash: str):
        from adcut.media.audio import decode_audio
        from adcut.media.rhythm import analyze_rhythm, energy_curve

        opt = self.options
        encoder = self.audio
        audio = decode_audio(path, sample_rate=encoder.sample_rate, measure_loudness=True)
        duration_s = audio.duration_s
        if duration_s <= 0:
            raise MediaError("audio track decodes to nothing")
        self.progress.advance(seconds=duration_s * 0.3)
        result = encoder.encode_audio(audio.samples)
        rhythm = analyze_rhythm(audio.samples, audio.sample_rate)
        energy_t, energy_db = energy_curve(audio.samples, audio.sample_rate, hop_s=0.5)
        self.progress.advance(seconds=duration_s * 0.7)

        names = encoder.class_names
        centres = result.times_s + encoder.patch_s / 2
        windows: list[WindowRecord] = []
        vecs = []
        for wi, start_s in enumerate(window_starts(duration_s, opt.window_s, opt.window_hop_s)):
            end_s = min(duration_s, start_s + opt.window_s)
            mask = (centres >= start_s) & (centres < end_s)
            if not mask.any():
                mask = np.abs(centres - (start_s + end_s) / 2) == np.abs(
                    centres - (start_s + end_s) / 2).min()
            vecs.append(l2_normalise(result.embeddings[mask].mean(axis=0)))
            emask = (energy_t >= start_s) & (energy_t < end_s)
            power = np.power(10.0, energy_db[emask] / 10.0) if emask.any() else np.array([0.0])
            rms_db = float(10 * np.log10(max(power.mean(), 1e-10)))
            windows.append(WindowRecord(
                id=f"{source_id}-w{wi:03d}", idx=wi, start_s=start_s, end_s=round(end_s, 3),
                emb_row=wi, rms_db=round(rms_db, 2),
                tags=top_k(result.class_scores[mask].mean(axis=0), names, 8)))
        loud = audio.loudness
        track = TrackRecord(
            title=path.stem,
            tempo_bpm=round(float(rhythm.tempo_bpm), 2),
            beat_times_s=[round(float(b), 3) for b in rhythm.beat_times_s],
            integrated_lufs=loud.integrated_lufs if loud else None,
            lra_lu=loud.lra_lu if loud else None,
            true_peak_dbtp=loud.true_peak_dbtp if loud else None,
            tags=top_k(result.class_scores.mean(axis=0), names, opt.tags_per_track))
        rel = f"{EMB_DIR}/{source_id}.windows.npy"
        self._store_array(rel, np.stack(vecs))
        source = self._source_record(path, st, info, source_id, content_hash, "music",
                                     duration_s, [], None)
        return SourceBundle(
            source=source,
            embeddings=[EmbeddingRecord("windows", encoder.name, encoder.version, encoder.dim,
                                        len(windows), rel)],
            track=track, windows=windows)

    @staticmethod
    def _source_record(path, st, info, source_id, content_hash, kind, decoded_s, warnings, fps):
        video = info.video if kind == "footage" else None
        return SourceRecord(
            id=source_id, kind=kind, path=str(path), content_hash=content_hash,
            size_bytes=st.st_size, mtime_ns=st.st_mtime_ns, container=info.container,
            duration_s=round(info.duration_s, 6), decoded_s=round(decoded_s, 6),
            width=video.width if video else None, height=video.height if video else None,
            rotation_deg=video.rotation_deg if video else None,
            fps=round(fps, 6) if video else None,
            is_vfr=video.is_vfr if video else None,
            has_audio=info.audio is not None, warnings=warnings)


def clip_text(caption: str, transcript: str, labels: Sequence[str], on_screen: str = "") -> str:
    """What a clip shows, in words: its caption, else what is said in it, else its labels;
    then the text read on screen, so a line or a brief naming it ("$4.99") finds the clip.
    ("text on screen" is also what the ordering's structure prior reads as a late,
    pack-shot-like clip, see adcut.planner.order.PACKSHOT_RE.)"""
    if caption.strip():
        base = caption.strip()
    elif transcript.strip():
        base = transcript.strip()
    else:
        base = ", ".join(labels[:3])
    on_screen = " ".join(on_screen.split())
    if not on_screen:
        return base
    return f"{base}. Text on screen: {on_screen}" if base else f"Text on screen: {on_screen}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _row_text(row) -> str:
    """clip_text of a catalog clips row (what `_store_texts` embeds for the same clip)."""
    return clip_text(row["caption"], row["transcript"],
                     [name for name, _ in json.loads(row["labels"])], ocr_text(row_ocr(row)[0]))


STILL_FPS = 25  # the frame numbering of a still's clip (it has no frames of its own)


@dataclass(frozen=True)
class StillInfo:
    """What discovery knows of a still image (the probe's MediaInfo for a video)."""

    width: int
    height: int
    duration_s: float  # the clip it becomes
    container: str
    video = None
    audio = None


def _thumbnail(rgb: np.ndarray, long_side: int) -> np.ndarray:
    from adcut.encoders.ocr import downscale

    return downscale(rgb, long_side)


def _transcript(words, start_s: float, end_s: float) -> str:
    return " ".join(w.text for w in words if start_s <= (w.start_s + w.end_s) / 2 < end_s)


def _one_line(exc: AdcutError, path: Path) -> str:
    """The error without the file name (the summary line names the file already)."""
    message = exc.message.removeprefix(f"{path}: ")
    return f"{message} ({exc.hint})" if exc.hint else message


def remove_source_files(folder: Path, source_id: str, keep: set[Path] = frozenset()) -> None:
    """Delete the arrays, thumbnails and looks of a source (those not in `keep`): when it is no
    longer in the catalog, or what a killed run left of a file not yet in it."""
    for p in [*(folder / EMB_DIR).glob(f"{source_id}.*.npy"),
              *(folder / THUMB_DIR).glob(f"{source_id}-*.jpg"),
              folder / LOOKS_DIR / f"{source_id}.npz"]:
        if p not in keep:
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass


class StoredFiles:
    """What the catalog says each source stored (arrays with their shapes, thumbnails), and
    which thumbnails are on disk: read once per run, so verifying an unchanged file costs a
    header read per array and no query."""

    def __init__(self, folder: Path, arrays: dict[str, list], thumbs: dict[str, list[str]],
                 thumbs_present: set[str]):
        self.folder = folder
        self.arrays = arrays
        self.thumbs = thumbs
        self.thumbs_present = thumbs_present

    @classmethod
    def read(cls, catalog: Catalog) -> StoredFiles:
        arrays: dict[str, list] = {}
        for r in catalog.embeddings():
            arrays.setdefault(r["source_id"], []).append((r["path"], r["rows"], r["dim"]))
        thumbs: dict[str, list[str]] = {}
        for r in catalog.thumbs():
            thumbs.setdefault(r["source_id"], []).append(r["thumb"])
        try:
            present = {f"{THUMB_DIR}/{name}" for name in os.listdir(catalog.folder / THUMB_DIR)}
        except OSError:
            present = set()
        return cls(catalog.folder, arrays, thumbs, present)

    def problem(self, source_id: str) -> str | None:
        """What is wrong with a source's stored files, in a few words (None: all there)."""
        for rel, rows, dim in self.arrays.get(source_id, []):
            problem = array_problem(self.folder, rel, rows, dim)
            if problem is not None:
                return f"{rel} was {problem}"
        thumbs = self.thumbs.get(source_id, [])
        missing = [t for t in thumbs if t and t not in self.thumbs_present]
        if missing:
            return f"{len(missing)} of {len(thumbs)} thumbnails were missing"
        return None

    def forget(self, source_id: str) -> None:
        self.arrays.pop(source_id, None)
        self.thumbs.pop(source_id, None)


def ingest(paths: Iterable[Path], library: Path, options: IngestOptions | None = None,
           progress: ProgressSink | None = None,
           on_wait: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest footage (or music with options.music) into the library folder. `on_wait(line)`
    is called once when another adcut is writing to the library and this run waits for it."""
    paths = list(paths)
    if not paths:
        raise BadInputError("no paths to ingest", hint="give files or folders of footage")
    return Ingester(Path(library), options or IngestOptions(), progress, on_wait).run(paths)
