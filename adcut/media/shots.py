"""Shot boundaries: PySceneDetect's ContentDetector fed the frames ingest already decodes, and
the pure splitting of shot lists into usable clips."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from adcut.core.errors import DependencyError

if TYPE_CHECKING:
    import numpy as np


class ShotDetector:
    """Hard-cut detection, one frame at a time (frames in order, RGB uint8).

    Two scenedetect detectors see every frame: ContentDetector (HSV change between consecutive
    frames above `threshold`) and AdaptiveDetector (a change several times larger than in the
    frames around it). The second catches cuts between shots of equal brightness and
    saturation, whose pure hue change scores under the fixed threshold (blue to green scores 20).
    Cuts closer than `min_shot_s` to the previous one are dropped.
    """

    def __init__(self, fps: float, threshold: float = 27.0, min_shot_s: float = 0.4) -> None:
        try:
            import cv2
            from scenedetect.common import FrameTimecode
            from scenedetect.detectors import AdaptiveDetector, ContentDetector
        except ImportError as e:
            raise DependencyError(
                f"shot detection needs scenedetect and OpenCV: {e}",
                hint="pip install scenedetect==0.7.2",
            ) from e
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self._cv2 = cv2
        self._timecode = FrameTimecode
        self._rate = Fraction(fps).limit_denominator(1001)
        # An int is a frame count to scenedetect, which keeps its comparisons exact.
        self._min_f = max(1, round(min_shot_s * fps))
        self._detectors = [
            ContentDetector(threshold=threshold, min_scene_len=self._min_f),
            AdaptiveDetector(min_scene_len=self._min_f),
        ]
        self._cuts: set[int] = set()
        self._last_index: int | None = None

    def push(self, frame_index: int, rgb: np.ndarray) -> None:
        bgr = self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2BGR)  # scenedetect works in OpenCV's BGR
        tc = self._timecode(int(frame_index), self._rate)
        for det in self._detectors:
            self._cuts.update(c.frame_num for c in det.process_frame(tc, bgr))
        self._last_index = int(frame_index)

    def finish(self) -> list[int]:
        """Cut frame indices, sorted: a cut at f means frame f starts a new shot."""
        if self._last_index is not None:
            end = self._timecode(self._last_index, self._rate)
            for det in self._detectors:
                self._cuts.update(c.frame_num for c in det.post_process(end))
        kept: list[int] = []
        for cut in sorted(self._cuts):
            # The two detectors may report one cut a frame apart; the earlier one stands.
            if cut > 0 and (not kept or cut - kept[-1] >= self._min_f):
                kept.append(cut)
        return kept


def split_long_shots(
    cuts: list[int],
    n_frames: int,
    fps: float,
    max_shot_s: float,
    min_shot_s: float = 0.4,
) -> list[tuple[int, int]]:
    """Half-open [start_f, end_f) shots covering 0..n_frames.

    Shots shorter than `min_shot_s` merge into the previous shot (the first into the next);
    then a shot longer than `max_shot_s` is cut into the fewest near-equal pieces that each
    fit, so a five-minute static take becomes usable clips.
    """
    if n_frames <= 0:
        return []
    if fps <= 0 or max_shot_s <= 0:
        raise ValueError(f"fps and max_shot_s must be positive, got {fps} and {max_shot_s}")
    min_f = math.ceil(min_shot_s * fps - 1e-9)
    max_f = max(1, math.floor(max_shot_s * fps + 1e-9))

    bounds = [0, *sorted({c for c in cuts if 0 < c < n_frames}), n_frames]
    shots = [[a, b] for a, b in zip(bounds, bounds[1:])]
    merged: list[list[int]] = []
    for shot in shots:
        if merged and shot[1] - shot[0] < min_f:
            merged[-1][1] = shot[1]
        elif merged and merged[-1][1] - merged[-1][0] < min_f:
            merged[-1][1] = shot[1]  # a short first shot joins the next one
        else:
            merged.append(shot)

    out: list[tuple[int, int]] = []
    for start, end in merged:
        length = end - start
        pieces = math.ceil(length / max_f)
        edges = [start + round(i * length / pieces) for i in range(pieces + 1)]
        out += list(zip(edges, edges[1:]))
    return out
