"""Test media made with the real ffmpeg (lavfi sources), small and fast to encode.

Every generator writes `path` and returns what a test needs to know about it (cut times,
durations, the expected loudness...). Used by the tests of every package.
"""

from __future__ import annotations

import math
import subprocess
import wave
from pathlib import Path

from adcut.media.ffmpeg import find_ffmpeg

# Cheap to encode, decodes everywhere; yuv420p needs even sizes.
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "96k"]


def ffmpeg(*args: str) -> None:
    """Run ffmpeg, overwriting the output; raise with its stderr on failure. It sees the fonts
    adcut's own ffmpeg children see (adcut.media.ffmpeg.child_env)."""
    from adcut.media.ffmpeg import child_env

    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {subprocess.list2cmdline(cmd)}\n{proc.stderr}")


def color_shots(
    path: Path,
    colors: list[str],
    durations_s: list[float],
    *,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    audio: str | Path = "sine",
    faststart: bool = True,
    texture: bool = False,
) -> list[float]:
    """Solid colour segments joined by hard cuts; returns the cut times in seconds.

    Durations are rounded to whole frames, so cut i falls exactly on frame round(t * fps).
    `audio`: "sine" (440 Hz for the whole length), "none", or a file to lay under the video.
    `texture` adds moving grain so a segment is not perfectly flat (motion without cuts).
    """
    if len(colors) != len(durations_s) or not colors:
        raise ValueError("one duration per colour, at least one")
    w, h = size
    frames = [max(1, round(d * fps)) for d in durations_s]
    total_s = sum(frames) / fps
    args: list[str] = []
    chains = []
    for i, (c, n) in enumerate(zip(colors, frames)):
        args += ["-f", "lavfi", "-i", f"color=c={c}:s={w}x{h}:r={fps}"]
        grain = ",noise=alls=15:allf=t+u" if texture else ""
        chains.append(f"[{i}:v]trim=end_frame={n},setpts=PTS-STARTPTS,format=yuv420p{grain}[v{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(frames)))
    graph += f"concat=n={len(frames)}:v=1:a=0[v]"
    maps = ["-map", "[v]"]
    if audio == "sine":
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={total_s}"]
        maps += ["-map", f"{len(frames)}:a", *AAC]
    elif audio != "none":
        args += ["-stream_loop", "-1", "-i", str(audio)]
        maps += ["-map", f"{len(frames)}:a", *AAC, "-t", f"{total_s}"]
    extra = ["-movflags", "+faststart"] if faststart else []
    ffmpeg(*args, "-filter_complex", graph, *maps, *X264, "-r", str(fps), *extra, str(path))
    cuts, acc = [], 0
    for n in frames[:-1]:
        acc += n
        cuts.append(acc / fps)
    return cuts


def tone(
    path: Path,
    *,
    freq_hz: float = 440,
    duration_s: float = 3,
    amplitude: float = 0.25,
    sample_rate: int = 44100,
    channels: int = 2,
) -> float:
    """A sine of peak `amplitude` in every channel; returns its theoretical loudness in LUFS
    (BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LUFS, channels add power)."""
    expr = "|".join([f"{amplitude}*sin(2*PI*{freq_hz}*t)"] * channels)
    codec = ["-c:a", "pcm_s16le"] if path.suffix == ".wav" else AAC
    ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc={expr}:s={sample_rate}:d={duration_s}", *codec, str(path)
    )
    return 20 * math.log10(amplitude) - 3.01 + 10 * math.log10(channels)


def click_track(
    path: Path,
    *,
    bpm: float,
    duration_s: float,
    sample_rate: int = 22050,
    offset_s: float = 0.5,
    offbeat_hats: bool = False,
) -> list[float]:
    """Short decaying clicks on every beat (downbeats louder) over soft noise, and
    with `offbeat_hats` quieter noise bursts halfway between beats, like a hi-hat on the
    eighth notes (a trap for trackers that double the tempo). Returns the click times in s."""
    period = 60.0 / bpm
    # Time since the last beat, and which beat of the bar it is, as aevalsrc expressions
    # (before offset_s the sound is gated off, so negative values there do not matter).
    since = f"mod(t-{offset_s},{period})"
    beat = f"mod(floor((t-{offset_s})/{period}),4)"
    # A beat is a 1.5 kHz tone with a noise attack; a hat is a quieter, shorter noise burst.
    hit = f"(sin(2*PI*1500*{since})+0.6*(random(0)-0.5))"
    expr = f"gte(t,{offset_s})*exp(-{since}*60)*{hit}*(0.3+0.3*eq({beat},0))"
    if offbeat_hats:
        half = f"mod(t-{offset_s}-{period / 2},{period})"
        expr += f"+gte(t,{offset_s + period / 2})*exp(-{half}*200)*0.1*(random(1)-0.5)"
    expr += "+0.01*(random(2)-0.5)"
    ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc=exprs='{expr}':s={sample_rate}:d={duration_s}",
        "-c:a", "pcm_s16le", str(path),
    )
    n = int((duration_s - offset_s) / period) + 1
    return [offset_s + i * period for i in range(n) if offset_s + i * period < duration_s]


def two_tone_frame_graph(w: int, h: int) -> str:
    """A picture whose top half is red and bottom half blue (for orientation checks)."""
    return f"color=c=red:s={w}x{h // 2}[t];color=c=blue:s={w}x{h // 2}[b];[t][b]vstack"


def rotated_video(path: Path, rotation_deg: int, *, size: tuple[int, int] = (180, 320)) -> None:
    """A phone-style file: the picture is stored sideways and a display matrix says to rotate
    it by `rotation_deg` clockwise for display (like the legacy `rotate` tag: portrait phones
    write 90). Displayed upright it is `size` (w, h) with a red top half and a blue bottom half."""
    w, h = size
    store = {0: "null", 90: "transpose=cclock", 180: "hflip,vflip", 270: "transpose=clock"}[
        rotation_deg % 360
    ]
    tmp = path.with_name(path.stem + ".unrotated.mp4")
    graph = two_tone_frame_graph(w, h) + f",{store},fps=25,trim=duration=1,format=yuv420p[out0]"
    ffmpeg("-f", "lavfi", "-i", graph, *X264, str(tmp))
    # -display_rotation is counter-clockwise; stream copy keeps the stored picture sideways.
    ffmpeg("-display_rotation", str(-rotation_deg), "-i", str(tmp), "-c", "copy", str(path))
    tmp.unlink()


def vfr_video(path: Path) -> dict[str, float]:
    """A screen-recording-like file: 30 fps timestamps with 11-frame gaps where nothing was
    captured (10 of every 30 frames dropped), 4 s long. Returns its nominal and average rates."""
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=4,select='not(between(mod(n\\,30)\\,10\\,19))'",
        "-fps_mode", "vfr", *X264, str(path),
    )
    return {"nominal_fps": 30.0, "average_fps": 20.0, "duration_s": 4.0}


def odd_size_video(path: Path, size: tuple[int, int] = (321, 241)) -> None:
    """Odd width and height (4:4:4 H.264 allows them; 4:2:0 does not)."""
    w, h = size
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1",
        "-vf", f"scale={w}:{h},setsar=1,format=yuv444p",
        "-c:v", "libx264", "-preset", "ultrafast", str(path),
    )


def truncated_mp4(path: Path, *, moov_first: bool = False, duration_s: float = 4) -> float:
    """An MP4 cut to half its bytes, as if the recording stopped. By default the moov atom
    (the index, written last) is lost; with `moov_first` the index survives but half the
    media data is missing. Returns the duration the complete file had."""
    full = path.with_name(path.stem + ".full.mp4")
    extra = ["-movflags", "+faststart"] if moov_first else []
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={duration_s}",
        "-f", "lavfi", "-i", f"sine=d={duration_s}",
        *X264, *AAC, *extra, str(full),
    )
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    full.unlink()
    return duration_s


def audio_only(path: Path, *, duration_s: float = 2, cover_art: bool = True) -> None:
    """A music-like file (MP3 when `path` ends in .mp3, else AAC in M4A) with an attached
    cover picture, which is a video stream in ffmpeg's eyes but not footage."""
    args = ["-f", "lavfi", "-i", f"sine=frequency=330:duration={duration_s}"]
    if cover_art:
        args += ["-f", "lavfi", "-i", "color=c=red:s=64x64:d=0.04"]
        args += ["-map", "0:a", "-map", "1:v", "-disposition:v", "attached_pic"]
        args += ["-c:v", "png" if path.suffix == ".mp3" else "mjpeg"]
    codec = ["-c:a", "libmp3lame"] if path.suffix == ".mp3" else AAC
    ffmpeg(*args, *codec, str(path))


def text_as_mp4(path: Path) -> None:
    path.write_text("This is not a video, just text with the wrong extension.\n" * 20)


def zero_byte(path: Path) -> None:
    path.write_bytes(b"")


def no_streams_mp4(path: Path) -> None:
    """A valid MP4 container with no audio or video stream in it."""
    ffmpeg("-f", "lavfi", "-i", "color=s=64x64", "-t", "0", *X264, str(path))


def speech_wav(path: Path, text: str) -> float:
    """A spoken line from the bundled hibari-tts voice (24 kHz mono WAV); returns its duration."""
    from hibari import Hibari

    Hibari().save(text, str(path))
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()
