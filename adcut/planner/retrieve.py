"""Candidate retrieval for large libraries: the clips whose words are nearest the script's,
through the FAISS index of clip text embeddings built at ingest."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


class TextRetriever:
    """`retriever(queries, k)` -> clip ids, best first. `lookup_s` counts FAISS search time,
    `total_s` the whole look-up (query encoding + search)."""

    def __init__(self, folder: Path):
        from adcut.encoders.registry import load_text_encoder
        from adcut.library.catalog import Catalog
        from adcut.library.index import load_index

        self.index, info = load_index(folder, "texts")
        if self.index is None or info is None or not info.get("encoder"):
            raise LookupError(f"{folder} has no text index")
        self.encoder = load_text_encoder(info["encoder"])
        with Catalog(folder, readonly=True) as catalog:
            self.clip_of = {r["vec_id"]: r["id"] for r in catalog.clips()}
        self.lookup_s = 0.0
        self.total_s = 0.0
        self.lookups = 0

    def __call__(self, queries: list[str], k: int) -> list[str]:
        began = time.perf_counter()
        vectors = np.ascontiguousarray(self.encoder.encode_texts(queries), dtype=np.float32)
        started = time.perf_counter()
        scores, ids = self.index.search(vectors, min(k, self.index.ntotal))
        self.lookup_s += time.perf_counter() - started
        self.total_s += time.perf_counter() - began
        self.lookups += len(queries)
        best: dict[str, float] = {}
        for row_ids, row_scores in zip(ids, scores):
            for vec_id, score in zip(row_ids, row_scores):
                clip = self.clip_of.get(int(vec_id))
                if clip is not None and score > best.get(clip, -2.0):
                    best[clip] = float(score)
        return sorted(best, key=lambda c: -best[c])


def open_retriever(folder: Path) -> TextRetriever | None:
    """A retriever when the library has a text index, else None (plan over every clip)."""
    try:
        return TextRetriever(folder)
    except LookupError:
        return None
