"""Render speed and memory, as ratios against baselines measured in the same run.

The edit: a 30 s 9:16 (1080x1920, 30 fps) ad from 8 shots of 1080p H.264 footage (10 s
sources with film-like grain), 4 transitions, one fit-blur shot, one shot with its own sound
mixed in, 5 voice-over lines (hibari-tts), burned subtitles (Noto Sans CJK), music ducked
under the voice, loudness normalised (two passes: audio measure, then the one encode).

1. Speed: adcut's render vs the floor = x264 encoding 30 s of 1080x1920 with the same preset
   and CRF and no filters. Floor A encodes lavfi testsrc2 (as the issue words it); floor B
   encodes the render's own frames from a raw file (same pixels, so the same encode cost:
   testsrc2 is smooth and much cheaper to encode than footage). Target: at most 1.3x.
   Floor D is the least any renderer of this cut must do: decode the eight source ranges,
   crop and scale each to 1080x1920, concatenate, and x264 the result (no transitions,
   subtitles, sound or loudness pass); render / floor D is adcut's own overhead.
   Wall and CPU seconds are both printed: on a shared machine CPU seconds are the steadier.
2. Memory: peak RSS of the render (the larger of the Python process and its ffmpeg, measured by
   a wrapper process as in ingest_speed.py). Target: under 1 GB.
3. Peers: the same edit rendered with MoviePy 2.x (installed into a separate venv by this
   script: subclips, crop + resize to 1080x1920, crossfades, Pillow TextClip subtitles with the
   same font, CompositeAudioClip of the voice lines and constant-volume music, libx264 with the
   same preset/CRF). Target: adcut at least 8x faster.

Usage: .venv/bin/python benchmarks/render_speed.py [--keep DIR] [--skip-moviepy] [--grain N]
(--grain: temporal noise of the sources, default 8; 0 gives clean synthetic patterns)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adcut.core.timeline import Timeline
from adcut.media.ffmpeg import find_ffmpeg

MOVIEPY_VENV = Path(os.environ.get("ADCUT_MOVIEPY_VENV", "/tmp/adcut-moviepy-venv"))
FPS, W, H = 30, 1080, 1920
PRESET, CRF = "veryfast", 20
SOURCES = ["testsrc2", "mandelbrot", "smptehdbars", "cellauto=rule=110", "life=mold=10:r=30:ratio=0.1",
           "rgbtestsrc", "testsrc", "yuvtestsrc"]
LINES = [
    "Meet Spark, the running shoe that weighs almost nothing.",
    "A foam sole that gives back every step.",
    "Breathable mesh keeps you cool for miles.",
    "Built to last, from the first run to the marathon.",
    "Spark. Lighter, faster, stronger. Order yours today.",
]
# (duration_f, source_in_s, reframe, centre_x, audio) per shot; 900 frames = 30 s.
SHOTS = [(120, 1.0, "crop", 0.5, "mute"), (105, 2.0, "crop", 0.3, "mute"),
         (120, 0.5, "crop", 0.7, "mute"), (105, 3.0, "crop", 0.5, "mix"),
         (120, 1.5, "crop", 0.4, "mute"), (105, 2.5, "fit-blur", 0.5, "mute"),
         (120, 1.0, "crop", 0.6, "mute"), (105, 4.0, "crop", 0.5, "mute")]
TRANSITIONS = {0: "fade", 2: "slideleft", 4: "wipeup", 6: "fade"}
TRANSITION_F = 12
# Temporal grain strength of the sources: 8 gives about 14-20 Mbit/s at CRF 23, the bitrate of a
# phone's 1080p30 H.264 (ingest_speed.py uses 12: about 55 Mbit/s, which makes decoding, not
# rendering, the cost).
GRAIN = 8


def ff() -> str:
    return find_ffmpeg().path


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True)


def make_source(path: Path, source: str, i: int, grain: int = GRAIN) -> None:
    """10 s of 1080p30 H.264 with grain and a tone (camera-like bitrate and decode cost)."""
    noise = f",noise=alls={grain}:allf=t" if grain else ""
    run([ff(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-t", "10", "-i", f"{source.split('=')[0]}=s=1920x1080:r=30"
         + (":" + source.split("=", 1)[1] if "=" in source else ""),
         "-f", "lavfi", "-t", "10", "-i", f"sine=f={220 + 40 * i}:sample_rate=48000",
         "-vf", f"format=yuv420p{noise}", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "23", "-g", "60", "-c:a", "aac", "-b:a", "128k", "-shortest", str(path)])


def make_music(path: Path) -> None:
    """40 s of a music-like bed: a chord with a pulsing amplitude and a little noise."""
    expr = ("(0.18*sin(2*PI*220*t)+0.12*sin(2*PI*277.2*t)+0.1*sin(2*PI*329.6*t))"
            "*(0.6+0.4*abs(sin(2*PI*2*t)))+0.02*(random(0)-0.5)")
    run([ff(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"aevalsrc=exprs='{expr}|{expr}':s=44100:d=40", "-c:a", "aac", "-b:a", "192k", str(path)])


def make_voice(folder: Path) -> list[tuple[Path, float]]:
    from hibari import Hibari

    tts = Hibari()
    out = []
    for i, line in enumerate(LINES):
        p = folder / f"line{i}.wav"
        if not p.exists():
            tts.save(line, str(p))
        import wave

        with wave.open(str(p)) as w:
            out.append((p, w.getnframes() / w.getframerate()))
    return out


def font_file() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    return Path(spec.submodule_search_locations[0]) / "NotoSansCJK-VF.otf.ttc"


def ass_time(f: int) -> str:
    cs = round(f / FPS * 100)
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def write_ass(path: Path, timeline: Timeline) -> None:
    """A minimal ASS (the subtitles module writes the real one): bottom-centre."""
    events = "\n".join(
        f"Dialogue: 0,{ass_time(c.start_f)},{ass_time(c.end_f)},Default,,0,0,0,,"
        + "\\N".join(c.lines or [c.text]) for c in timeline.captions)
    path.write_text(textwrap.dedent(f"""\
        [Script Info]
        ScriptType: v4.00+
        PlayResX: {W}
        PlayResY: {H}
        WrapStyle: 0

        [V4+ Styles]
        Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
        Style: Default,Noto Sans CJK SC,80,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,-1,0,0,0,100,100,0,0,1,4,0,2,90,90,420,1

        [Events]
        Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
        """) + events + "\n", encoding="utf-8")


def subtitle_setup() -> tuple[dict, Callable[[str], list[str]]]:
    """The subtitle layout and line wrapping of adcut.render.subtitles (Noto Sans CJK, 9:16 safe
    area), or a plain stand-in while that module is not there."""
    try:
        from adcut.core.plan import SubtitleStyle
        from adcut.render.subtitles import subtitle_layout, wrap_text

        layout = subtitle_layout(W, H, SubtitleStyle())
        return layout.model_dump(), lambda text: wrap_text(text, layout, W)
    except ImportError:
        layout = {"font_file": str(font_file()), "font_name": "Noto Sans CJK SC", "size_px": 80,
                  "margin_v_px": 420, "margin_h_px": 130}
        return layout, lambda text: textwrap.wrap(text, 24)


def build_timeline(sources: list[Path], voices: list[tuple[Path, float]], music: Path) -> Timeline:
    clips, start = [], 0
    for i, (dur, src_in, mode, cx, audio) in enumerate(SHOTS):
        clips.append({"source": str(sources[i]), "source_width": 1920, "source_height": 1080,
                      "source_has_audio": True, "source_in_s": src_in, "start_f": start,
                      "duration_f": dur, "reframe": {"mode": mode, "center_x": cx}, "audio": audio})
        start += dur
    voice, captions = [], []
    layout, wrap = subtitle_setup()
    for j, (path, secs) in enumerate(voices):
        clip = clips[[0, 2, 3, 5, 6][j]]
        s = clip["start_f"] + 6
        d = max(1, round(secs * FPS))
        voice.append({"path": str(path), "start_f": s, "duration_f": d, "text": LINES[j],
                      "clip": [0, 2, 3, 5, 6][j]})
        captions.append({"start_f": s, "end_f": s + d, "text": LINES[j], "lines": wrap(LINES[j])})
    return Timeline.model_validate({
        "fps": FPS, "width": W, "height": H, "duration_f": start, "clips": clips,
        "transitions": [{"kind": k, "after_clip": i, "duration_f": TRANSITION_F}
                        for i, k in TRANSITIONS.items()],
        "voice": voice, "captions": captions,
        "subtitles": layout,
        "music": {"path": str(music), "source_start_s": 2.0, "duration_f": start, "gain_db": -4,
                  "fade_in_f": 15, "fade_out_f": 45},
    })


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float  # user + system of the command and its descendants
    rss: int  # peak RSS in bytes of its largest process


def timed(cmd: list[str]) -> Timing:
    """Wall and CPU seconds and the peak RSS (bytes) of the command's largest process,
    measured by a wrapper process so earlier children do not count. CPU seconds are reported
    beside wall seconds because a shared machine makes wall time noisy."""
    probe = ("import resource,subprocess,sys,time,json;t=time.perf_counter();"
             "r=subprocess.run(sys.argv[1:]);u=resource.getrusage(resource.RUSAGE_CHILDREN);"
             "print(json.dumps([time.perf_counter()-t,u.ru_utime+u.ru_stime,u.ru_maxrss,"
             "r.returncode]))")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    wall, cpu, rss_kb, rc = json.loads(out.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return Timing(wall, cpu, rss_kb * 1024)


ADCUT_RENDER = """
import sys
from pathlib import Path
from adcut.core.timeline import Timeline
from adcut.render.run import render_timeline
tl = Timeline.model_validate_json(Path(sys.argv[1]).read_text())
r = render_timeline(tl, Path(sys.argv[2]), ass_path=Path(sys.argv[3]), fonts_dir=Path(sys.argv[4]),
                    force=True)
print(r.loudness_gain_db)
"""

MOVIEPY_RENDER = r'''
import json, sys
from moviepy import (AudioFileClip, CompositeAudioClip, CompositeVideoClip, TextClip,
                     VideoFileClip, vfx, afx)
tl = json.load(open(sys.argv[1])); out = sys.argv[2]; font = sys.argv[3]
fps, W, H = tl["fps"], tl["width"], tl["height"]
trans = {t["after_clip"]: t["duration_f"] for t in tl["transitions"]}
layers = []
for i, c in enumerate(tl["clips"]):
    head = trans.get(i - 1, 0) // 2
    tail = trans.get(i, 0) - trans.get(i, 0) // 2
    start = (c["start_f"] - head) / fps
    length = (head + c["duration_f"] + tail) / fps
    src_in = max(0.0, c["source_in_s"] - head / fps)
    clip = VideoFileClip(c["source"], audio=c["audio"] != "mute").subclipped(src_in, src_in + length)
    sw, sh = clip.size
    if c["reframe"]["mode"] == "crop":
        cw = round(sh * W / H)
        cx = min(max(c["reframe"]["center_x"] * sw, cw / 2), sw - cw / 2)
        clip = clip.cropped(x_center=cx, y_center=sh / 2, width=cw, height=sh).resized((W, H))
    else:  # fit over a blurred copy, the peers' way: a resized, blurred background
        from PIL import ImageFilter, Image
        import numpy as np
        cw = round(sh * W / H)
        bg = clip.cropped(x_center=sw / 2, y_center=sh / 2, width=cw, height=sh).resized((W // 8, H // 8))
        bg = bg.image_transform(lambda f: np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(4))))
        bg = bg.resized((W, H))
        fg = clip.resized(width=W).with_position("center")
        clip = CompositeVideoClip([bg, fg], size=(W, H)).with_duration(length)
        if c["audio"] != "mute":
            clip = clip.with_audio(fg.audio)
    if c["audio"] == "mix" and clip.audio is not None:
        clip = clip.with_volume_scaled(10 ** (tl["clip_audio_mix_db"] / 20))
    if head:
        clip = clip.with_effects([vfx.CrossFadeIn(trans[i - 1] / fps)])
    layers.append(clip.with_start(start))
st = tl["subtitles"]
subs = []
for cap in tl["captions"]:
    txt = TextClip(font=font, text="\n".join(cap["lines"] or [cap["text"]]), font_size=st["size_px"],
                   color="white", stroke_color="black", stroke_width=max(1, st["size_px"] // 16),
                   method="label", text_align="center")
    subs.append(txt.with_start(cap["start_f"] / fps).with_duration((cap["end_f"] - cap["start_f"]) / fps)
                .with_position(("center", H - st["margin_v_px"] - txt.h)))
video = CompositeVideoClip(layers + subs, size=(W, H)).with_duration(tl["duration_f"] / fps)
m = tl["music"]
music = (AudioFileClip(m["path"]).subclipped(m["source_start_s"], m["source_start_s"] + tl["duration_f"] / fps)
         .with_effects([afx.MultiplyVolume(10 ** (m["gain_db"] / 20)), afx.AudioFadeIn(0.5),
                        afx.AudioFadeOut(1.5)]))
voices = [AudioFileClip(v["path"]).with_start(v["start_f"] / fps) for v in tl["voice"]]
clip_sounds = [l.audio.with_start(l.start) for l in layers if l.audio is not None]
video = video.with_audio(CompositeAudioClip([music, *voices, *clip_sounds]).with_duration(tl["duration_f"] / fps))
video.write_videofile(out, fps=fps, codec="libx264", preset="veryfast", audio_codec="aac",
                      audio_bitrate="192k", ffmpeg_params=["-crf", "20", "-pix_fmt", "yuv420p"],
                      threads=2, logger=None)
'''


def minimal_render_args(timeline: Timeline, output: Path) -> list[str]:
    """Floor D: the same cut with nothing but what every renderer must do (decode each shot's
    range, crop to 9:16 and scale to the frame, concatenate, encode). Shots are hard cuts."""
    inputs, chains = [], []
    for i, c in enumerate(timeline.clips):
        inputs += ["-ss", f"{c.source_in_s:g}", "-t", f"{c.duration_f / FPS:.6f}", "-i", c.source]
        crop_w = round(c.source_height * W / H)
        x = min(max(round(c.reframe.center_x * c.source_width - crop_w / 2), 0),
                c.source_width - crop_w)
        chains.append(f"[{i}:v]trim=end_frame={c.duration_f},crop={crop_w}:{c.source_height}:{x}:0,"
                      f"scale={W}:{H},setsar=1[v{i}]")
    joined = "".join(f"[v{i}]" for i in range(len(timeline.clips)))
    chains.append(f"{joined}concat=n={len(timeline.clips)}:v=1:a=0[vout]")
    return [ff(), "-hide_banner", "-loglevel", "error", "-y", *inputs,
            "-filter_complex", ";".join(chains), "-map", "[vout]", "-an",
            "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p",
            "-r", str(FPS), str(output)]


def ensure_moviepy() -> Path:
    py = MOVIEPY_VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {MOVIEPY_VENV} with moviepy>=2,<3 ...", flush=True)
        run([sys.executable, "-m", "venv", str(MOVIEPY_VENV)])
        run([str(py), "-m", "pip", "install", "-q", "moviepy>=2,<3"])
    # the package's metadata: moviepy 2.2.1 still says "2.1.2" in moviepy.__version__
    version = subprocess.run([str(py), "-c", "import importlib.metadata as m; "
                              "print(m.version('moviepy'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"moviepy {version} in {MOVIEPY_VENV}")
    return py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="keep generated media and renders here")
    ap.add_argument("--skip-moviepy", action="store_true")
    ap.add_argument("--grain", type=int, default=GRAIN,
                    help=f"temporal noise of the sources (default {GRAIN}: phone-like bitrate)")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="adcut-render-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    f = find_ffmpeg()
    print(f"machine: {os.cpu_count()} cores; ffmpeg {f.version} ({f.origin})")

    t = time.perf_counter()
    sources = []
    for i, src in enumerate(SOURCES):
        p = work / f"shot{i}_1080p_grain{args.grain}.mp4"
        if not p.exists():
            make_source(p, src, i, args.grain)
        sources.append(p)
    music = work / "music.m4a"
    if not music.exists():
        make_music(music)
    voices = make_voice(work)
    rate = sum(p.stat().st_size for p in sources) * 8 / 80 / 1e6
    print(f"media ready in {time.perf_counter() - t:.1f} s (8 x 10 s 1080p30 sources, grain "
          f"{args.grain}, {rate:.1f} Mbit/s on average, "
          f"{len(voices)} voice lines, 40 s music)")

    timeline = build_timeline(sources, voices, music)
    tl_path = work / "ad.timeline.json"
    tl_path.write_text(timeline.model_dump_json(indent=2))
    try:
        from adcut.render.subtitles import build_ass  # the real one, once it exists

        ass_text = build_ass(timeline)
        ass = work / "ad.ass"
        ass.write_text(ass_text, encoding="utf-8")
        ass_origin = "adcut.render.subtitles.build_ass"
    except Exception as e:  # not written yet, or another signature: a minimal hand-made ASS
        ass = work / "ad.ass"
        write_ass(ass, timeline)
        ass_origin = f"hand-written ({type(e).__name__})"
    seconds = timeline.duration_s

    floor_out = work / "floor.mp4"
    floor = timed([
        f.path, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
        f"testsrc2=s={W}x{H}:r={FPS}", "-t", str(seconds), "-c:v", "libx264", "-preset", PRESET,
        "-crf", str(CRF), "-pix_fmt", "yuv420p", str(floor_out)])
    out = work / "ad.mp4"
    render = timed([sys.executable, "-c", ADCUT_RENDER, str(tl_path), str(out), str(ass),
                    str(font_file().parent)])
    # Floor B: x264 encoding the very frames the render delivers (decoded to raw beforehand,
    # not timed): the encode cost of this content, which testsrc2 (smooth, cheap to encode)
    # understates.
    raw = work / "ad.yuv"
    run([f.path, "-hide_banner", "-loglevel", "error", "-y", "-i", str(out), "-f", "rawvideo",
         "-pix_fmt", "yuv420p", str(raw)])
    with raw.open("rb") as fh:  # warm the page cache, so the floor does not wait on the disk
        while fh.read(1 << 26):
            pass
    content = timed([
        f.path, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-s", f"{W}x{H}", "-r", str(FPS), "-i", str(raw), "-c:v", "libx264", "-preset", PRESET,
        "-crf", str(CRF), str(work / "floor_content.mp4")])
    raw.unlink()
    minimal = timed(minimal_render_args(timeline, work / "floor_minimal.mp4"))
    print(f"subtitles: {ass_origin}")
    print(f"floor A: x264 {PRESET} crf {CRF}, {seconds:g} s of {W}x{H} lavfi testsrc2 "
          f"({floor_out.stat().st_size / 2**20:.0f} MiB): wall {floor.wall_s:5.1f} s, "
          f"CPU {floor.cpu_s:5.1f} s")
    print(f"floor B: x264 {PRESET} crf {CRF}, the render's own {seconds:g} s of frames from raw: "
          f"wall {content.wall_s:5.1f} s, CPU {content.cpu_s:5.1f} s")
    print(f"floor D: the same cut decoded, cropped, scaled, concatenated and encoded, nothing else: "
          f"wall {minimal.wall_s:5.1f} s, CPU {minimal.cpu_s:5.1f} s "
          f"({minimal.wall_s / content.wall_s:.2f}x floor B)")
    print(f"adcut render, measure pass + one encode, Python start-up included "
          f"({out.stat().st_size / 2**20:.0f} MiB): wall {render.wall_s:5.1f} s, "
          f"CPU {render.cpu_s:5.1f} s; {seconds / render.wall_s:.2f} s of ad per wall second")
    print(f"  ratio to floor A: wall {render.wall_s / floor.wall_s:.2f}x, "
          f"CPU {render.cpu_s / floor.cpu_s:.2f}x")
    print(f"  ratio to floor B: wall {render.wall_s / content.wall_s:.2f}x, "
          f"CPU {render.cpu_s / content.cpu_s:.2f}x (target <= 1.3x)")
    print(f"  ratio to floor D: wall {render.wall_s / minimal.wall_s:.2f}x, "
          f"CPU {render.cpu_s / minimal.cpu_s:.2f}x (adcut's overhead over the minimal render)")
    print(f"peak RSS of the render: {render.rss / 2**20:.0f} MiB (target < 1024 MiB); "
          f"x264 alone (floor A): {floor.rss / 2**20:.0f} MiB")

    from adcut.render.qc import run_qc

    t = time.perf_counter()
    try:
        from adcut.render.subtitles import caption_boxes

        boxes = caption_boxes(timeline)
    except ImportError:
        boxes = None
    checks = run_qc(out, timeline, caption_boxes=boxes)
    failed = [c for c in checks if not c.ok]
    print(f"QC: {len(checks) - len(failed)}/{len(checks)} checks pass in "
          f"{time.perf_counter() - t:.1f} s" + "".join(f"; FAILED {c.name}: {c.detail}" for c in failed))
    loud = {c.name: c.measured for c in checks}
    print(f"    loudness {loud.get('loudness')} LUFS, true peak {loud.get('true_peak')} dBTP, "
          f"A/V drift {loud.get('av_drift')} ms")

    if not args.skip_moviepy:
        py = ensure_moviepy()
        mp_out = work / "ad_moviepy.mp4"
        mp = timed([str(py), "-c", MOVIEPY_RENDER, str(tl_path), str(mp_out), str(font_file())])
        print(f"MoviePy render (same edit, constant-volume music): wall {mp.wall_s:5.1f} s, "
              f"CPU {mp.cpu_s:5.1f} s, peak RSS {mp.rss / 2**20:.0f} MiB -> adcut is "
              f"{mp.wall_s / render.wall_s:.1f}x faster in wall time, "
              f"{mp.cpu_s / render.cpu_s:.1f}x in CPU time (target >= 8x); floor D is "
              f"{mp.wall_s / minimal.wall_s:.1f}x faster")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
