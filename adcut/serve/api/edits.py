"""Edits ("make N variants"), variants, their plans (GET, PUT, undo, redo, revisions), the
swap candidates of a shot, renders and their files.

A variant's plan is edited by PUTting the whole edited document (reorder shots, swap a shot's
clip for a candidate's `shot` fields, change a line, a transition, a trim, the music track or
its window: all are fields of the EditPlan). Each PUT is a new revision; undo and redo move
between them; a render renders the current revision (or the one asked for).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.responses import FileResponse

from adcut.serve.api import ERRORS, StudioDep, ident
from adcut.serve.errors import ApiError, not_found
from adcut.serve.jobs import enqueue, job_json
from adcut.serve.models import (
    CandidatesOut,
    EditIn,
    EditOut,
    RenderIn,
    RenderJobOut,
    RenderOut,
    RevisionOut,
    VariantOut,
)
from adcut.serve.store import loads, new_id, where_clause
from adcut.serve.variants import (
    RENDER_FILES,
    RevisionConflict,
    current_plan,
    explanation_of,
    move,
    new_render,
    render_json,
    renders_of,
    save_revision,
    variant_json,
)

router = APIRouter(tags=["edits"], responses=ERRORS)


@router.post("/edits", status_code=202)
def make_variants(studio: StudioDep, body: EditIn) -> EditOut:
    """Make N variants of an ad from a library and a brief (saved, or given here): one edit
    job plans them all (each appears as a variant as soon as it is planned), then renders a
    preview of each, in turn; the full render is a render job on demand."""
    from adcut.core.brief import validate_brief

    studio.library(body.library_id)
    if (body.brief_id is None) == (body.brief is None):
        raise ApiError(422, "invalid_request", "give either brief_id or brief",
                       hint="brief_id: a saved brief (POST /api/v1/briefs); brief: one for this edit")
    voice = True
    if body.brief_id is not None:
        row = studio.store.one("SELECT * FROM briefs WHERE id=?", (body.brief_id,))
        if row is None:
            raise not_found("brief", body.brief_id)
        brief, voice = loads(row["body"]), bool(row["voice"])
    else:
        from adcut.serve.api.briefs import checked_brief
        from adcut.serve.models import BriefIn

        brief = checked_brief(studio, BriefIn(brief=body.brief))
    validate_brief(brief, "brief")  # stored briefs were valid; this one is as the CLI reads it
    if body.voice is not None:
        voice = body.voice
    job_id = enqueue(studio.store, "edit", {
        "library_id": body.library_id, "brief_id": body.brief_id, "brief": brief,
        "voice": voice, "variants": body.variants, "seed": body.seed, "render": body.render,
        "planner": "zero-shot"}, library_id=body.library_id)
    studio.scheduler.wake()
    return {"job": job_json(studio.job(job_id))}


@router.get("/variants")
def list_variants(studio: StudioDep, edit_job_id: str | None = Query(None, max_length=16),
                  library_id: str | None = Query(None, max_length=16),
                  limit: int = Query(100, ge=1, le=1000)) -> list[VariantOut]:
    """Variants, newest edit first, in their order within it."""
    where, args = where_clause(edit_job_id=edit_job_id, library_id=library_id)
    rows = studio.store.all(f"SELECT * FROM variants{where} ORDER BY created_at DESC, idx LIMIT ?",
                            (*args, limit))
    return [variant_json(studio.store, r) for r in rows]


@router.get("/variants/{variant_id}")
def get_variant(studio: StudioDep, variant_id: str = ident("variant")) -> VariantOut:
    """A variant's card: revision, undo/redo, newest preview and full render, poster, QC."""
    return variant_json(studio.store, studio.variant(variant_id))


# -- the plan -----------------------------------------------------------------------------------

PLAN_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/EditPlan"}}}}}


def _plan_response(text: str, rev: int) -> JSONResponse:
    import json

    return JSONResponse(json.loads(text), headers={"ETag": f'"{rev}"',
                                                   "X-Adcut-Revision": str(rev)})


@router.get("/variants/{variant_id}/plan",
            responses={200: {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/EditPlan"}}}}})
def get_plan(studio: StudioDep, variant_id: str = ident("variant")):
    """The variant's current plan (an EditPlan, exactly the file DATA/variants/ID/plan.json);
    its revision is in the ETag and X-Adcut-Revision headers."""
    studio.variant(variant_id)
    rev, text = current_plan(studio.store, variant_id)
    return _plan_response(text, rev)


def _if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    try:
        return int(value.strip().strip('W/').strip('"'))
    except ValueError:
        raise ApiError(400, "bad_request", "If-Match must be a revision's ETag, such as \"3\"",
                       hint="send the ETag header GET returned") from None


@router.put("/variants/{variant_id}/plan", openapi_extra=PLAN_BODY)
async def put_plan(request: Request, variant_id: str = ident("variant"),
                   if_match: str | None = Header(None)) -> VariantOut:
    """Save an edited plan as the variant's new revision. It is validated like a hand-edited
    plan file, and every file it names must be the library's footage or music or lie inside
    the roots. With If-Match (the ETag of GET), a plan edited from an older revision is
    refused (412) instead of overwriting a newer one."""
    import anyio

    raw = await request.body()
    studio = request.app.state.studio
    return await anyio.to_thread.run_sync(_save_plan, studio, variant_id, raw, _if_match(if_match))


def _save_plan(studio, variant_id: str, raw: bytes, base: int | None) -> dict:
    from adcut.core.plan import EditPlan
    from adcut.serve.plans import (
        check_plan,
        load_library_files,
        parse_plan,
        plan_json_text,
    )

    variant = studio.variant(variant_id)
    plan = parse_plan(raw)
    library = studio.library(variant["library_id"])
    first = studio.store.one("SELECT plan FROM revisions WHERE variant_id=? AND rev=1",
                             (variant_id,))
    plan = check_plan(plan, base_dir=Path(variant["folder"]),
                      files=load_library_files(Path(library["path"])),
                      roots=studio.read_roots(),
                      original=EditPlan.model_validate_json(first["plan"]) if first else None)
    try:
        save_revision(studio.store, variant_id, plan_json_text(plan), base=base)
    except RevisionConflict as exc:
        raise ApiError(412, "stale_revision", f"the plan is at revision {exc.args[0]}, not "
                       f"{base}", hint="GET the plan again and apply the edit to it") from None
    return variant_json(studio.store, studio.variant(variant_id))


@router.post("/variants/{variant_id}/plan/undo")
def undo(studio: StudioDep, variant_id: str = ident("variant")) -> VariantOut:
    """Go back to the revision the current one was edited from."""
    return _move(studio, variant_id, "undo")


@router.post("/variants/{variant_id}/plan/redo")
def redo(studio: StudioDep, variant_id: str = ident("variant")) -> VariantOut:
    """Go forward to the newest revision edited from the current one."""
    return _move(studio, variant_id, "redo")


def _move(studio, variant_id: str, direction: str) -> dict:
    studio.variant(variant_id)
    try:
        move(studio.store, variant_id, direction)
    except LookupError:
        raise ApiError(409, "conflict", f"nothing to {direction}",
                       hint="the plan is at its first revision" if direction == "undo"
                       else "no revision was made from this one") from None
    return variant_json(studio.store, studio.variant(variant_id))


@router.get("/variants/{variant_id}/plan/revisions")
def revisions(studio: StudioDep, variant_id: str = ident("variant")) -> list[RevisionOut]:
    """Every revision of the plan, oldest first."""
    variant = studio.variant(variant_id)
    rows = studio.store.all("SELECT rev, parent, note, created_at FROM revisions "
                            "WHERE variant_id=? ORDER BY rev", (variant_id,))
    return [{"revision": r["rev"], "parent": r["parent"], "note": r["note"],
             "created_at": r["created_at"], "current": r["rev"] == variant["current_rev"]}
            for r in rows]


@router.get("/variants/{variant_id}/plan/revisions/{revision}",
            responses={200: {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/EditPlan"}}}}})
def get_revision(studio: StudioDep, variant_id: str = ident("variant"),
                 revision: int = PathParam(ge=1, le=1_000_000)):
    """One revision of the plan."""
    studio.variant(variant_id)
    row = studio.store.one("SELECT plan FROM revisions WHERE variant_id=? AND rev=?",
                           (variant_id, revision))
    if row is None:
        raise not_found("revision", str(revision))
    return _plan_response(row["plan"], revision)


# -- swap candidates ----------------------------------------------------------------------------

@router.get("/variants/{variant_id}/shots/{shot}/candidates")
def candidates(studio: StudioDep, variant_id: str = ident("variant"),
               shot: int = PathParam(ge=0, le=1000, description="0-based shot index"),
               limit: int = Query(10, ge=1, le=200)) -> CandidatesOut:
    """The clips this shot could be swapped for, best first: each with the planner's
    relevance to the shot's line (`line_score`), its selection score and verdict as `adcut
    edit --explain` gives them, and the `shot` fields to put in the plan for the swap."""
    import json

    from adcut.serve.candidates import library_clips, line_scores, rank

    variant = studio.variant(variant_id)
    library = studio.library(variant["library_id"])
    rev, text = current_plan(studio.store, variant_id)
    plan = json.loads(text)
    if shot >= len(plan["shots"]):
        raise ApiError(404, "not_found", f"the plan has {len(plan['shots'])} shots (0 to "
                       f"{len(plan['shots']) - 1})", hint="shots are numbered from 0")
    clips = library_clips(Path(library["path"]))
    line = plan["shots"][shot].get("line")
    scores = line_scores(line, [c.text for c in clips]) if line and clips else None
    explained = {e["id"]: e for e in explanation_of(studio.store, variant_id).get("clips", [])}
    found = rank(clips, scores, explained, [s.get("clip_id") for s in plan["shots"]],
                 plan["shots"][shot].get("clip_id"), limit)
    base = f"/api/v1/libraries/{library['id']}/clips"
    for c in found:
        c["thumbnail_url"] = f"{base}/{c['clip_id']}/thumbnail"
    return {"shot": shot, "line": line, "revision": rev, "candidates": found}


# -- renders ------------------------------------------------------------------------------------

@router.post("/variants/{variant_id}/renders", status_code=202)
def render(studio: StudioDep, body: RenderIn, variant_id: str = ident("variant")) -> RenderJobOut:
    """Render the variant's current plan revision (or `revision`): a render job. `full` is
    the finished ad; `preview` a fast third-size one."""
    variant = studio.variant(variant_id)
    rev = body.revision or variant["current_rev"]
    if studio.store.one("SELECT 1 FROM revisions WHERE variant_id=? AND rev=?",
                        (variant_id, rev)) is None:
        raise not_found("revision", str(rev))
    with studio.store.tx() as con:
        job_id = new_id("job")
        render_id = new_render(studio.store, variant_id, rev, body.quality, job_id, con=con)
        enqueue(studio.store, "render", {"variant_id": variant_id, "rev": rev,
                                         "quality": body.quality, "render_id": render_id},
                library_id=variant["library_id"], variant_id=variant_id, render_id=render_id,
                job_id=job_id, con=con)
    studio.scheduler.wake()
    return {"render": _render_out(studio, render_id), "job": job_json(studio.job(job_id))}


def _render_row(studio, render_id: str):
    row = studio.store.one("SELECT r.*, j.state AS job_state, v.current_rev FROM renders r "
                           "LEFT JOIN jobs j ON j.id = r.job_id JOIN variants v "
                           "ON v.id = r.variant_id WHERE r.id=?", (render_id,))
    if row is None:
        raise not_found("render", render_id)
    return row


def _render_out(studio, render_id: str) -> dict:
    row = _render_row(studio, render_id)
    return render_json(row, row["job_state"], row["current_rev"])


@router.get("/variants/{variant_id}/renders")
def list_renders(studio: StudioDep, variant_id: str = ident("variant")) -> list[RenderOut]:
    """Every render of the variant, oldest first."""
    variant = studio.variant(variant_id)
    return [render_json(r, r["job_state"], variant["current_rev"])
            for r in renders_of(studio.store, variant_id)]


@router.get("/renders/{render_id}")
def get_render(studio: StudioDep, render_id: str = ident("render")) -> RenderOut:
    return _render_out(studio, render_id)


@router.get("/renders/{render_id}/files/{name}", response_class=FileResponse)
def render_file(studio: StudioDep, render_id: str = ident("render"),
                name: Literal["mp4", "poster", "srt", "otio", "timeline", "manifest", "qc",
                              "plan"] = PathParam(), download: bool = False):
    """A file of a finished render (the MP4 answers Range requests); `?download=1` for an
    attachment named after the variant."""
    from adcut.serve.files import file_response

    row = _render_row(studio, render_id)
    if not row["done"]:
        raise ApiError(404, "not_ready", f"render {render_id} is not finished",
                       hint=f"follow its job: GET /api/v1/jobs/{row['job_id']}")
    filename, media = RENDER_FILES[name]
    variant = studio.variant(row["variant_id"])
    nice = None
    if download:
        stem = f"{variant['name']}-r{row['rev']}-{row['quality']}"
        nice = stem + (Path(filename).suffix if name != "timeline" else ".timeline.json")
        if name in ("manifest", "qc", "plan"):
            nice = f"{stem}.{name}.json"
    return file_response(Path(row["folder"]) / filename, media=media, download=nice)
