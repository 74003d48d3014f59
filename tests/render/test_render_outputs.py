"""`adcut render` writes the MP4 and its companions all or nothing, never over a user's file,
never two at once on one output, and leaves no ffmpeg and no temporary file behind when it is
stopped, even by `kill -9` (then the next run cleans up). Real renders, real signals, real
full and read-only disks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from adcut.media.probe import probe_media
from tests import faults, synth
from tests.in_process import run
from tests.render.procs import alive, children, wait_for

FPS = 25
REPO = Path(__file__).parents[2]
RENDER_SET = ["ad.manifest.json", "ad.mp4", "ad.otio", "ad.qc.json", "ad.timeline.json"]


def said(stderr: str) -> list[str]:
    """What a command said on stderr, less its progress bar."""
    return [ln for ln in stderr.splitlines() if not ln.startswith("render ")]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("footage")
    synth.color_shots(d / "red.mp4", ["red", "blue"], [2.0, 2.0], size=(320, 180), fps=FPS)
    # moving grain: costs the encoder real work and does not compress away
    synth.color_shots(d / "grain.mp4", ["gray"], [4.0], size=(320, 180), fps=FPS, texture=True,
                      audio="none")
    synth.tone(d / "music.wav", freq_hz=220, duration_s=30, amplitude=0.3)
    return d


def write_timeline(path: Path, footage: Path, *, clips: int = 3, clip_f: int = 25,
                   size: tuple[int, int] = (180, 320), source: str = "red.mp4") -> Path:
    """A Timeline document (renders without compiling: no voice synthesis)."""
    w, h = size
    items = [{"source": str(footage / source), "source_width": 320, "source_height": 180,
              "source_in_s": (k % 3) * 0.5, "start_f": k * clip_f, "duration_f": clip_f,
              "reframe": {"mode": "crop"}} for k in range(clips)]
    total = clips * clip_f
    path.write_text(json.dumps({
        "kind": "adcut.Timeline", "fps": FPS, "width": w, "height": h, "duration_f": total,
        "clips": items, "music": {"path": str(footage / "music.wav"), "source_start_s": 0.0,
                                  "duration_f": total, "gain_db": -6}}))
    return path


def write_plan(folder: Path) -> Path:
    """A plan with spoken lines (so its render has captions and an .srt), sources relative."""
    path = folder / "plan.json"
    path.write_text(json.dumps({
        "aspect": "9:16", "fps": FPS, "planner": "manual",
        "shots": [{"source": "red.mp4", "in_s": 0, "out_s": 3, "line": "Meet the Spark shoe."}],
        "music": {"source": "music.wav", "start_s": 0.0}}))
    return path


# -------------------------------------------------------------------- refusals before any work


@pytest.mark.hostile("overwrite")
@pytest.mark.parametrize("companion", ["ad.srt", "ad.qc.json", "ad.manifest.json", "ad.otio",
                                       "ad.timeline.json"])
def test_an_existing_companion_is_never_replaced_without_force(footage, tmp_path, companion):
    (tmp_path / companion).write_text("the user's own file")
    result = run("render", write_plan(footage), "-o", tmp_path / "ad.mp4")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert f"{tmp_path / companion} already exists" in result.stderr and "--force" in result.stderr
    assert names(tmp_path) == [companion]
    assert (tmp_path / companion).read_text() == "the user's own file"


@pytest.mark.hostile("overwrite")
def test_force_never_renders_over_the_plans_own_footage(footage, tmp_path):
    before = (footage / "red.mp4").read_bytes()
    result = run("render", write_plan(footage), "-o", footage / "red.mp4", "--force")
    assert result.exit_code == 2 and "own inputs" in result.stderr, result.output
    assert result.stderr.count("\n") == 1
    assert (footage / "red.mp4").read_bytes() == before
    assert not list(footage.glob(".*")) and not (footage / "red.srt").exists()


@pytest.mark.hostile("message")
def test_a_folder_given_as_the_document_gets_one_line(tmp_path):
    result = run("render", tmp_path, "-o", tmp_path / "ad.mp4")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert f"{tmp_path} is a folder" in result.stderr and "plan or timeline" in result.stderr
    assert names(tmp_path) == []


@pytest.mark.hostile("traceback")
def test_a_read_only_output_folder_gets_one_line_and_nothing_is_written(footage, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    doc = write_timeline(tmp_path / "tl.json", footage)
    with faults.readonly(ro):
        result = run("render", doc, "-o", ro / "ad.mp4")
    assert result.exit_code == 2 and "not writable" in result.stderr, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert names(ro) == []


# ------------------------------------------------------------------------------ full disks


@pytest.mark.hostile("message")
@pytest.mark.parametrize("when", ["already full", "fills up during the encode"])
def test_a_full_disk_is_said_in_one_line_and_leaves_nothing(footage, tmp_path, when):
    disk = tmp_path / "disk"
    doc = write_timeline(tmp_path / "tl.json", footage, clips=4, source="grain.mp4")
    with faults.small_disk(disk, 64):
        if when == "already full":
            faults.fill(disk)
        result = run("render", doc, "-o", disk / "ad.mp4")
        left = names(disk)
    assert result.exit_code == 2, result.output
    assert said(result.stderr) == [f"error: no space left on the device while writing "
                                   f"{disk / 'ad.mp4'} (free space or choose another -o)"]
    assert left == ([".filler"] if when == "already full" else [])


@pytest.mark.hostile("message")
def test_a_disk_that_fills_as_the_mix_is_measured_names_the_output(footage, tmp_path,
                                                                   monkeypatch):
    """The loudness pass writes the mix it measures into the render's temporary folder: a full
    disk there is said as writing the MP4 the user asked for, not a file they never named."""
    import threading

    import adcut.render.run as run_module

    disk = tmp_path / "disk"
    doc = write_timeline(tmp_path / "tl.json", footage)
    real = run_module.run_ffmpeg
    picture_done = threading.Event()

    def fill_then_measure(args, **kwargs):
        if "pcm_f32le" in args:  # the pass that writes the mix, after the picture filled the disk
            assert picture_done.wait(60)
            faults.fill(disk)
        try:
            return real(args, **kwargs)
        finally:
            if "libx264" in args:
                picture_done.set()

    with faults.small_disk(disk, 2048):
        monkeypatch.setattr(run_module, "run_ffmpeg", fill_then_measure)
        result = run("render", doc, "-o", disk / "ad.mp4")
        left = names(disk)
    assert result.exit_code == 2, result.output
    assert said(result.stderr) == [f"error: no space left on the device while writing "
                                   f"{disk / 'ad.mp4'} (free space or choose another -o)"]
    assert left == [".filler"]


@pytest.mark.hostile("half-written")
def test_companions_that_do_not_fit_leave_no_mp4_and_the_next_run_needs_no_force(
        footage, tmp_path, monkeypatch):
    """The MP4 fits, then the disk fills up: its companions do not fit. All or nothing: no
    MP4 either, so running the same command again (after freeing space) just works."""
    import adcut.render.run as run_module

    disk = tmp_path / "disk"
    doc = write_timeline(tmp_path / "tl.json", footage)
    real = run_module.run_ffmpeg

    def encode_then_fill(args, **kwargs):
        stderr = real(args, **kwargs)
        if "libx264" in args:  # the MP4 is complete: now the disk is full
            faults.fill(disk)
        return stderr

    with faults.small_disk(disk, 2048):
        monkeypatch.setattr(run_module, "run_ffmpeg", encode_then_fill)
        result = run("render", doc, "-o", disk / "ad.mp4")
        assert result.exit_code == 2, result.output
        [line] = said(result.stderr)
        assert line.startswith(f"error: no space left on the device while writing {disk}/ad.")
        assert names(disk) == [".filler"]  # no MP4, no companion, no temporary file
        (disk / ".filler").unlink()
        monkeypatch.setattr(run_module, "run_ffmpeg", real)
        again = run("render", doc, "-o", disk / "ad.mp4")
        assert again.exit_code == 0, again.output
        assert names(disk) == RENDER_SET


# ------------------------------------------------------------------------------- plain bugs


@pytest.mark.hostile("bug")
def test_a_long_ad_renders_to_a_relative_output_from_another_folder(footage, tmp_path,
                                                                    monkeypatch):
    """More than 10 clips render in passes joined through an ffconcat list, whose names
    ffmpeg reads relative to the list, not to the working folder."""
    doc = write_timeline(tmp_path / "long.json", footage, clips=11, clip_f=10)
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    monkeypatch.chdir(work)
    result = run("render", doc, "-o", "out/ad.mp4", "--preview")
    assert result.exit_code == 0, result.output
    assert probe_media(work / "out" / "ad.mp4").duration_s == pytest.approx(110 / FPS, abs=0.1)
    assert names(work / "out") == RENDER_SET


@pytest.mark.hostile("bug")
def test_the_preview_summary_names_the_size_rendered(footage, tmp_path):
    doc = write_timeline(tmp_path / "tl.json", footage, size=(360, 640))
    result = run("render", doc, "-o", tmp_path / "ad.mp4", "--preview")
    assert result.exit_code == 0, result.output
    assert "120x212 @ 25 fps (preview)" in result.stdout
    info = probe_media(tmp_path / "ad.mp4").video
    assert (info.width, info.height) == (120, 212)


@pytest.mark.hostile("overwrite")
def test_rendering_its_own_timeline_again_leaves_that_timeline_as_it_is(footage, tmp_path):
    """The documented loop: render, edit OUT.timeline.json by hand, render it again onto
    OUT.mp4 with --force. The edited timeline is the input: it is read, never rewritten."""
    out = tmp_path / "ad.mp4"
    assert run("render", write_timeline(tmp_path / "tl.json", footage), "-o", out).exit_code == 0
    own = tmp_path / "ad.timeline.json"
    edited = json.loads(own.read_text())
    edited["clips"][1]["reframe"] = {"mode": "fit-blur", "center_x": 0.5, "center_y": 0.5}
    own.write_text(json.dumps(edited, indent=1) + "\n  \n")  # the user's own layout
    text, mtime = own.read_text(), own.stat().st_mtime_ns
    result = run("render", own, "-o", out, "--force", "--preview", "--json")
    assert result.exit_code == 0, result.output
    assert own.read_text() == text and own.stat().st_mtime_ns == mtime
    assert json.loads(result.stdout)["companions"]["timeline"] == str(own)
    assert probe_media(out).video.width == 60  # the new render is in place
    assert names(tmp_path) == [*RENDER_SET, "tl.json"]


# ----------------------------------------------------------------- concurrency and signals


def start_render(doc: Path, out: Path, tmp_path: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, ADCUT_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.Popen([sys.executable, "-m", "adcut", "render", str(doc), "-o", str(out),
                             *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def encoding(proc: subprocess.Popen) -> list[int]:
    """The ffmpeg encode children of `proc` (waits up to 60 s for one to start)."""
    found = wait_for(lambda: children(proc.pid, having="-progress") or proc.poll() is not None,
                     60)
    assert found and proc.poll() is None, proc.communicate()
    return found


@pytest.fixture
def long_ad(footage, tmp_path) -> Path:
    """12 clips (picture passes of 6, the sound, the join): several seconds of encoding."""
    docs = tmp_path / "docs"
    docs.mkdir()
    return write_timeline(docs / "long.json", footage, clips=12, clip_f=25, size=(360, 640),
                          source="grain.mp4")


@pytest.mark.hostile("overwrite")
def test_a_second_render_to_the_same_output_is_refused_while_the_first_runs(long_ad, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    first = start_render(long_ad, out_dir / "ad.mp4", tmp_path)
    try:
        encoding(first)
        for extra in ([], ["--force"]):
            second = run("render", long_ad, "-o", out_dir / "ad.mp4", "--preview", *extra)
            assert second.exit_code == 2, second.output
            assert "being written by another adcut command" in second.stderr
            assert second.stderr.count("\n") == 1
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 130 and names(out_dir) == []


@pytest.mark.hostile("signal")
def test_kill_9_takes_ffmpeg_along_and_the_next_run_cleans_up(long_ad, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = start_render(long_ad, out_dir / "ad.mp4", tmp_path)
    ffmpeg: list[int] = []
    try:
        ffmpeg = encoding(proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        gone = wait_for(lambda: not any(alive(pid) for pid in ffmpeg), 2.0)
        assert gone, "ffmpeg outlived the killed adcut by more than 2 s"
    finally:
        for pid in ffmpeg:  # an orphan left by a failure of this test
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    left = names(out_dir)
    assert "ad.mp4" not in left and any(".adcut-part" in n for n in left), left
    again = run("render", long_ad, "-o", out_dir / "ad.mp4", "--preview")  # no --force needed
    assert again.exit_code == 0, again.output
    assert names(out_dir) == RENDER_SET  # nothing hidden left: no temp, no parts, no lock


@pytest.mark.hostile("signal")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_render_cleanly(long_ad, tmp_path, signum):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = start_render(long_ad, out_dir / "ad.mp4", tmp_path)
    ffmpeg = encoding(proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted")
    assert "Traceback" not in stderr
    assert names(out_dir) == []  # no output, no temporary file, no parts folder, no lock
    assert not any(alive(pid) for pid in ffmpeg)
