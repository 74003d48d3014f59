"""The PCA + residual k-means baseline: round trip, known answers, determinism, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.tokens.baseline import ResidualKMeans, kmeans
from adcut.tokens.train import heldout_metrics
from tests.tokens.test_rqvae import mixture


def mean_cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.einsum("nd,nd->n", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def test_round_trip_shapes_and_types():
    x, _ = mixture(n=1500)
    model = ResidualKMeans(dim=8, levels=2, codebook_size=8).fit(x[:1200], seed=0)
    codes = model.encode(x[1200:])
    assert codes.shape == (300, 2) and codes.dtype == np.uint8 and codes.max() < 8
    recon = model.decode(codes)
    assert recon.shape == (300, 16) and recon.dtype == np.float32
    assert np.array_equal(model.encode(x[1200:]), codes)  # deterministic
    assert np.array_equal(model.encode(x[1200:][::-1]), codes[::-1])  # row by row
    assert heldout_metrics(model, x[1200:])["heldout_cos"] == pytest.approx(mean_cos(recon, x[1200:]))
    assert model.axes.shape == (16, 8)
    assert np.allclose(model.axes.T @ model.axes, np.eye(8), atol=1e-5)  # orthonormal principal axes
    assert ResidualKMeans(dim=4, codebook_size=300).code_dtype == np.int16


def test_one_level_recovers_separated_clusters():
    # 8 far-apart clusters, one level of 8 codes, no dimension dropped: each cluster gets its code
    x, _ = mixture(n=800, k=8, noise=0.02, seed=1)
    model = ResidualKMeans(dim=16, levels=1, codebook_size=8, iters=30).fit(x, seed=0)
    assert mean_cos(model.decode(model.encode(x)), x) > 0.99
    assert len(np.unique(model.encode(x))) == 8


def test_more_levels_reconstruct_better():
    x = np.random.default_rng(0).normal(size=(3000, 32)).astype(np.float32)
    cos = [mean_cos(m.decode(m.encode(x)), x)
           for m in (ResidualKMeans(dim=16, levels=n, codebook_size=16).fit(x, seed=0) for n in (1, 2, 4))]
    assert cos[0] + 0.02 < cos[1] < cos[2] - 0.02


def test_fit_depends_on_the_seed_only():
    x, _ = mixture(n=1000)
    a = ResidualKMeans(dim=8, levels=2, codebook_size=8).fit(x, seed=0)
    b = ResidualKMeans(dim=8, levels=2, codebook_size=8).fit(x, seed=0)
    c = ResidualKMeans(dim=8, levels=2, codebook_size=8).fit(x, seed=1)
    assert np.array_equal(a.codebooks, b.codebooks) and np.array_equal(a.axes, b.axes)
    assert not np.array_equal(a.codebooks, c.codebooks)


def test_kmeans_fills_every_centroid():
    # 3 distinct points and 3 centroids, but many duplicates: no centroid may stay empty or repeat
    x = np.repeat(np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=np.float32), [50, 1, 1], axis=0)
    c = kmeans(x, 3, iters=5, rng=np.random.default_rng(0))
    assert sorted(map(tuple, c.tolist())) == [(0.0, 0.0), (0.0, 10.0), (10.0, 0.0)]


@pytest.mark.hostile("message")
def test_refusals():
    x, _ = mixture(n=100)
    with pytest.raises(BadInputError, match="50 vectors; fitting 64 centroids per level needs at least 64"):
        ResidualKMeans(dim=8, codebook_size=64).fit(x[:50])
    with pytest.raises(BadInputError, match="not fitted"):
        ResidualKMeans(dim=8).encode(x)
    model = ResidualKMeans(dim=8, levels=2, codebook_size=8).fit(x)
    with pytest.raises(BadInputError, match="vectors have 12 dimensions; the baseline was fitted on 16"):
        model.encode(x[:, :12])
    bad = x.copy()
    bad[5, 1] = np.inf
    with pytest.raises(BadInputError, match=r"1 vectors hold NaN or inf \(first: row 5\)"):
        model.encode(bad)
    with pytest.raises(BadInputError, match="codes must be in 0..7"):
        model.decode(np.array([[0, 8]]))
    with pytest.raises(BadInputError, match=r"shape \(N, 2\)"):
        model.decode(np.zeros((3, 3), dtype=np.uint8))
    with pytest.raises(BadInputError, match="levels >= 1"):
        ResidualKMeans(dim=8, levels=0)


def test_fewer_vectors_than_dimensions_give_the_same_principal_axes():
    """With fewer vectors than dimensions the axes come from the small Gram matrix: the same
    subspace as the full scatter matrix's top axes, orthonormal, completed where the data has
    no variance."""
    from adcut.tokens.baseline import principal_axes

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((30, 200)) @ rng.standard_normal((200, 200))).astype(np.float32)
    mean = x.mean(axis=0)
    axes = principal_axes(x, mean, 40)
    assert axes.shape == (200, 40) and np.allclose(axes.T @ axes, np.eye(40), atol=1e-8)
    centred = x.astype(np.float64) - mean
    eigval, eigvec = np.linalg.eigh(centred.T @ centred)
    top = eigvec[:, np.argsort(-eigval)[:29]]  # 30 centred vectors span 29 dimensions
    assert np.allclose(np.linalg.svd(top.T @ axes[:, :29], compute_uv=False), 1.0, atol=1e-6)
    assert np.allclose(centred @ axes[:, 29:], 0.0, atol=1e-6)  # no variance in the completion
