"""The audio codes the builder writes for an ad's music: the codes whose decoding comes closest
to the music vector (Tokenizer.encode_searched), not the encoder's guess (Tokenizer.encode)."""

from __future__ import annotations

import numpy as np
import pytest

from adcut.dataset.build import music_codes, tokenise, tokenise_many
from adcut.dataset.store import StoredAd
from adcut.dataset.types import AdAnalysis
from adcut.tokens.config import TokenizerConfig
from adcut.tokens.tokenizer import Tokenizer
from adcut.tokens.train import train_tokenizer


@pytest.fixture(scope="module")
def audio_tok(tmp_path_factory) -> Tokenizer:
    """A tiny audio tokenizer (16-d, 2 levels x 8 codes) trained on a Gaussian mixture."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(16, 16))
    x = (centres[rng.integers(0, 16, 2000)] + 0.15 * rng.normal(size=(2000, 16))).astype(np.float32)
    config = TokenizerConfig(modality="audio", encoder="test-encoder", encoder_version="1.0", input_dim=16,
                             encoder_hidden=[32], codebook_dim=8, levels=2, codebook_size=8, batch_size=64,
                             epochs=6, lr=3e-3, min_lr=1e-4)
    out = tmp_path_factory.mktemp("tok") / "audio"
    train_tokenizer(x, [f"track{i % 20:02d}" for i in range(2000)], config, out, compare_baseline=False)
    return Tokenizer.load(out), x


def stored_ad(key: str, music: np.ndarray | None) -> StoredAd:
    analysis = AdAnalysis(key=key, source=f"{key}.mp4", sha256="0" * 64, duration_s=10.0, language="en",
                          words=[], sentences=[], clips=[], product=None, product_source="none", music=None)
    return StoredAd(analysis, np.zeros((0, 4), np.float32), music, {})


def test_an_ads_music_gets_the_searched_codes(audio_tok):
    tok, x = audio_tok
    rng = np.random.default_rng(1)
    # music vectors unlike the training vectors: means of two of them
    music = ((x[rng.integers(0, len(x), 30)] + x[rng.integers(0, len(x), 30)]) / 2).astype(np.float32)
    searched = tok.encode_searched(music)
    assert (searched != tok.encode(music)).any(axis=1).sum() >= 3  # the two differ here
    ads = [stored_ad(f"ad-{i:04d}", m) for i, m in enumerate(music)] + [stored_ad("silent", None)]
    toks = {"audio": (tok, "test-id")}
    together = tokenise_many(ads, toks)
    assert np.array_equal(np.stack([t.track_codes for t in together[:-1]]), searched.astype(np.int64))
    assert together[-1].track_codes is None
    assert np.array_equal(music_codes(tok, music), searched)
    assert np.array_equal(tokenise(ads[7], toks).track_codes, together[7].track_codes)
