"""A tiny random adcut model folder, built offline in about a second: what `adcut train
export` writes, at toy size.

- tokenizer: a byte-level BPE learnt from adcut's own prompts (English and Chinese, tokens
  track) and answers, so numbers like "12" are single tokens beside "1" and "2"; wrapped as a
  transformers fast tokenizer with a ChatML template, the 4,096 `<v_l_c>` / `<a_l_c>` as normal
  added tokens and the ten sentinels as special tokens;
- model: a random 2-layer Qwen3 (hidden 64, 4 heads, 2 KV heads, head_dim 16) sized to it;
- rqvae/video and rqvae/audio: RQ-VAE tokenizers of 8 levels x 256 codes over 16-d vectors
  of a made-up encoder, or over a real library's encoder (`encoders`: its name, version and
  dimension, so `adcut edit` can tokenise that library), codebooks k-means-initialised on
  random vectors (no training);
- adcut_model.json.

Used by tests/planner/test_model_planner.py and benchmarks/model_planner.py.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

EN_WORDS = ("fresh cold brew coffee bottle morning city street smooth taste ice glass pour "
            "energy friends sunrise table hand open sip enjoy today now").split()
ZH_TEXT = "清爽冷萃咖啡早晨城市街道顺滑口感冰块玻璃杯倒入活力朋友日出桌子打开品尝享受今天现在"


def random_product(rng: random.Random, language: str = "en"):
    from adcut.tasks.types import Product

    if language == "zh":
        def pick(k: int) -> str:
            return "".join(rng.choice(ZH_TEXT) for _ in range(k))

        return Product(name=pick(4), brand=pick(2), selling_points=[pick(3) for _ in range(rng.randint(0, 3))])
    return Product(name=" ".join(rng.sample(EN_WORDS, 2)), brand=rng.choice(EN_WORDS).title(),
                   selling_points=[" ".join(rng.sample(EN_WORDS, 2)) for _ in range(rng.randint(0, 3))])


def random_line(rng: random.Random, language: str = "en") -> str:
    if language == "zh":
        return "".join(rng.choice(ZH_TEXT) for _ in range(rng.randint(4, 10))) + "。"
    return " ".join(rng.sample(EN_WORDS, rng.randint(3, 7))).capitalize() + "."


def random_clip_tokens(rng: random.Random, frames: int | None = None) -> str:
    from adcut.tokens.vocab import clip_string

    frames = rng.randint(1, 3) if frames is None else frames
    codes = np.array([[rng.randrange(256) for _ in range(8)] for _ in range(frames)], dtype=np.int64)
    return clip_string(codes)


def random_track_tokens(rng: random.Random) -> str:
    from adcut.tokens.vocab import track_string

    return track_string(np.array([rng.randrange(256) for _ in range(8)], dtype=np.int64))


def corpus(seed: int = 0) -> list[str]:
    """Prompts of the four tasks (tokens track, both languages, adcut tokens blanked out as
    the BPE never sees them) and answers."""
    from adcut.tasks.prompts_en import EN
    from adcut.tasks.prompts_zh import ZH, build_prompt
    from adcut.tasks.types import (
        TRACK_TOKENS,
        ClipRef,
        MusicTask,
        ScriptTask,
        SelectTask,
        SortTask,
    )

    rng = random.Random(seed)
    texts: list[str] = []
    for lang, name in ((EN, "en"), (ZH, "zh")):
        product = random_product(rng, name)
        lines = [random_line(rng, name) for _ in range(3)]
        clips = [ClipRef(number=i, tokens="") for i in range(1, 7)]
        for task in (SelectTask(product, lines, clips, n_select=3), SortTask(product, lines, clips[:3]),
                     ScriptTask(product, clips[:3]), MusicTask(product, lines, clips[:3])):
            texts.append(build_prompt(task, TRACK_TOKENS, lang))
        texts += lines
    answers = [",".join(str(x) for x in rng.sample(range(1, 31), rng.randint(2, 12))) for _ in range(40)]
    return texts + answers


def build_tiny_adcut_model(folder: Path, *, language: str | None = "en", audio: bool = True, video: bool = True,
                           seed: int = 0, encoders: dict[str, tuple[str, str, int]] | None = None) -> Path:
    """Write a tiny adcut model folder to `folder` and return it. `encoders`: modality ->
    (encoder name, version, dimension) its RQ-VAE of that modality is for."""
    from adcut.train.base import build_tiny_model, build_tiny_tokenizer
    from adcut.train.config import TinySettings
    from adcut.train.vocab import extend

    # The same builders as the tiny-cpu recipe (adcut.train), at a smaller size.
    tok = build_tiny_tokenizer(corpus(seed), vocab_size=600)
    settings = TinySettings(vocab_size=600, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                            max_position_embeddings=8192, tie_word_embeddings=True, seed=seed)
    model = build_tiny_model(settings, len(tok))
    extend(model, tok, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    for modality, wanted in (("video", video), ("audio", audio)):
        if wanted:
            tiny_rqvae(modality, seed, *(encoders or {}).get(modality, ())).save(folder / "rqvae" / modality)
    meta = {"format": "adcut-model/1", "stages": ["sft"]}
    if language:
        meta["language"] = language
    (folder / "adcut_model.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def tiny_rqvae(modality: str, seed: int = 0, encoder: str = "test-encoder", encoder_version: str = "1",
               input_dim: int = 16):
    """An RQ-VAE tokenizer of 8 levels x 256 codes over `input_dim`-d vectors of `encoder`
    (k-means init only)."""
    import torch

    from adcut.tokens.config import TokenizerConfig
    from adcut.tokens.rqvae import RQVAE
    from adcut.tokens.tokenizer import Tokenizer

    config = TokenizerConfig(modality=modality, encoder=encoder, encoder_version=encoder_version, input_dim=input_dim,
                             encoder_hidden=[32], codebook_dim=8, levels=8, codebook_size=256, epochs=1,
                             kmeans_iters=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RQVAE(config)
        x = torch.from_numpy(np.random.default_rng(seed).normal(size=(512, input_dim)).astype(np.float32))
        model.init_codebooks(x)
    return Tokenizer(model)
