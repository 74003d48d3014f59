"""Would a marketer post these ads? A product scenario, several briefs, every ad checked.

    .venv/bin/python benchmarks/ad_review.py [--out DIR] [--only NAME] [--json]

The scenario is generated (nothing is downloaded): a cold-brew brand with a packshot of its
bottle, clips that show the bottle and clips that do not, a price card and a logo card with
on-screen text, unrelated footage and four music tracks. No clip has a caption: the product
must be found by what it looks like. `adcut edit` then makes one ad per brief (English and
Chinese, YAML and one line, 15/20/30 s, three aspects) and each ad is checked automatically
against what the scenario knows to be true:

- product in the first 2 s and in the last shot (the scenario knows which clips show it);
- no invented claim (social proof, superlatives, numbers or guarantees the brief lacks);
- selling points, price and call to action present in the lines; no line repeated;
- the call to action on screen for at least 2.5 s; an end card;
- no on-screen text cut by the crop (the scenario knows where it drew the text);
- no unrelated footage (test patterns, fractals) where the product's clips can fill the ad,
  and no price card in an ad that states another price;
- caption height relative to the frame; length within 0.5 s of the target; QC;
- ducking as heard (voice and music buses rendered apart): music at least 10 dB lower under
  speech than in the pauses, back up within 0.5 s, voice at least 12 LU over the music.

It prints one table (a row per ad, a column per check) and writes a contact sheet per ad to
look at by eye. A check the renderer cannot answer yet (no end card in the timeline) fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PRODUCT = "Verde Cold Brew"
BRAND = "Verde"
PRICE = "$4.99"
URL = "verde.coffee"
CTA = "Order at verde.coffee"
POINTS = ["Steeped for 18 hours", "Smooth and low in acid"]
GREEN = (30, 91, 58)
SOURCE_SIZE = (960, 540)

# Claims that need proof the brief never gives (English and Chinese).
CLAIMS = re.compile(
    r"\b(thousands|millions|customers? (love|agree|rave)|loved by|everyone|best|#1|number one|"
    r"top[- ]rated|award|guarantee|clinically|proven|healthiest|world'?s|favou?rite)\b|"
    r"这么多人|大家都|最|第一|销量|好评|保证|必备",
    re.IGNORECASE)


# -- the scenario --------------------------------------------------------------------------------

def _font(px: int):
    from PIL import ImageFont

    from adcut.render.subtitles import default_font

    path, _ = default_font()
    return ImageFont.truetype(str(path), px)


def _bottle(size: tuple[int, int], background: tuple[int, int, int], x_frac: float = 0.5):
    """A packshot-like drawing: a green bottle with a white 'VERDE' label."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", size, background)
    d = ImageDraw.Draw(img)
    cx, bw, bh = int(w * x_frac), int(h * 0.28), int(h * 0.62)
    top = int(h * 0.24)
    d.rectangle([cx - bw // 5, top - int(h * 0.12), cx + bw // 5, top], fill=(20, 60, 38))
    d.rounded_rectangle([cx - bw // 2, top, cx + bw // 2, top + bh], radius=bw // 4, fill=GREEN)
    d.rectangle([cx - bw // 2, top + bh // 3, cx + bw // 2, top + bh // 3 + bh // 4],
                fill=(245, 245, 240))
    d.text((cx, top + bh // 3 + bh // 8), "VERDE", fill=GREEN, font=_font(max(12, bw // 5)),
           anchor="mm")
    return img


def _card(size, background, text, color, px) -> tuple[object, tuple[float, float, float, float]]:
    """A card with centred text, and the text's box normalised to the frame."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, background)
    d = ImageDraw.Draw(img)
    font = _font(px)
    x0, y0, x1, y1 = d.textbbox((size[0] / 2, size[1] / 2), text, font=font, anchor="mm")
    d.text((size[0] / 2, size[1] / 2), text, fill=color, font=font, anchor="mm")
    w, h = size
    return img, (x0 / w, y0 / h, x1 / w, y1 / h)


def _ffmpeg(*args: str) -> None:
    from adcut.media.ffmpeg import find_ffmpeg

    subprocess.run([find_ffmpeg().path, "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True)


def _still_clip(image_path: Path, out: Path, seconds: float, motion: str) -> None:
    """A video of an image: 'zoom' pushes in slowly, 'pan' drifts sideways, 'none' holds."""
    w, h = SOURCE_SIZE
    fps = 25
    n = int(seconds * fps)
    moves = {
        "zoom": f"zoompan=z='1+0.12*on/{n}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d={n}:s={w}x{h}:fps={fps}",
        "pan": f"zoompan=z=1.15:x='(iw-iw/zoom)*on/{n}':y='ih/2-ih/zoom/2':d={n}:s={w}x{h}:fps={fps}",
        "none": f"scale={w}:{h},fps={fps}",
    }
    _ffmpeg("-loop", "1", "-i", str(image_path), "-vf", f"{moves[motion]},format=yuv420p",
            "-t", f"{seconds}", "-c:v", "libx264", "-preset", "veryfast", "-an", str(out))


def _lavfi_clip(source: str, out: Path, seconds: float) -> None:
    w, h = SOURCE_SIZE
    sep = ":" if "=" in source else "="
    _ffmpeg("-f", "lavfi", "-i", f"{source}{sep}s={w}x{h}:r=25", "-t", f"{seconds}",
            "-vf", "format=yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-an", str(out))


def _music(out: Path, bpm: float, root_hz: float, seconds: float) -> None:
    """A simple bed: a major chord pulsing on every beat, with a soft attack."""
    beat = 60.0 / bpm
    env = f"(0.35+0.65*exp(-mod(t,{beat})*6))"
    chord = "+".join(f"{a}*sin(2*PI*{root_hz * r}*t)" for a, r in ((0.5, 1), (0.3, 1.26), (0.3, 1.5),
                                                                    (0.15, 2)))
    _ffmpeg("-f", "lavfi", "-i", f"aevalsrc='0.25*{env}*({chord})':s=44100:d={seconds}",
            "-ac", "2", str(out))


@dataclass
class Scenario:
    root: Path
    library: Path
    product_image: Path
    logo: Path
    product_clips: set[str] = field(default_factory=set)  # file names
    unrelated_clips: set[str] = field(default_factory=set)  # footage with no sign of the product
    text_boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


def build_scenario(root: Path) -> Scenario:
    """Generate the footage, the packshot, the logo and the music, and ingest them."""
    footage, music, assets = root / "footage", root / "music", root / "assets"
    for d in (footage, music, assets):
        d.mkdir(parents=True, exist_ok=True)
    sc = Scenario(root, root / "library", assets / "bottle.png", assets / "logo.png")
    _bottle((800, 800), (255, 255, 255)).save(sc.product_image)
    logo, _ = _card((800, 400), GREEN, "VERDE", (255, 255, 255), 150)
    logo.save(sc.logo)
    for name, background, x, motion in (("bottle_kitchen.mp4", (226, 208, 178), 0.5, "zoom"),
                                        ("bottle_table.mp4", (120, 84, 56), 0.35, "pan"),
                                        ("bottle_studio.mp4", (235, 235, 235), 0.6, "zoom")):
        frame = assets / f"{Path(name).stem}.png"
        _bottle(SOURCE_SIZE, background, x).save(frame)
        _still_clip(frame, footage / name, 4.0, motion)
        sc.product_clips.add(name)
    for name, text, bg, fg, px in (("price_card.mp4", "ONLY $4.99", (250, 250, 250), (200, 30, 30), 110),
                                   ("logo_card.mp4", "VERDE", GREEN, (255, 255, 255), 160)):
        img, box = _card(SOURCE_SIZE, bg, text, fg, px)
        frame = assets / f"{Path(name).stem}.png"
        img.save(frame)
        _still_clip(frame, footage / name, 3.0, "none")
        sc.text_boxes[name] = box
    for name, source, seconds in (("street.mp4", "testsrc2", 5.0), ("traffic.mp4", "life=mold=10:ratio=0.5", 4.0),
                                  ("night.mp4", "mandelbrot", 4.0), ("crowd.mp4", "cellauto=rule=110", 4.0)):
        _lavfi_clip(source, footage / name, seconds)
        sc.unrelated_clips.add(name)
    for i, (bpm, root_hz) in enumerate(((96, 220), (120, 330), (140, 262), (78, 196))):
        _music(music / f"track{i + 1}.wav", bpm, root_hz, 40.0)
    for paths, extra in (([footage], ["--asr", "none"]), ([music], ["--music"])):
        _adcut("ingest", *map(str, paths), "--library", str(sc.library), *extra)
    return sc


def _adcut(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "adcut", *args], capture_output=True, text=True)
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"adcut {' '.join(args[:2])} failed ({proc.returncode}): "
                         f"{proc.stderr.strip()[-500:]}")
    return proc


# -- the briefs ------------------------------------------------------------------------------

def briefs(sc: Scenario) -> dict[str, dict | str]:
    base = {"product": PRODUCT, "brand": BRAND, "selling_points": POINTS, "price": PRICE,
            "url": URL, "call_to_action": CTA, "product_images": [str(sc.product_image)],
            "logo": str(sc.logo), "brand_colors": ["#1E5B3A"], "tone": "calm",
            "pronounce": {"verde.coffee": "verde dot coffee"}}
    return {
        "en-15s-9x16": {**base, "duration_s": 15, "aspect": "9:16"},
        "en-30s-16x9": {**base, "duration_s": 30, "aspect": "16:9", "tone": "energetic"},
        "en-20s-1x1-oneline": f"{PRODUCT}, steeped for 18 hours, smooth and low in acid, "
                              f"{PRICE}, order at {URL}",
        "zh-20s-9x16": {**base, "product": "Verde冷萃咖啡", "selling_points": ["冷萃18小时", "顺滑低酸"],
                        "price": "29.9元", "call_to_action": "立即下单", "language": "zh",
                        "duration_s": 20, "aspect": "9:16"},
    }


# -- the checks -------------------------------------------------------------------------------

def _interval_overlap(a0, a1, b0, b1) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def check_ad(name: str, brief: dict | str, out: Path, sc: Scenario, result) -> dict:
    """Every check of one ad, as {check: (ok, detail)}."""
    from adcut.render.reframe import crop_window

    checks: dict[str, tuple[bool, str]] = {}
    stem = out.with_suffix("")
    qc_path, tl_path = Path(f"{stem}.qc.json"), Path(f"{stem}.timeline.json")
    if not tl_path.is_file():
        return {"render": (False, (result.stderr.strip().splitlines() or ["no output"])[-1][:120])}
    tl = json.loads(tl_path.read_text())
    qc = json.loads(qc_path.read_text())
    fps = tl["fps"]
    target_s = brief["duration_s"] if isinstance(brief, dict) else 20.0
    duration_s = tl["duration_f"] / fps
    checks["qc"] = (all(c["ok"] for c in qc["checks"]),
                    ", ".join(c["name"] for c in qc["checks"] if not c["ok"]) or "ok")
    checks["length"] = (abs(duration_s - target_s) <= 0.5, f"{duration_s:.1f}/{target_s:g} s")

    clips = tl["clips"]
    end_card = tl.get("end_card")
    if isinstance(brief, dict):  # a one-line brief names no product image: nothing to look for
        def is_product(c): return Path(c["source"]).name in sc.product_clips
        opening = [c for c in clips if _interval_overlap(
            c["start_f"] / fps, (c["start_f"] + c["duration_f"]) / fps, 0, 2) > 0]
        checks["product_first_2s"] = (any(is_product(c) for c in opening),
                                      ",".join(Path(c["source"]).stem for c in opening))
        last = clips[-1]
        checks["product_last"] = (is_product(last) or bool(end_card and end_card.get("image")),
                                  Path(last["source"]).stem + (" + card" if end_card else ""))
        # The product, logo and price clips fill any of these lengths (slowed where needed):
        # a test pattern or a fractal has no place in the ad.
        unrelated = sorted({Path(c["source"]).stem for c in clips
                            if Path(c["source"]).name in sc.unrelated_clips})
        checks["no_unrelated"] = (not unrelated, ",".join(unrelated) or "none")
    # The price card says ONLY $4.99: an ad with another price must not show it.
    card = any(Path(c["source"]).name == "price_card.mp4" for c in clips)
    own_price = not isinstance(brief, dict) or brief.get("price") == PRICE
    checks["on_screen_price"] = (own_price or not card,
                                 "price card shown" if card else "no price card")

    lines = [v["text"] for v in tl.get("voice", [])] or [c["text"] for c in tl.get("captions", [])]
    shown = " ".join(c["text"] for c in tl.get("captions", [])) + " " + " ".join(lines)
    claims = [m.group(0) for line in lines for m in CLAIMS.finditer(line)]
    checks["no_invented_claim"] = (not claims, ", ".join(claims)[:60] or "none")
    repeated = len(lines) - len({re.sub(r"\W+", " ", ln).strip().lower() for ln in lines})
    checks["no_repeat"] = (repeated == 0, f"{repeated} repeated")
    b = brief if isinstance(brief, dict) else {"price": PRICE, "call_to_action": CTA,
                                                "selling_points": POINTS}
    low = shown.lower()
    points_said = sum(any(w in low for w in re.findall(r"\w{4,}|[\u4e00-\u9fff]{2}", p.lower()))
                      for p in b["selling_points"])
    checks["selling_points"] = (points_said == len(b["selling_points"]),
                                f"{points_said}/{len(b['selling_points'])}")
    price_digits = re.sub(r"[^\d.]", "", b["price"])
    checks["price"] = (price_digits in re.sub(r"[^\d.]", " ", shown).split() or b["price"] in shown,
                       b["price"])
    cta = b["call_to_action"].lower()
    cta_s = sum((c["end_f"] - c["start_f"]) / fps for c in tl.get("captions", [])
                if cta in c["text"].lower() or URL in c["text"].lower())
    if end_card and (end_card.get("text") or end_card.get("url")):
        cta_s += end_card.get("duration_f", 0) / fps
    checks["cta_on_screen"] = (cta_s >= 2.5, f"{cta_s:.1f} s")
    checks["end_card"] = (bool(end_card), "yes" if end_card else "none")

    cut = []
    for c in clips:
        box = sc.text_boxes.get(Path(c["source"]).name)
        if box is None or c["reframe"]["mode"] != "crop":
            continue
        sw, sh = c["source_width"], c["source_height"]
        x, y, w, h = crop_window(sw, sh, tl["width"], tl["height"], c["reframe"]["center_x"],
                                 c["reframe"]["center_y"])
        bx0, by0, bx1, by1 = box[0] * sw, box[1] * sh, box[2] * sw, box[3] * sh
        if bx0 < x - 1 or bx1 > x + w + 1 or by0 < y - 1 or by1 > y + h + 1:
            cut.append(Path(c["source"]).stem)
    checks["text_not_cut"] = (not cut, ", ".join(cut) or "ok")
    checks.update(sound_checks(tl_path))
    sub = tl.get("subtitles")
    size_pct = 100 * sub["size_px"] / tl["height"] if sub else 0.0
    size_pct_width = 100 * sub["size_px"] / min(tl["width"], tl["height"]) if sub else 0.0
    checks["caption_size"] = (3.0 <= size_pct_width <= 8.0,
                              f"{size_pct:.1f}% of height, {size_pct_width:.1f}% of short side")
    return checks


def sound_checks(timeline_path: Path) -> dict[str, tuple[bool, str]]:
    """Ducking as heard: the voice and music buses rendered apart from the ad's own timeline,
    music >= 10 dB lower under speech than in the pauses, back up within 0.5 s, voice >= 12 LU
    over the music under it."""
    import tempfile

    from adcut.core.timeline import Timeline
    from adcut.render.ducking import min_gap_s
    from adcut.render.stems import measure_mix

    tl = Timeline.model_validate_json(timeline_path.read_text())
    if tl.music is None or not tl.voice or tl.music.duck is None:
        return {"ducking": (False, "no music or no voice")}
    with tempfile.TemporaryDirectory() as tmp:
        mix = measure_mix(tl, Path(tmp), min_gap_s=min_gap_s(tl.music.duck))
    depth = mix.depth_db
    release = mix.worst_release_s
    lu = mix.voice_over_music_lu
    return {
        "ducking_depth": (depth is not None and depth >= 10, "-" if depth is None else f"{depth:.1f} dB"),
        "ducking_release": (release is not None and release <= 0.5,
                            "-" if release is None else f"{release:.2f} s"),
        "voice_over_music": (lu is not None and lu >= 12, "-" if lu is None else f"{lu:.1f} LU"),
    }


def contact_sheet(video: Path, out_png: Path, duration_s: float) -> None:
    """Ten frames spread over the ad, side by side."""
    _ffmpeg("-i", str(video), "-vf", f"fps={10 / max(duration_s, 1):.4f},scale=200:-2,tile=10x1",
            "-frames:v", "1", str(out_png))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/ad_review"))
    parser.add_argument("--only", help="run one brief by name")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = args.out.resolve()
    if not (root / "library" / "catalog.sqlite").exists():
        started = time.perf_counter()
        sc = build_scenario(root)
        print(f"scenario built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:  # reuse the generated media and library (delete the folder to rebuild)
        sc = Scenario(root, root / "library", root / "assets" / "bottle.png",
                      root / "assets" / "logo.png",
                      {"bottle_kitchen.mp4", "bottle_table.mp4", "bottle_studio.mp4"})
        for name, text, px in (("price_card.mp4", "ONLY $4.99", 110), ("logo_card.mp4", "VERDE", 160)):
            _, sc.text_boxes[name] = _card(SOURCE_SIZE, (0, 0, 0), text, (255, 255, 255), px)
    rows = {}
    for name, brief in briefs(sc).items():
        if args.only and name != args.only:
            continue
        ads = root / "ads"
        ads.mkdir(exist_ok=True)
        if isinstance(brief, dict):
            brief_arg = str(ads / f"{name}.json")
            Path(brief_arg).write_text(json.dumps(brief, ensure_ascii=False, indent=2))
        else:
            brief_arg = brief
        out = ads / f"{name}.mp4"
        started = time.perf_counter()
        extra = [] if isinstance(brief, dict) else ["--duration", "20", "--aspect", "1:1"]
        result = _adcut("edit", "--library", str(sc.library), "--brief", brief_arg, "-o", str(out),
                        "--force", *extra, check=False)
        elapsed = time.perf_counter() - started
        checks = check_ad(name, brief, out, sc, result)
        if out.is_file():
            target_s = brief["duration_s"] if isinstance(brief, dict) else 20.0
            contact_sheet(out, ads / f"{name}.sheet.png", target_s)
        rows[name] = {"elapsed_s": round(elapsed, 1), "passed": sum(ok for ok, _ in checks.values()),
                      "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in checks.items()}}
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    names = list(dict.fromkeys(k for r in rows.values() for k in r["checks"]))
    for name, row in rows.items():
        print(f"\n{name}: {row['passed']}/{len(row['checks'])} checks, edit took {row['elapsed_s']} s")
        for check in names:
            c = row["checks"].get(check)
            if c is not None:
                print(f"  {'ok  ' if c['ok'] else 'FAIL'} {check:<18} {c['detail']}")
    total = sum(r["passed"] for r in rows.values())
    count = sum(len(r["checks"]) for r in rows.values())
    print(f"\nall ads: {total}/{count} checks passed; contact sheets in {root / 'ads'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
