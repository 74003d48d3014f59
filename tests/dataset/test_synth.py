"""`adcut dataset synth`: finished ads made by adcut's own planner and renderer, with the truth
they were made from (real ffmpeg, real TTS, real planner, sample media from packages)."""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from adcut.dataset import synth
from adcut.media.probe import probe_media
from tests.dataset.conftest import SEED
from tests.in_process import run

# Every synth run here reuses the session's ingested sample library.
pytestmark = pytest.mark.usefixtures("cache")


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_ad_plays_and_its_truth_is_consistent(corpus):
    out, report = corpus
    assert report["made"] == ["ad-0001", "ad-0002"] and report["skipped"] == []
    manifest = read(out / "corpus.json")
    assert manifest["seed"] == SEED and manifest["count"] == 2 and manifest["complete"]
    assert [a["name"] for a in manifest["ads"]] == ["ad-0001", "ad-0002"]
    for entry in manifest["ads"]:
        truth = read(out / "ads" / f"{entry['name']}.truth.json")
        sidecar = read(out / "ads" / f"{entry['name']}.json")
        assert set(sidecar) == {"product", "brand", "selling_points", "language"}
        assert entry["product"] == sidecar["product"] and sidecar["selling_points"]
        info = probe_media(out / "ads" / f"{entry['name']}.mp4")
        assert info.video is not None and min(info.video.width, info.video.height) == 180
        assert abs(info.duration_s - truth["duration_s"]) < 0.1
        assert not synth.TRUTH_CHECKS.intersection(truth["qc_failed"])
        lines = truth["lines"]
        assert len(lines) >= 2
        for a, b in itertools.pairwise(lines):
            assert a["end_s"] <= b["start_s"], (a, b)  # in order, never overlapping
        for line in lines:
            assert 0 <= line["start_s"] < line["end_s"] <= truth["duration_s"] and line["text"]
        shots = truth["shots"]
        assert shots[0]["start_s"] == 0 and all(
            a["end_s"] == b["start_s"] for a, b in itertools.pairwise(shots))
        assert shots[-1]["end_s"] <= truth["duration_s"]  # the end card follows the last shot
        assert all(s["source_out_s"] > s["source_in_s"] for s in shots)
        music = truth["music"]
        if entry["name"] == "ad-0002":  # the ad without music
            assert music is None and entry["track"] is None
            continue
        assert (out / "music" / music["file"]).is_file() and music["file"] == entry["track"]
        assert music["start_s"] == 0 and music["end_s"] == truth["duration_s"]
        assert music["track_start_s"] == music["pieces"][0][0]
    tracks = sorted(p.name for p in (out / "music").iterdir())
    assert tracks == sorted(Path(rel).name for rel in synth.MUSIC)


def test_the_voice_is_heard_inside_the_truth_lines(corpus):
    """Whisper tiny.en on the first ad: every word it hears lies inside a truth line, and every
    truth line has words heard in it."""
    from adcut.media.audio import decode_audio
    from adcut.voice.asr import load_transcriber

    out, _ = corpus
    truth = read(out / "ads" / "ad-0001.truth.json")
    audio = decode_audio(out / "ads" / "ad-0001.mp4", sample_rate=16000)
    words, _ = load_transcriber().transcribe(audio.samples)
    assert len(words) >= 4
    slack_s = 0.3  # Whisper's word times are loose by about this much
    lines = [(line["start_s"] - slack_s, line["end_s"] + slack_s) for line in truth["lines"]]
    outside = [w for w in words
               if not any(a <= (w.start_s + w.end_s) / 2 <= b for a, b in lines)]
    assert not outside, (outside, truth["lines"])
    heard = [sum(a <= (w.start_s + w.end_s) / 2 <= b for w in words) for a, b in lines]
    assert all(heard), (heard, words)


def test_a_resumed_corpus_remakes_only_what_is_missing_byte_for_byte(corpus, tmp_path):
    """Same seed, same ads: a copy that lost one ad's video gets exactly the same ad back (truth
    and MP4: the renderer is deterministic), and the finished ad is left as it was."""
    out, _ = corpus
    copy = tmp_path / "corpus"
    shutil.copytree(out, copy)
    (copy / "ads" / "ad-0002.mp4").unlink()
    kept = (copy / "ads" / "ad-0001.mp4").stat().st_mtime_ns
    result = run("dataset", "synth", "-o", copy, "--ads", 2, "--small", "--seed", SEED, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["made"] == ["ad-0002"] and report["skipped"] == ["ad-0001"]
    assert (copy / "ads" / "ad-0001.mp4").stat().st_mtime_ns == kept
    for name in ("ad-0002.truth.json", "ad-0002.json", "ad-0002.mp4"):
        assert (copy / "ads" / name).read_bytes() == (out / "ads" / name).read_bytes(), name
    assert (copy / "corpus.json").read_bytes() == (out / "corpus.json").read_bytes()


@pytest.mark.parametrize("setup, args, needle", [
    ("user-file", [], "is not empty and is not a corpus"),
    ("other-seed", ["--seed", "1"], "holds a corpus made with other settings"),
    ("a-file", ["--seed", SEED], "is a file"),
])
def test_a_folder_that_is_not_this_corpus_is_refused_with_one_line(
        corpus, tmp_path, setup, args, needle):
    out, _ = corpus
    target = tmp_path / "out"
    if setup == "user-file":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif setup == "other-seed":
        shutil.copytree(out, target)
    else:
        target.write_text("mine")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = run("dataset", "synth", "-o", target, "--ads", 2, "--small", *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and needle in result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_ads_must_be_asked_for(tmp_path):
    result = run("dataset", "synth", "-o", tmp_path / "out", "--ads", 0)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# -- the pure parts -----------------------------------------------------------------------------

TRACKS = [Path(rel).name for rel in synth.MUSIC]


def test_ad_specs_depend_only_on_seed_and_index():
    specs = synth.build_ad_specs(3, 25, TRACKS, synth.FULL)
    assert specs == synth.build_ad_specs(3, 25, TRACKS, synth.FULL)
    assert specs[17:20] == synth.build_ad_specs(3, 3, TRACKS, synth.FULL, start=17)
    assert specs != synth.build_ad_specs(4, 25, TRACKS, synth.FULL)
    assert [s.name for s in specs[:2]] == ["ad-0001", "ad-0002"]
    assert [s.index for s in specs if s.track is None] == [6, 16]  # (index + seed) % 10 == 9
    assert [s.name for s in synth.build_ad_specs(0, 20, TRACKS, synth.FULL)
            if s.track is None] == ["ad-0010", "ad-0020"]
    assert len({s.product.product for s in specs[:len(synth.PRODUCTS)]}) == len(synth.PRODUCTS)
    assert len({s.track for s in specs}) > 4 and len({s.aspect for s in specs}) > 2
    assert all(10 <= s.duration_s <= 24 for s in specs)
    assert all(6 <= s.duration_s <= 8 for s in synth.build_ad_specs(0, 10, TRACKS, synth.SMALL))


def test_every_product_brief_is_a_valid_brief():
    for k, product in enumerate(synth.PRODUCTS):
        spec = replace(synth.build_ad_specs(0, 1, TRACKS, synth.FULL)[0], product=product,
                       selling_points=product.selling_points,
                       call_to_action=product.calls_to_action[0])
        brief = synth.build_brief(spec)
        assert brief.language == "en" and brief.selling_points and brief.url


def test_each_ad_is_planned_over_few_clips_of_every_source():
    from adcut.planner.edit import LibraryClip

    clips = [LibraryClip(id=f"{src}-{i}", source=f"/lib/{src}", start_s=i, end_s=i + 1,
                         text="", has_speech=False, vision=None)
             for src in ("a.mp4", "b.mp4", "c.png") for i in range(4 if src != "c.png" else 1)]
    for spec in synth.build_ad_specs(0, 12, TRACKS, synth.FULL):
        pool = synth.pick_clips(clips, spec)
        per_source = {s: sum(Path(c.source).name == s for c in pool) for s in ("a.mp4", "b.mp4")}
        assert set(per_source.values()) == {spec.clips_per_source}
        assert any(c.source.endswith("c.png") for c in pool)
        assert pool == synth.pick_clips(list(reversed(clips)), spec)  # library order is moot
