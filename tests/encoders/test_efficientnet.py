"""EfficientNet-Lite0 with the real shipped weights."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adcut.encoders import VisionResult, load_vision_encoder, top_labels  # noqa: E402


@pytest.fixture(scope="module")
def enc():
    return load_vision_encoder("efficientnet-lite0")


def solid(rgb: tuple[int, int, int], h: int = 180, w: int = 320) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = rgb
    return img


def checkerboard(h: int = 180, w: int = 320, cell: int = 20) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    v = (((yy // cell) + (xx // cell)) % 2 * 255).astype(np.uint8)
    return np.repeat(v[:, :, None], 3, axis=2)


def gradient(h: int = 240, w: int = 240) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.float32)
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = x[None, :]
    img[:, :, 2] = x[::-1][None, :]
    img[:, :, 1] = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    return img


def test_identity_and_shapes(enc):
    assert enc.name == "efficientnet-lite0"
    assert enc.dim == 1280
    assert enc.class_names is not None and len(enc.class_names) == 1000
    assert enc.class_names[0] == "tench" and enc.class_names[817] == "sports car"
    assert enc.version and "pre" in enc.version  # weights and preprocessing are both in the version


def test_embeddings_unit_norm_probs_sum_to_one(enc):
    imgs = [solid((220, 20, 20)), checkerboard(), gradient(), solid((0, 0, 0), 50, 30)]
    r = enc.encode_images(imgs)
    assert isinstance(r, VisionResult)
    assert r.embeddings.shape == (4, 1280) and r.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(r.embeddings, axis=1), 1.0, atol=1e-5)
    assert r.class_probs is not None and r.class_probs.shape == (4, 1000)
    assert r.class_probs.dtype == np.float32
    np.testing.assert_allclose(r.class_probs.sum(axis=1), 1.0, atol=1e-4)
    assert (r.class_probs >= 0).all()


def test_deterministic_and_same_image_cosine_one(enc):
    img = gradient()
    a = enc.encode_images([img, img]).embeddings
    b = enc.encode_images([img]).embeddings
    assert float(a[0] @ a[1]) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)  # batch size does not change the result


def test_similar_images_are_closer(enc):
    r = enc.encode_images([solid((220, 20, 20)), solid((200, 30, 25)), checkerboard(), gradient()]).embeddings
    red_red = float(r[0] @ r[1])
    assert red_red > float(r[0] @ r[2])
    assert red_red > float(r[0] @ r[3])


def test_any_size_and_batching_over_32(enc):
    imgs = [solid((i * 6 % 256, 100, 50), 32 + i, 64 + 3 * i) for i in range(35)]
    imgs.append(np.zeros((7, 500, 3), np.uint8))  # extreme aspect ratio
    r = enc.encode_images(imgs)
    assert r.embeddings.shape == (36, 1280)
    assert np.isfinite(r.embeddings).all()
    assert enc.encode_images([]).embeddings.shape == (0, 1280)


def test_top_labels(enc):
    probs = enc.encode_images([checkerboard()]).class_probs
    assert probs is not None
    top = top_labels(probs[0], enc.class_names, k=5)
    assert len(top) == 5
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True)
    assert all(name in enc.class_names for name, _ in top)
    assert top[0][1] == pytest.approx(float(probs[0].max()))


def test_top_labels_pure():
    names = ["a", "b", "c", "d"]
    assert top_labels(np.array([0.1, 0.4, 0.2, 0.3]), names, k=2) == [("b", pytest.approx(0.4)),
                                                                       ("d", pytest.approx(0.3))]
    assert len(top_labels(np.array([[0.1, 0.4, 0.2, 0.3]]), names, k=10)) == 4
    with pytest.raises(ValueError):
        top_labels(np.array([0.5, 0.5]), names)


def test_loader_is_cached(enc):
    assert load_vision_encoder() is enc
    assert load_vision_encoder(" EfficientNet-Lite0 ") is enc
