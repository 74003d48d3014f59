"""Every refusal of the API as one JSON shape, never a traceback.

    {"error": {"status": 422, "code": "invalid_plan", "message": "one line", "hint": "what to do"}}

`ApiError` is raised by the routes; an `AdcutError` from a stage (a bad brief, a damaged
library) becomes a 4xx with its own message and hint; FastAPI's request validation, unknown
routes and methods get the same shape; anything else is a bug: a 500 whose message names the
log line holding the traceback (on the server's stderr only).
"""

from __future__ import annotations

import logging
import secrets

from adcut.cli.boundary import one_line
from adcut.core.errors import (
    AdcutError,
    BadInputError,
    LibraryError,
    MediaError,
    OutputError,
)

log = logging.getLogger("adcut.serve")


class ApiError(Exception):
    """A refusal: HTTP `status`, a stable `code` a page can switch on, one line, a hint."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.headers = headers or {}

    def body(self) -> dict:
        return error_body(self.status, self.code, self.message, self.hint)


def error_body(status: int, code: str, message: str, hint: str | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": one_line(message),
                      "hint": one_line(hint) if hint else None}}


LISTS = {"library": "GET /api/v1/libraries", "job": "GET /api/v1/jobs",
         "brief": "GET /api/v1/briefs", "variant": "GET /api/v1/variants",
         "render": "GET /api/v1/variants/ID/renders", "clip": "GET /api/v1/libraries/ID/clips",
         "track": "GET /api/v1/libraries/ID/tracks", "revision":
         "GET /api/v1/variants/ID/plan/revisions", "asset": "POST /api/v1/assets (upload one)"}


def not_found(what: str, ident: str) -> ApiError:
    """404 for an id nothing has (said with the route that lists the ids there are)."""
    listing = LISTS.get(what)
    return ApiError(404, "not_found", f"no {what} {ident!r}" if len(ident) <= 80
                    else f"no such {what}", hint=f"see {listing}" if listing else "check the id")


def from_adcut(exc: AdcutError) -> ApiError:
    """A stage's error as the API says it: bad input 422, a library or media problem 422, an
    output that cannot be written 409, a missing dependency 503."""
    from adcut.core.errors import DependencyError

    status, code = 422, "bad_input"
    if isinstance(exc, LibraryError):
        code = "library"
    elif isinstance(exc, MediaError):
        code = "media"
    elif isinstance(exc, OutputError):
        status, code = 409, "output"
    elif isinstance(exc, DependencyError):
        status, code = 503, "dependency"
    elif not isinstance(exc, BadInputError):
        code = "error"
    return ApiError(status, code, exc.message, exc.hint)


def describe_request_errors(errors: list[dict]) -> str:
    """FastAPI's request validation errors as one line, in the words the CLI uses for a
    hand-edited file (`field.path: what is wrong; ...`)."""
    from adcut.core.validation import describe, json_path, shorten

    parts = []
    for e in errors[:6]:
        loc = tuple(e.get("loc") or ())
        where = loc[0] if loc else "request"
        path = json_path(loc[1:]) if len(loc) > 1 else str(where)
        if where in ("query", "path", "header", "cookie") and len(loc) > 1:
            path = f"{where} parameter {loc[1]}"
        parts.append(shorten(f"{path}: {describe(e)}"))
    if len(errors) > 6:
        parts.append(f"and {len(errors) - 6} more problems")
    return "; ".join(parts) or "the request is not valid"


def install_handlers(app) -> None:
    """Register the handlers that give every error the one JSON shape."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def respond(err: ApiError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(ApiError)
    async def _api(request, exc: ApiError):
        return respond(exc)

    @app.exception_handler(AdcutError)
    async def _adcut(request, exc: AdcutError):
        return respond(from_adcut(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        bad_ids = [e for e in exc.errors() if tuple(e.get("loc") or ())[:1] == ("path",)]
        if bad_ids:  # an id that cannot be one of ours: unknown, like any other
            name = str(bad_ids[0]["loc"][-1]).removesuffix("_id")
            value = str(bad_ids[0].get("input", ""))
            return respond(ApiError(404, "not_found", f"no {name} {value[:80]!r}",
                                    hint="ids are listed by the API's GET routes"))
        return respond(ApiError(422, "invalid_request", describe_request_errors(exc.errors()),
                                hint="see GET /api/v1/openapi.json for the request's shape"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        codes = {404: ("not_found", "no such route", "see GET /api/v1/openapi.json"),
                 405: ("method_not_allowed", f"{request.method} is not allowed here",
                       "see GET /api/v1/openapi.json")}
        code, message, hint = codes.get(exc.status_code, ("http", str(exc.detail),
                                                          "see GET /api/v1/openapi.json"))
        if exc.status_code not in codes and isinstance(exc.detail, str):
            message = exc.detail
        return respond(ApiError(exc.status_code, code, message, hint,
                                headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _bug(request, exc: Exception):
        ref = secrets.token_hex(4)
        log.error("internal error %s on %s %s", ref, request.method, request.url.path,
                  exc_info=exc)
        return respond(ApiError(500, "internal", f"internal error {ref}: {type(exc).__name__}",
                                hint="this is a bug in adcut; the server log has the details "
                                     f"under {ref}"))
