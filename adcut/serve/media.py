"""Uploads: what a file really is (sniffed by ffmpeg from its bytes, never from its name),
and storing it under a name the server chooses.

The file is first written to a hidden temporary name without an extension, so ffmpeg's probe
decides by content alone; `parse_probe` (pure) reads ffmpeg's description of the input. A
file is kept only when it is media of the kind asked for (footage: a video stream that is not
cover art, or a PNG, JPEG or WebP still; music: an audio stream), in a container adcut reads;
it is then renamed to `ID.EXT`, EXT from the container found.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from adcut.serve.errors import ApiError

SNIFF_TIMEOUT_S = 30
COPY_CHUNK = 1 << 20

# ffmpeg demuxer name -> extension, for what may be stored (others are refused)
VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": ".mp4", "matroska,webm": ".mkv", "avi": ".avi",
                    "mpegts": ".ts", "mpeg": ".mpg", "flv": ".flv", "asf": ".wmv", "mxf": ".mxf"}
IMAGE_CONTAINERS = {"png_pipe": ".png", "jpeg_pipe": ".jpg", "webp_pipe": ".webp"}
AUDIO_CONTAINERS = {"wav": ".wav", "mp3": ".mp3", "flac": ".flac", "ogg": ".ogg",
                    "mov,mp4,m4a,3gp,3g2,mj2": ".m4a", "aac": ".aac", "aiff": ".aiff",
                    "asf": ".wma", "matroska,webm": ".mka"}

_INPUT = re.compile(r"^Input #0, (.+?), from ", re.MULTILINE)
_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: (Video|Audio|Subtitle|Data|Attachment): (\S+)(.*)$",
                     re.MULTILINE)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


@dataclass(frozen=True)
class Probe:
    container: str
    video: list[str]  # codecs of video streams that are pictures (not cover art)
    audio: list[str]
    duration_s: float | None


def parse_probe(stderr: str) -> Probe | None:
    """ffmpeg's `-i FILE` description of its input (PURE); None when it is not media."""
    found = _INPUT.search(stderr)
    if not found:
        return None
    video, audio = [], []
    for kind, codec, rest in _STREAM.findall(stderr):
        codec = codec.rstrip(",")
        if kind == "Video" and "(attached pic)" not in rest:
            video.append(codec)
        elif kind == "Audio":
            audio.append(codec)
    d = _DURATION.search(stderr)
    duration = int(d[1]) * 3600 + int(d[2]) * 60 + float(d[3]) if d else None
    return Probe(found[1], video, audio, duration)


def classify(probe: Probe | None, kind: str) -> tuple[str, str] | str:
    """(media, extension) when the probed file may be stored as `kind` (footage | music),
    else why not (PURE)."""
    if probe is None:
        return "it is not a video, image or audio file ffmpeg can read"
    if kind == "music":
        if not probe.audio:
            return "it has no audio stream"
        ext = AUDIO_CONTAINERS.get(probe.container)
        return ("audio", ext) if ext else f"its container ({probe.container}) is not supported"
    if probe.container in IMAGE_CONTAINERS:
        return "image", IMAGE_CONTAINERS[probe.container]
    if not probe.video:
        return "it has no video stream (upload music with kind=music)"
    ext = VIDEO_CONTAINERS.get(probe.container)
    if ext is None:
        return f"its container ({probe.container}) is not supported"
    if not probe.duration_s or probe.duration_s <= 0:
        return "it has no duration"
    return "video", ext


def sniff(path: Path) -> Probe | None:
    """Ask ffmpeg what `path` holds (a child process with a time limit: a hostile file
    cannot hang or crash the server)."""
    import subprocess

    from adcut.media.ffmpeg import find_ffmpeg, run_child

    try:
        proc = run_child([find_ffmpeg().path, "-hide_banner", "-nostdin", "-i", str(path)],
                         stdout=subprocess.DEVNULL, timeout=SNIFF_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None
    return parse_probe(proc.stderr.decode("utf-8", "replace"))


def incoming_dir(folder: Path) -> Path:
    d = folder / ".incoming"
    d.mkdir(parents=True, exist_ok=True)
    return d


async def receive_to_temp(upload, folder: Path, budget: list[int]) -> Path:
    """Copy an UploadFile to a hidden temporary file in `folder`, counting against
    `budget[0]` bytes (ApiError 413 past it; the partial file is removed)."""
    import anyio

    temp = incoming_dir(folder) / f".{secrets.token_hex(8)}.part"
    try:
        async with await anyio.open_file(temp, "wb") as fh:
            while True:
                chunk = await upload.read(COPY_CHUNK)
                if not chunk:
                    break
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise ApiError(413, "too_large", "the upload is larger than this server's "
                                   "limit", hint="upload fewer or smaller files, or start the "
                                                 "server with a larger --max-upload-mb")
                await fh.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def place(temp: Path, folder: Path, ext: str) -> Path:
    """Rename a checked temporary file to its server-chosen name in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{secrets.token_hex(8)}{ext}"
    os.replace(temp, final)
    return final


def display_name(name: str | None) -> str:
    """An uploaded file's own name, for display only (never used as a path)."""
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable())[:200]
    return name or "upload"
