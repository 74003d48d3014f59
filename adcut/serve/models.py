"""Request and response bodies of the API (pydantic; they make the OpenAPI description).

Documents a user edits (briefs, plans) are validated by adcut's own models
(adcut.core.brief.Brief, adcut.core.plan.EditPlan), exactly as the command line validates a
file; the bodies here wrap them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adcut.core.brief import Brief


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorInfo(BaseModel):
    status: int
    code: str = Field(description="stable: not_found, invalid_plan, outside_roots, too_large, "
                                  "unsupported_media, unauthorized, conflict, ...")
    message: str = Field(description="one line saying what was wrong")
    hint: str | None = Field(None, description="what to do about it")


class ErrorOut(BaseModel):
    error: ErrorInfo


class LibraryIn(Body):
    name: str = Field(min_length=1, max_length=100)


class LibraryOut(BaseModel):
    id: str
    name: str
    path: str = Field(description="the adcut library folder (adcut edit --library PATH)")
    external: bool = Field(description="given with adcut serve --library")
    created_at: str
    ready: bool = Field(description="has a catalog (something was ingested)")
    counts: dict[str, int] = {}
    footage_s: float = 0.0
    music_s: float = 0.0
    active_jobs: list[str] = []


class IngestOptions(Body):
    asr: Literal["tiny.en", "none"] = Field("tiny.en", description="transcribe speech")
    ocr: Literal["rapidocr", "none"] = Field("rapidocr", description="read text on screen")
    max_shot_s: float = Field(8.0, ge=1.0, le=3600.0)


class IngestIn(Body):
    paths: list[str] = Field(min_length=1, max_length=1000,
                             description="files or folders on the server, inside the roots")
    kind: Literal["footage", "music"] = "footage"
    options: IngestOptions = Field(default_factory=IngestOptions)


class JobOut(BaseModel):
    id: str
    kind: Literal["ingest", "edit", "render"]
    state: Literal["queued", "running", "cancelling", "done", "failed", "cancelled",
                   "interrupted"]
    progress: float = Field(description="0 to 1")
    message: str = Field(description="one line: what it is doing, or how it ended")
    detail: dict[str, Any] = Field(description="ingest: files[] with status and progress; "
                                               "edit: phase, variants; render: done_s, total_s")
    result: dict[str, Any] | None
    error: dict[str, Any] | None = Field(description="{message, hint, code} when failed")
    attempt: int
    library_id: str | None
    variant_id: str | None
    render_id: str | None
    params: dict[str, Any]
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    seq: int = Field(description="change number (SSE event id)")
    can_cancel: bool
    can_retry: bool
    events_url: str


class JobList(BaseModel):
    items: list[JobOut]


class UploadedFile(BaseModel):
    id: str
    name: str = Field(description="the file's own name (display only)")
    path: str = Field(description="where the server stored it, under a name it chose")
    media: Literal["video", "image", "audio"]
    size_bytes: int


class UploadOut(BaseModel):
    files: list[UploadedFile]
    job: JobOut | None


class ClipOut(BaseModel):
    id: str
    source_id: str
    source: str
    source_name: str
    start_s: float
    end_s: float
    duration_s: float
    caption: str
    transcript: str
    on_screen: str
    labels: list[str]
    text: str = Field(description="what the planner reads for this clip")
    has_speech: bool
    thumbnail_url: str
    media_url: str = Field(description="the source file (byte ranges), with #t=start,end")


class ClipList(BaseModel):
    total: int
    items: list[ClipOut]


class TrackOut(BaseModel):
    id: str
    title: str
    source: str
    source_name: str
    duration_s: float
    tempo_bpm: float
    lufs: float | None
    tags: list[str]
    windows: list[dict[str, float]]
    media_url: str


class BriefIn(Body):
    name: str = Field("", max_length=120, description="empty: the product's name")
    brief: Brief
    voice: bool = Field(True, description="a voice-over (off: subtitles only)")


class BriefOut(BaseModel):
    id: str
    name: str
    brief: dict[str, Any]
    voice: bool
    created_at: str
    updated_at: str


class EditIn(Body):
    library_id: str
    brief_id: str | None = Field(None, description="a saved brief; or give `brief`")
    brief: Brief | None = Field(None, description="a brief for this edit only")
    voice: bool | None = Field(None, description="default: the saved brief's setting, else on")
    variants: int = Field(3, ge=1, le=20)
    seed: int = Field(0, ge=0)
    render: Literal["preview", "full", "none"] = Field(
        "preview", description="what to render for each variant once planned")


class EditOut(BaseModel):
    job: JobOut


class RenderIn(Body):
    quality: Literal["preview", "full"] = "full"
    revision: int | None = Field(None, ge=1, description="default: the current revision")


class RenderOut(BaseModel):
    id: str
    variant_id: str
    revision: int
    quality: Literal["preview", "full"]
    job_id: str
    state: str
    stale: bool = Field(description="made from another revision than the current one")
    created_at: str
    finished_at: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    qc_ok: bool | None
    qc: list[dict[str, Any]] | None
    notes: list[str]
    files: dict[str, str] = Field(description="name -> URL: mp4 poster srt otio timeline "
                                              "manifest qc plan (when done)")
    poster_url: str | None


class RenderJobOut(BaseModel):
    render: RenderOut
    job: JobOut


class VariantOut(BaseModel):
    id: str
    name: str
    index: int
    edit_job_id: str
    library_id: str
    brief_id: str | None
    created_at: str
    updated_at: str
    revision: int
    can_undo: bool
    can_redo: bool
    shots: int
    music: str | None
    plan_url: str
    plan_file: str = Field(description="the current plan on the server: adcut render it")
    preview: RenderOut | None
    full: RenderOut | None
    poster_url: str | None
    qc_ok: bool | None
    qc: list[dict[str, Any]] | None
    active_jobs: list[str]


class RevisionOut(BaseModel):
    revision: int
    parent: int | None
    note: str
    created_at: str
    current: bool


class CandidateOut(BaseModel):
    clip_id: str
    source: str
    start_s: float
    end_s: float
    duration_s: float
    text: str
    line_score: float | None = Field(description="relevance of the clip's text to the line")
    selection_score: float | None = Field(description="the planner's selection score "
                                                      "(adcut edit --explain)")
    chosen: bool
    why: str
    product_similarity: float | None
    current: bool = Field(description="the clip this shot uses now")
    in_plan: list[int] = Field(description="shots of the plan using this clip")
    shot: dict[str, Any] = Field(description="the shot fields to put in the plan for a swap")
    thumbnail_url: str


class CandidatesOut(BaseModel):
    shot: int
    line: str | None
    revision: int
    candidates: list[CandidateOut]


class AssetOut(BaseModel):
    id: str
    name: str
    path: str = Field(description="use it in a brief's product_images or logo")
    url: str
    media_type: str
    size_bytes: int
