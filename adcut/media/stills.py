"""Still images (PNG, JPEG, WebP) used as footage.

A still becomes one clip of a library (ingest) and is rendered with a slow push-in (the render
graph's Ken Burns input branch). Images are read with Pillow: the probe (PyAV) treats a single
picture as cover art, not as video. EXIF orientation is applied where Pillow reads the file
and the render reads the same orientation (see `still_size`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adcut.core.errors import MediaError

STILL_EXTS = frozenset({".png", ".jpg", ".jpeg", ".webp"})
MIN_STILL_SIDE_PX = 16
# Pillow refuses images above ~179 MP as decompression bombs; a photo for an ad is far below.
MAX_STILL_PIXELS = 120_000_000


def is_still(path: str | Path) -> bool:
    """Whether a footage path is a still image (by its extension, as discovery finds them)."""
    return Path(str(path)).suffix.lower() in STILL_EXTS


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.size  # noqa: B018 - reads the header
    except FileNotFoundError as exc:
        raise MediaError(f"{path}: does not exist", hint="check the path") from exc
    except PermissionError as exc:
        raise MediaError(f"{path}: cannot be read (permission denied)",
                         hint="check the file's permissions") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise MediaError(f"{path}: not a readable image ({' '.join(str(exc).split())[:100]})",
                         hint="export it again as PNG or JPEG") from exc
    w, h = img.size
    if w * h > MAX_STILL_PIXELS:
        raise MediaError(f"{path}: the image is {w}x{h} pixels, too large to use",
                         hint="export it at most 8000 pixels a side")
    return img


def _oriented_size(img) -> tuple[int, int]:
    """Display size after the EXIF orientation (5-8 swap the sides)."""
    w, h = img.size
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no orientation
        orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def still_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of a still as displayed; MediaError when it cannot be used."""
    path = Path(path)
    img = _open(path)
    w, h = _oriented_size(img)
    if min(w, h) < MIN_STILL_SIDE_PX:
        raise MediaError(f"{path}: the image is {w}x{h} pixels, smaller than the "
                         f"{MIN_STILL_SIDE_PX}x{MIN_STILL_SIDE_PX} minimum",
                         hint="export it at a usable size")
    return w, h


def load_still(path: str | Path) -> np.ndarray:
    """The image as RGB uint8 (H, W, 3), EXIF orientation applied, transparency over white
    (a packshot with an alpha channel shows its product on white, as shops show it)."""
    from PIL import Image, ImageOps

    path = Path(path)
    still_size(path)  # refuses unusable files with one line
    img = _open(path)
    try:
        img.seek(0)  # an animated image: its first frame
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba)
        return np.asarray(img.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{path}: the image cannot be decoded ({' '.join(str(exc).split())[:100]})",
                         hint="export it again as PNG or JPEG") from exc
