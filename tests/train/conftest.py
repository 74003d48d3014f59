"""A small dataset folder in the format `adcut dataset build` writes, made from random
tokenised ads by the builder's own sample functions, and a tiny recipe that trains in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from adcut.dataset.samples import align_text, clip_pool, sft_samples, with_sample_ids
from adcut.dataset.types import TokenisedAd, TokenisedClip
from adcut.tasks.types import Product

WORDS = ["red", "blue", "green", "soft", "warm", "cold", "fresh", "bright", "smooth", "light"]
TOKENIZERS = {"video": "v-test-0001", "audio": "a-test-0001"}


def make_ads(n: int, seed: int) -> list[TokenisedAd]:
    rng = np.random.default_rng(seed)
    ads = []
    for i in range(n):
        clips = [TokenisedClip(text=f"Look at this {rng.choice(WORDS)} one.",
                               codes=rng.integers(0, 256, size=(1, 8))) for _ in range(3)]
        product = Product(name=f"product {i % 3}", brand=f"brand {i % 3}", selling_points=["soft", "warm"])
        ads.append(TokenisedAd(key=f"ad-{i:03d}", language="en", product=product, clips=clips,
                               track_codes=rng.integers(0, 256, size=8)))
    return ads


def write_dataset(root: Path, n_train: int = 12, n_eval: int = 2, seed: int = 0,
                  tokenizers: dict | None = None) -> Path:
    ads = make_ads(n_train + n_eval, seed)
    splits = {"train": ads[:n_train], "eval": ads[n_train:]}
    for stage in ("align", "sft"):
        (root / stage).mkdir(parents=True, exist_ok=True)
    for split, members in splits.items():
        pool = clip_pool(members)
        sft = []
        for ad in members:
            rows, _ = sft_samples(ad, pool)
            sft.extend(rows)
        with (root / "align" / f"{split}.jsonl").open("w") as fh:
            for ad in members:
                fh.write(json.dumps({"text": align_text(ad)}, ensure_ascii=False) + "\n")
        with (root / "sft" / f"{split}.jsonl").open("w") as fh:
            for row in with_sample_ids(sft):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (root / "build.json").write_text(json.dumps({"format": "adcut-dataset/1",
                                                 "tokenizers": tokenizers or TOKENIZERS}))
    return root


TINY_RECIPE = """
name: tiny-test
base: tiny
tiny: {vocab_size: 400, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
       num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 2048}
align: {learning_rate: 1.0e-2, epochs: 1, batch_size: 4, cutoff_len: 256}
sft: {learning_rate: 3.0e-3, epochs: 1, batch_size: 4, cutoff_len: 2048}
"""


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("train-data"))


@pytest.fixture(scope="session")
def recipe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "tiny-test.yaml"
    path.write_text(TINY_RECIPE)
    return path
