"""`adcut tokenizer show`: what the model sees of a clip, and what a token string means.

A clip's token string is built from the codes stored by `adcut tokenizer encode` (or, when
the library has not been encoded by this tokenizer, from its frame embeddings encoded now).
Its decoded tokens (the mean of its frames' decodings, as a clip vector is the mean of its
frames' embeddings) are searched in the library's index. The inverse takes a token string,
as a language model writes it, and lists the library items nearest to its decoding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError
from adcut.library.catalog import Catalog
from adcut.library.store import load_embeddings
from adcut.tokens.evaluate import nearest
from adcut.tokens.library import ARRAYS, clip_frame_rows, stored_codes, tokenizer_id


def _source_codes(catalog: Catalog, tokenizer, tok_id: str, source_id: str, kind: str
                  ) -> np.ndarray:
    codes = stored_codes(catalog, tok_id, source_id, kind)
    if codes is not None:
        return codes
    record = catalog.embedding(source_id, kind)
    if record is None:
        raise BadInputError(f"source {source_id} has no {kind} embeddings",
                            hint=f"run adcut library check --repair {catalog.folder}")
    tokenizer.check_encoder(record["encoder"], record["encoder_version"])
    return tokenizer.encode(load_embeddings(catalog.folder, record["path"], record["rows"],
                                            record["dim"]))


def show_item(catalog: Catalog, tokenizer, folder: Path, *, item: str | None, at_s: float | None,
              tokens: str | None, k: int = 5) -> dict:
    """{"tokens": the token string, "what": what it encodes, "nearest": [(id, cosine)]}."""
    from adcut.tokens import vocab

    modality = tokenizer.config.modality
    _, kind = ARRAYS[modality]
    tok_id = tokenizer_id(folder)
    size = tokenizer.config.codebook_size
    if tokens is not None:
        if item is not None:
            raise BadInputError("give a clip id or --tokens, not both")
        levels = tokenizer.config.levels
        if modality == "video":
            codes = vocab.parse_clip(tokens, levels=levels, codebook_size=size, strict=False).codes
            what = f"{len(codes)} frames of video tokens"
        else:
            codes = vocab.parse_track(tokens, levels=levels, codebook_size=size, strict=False)[None]
            what = "a music track's audio tokens"
        if codes.size == 0 or (codes < 0).any():
            raise BadInputError(f"the token string holds no complete {levels}-level "
                                f"{'frame' if modality == 'video' else 'track'}",
                                hint="give every level's token, e.g. " + (
                                    vocab.frame_string(np.zeros(levels, int), size)
                                    if modality == "video"
                                    else vocab.track_string(np.zeros(levels, int), size)))
        text = tokens
    elif item is None:
        raise BadInputError("nothing to show", hint="give a clip id, a file with --at, or --tokens")
    elif at_s is not None:
        codes, text, what = _at_time(catalog, tokenizer, tok_id, item, at_s, modality, kind)
    elif modality == "video":
        source_id, rows = clip_frame_rows(catalog, item)
        codes = _source_codes(catalog, tokenizer, tok_id, source_id, kind)[rows]
        text, what = vocab.clip_string(codes, codebook_size=size), f"clip {item}, {len(rows)} frames"
    else:
        window = catalog.con.execute("SELECT source_id, emb_row FROM music_windows WHERE id = ?",
                                     (item,)).fetchone()
        if window is None:
            raise BadInputError(f"no music window {item!r} in {catalog.folder}",
                                hint=f"list the tracks with: adcut library ls --music "
                                     f"{catalog.folder}")
        codes = _source_codes(catalog, tokenizer, tok_id, window["source_id"], kind)
        codes = codes[[window["emb_row"]]]
        text, what = vocab.track_string(codes[0], size), f"music window {item}"
    decoded = tokenizer.decode(codes).mean(axis=0)
    return {"tokens": text, "what": what, "nearest": nearest(catalog, modality, decoded, k),
            "nearest_by_tokens": nearest_by_tokens(catalog, tokenizer, tok_id, decoded, k)}


def nearest_by_tokens(catalog: Catalog, tokenizer, tok_id: str, vector: np.ndarray, k: int
                      ) -> list[tuple[str, float]]:
    """(id, cosine) of the k library items whose own decoded tokens lie nearest to `vector`:
    like compared with like, the mapping that `eval`'s round trip finds the surer of the two.
    They come from the library's stored index of decoded tokens (adcut.tokens.index), or are
    decoded now where it is stale. Empty until `adcut tokenizer encode` has stored the tokens."""
    from adcut.encoders.base import l2_normalize
    from adcut.tokens.evaluate import INDEXES
    from adcut.tokens.index import decoded_library

    items, vec_ids, _ = decoded_library(catalog, tokenizer, tok_id)
    if not len(vec_ids):
        return []
    scores = items @ l2_normalize(vector.astype(np.float32))
    order = np.argsort(-scores, kind="stable")[:k]
    table = INDEXES[tokenizer.config.modality][1]
    out = []
    for i in order:
        row = catalog.con.execute(f"SELECT id FROM {table} WHERE vec_id = ?",
                                  (int(vec_ids[i]),)).fetchone()
        if row is not None:
            out.append((row["id"], round(float(scores[i]), 4)))
    return out


def _at_time(catalog: Catalog, tokenizer, tok_id: str, path: str, at_s: float, modality: str,
             kind: str) -> tuple[np.ndarray, str, str]:
    from adcut.tokens import vocab

    source_kind = ARRAYS[modality][0]
    source = catalog.source_by_path(source_kind, str(Path(path).resolve()))
    if source is None:
        raise BadInputError(f"{path} is not {source_kind} of {catalog.folder}",
                            hint=f"ingest it first, or give a {'clip' if modality == 'video' else 'window'} id")
    codes = _source_codes(catalog, tokenizer, tok_id, source["id"], kind)
    size = tokenizer.config.codebook_size
    if modality == "video":
        frame = catalog.con.execute(
            "SELECT row, t_s FROM frames WHERE source_id = ? ORDER BY abs(t_s - ?) LIMIT 1",
            (source["id"], at_s)).fetchone()
        row = codes[[frame["row"]]]
        return row, vocab.frame_string(row[0], size), f"the frame at {frame['t_s']:.2f} s of {path}"
    window = catalog.con.execute(
        "SELECT id, emb_row FROM music_windows WHERE source_id = ? "
        "ORDER BY abs((start_s + end_s) / 2 - ?) LIMIT 1", (source["id"], at_s)).fetchone()
    row = codes[[window["emb_row"]]]
    return row, vocab.track_string(row[0], size), f"music window {window['id']} of {path}"
