"""What the server is (info), the JSON Schemas of the documents, the roots a request may name
files in (and a folder browser inside them), and brief images (assets)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile

from adcut import __version__
from adcut.serve.api import ERRORS, StudioDep, ident
from adcut.serve.errors import ApiError, not_found
from adcut.serve.models import AssetOut
from adcut.serve.store import new_id, now

router = APIRouter(tags=["system"], responses=ERRORS)


@router.get("/info")
def info(studio: StudioDep) -> dict:
    """Version, workspace, roots, limits and job slots of this server."""
    s = studio.settings
    return {"version": __version__, "data_dir": str(s.data_dir),
            "auth": "token" if s.token else "loopback",
            "import_roots": [str(p) for p in studio.import_roots()],
            "max_upload_bytes": s.max_upload_bytes,
            "slots": {"render": s.render_slots, "ingest": s.ingest_slots},
            "running_jobs": studio.scheduler.running_ids(),
            "openapi": "/api/v1/openapi.json"}


@router.get("/schemas/{name}")
def schema(name: Literal["brief", "plan", "timeline"]) -> dict:
    """The JSON Schema of a brief, an EditPlan or a Timeline (as `adcut schema NAME`)."""
    from adcut.core.brief import Brief
    from adcut.core.plan import EditPlan
    from adcut.core.timeline import Timeline

    return {"brief": Brief, "plan": EditPlan, "timeline": Timeline}[name].model_json_schema()


@router.get("/roots")
def roots(studio: StudioDep) -> dict:
    """The folders footage and music may be ingested from by path (POST
    /libraries/ID/ingest), and the inbox among them."""
    return {"import_roots": [{"path": str(p), "exists": p.is_dir()}
                             for p in studio.import_roots()],
            "inbox": str(studio.settings.inbox)}


@router.get("/roots/browse")
def browse(studio: StudioDep, path: str = Query(..., max_length=4096)) -> dict:
    """The sub-folders and media files of a folder inside the import roots."""
    from adcut.library.ingest import AUDIO_EXTS, VIDEO_EXTS
    from adcut.media.stills import STILL_EXTS
    from adcut.serve.security import inside, request_path

    folder = request_path(path, studio.import_roots(), what="path")
    if not folder.is_dir():
        raise ApiError(404, "not_found", "no such folder", hint="browse a folder in the roots")
    entries = []
    try:
        names = sorted(os.listdir(folder))[:2000]
    except OSError as exc:
        raise ApiError(403, "unreadable", f"the folder cannot be read ({exc.strerror})",
                       hint="fix its permissions on the server") from None
    roots = studio.import_roots()
    for name in names:
        if name.startswith("."):
            continue
        p = folder / name
        if not inside(p, roots):  # a link that leads out is not shown
            continue
        ext = p.suffix.lower()
        kind = "folder" if p.is_dir() else "video" if ext in VIDEO_EXTS else \
            "image" if ext in STILL_EXTS else "audio" if ext in AUDIO_EXTS else None
        if kind:
            entries.append({"name": name, "path": str(p), "kind": kind,
                            "size_bytes": p.stat().st_size if kind != "folder" else None})
    return {"path": str(folder), "entries": entries}


@router.post("/assets", status_code=201)
async def upload_asset(studio: StudioDep, file: Annotated[UploadFile, File()]) -> AssetOut:
    """A product photo or logo (PNG, JPEG or WebP, sniffed) for briefs; use its `path` in a
    brief's `product_images` or `logo`."""
    import anyio

    from adcut.serve import media

    folder = studio.data_dir / "assets"
    budget = [studio.settings.max_upload_bytes]
    temp = await media.receive_to_temp(file, folder, budget)
    try:
        probe = await anyio.to_thread.run_sync(media.sniff, temp)
        if probe is None or probe.container not in media.IMAGE_CONTAINERS:
            raise ApiError(415, "unsupported_media",
                           f"{media.display_name(file.filename)!r} is not a PNG, JPEG or WebP "
                           "image", hint="upload product photos or logos as images")
        final = media.place(temp, folder, media.IMAGE_CONTAINERS[probe.container])
    finally:
        temp.unlink(missing_ok=True)
    asset_id = new_id("ast")
    size = final.stat().st_size
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}[final.suffix]
    with studio.store.tx() as con:
        con.execute("INSERT INTO assets VALUES (?,?,?,?,?,?)",
                    (asset_id, str(final), media.display_name(file.filename), mime, size, now()))
    return AssetOut(id=asset_id, name=media.display_name(file.filename), path=str(final),
                    url=f"/api/v1/assets/{asset_id}/file", media_type=mime, size_bytes=size)


@router.get("/assets")
def list_assets(studio: StudioDep) -> list[AssetOut]:
    """The uploaded brief images, newest first (a saved brief names them by `path`)."""
    rows = studio.store.all("SELECT * FROM assets ORDER BY created_at DESC, rowid DESC")
    return [AssetOut(id=r["id"], name=r["original_name"], path=r["path"],
                     url=f"/api/v1/assets/{r['id']}/file", media_type=r["media_type"],
                     size_bytes=r["size_bytes"]) for r in rows]


@router.get("/assets/{asset_id}/file")
def asset_file(studio: StudioDep, asset_id: str = ident("asset")):
    """An uploaded brief image."""
    from adcut.serve.files import file_response

    row = studio.store.one("SELECT * FROM assets WHERE id=?", (asset_id,))
    if row is None:
        raise not_found("asset", asset_id)
    return file_response(Path(row["path"]), media=row["media_type"])
