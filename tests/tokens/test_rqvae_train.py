"""Training a tokenizer: the split by source, progress, files, resuming bit for bit, refusals that
leave out_dir as it was, and the comparison with the PCA + residual k-means baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from adcut.core.errors import BadInputError
from adcut.tokens.baseline import ResidualKMeans
from adcut.tokens.tokenizer import CONFIG_NAME, WEIGHTS_NAME, Tokenizer
from adcut.tokens.train import (
    CHECKPOINT_NAME,
    REPORT_NAME,
    cosine_lr,
    heldout_metrics,
    split_heldout,
    steps_per_epoch,
    train_tokenizer,
)
from tests.tokens.test_rqvae import initialised_model, mixture, tiny_config


def curve(n: int = 3000, harmonics: int = 8, sources: int = 30, noise: float = 0.02,
          seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Points of a closed curve, (cos m.t, sin m.t) for m = 1..harmonics: one degree of freedom
    bent through 2 x harmonics dimensions. A decoder can follow it; sums of centroids in a linear
    subspace cannot, so the RQ-VAE should beat the baseline here by far."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)[:, None] * np.arange(1, harmonics + 1)
    x = np.concatenate([np.cos(t), np.sin(t)], axis=1) + noise * rng.normal(size=(n, 2 * harmonics))
    return x.astype(np.float32), [f"ad{i % sources:02d}.mp4" for i in range(n)]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a folder with its bytes and modification time (to prove nothing changed)."""
    if not folder.exists():
        return {}
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


class Stop(Exception):
    pass


def stop_after(epoch: int):
    def on_progress(entry: dict) -> None:
        if entry["epoch"] == epoch:
            raise Stop
    return on_progress


@pytest.fixture(scope="module")
def mixture_run(tmp_path_factory):
    x, groups = mixture()
    out = tmp_path_factory.mktemp("train") / "tok"
    seen: list[dict] = []
    rng_before = torch.get_rng_state()
    report = train_tokenizer(x, groups, tiny_config(), out, on_progress=seen.append)
    rng_spared = torch.equal(torch.get_rng_state(), rng_before)
    return x, groups, out, report, seen, rng_spared


# -- the loop -------------------------------------------------------------------------------------

def test_training_beats_initialisation_on_heldout_vectors(mixture_run):
    x, groups, _out, report, seen, _ = mixture_run
    split = split_heldout(groups, 0.1, 0)
    init = initialised_model(tiny_config(), x[split.train_index])  # same seed: the run's starting point
    init_cos = heldout_metrics(Tokenizer(init), x[split.heldout_index])["heldout_cos"]
    assert report.heldout_cos > 0.8  # measured 0.874 (baseline 0.910 on this mixture)
    assert report.heldout_cos > init_cos + 0.3
    assert seen[-1]["heldout_cos"] > seen[0]["heldout_cos"]
    assert seen[-1]["loss"] < seen[0]["loss"]


def test_progress_report_and_files(mixture_run):
    x, _groups, out, report, seen, rng_spared = mixture_run
    assert [e["epoch"] for e in seen] == list(range(1, 7)) and all(e["epochs"] == 6 for e in seen)
    for e in seen:
        assert {"loss", "heldout_cos", "level_use", "level_perplexity", "distinct_share", "lr", "seconds"} <= set(e)
        assert len(e["level_use"]) == 2 and all(0 < u <= 1 for u in e["level_use"])
        assert all(1 <= p <= 8 for p in e["level_perplexity"])
    assert seen[-1]["lr"] == pytest.approx(1e-4)  # the cosine schedule ends at min_lr
    assert sorted(p.name for p in out.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME, REPORT_NAME]
    saved = json.loads((out / REPORT_NAME).read_text())
    assert saved["heldout_cos"] == report.heldout_cos and saved["split"] == "by-source"
    assert saved["history"] == seen
    assert report.steps == 6 * report.steps_per_epoch and report.batch_rows == 64
    assert report.train_vectors + report.heldout_vectors == len(x)
    assert report.resumed_from_epoch == 0 and report.seconds_total > 0 and len(report.seconds_per_epoch) == 6
    tok = Tokenizer.load(out)
    assert heldout_metrics(tok, x[:0 + 1])["vectors"] == 1
    assert rng_spared  # training put the caller's torch RNG state back


def test_schedule_and_batches():
    assert cosine_lr(0, 100, 1e-3, 2e-5) == 1e-3
    assert cosine_lr(50, 100, 1e-3, 2e-5) == pytest.approx((1e-3 + 2e-5) / 2)
    assert cosine_lr(100, 100, 1e-3, 2e-5) == pytest.approx(2e-5)
    assert steps_per_epoch(1000, 64) == (15, 64)  # the last partial batch is dropped...
    assert steps_per_epoch(64, 64) == (1, 64)
    assert steps_per_epoch(50, 64) == (1, 50)  # ...unless it is the only one


def test_heldout_metrics_counts_codes():
    class Fixed:
        levels, codebook_size = 2, 4

        def encode(self, v):
            return np.array([[0, 1], [0, 2], [0, 1], [1, 3]], dtype=np.uint8)

        def decode(self, c):
            return np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])

    m = heldout_metrics(Fixed(), np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]))
    assert m["heldout_cos"] == pytest.approx((1 + 0 + 2 ** -0.5 - 1) / 4)
    assert m["level_use"] == [0.5, 0.75]
    assert m["level_perplexity"][0] == pytest.approx(np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))))
    assert m["distinct_share"] == 0.75
    with pytest.raises(BadInputError, match="no vectors to measure"):
        heldout_metrics(Fixed(), np.zeros((0, 2)))


# -- the split ------------------------------------------------------------------------------------

def test_split_holds_out_whole_sources():
    groups = [f"s{i % 25}" for i in range(2500)]
    split = split_heldout(groups, 0.1, seed=0)
    names = np.asarray(groups)
    held, kept = set(names[split.heldout_index]), set(names[split.train_index])
    assert held and kept and not held & kept  # no source on both sides
    assert held == set(split.heldout_sources) and split.train_sources == len(kept)
    assert 0.06 <= len(split.heldout_index) / 2500 <= 0.14
    assert sorted(np.concatenate([split.train_index, split.heldout_index]).tolist()) == list(range(2500))
    again = split_heldout(groups, 0.1, seed=0)
    assert np.array_equal(again.heldout_index, split.heldout_index)  # deterministic
    assert any(set(split_heldout(groups, 0.1, seed=s).heldout_sources) != held for s in range(1, 4))


def test_split_of_uneven_and_single_sources(tmp_path):
    groups = ["big"] * 900 + ["a"] * 50 + ["b"] * 50
    for seed in range(5):  # never the big one: it would hold out 90%
        split = split_heldout(groups, 0.1, seed=seed)
        assert "big" not in split.heldout_sources and split.train_sources >= 1
    split = split_heldout(["only.mp4"] * 1000, 0.1, seed=0)
    assert split.mode == "single-source-blocks" and "2 of its 20 contiguous blocks" in split.note
    assert len(split.heldout_index) == 100
    assert np.sum(np.diff(split.heldout_index) != 1) <= 1  # two blocks of 50 rows (maybe adjacent)
    x, _ = mixture(n=600)
    report = train_tokenizer(x, ["only.mp4"] * 600, tiny_config(epochs=1), tmp_path / "tok", compare_baseline=False)
    assert report.split == "single-source-blocks" and "optimistic" in report.split_note


# -- resuming -------------------------------------------------------------------------------------

def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    x, groups = mixture(n=1200, k=8)
    # a high dead-code threshold re-seeds codes from torch's RNG at most steps, so a resume that
    # did not restore the RNG state (or the optimizer, scheduler, BatchNorm, EMA buffers) would differ
    config = tiny_config(epochs=4, threshold_ema_dead_code=7)
    whole = tmp_path / "whole"
    train_tokenizer(x, groups, config, whole, compare_baseline=False)
    part = tmp_path / "part"
    with pytest.raises(Stop):
        train_tokenizer(x, groups, config, part, on_progress=stop_after(2), compare_baseline=False)
    assert sorted(p.name for p in part.iterdir()) == [CHECKPOINT_NAME]  # not yet a tokenizer
    with pytest.raises(BadInputError, match="holds no config.json"):
        Tokenizer.load(part)
    report = train_tokenizer(x, groups, config, part, resume=True, compare_baseline=False)
    assert report.resumed_from_epoch == 2 and len(report.history) == 4
    a = safetensors.torch.load_file(whole / WEIGHTS_NAME)
    b = safetensors.torch.load_file(part / WEIGHTS_NAME)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((whole / REPORT_NAME).read_text())["history"][3]["heldout_cos"] == report.heldout_cos
    assert not (part / CHECKPOINT_NAME).exists()
    with pytest.raises(BadInputError, match="nothing to resume: the training in .* has finished"):
        train_tokenizer(x, groups, config, part, resume=True, compare_baseline=False)


# -- refusals -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    """A run stopped after its first epoch: out_dir holds only checkpoint.pt."""
    x, groups = mixture(n=600, k=8)
    out = tmp_path_factory.mktemp("unfinished") / "tok"
    with pytest.raises(Stop):
        train_tokenizer(x, groups, tiny_config(epochs=3), out, on_progress=stop_after(1), compare_baseline=False)
    return x, groups, out


def _case(kind: str, unfinished, finished: Path, tmp_path: Path):
    """(vectors, groups, config, out_dir, keyword arguments) of one refused call."""
    x, groups, out = unfinished
    config = tiny_config(epochs=3)
    if kind == "too few vectors":
        return x[:5], groups[:5], config, tmp_path / "new", {}
    if kind == "too few after the split":
        return x[:10], ["a"] * 7 + ["b"] * 3, config, tmp_path / "new", {}
    if kind == "wrong dimension":
        return x[:, :12], groups, config, tmp_path / "new", {}
    if kind == "NaN rows":
        bad = x.copy()
        bad[[4, 9, 11]] = np.nan
        return bad, groups, config, out, {"resume": True}
    if kind == "groups of another length":
        return x, groups[:-1], config, tmp_path / "new", {}
    if kind == "batch below codebook size":
        return x, groups, tiny_config(epochs=3, batch_size=4), tmp_path / "new", {}
    if kind == "finished tokenizer":
        return x, groups, config, finished, {}
    if kind == "unfinished run":
        return x, groups, config, out, {}
    if kind == "resume with other settings":
        return x, groups, tiny_config(epochs=5, lr=2e-3), out, {"resume": True}
    if kind == "resume with other vectors":
        return x * 2, groups, config, out, {"resume": True}
    if kind == "resume with nothing":
        return x, groups, config, tmp_path / "new", {"resume": True}
    if kind == "truncated checkpoint":
        broken = tmp_path / "broken"
        broken.mkdir()
        raw = (out / CHECKPOINT_NAME).read_bytes()
        (broken / CHECKPOINT_NAME).write_bytes(raw[: len(raw) * 2 // 3])
        return x, groups, config, broken, {"resume": True}
    if kind == "out_dir is a file":
        (tmp_path / "file").write_text("x")
        return x, groups, config, tmp_path / "file", {}
    raise AssertionError(kind)


@pytest.mark.hostile("overwrite")
@pytest.mark.parametrize("kind, words", [
    ("too few vectors", "5 vectors; training 8 codes per level needs at least 8 (better 80)"),
    ("too few after the split", "training vectors are left after holding out"),
    ("wrong dimension", "vectors have 12 dimensions; the config (test-encoder 1.0) takes 16"),
    ("NaN rows", "3 of 600 vectors hold NaN or inf (first: row 4)"),
    ("groups of another length", "599 source names for 600 vectors"),
    ("batch below codebook size", "batch_size 4 is below codebook_size 8"),
    ("finished tokenizer", "already holds a trained tokenizer"),
    ("unfinished run", "holds an unfinished training (checkpoint.pt)"),
    ("resume with other settings", "was trained with epochs=3, lr=0.003; the given settings say epochs=5, lr=0.002"),
    ("resume with other vectors", "the vectors (or their sources) differ"),
    ("resume with nothing", "nothing to resume"),
    ("truncated checkpoint", "is truncated or damaged"),
    ("out_dir is a file", "is a file; training writes a folder"),
])
def test_refusals_leave_out_dir_as_it_was(kind, words, unfinished, mixture_run, tmp_path):
    x, groups, config, out_dir, kwargs = _case(kind, unfinished, mixture_run[2], tmp_path)
    before = snapshot(out_dir) if out_dir.is_dir() else None
    with pytest.raises(BadInputError) as err:
        train_tokenizer(x, groups, config, out_dir, compare_baseline=False, **kwargs)
    assert words in str(err.value), str(err.value)
    assert "\n" not in str(err.value) and err.value.hint  # one line, and what to do about it
    if kind in ("finished tokenizer", "unfinished run"):
        assert "--force" in err.value.hint
    if before is not None:
        assert snapshot(out_dir) == before
    else:
        assert not out_dir.exists() or out_dir.is_file()


def test_force_replaces_a_finished_tokenizer(tmp_path):
    x, groups = mixture(n=600, k=8)
    out = tmp_path / "tok"
    first = train_tokenizer(x, groups, tiny_config(epochs=1), out, compare_baseline=False)
    second = train_tokenizer(x, groups, tiny_config(epochs=1, seed=3), out, force=True, compare_baseline=False)
    assert first.config["seed"] == 0 and second.config["seed"] == 3
    assert Tokenizer.load(out).config.seed == 3 and json.loads((out / REPORT_NAME).read_text())["config"]["seed"] == 3


# -- against the baseline -------------------------------------------------------------------------

def test_rqvae_beats_the_baseline_where_it_should(tmp_path):
    x, groups = curve()
    config = tiny_config(epochs=10)
    report = train_tokenizer(x, groups, config, tmp_path / "tok")
    assert report.heldout_cos > report.baseline_heldout_cos + 0.1  # measured ~0.81 vs ~0.60
    split = split_heldout(groups, config.heldout_fraction, config.seed)
    baseline = ResidualKMeans(dim=8, levels=2, codebook_size=8).fit(x[split.train_index], seed=0)
    assert heldout_metrics(baseline, x[split.heldout_index])["heldout_cos"] == report.baseline_heldout_cos


def test_both_beat_chance_on_the_mixture(mixture_run):
    x, groups, _out, report, _seen, _ = mixture_run
    # chance: each held-out vector "reconstructed" as a random training vector
    split = split_heldout(groups, 0.1, 0)
    rng = np.random.default_rng(0)
    held, train = x[split.heldout_index], x[split.train_index]
    guess = train[rng.integers(0, len(train), len(held))]
    chance = float(np.mean(np.einsum("nd,nd->n", held, guess)
                           / (np.linalg.norm(held, axis=1) * np.linalg.norm(guess, axis=1))))
    assert report.heldout_cos > chance + 0.5
    assert report.baseline_heldout_cos > chance + 0.5
