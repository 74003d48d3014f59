"""What a media file holds: container, duration, the video and audio streams (PyAV, no ffprobe:
the imageio-ffmpeg wheel ships none)."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from adcut.core.errors import MediaError

log = logging.getLogger(__name__)

# How many leading video packets are looked at for timestamp regularity.
_PTS_SAMPLE = 120
# Codecs that, in a single-frame stream, are a picture (cover art) rather than footage.
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpegls"}


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int  # display size: after rotation (and non-square pixels)
    height: int
    coded_width: int  # the picture as stored in the file, before rotation
    coded_height: int
    rotation_deg: int  # 0/90/180/270 clockwise for display, like the legacy `rotate` tag
    fps: float  # average frame rate
    is_vfr: bool
    frame_count: int | None
    pix_fmt: str | None

    @property
    def is_portrait(self) -> bool:
        return self.height > self.width


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    size_bytes: int
    container: str  # demuxer name matching the file, e.g. "mp4", "mov", "matroska", "mp3"
    duration_s: float
    video: VideoInfo | None
    audio: AudioInfo | None


def probe_media(path: Path) -> MediaInfo:
    """Probe `path`; raise MediaError saying exactly what is wrong with a file that cannot be used."""
    import av

    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: does not exist", hint="check the path and the file name")
    if not path.is_file():
        raise MediaError(f"{path}: not a file", hint="give the path of a video or audio file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(
            f"{path}: empty file (0 bytes)",
            hint="the copy or export probably failed; copy the file again",
        )
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except PermissionError as e:
        raise MediaError(
            f"{path}: cannot be read (permission denied)", hint="check the file's permissions"
        ) from e
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise _open_error(path, e) from e

    with container:
        # A stream without a codec context is one no decoder here knows (or a damaged header):
        # it cannot be used, so it counts as absent.
        video_stream = next((s for s in container.streams.video
                             if s.codec_context is not None and not _is_cover_art(s)), None)
        audio_stream = next((s for s in container.streams.audio if s.codec_context is not None),
                            None)
        if video_stream is None and audio_stream is None:
            raise MediaError(
                f"{path}: no audio or video stream in it that can be decoded",
                hint="export the file again with its video and/or audio (H.264/AAC work everywhere)",
            )
        try:
            video = _video_info(path, container, video_stream) if video_stream is not None else None
            audio = _audio_info(audio_stream) if audio_stream is not None else None
        except (av.error.FFmpegError, AttributeError, ValueError, ZeroDivisionError) as e:
            raise MediaError(f"{path}: its stream headers are damaged ({e})",
                             hint="export or copy the file again") from e
        duration_s = _duration_s(container)
        names = container.format.name.split(",")

    suffix = path.suffix.lower().lstrip(".")
    return MediaInfo(
        path=path,
        size_bytes=size,
        container=suffix if suffix in names else names[0],
        duration_s=duration_s,
        video=video,
        audio=audio,
    )


def _is_cover_art(stream) -> bool:  # noqa: ANN001 - av.VideoStream
    import av

    if av.stream.Disposition.attached_pic in stream.disposition:
        return True
    return stream.codec_context.name in _IMAGE_CODECS and (stream.frames or 0) <= 1


def _duration_s(container) -> float:  # noqa: ANN001 - av.container.InputContainer
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    ends = [
        float(s.duration * s.time_base) + float((s.start_time or 0) * s.time_base)
        for s in container.streams
        if s.duration and s.time_base
    ]
    return max(ends, default=0.0)


def _audio_info(stream) -> AudioInfo:  # noqa: ANN001 - av.AudioStream
    cc = stream.codec_context
    return AudioInfo(codec=cc.name, sample_rate=int(cc.sample_rate or 0), channels=int(cc.layout.nb_channels))


def _rate(value: Fraction | None) -> float | None:
    return float(value) if value else None


def _video_info(path: Path, container, stream) -> VideoInfo:  # noqa: ANN001
    import av

    cc = stream.codec_context
    coded_w, coded_h = int(cc.width), int(cc.height)

    # One demux pass over the first packets: their timestamps tell whether the rate is regular,
    # and decoding up to the first picture gives the display matrix (rotation) and pixel format.
    pts: list[int] = []
    rotation_ccw = 0
    pix_fmt = cc.pix_fmt
    got_frame = False
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            if not got_frame:
                for frame in stream.decode(packet):
                    rotation_ccw = frame.rotation
                    pix_fmt = frame.format.name
                    got_frame = True
                    break
            # Stop once sampled; a stream that never decodes is not read to its end either.
            if len(pts) >= _PTS_SAMPLE and (got_frame or len(pts) >= 4 * _PTS_SAMPLE):
                break
    except av.error.FFmpegError as e:
        # A damaged stream still probes; decoding reports how far it gets.
        log.warning("%s: error while reading the first video packets: %s", path, e)

    rotation_deg = round(-rotation_ccw / 90) * 90 % 360

    avg = _rate(stream.average_rate)
    base = _rate(stream.base_rate) or _rate(stream.guessed_rate)
    deltas = [b - a for a, b in zip(sorted(pts), sorted(pts)[1:]) if b > a]
    fps = avg or base
    if not fps and deltas and stream.time_base:
        fps = 1.0 / float(statistics.median(deltas) * stream.time_base)
    if not fps:
        log.warning("%s: no frame rate in the file, assuming 25 fps", path)
        fps = 25.0

    is_vfr = _irregular(deltas)
    if not is_vfr and avg and base:
        ratio = base / avg
        # A nominal rate twice the average is field rate of interlaced video, not VFR.
        is_vfr = abs(ratio - 1) > 0.1 and abs(ratio - 2) > 0.01

    sar = stream.sample_aspect_ratio
    disp_w, disp_h = coded_w, coded_h
    if sar and abs(float(sar) - 1) > 0.01:
        disp_w = 2 * round(coded_w * float(sar) / 2)
    if rotation_deg in (90, 270):
        disp_w, disp_h = disp_h, disp_w

    return VideoInfo(
        codec=cc.name,
        width=disp_w,
        height=disp_h,
        coded_width=coded_w,
        coded_height=coded_h,
        rotation_deg=rotation_deg,
        fps=float(fps),
        is_vfr=is_vfr,
        frame_count=int(stream.frames) or None,
        pix_fmt=pix_fmt,
    )


def _irregular(deltas: list[int]) -> bool:
    """Whether frame intervals vary: two or more intervals 25% off the median. Camera jitter and
    timebase rounding (33/34 ms at 29.97 fps) stay under that; dropped-frame gaps do not."""
    if len(deltas) < 4:
        return False
    med = statistics.median(deltas)
    return sum(abs(d - med) > 0.25 * med for d in deltas) >= 2


# Leading bytes of container formats ffmpeg reads; a file starting with one is media, damaged.
_SIGNATURES = (
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM"),
    (0, b"RIFF", "RIFF (WAV/AVI)"),
    (0, b"ID3", "MP3"),
    (0, b"OggS", "Ogg"),
    (0, b"fLaC", "FLAC"),
    (0, b"FLV", "FLV"),
    (0, b"\x00\x00\x01\xba", "MPEG-PS"),
    (0, b"\x30\x26\xb2\x75", "ASF/WMV"),
)
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}


def _mp4_has_moov(path: Path) -> bool | None:
    """Walk the top-level MP4 boxes; None when the file is not MP4/MOV-like at all."""
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8 or head[4:8] not in _MP4_BOXES:
            return None
        f.seek(0, 2)
        end = f.tell()
        pos = 0
        while pos + 8 <= end:
            f.seek(pos)
            hdr = f.read(16)
            size = int.from_bytes(hdr[:4], "big")
            kind = hdr[4:8]
            if kind == b"moov":
                return True
            if size == 1 and len(hdr) >= 16:
                size = int.from_bytes(hdr[8:16], "big")
            elif size == 0:
                size = end - pos
            if size < 8:
                break
            pos += size
        return False


def _open_error(path: Path, err: Exception) -> MediaError:
    reason = getattr(err, "strerror", None) or str(err)
    has_moov = _mp4_has_moov(path)
    if has_moov is False:
        return MediaError(
            f"{path}: truncated or corrupt: the MP4 index (moov atom) is missing, "
            "as when a recording or copy stops early",
            hint="copy the file again from the camera or phone; "
            "an interrupted recording needs a repair tool such as untrunc",
        )
    with path.open("rb") as f:
        head = f.read(16)
    kind = "MP4/MOV" if has_moov else next(
        (name for off, sig, name in _SIGNATURES if head[off:].startswith(sig)), None
    )
    if kind is not None:
        return MediaError(
            f"{path}: truncated or corrupt: a {kind} file that ffmpeg cannot read ({reason})",
            hint="copy or export the file again",
        )
    return MediaError(
        f"{path}: not a media file: ffmpeg cannot read it ({reason})",
        hint="give a video or audio file (mp4, mov, mkv, webm, mp3, wav, m4a, ...)",
    )
