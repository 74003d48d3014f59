"""Jobs: their state and progress (GET, or server-sent events), cancel and retry."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from adcut.serve.api import ERRORS, StudioDep, ident
from adcut.serve.errors import ApiError, not_found
from adcut.serve.events import job_stream
from adcut.serve.jobs import JobStateError, job_json, request_cancel, retry
from adcut.serve.models import JobList, JobOut
from adcut.serve.store import where_clause

router = APIRouter(tags=["jobs"], responses=ERRORS)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/jobs")
def list_jobs(studio: StudioDep,
              state: Literal["queued", "running", "cancelling", "done", "failed", "cancelled",
                             "interrupted", "active"] | None = None,
              kind: Literal["ingest", "edit", "render"] | None = None,
              library_id: str | None = Query(None, max_length=16),
              limit: int = Query(100, ge=1, le=1000)) -> JobList:
    """Jobs, newest first (`state=active`: queued, running or cancelling)."""
    active = state == "active"
    where, args = where_clause(*(["state IN ('queued','running','cancelling')"] if active else []),
                               state=None if active else state, kind=kind, library_id=library_id)
    rows = studio.store.all(f"SELECT * FROM jobs{where} ORDER BY created_at DESC, rowid DESC LIMIT ?",
                            (*args, limit))
    return {"items": [job_json(r) for r in rows]}


@router.get("/jobs/{job_id}")
def get_job(studio: StudioDep, job_id: str = ident("job")) -> JobOut:
    """A job's state, progress (0-1), one-line message and details (polling)."""
    return job_json(studio.job(job_id))


def _since(last_event_id: str | None) -> int:
    try:
        return max(0, int(last_event_id or 0))
    except ValueError:
        return 0


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`event: job` messages, each the job's JSON"}})
async def job_events(request: Request, job_id: str = ident("job"),
                     last_event_id: str | None = Header(None)):
    """Server-sent events: the job's JSON now and at every change, until it ends."""
    import anyio

    studio = request.app.state.studio
    await anyio.to_thread.run_sync(studio.job, job_id)  # 404 before the stream starts

    def fetch(since: int) -> list[dict]:
        row = studio.store.one("SELECT * FROM jobs WHERE id=? AND seq>?", (job_id, since))
        return [job_json(row)] if row is not None else []

    stream = job_stream(fetch, since=_since(last_event_id), poll_s=studio.settings.sse_poll_s,
                        is_disconnected=request.is_disconnected, until_done=True)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`event: job` messages for every job change"}})
async def all_events(request: Request, last_event_id: str | None = Header(None),
                     since: int | None = Query(None, ge=0, description="the last seq seen; "
                                               "default: only changes from now on"),
                     timeout_s: float | None = Query(None, gt=0, le=3600, description=(
                         "close the stream after this long (reconnect with Last-Event-ID)"))):
    """Server-sent events of every job's changes (one stream for a whole page)."""
    import anyio

    studio = request.app.state.studio

    def newest() -> int:
        row = studio.store.one("SELECT COALESCE(MAX(seq), 0) AS s FROM jobs")
        return row["s"]

    start = _since(last_event_id) if last_event_id else since
    if start is None:
        start = await anyio.to_thread.run_sync(newest)

    def fetch(after: int) -> list[dict]:
        return [job_json(r) for r in studio.store.all(
            "SELECT * FROM jobs WHERE seq>? ORDER BY seq LIMIT 200", (after,))]

    stream = job_stream(fetch, since=start, poll_s=studio.settings.sse_poll_s,
                        is_disconnected=request.is_disconnected, until_done=False,
                        max_s=timeout_s)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/jobs/{job_id}/cancel", status_code=202)
def cancel_job(studio: StudioDep, job_id: str = ident("job")) -> JobOut:
    """Cancel: a queued job at once; a running one is stopped (its process and everything it
    started), `cancelling` until then, `cancelled` after. Nothing half-written is left."""
    return _change_state(studio, job_id, request_cancel)


@router.post("/jobs/{job_id}/retry", status_code=202)
def retry_job(studio: StudioDep, job_id: str = ident("job")) -> JobOut:
    """Queue a failed, cancelled or interrupted job again (same id and parameters; an ingest
    goes on from the files it finished, an edit keeps the variants it made)."""
    return _change_state(studio, job_id, retry)


def _change_state(studio, job_id: str, change) -> JobOut:
    """Apply `change(store, job_id)` (cancel or retry): 404 for an unknown job, 409 when its
    state does not allow it; then wake the scheduler and return the job."""
    try:
        change(studio.store, job_id)
    except KeyError:
        raise not_found("job", job_id) from None
    except JobStateError as exc:
        raise ApiError(409, "conflict", str(exc), hint=f"see GET /api/v1/jobs/{job_id}") from None
    studio.scheduler.wake()
    return job_json(studio.job(job_id))
