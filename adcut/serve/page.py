"""The studio page: `GET /` and its static files (`/static/...`), all shipped in the package
(adcut/serve/static), so the page works offline: no build step, no CDN.

The page is plain HTML, CSS and JavaScript modules (one per view) that use only the REST API
under /api/v1. Its Content-Security-Policy allows nothing but this server, so a page that
tried to load anything from elsewhere would fail in the browser, not quietly phone out.
"""

from __future__ import annotations

from pathlib import Path

from adcut import __version__
from adcut.serve.errors import not_found

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer"}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
                ".html": "text/html", ".png": "image/png", ".ico": "image/x-icon"}


def install_page(app) -> None:
    """Add `GET /` (the page) and `GET /static/NAME` (its files) to the app."""
    from starlette.responses import HTMLResponse

    @app.get("/", include_in_schema=False)
    def index():
        """The studio page (the API's own description: /api/v1/openapi.json)."""
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("{{version}}", __version__), headers=PAGE_HEADERS)

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str):
        """A file of the page, found in the package's static folder only."""
        from adcut.serve.files import file_response
        from adcut.serve.security import inside

        path = STATIC / name
        if not name or name.startswith(".") or "/." in name or not inside(path, [STATIC]) \
                or path.suffix not in STATIC_TYPES or not path.is_file():
            raise not_found("file", name[:80])
        response = file_response(path, media=STATIC_TYPES[path.suffix])
        response.headers["Content-Security-Policy"] = CSP
        return response


def refusal_page(status: int, message: str, hint: str | None) -> bytes:
    """The page a browser gets when the server refuses it (no token, a wrong one, a Host that
    is not loopback): what is wrong and what to do, no script (PURE)."""
    from html import escape

    if status == 401:
        hint = ("Open the address adcut serve printed followed by /?token=YOUR_TOKEN, with "
                "the token the server was started with (--token or ADCUT_TOKEN). This browser "
                "then keeps it until it closes.")
    text = message[:1].upper() + message[1:]
    return ("<!doctype html><html lang=en><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>adcut studio: {status}</title>"
            "<body style='font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;"
            "padding:0 1rem;color:#1d2330'>"
            "<h1 style='font-size:1.4rem'>adcut studio</h1>"
            f"<p role=alert><strong>{escape(text)}.</strong></p>"
            f"<p>{escape(hint or '')}</p></body></html>").encode()
