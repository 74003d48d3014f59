"""On-screen text at ingest: how much the OCR reads, and how fast, at each detector size.

    .venv/bin/python benchmarks/ocr.py [--frames N] [--json]

Frames a marketer's footage holds: 1920x1080 and 1080x1920 pictures (a blurred random
background, as in real footage out of focus) with five lines of text each, in the bundled Noto
Sans CJK at 36, 54 and 80 px: English words, prices ("$4.99"), URLs and Chinese lines. Each
frame is read as ingest reads it (adcut.encoders.ocr: at most READ_LONG_SIDE px on its long
side) by the detector sized two ways:

- `min 736`: the engine's default, the short side scaled up to 736 px (a 960x540 frame is
  detected at 1312x736);
- `max 960`: the long side at most 960 px (the frame ingest hands over, unscaled).

A line counts as read when a read equals it (spaces ignored). Prints lines read and seconds
per frame for each; the frames are generated from a fixed seed, so runs compare.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

LINES = ["ONLY $4.99", "verde.coffee", "Cold brew, steeped 18 hours", "冷萃咖啡 十八小时",
         "Free shipping today", "限时优惠 买一送一", "Tap to shop", "$12.50 per pack",
         "www.cityhop.com", "全新上市"]
SIZES_PX = (36, 54, 80)


def frames(n: int, seed: int = 0):
    """(rgb, [lines]) pairs: n frames, alternating 16:9 and 9:16."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    from adcut.render.subtitles import default_font

    font_path = str(default_font()[0])
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = (1920, 1080) if i % 2 == 0 else (1080, 1920)
        noise = rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)
        img = Image.fromarray(noise).resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(8))
        draw = ImageDraw.Draw(img)
        lines = [LINES[int(k)] for k in rng.choice(len(LINES), 5, replace=False)]
        y = h // 12
        for j, text in enumerate(lines):
            px = SIZES_PX[j % len(SIZES_PX)]
            font = ImageFont.truetype(font_path, px)
            draw.text((w // 16, y), text, font=font, fill=(255, 255, 255), stroke_width=max(2, px // 18),
                      stroke_fill=(0, 0, 0))
            y += int(px * 2.2) + h // 14
        out.append((np.asarray(img), lines))
    return out


def measure(limit_type: str, limit_side: int, samples) -> dict:
    from rapidocr_onnxruntime import RapidOCR

    from adcut.encoders.ocr import downscale, parse_result

    engine = RapidOCR(det_limit_type=limit_type, det_limit_side_len=limit_side)
    engine(np.zeros((64, 64, 3), np.uint8) + 128)  # load the sessions before timing
    read = total = 0
    t0 = time.perf_counter()
    for rgb, lines in samples:
        frame = downscale(rgb)
        result, _ = engine(np.ascontiguousarray(frame[:, :, ::-1]))
        texts = {r["text"].replace(" ", "") for r in parse_result(result, *frame.shape[1::-1])}
        read += sum(line.replace(" ", "") in texts for line in lines)
        total += len(lines)
    spent = time.perf_counter() - t0
    return {"detector": f"{limit_type} {limit_side}", "lines_read": read, "lines": total,
            "s_per_frame": round(spent / len(samples), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    samples = frames(args.frames)
    rows = [measure("min", 736, samples), measure("max", 960, samples)]
    if args.json:
        print(json.dumps(rows))
        return
    for r in rows:
        print(f"{r['detector']:>8}: {r['lines_read']}/{r['lines']} lines read, {r['s_per_frame']:.3f} s a frame")
    print(f"max 960 / min 736 time: {rows[1]['s_per_frame'] / rows[0]['s_per_frame']:.2f}")


if __name__ == "__main__":
    main()
