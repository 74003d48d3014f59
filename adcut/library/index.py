"""FAISS indexes over clip embeddings and music-window embeddings.

The index is derived data: the catalog is the truth. `sync_index` brings an index file in line
with the catalog by adding the vectors it lacks and removing the ones whose rows are gone, so an
ingest that was interrupted before the index step is repaired by the next run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.library.catalog import Catalog
from adcut.library.store import INDEX_DIR, load_embeddings, write_atomic

# What each index covers: the table with vec_ids, and the embedding kind holding their vectors.
INDEXES = {
    "clips": ("clips", "clips"),  # vision embeddings of clips
    "texts": ("clips", "texts"),  # text embeddings of what each clip shows
    "music": ("music_windows", "windows"),
}


@dataclass(frozen=True)
class SyncReport:
    name: str
    added: int
    removed: int
    total: int


def _paths(folder: Path, name: str) -> tuple[Path, Path]:
    return folder / INDEX_DIR / f"{name}.faiss", folder / INDEX_DIR / f"{name}.json"


def _new_index(dim: int):
    import faiss

    # Inner product over L2-normalised vectors = cosine similarity. Exact search is fast enough
    # for a personal library (100k clips x 1280-d is ~0.5 GB float32, a few ms per query).
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def load_index(folder: Path, name: str):
    """(faiss index, info dict) or (None, None) when the index has not been built."""
    import faiss

    index_path, info_path = _paths(folder, name)
    if not index_path.exists() or not info_path.exists():
        return None, None
    info = json.loads(info_path.read_text())
    return faiss.read_index(str(index_path)), info


def sync_index(catalog: Catalog, name: str) -> SyncReport:
    """Make index `name` hold exactly the vectors of the catalog's rows."""
    import faiss

    table, kind = INDEXES[name]
    folder = catalog.folder
    rows = catalog.con.execute(
        f"SELECT t.vec_id, t.source_id, t.emb_row FROM {table} t JOIN embeddings e "
        f"ON e.source_id = t.source_id AND e.kind = ? ORDER BY t.vec_id", (kind,)).fetchall()
    wanted = {r["vec_id"]: (r["source_id"], r["emb_row"]) for r in rows}
    encoders = catalog.encoders_in_use(kind)
    index, info = load_index(folder, name)
    encoder = sorted(encoders)[0] if encoders else None
    if index is not None and info is not None and encoder is not None:
        if [info.get("encoder"), info.get("encoder_version")] != list(encoder):
            index = None  # built with another encoder: rebuild from scratch
    present: set[int] = set()
    if index is not None:
        present = {int(i) for i in faiss.vector_to_array(index.id_map)}
    stale = present - wanted.keys()
    missing = sorted(wanted.keys() - present)
    if index is not None and not stale and not missing:
        return SyncReport(name, 0, 0, index.ntotal)
    if index is None:
        if not wanted:
            return SyncReport(name, 0, 0, 0)
        first = catalog.embedding(next(iter(wanted.values()))[0], kind)
        index = _new_index(int(first["dim"]))
    if stale:
        index.remove_ids(np.array(sorted(stale), dtype=np.int64))
    if missing:
        by_source: dict[str, list[tuple[int, int]]] = {}
        for vec_id in missing:
            source_id, emb_row = wanted[vec_id]
            by_source.setdefault(source_id, []).append((vec_id, emb_row))
        for source_id, items in by_source.items():
            rel = catalog.embedding(source_id, kind)["path"]
            vectors = load_embeddings(folder, rel)
            ids = np.array([vec_id for vec_id, _ in items], dtype=np.int64)
            index.add_with_ids(vectors[[row for _, row in items]], ids)
    _save(folder, name, index, encoder)
    return SyncReport(name, len(missing), len(stale), index.ntotal)


def _save(folder: Path, name: str, index, encoder: tuple[str, str] | None) -> None:
    import faiss

    index_path, info_path = _paths(folder, name)
    index_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = index_path.with_name(f".{index_path.name}.{os.getpid()}.tmp")
    try:
        faiss.write_index(index, str(tmp))
        os.replace(tmp, index_path)
    finally:
        tmp.unlink(missing_ok=True)
    info = {"encoder": encoder[0] if encoder else None,
            "encoder_version": encoder[1] if encoder else None,
            "dim": index.d, "count": index.ntotal}
    write_atomic(info_path, json.dumps(info, indent=2).encode())


def search(folder: Path, name: str, query: np.ndarray, k: int = 10) -> list[list[tuple[int, float]]]:
    """Top-k (vec_id, cosine) per query row."""
    index, _ = load_index(folder, name)
    if index is None or index.ntotal == 0:
        return [[] for _ in range(len(np.atleast_2d(query)))]
    q = np.ascontiguousarray(np.atleast_2d(query), dtype=np.float32)
    scores, ids = index.search(q, min(k, index.ntotal))
    return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0]
            for row_ids, row_scores in zip(ids, scores)]
