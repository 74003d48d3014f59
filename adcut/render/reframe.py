"""Where to crop a shot so the subject stays in frame, and when not to crop at all.

Saliency here is an edge + motion energy map: detail and movement are where viewers look in
ad footage (products, faces, hands), and it costs a few small frames per shot. The crop window
has the output's aspect; if it would keep too little of the energy (a wide shot whose subject
spans the frame), the shot is fitted over a blurred copy of itself instead.
"""

from __future__ import annotations

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


def choose_reframe(s: Saliency, src_w: int, src_h: int, out_w: int,
                   out_h: int) -> tuple[str, float, float]:
    """('crop' | 'fit-blur', center_x, center_y) for a shot (PURE)."""
    if abs(src_w / src_h - out_w / out_h) < 0.01:
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
    """`count` small frames spread over [start_s, start_s + duration_s) from one ffmpeg call."""
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
