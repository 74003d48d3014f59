"""Small frames of each footage file, kept at ingest, that an edit chooses its crops from.

Ingest decodes every frame of the footage once. Four frames a second of that decode, scaled to
the size reframing judges (adcut.render.reframe.sample_shot_frames: 160 px on the long side)
and JPEG-compressed (about 5 KB each, some 70 MB per hour of footage), are kept in the library
as `looks/SOURCE_ID.npz`. `adcut edit` chooses each shot's crop from the frames of its range
there and writes the choice into the plan (`reframe.center_x`/`center_y`, and `mode: fit-blur`
where a crop would cut the subject), instead of the renderer decoding every shot's range again
(0.3-0.5 s a shot, seconds on a first edit of new footage). The plan then renders the same
anywhere, and the user sees and can change each crop there. A library without them (ingested
by an older adcut), a still image, or a source changed since ingest leaves the choice to the
renderer, which decodes the frames as before.
"""

from __future__ import annotations

import io
import logging
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

LOOKS_DIR = "looks"
LOOKS_FPS = 4.0
LOOKS_LONG_SIDE = 160
# Bumped when what a looks file holds changes meaning: files of another version are not read.
LOOKS_VERSION = 1
JPEG_QUALITY = 90


def looks_path(folder: Path, source_id: str) -> Path:
    return Path(folder) / LOOKS_DIR / f"{source_id}.npz"


def looks_size(width: int, height: int) -> tuple[int, int]:
    """The looks' frame size for frames of width x height: the long side LOOKS_LONG_SIDE (never
    larger than the frames), even dimensions, the aspect kept."""
    scale = min(1.0, LOOKS_LONG_SIDE / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class LooksWriter:
    """Collects the looks of one file from the frames of its decode, offered in order, and
    returns the bytes of its looks file (finish)."""

    def __init__(self, source_width: int, source_height: int):
        self.source_size = (int(source_width), int(source_height))
        self._next = 0  # the next look is the frame shown at _next / LOOKS_FPS seconds
        self._times: list[float] = []
        self._jpegs: list[bytes] = []

    def offer(self, t_s: float, frame_s: float, rgb: np.ndarray) -> None:
        """Keep the frame shown from t_s for frame_s seconds if it is the one shown at the
        next quarter second."""
        if t_s + frame_s <= self._next / LOOKS_FPS + 1e-9:
            return
        import cv2

        h, w = rgb.shape[:2]
        size = looks_size(w, h)
        small = rgb if (w, h) == size else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(small[:, :, ::-1]),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError("a look could not be JPEG-encoded")
        self._times.append(round(t_s, 6))
        self._jpegs.append(data.tobytes())
        # past every quarter second this frame is shown at (a slow source covers several)
        self._next = math.floor((t_s + frame_s) * LOOKS_FPS - 1e-9) + 1

    def finish(self) -> bytes:
        offsets = np.cumsum([0] + [len(j) for j in self._jpegs], dtype=np.int64)
        buffer = io.BytesIO()
        np.savez(buffer, version=np.int32(LOOKS_VERSION),
                 source_size=np.array(self.source_size, np.int32),
                 times_s=np.array(self._times, np.float64), offsets=offsets,
                 jpeg=np.frombuffer(b"".join(self._jpegs), np.uint8))
        return buffer.getvalue()


@dataclass(frozen=True)
class Looks:
    """The looks of one file: when each was shown and its JPEG."""

    source_width: int
    source_height: int
    times_s: np.ndarray
    offsets: np.ndarray
    jpeg: np.ndarray

    def frame(self, i: int) -> np.ndarray:
        import cv2

        data = self.jpeg[self.offsets[i]:self.offsets[i + 1]]
        return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].copy()

    def frames_between(self, start_s: float, duration_s: float, count: int = 3) -> list[np.ndarray]:
        """Up to `count` frames spread over [start_s, start_s + duration_s), at the times
        sample_shot_frames would decode (start_s + k * duration_s / count): for each, the look
        shown then; a look serves once (a short range gets fewer frames)."""
        if len(self.times_s) == 0 or duration_s <= 0:
            return []
        picked: list[int] = []
        for k in range(count):
            t = start_s + k * duration_s / count
            i = int(np.searchsorted(self.times_s, t + 1e-6, side="right")) - 1
            i = min(max(i, 0), len(self.times_s) - 1)
            if self.times_s[i] >= start_s + duration_s or (picked and picked[-1] == i):
                continue
            picked.append(i)
        return [self.frame(i) for i in picked]


def read_looks(folder: Path, source_id: str) -> Looks | None:
    """A source's looks, or None when the library has none for it (or they cannot be read:
    the renderer then decodes the frames, as without them)."""
    path = looks_path(folder, source_id)
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != LOOKS_VERSION:
                return None
            width, height = (int(v) for v in data["source_size"])
            looks = Looks(width, height, data["times_s"], data["offsets"], data["jpeg"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.debug("looks of %s not read: %s", source_id, exc)
        return None
    n = len(looks.times_s)
    if len(looks.offsets) != n + 1 or (n and int(looks.offsets[-1]) != len(looks.jpeg)):
        log.debug("looks of %s are inconsistent; not used", source_id)
        return None
    return looks


def chosen_crops(plan, folder: Path):
    """`plan` with the crop of each shot chosen from the library's looks (an EditPlan; the
    shots it cannot choose for are left to the renderer). The choice is the renderer's own
    (adcut.render.reframe.choose_reframe on the frames of the shot's range), written as the
    plan's reframe: the centre, and `mode: fit-blur` where cropping would cut the subject."""
    import os

    from adcut.core.plan import ASPECTS
    from adcut.library.catalog import Catalog
    from adcut.render.reframe import choose_reframe, saliency_map, same_aspect

    out_w, out_h = ASPECTS[plan.aspect]
    if all(s.reframe.center_x is not None and s.reframe.center_y is not None
           for s in plan.shots):
        return plan
    with Catalog(Path(folder), readonly=True) as catalog:
        rows = {r["path"]: r for r in catalog.sources("footage")}
    looks_of: dict[str, Looks | None] = {}
    shots = []
    for shot in plan.shots:
        r = shot.reframe
        row = rows.get(shot.source)
        if ((r.center_x is not None and r.center_y is not None) or row is None
                or ("still" in row.keys() and row["still"])):
            shots.append(shot)
            continue
        if row["id"] not in looks_of:
            try:
                st = os.stat(shot.source)
                same = (st.st_size, st.st_mtime_ns) == (row["size_bytes"], row["mtime_ns"])
            except OSError:
                same = False  # gone or changed since ingest: the renderer says what is wrong
            looks_of[row["id"]] = read_looks(folder, row["id"]) if same else None
        looks = looks_of[row["id"]]
        width, height = (looks.source_width, looks.source_height) if looks else (0, 0)
        if looks is None or same_aspect(width, height, out_w, out_h):
            shots.append(shot)  # nothing to choose from, or nothing to choose
            continue
        frames = looks.frames_between(shot.in_s, min(shot.out_s, row["duration_s"]) - shot.in_s)
        if not frames:
            shots.append(shot)
            continue
        mode, cx, cy = choose_reframe(saliency_map(frames), width, height, out_w, out_h)
        if r.mode == "auto" and mode == "crop":
            mode = "auto"  # a crop the renderer still bounds (upscaling, text on screen)
        elif r.mode != "auto":
            mode = r.mode
        reframe = r.model_copy(update={
            "mode": mode, "center_x": r.center_x if r.center_x is not None else cx,
            "center_y": r.center_y if r.center_y is not None else cy})
        shots.append(shot.model_copy(update={"reframe": reframe}))
    return plan.model_copy(update={"shots": shots})
