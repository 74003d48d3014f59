"""Libraries: create and list them, add footage and music (upload, or a path inside the
roots), each addition an ingest job with per-file progress; browse clips (thumbnail, caption,
transcript, text on screen, duration, source, range) filtered by text, play a clip's source
(byte ranges), list music tracks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from starlette.responses import FileResponse as _FileResponse

from adcut.serve.api import ERRORS, StudioDep, ident
from adcut.serve.errors import ApiError, not_found
from adcut.serve.jobs import enqueue, job_json
from adcut.serve.models import (
    ClipList,
    ClipOut,
    IngestIn,
    IngestOptions,
    JobOut,
    LibraryIn,
    LibraryOut,
    TrackOut,
    UploadOut,
)
from adcut.serve.store import new_id, now

router = APIRouter(prefix="/libraries", tags=["libraries"], responses=ERRORS)

CLIP_ID = r"^[f][0-9a-f]{15}-\d{4}$"
TRACK_ID = r"^[m][0-9a-f]{15}$"


def library_json(studio, row) -> dict:
    from adcut.library.catalog import Catalog

    folder = Path(row["path"])
    out = {"id": row["id"], "name": row["name"], "path": row["path"],
           "external": bool(row["external"]), "created_at": row["created_at"],
           "ready": (folder / "catalog.sqlite").exists(), "counts": {}, "footage_s": 0.0,
           "music_s": 0.0}
    if out["ready"]:
        try:
            with Catalog(folder, readonly=True) as catalog:
                out["counts"] = catalog.counts()
                durations = catalog.durations()
            out["footage_s"] = round(durations["footage_s"], 3)
            out["music_s"] = round(durations["music_s"], 3)
        except Exception as exc:  # noqa: BLE001  (shown, not fatal: a listing must answer)
            out["problem"] = str(exc)
    out["active_jobs"] = [r["id"] for r in studio.store.all(
        "SELECT id FROM jobs WHERE library_id=? AND state IN ('queued','running','cancelling') "
        "ORDER BY created_at", (row["id"],))]
    return out


@router.get("")
def list_libraries(studio: StudioDep) -> list[LibraryOut]:
    """Every library: those given with --library and those made here."""
    rows = studio.store.all("SELECT * FROM libraries ORDER BY created_at, rowid")
    return [library_json(studio, r) for r in rows]


@router.post("", status_code=201)
def create_library(studio: StudioDep, body: LibraryIn) -> LibraryOut:
    """A new, empty library in the workspace (DATA/libraries/ID/library)."""
    library_id = new_id("lib")
    home = studio.data_dir / "libraries" / library_id
    name = " ".join(body.name.split())
    if not name or not name.isprintable():
        raise ApiError(422, "invalid_request", "the name must be printable text",
                       hint="e.g. {\"name\": \"Spring campaign\"}")
    with studio.store.tx() as con:
        con.execute("INSERT INTO libraries VALUES (?,?,?,?,?,?)",
                    (library_id, name, str(home / "library"), str(home / "media"), 0, now()))
    return library_json(studio, studio.library(library_id))


@router.get("/{library_id}")
def get_library(studio: StudioDep, library_id: str = ident("library")) -> LibraryOut:
    return library_json(studio, studio.library(library_id))


# -- clips and tracks ---------------------------------------------------------------------------

def _names(studio, library_id: str) -> dict[str, str]:
    """Stored path -> the name the file was uploaded under."""
    return {r["path"]: r["original_name"] for r in studio.store.all(
        "SELECT path, original_name FROM uploads WHERE library_id=?", (library_id,))}


def _clip_json(row, names: dict[str, str], base: str) -> dict:
    from adcut.library.catalog import ocr_text, row_ocr
    from adcut.library.ingest import clip_text

    labels = [name for name, _ in json.loads(row["labels"])][:5]
    ocr, _ = row_ocr(row)
    on_screen = ocr_text(ocr)
    start, end = row["start_s"], row["end_s"]
    return {"id": row["id"], "source_id": row["source_id"], "source": row["path"],
            "source_name": names.get(row["path"], Path(row["path"]).name),
            "start_s": round(start, 3), "end_s": round(end, 3),
            "duration_s": round(end - start, 3), "caption": row["caption"],
            "transcript": row["transcript"], "on_screen": on_screen, "labels": labels,
            "text": clip_text(row["caption"], row["transcript"], labels[:3], on_screen),
            "has_speech": bool(row["has_speech"]),
            "thumbnail_url": f"{base}/clips/{row['id']}/thumbnail",
            "media_url": f"{base}/clips/{row['id']}/media#t={start:.3f},{end:.3f}"}


def _catalog(library_row):
    from adcut.library.catalog import Catalog

    folder = Path(library_row["path"])
    if not (folder / "catalog.sqlite").exists():
        return None
    return Catalog(folder, readonly=True)


def matches(text: str, words: list[str]) -> bool:
    """Every word of the filter appears in the text (case-insensitive) (PURE)."""
    low = text.lower()
    return all(w in low for w in words)


@router.get("/{library_id}/clips")
def list_clips(studio: StudioDep, library_id: str = ident("library"),
               q: str = Query("", max_length=200, description="words every clip must contain "
                              "(caption, transcript, text on screen, labels, file name)"),
               limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0)
               ) -> ClipList:
    """The library's clips in file order, filtered by text."""
    row = studio.library(library_id)
    base = f"/api/v1/libraries/{library_id}"
    catalog = _catalog(row)
    if catalog is None:
        return ClipList(total=0, items=[])
    names = _names(studio, library_id)
    words = q.lower().split()
    with catalog:
        rows = catalog.clips()
    items = [_clip_json(r, names, base) for r in rows]
    if words:
        items = [c for c in items if matches(" ".join(
            [c["text"], c["caption"], c["transcript"], c["on_screen"], " ".join(c["labels"]),
             c["source_name"]]), words)]
    return ClipList(total=len(items), items=items[offset:offset + limit])


def _clip_row(studio, library_id: str, clip_id: str):
    row = studio.library(library_id)
    catalog = _catalog(row)
    if catalog is None:
        raise not_found("clip", clip_id)
    with catalog:
        found = catalog.con.execute(
            "SELECT c.*, s.path FROM clips c JOIN sources s ON s.id = c.source_id "
            "WHERE c.id=?", (clip_id,)).fetchone()
    if found is None:
        raise not_found("clip", clip_id)
    return row, found


def clip_ident():
    return PathParam(description="a clip id (SOURCE-NNNN)", pattern=CLIP_ID, max_length=24)


def track_ident():
    return PathParam(description="a music track id", pattern=TRACK_ID, max_length=24)


@router.get("/{library_id}/clips/{clip_id}")
def get_clip(studio: StudioDep, library_id: str = ident("library"),
             clip_id: str = clip_ident()) -> ClipOut:
    """One clip."""
    _, found = _clip_row(studio, library_id, clip_id)
    return _clip_json(found, _names(studio, library_id), f"/api/v1/libraries/{library_id}")


@router.get("/{library_id}/clips/{clip_id}/thumbnail", response_class=_FileResponse)
def clip_thumbnail(studio: StudioDep, library_id: str = ident("library"),
                   clip_id: str = clip_ident()):
    """The clip's JPEG thumbnail (made at ingest)."""
    from adcut.serve.files import file_response
    from adcut.serve.security import inside

    row, found = _clip_row(studio, library_id, clip_id)
    folder = Path(row["path"])
    thumb = folder / found["thumb"]
    if not inside(thumb, [folder]):
        raise not_found("thumbnail", clip_id)
    return file_response(thumb, media="image/jpeg", cache="max-age=3600")


def _source_file(studio, library_row, path: str) -> Path:
    """A catalog source, if this server may read it: inside the roots, or of a library the
    operator gave with --library (whose catalog vouches for its files)."""
    from adcut.serve.security import inside

    p = Path(path)
    if not library_row["external"] and not inside(p, studio.read_roots()):
        raise ApiError(403, "outside_roots", "this clip's file is outside the folders this "
                       "server may read", hint="ingest it again from inside the roots")
    return p


@router.get("/{library_id}/clips/{clip_id}/media", response_class=_FileResponse)
def clip_media(studio: StudioDep, library_id: str = ident("library"),
               clip_id: str = clip_ident()):
    """The clip's source file, for playback (answers Range requests; play the clip's range
    with the media fragment the clip's media_url carries)."""
    from adcut.serve.files import file_response

    row, found = _clip_row(studio, library_id, clip_id)
    return file_response(_source_file(studio, row, found["path"]))


@router.get("/{library_id}/tracks")
def list_tracks(studio: StudioDep, library_id: str = ident("library")) -> list[TrackOut]:
    """The library's music: title, length, tempo, loudness, AudioSet tags, and the windows
    the planner picks the music's stretch from (change it with the plan's music.start_s)."""
    row = studio.library(library_id)
    catalog = _catalog(row)
    if catalog is None:
        return []
    names = _names(studio, library_id)
    base = f"/api/v1/libraries/{library_id}"
    with catalog:
        tracks = catalog.tracks()
        windows = {}
        for w in catalog.windows():
            windows.setdefault(w["source_id"], []).append(
                {"start_s": w["start_s"], "end_s": w["end_s"], "rms_db": w["rms_db"]})
    return [{"id": t["source_id"], "title": t["title"], "source": t["path"],
             "source_name": names.get(t["path"], Path(t["path"]).name),
             "duration_s": t["duration_s"], "tempo_bpm": t["tempo_bpm"],
             "lufs": t["integrated_lufs"],
             "tags": [n for n, _ in json.loads(t["tags"])][:8],
             "windows": windows.get(t["source_id"], []),
             "media_url": f"{base}/tracks/{t['source_id']}/media"} for t in tracks]


@router.get("/{library_id}/tracks/{track_id}/media", response_class=_FileResponse)
def track_media(studio: StudioDep, library_id: str = ident("library"),
                track_id: str = track_ident()):
    """A music track's file, for playback (byte ranges)."""
    from adcut.serve.files import file_response

    row = studio.library(library_id)
    catalog = _catalog(row)
    if catalog is None:
        raise not_found("track", track_id)
    with catalog:
        found = catalog.source_by_id(track_id)
    if found is None or found["kind"] != "music":
        raise not_found("track", track_id)
    return file_response(_source_file(studio, row, found["path"]))


# -- adding footage and music -------------------------------------------------------------------

def _ingest_job(studio, library_id: str, paths: list[Path], kind: str, options: IngestOptions,
                roots: list[Path], names: dict[str, str] | None = None, con=None) -> str:
    return enqueue(studio.store, "ingest", {
        "library_id": library_id, "paths": [str(p) for p in paths], "music": kind == "music",
        "options": options.model_dump(), "roots": [str(r) for r in roots],
        "names": names or {}}, library_id=library_id, con=con)


@router.post("/{library_id}/uploads", status_code=201)
async def upload(
        studio: StudioDep,
        files: Annotated[list[UploadFile], File(description="footage (video, PNG, JPEG, WebP) "
                                                            "or music (audio) files")],
        library_id: str = ident("library"),
        kind: Annotated[Literal["footage", "music"], Form()] = "footage",
        ingest: Annotated[bool, Form(description="start an ingest job for them")] = True,
        asr: Annotated[Literal["tiny.en", "none"], Form()] = "tiny.en",
        ocr: Annotated[Literal["rapidocr", "none"], Form()] = "rapidocr") -> UploadOut:
    """Upload footage or music into a library. Each file is sniffed by ffmpeg for real media
    of that kind (its name is not trusted) and stored under a name the server chooses; when
    any file is refused, none is kept. Then one ingest job takes them all."""
    import anyio

    from adcut.serve import media

    row = studio.library(library_id)
    if len(files) > 500:
        raise ApiError(422, "invalid_request", "at most 500 files per upload",
                       hint="upload them in several requests")
    media_dir = Path(row["media_dir"])
    budget = [studio.settings.max_upload_bytes]
    temps: list[Path] = []
    placed: list[Path] = []
    try:
        for upload_file in files:  # every byte first: a too large upload is 413, whatever it holds
            temps.append(await media.receive_to_temp(upload_file, media_dir, budget))
        checked = []
        for upload_file, temp in zip(files, temps):
            probe = await anyio.to_thread.run_sync(media.sniff, temp)
            verdict = media.classify(probe, kind)
            name = media.display_name(upload_file.filename)
            if isinstance(verdict, str):
                raise ApiError(415, "unsupported_media", f"{name!r} was refused: {verdict}",
                               hint="upload video or image files as footage, audio files as "
                                    "music; nothing of this upload was kept")
            checked.append((temp, name, verdict))
        stamp = now()
        records = []
        for temp, name, (what, ext) in checked:
            final = media.place(temp, media_dir / kind, ext)
            placed.append(final)
            records.append((new_id("upl"), library_id, kind, str(final), name, what,
                            final.stat().st_size, stamp))
        with studio.store.tx() as con:
            con.executemany("INSERT INTO uploads VALUES (?,?,?,?,?,?,?,?)", records)
            job_id = _ingest_job(studio, library_id, placed, kind,
                                 IngestOptions(asr=asr, ocr=ocr), [media_dir],
                                 {str(p): r[4] for p, r in zip(placed, records)},
                                 con=con) if ingest else None
    except BaseException:
        for p in temps + placed:
            p.unlink(missing_ok=True)
        raise
    studio.scheduler.wake()
    job = job_json(studio.job(job_id)) if job_id else None
    return {"files": [{"id": r[0], "name": r[4], "path": r[3], "media": r[5],
                       "size_bytes": r[6]} for r in records], "job": job}


@router.post("/{library_id}/ingest", status_code=202)
def ingest_paths(studio: StudioDep, body: IngestIn, library_id: str = ident("library")) -> JobOut:
    """Ingest files or folders that are already on the server, inside the import roots
    (GET /roots) or the library's uploads. Folders are searched for media of the kind asked; a link inside one that
    leads out of the roots is refused."""
    from adcut.library.ingest import discover
    from adcut.serve.security import inside, request_path

    row = studio.library(library_id)
    # the import roots, and the library's own media folder (files uploaded with ingest=false)
    roots = [*studio.import_roots(), Path(row["media_dir"])]
    given = [request_path(raw, roots, what=f"paths[{i}]") for i, raw in enumerate(body.paths)]
    for i, p in enumerate(given):
        if not p.exists():
            raise ApiError(404, "not_found", f"paths[{i}]: {body.paths[i]!r} does not exist",
                           hint="give files or folders inside the roots")
    files, problems = discover(given, music=body.kind == "music")
    if problems and not files:
        raise ApiError(422, "no_media", f"{problems[0].path}: {problems[0].message}",
                       hint="give folders that hold video, image or audio files")
    for f in files:  # discover() follows links inside a folder: each must stay in the roots
        if not inside(f, roots):
            raise ApiError(403, "outside_roots", f"{str(f)!r} leads outside the folders this "
                           "server may read (a symbolic link)",
                           hint="remove the link, or copy the file into the roots")
    if len(files) > 10_000:
        raise ApiError(422, "invalid_request", f"{len(files)} files are too many for one job",
                       hint="ingest sub-folders one by one")
    job_id = _ingest_job(studio, library_id, files, body.kind, body.options, roots)
    studio.scheduler.wake()
    return job_json(studio.job(job_id))
