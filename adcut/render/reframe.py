"""Where to crop a shot so the subject stays in frame, and when not to crop at all.

Saliency here is an edge + motion energy map: detail and movement are where viewers look in
ad footage (products, faces, hands), and it costs a few small frames per shot. The crop window
has the output's aspect; if it would keep too little of the energy (a wide shot whose subject
spans the frame), the shot is fitted over a blurred copy of itself instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Below this share of the (sharpened) salient energy inside the crop, cropping would cut the
# subject.
MIN_KEEP = 0.5


@dataclass(frozen=True)
class Saliency:
    center_x: float  # fraction of the source width
    center_y: float
    energy: np.ndarray  # (h, w) sharpened energy map, sums to 1 (uniform when frames are flat)


def saliency_map(frames: list[np.ndarray]) -> Saliency:
    """Energy map and its centre from small RGB frames of one shot (PURE)."""
    if not frames:
        raise ValueError("no frames")
    lum = [f.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) for f in frames]
    h, w = lum[0].shape
    energy = np.zeros((h, w), np.float32)
    for y in lum:
        gx = np.abs(np.diff(y, axis=1, append=y[:, -1:]))
        gy = np.abs(np.diff(y, axis=0, append=y[-1:, :]))
        energy += gx + gy
    for a, b in zip(lum, lum[1:]):
        energy += 2.0 * np.abs(b - a)  # movement weighs more than static texture
    energy = _box_blur(energy, max(1, min(h, w) // 16))
    # Frame borders (letterbox edges, sensor noise) are not subjects.
    border = max(1, min(h, w) // 40)
    energy[:border, :] = energy[-border:, :] = 0
    energy[:, :border] = energy[:, -border:] = 0
    total = float(energy.sum())
    if total <= 1e-6 * h * w:
        return Saliency(0.5, 0.5, np.full((h, w), 1.0 / (h * w), np.float32))
    energy /= total
    # Emphasise the strongest region so a busy background does not pull the centre.
    # Texture everywhere (grass, crowds) then matters less than one strong subject.
    focus = energy ** 2
    focus /= focus.sum()
    ys, xs = np.mgrid[0:h, 0:w]
    cx = float((focus * (xs + 0.5)).sum() / w)
    cy = float((focus * (ys + 0.5)).sum() / h)
    return Saliency(cx, cy, focus)


def crop_window(src_w: int, src_h: int, out_w: int, out_h: int,
                center_x: float, center_y: float) -> tuple[float, float, float, float]:
    """(x, y, w, h) in source pixels: the largest window of the output's aspect, centred as
    close to (center_x, center_y) as the frame allows (PURE)."""
    target = out_w / out_h
    if src_w / src_h > target:
        h = float(src_h)
        w = h * target
    else:
        w = float(src_w)
        h = w / target
    x = min(max(center_x * src_w - w / 2, 0.0), src_w - w)
    y = min(max(center_y * src_h - h / 2, 0.0), src_h - h)
    return x, y, w, h


def crop_keep(s: Saliency, out_w: int, out_h: int) -> float:
    """Share of the salient energy inside the crop window centred on the saliency centre."""
    h, w = s.energy.shape
    x, y, cw, ch = crop_window(w, h, out_w, out_h, s.center_x, s.center_y)
    x0, y0 = int(round(x)), int(round(y))
    return float(s.energy[y0:y0 + int(round(ch)), x0:x0 + int(round(cw))].sum())


def same_aspect(src_w: int, src_h: int, out_w: int, out_h: int) -> bool:
    """Whether a source has the output's aspect: its crop is then the whole frame (PURE)."""
    return abs(src_w / src_h - out_w / out_h) < 0.01


def choose_reframe(s: Saliency, src_w: int, src_h: int, out_w: int,
                   out_h: int) -> tuple[str, float, float]:
    """('crop' | 'fit-blur', center_x, center_y) for a shot (PURE)."""
    if same_aspect(src_w, src_h, out_w, out_h):
        return "crop", 0.5, 0.5  # same aspect: the crop is the whole frame
    mode = "crop" if crop_keep(s, out_w, out_h) >= MIN_KEEP else "fit-blur"
    return mode, round(s.center_x, 4), round(s.center_y, 4)


def _box_blur(a: np.ndarray, r: int) -> np.ndarray:
    """Separable box blur via cumulative sums (no scipy needed)."""
    def along(x: np.ndarray, axis: int) -> np.ndarray:
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(x, pad, mode="edge"), axis=axis)
        n = x.shape[axis]
        hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=axis)
        lo = np.take(c, np.arange(0, n), axis=axis)
        return (hi - lo) / (2 * r + 1)

    return along(along(a, 0), 1)


def sample_shot_frames(path: Path, start_s: float, duration_s: float, count: int = 3,
                       long_side: int = 160) -> list[np.ndarray]:
    """`count` small frames spread over [start_s, start_s + duration_s) from one ffmpeg call;
    remembered per file and range (adcut.core.memo), so the variants of an edit and the
    next edit of the same footage decode a shot's frames once."""
    from adcut.core.memo import remembered_arrays

    return remembered_arrays(
        "shot-frames", [f"{start_s:.3f}", f"{duration_s:.3f}", count, long_side], [path],
        lambda: _decode_shot_frames(path, start_s, duration_s, count, long_side))


def _decode_shot_frames(path: Path, start_s: float, duration_s: float, count: int,
                        long_side: int) -> list[np.ndarray]:
    from adcut.media.ffmpeg import find_ffmpeg, run_child
    from adcut.media.probe import probe_media

    video = probe_media(path).video
    if video is None:
        return []
    scale = long_side / max(video.width, video.height)
    w = max(2, int(video.width * scale) // 2 * 2)
    h = max(2, int(video.height * scale) // 2 * 2)
    rate = count / max(duration_s, 1e-3)
    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error",
           "-ss", f"{start_s:.3f}", "-t", f"{duration_s:.3f}", "-i", str(path),
           "-map", "0:V:0", "-vf", f"fps={rate:.6f},scale={w}:{h}:flags=area,format=rgb24",
           "-frames:v", str(count), "-f", "rawvideo", "pipe:1"]
    out = run_child(cmd).stdout
    n = len(out) // (w * h * 3)
    return [np.frombuffer(out, np.uint8, w * h * 3, i * w * h * 3).reshape(h, w, 3)
            for i in range(n)]


# -- bounds: never blow a small source up, never cut on-screen text -------------------------------

# A crop is shown at most this many output pixels per source pixel. Beyond it the picture is
# fitted over its blurred copy, magnified only up to this bound: a 640x272 clip in a 1080x1920
# frame is a 1280x544 band (84 % of its width) over the blur, not a 7x close-up of one corner.
# 2x keeps 1080p footage (1.8x for a 9:16 crop) cropping as before; 720p (2.7x) no longer does.
MAX_UPSCALE = 2.0


def crop_scale(src_w: int, src_h: int, out_w: int, out_h: int) -> float:
    """Output pixels per source pixel of the largest crop of the output's aspect."""
    return max(out_w / src_w, out_h / src_h)


def fit_scale(src_w: int, src_h: int, out_w: int, out_h: int) -> float:
    """Output pixels per source pixel when the whole source fits the frame."""
    return min(out_w / src_w, out_h / src_h)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the source frame


def _window(src_w: int, src_h: int, out_w: int, out_h: int, cx: float,
            cy: float) -> tuple[float, float, float, float]:
    """The crop window as fractions of the source: (left, top, width, height)."""
    x, y, w, h = crop_window(src_w, src_h, out_w, out_h, cx, cy)
    return x / src_w, y / src_h, w / src_w, h / src_h


def _cuts(box: Box, win: tuple[float, float, float, float]) -> bool:
    """Whether a crop window cuts a box: overlaps it without holding all of it."""
    left, top, w, h = win
    x0, y0, x1, y1 = box
    eps = 1e-6
    overlaps = x0 < left + w and left < x1 and y0 < top + h and top < y1
    holds = left - eps <= x0 and x1 <= left + w + eps and top - eps <= y0 and y1 <= top + h + eps
    return overlaps and not holds


def keep_text_whole(src_w: int, src_h: int, out_w: int, out_h: int, cx: float, cy: float,
                    boxes: list[Box]) -> tuple[float, float] | None:
    """A crop centre near (cx, cy) whose window cuts none of `boxes` (text on screen: a logo,
    a price), or None when no window of the output's aspect can hold them all (PURE). The
    window moves as little as possible: to hold every box it must span their union."""
    if not boxes or not any(_cuts(b, _window(src_w, src_h, out_w, out_h, cx, cy)) for b in boxes):
        return cx, cy
    _, _, fw, fh = _window(src_w, src_h, out_w, out_h, cx, cy)
    ux0, uy0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    ux1, uy1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    if ux1 - ux0 > fw + 1e-6 or uy1 - uy0 > fh + 1e-6:
        return None
    # The window's left edge within [ux1 - fw, ux0] holds the union; the closest to where it was.
    left, top, _, _ = _window(src_w, src_h, out_w, out_h, cx, cy)
    left = min(max(left, ux1 - fw), ux0)
    top = min(max(top, uy1 - fh), uy0)
    return round(left + fw / 2, 4), round(top + fh / 2, 4)


def resolve_reframe(asked: str, mode: str, cx: float, cy: float, src_w: int, src_h: int,
                    out_w: int, out_h: int, text_boxes: list[Box] = ()) -> tuple[dict, str | None]:
    """The timeline's reframe of a shot (ResolvedReframe fields) and a note when a bound
    changed it (PURE). `asked` is the plan's mode ("auto" lets the bounds decide; an explicit
    "crop" or "fit-blur" is kept), `mode` the one chosen from the frames.

    A crop that would cut on-screen text moves to hold it whole; when no crop can, the shot is
    fitted over the blur. A crop that would magnify the source more than MAX_UPSCALE is fitted
    too. A shot fitted for either reason is enlarged beyond fitting (`zoom`) as far as the crop
    would have gone, at most to MAX_UPSCALE, and only as far as its text stays whole."""
    if asked != "auto" or same_aspect(src_w, src_h, out_w, out_h) or mode != "crop":
        return {"mode": mode, "center_x": cx, "center_y": cy}, None
    boxes = list(text_boxes)
    held = keep_text_whole(src_w, src_h, out_w, out_h, cx, cy, boxes) if boxes else (cx, cy)
    scale = crop_scale(src_w, src_h, out_w, out_h)
    if held is not None and scale <= MAX_UPSCALE + 1e-9:
        return {"mode": "crop", "center_x": held[0], "center_y": held[1]}, None
    if held is not None:
        cx, cy = held
    fit = fit_scale(src_w, src_h, out_w, out_h)
    zoom = max(1.0, min(MAX_UPSCALE, scale) / fit)
    while boxes and zoom > 1.0 and any(
            _cuts(b, fit_window(src_w, src_h, out_w, out_h, fit * zoom, cx, cy)) for b in boxes):
        zoom = max(1.0, zoom - 0.05)
    zoom = math.floor(zoom * 1e4) / 1e4  # never past the bound by rounding
    why = ("a crop would cut the text on screen" if held is None else
           f"a crop would enlarge the {src_w}x{src_h} source {scale:.1f}x")
    return ({"mode": "fit-blur", "center_x": cx, "center_y": cy, "zoom": zoom},
            f"fitted over a blur at {fit * zoom:.2f}x: {why}")


def fit_window(src_w: int, src_h: int, out_w: int, out_h: int, scale: float, cx: float,
               cy: float) -> tuple[float, float, float, float]:
    """The part of the source shown when it is scaled by `scale` and cropped to the frame
    around (cx, cy): (left, top, width, height) as fractions of the source (PURE)."""
    fw = min(1.0, out_w / (scale * src_w))
    fh = min(1.0, out_h / (scale * src_h))
    left = min(max(cx - fw / 2, 0.0), 1.0 - fw)
    top = min(max(cy - fh / 2, 0.0), 1.0 - fh)
    return left, top, fw, fh


# -- motion: a static opening shot ---------------------------------------------------------------

# The mean absolute luma difference (a fraction of full scale) under which frames half a
# second apart count as one still picture: QC's threshold for footage that is already static
# (freezedetect at -40 dB = 0.01), so what this calls static is what QC would call frozen.
STATIC_MOTION = 0.01
# A static opening shot is pushed in this much per second, at most PUSH_IN_MAX: slow enough to
# read as a camera move, not a zoom effect (the same rate as a still's, compile.still_motion).
PUSH_IN_PER_S = 0.02
PUSH_IN_MAX = 0.12


def motion_level(frames: list[np.ndarray]) -> float:
    """The largest mean absolute luma difference between consecutive frames, as a fraction of
    full scale (PURE); 0 for fewer than two frames."""
    lum = [f.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) for f in frames]
    diffs = [float(np.abs(b - a).mean()) / 255.0 for a, b in zip(lum, lum[1:])]
    return max(diffs, default=0.0)


def frame_box(box: Box, src_w: int, src_h: int, reframe, out_w: int,
              out_h: int) -> tuple[float, float, float, float] | None:
    """Where a box of the source (fractions) lands in the output frame, in px, as the graph
    reframes it (a crop window, or the fitted picture over the blur); None when it is outside
    the frame (PURE). `reframe` is a ResolvedReframe."""
    if reframe.mode == "crop":
        left, top, fw, fh = _window(src_w, src_h, out_w, out_h, reframe.center_x,
                                    reframe.center_y)
        off_x = off_y = 0.0
        shown_w, shown_h = float(out_w), float(out_h)
    else:
        scale = fit_scale(src_w, src_h, out_w, out_h) * reframe.zoom
        left, top, fw, fh = fit_window(src_w, src_h, out_w, out_h, scale, reframe.center_x,
                                       reframe.center_y)
        shown_w, shown_h = min(out_w, fw * src_w * scale), min(out_h, fh * src_h * scale)
        off_x, off_y = (out_w - shown_w) / 2, (out_h - shown_h) / 2
    x0 = off_x + (box[0] - left) / fw * shown_w
    x1 = off_x + (box[2] - left) / fw * shown_w
    y0 = off_y + (box[1] - top) / fh * shown_h
    y1 = off_y + (box[3] - top) / fh * shown_h
    x0, x1 = max(0.0, x0), min(float(out_w), x1)
    y0, y1 = max(0.0, y0), min(float(out_h), y1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None
