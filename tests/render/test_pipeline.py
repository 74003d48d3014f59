"""`adcut render plan.json -o ad.mp4` end to end: compile, voice, subtitles, music, render,
companions and QC, with generated media."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from adcut.media.ffmpeg import find_ffmpeg
from adcut.media.probe import probe_media
from tests import synth
from tests.in_process import run

FPS = 25


def frame_at(path: Path, t_s: float, size=(108, 192)) -> np.ndarray:
    w, h = size
    out = subprocess.run([find_ffmpeg().path, "-v", "error", "-ss", f"{t_s:.3f}", "-i", str(path),
                          "-frames:v", "1", "-vf", f"scale={w}:{h}", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(h, w, 3)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    synth.color_shots(d / "red.mp4", ["red"], [4.0], size=(320, 180), fps=FPS)
    synth.color_shots(d / "blue.mp4", ["blue"], [4.0], size=(320, 180), fps=FPS)
    synth.color_shots(d / "lime.mp4", ["lime"], [1.0], size=(320, 180), fps=FPS, audio="none")
    synth.tone(d / "music.wav", freq_hz=220, duration_s=30, amplitude=0.3)
    return d


def write_plan(folder: Path, **overrides) -> Path:
    plan = {
        "aspect": "9:16", "fps": FPS,
        "shots": [
            {"source": "red.mp4", "in_s": 0.5, "out_s": 3.5, "line": "Meet the new Spark shoe.",
             "transition": "fade", "transition_s": 0.4},
            {"source": "blue.mp4", "in_s": 0, "out_s": 4, "line": "Lighter and faster."},
            {"source": "lime.mp4", "in_s": 0, "out_s": 1, "line": "Get yours today."},
        ],
        "music": {"source": "music.wav", "start_s": 2.0},
        "planner": "manual",
    }
    plan.update(overrides)
    path = folder / "plan.json"
    path.write_text(json.dumps(plan))
    return path


@pytest.fixture(scope="module")
def rendered(media, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "ad.mp4"
    result = run("render", write_plan(media), "-o", out, "--json")
    return out, result


def test_render_writes_the_ad_and_its_companions(rendered):
    out, result = rendered
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["qc_ok"] and set(report["companions"]) == {"srt", "otio", "timeline", "manifest",
                                                             "qc", "voice"}
    voice = Path(report["companions"]["voice"])
    assert voice.name == "ad.voice" and voice.parent == out.parent  # beside the MP4, not a cache
    assert sorted(p.name for p in voice.iterdir()) == [f"{k + 1:02d}.wav" for k in
                                                        range(len(list(voice.iterdir())))]
    info = probe_media(out)
    timeline = json.loads(Path(report["companions"]["timeline"]).read_text())
    assert (info.video.width, info.video.height) == (1080, 1920)
    assert info.duration_s == pytest.approx(timeline["duration_f"] / FPS, abs=1.5 / FPS)
    # shots in order, each shown while its line is spoken (voice-fitted durations)
    starts = [c["start_f"] / FPS for c in timeline["clips"]]
    ends = [(c["start_f"] + c["duration_f"]) / FPS for c in timeline["clips"]]
    for (a, b), colour in zip(zip(starts, ends), [(255, 0, 0), (0, 0, 255), (0, 255, 0)]):
        t = a + 0.6 * (b - a)
        centre = frame_at(out, t)[80:110, 40:70].reshape(-1, 3).mean(0)
        assert np.abs(centre - colour).max() < 60, (t, centre)
    # the lime clip (1 s) had to be slowed and held to cover its line
    assert timeline["clips"][2]["hold_f"] > 0 and report["notes"]
    srt = Path(report["companions"]["srt"]).read_text()
    assert "Meet the new Spark shoe." in srt and "Get yours today." in srt
    manifest = json.loads(Path(report["companions"]["manifest"]).read_text())
    assert {Path(f["path"]).name for f in manifest["footage"]} == {"red.mp4", "blue.mp4", "lime.mp4"}
    assert "Open Font License" in manifest["fonts"][0]["licence"]
    # the ad and its QC report are renamed from temporary files: they still get the user's usual
    # permissions (0666 less the umask), like the companions, not a temporary file's 0600
    umask = os.umask(0)
    os.umask(umask)
    for path in [out, *map(Path, report["companions"].values())]:
        usual = 0o777 if path.is_dir() else 0o666  # the voice folder, like any new folder
        assert stat.S_IMODE(path.stat().st_mode) == usual & ~umask, path


def test_existing_output_is_never_overwritten_without_force(rendered, media):
    out, _ = rendered
    before = out.stat().st_mtime_ns
    result = run("render", write_plan(media), "-o", out)
    assert result.exit_code == 2 and "already exists" in result.stderr and "--force" in result.stderr
    assert out.stat().st_mtime_ns == before


def test_print_ffmpeg_shows_the_commands_and_renders_nothing(media, tmp_path):
    out = tmp_path / "x.mp4"
    result = run("render", write_plan(media), "-o", out, "--print-ffmpeg")
    assert result.exit_code == 0 and "-filter_complex" in result.stdout
    lines = result.stdout.splitlines()
    # one encode generation: the picture encoded once, then copied into the output
    assert sum("libx264" in line for line in lines) == 1
    writing = [line for line in lines if line.endswith(str(out))]
    assert len(writing) == 1 and "-c copy" in writing[0] and "libx264" not in writing[0]
    assert not out.exists()


@pytest.mark.parametrize("change, needle", [
    ({"shots": [{"source": "missing.mp4", "in_s": 0, "out_s": 1}]}, "shots[0].source: missing.mp4"),
    ({"shots": [{"source": "red.mp4", "in_s": 0, "out_s": 9}]}, "shots[0].out_s: 9.0 s is beyond the end"),
    ({"shots": [{"source": "red.mp4", "in_s": 0, "out_s": 2, "line": ""}]}, "shots[0].line: empty script line"),
    ({"shots": [{"source": "red.mp4", "in_s": 0, "out_s": 2, "transition": "swirl"}]}, "shots[0].transition: unknown transition"),
    ({"music": {"source": "music.wav", "start_s": 31}}, "music.start_s: 31.0 s is beyond the end"),
    ({"shots": [{"source": "red.mp4", "in_s": 0, "out_s": 2, "line": "Tap ✈ now"}]}, "cannot draw"),
])
def test_bad_plans_get_one_line_naming_the_field(media, tmp_path, change, needle):
    out = tmp_path / "ad.mp4"
    result = run("render", write_plan(media, **change), "-o", out)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.hostile("traceback")
def test_read_only_output_folder_is_refused_before_any_work(media, tmp_path, monkeypatch):
    from tests import faults

    ro = tmp_path / "ro"
    ro.mkdir()
    from adcut.render import pipeline

    def compiled(*args, **kwargs):  # the plan (voice synthesis included) must not be touched
        raise AssertionError("the plan was compiled before the output folder was checked")

    monkeypatch.setattr(pipeline, "to_timeline", compiled)
    with faults.readonly(ro):
        result = run("render", write_plan(media), "-o", ro / "ad.mp4")
    assert result.exit_code == 2 and "not writable" in result.stderr, result.output
    assert result.stderr.count("\n") == 1
    assert list(ro.iterdir()) == []


def test_a_hand_edited_timeline_renders_too(rendered, tmp_path):
    out, result = rendered
    timeline = json.loads(Path(json.loads(result.stdout)["companions"]["timeline"]).read_text())
    timeline["clips"][1]["reframe"] = {"mode": "fit-blur", "center_x": 0.5, "center_y": 0.5}
    path = tmp_path / "edited.timeline.json"
    path.write_text(json.dumps(timeline))
    result = run("render", path, "-o", tmp_path / "edited.mp4", "--preview")
    assert result.exit_code == 0, result.output
    assert probe_media(tmp_path / "edited.mp4").video.width == 360
