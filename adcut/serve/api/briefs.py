"""Briefs: saved, reusable, validated by the brief model the command line uses
(adcut.core.brief.Brief; its JSON Schema is GET /schemas/brief). Product images and the logo
must be image files inside the workspace or the import roots (upload them with POST
/assets)."""

from __future__ import annotations

from fastapi import APIRouter

from adcut.serve.api import ERRORS, StudioDep, ident
from adcut.serve.errors import not_found
from adcut.serve.models import BriefIn, BriefOut
from adcut.serve.store import dumps, loads, new_id, now

router = APIRouter(prefix="/briefs", tags=["briefs"], responses=ERRORS)


def checked_brief(studio, body: BriefIn) -> dict:
    """The brief with its images checked (inside the roots, existing images), as stored."""
    from adcut.core.brief import with_images_found
    from adcut.serve.security import request_path

    roots = [studio.data_dir, *studio.import_roots()]
    brief = body.brief
    for i, raw in enumerate(brief.product_images):
        request_path(raw, roots, what=f"brief.product_images[{i}]")
    if brief.logo:
        request_path(brief.logo, roots, what="brief.logo")
    brief = with_images_found(brief, studio.data_dir / "assets", "brief")
    return brief.model_dump()


def brief_json(row) -> dict:
    return {"id": row["id"], "name": row["name"], "brief": loads(row["body"]),
            "voice": bool(row["voice"]), "created_at": row["created_at"],
            "updated_at": row["updated_at"]}


def _row(studio, brief_id: str):
    row = studio.store.one("SELECT * FROM briefs WHERE id=?", (brief_id,))
    if row is None:
        raise not_found("brief", brief_id)
    return row


@router.get("")
def list_briefs(studio: StudioDep) -> list[BriefOut]:
    """Every saved brief, the newest edit first."""
    return [brief_json(r) for r in studio.store.all(
        "SELECT * FROM briefs ORDER BY updated_at DESC, rowid DESC")]


@router.post("", status_code=201)
def create_brief(studio: StudioDep, body: BriefIn) -> BriefOut:
    """Save a brief."""
    data = checked_brief(studio, body)
    brief_id, stamp = new_id("brf"), now()
    name = " ".join(body.name.split()) or data["product"]
    with studio.store.tx() as con:
        con.execute("INSERT INTO briefs VALUES (?,?,?,?,?,?)",
                    (brief_id, name, dumps(data), int(body.voice), stamp, stamp))
    return brief_json(_row(studio, brief_id))


@router.get("/{brief_id}")
def get_brief(studio: StudioDep, brief_id: str = ident("brief")) -> BriefOut:
    return brief_json(_row(studio, brief_id))


@router.put("/{brief_id}")
def update_brief(studio: StudioDep, body: BriefIn, brief_id: str = ident("brief")) -> BriefOut:
    """Replace a brief (edits already made from it keep the brief they were made with)."""
    _row(studio, brief_id)
    data = checked_brief(studio, body)
    name = " ".join(body.name.split()) or data["product"]
    with studio.store.tx() as con:
        con.execute("UPDATE briefs SET name=?, body=?, voice=?, updated_at=? WHERE id=?",
                    (name, dumps(data), int(body.voice), now(), brief_id))
    return brief_json(_row(studio, brief_id))


@router.delete("/{brief_id}", status_code=204)
def delete_brief(studio: StudioDep, brief_id: str = ident("brief")) -> None:
    _row(studio, brief_id)
    with studio.store.tx() as con:
        con.execute("DELETE FROM briefs WHERE id=?", (brief_id,))

