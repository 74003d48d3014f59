"""Files beside the catalog: embedding arrays and thumbnails, always written atomically."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from adcut.core.files import write_atomic  # noqa: F401  (re-exported for library code)

EMB_DIR = "emb"
THUMB_DIR = "thumbs"
INDEX_DIR = "index"


def save_embeddings(folder: Path, rel: str, vectors: np.ndarray) -> None:
    """Store L2-normalised vectors as float16 (half the disk, ample precision for cosine)."""
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(vectors, dtype=np.float16))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def load_embeddings(folder: Path, rel: str) -> np.ndarray:
    """float32 copy of a stored array (FAISS and numpy maths want float32)."""
    return np.load(folder / rel).astype(np.float32)


def hash_file(path: Path, chunk_bytes: int = 1 << 22) -> str:
    """blake2b-256 of the file's bytes: the identity of a source, whatever its name."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
