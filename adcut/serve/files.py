"""Serving files: media with byte ranges (what `<video>` needs to seek), downloads with a
readable name, and atomic writes (re-exported from adcut.core.files: temporary name, then
rename).

Only paths the app found itself (by id, in its records or a library's catalog) reach here; the
file must be a regular file, and a path that stops being one (deleted since) is a 404.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from adcut.core.files import write_atomic  # noqa: F401  (the one atomic writer, re-exported)
from adcut.serve.errors import ApiError

MEDIA_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
               ".mkv": "video/x-matroska", ".webm": "video/webm", ".wav": "audio/wav",
               ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg",
               ".opus": "audio/ogg", ".flac": "audio/flac", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".json": "application/json", ".srt": "application/x-subrip",
               ".otio": "application/json"}


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"


def safe_download_name(name: str) -> str:
    """A file name for Content-Disposition: letters, digits, dot, dash, underscore (PURE)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "download"
    return cleaned[:120]


def file_response(path: Path, *, media: str | None = None, download: str | None = None,
                  cache: str = "no-cache"):
    """A FileResponse (Starlette answers Range requests with 206 and Accept-Ranges: bytes)."""
    from starlette.responses import FileResponse

    path = Path(path)
    if not path.is_file():
        raise ApiError(404, "not_found", "the file is not there any more",
                       hint="it may have been moved or deleted on the server")
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    response = FileResponse(path, media_type=media or media_type(path), headers=headers,
                            filename=safe_download_name(download) if download else None,
                            content_disposition_type="attachment")
    if not download and "content-disposition" in response.headers:  # inline: none at all
        del response.headers["content-disposition"]
    return response
