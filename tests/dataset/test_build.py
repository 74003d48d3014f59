"""`adcut dataset build` on synthesised ads whose truth is known (real ffmpeg, Whisper, YAMNet,
EfficientNet, tiny tokenizers trained here), and `adcut dataset info`."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from adcut.tasks import parse_answer, parse_prompt_en
from adcut.tokens.vocab import parse_ad
from tests.in_process import run
from tests.synth import color_shots

CODES = 8  # tiny tokenizers: 2 levels x 8 codes


@pytest.fixture(scope="module")
def ads(corpus, tmp_path_factory):
    """The two synthesised ads, an ad without speech and a file that is not a video."""
    folder = tmp_path_factory.mktemp("ads")
    for f in (corpus[0] / "ads").iterdir():
        os.symlink(f, folder / f.name)
    color_shots(folder / "silent.mp4", ["red", "blue"], [1.5, 1.5], size=(160, 120))
    (folder / "silent.json").write_text('{"product": "Tone", "brand": "Sine", "selling_points": ["pure"]}')
    (folder / "broken.mp4").write_bytes(b"this is not a video")
    return folder


def build_args(ads, tokenizers, out, *extra):
    return ["dataset", "build", ads, "-o", out, "--tokenizer", tokenizers[0], "--tokenizer",
            tokenizers[1], "--eval-fraction", "0", "--json", *extra]


@pytest.fixture(scope="module")
def analysed(ads, tmp_path_factory):
    """A build with no tokenizer given: every ad is analysed and stored, then the corpus is
    found too small to train the default 8 x 256 tokenizers on (exit 2)."""
    out = tmp_path_factory.mktemp("analysed") / "data"
    result = run("dataset", "build", ads, "-o", out, "--eval-fraction", "0")
    return out, result


@pytest.fixture(scope="module")
def tokenizers(analysed, tmp_path_factory):
    """Tiny tokenizers (2 levels x 8 codes): the video one trained on the corpus's own stored
    frames, the audio one on random vectors of YAMNet's dimension."""
    from adcut.encoders.registry import load_audio_encoder, load_vision_encoder
    from adcut.tokens.config import preset
    from adcut.tokens.train import train_tokenizer

    frames, groups = [], []
    for path in sorted((analysed[0] / "ads").glob("*.npz")):
        with np.load(path) as z:
            frames.append(z["frames"])
            groups += [path.stem] * len(z["frames"])
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(40, 1024)).astype(np.float32)
    out = tmp_path_factory.mktemp("toks")
    for modality, enc, x, g in (("video", load_vision_encoder(), np.concatenate(frames), groups),
                                ("audio", load_audio_encoder(), audio, [str(i % 5) for i in range(40)])):
        config = preset(f"adcut-{modality}", input_dim=enc.dim, encoder=enc.name,
                        encoder_version=enc.version, levels=2, codebook_size=CODES,
                        encoder_hidden=[32], codebook_dim=16, epochs=2, batch_size=8,
                        heldout_fraction=0.2)
        train_tokenizer(x, g, config, out / modality, compare_baseline=False)
    return [out / "video", out / "audio"]


@pytest.fixture(scope="module")
def built(analysed, ads, tokenizers, tmp_path_factory):
    """The same folder built again with the tokenizers: the stored analyses are reused."""
    result = run(*build_args(ads, tokenizers, analysed[0]))
    return analysed[0], result


def test_a_corpus_too_small_for_a_tokenizer_says_so_and_keeps_its_analyses(analysed, built):
    _, first = analysed
    assert first.exit_code == 2
    assert "cannot train a video tokenizer on the corpus's" in first.stderr
    assert "pass --tokenizer" in first.stderr
    assert first.stderr.strip().splitlines()[-1].startswith("error: cannot train")
    assert json.loads(built[1].stdout)["ads"]["used"] == 3


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_good_ads_are_built_and_the_broken_file_is_named(built):
    out, result = built
    assert result.exit_code == 1, result.output  # one file skipped
    report = json.loads(result.stdout)
    assert report["ads"]["used"] == 3 and report["ads"]["with_speech"] == 2
    assert report["ads"]["with_music"] == 1  # ad-0002 has none; the silent ad has a sine tone
    (path, why), = report["skipped"].items()
    assert path.endswith("broken.mp4") and "not a media file" in why
    assert "skipped broken" in result.stderr
    assert report["left_out"]["silent"]["vid2text"].startswith("0 clips with text")
    assert report["left_out"]["ad-0002"]["vid2aud"] == "no music"
    assert report["tasks"]["train"] == {"vid_select": 2, "vid_sort": 2, "vid2text": 2, "vid2aud": 1}
    # the given tokenizers are kept with the data: training and the model planner decode with them
    from adcut.tokens.library import tokenizer_id

    manifest = json.loads((out / "build.json").read_text())
    for modality in ("video", "audio"):
        assert tokenizer_id(out / "tokenizers" / modality) == manifest["tokenizers"][modality]


def test_sentences_fall_on_the_true_line_boundaries(built, corpus):
    """Every true line starts within 0.25 s of a sentence start and ends within 0.25 s of a
    sentence end (Whisper may still split a line where it hears a full stop)."""
    out, _ = built
    for name in ("ad-0001", "ad-0002"):
        truth = json.loads((corpus[0] / "ads" / f"{name}.truth.json").read_text())
        ad = json.loads((out / "ads" / f"{name}.json").read_text())
        starts = np.array([s for s, _, _ in ad["sentences"]])
        ends = np.array([e for _, e, _ in ad["sentences"]])
        for line in truth["lines"]:
            assert np.abs(starts - line["start_s"]).min() <= 0.25, (line, ad["sentences"])
            assert np.abs(ends - line["end_s"]).min() <= 0.25, (line, ad["sentences"])


def test_alignment_strings_and_sft_samples_are_right(built):
    out, _ = built
    ads = {a: json.loads((out / "ads" / f"{a}.json").read_text()) for a in ("ad-0001", "ad-0002", "silent")}
    texts = [r["text"] for r in lines_of(out / "align" / "train.jsonl")]
    assert len(texts) == 3 and lines_of(out / "align" / "eval.jsonl") == []
    for text in texts:
        parsed = parse_ad(text, video_levels=2, audio_levels=2, codebook_size=CODES)
        assert parsed.clips
    clips = lines_of(out / "clips.jsonl")
    assert len(clips) == sum(len(a["clips"]) for a in ads.values())
    for row in clips:
        if row["frame_seconds"]:
            assert row["v_tok"].count("<|frame_start|>") == len(row["frame_seconds"])
            assert (out / row["thumbnail"]).is_file()
    for row in lines_of(out / "sft" / "train.jsonl"):
        prompt, answer = (turn["value"] for turn in row["conversations"])
        task_name, task, _ = parse_prompt_en(prompt)
        assert task_name == row["task"]
        parsed = parse_answer(task, answer)
        assert parsed.ok, (row["task"], answer)
        if row["task"] == "vid2text":
            spoken = [c["text"] for c in ads[row["ad_key"]["key"]]["clips"] if c["text"] and c["frame_seconds"]]
            assert answer.split("\n") == spoken


def test_info_prints_the_report(built):
    out, _ = built
    result = run("dataset", "info", out)
    assert result.exit_code == 0
    assert result.stdout.startswith("3 ads used") and "skipped" in result.stdout
    assert json.loads(run("dataset", "info", out, "--json").stdout)["ads"]["used"] == 3


def _same_files(a: Path, b: Path) -> list[str]:
    differ = []
    for root, _, files in os.walk(a):
        for name in files:
            left = Path(root) / name
            right = b / left.relative_to(a)
            if not right.is_file() or not filecmp.cmp(left, right, shallow=False):
                differ.append(str(left.relative_to(a)))
    extra = [str(p.relative_to(b)) for p in b.rglob("*") if p.is_file() and not (a / p.relative_to(b)).exists()]
    return differ + extra


def test_a_killed_build_resumes_to_the_same_bytes(built, ads, tokenizers, tmp_path):
    """Killed (SIGKILL) once its first ad is stored, then run again: every file equals the
    uninterrupted build's, so a rebuild is also byte-identical."""
    out = tmp_path / "data"
    args = [str(a) for a in build_args(ads, tokenizers, out)]
    proc = subprocess.Popen([sys.executable, "-m", "adcut", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((out / "ads").glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    stored_before = len(list((out / "ads").glob("*.json")))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= stored_before < 3
    assert not (out / "report.json").exists()
    result = run(*build_args(ads, tokenizers, out))
    assert result.exit_code == 1
    assert _same_files(built[0], out) == []


def test_ray_local_analyses_an_ad_to_the_same_files(built, ads, tokenizers, tmp_path):
    """The per-ad work through a local Ray (both stages as actors) stores what the local
    build stored; assembly is the same code either way."""
    pytest.importorskip("ray.data")
    out = tmp_path / "data"
    result = run(*build_args(ads / "ad-0001.mp4", tokenizers, out, "--ray", "local"))
    assert result.exit_code == 0, result.output
    for rel in ("ads/ad-0001.json", "ads/ad-0001.npz"):
        assert (out / rel).read_bytes() == (built[0] / rel).read_bytes(), rel
    assert _same_files(built[0] / "thumbs" / "ad-0001", out / "thumbs" / "ad-0001") == []


def test_a_folder_built_otherwise_is_refused_and_kept(built, ads, tokenizers, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(built[0], out)
    manifest = json.loads((out / "build.json").read_text())
    manifest["analysis"]["adcut"] = "0.0.1"
    (out / "build.json").write_text(json.dumps(manifest))
    before = sorted(p.name for p in (out / "ads").iterdir())
    result = run(*build_args(ads, tokenizers, out))
    assert result.exit_code == 2 and "was built by adcut 0.0.1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (out / "ads").iterdir()) == before

    # The folder keeps the tokenizers it was built with: building again without --tokenizer
    # reuses them (the broken file is skipped again: exit 1) ...
    shutil.rmtree(out)
    shutil.copytree(built[0], out)
    result = run("dataset", "build", ads, "-o", out, "--eval-fraction", "0")
    assert result.exit_code == 1, result.output
    # ... while the token strings of another tokenizer would differ: refused.
    manifest = json.loads((out / "build.json").read_text())
    manifest["tokenizers"]["video"] = "0" * 16
    (out / "build.json").write_text(json.dumps(manifest))
    result = run(*build_args(ads, tokenizers, out))
    assert result.exit_code == 2 and "other tokenizers" in result.stderr


@pytest.mark.parametrize("setup, needle", [
    ("empty", "holds no ad videos"),
    ("columns", "lacks the column(s) brand, selling_points"),
])
def test_bad_input_is_one_line_and_exit_2(setup, needle, tmp_path, ads):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    args = ["dataset", "build", corpus, "-o", tmp_path / "data"]
    if setup == "columns":
        (tmp_path / "products.csv").write_text("file,product\nad-0001.mp4,Tea\n")
        args = ["dataset", "build", ads, "-o", tmp_path / "data", "--products", tmp_path / "products.csv"]
    result = run(*args)
    assert result.exit_code == 2 and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()
