"""Who may call the app, and which files a request may reach.

Access. Bound to loopback without a token, the app answers only requests whose Host is a
loopback name (a web page elsewhere cannot reach it by rebinding a DNS name to 127.0.0.1).
With a token (always, off loopback) every request must carry it, whichever way suits the
client: `Authorization: Bearer TOKEN`, the `adcut_token` cookie, or `?token=TOKEN` in the URL
(the page opens `/?token=TOKEN` once; the answer sets the cookie, HttpOnly and SameSite=Strict,
which `<video>`, `<img>` and EventSource then send by themselves). A request that changes
something and comes from a page of another origin (its `Origin` header names another host) is
refused, token or not. Request bodies are limited: uploads to the configured size, everything
else (plans, briefs) to a few MiB; a larger one is refused before it is read.

Files. A path in a request (a folder to ingest, a brief's product image, a file a plan names)
is normalised, its symlinks resolved, and then must lie inside the configured roots; `..`,
absolute paths elsewhere, links that lead out and percent-encoded tricks all end up outside and
are refused. Everything else the app serves is found by id in its own records, never by a path
from the request.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from adcut.serve.errors import ApiError, error_body
from adcut.serve.settings import TOKEN_COOKIE, TOKEN_QUERY, ServeSettings, is_loopback

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOAD_SLACK_BYTES = 1 << 20  # multipart boundaries and headers around the files
MAX_PATH_CHARS = 4096


# -- paths --------------------------------------------------------------------------------------

def real(path: Path | str) -> Path:
    """The absolute path with every symlink resolved (what containment is decided on)."""
    return Path(os.path.realpath(os.fspath(path)))


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether the real path of `path` lies in (or is) one of the real `roots`."""
    target = real(path)
    return any(target == r or target.is_relative_to(r) for r in (real(x) for x in roots))


def outside_roots(path: Path, roots: Iterable[Path]) -> bool:
    return not inside(path, roots)


def request_path(raw: object, roots: list[Path], *, what: str = "path") -> Path:
    """A path given in a request, as a real path inside `roots`; else ApiError 400/403.

    Absolute paths are taken as they are; a relative one is read from the first root. The
    check is on the fully resolved path, so `..`, symlinks and absolute paths elsewhere all
    come out as "outside"."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "bad_path", f"{what} must be a non-empty string",
                       hint="give a path inside the roots (GET /api/v1/roots)")
    if "\x00" in raw or len(raw) > MAX_PATH_CHARS or not raw.isprintable():
        raise ApiError(400, "bad_path", f"{what} holds control characters or is too long",
                       hint="give a plain path")
    p = Path(raw)
    if not p.is_absolute():
        p = roots[0] / p
    if not inside(p, roots):
        raise ApiError(403, "outside_roots", f"{what} {_show(raw)} is outside the folders this "
                       "server may read", hint="use a path inside the roots listed by GET "
                       "/api/v1/roots")
    return real(p)


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 120 else raw[:58] + "..." + raw[-58:])


# -- access -------------------------------------------------------------------------------------

def token_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def presented_token(headers: dict[str, str], query: str) -> tuple[str | None, str]:
    """(token, where it came from: header | cookie | query | none)."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "header"
    cookie = headers.get("cookie")
    if cookie:
        jar = SimpleCookie()
        try:
            jar.load(cookie)
        except Exception:  # noqa: BLE001  (a malformed cookie header is no token)
            jar = SimpleCookie()
        if TOKEN_COOKIE in jar:
            return jar[TOKEN_COOKIE].value, "cookie"
    values = parse_qs(query, keep_blank_values=True).get(TOKEN_QUERY)
    if values:
        return values[0], "query"
    return None, "none"


def host_allowed(host_header: str, settings: ServeSettings) -> bool:
    """A loopback app without a token answers only to loopback Host names (and the ones
    configured)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host[1:host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return is_loopback(name) or name in {h.lower() for h in settings.allowed_hosts}


def origin_allowed(origin: str | None, host_header: str) -> bool:
    """A browser's request from another origin (another host or port) may not change anything."""
    if not origin or origin == "null":
        return origin != "null"
    parts = urlsplit(origin)
    return parts.netloc.lower() == host_header.strip().lower()


def check_access(method: str, headers: dict[str, str], query: str,
                 settings: ServeSettings) -> tuple[ApiError | None, str]:
    """Whether a request may go on (None) or its refusal; and how its token came."""
    host = headers.get("host", "")
    if settings.token:
        token, where = presented_token(headers, query)
        if token is None:
            return ApiError(401, "unauthorized", "this server needs a token",
                            hint="send Authorization: Bearer TOKEN, the adcut_token cookie or "
                                 "?token=TOKEN", headers={"WWW-Authenticate": "Bearer"}), where
        if not token_matches(token, settings.token):
            return ApiError(401, "unauthorized", "wrong token",
                            hint="use the token the server was started with (ADCUT_TOKEN or "
                                 "--token)", headers={"WWW-Authenticate": "Bearer"}), where
    else:
        where = "none"
        if not host_allowed(host, settings):
            return ApiError(400, "bad_host", "this server answers only on loopback addresses",
                            hint="open it as http://127.0.0.1:PORT, or start it with a token"), where
    if method in UNSAFE_METHODS and "origin" in headers \
            and not origin_allowed(headers.get("origin"), host):
        return ApiError(403, "cross_origin", "a request from another web site was refused",
                        hint="use the page this server serves"), where
    return None, where


def is_upload(path: str) -> bool:
    """Requests whose body is files (multipart), limited by --max-upload-mb."""
    return path.endswith(("/uploads", "/assets"))


def body_limit(method: str, path: str, settings: ServeSettings) -> int:
    """How many bytes the body of this request may have (0 for a method without a body)."""
    if method not in UNSAFE_METHODS:
        return 0
    if is_upload(path):
        return settings.max_upload_bytes + UPLOAD_SLACK_BYTES
    return settings.max_json_bytes


class Guard:
    """ASGI middleware: access (check_access), the token cookie, and body size limits."""

    def __init__(self, app, settings: ServeSettings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        query = scope.get("query_string", b"").decode("latin-1")
        method = scope.get("method", "GET")
        refusal, where = check_access(method, headers, query, self.settings)
        if refusal is not None:
            return await _respond(send, refusal, html=wants_page(method, scope.get("path", ""),
                                                                 headers))
        limit = body_limit(method, scope.get("path", ""), self.settings)
        upload = is_upload(scope.get("path", ""))
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                return await _respond(send, ApiError(
                    400, "bad_request", "Content-Length is not a number",
                    hint="send the body's length in bytes"))
            if too_big:
                return await _respond(send, _too_large(limit, upload, self.settings))
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_cookie(message):
            if message["type"] == "http.response.start" and where == "query":
                cookie = (f"{TOKEN_COOKIE}={self.settings.token}; Path=/; HttpOnly; "
                          "SameSite=Strict")
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", cookie.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_cookie)
        except BodyTooLarge as exc:
            await _respond(send, _too_large(exc.limit, upload, self.settings))


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def _too_large(limit: int, upload: bool, settings: ServeSettings) -> ApiError:
    if upload:
        mb = settings.max_upload_bytes / (1 << 20)
        return ApiError(413, "too_large", f"the upload is larger than this server's limit "
                        f"({mb:g} MiB)", hint="upload fewer or smaller files, or start the "
                                               "server with a larger --max-upload-mb")
    return ApiError(413, "too_large", f"the request body is larger than {limit >> 20} MiB",
                    hint="plans and briefs are small JSON documents")


def wants_page(method: str, path: str, headers: dict[str, str]) -> bool:
    """A browser opening a page (not the API): its refusal is a short HTML page."""
    return method == "GET" and not path.startswith("/api/") \
        and "text/html" in headers.get("accept", "")


async def _respond(send, err: ApiError, html: bool = False) -> None:
    import json

    if html:
        from adcut.serve.page import refusal_page

        body, kind = refusal_page(err.status, err.message, err.hint), b"text/html; charset=utf-8"
    else:
        body = json.dumps(error_body(err.status, err.code, err.message, err.hint)).encode()
        kind = b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
