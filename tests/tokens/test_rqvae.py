"""The RQ-VAE network, its config, and the Tokenizer (encode/decode, save/load) on tiny models.

Tiny: 16-d vectors, one hidden layer of 32, an 8-d latent, 2 levels x 8 codes, trained for a
few epochs on a Gaussian mixture; the whole file runs in a few seconds on two cores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

import adcut.tokens.tokenizer as tokenizer_module
from adcut.core.errors import BadInputError
from adcut.tokens.config import PRESETS, TokenizerConfig, config_from_data, preset
from adcut.tokens.rqvae import RQVAE, reconstruction_loss
from adcut.tokens.tokenizer import CONFIG_NAME, WEIGHTS_NAME, Tokenizer
from adcut.tokens.train import train_tokenizer


def mixture(n: int = 2000, d: int = 16, k: int = 16, sources: int = 20, noise: float = 0.15,
            seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """n vectors from k Gaussian clusters (fixed seed); rows are dealt to `sources` files in turn."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    x = centres[rng.integers(0, k, n)] + noise * rng.normal(size=(n, d))
    return x.astype(np.float32), [f"clip{i % sources:02d}.mp4" for i in range(n)]


def tiny_config(**overrides) -> TokenizerConfig:
    fields = dict(modality="video", encoder="test-encoder", encoder_version="1.0", input_dim=16,
                  encoder_hidden=[32], codebook_dim=8, levels=2, codebook_size=8, batch_size=64,
                  epochs=6, lr=3e-3, min_lr=1e-4)
    return TokenizerConfig(**{**fields, **overrides})


def initialised_model(config: TokenizerConfig, x: np.ndarray, seed: int = 0) -> RQVAE:
    """A model at initialisation, its codebooks k-means-initialised on x (no training)."""
    torch.manual_seed(seed)
    model = RQVAE(config)
    model.init_codebooks(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    return model


@pytest.fixture(scope="module")
def data():
    return mixture()


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory) -> Path:
    """The folder of a tokenizer trained on the mixture."""
    x, groups = data
    out = tmp_path_factory.mktemp("tok") / "video"
    train_tokenizer(x, groups, tiny_config(), out, compare_baseline=False)
    return out


@pytest.fixture()
def tok(trained) -> Tokenizer:
    return Tokenizer.load(trained)


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- config -----------------------------------------------------------------------------------------

def test_presets_are_the_papers_and_adcuts():
    v = preset("paper-video", encoder_version="paper")
    assert (v.input_dim, v.encoder_hidden, v.codebook_dim, v.levels, v.codebook_size, v.epochs) == \
        (128, [512, 512], 128, 8, 256, 20)
    a = preset("paper-audio", encoder_version="paper")
    assert (a.modality, a.input_dim, a.encoder_hidden, a.codebook_dim, a.epochs) == \
        ("audio", 2048, [1024, 512], 256, 50)
    av = preset("adcut-video", encoder_version="x")
    assert (av.encoder, av.input_dim, av.codebook_dim, av.levels, av.codebook_size) == \
        ("efficientnet-lite0", 1280, 128, 8, 256)
    aa = preset("adcut-audio", encoder_version="x", epochs=3)
    assert (aa.encoder, aa.input_dim, aa.epochs) == ("yamnet", 1024, 3)
    for c in (v, a, av, aa):  # the paper's training settings are the defaults
        assert (c.lr, c.min_lr, c.betas, c.weight_decay, c.ema_decay, c.kmeans_iters, c.threshold_ema_dead_code) == \
            (1e-3, 2e-5, (0.9, 0.98), 1e-4, 0.8, 10, 2)
    assert set(PRESETS) == {"paper-video", "paper-audio", "adcut-video", "adcut-audio"}
    assert v.code_dtype == "uint8" and tiny_config(codebook_size=300).code_dtype == "int16"


def test_config_json_schema_and_round_trip():
    schema = TokenizerConfig.model_json_schema()
    assert {"modality", "encoder", "encoder_version", "input_dim", "encoder_hidden", "codebook_dim", "levels",
            "codebook_size", "epochs", "heldout_fraction"} <= set(schema["properties"])
    assert set(schema["required"]) == {"modality", "encoder", "encoder_version", "input_dim", "encoder_hidden",
                                       "codebook_dim", "epochs"}
    c = tiny_config()
    assert config_from_data(json.loads(json.dumps(c.training_fields())), "x") == c


@pytest.mark.hostile("message")
@pytest.mark.parametrize("overrides, words", [
    ({"levels": 0}, "levels"),
    ({"codebook_size": 1}, "codebook_size"),
    ({"input_dim": 0}, "input_dim"),
    ({"encoder_hidden": [32, 0]}, "hidden sizes must be at least 1"),
    ({"heldout_fraction": 1.0}, "heldout_fraction"),
    ({"heldout_fraction": 0.0}, "heldout_fraction"),
    ({"min_lr": 0.1, "lr": 0.01}, "min_lr 0.1 is above lr 0.01"),
    ({"betas": [0.9, 1.5]}, "betas"),
    ({"batch_size": 1}, "batch_size"),
    ({"modality": "text"}, "modality"),
    ({"colour": "red"}, "unknown field"),
])
def test_bad_config_is_one_clear_line(overrides, words):
    with pytest.raises(BadInputError) as err:
        config_from_data({**tiny_config().training_fields(), **overrides}, "my.json")
    assert words in str(err.value) and str(err.value).startswith("my.json: ") and "\n" not in str(err.value)


@pytest.mark.hostile("message")
def test_preset_needs_a_known_name_and_the_encoder_version():
    with pytest.raises(BadInputError, match="unknown tokenizer preset 'paper'"):
        preset("paper", encoder_version="1")
    with pytest.raises(BadInputError, match="needs encoder_version") as err:
        preset("adcut-video")
    assert "efficientnet-lite0" in err.value.hint


# -- the network --------------------------------------------------------------------------------

def test_architecture_is_the_papers():
    model = RQVAE(preset("paper-audio", encoder_version="p"))
    kinds = [type(m) for m in model.encoder]
    assert kinds == [nn.Linear, nn.GELU, nn.BatchNorm1d, nn.Linear, nn.GELU, nn.BatchNorm1d, nn.Linear]
    enc = [(m.in_features, m.out_features) for m in model.encoder if isinstance(m, nn.Linear)]
    dec = [(m.in_features, m.out_features) for m in model.decoder if isinstance(m, nn.Linear)]
    assert enc == [(2048, 1024), (1024, 512), (512, 256)]
    assert dec == [(256, 512), (512, 1024), (1024, 2048)]  # the hidden list reversed
    q = model.quantizer
    assert q.num_quantizers == 8 and q.codebook_size == 256 and not q.shared_codebook
    books = [layer._codebook for layer in q.layers]
    assert len({id(b) for b in books}) == 8  # one codebook per level
    for layer, book in zip(q.layers, books):
        assert layer.use_cosine_sim and book.ema_update and not book.learnable_codebook
        assert (book.decay, book.threshold_ema_dead_code, book.kmeans_iters) == (0.8, 2, 10)
        assert layer.rotation_trick and layer.commitment_weight == 1.0
        assert not bool(book.initted)  # k-means initialisation waits for the first batch


def test_forward_shapes_loss_and_training_side_effects(data):
    x = torch.from_numpy(data[0][:256])
    torch.manual_seed(0)
    model = RQVAE(tiny_config()).train()
    recon, codes, commit = model(x)
    assert recon.shape == (256, 16) and codes.shape == (256, 2) and codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < 8 and commit.ndim == 0
    assert model.codebooks_ready  # the first training batch ran the k-means initialisation
    loss = reconstruction_loss(recon, x)
    assert torch.isclose(loss, (1 - nn.functional.cosine_similarity(recon, x)).mean())
    loss.backward()
    assert model.encoder[0].weight.grad is not None  # gradients reach the encoder through the quantizer
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(x)  # training mode: the EMA moves the codebooks
    assert not torch.equal(before["quantizer.layers.0._codebook.embed"],
                           model.state_dict()["quantizer.layers.0._codebook.embed"])


def test_nearest_codes_are_the_librarys_and_eval_updates_nothing(data):
    x = torch.from_numpy(data[0])
    config = tiny_config(levels=4, codebook_size=16)
    torch.manual_seed(1)
    model = RQVAE(config).train()
    for start in range(0, 1024, 128):  # a few EMA and dead-code updates, so codebooks are not k-means'
        model(x[start:start + 128])
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        z = model.encoder(x)
        quantized, library_codes, _ = model.quantizer(z, sample_codebook_temp=0.0)
        ours = model.nearest_codes(z)
    assert torch.equal(ours, library_codes)
    assert torch.equal(model.quantizer.get_output_from_indices(ours), quantized)
    assert state_equal(before, model.state_dict())  # the library's eval forward changed nothing
    assert len(torch.unique(ours[:, 3])) > 1  # the last level is in use, not a constant


def test_batchnorm_recalibration_matches_training_statistics():
    # unit-norm 256-d inputs: hidden activations of variance ~1e-3, far from BatchNorm's starting 1
    x = np.random.default_rng(0).normal(size=(512, 256)).astype(np.float32)
    x = torch.from_numpy(x / np.linalg.norm(x, axis=1, keepdims=True))
    model = initialised_model(tiny_config(input_dim=256, encoder_hidden=[64, 32], codebook_size=16), x)
    with torch.no_grad():
        batch_stats = model.encoder.train()(x)
        model.eval()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        stale = nn.functional.cosine_similarity(model.encoder(x), batch_stats).mean()
        model.recalibrate_batchnorm([x[:256], x[256:]])
        fresh = nn.functional.cosine_similarity(model.encoder(x), batch_stats).mean()
    assert stale < 0.95 and fresh > 0.999
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.rsplit(".", 1)[1] in ("running_mean", "running_var", "num_batches_tracked")
                           for k in changed)  # no weight, no codebook moved
    assert not model.training and all(bn.momentum == 0.1 for bn in model.modules()
                                      if isinstance(bn, nn.BatchNorm1d))


def test_nearest_codes_refuse_uninitialised_codebooks():
    model = RQVAE(tiny_config()).eval()
    with pytest.raises(RuntimeError, match="not initialised"):
        model.nearest_codes(torch.zeros(4, 8))
    with pytest.raises(ValueError, match="not initialised"):
        Tokenizer(model)


# -- encode / decode ------------------------------------------------------------------------------

def test_encode_gives_small_codes_that_decode_close(tok, data):
    x = data[0]
    codes = tok.encode(x)
    assert codes.shape == (len(x), 2) and codes.dtype == np.uint8 and int(codes.max()) < 8
    recon = tok.decode(codes)
    assert recon.shape == x.shape and recon.dtype == np.float32
    cos = np.einsum("nd,nd->n", recon, x) / (np.linalg.norm(recon, axis=1) * np.linalg.norm(x, axis=1))
    assert cos.mean() > 0.8
    assert tok.encode(x[:0]).shape == (0, 2)
    assert tok.encode(x.astype(np.float64)[:50]).tolist() == codes[:50].tolist()


def test_encode_and_decode_do_not_depend_on_the_batch(tok, data):
    x = data[0]
    codes = tok.encode(x)
    recon = tok.decode(codes)
    before = {k: v.clone() for k, v in tok.model.state_dict().items()}
    perm = np.random.default_rng(3).permutation(len(x))
    assert np.array_equal(tok.encode(x[perm]), codes[perm])
    assert np.array_equal(tok.encode(x), codes)
    for i in (0, 1, 777, len(x) - 1):  # one row alone, and one row among 1,500 others
        assert np.array_equal(tok.encode(x[i:i + 1]), codes[i:i + 1])
        assert np.array_equal(tok.encode(x[i:i + 1500]), codes[i:i + 1500])
        # floats too, bit for bit: a row's rounding must not depend on how many rows came with it
        assert np.array_equal(tok.decode(codes[i:i + 1]), recon[i:i + 1])
    assert np.array_equal(tok.decode(codes[perm[:1100]]), recon[perm[:1100]])
    assert state_equal(before, tok.model.state_dict())  # encoding never moves the codebooks or BatchNorm


def test_codes_wider_than_a_byte(data):
    x = data[0]
    model = initialised_model(tiny_config(codebook_size=300), x[:1500])
    codes = Tokenizer(model).encode(x[:100])
    assert codes.dtype == np.int16 and codes.max() < 300


@pytest.mark.hostile("message")
def test_encode_refuses_bad_vectors(tok, data):
    x = data[0][:10].copy()
    with pytest.raises(BadInputError) as err:
        tok.encode(np.zeros((3, 12), dtype=np.float32))
    assert str(err.value).startswith("vectors have 12 dimensions; this tokenizer (test-encoder 1.0) takes 16")
    x[3, 2] = np.nan
    x[7, 0] = np.inf
    with pytest.raises(BadInputError, match=r"^2 of 10 vectors hold NaN or inf \(first: row 3\)"):
        tok.encode(x)
    with pytest.raises(BadInputError, match=r"2-D array \(N, 16\); got shape \(16,\)") as err:
        tok.encode(data[0][0])
    assert "vectors[None, :]" in err.value.hint
    with pytest.raises(BadInputError, match="must be numbers"):
        tok.encode(np.array([["a"] * 16]))


@pytest.mark.hostile("message")
def test_decode_refuses_bad_codes(tok):
    with pytest.raises(BadInputError, match=r"^1 codes are outside 0..7 \(first: row 1, level 0, value 8\)"):
        tok.decode(np.array([[0, 1], [8, 2]]))
    with pytest.raises(BadInputError, match=r"outside 0..7 \(first: row 0, level 1, value -1\)"):
        tok.decode(np.array([[0, -1]]))
    with pytest.raises(BadInputError, match=r"shape \(N, 2\)"):
        tok.decode(np.zeros((4, 3), dtype=np.uint8))
    with pytest.raises(BadInputError, match="must be integers"):
        tok.decode(np.zeros((4, 2), dtype=np.float32))


@pytest.mark.hostile("message")
def test_check_encoder(tok):
    tok.check_encoder("test-encoder", "1.0")
    tok.check_encoder("Test-Encoder", "1.0")  # specs are case-insensitive
    with pytest.raises(BadInputError, match="trained on test-encoder 1.0 vectors, not on 'yamnet' '1.0'"):
        tok.check_encoder("yamnet", "1.0")
    with pytest.raises(BadInputError, match="not on 'test-encoder' '1.1'"):
        tok.check_encoder("test-encoder", "1.1")


def off_library(data, n: int = 60, seed: int = 1) -> np.ndarray:
    """Vectors unlike the training ones: means of two training vectors of different clusters
    (the way an ad's few seconds of music are unlike the library's 10 s windows)."""
    x, _ = data
    rng = np.random.default_rng(seed)
    return ((x[rng.integers(0, len(x), n)] + x[rng.integers(0, len(x), n)]) / 2).astype(np.float32)


def reconstruction_cos(tok: Tokenizer, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    y = tok.decode(codes).astype(np.float64)
    return (y * x).sum(1) / np.linalg.norm(y, axis=1) / np.linalg.norm(x, axis=1)


def test_searched_codes_decode_closer_than_the_encoders_guess(tok, data):
    """encode_searched optimises each vector's reconstruction: never worse than encode (its
    codes are a candidate), and better on vectors unlike the training ones."""
    x = off_library(data)
    greedy, searched = tok.encode(x), tok.encode_searched(x, beam=4)
    assert searched.dtype == greedy.dtype and searched.shape == greedy.shape
    guess, best = reconstruction_cos(tok, x, greedy), reconstruction_cos(tok, x, searched)
    assert (best >= guess - 1e-6).all()
    assert best.mean() > guess.mean() + 0.01 and (searched != greedy).any(axis=1).mean() > 0.2


def test_a_beam_as_wide_as_the_codebook_finds_the_best_code_string(tok, data):
    """With 2 levels x 8 codes and a beam of 8, every first code is kept and every second one
    tried: the search is exhaustive, so it returns the best of all 64 code strings."""
    x = off_library(data, n=12, seed=2)
    every = np.array([(a, b) for a in range(8) for b in range(8)], dtype=np.uint8)
    cos = np.stack([reconstruction_cos(tok, np.repeat(v[None], len(every), 0), every) for v in x])
    assert np.array_equal(tok.encode_searched(x, beam=8), every[cos.argmax(axis=1)])


def test_searched_codes_do_not_depend_on_the_batch(tok, data):
    x = off_library(data, n=20, seed=3)
    together = tok.encode_searched(x, beam=2)
    assert np.array_equal(together[5:6], tok.encode_searched(x[5:6], beam=2))
    assert np.array_equal(together[::-1], tok.encode_searched(x[::-1].copy(), beam=2))


@pytest.mark.parametrize("beam", [0, -1, 1.5, True])
def test_a_bad_search_beam_is_refused(tok, data, beam):
    with pytest.raises(BadInputError, match="search beam"):
        tok.encode_searched(data[0][:2], beam=beam)


# -- save / load ----------------------------------------------------------------------------------

def test_save_load_round_trip(tok, data, tmp_path):
    x = data[0]
    codes = tok.encode(x)
    folder = tok.save(tmp_path / "copy")
    doc = json.loads((folder / CONFIG_NAME).read_text())
    assert doc["format"] == "adcut-rqvae" and doc["format_version"] == 1 and doc["input_dim"] == 16
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]  # no temporary files left
    again = Tokenizer.load(folder)
    assert again.config == tok.config
    assert state_equal(again.model.state_dict(), tok.model.state_dict())
    assert np.array_equal(again.encode(x), codes)
    assert np.array_equal(again.decode(codes), tok.decode(codes))
    rng_before = torch.get_rng_state()
    Tokenizer.load(folder)
    assert torch.equal(torch.get_rng_state(), rng_before)  # loading spares the caller's RNG


@pytest.mark.hostile("half-written")
def test_an_interrupted_save_never_loads(tok, data, tmp_path, monkeypatch):
    old = tok.save(tmp_path / "tok")
    other = Tokenizer(initialised_model(tok.config, data[0][:500], seed=5))
    real = tokenizer_module.write_atomic

    def die_on_config(path, payload):
        if Path(path).name == CONFIG_NAME:
            raise KeyboardInterrupt
        real(path, payload)

    monkeypatch.setattr(tokenizer_module, "write_atomic", die_on_config)
    with pytest.raises(KeyboardInterrupt):
        other.save(old)  # new weights written, old config.json left
    with pytest.raises(KeyboardInterrupt):
        other.save(tmp_path / "fresh")  # weights only
    monkeypatch.undo()
    with pytest.raises(BadInputError, match="checksum differs") as err:
        Tokenizer.load(old)
    assert "adcut tokenizer train" in err.value.hint
    with pytest.raises(BadInputError, match="holds no config.json"):
        Tokenizer.load(tmp_path / "fresh")


def _rewrite(folder: Path, *, weights: bytes | None = None, **fields) -> None:
    """Change a saved tokenizer by hand, keeping config.json's checksum in step with the weights."""
    doc = json.loads((folder / CONFIG_NAME).read_text())
    if weights is not None:
        (folder / WEIGHTS_NAME).write_bytes(weights)
        doc["weights_sha256"] = tokenizer_module._sha256(weights)
    doc.update(fields)
    (folder / CONFIG_NAME).write_text(json.dumps(doc))


def _damage(kind: str, folder: Path, tok: Tokenizer, x: np.ndarray) -> None:
    raw = (folder / WEIGHTS_NAME).read_bytes()
    if kind == "missing weights":
        (folder / WEIGHTS_NAME).unlink()
    elif kind == "truncated weights":
        (folder / WEIGHTS_NAME).write_bytes(raw[: len(raw) // 2])
    elif kind == "corrupt weights, checksum updated":
        _rewrite(folder, weights=b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage" + raw[17:])
    elif kind == "weights of another shape":
        bigger = Tokenizer(initialised_model(tiny_config(encoder_hidden=[48]), x[:500]))
        _rewrite(folder, weights=safetensors.torch.save(dict(bigger.model.state_dict())))
    elif kind == "NaN weights":
        state = dict(tok.model.state_dict())
        state["decoder.0.weight"] = torch.full_like(state["decoder.0.weight"], math.nan)
        _rewrite(folder, weights=safetensors.torch.save(state))
    elif kind == "uninitialised codebooks":
        _rewrite(folder, weights=safetensors.torch.save(dict(RQVAE(tok.config).state_dict())))
    elif kind == "missing config":
        (folder / CONFIG_NAME).unlink()
    elif kind == "config not JSON":
        (folder / CONFIG_NAME).write_text("{not json")
    elif kind == "another format":
        _rewrite(folder, format="hf-vqvae")
    elif kind == "newer format":
        _rewrite(folder, format_version=2)
    elif kind == "bad config field":
        _rewrite(folder, levels=0)
    elif kind == "config says another shape":
        _rewrite(folder, codebook_dim=4)
    else:
        raise AssertionError(kind)


@pytest.mark.hostile("message")
@pytest.mark.parametrize("kind, words", [
    ("missing weights", "holds config.json but no model.safetensors"),
    ("truncated weights", "checksum differs"),
    ("corrupt weights, checksum updated", "is not a readable safetensors file"),
    ("weights of another shape", "do not fit its config.json: encoder.0.weight has shape (48, 16)"),
    ("NaN weights", "NaN or inf values (in decoder.0.weight)"),
    ("uninitialised codebooks", "never initialised"),
    ("missing config", "holds no config.json"),
    ("config not JSON", "config.json line 1, column 2"),
    ("another format", "is not an adcut RQ-VAE tokenizer (format 'hf-vqvae'"),
    ("newer format", "written by a newer adcut (tokenizer format_version 2"),
    ("bad config field", "levels: 0 is out of range"),
    ("config says another shape", "do not fit its config.json"),
])
def test_load_refuses_a_damaged_folder(kind, words, tok, data, tmp_path):
    folder = tok.save(tmp_path / "tok")
    _damage(kind, folder, tok, data[0])
    with pytest.raises(BadInputError) as err:
        Tokenizer.load(folder)
    assert words in str(err.value)
    assert str(tmp_path) in str(err.value)  # names the folder or its file
    assert "\n" not in str(err.value)


@pytest.mark.hostile("message")
def test_load_refuses_a_missing_folder_or_a_file(tmp_path):
    with pytest.raises(BadInputError, match="does not exist") as err:
        Tokenizer.load(tmp_path / "nowhere")
    assert "adcut tokenizer train" in err.value.hint
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInputError, match="is a file, not a tokenizer folder"):
        Tokenizer.load(tmp_path / "file")
