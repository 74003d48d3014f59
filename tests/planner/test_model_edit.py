"""`adcut edit --planner "model DIR"`: the trained model is shown the library as its own
RQ-VAE tokens (adcut.planner.edit.library_tokens), on a small real library (lavfi footage
with captions, two tones as music, the real encoders) and a tiny random model folder whose
RQ-VAEs are for that library's encoders (tests/planner/tiny_adcut_model.py)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests import synth
from tests.in_process import run
from tests.planner.tiny_adcut_model import build_tiny_adcut_model

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("faiss")

FOOTAGE = {"bars.mp4": ("smptehdbars=size=320x180:rate=25", "colour bars of a test card"),
           "pattern.mp4": ("testsrc2=size=320x180:rate=25", "a moving test pattern"),
           "fractal.mp4": ("mandelbrot=size=320x180:rate=25", "a fractal zooming in"),
           "cells.mp4": ("cellauto=size=320x180:rate=25:rule=110:seed=5", "cells growing")}
BRIEF = ("product: Spark test card\nbrand: Spark\nselling_points:\n  - sharp colours\n"
         "description: a card for checking screens\nduration_s: 10\ntone: energetic\n")


def sql(lib: Path, query: str, *args) -> list:
    with sqlite3.connect(lib / "catalog.sqlite") as con:
        return con.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, Path]:
    """(library, brief): 4 files of 3 s cut into 1.5 s clips, captioned; two music tracks."""
    root = tmp_path_factory.mktemp("model-edit")
    footage = root / "footage"
    footage.mkdir()
    for name, (source, _) in FOOTAGE.items():
        synth.ffmpeg("-f", "lavfi", "-i", source, "-t", "3", *synth.X264, str(footage / name))
    (footage / "captions.jsonl").write_text("".join(
        json.dumps({"file": name, "text": caption}) + "\n" for name, (_, caption) in FOOTAGE.items()))
    music = root / "music"
    music.mkdir()
    synth.tone(music / "high.wav", freq_hz=660, duration_s=20, amplitude=0.2)
    synth.tone(music / "low.wav", freq_hz=110, duration_s=20, amplitude=0.2)
    lib = root / "lib"
    result = run("ingest", footage, "--library", lib, "--asr", "none", "--ocr", "none", "--max-shot", "1.5")
    assert result.exit_code == 0, result.output
    assert run("ingest", music, "--music", "--library", lib).exit_code == 0
    brief = root / "brief.yaml"
    brief.write_text(BRIEF)
    return lib, brief


def library_encoders(lib: Path) -> dict[str, tuple[str, str, int]]:
    (video,) = set(sql(lib, "SELECT encoder, encoder_version, dim FROM embeddings WHERE kind = 'frames'"))
    (audio,) = set(sql(lib, "SELECT encoder, encoder_version, dim FROM embeddings WHERE kind = 'windows'"))
    return {"video": video, "audio": audio}


@pytest.fixture(scope="module")
def model_dir(library, tmp_path_factory) -> Path:
    lib, _ = library
    return build_tiny_adcut_model(tmp_path_factory.mktemp("model") / "sft", encoders=library_encoders(lib))


@pytest.fixture
def spy(monkeypatch):
    """What the model planner was asked: every prompt it generated for, and the candidates
    of every music task. Its script lines end after 6 tokens (a random model rarely ends
    one; 48 tokens a line would make this test slow, and lines are not what it checks)."""
    import adcut.planner.model
    from adcut.planner.model import ModelPlanner

    class ShortLines(ModelPlanner):
        def __init__(self, path, **kwargs):
            super().__init__(path, max_line_tokens=6, **kwargs)

    monkeypatch.setattr(adcut.planner.model, "ModelPlanner", ShortLines)  # as the registry loads it
    seen: dict[str, list] = {"prompts": [], "music": []}
    generate, music = ModelPlanner.generate, ModelPlanner.music

    def spy_generate(self, prompt, constraint, budget):
        seen["prompts"].append(prompt)
        return generate(self, prompt, constraint, budget)

    def spy_music(self, task, hints=None):
        seen["music"].append(list(task.audio_candidates))
        return music(self, task, hints)

    monkeypatch.setattr(ModelPlanner, "generate", spy_generate)
    monkeypatch.setattr(ModelPlanner, "music", spy_music)
    return seen


def expected_clip_tokens(lib: Path, model_dir: Path) -> dict[str, str]:
    """clip id -> its token text, computed here from the stored frame embeddings."""
    from adcut.library.store import load_embeddings
    from adcut.tokens.tokenizer import Tokenizer
    from adcut.tokens.vocab import clip_string

    tok = Tokenizer.load(model_dir / "rqvae" / "video")
    out = {}
    for source_id, rel, rows, dim in sql(lib, "SELECT source_id, path, rows, dim FROM embeddings "
                                              "WHERE kind = 'frames'"):
        codes = tok.encode(load_embeddings(lib, rel, rows, dim)).astype(np.int64)
        by_clip: dict[str, list[int]] = {}
        for row, clip_id in sql(lib, "SELECT row, clip_id FROM frames WHERE source_id = ? ORDER BY t_s",
                                source_id):
            by_clip.setdefault(clip_id, []).append(row)
        out.update({clip_id: clip_string(codes[r]) for clip_id, r in by_clip.items()})
    return out


def edit(lib: Path, brief: Path, model_dir: Path, plan: Path):
    return run("edit", "--library", lib, "--brief", brief, "--planner", f"model {model_dir}",
               "--plan-only", plan, "--voice", "none")


def test_the_model_sees_clips_as_its_video_tokens_and_music_as_its_audio_tokens(
        library, model_dir, spy, tmp_path):
    from adcut.core.plan import EditPlan

    lib, brief = library
    plan_path = tmp_path / "plan.json"
    result = edit(lib, brief, model_dir, plan_path)
    assert result.exit_code == 0, result.output
    plan = EditPlan.model_validate_json(plan_path.read_text())
    assert plan.planner == "model:sft" and len(plan.shots) >= 3 and plan.music is not None
    clip_ids = {c for (c,) in sql(lib, "SELECT id FROM clips")}
    assert {s.clip_id for s in plan.shots} <= clip_ids

    # Every clip of the pool is in the selection prompt as the tokens of its frames.
    expected = expected_clip_tokens(lib, model_dir)
    assert len(expected) == len(clip_ids) >= 6
    select = [p for p in spy["prompts"] if "<v_" in p and all(t in p for t in expected.values())]
    assert select, "no prompt showed every clip as its video tokens"
    assert not any(caption in p for p in spy["prompts"] for _, caption in FOOTAGE.values())
    # The music task's candidates are the library's tracks as 8 audio tokens each, and the
    # generated track was matched to one of them by the audio RQ-VAE (FAISS).
    (candidates,) = spy["music"]
    assert len(candidates) == 2
    for cand in candidates:
        assert re.fullmatch(r"<\|audio_start\|>(<a_\d_\d+>){8}<\|audio_end\|>", cand.tokens)
        assert [int(lv) for lv in re.findall(r"<a_(\d)_", cand.tokens)] == list(range(8))
    assert "FAISS over 2 tracks" in result.output



def test_codes_stored_for_the_models_tokenizer_are_used(library, model_dir, tmp_path):
    """`adcut tokenizer encode` with the model's own video RQ-VAE: its stored codes are read
    (not encoded again), and they are the codes the edit path encodes on the fly."""
    from adcut.planner.edit import library_tokens, load_library
    from adcut.tokens.library import tokenizer_id
    from adcut.tokens.tokenizer import Tokenizer

    lib, _ = library
    stored = tmp_path / "lib"
    shutil.copytree(lib, stored)
    rqvae = model_dir / "rqvae" / "video"
    assert run("tokenizer", "encode", "--library", stored, "--tokenizer", rqvae).exit_code == 0

    # what the edit path reads of a planner: its tokenizers and the ids of their stored codes
    planner = SimpleNamespace(name="tokens", video_tokenizer=Tokenizer.load(rqvae), audio_tokenizer=None,
                              tokenizer_ids={"video": tokenizer_id(rqvae)})
    clips, tracks = load_library(stored)
    shown, same_tracks = library_tokens(stored, clips, tracks, planner)
    assert same_tracks is tracks  # no audio tokenizer: the music is left as it is
    assert {c.id: c.tokens for c in shown} == expected_clip_tokens(lib, model_dir)
    # Proof that the stored codes are what is read: zero them, and the tokens follow.
    with sqlite3.connect(stored / "catalog.sqlite") as con:
        con.execute("UPDATE tokens SET codes = zeroblob(length(codes))")
    zeroed, _ = library_tokens(stored, clips, tracks, planner)
    assert all(set(re.findall(r"<v_\d_(\d+)>", c.tokens)) == {"0"} for c in zeroed)


def test_a_model_of_another_encoder_is_refused_in_one_line(library, model_dir, tmp_path):
    lib, brief = library
    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    config_path = other / "rqvae" / "video" / "config.json"
    config = json.loads(config_path.read_text())
    config["encoder"] = "clip:openai/clip-vit-base-patch32"  # same dimension, another encoder
    config_path.write_text(json.dumps(config))
    plan = tmp_path / "plan.json"
    result = edit(lib, brief, other, plan)
    assert result.exit_code == 2, result.output
    assert "video tokenizer was trained on clip:openai/clip-vit-base-patch32" in result.output
    assert "efficientnet-lite0" in result.output and "Traceback" not in result.output
    assert not plan.exists()


def test_other_planners_get_the_library_unchanged(library):
    from adcut.planner.edit import clip_refs, library_tokens, load_library
    from adcut.planner.zero_shot import ZeroShotPlanner

    lib, _ = library
    clips, tracks = load_library(lib)
    got_clips, got_tracks = library_tokens(lib, clips, tracks, ZeroShotPlanner())
    assert got_clips is clips and got_tracks is tracks
    assert all(r.tokens is None and r.caption for r in clip_refs(clips))
