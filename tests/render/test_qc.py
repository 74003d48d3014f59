"""QC of rendered files: a good render passes; each fault is caught by the check named for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adcut.core.timeline import Timeline
from adcut.render.qc import parse_intervals, run_qc, subtract, write_qc
from adcut.render.run import render_timeline
from tests import synth

FPS, W, H = 25, 180, 320


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("qc-media")
    m = {"rgb": d / "rgb.mp4", "grain": d / "grain.mp4", "voice": d / "voice.wav"}
    synth.color_shots(m["rgb"], ["red", "green", "blue"], [1, 1, 1], fps=FPS)
    synth.color_shots(m["grain"], ["gray"], [2], fps=FPS, texture=True, audio="none")
    synth.speech_wav(m["voice"], "A short line for the check.")
    return m


def clip(source: Path, start_f: int, duration_f: int, source_in_s: float, **kw) -> dict:
    return {"source": str(source), "source_width": 320, "source_height": 240,
            "source_in_s": source_in_s, "start_f": start_f, "duration_f": duration_f,
            "reframe": {"mode": "crop"}} | kw


def rgb_timeline(media) -> Timeline:
    """Solid red, green, blue shots (each a still: explained by the footage), with a voice so
    the loudness can be normalised."""
    return Timeline.model_validate({
        "fps": FPS, "width": W, "height": H, "duration_f": 75,
        "clips": [clip(media["rgb"], 0, 25, 0.0), clip(media["rgb"], 25, 25, 1.0),
                  clip(media["rgb"], 50, 25, 2.0)],
        "voice": [{"path": str(media["voice"]), "start_f": 5, "duration_f": 60, "text": "x",
                   "clip": 0}],
    })


def by_name(checks) -> dict:
    return {c.name: c for c in checks}


@pytest.fixture(scope="module")
def good(media, tmp_path_factory) -> tuple[Timeline, Path]:
    tl = rgb_timeline(media)
    out = tmp_path_factory.mktemp("qc") / "good.mp4"
    render_timeline(tl, out)
    return tl, out


def test_good_render_passes(good, tmp_path):
    tl, out = good
    checks = run_qc(out, tl, caption_boxes=[(10, 200, 170, 280)])
    failed = [c for c in checks if not c.ok]
    assert not failed, failed
    names = by_name(checks)
    assert set(names) == {"streams", "duration", "av_drift", "loudness", "true_peak", "black",
                          "freeze", "subtitles", "voice"}
    assert names["voice"].measured > 0.9  # the line alone is the whole sound
    assert abs(names["loudness"].measured - tl.loudness_lufs) <= 1
    write_qc(checks, tmp_path / "ad.qc.json")
    data = json.loads((tmp_path / "ad.qc.json").read_text())
    assert data["ok"] is True and len(data["checks"]) == len(checks)
    assert [p.name for p in tmp_path.iterdir()] == ["ad.qc.json"]  # no temporary left


def test_unasked_black_stretch_fails(media, good, tmp_path):
    tl, _ = good
    bad = tmp_path / "black.mp4"
    # what the timeline asks for (red, green, blue) but with 1 s of black in the middle
    synth.color_shots(bad, ["red", "black", "blue"], [1, 1, 1], size=(W, H), fps=FPS)
    checks = by_name(run_qc(bad, tl))
    assert not checks["black"].ok and "1.00-2.00" in checks["black"].detail
    assert checks["duration"].ok and checks["streams"].ok


def test_too_short_file_fails_duration(good, tmp_path):
    tl, out = good
    short = tmp_path / "short.mp4"
    synth.ffmpeg("-i", str(out), "-t", "2", "-c", "copy", str(short))
    checks = by_name(run_qc(short, tl))
    assert not checks["duration"].ok and checks["duration"].measured < 2.5  # copy cuts near 2 s


def test_video_only_file_fails_streams(good, tmp_path):
    tl, out = good
    mute = tmp_path / "mute.mp4"
    synth.ffmpeg("-i", str(out), "-an", "-c", "copy", str(mute))
    checks = by_name(run_qc(mute, tl))
    assert not checks["streams"].ok and "no audio" in checks["streams"].detail
    assert "loudness" not in checks and "av_drift" not in checks


def test_hold_is_an_asked_for_freeze_but_a_short_source_is_not(media, tmp_path):
    held = Timeline.model_validate({
        "fps": FPS, "width": W, "height": H, "duration_f": 50,
        "clips": [clip(media["grain"], 0, 50, 0.0, hold_f=25)]})
    out = tmp_path / "held.mp4"
    render_timeline(held, out)
    assert by_name(run_qc(out, held))["freeze"].ok
    # the clip asks for 2 s from 1.5 s of a 2 s source: 1.5 s of cloned frames nobody asked for
    short = Timeline.model_validate({
        "fps": FPS, "width": W, "height": H, "duration_f": 50,
        "clips": [clip(media["grain"], 0, 50, 1.5)]})
    out2 = tmp_path / "short_source.mp4"
    render_timeline(short, out2)
    freeze = by_name(run_qc(out2, short))["freeze"]
    assert not freeze.ok and freeze.measured > 1.0


def test_caption_outside_the_frame_fails(good):
    tl, out = good
    checks = by_name(run_qc(out, tl, caption_boxes=[(10, 200, 170, 280), (-4, 290, 150, 330)]))
    assert not checks["subtitles"].ok and "1 caption boxes outside" in checks["subtitles"].detail


def test_parsing_and_interval_helpers():
    log = ("[blackdetect @ 0x1] black_start:1 black_end:2.04 black_duration:1.04\n"
           "[freezedetect @ 0x2] lavfi.freezedetect.freeze_start: 0.5\n"
           "[freezedetect @ 0x2] lavfi.freezedetect.freeze_duration: 1\n"
           "[freezedetect @ 0x2] lavfi.freezedetect.freeze_end: 1.5\n"
           "[freezedetect @ 0x2] lavfi.freezedetect.freeze_start: 2.5\n")
    assert parse_intervals(log, "black", 3.0) == [(1.0, 2.04)]
    assert parse_intervals(log, "freeze", 3.0) == [(0.5, 1.5), (2.5, 3.0)]  # open at the end
    assert subtract((0.0, 3.0), [(0.5, 1.0), (2.0, 4.0)]) == [(0.0, 0.5), (1.0, 2.0)]
    assert subtract((0.0, 1.0), [(-1.0, 2.0)]) == []


# ------------------------------------------------------------------------------- voice


def test_an_ad_whose_voice_file_is_silent_fails_voice(media, tmp_path):
    """The timeline names a voice line but its file is silence (a failed synthesis): the
    render succeeds, and QC says the line is not heard. Music plays under it, ducked."""
    silent = tmp_path / "silent.wav"
    synth.ffmpeg("-f", "lavfi", "-i", "anullsrc=r=24000:cl=mono", "-t", "2.4",
                 "-c:a", "pcm_s16le", str(silent))
    music = tmp_path / "music.wav"
    synth.tone(music, freq_hz=220, duration_s=5, amplitude=0.3)
    data = rgb_timeline(media).model_dump()
    data["voice"][0]["path"] = str(silent)
    # The music bed where the level plan would put it under this (quiet) line.
    data["music"] = {"path": str(music), "source_start_s": 0, "duration_f": 75, "gain_db": -20}
    tl = Timeline.model_validate(data)
    out = tmp_path / "silent-voice.mp4"
    render_timeline(tl, out)
    voice = by_name(run_qc(out, tl))["voice"]
    assert not voice.ok and "not heard" in voice.detail and voice.measured < 0.2
    # The same ad with the real line passes.
    data["voice"][0]["path"] = str(media["voice"])
    tl = Timeline.model_validate(data)
    render_timeline(tl, out, force=True)
    voice = by_name(run_qc(out, tl))["voice"]
    assert voice.ok and voice.measured > 0.9, voice


def test_an_ad_planned_with_a_voice_that_has_none_fails_voice(good):
    tl, out = good
    data = tl.model_dump()
    data.update(voice=[], metadata={"voice_expected": True})
    voice = by_name(run_qc(out, Timeline.model_validate(data)))["voice"]
    assert not voice.ok and "no voice line" in voice.detail
    data["metadata"] = {"voice_expected": False}  # e.g. --voice none: nothing to miss
    assert by_name(run_qc(out, Timeline.model_validate(data)))["voice"].ok


def test_line_correlations_find_the_lag_and_score_each_line():
    """The voice check's scores (numpy's FFT): a line heard 37 samples late under noise scores
    its share of the sound; a line replaced by silence scores about 0."""
    import numpy as np

    from adcut.render.qc import line_correlations

    rng = np.random.default_rng(1)
    lines = rng.standard_normal(40000)
    heard = 0.7 * np.roll(lines, 37) + 0.3 * rng.standard_normal(40000)
    heard[20000:30000] = 0.3 * rng.standard_normal(10000)  # the second line is not heard
    r = line_correlations(heard, lines, [(1000, 9000), (20000, 30000)], max_lag=800)
    assert r[0] == pytest.approx(0.7 / np.hypot(0.7, 0.3), abs=0.02)
    assert abs(r[1]) < 0.05
    late = line_correlations(np.roll(lines, -500), lines, [(1000, 9000)], max_lag=800)
    assert late[0] == pytest.approx(1.0, abs=1e-6)  # a negative lag is found too


def test_the_renders_own_picture_measure_gives_the_checks_a_decode_gives(media, tmp_path):
    """After a render, black and frozen stretches come from the frames it encoded (no second
    decode of the picture): a hold passes, frames cloned past a short source fail, as when the
    file is decoded; a long render's passes are joined into the ad's stretches."""
    held = Timeline.model_validate({
        "fps": FPS, "width": W, "height": H, "duration_f": 50,
        "clips": [clip(media["grain"], 0, 50, 0.0, hold_f=25)]})
    short = Timeline.model_validate({
        "fps": FPS, "width": W, "height": H, "duration_f": 50,
        "clips": [clip(media["grain"], 0, 50, 1.5)]})
    for tl, ok in ((held, True), (short, False)):
        out = tmp_path / f"{ok}.mp4"
        result = render_timeline(tl, out)
        assert len(result.picture_logs) == 1 and "freezedetect" in result.picture_logs[0][2]
        own = by_name(run_qc(out, tl, picture_logs=list(result.picture_logs)))
        decoded = by_name(run_qc(out, tl))
        assert own["freeze"].ok is decoded["freeze"].ok is ok, (own["freeze"], decoded["freeze"])
        assert own["freeze"].measured == pytest.approx(decoded["freeze"].measured, abs=0.1)
        assert own["black"].ok and own["duration"].ok and own["streams"].ok


def test_picture_stills_join_a_stretch_cut_by_a_pass_boundary():
    from adcut.render.qc import picture_stills

    def log(*pairs):
        return "".join(f"lavfi.freezedetect.freeze_start: {a}\nlavfi.freezedetect.freeze_end: {b}\n"
                       for a, b in pairs)

    # pass 1 (0-4 s) ends frozen from 3.7 s; pass 2 (4-8 s) starts frozen until 0.3 s: one
    # 0.6 s stretch; 6.0-6.2 s stays apart
    logs = [(0.0, 4.0, log((1.0, 1.2)) + "lavfi.freezedetect.freeze_start: 3.7\n"),
            (4.0, 8.0, log((0.0, 0.3), (2.0, 2.2)))]
    got = picture_stills(logs, "freeze", 30)
    assert [(round(a, 3), round(b, 3)) for a, b in got] == [(1.0, 1.2), (3.7, 4.3), (6.0, 6.2)]
