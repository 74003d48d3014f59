"""Tokens and a library: the vectors a tokenizer trains on, and the codes it stores back.

A video tokenizer reads the 1 fps frame embeddings of the footage ('frames' arrays), an audio
tokenizer the embeddings of the music windows ('windows' arrays). Each source is one group,
so held-out data never shares a file with training data. The codes of a source's array are
kept in the catalog (table `tokens`, schema v3) under the tokenizer's id, a hash of its
weights and config: `encode_library` is incremental like ingest (a source already encoded by
this tokenizer is skipped; a re-ingested source loses its codes with its old records), and
keeps the library's FAISS index of its decoded tokens beside them (adcut.tokens.index).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, LibraryError
from adcut.library.catalog import Catalog
from adcut.library.store import load_embeddings

# modality -> (source kind, embedding array kind)
ARRAYS = {"video": ("footage", "frames"), "audio": ("music", "windows")}


@dataclass(frozen=True)
class LibraryVectors:
    """Every vector of one modality of a library, with the source each came from."""

    vectors: np.ndarray  # (N, dim) float32
    sources: list[str]  # source id per row
    rows: list[int]  # row in its source's array
    encoder: str
    encoder_version: str

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def library_vectors(catalog: Catalog, modality: str) -> LibraryVectors:
    """The frame (video) or music-window (audio) embeddings of the library, in source order.
    Refused when the library has none, or when its sources were embedded by different
    encoders (a tokenizer learns one encoder's space)."""
    if modality not in ARRAYS:
        raise BadInputError(f"unknown modality {modality!r}", hint="use --modality video or audio")
    source_kind, kind = ARRAYS[modality]
    records = [r for r in catalog.embeddings() if r["kind"] == kind]
    what = "frame" if modality == "video" else "music-window"
    if not records:
        raise BadInputError(
            f"{catalog.folder} holds no {what} embeddings",
            hint=f"ingest {'footage' if modality == 'video' else 'music'} first: "
                 f"adcut ingest {'FOOTAGE' if modality == 'video' else '--music MUSIC'} "
                 f"--library {catalog.folder}")
    encoders = sorted({(r["encoder"], r["encoder_version"]) for r in records})
    if len(encoders) > 1:
        listed = ", ".join(f"{e} {v}" for e, v in encoders)
        raise BadInputError(f"{catalog.folder}: the {what} embeddings come from {len(encoders)} "
                            f"encoders ({listed})",
                            hint="re-ingest the library with one encoder")
    arrays, sources, rows = [], [], []
    for r in records:
        array = load_embeddings(catalog.folder, r["path"], r["rows"], r["dim"])
        arrays.append(array)
        sources += [r["source_id"]] * len(array)
        rows += list(range(len(array)))
    encoder, version = encoders[0]
    return LibraryVectors(np.concatenate(arrays), sources, rows, encoder, version)


def tokenizer_id(folder: Path) -> str:
    """The id under which a tokenizer's codes are stored: its config and weights, hashed."""
    digest = hashlib.blake2b(digest_size=8)
    for name in ("config.json", "model.safetensors"):
        digest.update((Path(folder) / name).read_bytes())
    return digest.hexdigest()


def _blob(codes: np.ndarray, codebook_size: int) -> bytes:
    dtype = np.uint8 if codebook_size <= 256 else np.dtype("<u2")
    return np.ascontiguousarray(codes, dtype=dtype).tobytes()


def _codes(blob: bytes, rows: int, levels: int, codebook_size: int) -> np.ndarray:
    dtype = np.uint8 if codebook_size <= 256 else np.dtype("<u2")
    array = np.frombuffer(blob, dtype=dtype)
    if array.size != rows * levels:
        raise LibraryError(f"stored tokens hold {array.size} codes, not {rows} x {levels}",
                           hint="run adcut tokenizer encode again")
    return array.reshape(rows, levels).astype(np.int64)


ENCODE_BATCH_ROWS = 65_536


def _batches(records: list, rows: int) -> list[list]:
    """Consecutive groups of records holding about `rows` rows each (a bigger record alone)."""
    out: list[list] = []
    size = 0
    for r in records:
        if not out or size + r["rows"] > rows:
            out.append([])
            size = 0
        out[-1].append(r)
        size += r["rows"]
    return out


@dataclass
class EncodeReport:
    tokenizer_id: str
    modality: str
    encoded_sources: int = 0
    encoded_rows: int = 0
    unchanged_sources: int = 0
    seconds: float = 0.0
    rows_per_s: float = 0.0
    # the library's index of its decoded tokens (adcut.tokens.index): path, items, rebuilt
    decoded_index: dict | None = None


def encode_library(catalog: Catalog, tokenizer, folder: Path,
                   on_progress: Callable[[int, int], None] | None = None) -> EncodeReport:
    """Store the codes of every frame (video tokenizer) or music window (audio) that the
    catalog does not yet hold for this tokenizer (a source's codes are written whole, in
    one transaction with the other sources of its batch); then bring the library's index of
    its decoded tokens up to date (adcut.tokens.index)."""
    import time

    config = tokenizer.config
    _, kind = ARRAYS[config.modality]
    tok_id = tokenizer_id(folder)
    records = [r for r in catalog.embeddings() if r["kind"] == kind]
    if not records:
        what = "footage frames" if config.modality == "video" else "music windows"
        raise BadInputError(f"{catalog.folder} holds no {what} for this {config.modality} "
                            "tokenizer to encode",
                            hint=f"ingest {'footage' if config.modality == 'video' else 'music'} "
                                 "first, or give a tokenizer of the library's modality")
    for r in records:
        tokenizer.check_encoder(r["encoder"], r["encoder_version"])
    report = EncodeReport(tok_id, config.modality)
    with catalog.transaction() as con:
        con.execute(
            "INSERT OR IGNORE INTO tokenizers VALUES (?,?,?,?,?,?,?,?)",
            (tok_id, config.modality, config.encoder, config.encoder_version, config.levels,
             config.codebook_size, str(Path(folder).resolve()),
             datetime.now(timezone.utc).isoformat(timespec="seconds")))
    done = {(row["source_id"]): row["rows"] for row in catalog.con.execute(
        "SELECT source_id, rows FROM tokens WHERE tokenizer_id = ? AND kind = ?", (tok_id, kind))}
    todo = [r for r in records if done.get(r["source_id"]) != r["rows"]]
    report.unchanged_sources = len(records) - len(todo)
    total = sum(r["rows"] for r in todo)
    started, finished = time.perf_counter(), 0
    encode_s = 0.0
    # Many sources hold a few rows (a still is one frame): they are encoded together, a batch
    # of about ENCODE_BATCH_ROWS at a time, and stored one transaction per batch.
    for batch in _batches(todo, ENCODE_BATCH_ROWS):
        arrays = [load_embeddings(catalog.folder, r["path"], r["rows"], r["dim"]) for r in batch]
        t = time.perf_counter()
        codes = tokenizer.encode(np.concatenate(arrays))
        encode_s += time.perf_counter() - t
        bounds = np.cumsum([0] + [len(a) for a in arrays])
        with catalog.transaction() as con:
            for r, a, b in zip(batch, bounds[:-1], bounds[1:]):
                con.execute("INSERT OR REPLACE INTO tokens VALUES (?,?,?,?,?)",
                            (tok_id, r["source_id"], kind, int(b - a),
                             _blob(codes[a:b], config.codebook_size)))
        finished += len(codes)
        report.encoded_sources += len(batch)
        if on_progress is not None:
            on_progress(finished, total)
    report.encoded_rows = finished
    from adcut.tokens.index import sync_token_index

    report.decoded_index = sync_token_index(catalog, tokenizer, tok_id)
    report.seconds = round(time.perf_counter() - started, 3)
    report.rows_per_s = round(finished / encode_s, 1) if encode_s > 0 else 0.0
    return report


def stored_codes(catalog: Catalog, tok_id: str, source_id: str, kind: str
                 ) -> np.ndarray | None:
    """The codes (rows x levels) of one source's array under a tokenizer; None when the
    catalog holds none (not encoded yet, or a catalog older than schema v3)."""
    if not has_tokens_table(catalog):  # a read-only catalog of schema v2 or older
        return None
    row = catalog.con.execute(
        "SELECT t.rows, t.codes, k.levels, k.codebook_size FROM tokens t JOIN tokenizers k "
        "ON k.id = t.tokenizer_id WHERE t.tokenizer_id = ? AND t.source_id = ? "
        "AND t.kind = ?", (tok_id, source_id, kind)).fetchone()
    if row is None:
        return None
    return _codes(row["codes"], row["rows"], row["levels"], row["codebook_size"])


def has_tokens_table(catalog: Catalog) -> bool:
    return catalog.con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                               "name = 'tokens'").fetchone() is not None


def clip_frame_rows(catalog: Catalog, clip_id: str) -> tuple[str, list[int]]:
    """(source id, frame rows in time order) of one footage clip; an unknown id is refused."""
    clip = catalog.con.execute("SELECT source_id FROM clips WHERE id = ?", (clip_id,)).fetchone()
    if clip is None:
        raise BadInputError(f"no clip {clip_id!r} in {catalog.folder}",
                            hint=f"list the clips with: adcut library ls {catalog.folder}")
    rows = [r["row"] for r in catalog.con.execute(
        "SELECT row FROM frames WHERE clip_id = ? ORDER BY t_s", (clip_id,))]
    return clip["source_id"], rows


# A small library still gets this many optimizer steps (when --epochs and --batch-size are
# left to adcut): the presets' 30 epochs of 2048 rows are ~1,300 steps on 100k frames but 30
# on 1,000. Measured on the packaged-media library of benchmarks/tokenizer.py (1,017 training
# frames, batch 256): held-out cosine 0.30 after 3 steps, 0.90 after 600, 0.915 after 1,200
# and still rising, against 0.904 for PCA + residual k-means.
MIN_STEPS = 2000
MIN_STEPS_PER_EPOCH = 4
MAX_EPOCHS = 1000


def training_budget(n_vectors: int, heldout_fraction: float, batch_size: int,
                    codebook_size: int, epochs: int) -> tuple[int, int]:
    """(batch size, epochs) for a library of `n_vectors`: the preset's, except that the batch
    shrinks (never below one vector per code, which the first batch's k-means needs) to give
    at least MIN_STEPS_PER_EPOCH steps an epoch, and the epochs grow to MIN_STEPS steps in
    all (at most MAX_EPOCHS)."""
    n_train = max(1, int(n_vectors * (1 - heldout_fraction)))
    batch = min(batch_size, max(codebook_size, 2 ** int(math.log2(max(n_train // MIN_STEPS_PER_EPOCH, 1)))))
    steps = max(1, n_train // batch)
    return batch, min(MAX_EPOCHS, max(epochs, math.ceil(MIN_STEPS / steps)))


def training_config(lib: LibraryVectors, modality: str, *, preset: str | None = None,
                    seed: int = 0, **overrides):
    """The TokenizerConfig to train on `lib`: the preset (default adcut-<modality>), told
    which encoder's vectors it applies to, with a training budget sized to the library
    (training_budget) for what the caller leaves unset. adcut's presets take the library's
    dimension (they are sized for adcut's own encoders, and any encoder works); the paper's
    presets keep the paper's, and a library of another dimension is refused."""
    from adcut.tokens.config import PRESETS, preset as make_preset

    name = preset or f"adcut-{modality}"
    if name not in PRESETS:
        raise BadInputError(f"unknown preset {name!r}", hint=f"use one of {', '.join(PRESETS)}")
    base = PRESETS[name]
    if base.get("modality", modality) != modality:
        raise BadInputError(f"preset {name} is for {base['modality']}, not {modality}",
                            hint=f"use --preset {'paper' if name.startswith('paper') else 'adcut'}"
                                 f"-{modality}")
    if name.startswith("paper-") and base["input_dim"] != lib.dim:
        raise BadInputError(
            f"preset {name} takes {base['input_dim']}-d vectors; this library's are {lib.dim}-d "
            f"({lib.encoder} {lib.encoder_version})",
            hint=f"use --preset adcut-{modality}, sized to the library's encoder")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    config = make_preset(name, input_dim=lib.dim, encoder=lib.encoder,
                         encoder_version=lib.encoder_version, seed=seed, **chosen)
    batch, epochs = training_budget(len(lib.vectors), config.heldout_fraction, config.batch_size,
                                    config.codebook_size, config.epochs)
    budget = {k: v for k, v in (("batch_size", batch), ("epochs", epochs)) if k not in chosen}
    return config.model_copy(update=budget) if budget else config
