"""FAISS indexes over clip embeddings and music-window embeddings.

The index is derived data: the catalog is the truth. `sync_index` brings an index file in line
with the catalog by adding the vectors it lacks and removing the ones whose rows are gone, so an
ingest that was interrupted before the index step is repaired by the next run; an index that
cannot be read (a damaged file), or that was built with another encoder or dimension, is
rebuilt from the arrays.

Reading an index never gives a FAISS traceback: `load_index` checks the file's layout against
its size before FAISS reads it (a garbled count cannot make FAISS allocate gigabytes) and
raises a `LibraryError` naming the file.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.library.catalog import Catalog
from adcut.library.store import (INDEX_DIR, DamagedFileError, load_embeddings,
                                 write_library_file)

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
    rebuilt: str = ""  # why the index was rebuilt from scratch, if it was


@dataclass(frozen=True)
class IndexHeader:
    dim: int
    count: int


def index_paths(folder: Path, name: str) -> tuple[Path, Path]:
    return folder / INDEX_DIR / f"{name}.faiss", folder / INDEX_DIR / f"{name}.json"


# The file FAISS writes for IndexIDMap2(IndexFlatIP): "IxM2" + header, "IxFI" + header, the
# vectors (a count of floats, then float32s), the ids (a count, then int64s). A header is
# d (int32), ntotal (int64), two int64 placeholders, is_trained (uint8), metric (int32).
_HEADER = struct.Struct("<iqqqBi")


def read_index_header(path: Path) -> IndexHeader:
    """Dimension and vector count of an index file, from its first bytes and its size; raises
    ValueError when the file is not a whole index of the kind adcut writes."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(2 * (4 + _HEADER.size) + 8)
    if len(head) < 2 * (4 + _HEADER.size) + 8:
        raise ValueError(f"{size} bytes: too short for an index")
    if head[:4] != b"IxM2" or head[4 + _HEADER.size: 8 + _HEADER.size] != b"IxFI":
        raise ValueError("not an adcut FAISS index (unknown layout)")
    d, ntotal, *_ = _HEADER.unpack_from(head, 4)
    d2, ntotal2, *_ = _HEADER.unpack_from(head, 8 + _HEADER.size)
    (floats,) = struct.unpack_from("<q", head, 2 * (4 + _HEADER.size))
    if d <= 0 or ntotal < 0 or (d, ntotal) != (d2, ntotal2) or floats != d * ntotal:
        raise ValueError("its header contradicts itself")
    expected = 2 * (4 + _HEADER.size) + 8 + 4 * d * ntotal + 8 + 8 * ntotal
    if size != expected:
        raise ValueError(f"{size} bytes where its header says {expected}")
    return IndexHeader(d, ntotal)


def _index_error(folder: Path, path: Path, problem: str) -> DamagedFileError:
    return DamagedFileError("the index", path, problem, folder)


def read_index_info(folder: Path, name: str) -> dict | None:
    """The index's JSON side file (encoder, dim, count), None when absent."""
    _, info_path = index_paths(folder, name)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _index_error(folder, info_path,
                           f"unreadable ({' '.join(str(exc).split())[:100]})") from exc
    if not isinstance(info, dict):
        raise _index_error(folder, info_path, "unreadable (not a JSON object)")
    return info


def check_index_file(folder: Path, name: str) -> tuple[IndexHeader | None, dict | None]:
    """(header, info) of an index, read cheaply (header and side file, not the vectors);
    (None, None) when it has not been built. Raises LibraryError when it is damaged."""
    index_path, info_path = index_paths(folder, name)
    if not index_path.exists():
        if info_path.exists():
            raise _index_error(folder, index_path, "missing (its .json side file is there)")
        return None, None
    info = read_index_info(folder, name)
    if info is None:
        raise _index_error(folder, info_path, "missing (the .faiss file is there)")
    try:
        header = read_index_header(index_path)
    except (OSError, ValueError, struct.error) as exc:
        raise _index_error(folder, index_path, f"unreadable ({exc})") from exc
    if info.get("dim") != header.dim or info.get("count") != header.count:
        raise _index_error(folder, index_path,
                           f"inconsistent: it holds {header.count} x {header.dim}-d, its side "
                           f"file says {info.get('count')} x {info.get('dim')}-d")
    return header, info


def _new_index(dim: int):
    import faiss

    # Inner product over L2-normalised vectors = cosine similarity. Exact search is fast enough
    # for a personal library (100k clips x 1280-d is ~0.5 GB float32, a few ms per query).
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def load_index(folder: Path, name: str):
    """(faiss index, info dict) or (None, None) when the index has not been built; a
    damaged index is a LibraryError."""
    import faiss

    header, info = check_index_file(folder, name)
    if header is None:
        return None, None
    index_path, _ = index_paths(folder, name)
    try:
        index = faiss.read_index(str(index_path))
        ids = faiss.vector_to_array(index.id_map)
    except (RuntimeError, AttributeError, MemoryError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _index_error(folder, index_path, f"unreadable ({first[:120]})") from exc
    if index.ntotal != header.count or len(ids) != header.count:
        raise _index_error(folder, index_path, "unreadable (its vectors and ids disagree)")
    return index, info


def index_ids(index) -> set[int]:
    import faiss

    return {int(i) for i in faiss.vector_to_array(index.id_map)}


def catalog_vectors(catalog: Catalog, name: str) -> dict[int, tuple[str, int]]:
    """vec_id -> (source_id, row in its array) of every vector index `name` must hold."""
    table, kind = INDEXES[name]
    rows = catalog.con.execute(
        f"SELECT t.vec_id, t.source_id, t.emb_row FROM {table} t JOIN embeddings e "
        f"ON e.source_id = t.source_id AND e.kind = ? ORDER BY t.vec_id", (kind,)).fetchall()
    return {r["vec_id"]: (r["source_id"], r["emb_row"]) for r in rows}


def catalog_encoder(catalog: Catalog, name: str) -> tuple[str, str] | None:
    encoders = catalog.encoders_in_use(INDEXES[name][1])
    return sorted(encoders)[0] if encoders else None


def sync_index(catalog: Catalog, name: str) -> SyncReport:
    """Make index `name` hold exactly the vectors of the catalog's rows."""
    table, kind = INDEXES[name]
    folder = catalog.folder
    wanted = catalog_vectors(catalog, name)
    encoder = catalog_encoder(catalog, name)
    dim = None
    if wanted:
        dim = int(catalog.embedding(next(iter(wanted.values()))[0], kind)["dim"])
    rebuilt = ""
    try:
        index, info = load_index(folder, name)
    except DamagedFileError as exc:
        index, info, rebuilt = None, None, f"{exc.path.name} was {exc.detail}"
    if index is not None and info is not None and encoder is not None:
        if [info.get("encoder"), info.get("encoder_version")] != list(encoder):
            index, rebuilt = None, "built with another encoder"
        elif dim is not None and index.d != dim:
            index, rebuilt = None, f"{index.d}-d where the catalog's vectors are {dim}-d"
    present = index_ids(index) if index is not None else set()
    stale = present - wanted.keys()
    missing = sorted(wanted.keys() - present)
    if index is not None and not stale and not missing:
        return SyncReport(name, 0, 0, index.ntotal)
    if index is None:
        if not wanted:
            _remove(folder, name)
            return SyncReport(name, 0, 0, 0, rebuilt)
        index = _new_index(dim)
    if stale:
        index.remove_ids(np.array(sorted(stale), dtype=np.int64))
    if missing:
        by_source: dict[str, list[tuple[int, int]]] = {}
        for vec_id in missing:
            source_id, emb_row = wanted[vec_id]
            by_source.setdefault(source_id, []).append((vec_id, emb_row))
        for source_id, items in by_source.items():
            record = catalog.embedding(source_id, kind)
            vectors = load_embeddings(folder, record["path"], record["rows"], record["dim"])
            ids = np.array([vec_id for vec_id, _ in items], dtype=np.int64)
            index.add_with_ids(vectors[[row for _, row in items]], ids)
    _save(folder, name, index, encoder)
    return SyncReport(name, len(missing), len(stale), index.ntotal, rebuilt)


def forget_vectors(catalog: Catalog, name: str, vec_ids: list[int]) -> None:
    """Drop these vectors from index `name` (their arrays were rewritten in place, e.g. the
    text embeddings of clips whose captions changed); the next `sync_index` adds them back
    from the arrays. A missing or damaged index is left to `sync_index`."""
    try:
        index, info = load_index(catalog.folder, name)
    except DamagedFileError:
        return
    if index is None or not vec_ids:
        return
    index.remove_ids(np.array(sorted(vec_ids), dtype=np.int64))
    encoder = (info.get("encoder"), info.get("encoder_version")) if info else None
    _save(catalog.folder, name, index, encoder)


def _remove(folder: Path, name: str) -> None:
    """Drop an index that should hold nothing (a damaged one, or one whose rows are gone)."""
    for path in index_paths(folder, name):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _save(folder: Path, name: str, index, encoder: tuple[str, str] | None) -> None:
    """Write the index and then its side file, each atomically (a full disk is one line)."""
    import faiss

    index_path, info_path = index_paths(folder, name)
    data = faiss.serialize_index(index)
    write_library_file(folder, str(index_path.relative_to(folder)), data.tobytes())
    info = {"encoder": encoder[0] if encoder else None,
            "encoder_version": encoder[1] if encoder else None,
            "dim": index.d, "count": index.ntotal}
    write_library_file(folder, str(info_path.relative_to(folder)),
                       json.dumps(info, indent=2).encode())


def search(folder: Path, name: str, query: np.ndarray, k: int = 10) -> list[list[tuple[int, float]]]:
    """Top-k (vec_id, cosine) per query row."""
    index, _ = load_index(folder, name)
    if index is None or index.ntotal == 0:
        return [[] for _ in range(len(np.atleast_2d(query)))]
    q = np.ascontiguousarray(np.atleast_2d(query), dtype=np.float32)
    scores, ids = index.search(q, min(k, index.ntotal))
    return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0]
            for row_ids, row_scores in zip(ids, scores)]
