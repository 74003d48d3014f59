"""How good a tokenizer is on a library: `adcut tokenizer eval` and `adcut tokenizer show`.

Reconstruction: the mean cosine between a vector and the decoding of its own codes, on the
sources the tokenizer held out in training (its report.json names them; without it every
vector is measured and the figure is marked in-sample). Codebook use and perplexity per level,
and the share of distinct token strings, say whether the codes spread over the codebooks.
Round-trip retrieval asks what a language model's output is worth: decode a clip's tokens (its
frames', averaged; a window's for music) and count how often the clip itself comes first when
the result is searched (a) in the library's FAISS index of embeddings, as the paper maps a
model's output back to media, and (b) among the decodings of every library item's own tokens
(the library's index of decoded tokens that `encode` stores, adcut.tokens.index), like
compared with like. (a) is bounded by how alike the library's clips are: where a neighbour
lies closer to a clip than the clip's decoding does (cosine 0.95-0.99 in a library of takes
cut into short clips), no tokenizer of 8 bytes can tell them apart that way, and a clip the
tokenizer never trained on is decoded less closely (so (a) is also given for the items of
the held-out sources); (b) fails only where two items' tokens decode to about the same
vector. Both are also given for the items the encoder itself tells apart, those with no
other item within cosine DISTINCT_COS of their embedding: a picture stored twice, or a still
scene cut into two clips, is one picture to the encoder, and no token string can say which
of the two it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError
from adcut.encoders.base import l2_normalize
from adcut.library.catalog import Catalog
from adcut.library.index import load_index
from adcut.tokens.index import decoded_items, decoded_library  # noqa: F401 (decoded_items: re-exported)
from adcut.tokens.library import library_vectors, tokenizer_id
from adcut.tokens.train import code_statistics, cosine_rows

# Two items whose embeddings are closer than this are the same picture (or sound) to the
# encoder: the round trip is also reported without them.
DISTINCT_COS = 0.99
# modality -> (FAISS index name, catalog table of its rows)
INDEXES = {"video": ("clips", "clips"), "audio": ("music", "music_windows")}


def heldout_sources(folder: Path) -> list[str] | None:
    """The sources a tokenizer held out in training (from its report.json), or None."""
    path = Path(folder) / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    held = report.get("heldout_sources") if isinstance(report, dict) else None
    return [str(s) for s in held] if isinstance(held, list) else None


@dataclass
class RoundTrip:
    items: int
    first: int  # (a) found first in the embeddings index
    first_decoded: int  # (b) found first among the library's decoded tokens
    distinct: int = 0  # items with no other item within DISTINCT_COS of their embedding
    first_distinct: int = 0  # (a) among them
    first_decoded_distinct: int = 0  # (b) among them
    heldout: int = 0  # items of the sources the tokenizer held out in training
    first_heldout: int = 0  # (a) among them
    first_decoded_heldout: int = 0  # (b) among them
    stored_index: bool = False  # (b) searched the library's stored index of decoded tokens

    @property
    def accuracy(self) -> float:
        return self.first / self.items if self.items else 0.0

    @property
    def accuracy_decoded(self) -> float:
        return self.first_decoded / self.items if self.items else 0.0


def round_trip(catalog: Catalog, tokenizer, tok_id: str,
               heldout: list[str] | None = None) -> RoundTrip:
    """Decode each clip's (or music window's) stored tokens and count the items found first,
    (a) in the library's embeddings index and (b) among the library's decoded tokens; also
    among the items of the `heldout` sources (those the tokenizer never trained on)."""
    import faiss

    name, _ = INDEXES[tokenizer.config.modality]
    index, _ = load_index(catalog.folder, name)
    if index is None:
        raise BadInputError(f"{catalog.folder} has no {name} index",
                            hint=f"run adcut library check --repair {catalog.folder}")
    # the library's decoded tokens: its stored index (adcut tokenizer encode) when fresh
    queries, wanted_ids, from_store = decoded_library(catalog, tokenizer, tok_id)
    wanted = wanted_ids.tolist()
    if not wanted:
        return RoundTrip(0, 0, 0)
    scores, ids = index.search(queries, min(2, index.ntotal))
    # first in the index, and strictly: an equal second is a tie, a miss
    first = (ids[:, 0] == wanted_ids) & ((scores[:, 1] < scores[:, 0]) if ids.shape[1] > 1
                                         else True)
    decoded_index = faiss.IndexFlatIP(queries.shape[1])
    decoded_index.add(queries)
    k = min(2, len(wanted))
    d_scores, d_ids = decoded_index.search(queries, k)
    own = np.arange(len(wanted))
    first_decoded = (d_ids[:, 0] == own) & ((d_scores[:, 1] < d_scores[:, 0]) if k > 1
                                            else True)
    # the items' own embeddings, and the nearest other item to each
    stored = index.index.reconstruct_n(0, index.ntotal)
    row_of = {int(v): i for i, v in enumerate(faiss.vector_to_array(index.id_map))}
    originals = stored[[row_of[w] for w in wanted]]
    o_scores, _ = index.search(originals, min(2, index.ntotal))
    distinct = (o_scores[:, 1] <= DISTINCT_COS if o_scores.shape[1] > 1
                else np.ones(len(wanted), dtype=bool))
    table = INDEXES[tokenizer.config.modality][1]
    source_of = {r["vec_id"]: r["source_id"]
                 for r in catalog.con.execute(f"SELECT vec_id, source_id FROM {table}")}
    held = set(heldout or ())
    in_held = np.asarray([source_of.get(w) in held for w in wanted], dtype=bool)
    return RoundTrip(len(wanted), int(first.sum()), int(first_decoded.sum()),
                     int(distinct.sum()), int((first & distinct).sum()),
                     int((first_decoded & distinct).sum()),
                     int(in_held.sum()), int((first & in_held).sum()),
                     int((first_decoded & in_held).sum()), from_store)


def evaluate_tokenizer(catalog: Catalog, tokenizer, folder: Path) -> dict:
    """Every figure of `adcut tokenizer eval`, as a JSON-ready dict."""
    config = tokenizer.config
    lib = library_vectors(catalog, config.modality)
    tokenizer.check_encoder(lib.encoder, lib.encoder_version)
    held = heldout_sources(folder)
    sources = np.asarray(lib.sources)
    mask = np.isin(sources, held) if held else np.ones(len(sources), dtype=bool)
    in_sample = not held or not mask.any()
    if in_sample:
        mask[:] = True
    codes = tokenizer.encode(lib.vectors)  # once: the statistics and the reconstruction
    stats = code_statistics(codes, config.codebook_size)
    cos = cosine_rows(tokenizer.decode(codes[mask]), lib.vectors[mask])
    tok_id = tokenizer_id(folder)
    trip = round_trip(catalog, tokenizer, tok_id, None if in_sample else held)
    return {
        "tokenizer": str(folder), "tokenizer_id": tok_id, "modality": config.modality,
        "encoder": f"{config.encoder} {config.encoder_version}",
        "levels": config.levels, "codebook_size": config.codebook_size,
        "vectors": int(len(lib.vectors)), "measured_vectors": int(mask.sum()),
        "measured_on": "all vectors (in-sample: no held-out sources recorded in this library)"
                       if in_sample else f"the {len(set(sources[mask]))} held-out sources",
        "reconstruction_cos": round(float(cos.mean()), 4),
        "level_use": [round(u, 4) for u in stats["level_use"]],
        "level_perplexity": [round(p, 2) for p in stats["level_perplexity"]],
        "distinct_token_strings": round(stats["distinct_share"], 4),
        "round_trip": {"items": trip.items, "first": trip.first,
                       "accuracy": round(trip.accuracy, 4),
                       "first_among_decoded": trip.first_decoded,
                       "accuracy_among_decoded": round(trip.accuracy_decoded, 4),
                       "distinct_items": trip.distinct,
                       "distinct_cos": DISTINCT_COS,
                       "accuracy_distinct": round(trip.first_distinct / trip.distinct, 4)
                       if trip.distinct else 0.0,
                       "accuracy_among_decoded_distinct":
                           round(trip.first_decoded_distinct / trip.distinct, 4)
                           if trip.distinct else 0.0,
                       # the items of the held-out sources, which the tokenizer never saw
                       "heldout_items": trip.heldout,
                       "accuracy_heldout": round(trip.first_heldout / trip.heldout, 4)
                       if trip.heldout else None,
                       "accuracy_among_decoded_heldout":
                           round(trip.first_decoded_heldout / trip.heldout, 4)
                           if trip.heldout else None,
                       "decoded_tokens_from": "the library's stored index" if trip.stored_index
                       else "the library decoded now (adcut tokenizer encode stores an index)",
                       "note": "" if trip.items else "no tokens stored yet: run adcut "
                                                     "tokenizer encode first"},
    }


def nearest(catalog: Catalog, modality: str, vector: np.ndarray, k: int = 5
            ) -> list[tuple[str, float]]:
    """(clip or window id, cosine) of the k library items nearest to `vector`."""
    name, table = INDEXES[modality]
    index, _ = load_index(catalog.folder, name)
    if index is None or index.ntotal == 0:
        return []
    scores, ids = index.search(l2_normalize(vector.astype(np.float32))[None], min(k, index.ntotal))
    out = []
    for score, vec_id in zip(scores[0], ids[0]):
        row = catalog.con.execute(f"SELECT id FROM {table} WHERE vec_id = ?",
                                  (int(vec_id),)).fetchone()
        if row is not None:
            out.append((row["id"], round(float(score), 4)))
    return out
