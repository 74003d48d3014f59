"""Real renders at 180x320 (a 9:16-like frame), 25 fps, from solid-colour synthetic sources:
the right colour must show at the right time (trims, order, transitions, reframing), the
audio must be ducked and normalised, and nothing half-written may be left behind."""

from __future__ import annotations

import re
import shlex
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from adcut.core.errors import MediaError, OutputError
from adcut.core.timeline import Timeline
from adcut.media.audio import decode_audio
from adcut.media.ffmpeg import find_ffmpeg
from adcut.media.probe import probe_media
from adcut.render.run import print_command, render_timeline
from tests import faults, synth

FPS, W, H = 25, 180, 320
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 128, 0), (0, 0, 255), (255, 255, 0)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("render-media")
    m = {"rgby": d / "rgby.mp4", "halves": d / "halves.mp4", "grain": d / "grain.mp4",
         "music": d / "music.wav", "voice": d / "voice.wav"}
    # red 0-1 s, green 1-2 s, blue 2-3 s, yellow 3-4 s, with a 440 Hz tone
    synth.color_shots(m["rgby"], ["red", "green", "blue", "yellow"], [1, 1, 1, 1], fps=FPS)
    # 16:9, left half red, right half blue, no audio
    synth.ffmpeg("-f", "lavfi", "-i", "color=c=red:s=160x180:r=25:d=2", "-f", "lavfi", "-i",
                 "color=c=blue:s=160x180:r=25:d=2", "-filter_complex", "[0:v][1:v]hstack",
                 *synth.X264, str(m["halves"]))
    synth.color_shots(m["grain"], ["gray"], [2], fps=FPS, texture=True, audio="none")
    synth.tone(m["music"], freq_hz=3000, duration_s=8, amplitude=0.25)
    m["voice_s"] = synth.speech_wav(m["voice"], "Meet the lightest running shoe we have ever made.")
    return m


def clip(source: Path, start_f: int, duration_f: int, source_in_s: float, **kw) -> dict:
    w, h = kw.pop("size", (320, 240))
    return {"source": str(source), "source_width": w, "source_height": h, "source_in_s": source_in_s,
            "start_f": start_f, "duration_f": duration_f, "reframe": {"mode": "crop"}} | kw


def timeline(clips: list[dict], **kw) -> Timeline:
    total = clips[-1]["start_f"] + clips[-1]["duration_f"]
    return Timeline.model_validate({"fps": FPS, "width": W, "height": H, "duration_f": total,
                                    "clips": clips} | kw)


def frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def colour(frame: np.ndarray, x: float = 0.5, y: float = 0.5) -> tuple[int, ...]:
    """Mean colour of a 6x6 patch at fractional position (x, y)."""
    h, w, _ = frame.shape
    cx, cy = int(x * (w - 6)), int(y * (h - 6))
    return tuple(int(v) for v in frame[cy:cy + 6, cx:cx + 6].reshape(-1, 3).mean(axis=0))


def near(got: tuple[int, ...], want: tuple[int, ...], tol: int = 30) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got, want))


def top_level_atoms(path: Path) -> list[str]:
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return atoms


@pytest.fixture(scope="module")
def edit(media, tmp_path_factory) -> tuple[Timeline, Path, list[np.ndarray]]:
    """red (trimmed) | green --fade--> blue, slowed --wipeleft--> yellow, held."""
    tl = timeline([
        clip(media["rgby"], 0, 20, 0.1, source_has_audio=True, audio="mix"),  # red
        # green from 1.1 s; its 5 tail frames (1.9-2.1 s... up to 1.92 s) are still green
        clip(media["rgby"], 20, 15, 1.1),
        # blue, slowed to half speed from 2.3 s: 20 frames cover 2.3-2.7 s; 4 head frames
        # borrow 2.22-2.3 s (still blue); 3 tail frames go up to 2.76 s
        clip(media["rgby"], 35, 20, 2.3, speed=0.5),
        # yellow from 3.2 s, 15 moving frames then 10 held
        clip(media["rgby"], 55, 25, 3.2, hold_f=10),
    ], transitions=[{"kind": "fade", "after_clip": 1, "duration_f": 10},
                    {"kind": "wipeleft", "after_clip": 2, "duration_f": 6}])
    out = tmp_path_factory.mktemp("edit") / "edit.mp4"
    render_timeline(tl, out, preview=False)
    return tl, out, frames(out)


def test_colours_in_order_with_trims(edit):
    tl, out, fr = edit
    assert len(fr) == tl.duration_f == 80
    for i, want in [(0, RED), (19, RED), (20, GREEN), (29, GREEN), (41, BLUE), (51, BLUE),
                    (58, YELLOW), (79, YELLOW)]:
        assert near(colour(fr[i]), want), (i, colour(fr[i]), want)


def test_fade_midpoint_is_a_blend(edit):
    _, _, fr = edit
    # window of the fade = clips[2].start_f - head (5) = 30..40; progress 0.5 at frame 35
    mid = colour(fr[35])
    assert 30 < mid[1] < 100 and 70 < mid[2] < 190 and mid[0] < 30, mid
    assert near(colour(fr[29]), GREEN) and near(colour(fr[41]), BLUE)


def test_wipe_midpoint_is_half_and_half(edit):
    _, _, fr = edit
    # window of the wipe = 55 - 3 = 52..58; midpoint frame 55: one side blue, the other yellow
    left, right = colour(fr[55], 0.1), colour(fr[55], 0.9)
    assert {near(left, BLUE), near(right, BLUE)} == {True, False}
    assert near(left, YELLOW) or near(right, YELLOW)


def test_output_format(edit):
    tl, out, _ = edit
    info = probe_media(out)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height) == (W, H)
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert info.audio.codec == "aac" and info.audio.sample_rate == 48000
    assert abs(info.duration_s - tl.duration_s) <= 1 / FPS
    atoms = top_level_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat"), atoms  # faststart


def test_slowed_clip_shows_the_source_cut_at_the_right_time(media, tmp_path):
    # from 0.6 s at half speed: the red->green cut at 1.0 s shows at (1.0 - 0.6) / 0.5 = 0.8 s
    tl = timeline([clip(media["rgby"], 0, 40, 0.6, speed=0.5)])
    out = tmp_path / "slow.mp4"
    render_timeline(tl, out)
    fr = frames(out)
    assert len(fr) == 40
    assert near(colour(fr[18]), RED) and near(colour(fr[22]), GREEN)


def test_hold_freezes_the_last_moving_frame(media, tmp_path):
    tl = timeline([clip(media["grain"], 0, 30, 0.0, hold_f=15)])
    out = tmp_path / "hold.mp4"
    render_timeline(tl, out)
    fr = [f.astype(np.int16) for f in frames(out)]
    moving = np.mean([np.abs(fr[i + 1] - fr[i]).mean() for i in range(0, 12)])
    held = np.mean([np.abs(fr[i + 1] - fr[i]).mean() for i in range(15, 29)])
    assert moving > 1.0 and held < 0.2, (moving, held)


def test_crop_centre_and_fit_blur(media, tmp_path):
    size = (320, 180)
    tl = timeline([
        clip(media["halves"], 0, 10, 0.0, size=size, reframe={"mode": "crop", "center_x": 0.25}),
        clip(media["halves"], 10, 10, 0.5, size=size, reframe={"mode": "crop", "center_x": 0.75}),
        clip(media["halves"], 20, 10, 1.0, size=size, reframe={"mode": "fit-blur"}),
    ])
    out = tmp_path / "reframe.mp4"
    render_timeline(tl, out)
    fr = frames(out)
    # crop: a 9:16 window of the 16:9 source centred on its left (red) or right (blue) half
    assert near(colour(fr[5], 0.1), RED) and near(colour(fr[5], 0.9), RED)
    assert near(colour(fr[15], 0.1), BLUE) and near(colour(fr[15], 0.9), BLUE)
    # fit-blur: the whole source (red | blue) across the width in the middle band, over a
    # blurred background (a red-blue mixture at the top, not black)
    assert near(colour(fr[25], 0.05), RED) and near(colour(fr[25], 0.95), BLUE)
    top = colour(fr[25], 0.5, 0.02)
    assert top[0] > 40 and top[2] > 40, top


def write_boxed_caption(path: Path, start: str, end: str, text: str) -> str:
    """An ASS file with one caption in an opaque white box (BorderStyle 3) at the bottom, in
    the bundled font; returns the font file."""
    from adcut.render.subtitles import default_font

    font_file, font_name = default_font()
    path.write_text(
        "[Script Info]\nScriptType: v4.00+\nPlayResX: 180\nPlayResY: 320\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Default,{font_name},40,&H00FFFFFF,&H00FFFFFF,&H00FFFFFF,&H00000000,0,0,0,0,"
        "100,100,0,0,3,8,0,2,10,10,40,1\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        f"Dialogue: 0,{start},{end},Default,,0,0,0,,{text}\n", encoding="utf-8")
    return font_file


def test_subtitles_burned_from_an_awkward_path(media, tmp_path):
    folder = tmp_path / "my subs: v2, it's [final]; 字幕"
    folder.mkdir()
    ass = folder / "caps.ass"
    font_file = write_boxed_caption(ass, "0:00:00.00", "0:00:00.40", "字幕 OK")
    tl = timeline([clip(media["rgby"], 0, 20, 2.1)])  # blue
    out = tmp_path / "subs.mp4"
    render_timeline(tl, out, ass_path=ass, fonts_dir=Path(font_file).parent)
    fr = frames(out)
    # an opaque white box (BorderStyle 3) at the bottom while the caption shows, then blue
    bottom = fr[3][int(H * 0.7):int(H * 0.9)].reshape(-1, 3)
    assert (bottom.min(axis=1) > 200).mean() > 0.2
    assert near(colour(fr[15], 0.5, 0.8), BLUE)


def test_music_ducks_under_the_voice_and_the_mix_is_normalised(media, tmp_path):
    voice_f = round(media["voice_s"] * FPS)
    start_f = 40  # the voice starts at 1.6 s
    total = start_f + voice_f + 50
    tl = timeline(
        [clip(media["rgby"], 0, total // 2, 0.0), clip(media["rgby"], total // 2, total - total // 2, 0.0)],
        voice=[{"path": str(media["voice"]), "start_f": start_f, "duration_f": voice_f,
                "text": "Meet the lightest running shoe.", "clip": 0}],
        music={"path": str(media["music"]), "source_start_s": 0.5, "duration_f": total,
               "gain_db": -6, "fade_in_f": 5, "fade_out_f": 5,
               "duck": {"depth_db": 12, "attack_ms": 30, "release_ms": 300}})
    out = tmp_path / "ducked.mp4"
    result = render_timeline(tl, out)
    assert result.loudness_gain_db is not None
    audio = decode_audio(out, sample_rate=48000, measure_loudness=True)
    # loudness: within 1 LU of -14 LUFS, true peak at most -1 dBTP
    assert abs(audio.loudness.integrated_lufs - tl.loudness_lufs) <= 1.0, audio.loudness
    assert audio.loudness.true_peak_dbtp <= tl.true_peak_dbtp + 0.1, audio.loudness

    # the music alone: its 3 kHz tone, measured in a narrow band (speech has little energy
    # in a +-6 Hz band), before / during / after the speech
    def tone_db(a_s: float, b_s: float) -> float:
        x = audio.samples[int(a_s * 48000):int(b_s * 48000)]
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / 48000)
        return 10 * np.log10(spec[(freqs > 2994) & (freqs < 3006)].sum() / len(x) + 1e-20)

    speech_a, speech_b = start_f / FPS, (start_f + voice_f) / FPS
    before = tone_db(0.4, speech_a - 0.1)
    during = tone_db(speech_a + 0.4, speech_b - 0.3)
    after = tone_db(speech_b + 0.6, total / FPS - 0.4)
    assert before - during >= 6 and after - during >= 6, (before, during, after)


def test_refuses_to_overwrite_without_force(media, tmp_path):
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"precious")
    tl = timeline([clip(media["rgby"], 0, 5, 0.0)])
    with pytest.raises(OutputError, match="exists") as e:
        render_timeline(tl, out)
    assert "--force" in str(e.value) and out.read_bytes() == b"precious"
    render_timeline(tl, out, force=True)
    assert probe_media(out).video is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.mp4"]


def test_missing_source_names_the_field(media, tmp_path):
    tl = timeline([clip(media["rgby"], 0, 5, 0.0), clip(tmp_path / "gone.mp4", 5, 5, 0.0)])
    with pytest.raises(MediaError, match=r"clips\[1\]\.source"):
        render_timeline(tl, tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_no_partial_file_after_a_failed_render(media, tmp_path):
    bad = tmp_path / "not_a_video.mp4"
    synth.text_as_mp4(bad)
    tl = timeline([clip(media["rgby"], 0, 5, 0.0), clip(bad, 5, 5, 0.0)])
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError):
        render_timeline(tl, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_video.mp4"]


def test_no_partial_file_after_ctrl_c(media, tmp_path):
    tl = timeline([clip(media["rgby"], 0, 90, 0.0)])
    out = tmp_path / "out.mp4"

    def interrupt(done_s: float) -> None:
        if done_s > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_timeline(tl, out, on_progress=interrupt)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.hostile("traceback")
def test_read_only_folder_is_refused_before_rendering(media, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    tl = timeline([clip(media["rgby"], 0, 5, 0.0)])
    with faults.readonly(folder):
        with pytest.raises(OutputError, match="not writable"):
            render_timeline(tl, folder / "out.mp4")
    assert list(folder.iterdir()) == []


@pytest.mark.hostile("overwrite")
def test_a_source_of_the_timeline_is_never_the_output(media, tmp_path):
    footage = tmp_path / "shoe.mp4"
    footage.write_bytes(media["rgby"].read_bytes())
    before = footage.read_bytes()
    tl = timeline([clip(footage, 0, 5, 0.0)])
    with pytest.raises(OutputError, match="own inputs"):
        render_timeline(tl, footage, force=True)
    assert footage.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "shoe.mp4"]


def test_preview_and_print_command(media, tmp_path):
    tl = timeline([clip(media["rgby"], 0, 10, 0.0, source_has_audio=True, audio="keep")])
    out = tmp_path / "preview.mp4"
    result = render_timeline(tl, out, preview=True)
    assert result.loudness_gain_db is None
    info = probe_media(out)
    assert (info.video.width, info.video.height) == (W // 3, 106)  # a third, even sides
    text = print_command(tl, out)
    ff = find_ffmpeg().path  # each command starts a line (a filtergraph spans several)
    blocks = re.split(rf"\n(?=#|{re.escape(ff)} )", text)
    assert blocks[0].startswith("# loudness pass")
    measure, picture, sound, join = [b for b in blocks if b.startswith(ff)]
    assert "ebur128" in measure and "libx264" not in measure
    parts = next(a for a in shlex.split(picture) if a.endswith("picture.mp4"))
    # the sound command carries the measured gain; the join names the output
    assert "volume=" in sound and "volume=" not in picture and join.endswith(str(out))
    # and they run as printed, once the folder of the intermediate files exists
    made = tmp_path / "by hand"
    made.mkdir()
    folder = str(Path(parts).parent)
    argv = [[a.replace(folder, str(made)) for a in shlex.split(c)]
            for c in (picture, sound, join)]
    argv[-1][-1] = str(tmp_path / "from_print.mp4")
    for args in argv:
        subprocess.run(args, check=True, capture_output=True)
    info = probe_media(tmp_path / "from_print.mp4")
    assert info.audio is not None and info.duration_s == pytest.approx(0.4, abs=0.05)


def test_long_timeline_renders_in_passes_like_one_pass(media, tmp_path):
    """Passes of at most 2 clips (for a real ad: more than 10 clips, passes of 6): the same
    frames, sound and subtitles as the single pass, exact length, and nothing left behind."""
    ass = tmp_path / "caps.ass"
    # 2.4-3.2 s: frames 60-80, inside the third pass (it starts at frame 60)
    font_file = write_boxed_caption(ass, "0:00:02.40", "0:00:03.20", "OK")
    # red | green --fade--> blue | yellow | red | green, each clip with its tone mixed in
    starts_in = [(0, 15, 0.1), (15, 15, 1.1), (30, 20, 2.1), (50, 10, 3.1), (60, 20, 0.2),
                 (80, 15, 1.2)]
    tl = timeline(
        [clip(media["rgby"], start, dur, src_s, source_has_audio=True, audio="mix")
         for start, dur, src_s in starts_in],
        transitions=[{"kind": "fade", "after_clip": 1, "duration_f": 6}],
        music={"path": str(media["music"]), "source_start_s": 0.0, "duration_f": 95,
               "gain_db": -12})
    single, passes = tmp_path / "single.mp4", tmp_path / "passes.mp4"
    one = render_timeline(tl, single, ass_path=ass, fonts_dir=Path(font_file).parent)
    many = render_timeline(tl, passes, ass_path=ass, fonts_dir=Path(font_file).parent,
                           single_pass_max_clips=2, clips_per_pass=2)
    # frames 0-27 (up to the fade's window), 27-60 (clip 1's last frames, the fade, clip 2,
    # clip 3), 60-95 (clips 4 and 5)
    assert (one.passes, many.passes) == (1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["caps.ass", "passes.mp4", "single.mp4"]

    a, b = frames(single), frames(passes)
    assert len(a) == len(b) == tl.duration_f == 95
    for i, want in [(0, RED), (14, RED), (15, GREEN), (20, GREEN), (40, BLUE), (52, YELLOW),
                    (59, YELLOW), (61, RED), (81, GREEN), (94, GREEN)]:
        assert near(colour(b[i]), want), (i, colour(b[i]), want)
    # the fade's midpoint (frame 30) is a blend in both; every frame close to the single pass
    assert not near(colour(b[30]), GREEN) and not near(colour(b[30]), BLUE)
    diff = [float(np.abs(x.astype(int) - y.astype(int)).mean()) for x, y in zip(a, b)]
    assert max(diff) < 4, max(diff)
    # the caption box shows on the ad's clock although it lies in a later pass
    def boxed(fr: np.ndarray) -> bool:
        return bool((fr[int(H * 0.7):int(H * 0.9)].reshape(-1, 3).min(axis=1) > 200).mean() > 0.2)
    assert [boxed(b[i]) for i in (55, 65, 75, 85)] == [False, True, True, False]

    info_a, info_b = probe_media(single), probe_media(passes)
    assert info_b.audio is not None and abs(info_b.duration_s - info_a.duration_s) < 0.05
    sa = decode_audio(single, sample_rate=48000).samples
    sb = decode_audio(passes, sample_rate=48000).samples
    assert abs(len(sa) - len(sb)) <= 1024 and abs(len(sb) / 48000 - 95 / FPS) < 0.05
    n = min(len(sa), len(sb))
    assert np.corrcoef(sa[:n], sb[:n])[0, 1] > 0.99  # the same mix, in sync


def test_print_command_of_a_long_timeline_shows_every_pass(media, tmp_path):
    tl = timeline([clip(media["rgby"], 10 * k, 10, 0.1 * k) for k in range(12)])
    text = print_command(tl, tmp_path / "long.mp4", measure=False)
    commands = text.split(" -hide_banner ")[1:]  # a filtergraph spans several lines
    # 12 clips (more than 10): two passes of 6, the sound, the join (no loudness pass printed:
    # the clips are silent)
    assert len(commands) == 4, text
    assert [c.count(" -i ") for c in commands[:2]] == [6, 6] and "-c copy" in commands[-1]
    assert "parts.ffconcat" in text and not (tmp_path / "long.mp4").exists()


def test_a_fitted_shot_moves_over_a_still_backdrop_from_half_a_second_in(tmp_path):
    """The backdrop of a fitted shot is one blurred frame taken 0.5 s in (its first frame may
    still belong to the cut before: here 0.2 s of red), held still while the picture moves,
    and a push-in moves the picture within its band, not the backdrop."""
    source = tmp_path / "src.mp4"
    # red 0.2 s, then blue | yellow (an edge off the centre, which a zoom would move) with a
    # white box sliding across the blue
    synth.ffmpeg("-f", "lavfi", "-i", "color=c=red:s=320x180:r=25:d=0.2", "-f", "lavfi", "-i",
                 "color=c=blue:s=200x180:r=25:d=2.8", "-f", "lavfi", "-i",
                 "color=c=yellow:s=120x180:r=25:d=2.8", "-filter_complex",
                 "[1:v][2:v]hstack,drawbox=x='mod(t*150\\,160)':y=50:w=40:h=80:color=white:"
                 "t=fill[b];[0:v][b]concat=n=2:v=1:a=0", *synth.X264, str(source))
    tl = timeline([clip(source, 0, 60, 0.0, size=(320, 180), reframe={"mode": "fit-blur"},
                        push_in=0.1)])
    out = tmp_path / "fitted.mp4"
    render_timeline(tl, out)
    fr = [f.astype(int) for f in frames(out)]
    band_top = (H - round(W * 180 / 320)) // 2  # the picture's band: rows band_top..H-band_top
    backdrop = [f[:band_top - 4] for f in fr]
    assert all(near(colour(b, 0.1, 0.5), BLUE, 60) for b in backdrop)  # never the red cut
    assert max(np.abs(b - backdrop[0]).mean() for b in backdrop) < 0.5  # still
    band = [f[band_top + 4:H - band_top - 4] for f in fr]
    assert np.abs(band[20] - band[40]).mean() > 2  # while the picture moves (the white box)
