"""A trained RQ-VAE as a tokenizer: vectors <-> codes, and its folder on disk.

A tokenizer folder holds two files:
- `model.safetensors`: every tensor of the RQVAE's state dict (weights, BatchNorm statistics,
  codebooks and their EMA buffers);
- `config.json`: the TokenizerConfig's fields plus `"format": "adcut-rqvae"`,
  `"format_version": 1` and `"weights_sha256"`, the checksum of model.safetensors.

Saving writes the weights first and config.json last, each to a temporary name then renamed; the
checksum ties the two together, so a save interrupted at any point leaves a folder that either
loads the old tokenizer, the new one, or is refused with a message, never a mix.

Encoding is deterministic: the same vector gives the same codes whatever else is in the call.
The network runs in eval mode (BatchNorm uses its running statistics; no codebook is updated, no
k-means runs, no dead code is re-seeded) on blocks of exactly BLOCK_ROWS rows, the last one padded
with zeros: matrix-multiply kernels pick their blocking from the number of rows, and a row's
floats (so, at a near tie, its code) could otherwise depend on how many rows came with it.
Bit-for-bit equal codes are promised within one machine and torch thread count; another CPU or
thread count may round differently and so change a code at an exact near-tie.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

from adcut.core.errors import BadInputError, OutputError
from adcut.core.files import write_atomic
from adcut.core.validation import echo, echo_path, parse_json_text, read_text_file, shorten
from adcut.tokens.config import TokenizerConfig, config_from_data
from adcut.tokens.rqvae import RQVAE

log = logging.getLogger(__name__)

FORMAT = "adcut-rqvae"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
BLOCK_ROWS = 1024  # rows per network call; a multiple of 16 keeps every SIMD loop free of tails
CHECK_ROWS = 65_536  # rows per finiteness check / dtype conversion
MAX_CONFIG_BYTES = 1 << 20
# Prefixes kept per level by encode_searched: the narrowest beam that did as well as wider
# ones on the dataset benchmark's music (benchmarks/NOTES.md, dataset.py).
SEARCH_BEAM = 16
RETRAIN_HINT = "retrain it with `adcut tokenizer train`"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_vectors(vectors: object, input_dim: int, what: str, dim_hint: str) -> np.ndarray:
    """`vectors` as a 2-D numeric numpy array of `input_dim` columns with only finite values
    (not copied when it already is one). `what` names what takes them, `dim_hint` says what to do
    about a wrong dimension."""
    try:
        v = np.asarray(vectors)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"vectors cannot be read as an array ({shorten(str(exc), 120)})") from None
    if v.dtype.kind not in "fiu":
        raise BadInputError(f"vectors must be numbers; got an array of {v.dtype}",
                            hint="pass a float array of shape (N, D)")
    if v.ndim != 2:
        raise BadInputError(f"vectors must be a 2-D array (N, {input_dim}); got shape {v.shape}",
                            hint="pass one vector as vectors[None, :]" if v.ndim == 1 else None)
    if v.shape[1] != input_dim:
        raise BadInputError(f"vectors have {v.shape[1]} dimensions; {what} takes {input_dim}", hint=dim_hint)
    if v.dtype.kind == "f":
        bad_rows: list[np.ndarray] = []
        for start in range(0, len(v), CHECK_ROWS):
            block = v[start:start + CHECK_ROWS]
            if not np.isfinite(block).all():
                bad_rows.append(start + np.flatnonzero(~np.isfinite(block).all(axis=1)))
        if bad_rows:
            bad = np.concatenate(bad_rows)
            raise BadInputError(f"{len(bad)} of {len(v)} vectors hold NaN or inf (first: row {bad[0]})",
                                hint="drop those rows or re-extract their embeddings")
    return v


class Tokenizer:
    """A trained RQVAE in eval mode: `encode` vectors to codes, `decode` codes to vectors."""

    def __init__(self, model: RQVAE):
        if not model.codebooks_ready:
            raise ValueError("the model's codebooks are not initialised; train it first")
        self.model = model.eval()

    # -- what it is -----------------------------------------------------------------------------

    @property
    def config(self) -> TokenizerConfig:
        return self.model.config

    @property
    def levels(self) -> int:
        return self.config.levels

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    @property
    def input_dim(self) -> int:
        return self.config.input_dim

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(self.config.code_dtype)

    def __repr__(self) -> str:
        c = self.config
        return (f"Tokenizer({c.modality}, {c.describe_encoder()}, {c.input_dim}-d -> "
                f"{c.levels} x {c.codebook_size} codes)")

    def check_encoder(self, encoder: str, version: str) -> None:
        """Refuse vectors of another encoder (or another version of it) than the one trained on."""
        c = self.config
        if str(encoder).strip().lower() != c.encoder.strip().lower() or str(version) != c.encoder_version:
            raise BadInputError(
                f"this tokenizer was trained on {c.describe_encoder()} vectors, not on "
                f"{echo(encoder)} {echo(version)} ones",
                hint=f"train a tokenizer on {encoder} vectors, or embed the material with {c.encoder}")

    # -- vectors <-> codes ----------------------------------------------------------------------

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """Codes (N, levels) of vectors (N, input_dim): uint8 for up to 256 codes per level."""
        c = self.config
        v = check_vectors(vectors, c.input_dim, f"this tokenizer ({c.describe_encoder()})",
                          dim_hint=f"encode {c.encoder} vectors, or train a tokenizer for this encoder")
        out = np.empty((len(v), c.levels), dtype=self.code_dtype)
        model = self.model.eval()
        with torch.inference_mode():
            block = torch.zeros(BLOCK_ROWS, c.input_dim, dtype=torch.float32)
            view = block.numpy()
            for start in range(0, len(v), BLOCK_ROWS):
                rows = v[start:start + BLOCK_ROWS]
                n = len(rows)
                view[:n] = rows  # cast to float32
                view[n:] = 0.0
                out[start:start + n] = model.encode(block)[:n].numpy()
        return out

    def encode_searched(self, vectors: np.ndarray, beam: int = SEARCH_BEAM) -> np.ndarray:
        """Codes (N, levels) of vectors (N, input_dim) chosen for how close their decoding comes
        to each vector (cosine), by a beam search over the levels (RQVAE.search_codes); `encode`'s
        codes are a candidate too, so no row decodes further from its vector than with `encode`.

        `encode` predicts the codes from the encoder's latent, which the network learnt on the
        library's vectors; a vector unlike them is mapped less well. An ad's music vector is such
        a vector: the mean of the few seconds an ad leaves without speech, where the audio
        library trains on 10 s windows (benchmarks/NOTES.md, dataset.py, has the figures).

        Costly: about levels x beam x codebook_size decoder passes per vector (adcut's audio
        tokenizer, beam 16: 29k passes, about 1.5 s on two shared cores), so it is meant for a
        few vectors (one per ad), not for libraries. Deterministic: a row's codes do not depend
        on the other rows."""
        if not isinstance(beam, int) or isinstance(beam, bool) or beam < 1:
            raise BadInputError(f"the search beam must be a whole number of at least 1 (got {echo(beam)})")
        greedy = self.encode(vectors)
        v = np.asarray(vectors)
        out = np.empty_like(greedy)
        model = self.model.eval()
        with torch.inference_mode():
            for i in range(len(v)):
                row = torch.from_numpy(np.asarray(v[i], dtype=np.float32))
                out[i] = model.search_codes(row, beam, start=torch.from_numpy(greedy[i].astype(np.int64))).numpy()
        return out

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Vectors (N, input_dim) float32 reconstructed from codes (N, levels)."""
        c = self.config
        k = np.asarray(codes)
        if k.dtype.kind not in "iu":
            raise BadInputError(f"codes must be integers; got an array of {k.dtype}",
                                hint="pass the array encode() returned")
        if k.ndim != 2 or k.shape[1] != c.levels:
            raise BadInputError(f"codes must have shape (N, {c.levels}) for this tokenizer's {c.levels} levels; "
                                f"got {k.shape}")
        bad = (k < 0) | (k >= c.codebook_size)
        if bad.any():
            row, level = (int(i) for i in np.argwhere(bad)[0])
            raise BadInputError(f"{int(bad.sum())} codes are outside 0..{c.codebook_size - 1} (first: row {row}, "
                                f"level {level}, value {int(k[row, level])})",
                                hint="codes come from a tokenizer with another codebook size, or were damaged")
        out = np.empty((len(k), c.input_dim), dtype=np.float32)
        model = self.model.eval()
        with torch.inference_mode():
            block = torch.zeros(BLOCK_ROWS, c.levels, dtype=torch.int64)
            view = block.numpy()
            for start in range(0, len(k), BLOCK_ROWS):
                rows = k[start:start + BLOCK_ROWS]
                n = len(rows)
                view[:n] = rows
                view[n:] = 0
                out[start:start + n] = model.decode(block)[:n].numpy()
        return out

    # -- the folder -----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write `model.safetensors` then `config.json` into `folder` (created if needed)."""
        folder = Path(folder)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        # One metadata entry: safetensors writes its metadata map in an order that changes from
        # process to process, so two entries would give the same weights two different files
        # (and the tokenizer two ids, adcut.tokens.library.tokenizer_id).
        raw = safetensors.torch.save(state, metadata={"format": f"{FORMAT}/{FORMAT_VERSION}"})
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, **self.config.training_fields(),
               "weights_sha256": _sha256(raw)}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / WEIGHTS_NAME, raw)
            write_atomic(folder / CONFIG_NAME, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"cannot write the tokenizer to {echo_path(folder)} ({exc.strerror or exc})",
                              hint="check that the folder is writable and the disk has room") from None
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Tokenizer:
        folder = Path(folder)
        where = echo_path(folder)
        if not folder.exists():
            raise BadInputError(f"tokenizer folder {where} does not exist",
                                hint="check the path, or train one with `adcut tokenizer train`")
        if not folder.is_dir():
            raise BadInputError(f"{where} is a file, not a tokenizer folder",
                                hint=f"give the folder that holds {CONFIG_NAME} and {WEIGHTS_NAME}")
        config_path = folder / CONFIG_NAME
        if not config_path.is_file():
            raise BadInputError(f"{where} holds no {CONFIG_NAME}: not a finished tokenizer "
                                "(a training or a save that did not complete leaves none)", hint=RETRAIN_HINT)
        data = parse_json_text(read_text_file(config_path, "tokenizer config", MAX_CONFIG_BYTES), str(config_path))
        if not isinstance(data, dict):
            raise BadInputError(f"{echo_path(config_path)} is not a JSON object", hint=RETRAIN_HINT)
        data = dict(data)
        fmt, version = data.pop("format", None), data.pop("format_version", None)
        digest = data.pop("weights_sha256", None)
        if fmt != FORMAT:
            raise BadInputError(f"{echo_path(config_path)} is not an adcut RQ-VAE tokenizer "
                                f"(format {echo(fmt)}, expected {FORMAT!r})",
                                hint="give a folder written by `adcut tokenizer train`")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise BadInputError(f"{echo_path(config_path)} has no valid format_version ({echo(version)})",
                                hint=RETRAIN_HINT)
        if version > FORMAT_VERSION:
            raise BadInputError(f"{where} was written by a newer adcut (tokenizer format_version {version}; "
                                f"this adcut reads {FORMAT_VERSION})", hint="upgrade adcut")
        config = config_from_data(data, str(config_path))
        if not isinstance(digest, str):
            raise BadInputError(f"{echo_path(config_path)} has no weights_sha256", hint=RETRAIN_HINT)
        weights = folder / WEIGHTS_NAME
        try:
            raw = weights.read_bytes()
        except FileNotFoundError:
            raise BadInputError(f"{where} holds {CONFIG_NAME} but no {WEIGHTS_NAME}", hint=RETRAIN_HINT) from None
        except OSError as exc:
            raise BadInputError(f"{echo_path(weights)} cannot be read ({exc.strerror or exc})") from None
        if _sha256(raw) != digest:
            raise BadInputError(f"{echo_path(weights)} is not the file {CONFIG_NAME} was saved with "
                                f"(checksum differs: a truncated or damaged copy, or an interrupted save)",
                                hint=RETRAIN_HINT)
        try:
            state = safetensors.torch.load(raw)
        except Exception as exc:  # safetensors raises its own SafetensorError, or others on odd headers
            raise BadInputError(f"{echo_path(weights)} is not a readable safetensors file "
                                f"({shorten(str(exc), 120)})", hint=RETRAIN_HINT) from None
        with torch.random.fork_rng(devices=[]):  # the random init is overwritten: spare the caller's RNG
            model = RQVAE(config)
        problem = _state_mismatch(model.state_dict(), state)
        if problem:
            raise BadInputError(f"the weights in {echo_path(weights)} do not fit its {CONFIG_NAME}: {problem}",
                                hint=RETRAIN_HINT)
        model.load_state_dict(state, strict=True)
        nonfinite = [k for k, t in state.items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if nonfinite:
            raise BadInputError(f"{echo_path(weights)} holds NaN or inf values (in {nonfinite[0]}): the training "
                                "diverged or the file is damaged", hint=RETRAIN_HINT)
        if not model.codebooks_ready:
            raise BadInputError(f"{echo_path(weights)} holds codebooks that were never initialised",
                                hint=RETRAIN_HINT)
        log.info("loaded tokenizer %s from %s", config.describe_encoder(), folder)
        return cls(model)


def _state_mismatch(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> str | None:
    """What differs between two state dicts' names, shapes and dtypes, in a few words; None if nothing."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        return f"{len(missing)} tensors missing (first: {missing[0]})"
    if extra:
        return f"{len(extra)} unexpected tensors (first: {extra[0]})"
    for name, want in expected.items():
        have = got[name]
        if tuple(have.shape) != tuple(want.shape):
            return f"{name} has shape {tuple(have.shape)}, the config needs {tuple(want.shape)}"
        if have.dtype != want.dtype:
            return f"{name} is {have.dtype}, expected {want.dtype}"
    return None
