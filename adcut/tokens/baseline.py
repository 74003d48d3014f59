"""The baseline the RQ-VAE has to beat: PCA + residual k-means at the same token budget.

Same budget: `levels` codes of `codebook_size` each per vector (8 bytes for 8 x 256). No
training by gradient, no decoder network: if the RQ-VAE does not beat this on held-out vectors,
its tokens carry no more than a linear projection and a few k-means runs would.

    x -> L2-normalise -> minus the training mean -> project on the top `dim` principal axes (z)
      -> level 1: nearest of `codebook_size` k-means centroids of z; level 2: of the residual; ...
    decode: sum of the chosen centroids -> back through the principal axes -> plus the mean

Choices made for a cosine measure (the RQ-VAE's loss and metric is cos(recon, x)):
- inputs are L2-normalised first, so the direction is what gets encoded, as cosine asks; the
  length of a vector is not kept (the RQ-VAE does not keep it either in any useful sense);
- Euclidean k-means in the centred PCA space: for unit vectors |a - b|^2 = 2 - 2 cos(a, b), so
  minimising squared error is minimising (1 - cos) up to the mean and the dropped axes;
- no whitening: it would give the low-variance axes as much weight as the main ones, and the
  reconstruction error (hence cosine) is measured in the original, unwhitened space.

Pure numpy (float32 distances, a seeded `numpy.random.Generator`); no faiss, whose OpenMP runtime
would share the process with torch's.
"""

from __future__ import annotations

import numpy as np

from adcut.core.errors import BadInputError
from adcut.encoders.base import l2_normalize

MAX_FIT_PER_CENTROID = 256  # k-means fits on at most this many vectors per centroid (as faiss)
SEED_PER_CENTROID = 32  # k-means++ picks its starting centroids among at most this many per centroid
MAX_PCA_ROWS = 100_000  # the principal axes are fitted on at most this many vectors
CHUNK_ROWS = 8192  # rows per distance matrix (8192 x 256 floats stay in cache)


def _nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (squared Euclidean) of each row, in chunks."""
    c_sq = np.einsum("kd,kd->k", centroids, centroids)
    out = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), CHUNK_ROWS):
        xb = x[start:start + CHUNK_ROWS]
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every c of a row
        out[start:start + CHUNK_ROWS] = np.argmin(c_sq[None, :] - 2.0 * (xb @ centroids.T), axis=1)
    return out


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k rows of x chosen by k-means++ (each next one with probability ~ squared distance to the
    nearest chosen): spread-out starting centroids, so Lloyd's iterations rarely end with two
    centroids in one cluster and none in another."""
    chosen = [int(rng.integers(len(x)))]
    d2 = np.einsum("nd,nd->n", x - x[chosen[0]], x - x[chosen[0]]).astype(np.float64)
    for _ in range(1, k):
        total = d2.sum()
        i = int(rng.choice(len(x), p=d2 / total)) if total > 0 else int(rng.integers(len(x)))
        chosen.append(i)
        diff = x - x[i]
        np.minimum(d2, np.einsum("nd,nd->n", diff, diff), out=d2)
    return x[chosen].copy()


def kmeans(x: np.ndarray, k: int, *, iters: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means (k, d) float32 from a k-means++ start (seeded on at most SEED_PER_CENTROID
    rows per centroid, fitted on at most MAX_FIT_PER_CENTROID); a centroid left empty is moved to
    the row farthest from its own centroid. `x` has at least k rows."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) > MAX_FIT_PER_CENTROID * k:
        x = x[np.sort(rng.choice(len(x), MAX_FIT_PER_CENTROID * k, replace=False))]
    seed_rows = x if len(x) <= SEED_PER_CENTROID * k else \
        x[np.sort(rng.choice(len(x), SEED_PER_CENTROID * k, replace=False))]
    centroids = kmeans_plus_plus(seed_rows, k, rng)
    x_by_dim = np.ascontiguousarray(x.T)
    for _ in range(iters):
        assign = _nearest(x, centroids)
        counts = np.bincount(assign, minlength=k)
        filled = counts > 0
        # per-centroid sums, one weighted bincount per dimension (float64; np.add.at is ~30x slower)
        sums = np.stack([np.bincount(assign, weights=column, minlength=k) for column in x_by_dim], axis=1)
        centroids[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
        empty = np.flatnonzero(~filled)
        if len(empty):
            err = np.einsum("nd,nd->n", x - centroids[assign], x - centroids[assign])
            centroids[empty] = x[np.argsort(-err, kind="stable")[:len(empty)]]
    return centroids


def principal_axes(sample: np.ndarray, mean: np.ndarray, dim: int) -> np.ndarray:
    """The top `dim` principal axes (D, dim) float64 of `sample` (N, D) about `mean`: the top
    right-singular vectors of the centred data. From the D x D scatter matrix (summed chunk by
    chunk in float64, never a float64 copy of the data); with fewer rows than dimensions, from
    the N x N Gram matrix instead, which has the same non-zero spectrum (36 vectors of 1280
    dimensions took a 1280 x 1280 eigendecomposition, 0.7 s), completed where the sample has no
    variance by orthonormal directions (seeded, so the same data gives the same axes)."""
    n, d = sample.shape
    if n >= d:
        scatter = np.zeros((d, d), dtype=np.float64)
        for start in range(0, n, CHUNK_ROWS):
            centred = sample[start:start + CHUNK_ROWS] - mean
            scatter += centred.T @ centred
        eigval, eigvec = np.linalg.eigh(scatter)
        return eigvec[:, np.argsort(-eigval, kind="stable")[:dim]]
    centred = sample.astype(np.float64) - mean
    eigval, u = np.linalg.eigh(centred @ centred.T)
    order = np.argsort(-eigval, kind="stable")
    order = order[eigval[order] > max(float(eigval[order[0]]), 0.0) * 1e-12][:dim]
    axes = centred.T @ (u[:, order] / np.sqrt(eigval[order]))
    if axes.shape[1] < dim:  # no variance left: any orthonormal completion will do
        filler = np.random.default_rng(0).standard_normal((d, dim - axes.shape[1]))
        q, _ = np.linalg.qr(np.hstack([axes, filler]))
        axes = np.hstack([axes, q[:, axes.shape[1]:]])
    return axes


class ResidualKMeans:
    """PCA to `dim`, then `levels` rounds of k-means with `codebook_size` centroids on the residual."""

    def __init__(self, dim: int, levels: int = 8, codebook_size: int = 256, iters: int = 20):
        if dim < 1 or levels < 1 or codebook_size < 2 or iters < 1:
            raise BadInputError(f"baseline needs dim >= 1, levels >= 1, codebook_size >= 2, iters >= 1 "
                                f"(got {dim}, {levels}, {codebook_size}, {iters})")
        self.dim, self.levels, self.codebook_size, self.iters = dim, levels, codebook_size, iters
        self.mean: np.ndarray | None = None  # (D,)
        self.axes: np.ndarray | None = None  # (D, dim), orthonormal columns
        self.codebooks: np.ndarray | None = None  # (levels, codebook_size, dim)

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.codebook_size <= 256 else
                        np.int16 if self.codebook_size <= 32768 else np.int32)

    def fit(self, vectors: np.ndarray, seed: int = 0) -> ResidualKMeans:
        x = self._check(vectors, fitted=False)
        if len(x) < self.codebook_size:
            raise BadInputError(f"{len(x)} vectors; fitting {self.codebook_size} centroids per level needs at "
                                f"least {self.codebook_size}")
        rng = np.random.default_rng([seed, 0xBA5E])
        x = l2_normalize(x)
        sample = x if len(x) <= MAX_PCA_ROWS else x[np.sort(rng.choice(len(x), MAX_PCA_ROWS, replace=False))]
        self.mean = sample.mean(axis=0, dtype=np.float64).astype(np.float32)
        axes = principal_axes(sample, self.mean, min(self.dim, x.shape[1]))
        axes *= np.where(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])] < 0, -1.0, 1.0)
        self.axes = axes.astype(np.float32)  # signs fixed: the same data gives the same axes
        residual = (x - self.mean) @ self.axes
        books = []
        for _ in range(self.levels):
            centroids = kmeans(residual, self.codebook_size, iters=self.iters, rng=rng)
            residual = residual - centroids[_nearest(residual, centroids)]
            books.append(centroids)
        self.codebooks = np.stack(books)
        return self

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """Codes (N, levels)."""
        x = self._check(vectors, fitted=True)
        residual = (l2_normalize(x) - self.mean) @ self.axes
        codes = np.empty((len(x), self.levels), dtype=self.code_dtype)
        for level, centroids in enumerate(self.codebooks):
            index = _nearest(residual, centroids)
            residual = residual - centroids[index]
            codes[:, level] = index
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstructed unit-direction vectors (N, D) float32 (not re-normalised)."""
        if self.codebooks is None:
            raise BadInputError("the baseline is not fitted", hint="call fit(vectors) first")
        c = np.asarray(codes)
        if c.ndim != 2 or c.shape[1] != self.levels or c.dtype.kind not in "iu":
            raise BadInputError(f"codes must be integers of shape (N, {self.levels}); got {c.dtype} {c.shape}")
        if len(c) and (c.min() < 0 or c.max() >= self.codebook_size):
            raise BadInputError(f"codes must be in 0..{self.codebook_size - 1}")
        z = np.zeros((len(c), self.codebooks.shape[2]), dtype=np.float32)
        for level, centroids in enumerate(self.codebooks):
            z += centroids[c[:, level].astype(np.int64)]
        return (z @ self.axes.T + self.mean).astype(np.float32)

    def _check(self, vectors: np.ndarray, *, fitted: bool) -> np.ndarray:
        if fitted and self.codebooks is None:
            raise BadInputError("the baseline is not fitted", hint="call fit(vectors) first")
        x = np.asarray(vectors)
        if x.ndim != 2 or x.dtype.kind not in "fiu":
            raise BadInputError(f"vectors must be a 2-D array of numbers; got {x.dtype} {x.shape}")
        if fitted and x.shape[1] != self.axes.shape[0]:
            raise BadInputError(f"vectors have {x.shape[1]} dimensions; the baseline was fitted on "
                                f"{self.axes.shape[0]}")
        if not np.isfinite(x).all():
            bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
            raise BadInputError(f"{len(bad)} vectors hold NaN or inf (first: row {bad[0]})",
                                hint="drop those rows or re-extract their embeddings")
        return x
