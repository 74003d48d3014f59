"""The routers of /api/v1, one module per resource: system (info, schemas, roots, assets),
libraries (clips, tracks, uploads, ingest), briefs, jobs (progress, events, cancel, retry) and
edits (edit jobs, variants, plans, candidates, renders, files)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from adcut.serve.store import ID_PATTERN


def _studio(request: Request):
    return request.app.state.studio


StudioDep = Annotated[object, Depends(_studio)]


def ident(what: str):
    """A path parameter holding an id of ours (anything else is a 404 before any lookup)."""
    return Path(description=f"a {what} id", pattern=ID_PATTERN, max_length=16)


def _errors() -> dict:
    from adcut.serve.models import ErrorOut

    words = {400: "bad request", 401: "missing or wrong token", 403: "outside the roots, or "
             "from another site", 404: "unknown id", 409: "not in a state that allows it",
             413: "body too large", 422: "invalid document or parameters"}
    return {code: {"model": ErrorOut, "description": text} for code, text in words.items()}


ERRORS = _errors()
