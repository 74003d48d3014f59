"""clip:PATH through transformers, on tiny random CLIP and SigLIP models built offline."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adcut.encoders import VisionResult, load_vision_encoder  # noqa: E402

CORPUS = ["a red sports car", "a fast red automobile", "a bowl of soup", "a photo of a cat", "new running shoe"]


def _tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"]))
    tk.post_processor = processors.TemplateProcessing(single="[BOS] $A [EOS]",
                                                      special_tokens=[("[BOS]", 2), ("[EOS]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="[PAD]", unk_token="[UNK]",
                                   bos_token="[BOS]", eos_token="[EOS]", model_max_length=16)


def _save_tiny(kind: str, folder) -> None:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, SiglipConfig, SiglipImageProcessor, SiglipModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    tok = _tokenizer()
    text = dict(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=16, bos_token_id=2, eos_token_id=3, pad_token_id=0)
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                  image_size=32, patch_size=8)
    if kind == "clip":
        model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=24))
        proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    else:
        model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
        proc = SiglipImageProcessor(size={"height": 32, "width": 32})
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    proc.save_pretrained(folder)


@pytest.fixture(scope="module", params=[("clip", 24), ("siglip", 32)], ids=["clip", "siglip"])
def tiny(request, tmp_path_factory):
    kind, dim = request.param
    folder = tmp_path_factory.mktemp(kind)
    _save_tiny(kind, folder)
    return load_vision_encoder(f"clip:{folder}"), dim, folder


def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    red = np.zeros((40, 60, 3), np.uint8)
    red[:] = (220, 20, 20)
    return [red, rng.integers(0, 256, (100, 80, 3), dtype=np.uint8), np.zeros((5, 7, 3), np.uint8)]


def test_image_embeddings(tiny):
    enc, dim, _ = tiny
    assert enc.dim == dim and enc.class_names is None
    r = enc.encode_images(images())
    assert isinstance(r, VisionResult) and r.class_probs is None
    assert r.embeddings.shape == (3, dim) and r.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(r.embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(enc.encode_images(images()[:1]).embeddings[0], r.embeddings[0], atol=1e-5)


def test_texts_share_the_image_space(tiny):
    enc, dim, _ = tiny
    t = enc.encode_texts(["a red sports car", "a bowl of soup with an unknown word"])
    assert t.shape == (2, dim)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    sims = enc.encode_images(images()).embeddings @ t.T  # image-text scores are defined
    assert sims.shape == (3, 2) and np.isfinite(sims).all()
    assert enc.encode_texts([]).shape == (0, dim)


def test_version_and_cache(tiny):
    enc, _, folder = tiny
    assert enc.name == f"clip:{folder}"
    assert enc.version.startswith("transformers-")
    assert load_vision_encoder(f"clip:{folder}") is enc
