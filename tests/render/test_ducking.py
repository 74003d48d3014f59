"""The music under the voice, as a listener hears it: the envelope (pure), the level plan, and
real renders measured on their separate stems (adcut.render.stems)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from adcut.core.plan import EditPlan
from adcut.core.timeline import Duck, Timeline
from adcut.media.audio import parse_ebur128_summary
from adcut.media.ffmpeg import run_ffmpeg
from adcut.render.compile import compile_plan, gather_facts
from adcut.render.ducking import (
    MIN_VOICE_OVER_MUSIC_LU,
    duck_spans,
    envelope_expr,
    gain_at,
    min_gap_s,
    plan_music_level,
)
from adcut.render.graph import RenderOptions, build_sound_args
from adcut.render.run import measure_gain_db, measured_sound
from adcut.render.stems import measure_mix
from tests import synth

DUCK = Duck()  # 12 dB, 200 ms down, 300 ms up


def test_lines_close_together_keep_the_music_down_between_them():
    gap = min_gap_s(DUCK)
    assert gap == pytest.approx(0.9)
    spans = duck_spans([(0.2, 2.0), (2.5, 4.0), (4.0 + gap + 0.01, 6.0)], DUCK)
    assert spans == [(0.2, 4.0), (4.0 + gap + 0.01, 6.0)]


def test_the_envelope_is_down_while_a_line_plays_and_up_within_the_release():
    spans = [(1.0, 2.0)]
    down = 10 ** (-12 / 20)
    assert gain_at(0.0, spans, DUCK) == 1.0
    assert gain_at(0.8, spans, DUCK) == 1.0  # the ramp starts 200 ms before the line
    assert gain_at(1.0, spans, DUCK) == pytest.approx(down)  # fully down as the line starts
    assert gain_at(1.5, spans, DUCK) == pytest.approx(down)
    assert gain_at(2.0, spans, DUCK) == pytest.approx(down)
    assert gain_at(2.3, spans, DUCK) == pytest.approx(1.0)  # back up 300 ms after it ends
    assert down < gain_at(2.15, spans, DUCK) < 1.0
    expr = envelope_expr(spans, DUCK)
    assert expr is not None and "(t-0.8)/0.2" in expr and "(2.3-t)/0.3" in expr
    assert envelope_expr([], DUCK) is None
    assert envelope_expr(spans, Duck(depth_db=0)) is None


def test_the_music_bed_is_set_against_the_measured_voice():
    # A loud master and a quiet one end up at the same place: 6 LU under a -20 LUFS voice.
    for music_lufs in (-8.0, -30.0):
        gain, depth, note = plan_music_level(-6.0, 12.0, -20.0, music_lufs)
        assert music_lufs + gain == pytest.approx(-26.0)
        assert depth == 12.0 and "6 LU under the voice" in note
    # A bed level with the voice would leave it under 12 LU over the music: the dip is raised.
    gain, depth, note = plan_music_level(0.0, 12.0, -20.0, -10.0)
    assert depth - 0.0 >= MIN_VOICE_OVER_MUSIC_LU + 3 and "raised" in note
    # No voice: the plan's value is a plain gain, as before.
    assert plan_music_level(-6.0, 12.0, None, -10.0) == (-6.0, 12.0, None)


# ------------------------------------------------------------------------ real renders

LINES = ["Meet the new Spark shoe.", "Light and fast.", None, "Get yours today.", None]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("duck")
    synth.color_shots(d / "shot.mp4", ["navy"], [4.0], size=(320, 180), fps=25, audio="none")
    synth.tone(d / "loud.wav", freq_hz=220, duration_s=20, amplitude=0.7)
    synth.tone(d / "quiet.wav", freq_hz=220, duration_s=20, amplitude=0.02)
    return d


def compiled(media: Path, music: str) -> Timeline:
    shots = []
    for line in LINES:
        shot = {"source": "shot.mp4", "in_s": 0.0, "out_s": 1.5 if line is None else 4.0}
        shots.append(shot | ({"line": line} if line else {}))
    plan = EditPlan.model_validate({"aspect": "1:1", "fps": 25, "shots": shots,
                                    "music": {"source": music, "start_s": 1.0},
                                    "planner": "manual"})
    # The voice lines are cached beside the media: both tests share them.
    return compile_plan(plan, gather_facts(plan, cache_dir=media / "cache", base_dir=media),
                        base_dir=media)


@pytest.mark.parametrize("music", ["loud.wav", "quiet.wav"])
def test_rendered_ducking_meets_its_targets_on_the_stems(media, tmp_path, music):
    timeline = compiled(media, music)
    report = measure_mix(timeline, tmp_path, min_gap_s=min_gap_s(timeline.music.duck))
    # Measured (tone under hibari lines): depth 12.0 dB, release 0.27 s, voice 18 LU over the
    # music; before (sidechaincompress, absolute gain): 10.8 dB, 0.98 s, 3.6 LU.
    assert report.gap_s > 1.0 and report.releases_s
    assert report.depth_db >= 10.0
    assert report.worst_release_s <= 0.5
    assert report.voice_over_music_lu >= 12.0
    # The loud and the quiet master end up at the same level under the voice.
    assert report.voice_over_music_lu == pytest.approx(18.0, abs=1.0)


def music_only(media: Path, track: Path) -> Timeline:
    """A 6 s ad of one silent shot over `track`."""
    return Timeline.model_validate({
        "fps": 25, "width": 320, "height": 320, "duration_f": 150,
        "clips": [{"source": str(media / "shot.mp4"), "source_width": 320, "source_height": 180,
                   "source_in_s": 0, "start_f": 0, "duration_f": 150,
                   "reframe": {"mode": "crop"}}],
        "music": {"path": str(track), "source_start_s": 1.0, "duration_f": 150, "gain_db": 0,
                  "fade_in_f": 5, "fade_out_f": 10, "duck": None}})


def clicks(folder: Path) -> Path:
    path = folder / "clicks.wav"
    synth.click_track(path, bpm=120, duration_s=8, sample_rate=48000, offbeat_hats=True)
    return path


def test_a_music_only_ad_over_clicks_keeps_its_loudness_and_true_peak(media, tmp_path):
    timeline = music_only(media, clicks(tmp_path))
    gain = measure_gain_db(timeline)
    out = tmp_path / "sound.m4a"
    run_ffmpeg(["-y", *build_sound_args(timeline, str(out), RenderOptions(loudness_gain_db=gain))])
    loud = parse_ebur128_summary(run_ffmpeg(["-i", str(out), "-af",
                                             "ebur128=peak=true:framelog=verbose", "-f", "null",
                                             "-"]))
    # Before: -17.9 LUFS (the limiter ate 4 LU of the clicks) and -0.9 dBTP after AAC.
    assert math.isclose(loud.integrated_lufs, -14.0, abs_tol=1.0)
    assert loud.true_peak_dbtp <= -1.0


@pytest.mark.parametrize("limited", [True, False], ids=["limiter", "no-limiter"])
def test_the_sound_encoded_from_the_loudness_passes_is_the_mix_made_again(media, tmp_path,
                                                                          limited):
    """A render encodes what its loudness passes wrote (the mix, or the limited sound at the
    gain it takes) instead of mixing and limiting the sources again: the same AAC bytes."""
    track = clicks(tmp_path) if limited else media / "quiet.wav"
    timeline = music_only(media, track)
    work = tmp_path / "work"
    work.mkdir()
    gain = measure_gain_db(timeline, work)
    from_mix, finished = measured_sound(work, gain)
    assert from_mix is not None and (finished is not None) == limited
    # only the sound the render takes is left beside the mix (a long ad's WAVs are large)
    assert sorted(p.name for p in work.iterdir()) == sorted(
        Path(f).name for f in (from_mix, finished) if f is not None)
    options = RenderOptions(loudness_gain_db=gain)
    again, reused = tmp_path / "again.m4a", tmp_path / "reused.m4a"
    run_ffmpeg(["-y", *build_sound_args(timeline, str(again), options)])
    run_ffmpeg(["-y", *build_sound_args(timeline, str(reused), options, from_mix=from_mix,
                                        finished=finished)])
    assert reused.read_bytes() == again.read_bytes()
    # A gain that was remembered measures nothing: there is nothing to reuse.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert measure_gain_db(timeline, elsewhere) == gain
    assert measured_sound(elsewhere, gain) == (None, None)
