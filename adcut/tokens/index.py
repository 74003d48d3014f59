"""A library's FAISS index of its own decoded tokens, one per tokenizer.

`adcut tokenizer encode` stores, beside the codes it writes into the catalog, the decoded
tokens of every library item: a footage clip's (the mean of its frames' decodings, as a clip's
embedding is the mean of its frames' embeddings) or a music window's, L2-normalised, in
`<library>/tokens/<tokenizer id>.faiss` (inner product = cosine, ids = the items' vec_ids, as
in the library's embeddings indexes) with a side file `<tokenizer id>.json`. It is what a
token string, decoded, is searched in to map it back to a clip (`adcut tokenizer show`, and
the round trip of `adcut tokenizer eval`): like compared with like.

The side file holds a fingerprint of what the index was built from: the tokenizer's stored
codes (every source's rows and codes) and the ids of the items they cover. When the catalog
no longer matches it (a source ingested, re-ingested or gone since; vec_ids are never
reused) the index is stale: `eval` and `show`, which open the library read-only, then decode
the library in memory, and the next `encode` rebuilds the file. A damaged file is stale too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from adcut.encoders.base import l2_normalize
from adcut.library.catalog import Catalog
from adcut.library.store import write_library_file
from adcut.tokens.library import ARRAYS, has_tokens_table, stored_codes

TOKEN_INDEX_DIR = "tokens"
INDEX_FORMAT = "adcut-token-index"


def token_index_paths(folder: Path, tok_id: str) -> tuple[Path, Path]:
    base = Path(folder) / TOKEN_INDEX_DIR
    return base / f"{tok_id}.faiss", base / f"{tok_id}.json"


def decoded_items(catalog: Catalog, tokenizer, tok_id: str) -> tuple[np.ndarray, list[int]]:
    """(decoded vectors, unit length; vec_ids) of every clip (video: the mean of its frames'
    decodings) or music window whose tokens the catalog holds, in source order. The codes of
    every source are decoded together (a still's one frame alone would cost a whole block)."""
    modality = tokenizer.config.modality
    _, kind = ARRAYS[modality]
    held: list[tuple[str, np.ndarray]] = []
    for source in catalog.sources(ARRAYS[modality][0]):
        codes = stored_codes(catalog, tok_id, source["id"], kind)
        if codes is not None:
            held.append((source["id"], codes))
    dim = tokenizer.config.input_dim
    if not held:
        return np.zeros((0, dim), np.float32), []
    decoded_all = tokenizer.decode(np.concatenate([codes for _, codes in held]))
    starts = np.cumsum([0] + [len(codes) for _, codes in held])
    queries, ids = [], []
    for (source_id, _), start, end in zip(held, starts[:-1], starts[1:]):
        decoded = decoded_all[start:end]
        if modality == "video":
            frames = catalog.con.execute(
                "SELECT f.row, c.vec_id FROM frames f JOIN clips c ON c.id = f.clip_id "
                "WHERE f.source_id = ? ORDER BY f.row", (source_id,)).fetchall()
            by_clip: dict[int, list[int]] = {}
            for f in frames:
                by_clip.setdefault(f["vec_id"], []).append(f["row"])
            for vec_id, rows in by_clip.items():
                queries.append(l2_normalize(decoded[rows].mean(axis=0)))
                ids.append(vec_id)
        else:
            for w in catalog.windows(source_id):
                queries.append(l2_normalize(decoded[w["emb_row"]]))
                ids.append(w["vec_id"])
    return np.asarray(queries, dtype=np.float32).reshape(-1, dim), ids


def fingerprint(catalog: Catalog, modality: str, tok_id: str) -> str:
    """A digest of what the index of `tok_id` is built from: the stored codes of every source
    and the ids of the items they cover (read from the catalog, nothing decoded)."""
    digest = hashlib.blake2b(digest_size=16)
    if not has_tokens_table(catalog):
        return digest.hexdigest()
    _, kind = ARRAYS[modality]
    for row in catalog.con.execute(
            "SELECT source_id, rows, codes FROM tokens WHERE tokenizer_id = ? AND kind = ? "
            "ORDER BY source_id", (tok_id, kind)):
        digest.update(f"{row['source_id']}\0{row['rows']}\0".encode())
        digest.update(bytes(row["codes"]))
    if modality == "video":
        items = catalog.con.execute(
            "SELECT c.vec_id, f.row FROM tokens t JOIN frames f ON f.source_id = t.source_id "
            "JOIN clips c ON c.id = f.clip_id WHERE t.tokenizer_id = ? AND t.kind = ? "
            "ORDER BY c.vec_id, f.row", (tok_id, kind))
    else:
        items = catalog.con.execute(
            "SELECT w.vec_id, w.emb_row FROM tokens t JOIN music_windows w "
            "ON w.source_id = t.source_id WHERE t.tokenizer_id = ? AND t.kind = ? "
            "ORDER BY w.vec_id", (tok_id, kind))
    digest.update(np.asarray([tuple(r) for r in items], dtype=np.int64).tobytes())
    return digest.hexdigest()


def build_token_index(catalog: Catalog, tokenizer, tok_id: str):
    """The index of the library's decoded tokens, built in memory."""
    import faiss

    vectors, ids = decoded_items(catalog, tokenizer, tok_id)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(tokenizer.config.input_dim))
    if ids:
        index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
    return index


def _fresh_count(catalog: Catalog, tokenizer, tok_id: str) -> int | None:
    """The item count of the stored index of `tok_id` when its side file and header are whole
    and it was built from what the catalog holds now (nothing but the header is read); None
    otherwise."""
    from adcut.library.index import read_index_header

    index_path, info_path = token_index_paths(catalog.folder, tok_id)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        header = read_index_header(index_path)
    except (OSError, ValueError):
        return None
    config = tokenizer.config
    if (not isinstance(info, dict) or info.get("format") != INDEX_FORMAT
            or info.get("tokenizer_id") != tok_id or info.get("dim") != config.input_dim
            or header.dim != config.input_dim or info.get("count") != header.count
            or info.get("fingerprint") != fingerprint(catalog, config.modality, tok_id)):
        return None
    return header.count


def load_token_index(catalog: Catalog, tokenizer, tok_id: str):
    """The stored index of `tok_id` when it is there, readable and fresh; None otherwise."""
    import faiss

    count = _fresh_count(catalog, tokenizer, tok_id)
    if count is None:
        return None
    try:
        index = faiss.read_index(str(token_index_paths(catalog.folder, tok_id)[0]))
    except (RuntimeError, MemoryError):
        return None
    return index if index.ntotal == count else None


def sync_token_index(catalog: Catalog, tokenizer, tok_id: str) -> dict:
    """Rebuild the stored index of `tok_id` unless it is fresh (the caller holds the library
    lock and a writable catalog): {"path", "items", "rebuilt"}."""
    import faiss

    index_path, info_path = token_index_paths(catalog.folder, tok_id)
    rel = str(index_path.relative_to(catalog.folder))
    count = _fresh_count(catalog, tokenizer, tok_id)
    if count is not None:
        return {"path": rel, "items": count, "rebuilt": False}
    config = tokenizer.config
    stamp = fingerprint(catalog, config.modality, tok_id)
    index = build_token_index(catalog, tokenizer, tok_id)
    write_library_file(catalog.folder, rel, faiss.serialize_index(index).tobytes())
    info = {"format": INDEX_FORMAT, "tokenizer_id": tok_id, "modality": config.modality,
            "dim": index.d, "count": int(index.ntotal), "fingerprint": stamp}
    write_library_file(catalog.folder, str(info_path.relative_to(catalog.folder)),
                       (json.dumps(info, indent=2) + "\n").encode())
    return {"path": rel, "items": int(index.ntotal), "rebuilt": True}


def decoded_library(catalog: Catalog, tokenizer, tok_id: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(decoded vectors of the library's items, their vec_ids, whether they came from the
    stored index): the stored index when fresh, else the library decoded now."""
    import faiss

    index = load_token_index(catalog, tokenizer, tok_id)
    stored = index is not None
    if index is None:
        vectors, ids = decoded_items(catalog, tokenizer, tok_id)
        return vectors, np.asarray(ids, dtype=np.int64), False
    vectors = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros(
        (0, index.d), np.float32)
    return vectors, faiss.vector_to_array(index.id_map).astype(np.int64), stored
