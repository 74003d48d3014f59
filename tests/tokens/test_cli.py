"""`adcut tokenizer train|encode|eval|show` on a real library (generated footage, the real
vision encoder), with tiny tokenizers (2 levels x 8 codes) so training takes seconds."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from adcut.tokens import vocab
from tests import synth
from tests.in_process import run

# lavfi pictures that differ from each other and move, a source per file
SOURCES = {"bars.mp4": "smptehdbars=size=320x180:rate=25",
           "pattern.mp4": "testsrc2=size=320x180:rate=25",
           "fractal.mp4": "mandelbrot=size=320x180:rate=25",
           "life.mp4": "life=size=320x180:rate=25:mold=10:ratio=0.5:seed=3",
           "cells.mp4": "cellauto=size=320x180:rate=25:rule=110:seed=5",
           "noise.mp4": "color=c=teal:size=320x180:rate=25,noise=alls=60:allf=t"}
TINY = ["--levels", "2", "--codebook-size", "8", "--epochs", "4", "--batch-size", "8"]


def lavfi_video(path: Path, source: str, seconds: float) -> None:
    synth.ffmpeg("-f", "lavfi", "-i", source, "-t", str(seconds), "-pix_fmt", "yuv420p",
                 "-c:v", "libx264", "-preset", "ultrafast", str(path))


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("footage")
    for name, source in SOURCES.items():
        lavfi_video(folder / name, source, 6)
    return folder


@pytest.fixture(scope="module")
def built(footage, tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("tok") / "lib"
    result = run("ingest", footage, "--library", lib, "--asr", "none", "--ocr", "none",
                 "--text", "none", "--max-shot", "2")
    assert result.exit_code == 0, result.output
    return lib


@pytest.fixture
def library(built, tmp_path) -> Path:
    copy = tmp_path / "lib"
    shutil.copytree(built, copy)
    return copy


@pytest.fixture(scope="module")
def trained(built, tmp_path_factory) -> Path:
    tok = tmp_path_factory.mktemp("tokenizer") / "tok"
    result = run("tokenizer", "train", "--library", built, "--modality", "video", "-o", tok,
                 *TINY, "--json")
    assert result.exit_code == 0, result.output
    return tok


def sql(lib: Path, query: str, *args) -> list:
    with sqlite3.connect(lib / "catalog.sqlite") as con:
        return con.execute(query, args).fetchall()


def test_train_writes_a_tokenizer_that_names_its_encoder(trained, built):
    config = json.loads((trained / "config.json").read_text())
    encoder, version = sql(built, "SELECT encoder, encoder_version FROM embeddings "
                                  "WHERE kind = 'frames' LIMIT 1")[0]
    assert (config["encoder"], config["encoder_version"]) == (encoder, version)
    assert (trained / "model.safetensors").stat().st_size > 0
    report = json.loads((trained / "report.json").read_text())
    # held out: whole source files, never a part of one
    held = set(report["heldout_sources"])
    assert held and held < {s for (s,) in sql(built, "SELECT id FROM sources")}


def test_train_refuses_to_replace_a_tokenizer_without_force(trained, built):
    before = {p.name: p.read_bytes() for p in trained.iterdir()}
    result = run("tokenizer", "train", "--library", built, "--modality", "video", "-o", trained,
                 *TINY)
    assert result.exit_code == 2 and "--force" in result.output
    assert {p.name: p.read_bytes() for p in trained.iterdir()} == before


def test_encode_stores_every_frame_once_and_is_incremental(library, trained, footage,
                                                           tmp_path):
    result = run("tokenizer", "encode", "--library", library, "--tokenizer", trained, "--json")
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    frames = sql(library, "SELECT COUNT(*) FROM frames")[0][0]
    assert first["encoded_rows"] == frames and first["encoded_sources"] == len(SOURCES)
    assert sql(library, "SELECT SUM(rows) FROM tokens")[0][0] == frames
    again = json.loads(run("tokenizer", "encode", "--library", library, "--tokenizer",
                           trained, "--json").stdout)
    assert again["encoded_sources"] == 0 and again["unchanged_sources"] == len(SOURCES)
    # one new file: only it is encoded
    more = tmp_path / "more"
    more.mkdir()
    lavfi_video(more / "rgb.mp4", "rgbtestsrc=size=320x180:rate=25", 3)
    assert run("ingest", more, "--library", library, "--asr", "none", "--ocr", "none",
               "--text", "none").exit_code == 0
    third = json.loads(run("tokenizer", "encode", "--library", library, "--tokenizer",
                           trained, "--json").stdout)
    assert third["encoded_sources"] == 1 and third["unchanged_sources"] == len(SOURCES)


def test_eval_reports_reconstruction_codebooks_and_round_trip(library, trained):
    run("tokenizer", "encode", "--library", library, "--tokenizer", trained)
    result = run("tokenizer", "eval", "--library", library, "--tokenizer", trained, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "held-out" in report["measured_on"]
    assert -1.0 <= report["reconstruction_cos"] <= 1.0
    assert len(report["level_use"]) == 2 and all(0 < u <= 1 for u in report["level_use"])
    assert all(1 <= p <= 8 for p in report["level_perplexity"])
    clips = sql(library, "SELECT COUNT(*) FROM clips")[0][0]
    trip = report["round_trip"]
    assert trip["items"] == clips and 0 <= trip["first"] <= clips
    assert 0 < trip["distinct_items"] <= clips  # lavfi pictures of six kinds: not all twins
    assert 0 <= trip["accuracy_among_decoded_distinct"] <= 1
    # also told apart: the clips of the sources the tokenizer held out in training
    held = json.loads((trained / "report.json").read_text())["heldout_sources"]
    assert trip["heldout_items"] == sum(
        sql(library, "SELECT COUNT(*) FROM clips WHERE source_id = ?", s)[0][0] for s in held) > 0
    assert 0 <= trip["accuracy_heldout"] <= 1 and 0 <= trip["accuracy_among_decoded_heldout"] <= 1
    # among the library's decoded tokens a clip is found first unless another clip's frames
    # carry the very same codes (their decodings are then equal: a tie, a miss)
    keys = {}
    for source, blob in sql(library, "SELECT source_id, codes FROM tokens"):
        codes = np.frombuffer(blob, np.uint8).reshape(-1, 2)
        for clip_id, rows in _clip_rows(library, source).items():
            keys[clip_id] = tuple(sorted(map(tuple, codes[rows].tolist())))
    counts = {}
    for key in keys.values():
        counts[key] = counts.get(key, 0) + 1
    assert trip["first_among_decoded"] == sum(counts[k] == 1 for k in keys.values())
    text = run("tokenizer", "eval", "--library", library, "--tokenizer", trained).stdout
    assert "round-trip retrieval" in text and "reconstruction cosine" in text


def _clip_rows(library: Path, source: str) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for clip_id, row in sql(library, "SELECT clip_id, row FROM frames WHERE source_id = ? "
                                     "ORDER BY row", source):
        rows.setdefault(clip_id, []).append(row)
    return rows


def test_show_gives_the_clips_token_string_and_the_inverse(library, trained):
    run("tokenizer", "encode", "--library", library, "--tokenizer", trained)
    clip_id = sql(library, "SELECT id FROM clips ORDER BY id LIMIT 1")[0][0]
    result = run("tokenizer", "show", clip_id, "--library", library, "--tokenizer", trained,
                 "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    codes = vocab.parse_clip(shown["tokens"], levels=2, codebook_size=8).codes
    rows = sql(library, "SELECT row FROM frames WHERE clip_id = ? ORDER BY t_s", clip_id)
    source = sql(library, "SELECT source_id FROM clips WHERE id = ?", clip_id)[0][0]
    blob, = sql(library, "SELECT codes FROM tokens WHERE source_id = ?", source)[0]
    stored = np.frombuffer(blob, np.uint8).reshape(-1, 2)
    assert codes.tolist() == stored[[r for (r,) in rows]].tolist()
    assert len(shown["nearest"]) == 5
    inverse = json.loads(run("tokenizer", "show", "--tokens", shown["tokens"], "--library",
                             library, "--tokenizer", trained, "--json").stdout)
    assert inverse["nearest"] == shown["nearest"]
    # among the library's decoded tokens the clip's own tokens find the clip itself, at cos 1
    assert inverse["nearest_by_tokens"][0] == [clip_id, 1.0]


@pytest.mark.parametrize("args, needle", [
    (["--modality", "smell"], "modality"),
    (["--modality", "video", "--codebook-size", "4096"], "at least"),
])
def test_bad_training_input_gets_one_line(built, tmp_path, args, needle):
    out = tmp_path / "tok"
    result = run("tokenizer", "train", "--library", built, "-o", out, *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_tokenizer_of_another_encoder_or_damaged_is_refused(library, trained, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(trained, other)
    config_path = other / "config.json"
    data = json.loads(config_path.read_text())
    data["encoder"] = "clip:openai/clip-vit-base-patch32"
    config_path.write_text(json.dumps(data))
    before = sql(library, "SELECT COUNT(*) FROM tokens")
    result = run("tokenizer", "encode", "--library", library, "--tokenizer", other)
    assert result.exit_code == 2 and "clip:openai" in result.output, result.output
    assert sql(library, "SELECT COUNT(*) FROM tokens") == before
    damaged = tmp_path / "damaged"
    shutil.copytree(trained, damaged)
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    result = run("tokenizer", "eval", "--library", library, "--tokenizer", damaged)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_library_without_the_tokenizers_modality_is_refused_before_anything_is_written(
        trained, tmp_path):
    from adcut.core.errors import BadInputError
    from adcut.library.catalog import Catalog
    from adcut.tokens.library import encode_library
    from adcut.tokens.tokenizer import Tokenizer

    with Catalog(tmp_path / "music-only") as catalog:  # no footage: nothing a video tokenizer reads
        with pytest.raises(BadInputError, match="holds no footage frames"):
            encode_library(catalog, Tokenizer.load(trained), trained)
        assert catalog.con.execute("SELECT COUNT(*) FROM tokenizers").fetchone()[0] == 0


def test_a_schema_v2_library_migrates_and_stays_readable(library):
    with sqlite3.connect(library / "catalog.sqlite") as con:
        con.execute("DROP TABLE tokens")
        con.execute("DROP TABLE tokenizers")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    clips = sql(library, "SELECT id, start_s, end_s FROM clips ORDER BY id")
    assert run("library", "info", library).exit_code == 0  # read-only: not migrated, readable
    assert sql(library, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    from adcut.library.catalog import Catalog

    with Catalog(library) as catalog:  # a writer migrates
        assert catalog.get_meta("schema_version") == "3"
    assert sql(library, "SELECT id, start_s, end_s FROM clips ORDER BY id") == clips
    assert sql(library, "SELECT COUNT(*) FROM tokens") == [(0,)]


def test_a_small_library_gets_enough_training_steps_and_a_large_one_the_presets():
    from adcut.tokens.library import MIN_STEPS, training_budget

    batch, epochs = training_budget(1130, 0.1, 2048, 256, 30)
    assert batch >= 256 and (1017 // batch) * epochs >= MIN_STEPS  # not 30 steps in all
    assert training_budget(1_000_000, 0.1, 2048, 256, 30) == (2048, 30)
    batch, epochs = training_budget(20_000, 0.1, 2048, 256, 30)
    assert batch == 2048 and (18_000 // batch) * epochs >= MIN_STEPS


@pytest.mark.hostile("signal")
def test_ctrl_c_then_resume_gives_the_uninterrupted_weights(built, tmp_path):
    """A real `adcut tokenizer train` process stopped by Ctrl-C after its first checkpoint
    exits 130 pointing to --resume; resuming finishes with the very weights of a run that was
    never stopped."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from safetensors.numpy import load_file

    args = ["tokenizer", "train", "--library", str(built), "--modality", "video", "--levels",
            "2", "--codebook-size", "8", "--epochs", "16", "--batch-size", "8"]
    adcut = [sys.executable, "-m", "adcut"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    import torch

    # the stopped process trains on as many threads as this one, which runs the other two
    threads = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    proc = subprocess.Popen([*adcut, *args, "-o", str(stopped)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=threads)
    deadline = time.monotonic() + 120
    while (not (stopped / "checkpoint.pt").exists() and proc.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.02)
    assert proc.poll() is None, "training ended before it could be stopped"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, out[-500:], err[-1500:])
    assert "--resume" in err.strip().splitlines()[-1] and "Traceback" not in err, err[-1500:]
    assert not (stopped / "model.safetensors").exists()
    # the resumed and the uninterrupted run in this process (no second start-up)
    resumed = run(*args, "-o", stopped, "--resume")
    assert resumed.exit_code == 0, resumed.output[-1000:]
    assert run(*args, "-o", whole).exit_code == 0
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(stopped / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert not (stopped / "checkpoint.pt").exists()


def test_encode_stores_an_index_of_the_decoded_tokens_that_eval_and_show_use(library, trained,
                                                                           tmp_path):
    import faiss

    from adcut.library.catalog import Catalog
    from adcut.tokens.index import (
        build_token_index,
        load_token_index,
        token_index_paths,
    )
    from adcut.tokens.library import tokenizer_id
    from adcut.tokens.tokenizer import Tokenizer

    tok, tok_id = Tokenizer.load(trained), tokenizer_id(trained)
    index_path, info_path = token_index_paths(library, tok_id)
    first = json.loads(run("tokenizer", "encode", "--library", library, "--tokenizer", trained,
                           "--json").stdout)
    clips = sql(library, "SELECT COUNT(*) FROM clips")[0][0]
    assert first["decoded_index"] == {"path": f"tokens/{tok_id}.faiss", "items": clips,
                                      "rebuilt": True}
    assert index_path.is_file() and info_path.is_file()
    with Catalog(library, readonly=True) as catalog:
        stored = load_token_index(catalog, tok, tok_id)
        fresh = build_token_index(catalog, tok, tok_id)
    assert stored is not None and stored.ntotal == clips
    # the very vectors and ids the library decodes to now
    assert np.array_equal(faiss.vector_to_array(stored.id_map), faiss.vector_to_array(fresh.id_map))
    assert np.array_equal(stored.index.reconstruct_n(0, clips), fresh.index.reconstruct_n(0, clips))
    again = json.loads(run("tokenizer", "encode", "--library", library, "--tokenizer", trained,
                           "--json").stdout)
    assert again["decoded_index"]["rebuilt"] is False
    with_index = json.loads(run("tokenizer", "eval", "--library", library, "--tokenizer",
                                trained, "--json").stdout)["round_trip"]
    clip_id = sql(library, "SELECT id FROM clips ORDER BY id LIMIT 1")[0][0]
    shown = json.loads(run("tokenizer", "show", clip_id, "--library", library, "--tokenizer",
                           trained, "--json").stdout)
    # a damaged index is stale: eval and show decode the library instead, with the same result
    index_path.write_bytes(index_path.read_bytes()[:100])
    with Catalog(library, readonly=True) as catalog:
        assert load_token_index(catalog, tok, tok_id) is None
    result = run("tokenizer", "eval", "--library", library, "--tokenizer", trained, "--json")
    assert result.exit_code == 0, result.output
    without_index = json.loads(result.stdout)["round_trip"]
    assert with_index.pop("decoded_tokens_from") == "the library's stored index"
    assert without_index.pop("decoded_tokens_from").startswith("the library decoded now")
    assert without_index == with_index
    assert json.loads(run("tokenizer", "show", clip_id, "--library", library, "--tokenizer",
                          trained, "--json").stdout) == shown
    assert json.loads(run("tokenizer", "encode", "--library", library, "--tokenizer", trained,
                          "--json").stdout)["decoded_index"]["rebuilt"] is True
    # a source whose codes are gone (as a re-ingested file loses them) makes the index stale:
    # eval searches the items that still have tokens, and the next encode rebuilds it
    source = sql(library, "SELECT source_id FROM clips WHERE id = ?", clip_id)[0][0]
    gone = sql(library, "SELECT COUNT(*) FROM clips WHERE source_id = ?", source)[0][0]
    with sqlite3.connect(library / "catalog.sqlite") as con:
        con.execute("DELETE FROM tokens WHERE source_id = ?", (source,))
    with Catalog(library, readonly=True) as catalog:
        assert load_token_index(catalog, tok, tok_id) is None
    trip = json.loads(run("tokenizer", "eval", "--library", library, "--tokenizer", trained,
                          "--json").stdout)["round_trip"]
    assert trip["items"] == clips - gone
    # new footage: the index covers what has tokens; the next encode adds its clips
    more = tmp_path / "more"
    more.mkdir()
    lavfi_video(more / "rgb.mp4", "rgbtestsrc=size=320x180:rate=25", 3)
    assert run("ingest", more, "--library", library, "--asr", "none", "--ocr", "none",
               "--text", "none").exit_code == 0
    third = json.loads(run("tokenizer", "encode", "--library", library, "--tokenizer", trained,
                           "--json").stdout)
    assert third["decoded_index"]["rebuilt"] is True
    assert third["decoded_index"]["items"] == sql(library, "SELECT COUNT(*) FROM clips")[0][0]
    with Catalog(library, readonly=True) as catalog:
        assert load_token_index(catalog, tok, tok_id).ntotal == third["decoded_index"]["items"]
    # the library's own check does not take the index for a leftover
    check = run("library", "check", library, "--json")
    assert check.exit_code == 0 and "tokens/" not in check.stdout, check.stdout
