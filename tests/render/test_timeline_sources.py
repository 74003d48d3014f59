"""A timeline is checked against its sources before a render, as a plan is; sizes at the
renderer's limits render; music shorter than the ad is looped and heard end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adcut.cli import app
from adcut.core.timeline import Timeline
from adcut.render.compile import PlanProblems, check_timeline_sources
from tests import synth


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tlsrc")
    out = {"clip": root / "clip.mp4", "tiny": root / "tiny.mp4", "song": root / "song.wav"}
    synth.color_shots(out["clip"], ["red", "blue"], [1.0, 1.0], size=(320, 180), audio="none")
    synth.color_shots(out["tiny"], ["red"], [1.0], size=(8, 8), audio="none")
    beats, pad = root / "beats.wav", root / "pad.wav"
    synth.click_track(beats, bpm=120, duration_s=6.0, offset_s=0.25)
    synth.tone(pad, freq_hz=220, duration_s=6.0, amplitude=0.1, sample_rate=22050, channels=1)
    synth.ffmpeg("-i", str(beats), "-i", str(pad), "-filter_complex",
                 "amix=inputs=2:normalize=0", "-c:a", "pcm_s16le", str(out["song"]))
    return out


def timeline(media, *, width=320, height=180, mode="crop", **top) -> dict:
    clip = {"source": str(media["clip"]), "source_width": 320, "source_height": 180,
            "source_in_s": 0.0, "reframe": {"mode": mode}}
    return {"kind": "adcut.Timeline", "fps": 25, "width": width, "height": height,
            "duration_f": 50, "clips": [{**clip, "start_f": 0, "duration_f": 25},
                                        {**clip, "source_in_s": 1.0, "start_f": 25,
                                         "duration_f": 25}], **top}


def render(*args):
    return CliRunner().invoke(app, ["render", *map(str, args)])


@pytest.mark.hostile("half-written")
def test_a_timeline_starting_past_its_source_is_refused_before_rendering(media, tmp_path):
    """It rendered into a broken MP4; a plan with the same mistake was refused."""
    doc = timeline(media)
    doc["clips"][1]["source_in_s"] = 12.0
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    result = render(path, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: clips[1].source_in_s: 12 s is beyond the end of {media['clip']} (2.00 s)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


@pytest.mark.hostile("message")
def test_every_source_problem_of_a_timeline_is_listed_with_its_path(media, tmp_path):
    doc = timeline(media, clip_audio_mix_db=-14.0)
    doc["clips"][0].update(source=str(media["tiny"]), source_width=8, source_height=8)
    doc["clips"][1].update(source_width=1920, source_height=1080, audio="keep",
                           source_has_audio=True)
    doc["voice"] = [{"path": str(tmp_path / "gone.wav"), "start_f": 0, "duration_f": 10,
                     "text": "Hi.", "clip": 0}]
    doc["music"] = {"path": str(media["song"]), "source_start_s": 5.0, "duration_f": 50}
    with pytest.raises(PlanProblems) as err:
        check_timeline_sources(Timeline.model_validate(doc))
    assert err.value.problems == [
        f"clips[0].source: {media['tiny']} is 8x8 pixels; footage must be at least 16x16",
        f"clips[1].source_width: 1920x1080 but {media['clip']} is 320x180",
        f"clips[1].source_has_audio: true but {media['clip']} has no audio stream",
        f"voice[0].path: {tmp_path / 'gone.wav'}: does not exist",
        f"music.duration_f: the cue needs 2.00 s from 5 s but {media['song']} ends at 6.00 s; "
        "add a music.loop or shorten the cue",
    ]


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("width, height, mode", [(16, 16, "fit-blur"), (16, 64, "fit-blur"),
                                                 (64, 16, "crop")])
def test_the_smallest_and_thinnest_sizes_render(media, tmp_path, width, height, mode):
    """A 16x16 fit-blur timeline failed in ffmpeg ('Error reinitializing filters!': the blurred
    background was 2x2, too small for boxblur)."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps(timeline(media, width=width, height=height, mode=mode,
                                        transitions=[{"kind": "fade", "after_clip": 0,
                                                      "duration_f": 10}])))
    for extra in ([], ["--preview"]):
        result = render(path, "-o", tmp_path / "out.mp4", "--force", *extra)
        assert result.exit_code == 0, result.output


def levels_db(path: Path, window_s: float = 0.5) -> list[float]:
    from adcut.media.audio import decode_audio

    audio = decode_audio(path, sample_rate=16000)
    n = int(window_s * audio.sample_rate)
    x = audio.samples[: len(audio.samples) // n * n].reshape(-1, n).astype(np.float64)
    return [float(20 * np.log10(max(np.sqrt((w * w).mean()), 1e-9))) for w in x]


@pytest.mark.hostile("bug")
def test_a_plan_longer_than_its_music_renders_with_the_music_looped_throughout(media, tmp_path):
    """A brief longer than the library's only track exited 2 with a hint that could not be
    followed. The track (6 s) now loops under the whole ad (8 s): every half second after
    the fade-in and before the fade-out is at the music's level, with no gap at the seams."""
    plan = {"aspect": "16:9", "fps": 25, "shots": [
        {"source": str(media["clip"]), "in_s": 0, "out_s": 2},
        {"source": str(media["clip"]), "in_s": 0, "out_s": 2},
        {"source": str(media["clip"]), "in_s": 0, "out_s": 2},
        {"source": str(media["clip"]), "in_s": 0, "out_s": 2}],
        "music": {"source": str(media["song"]), "start_s": 0, "fade_in_s": 0.5,
                  "fade_out_s": 0.5, "duck": False}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    out = tmp_path / "ad.mp4"
    result = render(path, "-o", out, "--preview", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["qc_ok"] and report["duration_s"] == pytest.approx(8.0)
    assert any("loops from" in n and "whole bars" in n for n in report["notes"])
    tl = json.loads(Path(report["companions"]["timeline"]).read_text())
    assert tl["music"]["loop"]["crossfade_s"] == 0.1
    body = levels_db(out)[1:-1]  # without the fade-in and fade-out halves
    assert len(body) == 14
    assert max(body) - min(body) < 3.0, body  # as loud at 5-7.5 s (looped) as at 0.5-5 s
    assert min(body) > -30.0, body
