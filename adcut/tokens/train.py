"""Training an RQ-VAE tokenizer on a library's vectors: split, train, measure, checkpoint, resume.

The loop is the paper's (`emb_vqvae/train.py`, AUTOCUT-PAPER-CODE.md section 4.2): AdamW, cosine
decay from lr to min_lr over every step with no warm-up, loss 1 - cos(recon, x) (the commitment
loss is computed by the quantizer but not added), codebooks initialised by k-means on the first
batch and then updated by EMA with dead-code re-seeding. Three differences, all on purpose:
- batches are shuffled each epoch (the paper's DataLoader was not), by a numpy generator seeded
  by (seed, epoch), so an epoch's order does not depend on what ran before it;
- the held-out vectors are whole sources (files), not random rows: neighbouring frames of one
  video are near duplicates, and a row-level split would measure memorisation;
- after each epoch BatchNorm's running statistics are re-estimated on up to CALIBRATION_ROWS
  training rows (`RQVAE.recalibrate_batchnorm`): with a library's few dozen steps the EMA
  statistics are still far from the batches', and eval mode would pick other codes than training
  did. Weights, codebooks and the training trajectory are untouched (training mode never reads
  the running statistics).

Determinism and resuming: the weights start from `torch.manual_seed(config.seed)`; the only
other randomness is torch's global generator inside the quantizer (the k-means initialisation and
dead-code re-seeding), whose state is saved in the checkpoint with the model, optimizer and
scheduler at the end of an epoch (numpy's global generator is never used, so there is none of it
to save). A checkpoint is written after the first epoch, then at most every CHECKPOINT_EVERY_S
seconds, and when the caller's progress callback stops training: a small library's epochs last
milliseconds, and writing the model and optimizer (tens of MB) after each of its hundreds of
epochs cost more than training. Resuming therefore gives bit-identical weights to an uninterrupted run on the same
machine and torch thread count. The caller's torch RNG state is restored when training ends.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from adcut.core.errors import BadInputError, OutputError
from adcut.core.files import write_atomic
from adcut.core.validation import echo, echo_path, shorten
from adcut.tokens.baseline import ResidualKMeans
from adcut.tokens.config import TokenizerConfig
from adcut.tokens.rqvae import RQVAE, reconstruction_loss
from adcut.tokens.tokenizer import CONFIG_NAME, Tokenizer, check_vectors

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_EVERY_S = 20.0  # an interrupted run loses at most this much training (plus an epoch)
REPORT_NAME = "report.json"
CHECKPOINT_FORMAT = "adcut-rqvae-checkpoint"
CHECKPOINT_VERSION = 1
SINGLE_SOURCE_BLOCKS = 20  # one source is split into this many contiguous blocks
CALIBRATION_ROWS = 32_768  # training rows that set BatchNorm's running statistics after each epoch
_SPLIT_STREAM, _SHUFFLE_STREAM = 1, 2  # numpy seed-sequence keys: (seed, stream[, epoch])


# -- metrics --------------------------------------------------------------------------------------

class CodeModel(Protocol):
    """Anything that turns vectors into codes and back: a Tokenizer or the baseline."""

    levels: int
    codebook_size: int

    def encode(self, vectors: np.ndarray) -> np.ndarray: ...

    def decode(self, codes: np.ndarray) -> np.ndarray: ...


def cosine_rows(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """cos(a_i, b_i) of each row pair, float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = np.einsum("nd,nd->n", a, b)
    return dot / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), eps)


def code_statistics(codes: np.ndarray, codebook_size: int) -> dict[str, Any]:
    """Per-level use (share of the codebook seen), perplexity (exp of the code entropy: the
    number of equally used codes that would give it), and the share of distinct code rows."""
    codes = np.asarray(codes)
    n, levels = codes.shape
    use, perplexity = [], []
    for level in range(levels):
        counts = np.bincount(codes[:, level].astype(np.int64), minlength=codebook_size)
        p = counts[counts > 0] / n
        use.append(float((counts > 0).sum() / codebook_size))
        perplexity.append(float(np.exp(-(p * np.log(p)).sum())))
    rows = np.ascontiguousarray(codes).view(np.dtype((np.void, codes.dtype.itemsize * levels)))
    return {"level_use": use, "level_perplexity": perplexity,
            "distinct_share": float(len(np.unique(rows)) / n)}


def heldout_metrics(tokenizer: CodeModel, vectors: np.ndarray) -> dict[str, Any]:
    """How well codes keep held-out vectors: mean (and 5th percentile) cosine between each vector
    and its reconstruction decode(encode(x)), plus the code statistics of `code_statistics`."""
    v = np.asarray(vectors)
    if v.ndim != 2 or len(v) == 0:
        raise BadInputError(f"no vectors to measure (got shape {v.shape})",
                            hint="pass the held-out vectors as an (N, D) array with N >= 1")
    codes = tokenizer.encode(v)
    cos = cosine_rows(tokenizer.decode(codes), v)
    return {"vectors": int(len(v)), "heldout_cos": float(cos.mean()),
            "heldout_cos_p05": float(np.percentile(cos, 5)),
            **code_statistics(codes, tokenizer.codebook_size)}


# -- the held-out split ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Split:
    train_index: np.ndarray  # rows used for training, ascending
    heldout_index: np.ndarray  # rows held out, ascending
    mode: str  # "by-source" | "single-source-blocks"
    heldout_sources: list[str]
    train_sources: int
    note: str

    def fingerprint(self) -> str:
        return hashlib.sha256(self.heldout_index.astype(np.int64).tobytes()).hexdigest()


def split_heldout(groups: Sequence[str], heldout_fraction: float, seed: int) -> Split:
    """Hold out whole sources, about `heldout_fraction` of the rows, chosen from `seed`.

    Sources are visited in a seeded random order and each is held out if that brings the held-out
    count closer to the target; at least one source is held out and at least one kept. With a
    single source its rows are cut into contiguous blocks and some blocks are held out instead."""
    names = np.asarray(groups, dtype=str)
    n = len(names)
    rng = np.random.default_rng([seed, _SPLIT_STREAM])
    sources, inverse, sizes = np.unique(names, return_inverse=True, return_counts=True)
    if len(sources) == 1:
        n_blocks = min(SINGLE_SOURCE_BLOCKS, n)
        n_held = min(n_blocks - 1, max(1, round(n_blocks * heldout_fraction)))
        blocks = np.array_split(np.arange(n), n_blocks)
        held_blocks = np.sort(rng.choice(n_blocks, n_held, replace=False))
        held = np.concatenate([blocks[b] for b in held_blocks])
        mask = np.zeros(n, dtype=bool)
        mask[held] = True
        return Split(np.flatnonzero(~mask), np.flatnonzero(mask), "single-source-blocks", [], 1,
                     f"one source only: held out {n_held} of its {n_blocks} contiguous blocks of rows "
                     "(neighbouring rows are alike, so the held-out figures are optimistic)")
    target = heldout_fraction * n
    chosen: list[int] = []
    held_rows = 0
    for s in rng.permutation(len(sources)):
        if len(chosen) == len(sources) - 1:
            break
        if abs(held_rows + sizes[s] - target) < abs(held_rows - target):
            chosen.append(int(s))
            held_rows += int(sizes[s])
    if not chosen:  # every source is bigger than twice the target: hold out the smallest
        chosen = [int(np.argmin(sizes))]
    chosen_set = np.zeros(len(sources), dtype=bool)
    chosen_set[chosen] = True
    mask = chosen_set[inverse]
    held_names = sorted(str(sources[s]) for s in chosen)
    return Split(np.flatnonzero(~mask), np.flatnonzero(mask), "by-source", held_names,
                 len(sources) - len(chosen),
                 f"held out {len(chosen)} of {len(sources)} sources ({int(mask.sum())} of {n} vectors)")


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of the training rows in one epoch: a function of (seed, epoch) only."""
    return np.random.default_rng([seed, _SHUFFLE_STREAM, epoch]).permutation(n)


def steps_per_epoch(n_train: int, batch_size: int) -> tuple[int, int]:
    """(steps, rows per step): full batches, the last partial one dropped, unless the data is a
    single batch, which is then used whole."""
    if n_train <= batch_size:
        return 1, n_train
    return n_train // batch_size, batch_size


def cosine_lr(step: int, total_steps: int, lr: float, min_lr: float) -> float:
    """Cosine decay from lr (step 0) to min_lr (step total_steps), no warm-up."""
    t = min(step, total_steps) / max(total_steps, 1)
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


# -- the report -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainReport:
    out_dir: str
    config: dict[str, Any]
    epochs: int
    steps: int
    steps_per_epoch: int
    batch_rows: int
    train_vectors: int
    heldout_vectors: int
    train_sources: int
    heldout_sources: list[str]
    split: str  # "by-source" | "single-source-blocks"
    split_note: str
    loss: float  # mean training loss of the last epoch
    heldout_cos: float
    heldout_cos_p05: float
    level_use: list[float]
    level_perplexity: list[float]
    distinct_share: float
    baseline_heldout_cos: float | None  # PCA + residual k-means at the same budget, same split
    resumed_from_epoch: int  # 0 when this call started from scratch
    seconds_total: float  # this call, from the first check to the report
    seconds_training: float  # all epochs, this call and any before a resume
    seconds_per_epoch: list[float]
    torch_threads: int
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


# -- checks that run before anything is written ---------------------------------------------------

def _check_groups(groups: np.ndarray | Sequence[str], n: int) -> list[str]:
    try:
        names = [str(g) for g in (groups.tolist() if isinstance(groups, np.ndarray) else groups)]
    except TypeError:
        raise BadInputError("groups must be a list of source names, one per vector") from None
    if len(names) != n:
        raise BadInputError(f"{len(names)} source names for {n} vectors",
                            hint="give the source file of every vector, in the same order")
    return names


def _too_few(n: int, k: int, what: str) -> BadInputError:
    return BadInputError(f"{n} {what}; training {k} codes per level needs at least {k} (better {10 * k})",
                         hint="add material, or lower codebook_size")


def _data_digest(x: np.ndarray, names: list[str]) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(np.asarray(x.shape, dtype=np.int64).tobytes())
    for start in range(0, len(x), 65_536):
        h.update(x[start:start + 65_536].tobytes())
    h.update("\x00".join(names).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _check_out_dir(out_dir: Path, *, resume: bool, force: bool) -> None:
    where = echo_path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInputError(f"{where} is a file; training writes a folder", hint="give a folder path")
    if resume:
        if not (out_dir / CHECKPOINT_NAME).is_file():
            if (out_dir / CONFIG_NAME).is_file():
                raise BadInputError(f"nothing to resume: the training in {where} has finished",
                                    hint="to train again, start over with --force")
            raise BadInputError(f"nothing to resume: {where} holds no {CHECKPOINT_NAME}",
                                hint="train without --resume")
        return
    if force:
        return
    if (out_dir / CONFIG_NAME).is_file():
        raise BadInputError(f"{where} already holds a trained tokenizer",
                            hint="choose another folder, or replace it with --force")
    if (out_dir / CHECKPOINT_NAME).is_file():
        raise BadInputError(f"{where} holds an unfinished training ({CHECKPOINT_NAME})",
                            hint="continue it with --resume, or start over with --force")


def _load_checkpoint(path: Path, config: TokenizerConfig, digest: str, split: Split) -> dict[str, Any]:
    where = echo_path(path)
    start_over = "start over with --force (the checkpoint is then replaced)"
    try:
        ckpt = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except OSError as exc:
        raise BadInputError(f"{where} cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # a truncated zip, a damaged pickle: torch raises many kinds
        raise BadInputError(f"{where} is truncated or damaged ({shorten(str(exc), 120)})",
                            hint=start_over) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise BadInputError(f"{where} is not an adcut tokenizer checkpoint", hint=start_over)
    if ckpt.get("format_version") != CHECKPOINT_VERSION:
        raise BadInputError(f"{where} has checkpoint format_version {echo(ckpt.get('format_version'))}; "
                            f"this adcut reads {CHECKPOINT_VERSION}", hint=start_over)
    want = config.training_fields()
    have = ckpt.get("config") or {}
    differ = [k for k in sorted(set(want) | set(have)) if want.get(k) != have.get(k)]
    if differ:
        shown = ", ".join(f"{k}={echo(have.get(k), 24)}" for k in differ[:4])
        given = ", ".join(f"{k}={echo(want.get(k), 24)}" for k in differ[:4])
        raise BadInputError(f"the checkpoint in {echo_path(path.parent)} was trained with {shorten(shown, 120)}; "
                            f"the given settings say {shorten(given, 120)}",
                            hint=f"resume with the checkpoint's settings, or {start_over}")
    data = ckpt.get("data") or {}
    if data.get("digest") != digest:
        raise BadInputError(f"the vectors (or their sources) differ from those the checkpoint in "
                            f"{echo_path(path.parent)} was trained on ({data.get('vectors')} vectors then)",
                            hint=f"resume with the same vectors, or {start_over}")
    if (ckpt.get("split") or {}).get("fingerprint") != split.fingerprint():
        raise BadInputError(f"the held-out split differs from the checkpoint's in {echo_path(path.parent)}",
                            hint=start_over)
    epoch = ckpt.get("epoch")
    if not isinstance(epoch, int) or not 1 <= epoch <= config.epochs:
        raise BadInputError(f"{where} records epoch {echo(epoch)}, outside 1..{config.epochs}", hint=start_over)
    return ckpt


# -- determinism ----------------------------------------------------------------------------------

@contextmanager
def _deterministic(seed: int) -> Iterator[None]:
    """Deterministic kernels and a seeded torch generator inside; the caller's settings and RNG
    state are put back afterwards."""
    was = torch.are_deterministic_algorithms_enabled()
    was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=was_warn)


# -- training -------------------------------------------------------------------------------------

def _save_checkpoint(path: Path, **content: Any) -> None:
    buf = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, **content}, buf)
    try:
        write_atomic(path, buf.getvalue())
    except OSError as exc:
        raise OutputError(f"cannot write the checkpoint {echo_path(path)} ({exc.strerror or exc})",
                          hint="check that the folder is writable and the disk has room") from None


def train_tokenizer(vectors: np.ndarray, groups: np.ndarray | list[str], config: TokenizerConfig,
                    out_dir: Path, *, resume: bool = False, force: bool = False,
                    on_progress: Callable[[dict], None] | None = None,
                    compare_baseline: bool = True) -> TrainReport:
    """Train a tokenizer on `vectors` (N, input_dim), `groups[i]` naming the source of row i.

    Writes `out_dir/checkpoint.pt` after the first epoch and then every CHECKPOINT_EVERY_S
    seconds, then the tokenizer (config.json +
    model.safetensors) and report.json, and removes the checkpoint. `resume` continues from the
    checkpoint (same config and vectors required); `force` lets a fresh run replace a finished
    tokenizer or an unfinished run in out_dir. Every check runs before anything is written, so a
    refused call leaves out_dir as it was. `on_progress` gets one dict per finished epoch, after
    its checkpoint is written (raising from it stops training with that epoch kept).
    `compare_baseline` also fits the PCA + residual k-means baseline on the same split."""
    t_call = time.perf_counter()
    out_dir = Path(out_dir)
    k = config.codebook_size
    x = check_vectors(vectors, config.input_dim, f"the config ({config.describe_encoder()})",
                      dim_hint=f"set input_dim to these vectors' dimension, or train on {config.encoder} vectors")
    if len(x) < k:
        raise _too_few(len(x), k, "vectors")
    x = np.ascontiguousarray(x, dtype=np.float32)
    names = _check_groups(groups, len(x))
    split = split_heldout(names, config.heldout_fraction, config.seed)
    n_train = len(split.train_index)
    if n_train < k:
        raise _too_few(n_train, k, f"training vectors are left after holding out {len(split.heldout_index)} "
                                   f"({split.note})")
    steps, rows = steps_per_epoch(n_train, config.batch_size)
    if rows < k:
        raise BadInputError(f"batch_size {config.batch_size} is below codebook_size {k}: each level's k-means "
                            f"initialisation runs on the first batch and needs at least {k} vectors",
                            hint=f"raise batch_size to at least {k}")
    total_steps = steps * config.epochs
    digest = _data_digest(x, names)
    _check_out_dir(out_dir, resume=resume, force=force)
    ckpt = _load_checkpoint(out_dir / CHECKPOINT_NAME, config, digest, split) if resume else None

    # every check passed: from here on out_dir is written
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {echo_path(out_dir)} ({exc.strerror or exc})") from None
    x_train = torch.from_numpy(x[split.train_index])
    x_held = x[split.heldout_index]
    with _deterministic(config.seed):
        model = RQVAE(config)
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas,
                                weight_decay=config.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: cosine_lr(step, total_steps, config.lr, config.min_lr) / config.lr)
        history: list[dict[str, Any]] = []
        start_epoch = 0
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            torch.set_rng_state(ckpt["torch_rng"])
            history = list(ckpt["history"])
            start_epoch = ckpt["epoch"]
            if ckpt.get("torch_threads") != torch.get_num_threads():
                log.warning("resuming with %d torch threads; the checkpoint was written with %s: the result "
                            "may differ from an uninterrupted run in the last bits",
                            torch.get_num_threads(), ckpt.get("torch_threads"))
            log.info("resuming %s at epoch %d of %d", out_dir, start_epoch + 1, config.epochs)
        split_doc = {"mode": split.mode, "heldout_sources": split.heldout_sources, "note": split.note,
                     "train_vectors": n_train, "heldout_vectors": len(split.heldout_index),
                     "fingerprint": split.fingerprint()}
        last_checkpoint = time.perf_counter()
        for epoch in range(start_epoch, config.epochs):
            t_epoch = time.perf_counter()
            model.train()
            order = epoch_order(n_train, config.seed, epoch)
            loss_sum = 0.0
            for step in range(steps):
                xb = x_train.index_select(0, torch.from_numpy(order[step * rows:(step + 1) * rows]))
                recon, _, _ = model(xb)
                loss = reconstruction_loss(recon, xb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += float(loss.detach())
            n_cal = max(1, min(steps, CALIBRATION_ROWS // rows))
            model.recalibrate_batchnorm(x_train.index_select(0, torch.from_numpy(order[i * rows:(i + 1) * rows]))
                                        for i in range(n_cal))
            metrics = heldout_metrics(Tokenizer(model), x_held)
            entry = {"epoch": epoch + 1, "epochs": config.epochs, "loss": loss_sum / steps,
                     "lr": float(sched.get_last_lr()[0]),
                     **{key: metrics[key] for key in ("heldout_cos", "heldout_cos_p05", "level_use",
                                                       "level_perplexity", "distinct_share")},
                     "seconds": time.perf_counter() - t_epoch}
            history.append(entry)

            def checkpoint() -> None:
                _save_checkpoint(out_dir / CHECKPOINT_NAME, config=config.training_fields(), epoch=epoch + 1,
                                 model=model.state_dict(), optimizer=opt.state_dict(),
                                 scheduler=sched.state_dict(), torch_rng=torch.get_rng_state(),
                                 history=history, data={"digest": digest, "vectors": len(x)},
                                 split=split_doc, torch_threads=torch.get_num_threads())

            now = time.perf_counter()
            if epoch == start_epoch or now - last_checkpoint >= CHECKPOINT_EVERY_S:
                checkpoint()
                last_checkpoint = now
            log.info("epoch %d/%d: loss %.4f, held-out cos %.4f", epoch + 1, config.epochs, entry["loss"],
                     entry["heldout_cos"])
            if on_progress is not None:
                try:
                    on_progress(dict(entry))
                except BaseException:
                    if last_checkpoint != now:
                        checkpoint()  # the caller stops here: keep this finished epoch
                    raise
        tokenizer = Tokenizer(model)
        final = heldout_metrics(tokenizer, x_held)

    baseline_cos = None
    if compare_baseline:
        baseline = ResidualKMeans(dim=min(config.codebook_dim, config.input_dim), levels=config.levels,
                                  codebook_size=k).fit(x[split.train_index], seed=config.seed)
        baseline_cos = heldout_metrics(baseline, x_held)["heldout_cos"]
    tokenizer.save(out_dir)
    report = TrainReport(
        out_dir=str(out_dir), config=config.training_fields(), epochs=config.epochs, steps=total_steps,
        steps_per_epoch=steps, batch_rows=rows, train_vectors=n_train, heldout_vectors=len(split.heldout_index),
        train_sources=split.train_sources, heldout_sources=split.heldout_sources, split=split.mode,
        split_note=split.note, loss=history[-1]["loss"], heldout_cos=final["heldout_cos"],
        heldout_cos_p05=final["heldout_cos_p05"], level_use=final["level_use"],
        level_perplexity=final["level_perplexity"], distinct_share=final["distinct_share"],
        baseline_heldout_cos=baseline_cos, resumed_from_epoch=ckpt["epoch"] if ckpt is not None else 0,
        seconds_total=time.perf_counter() - t_call, seconds_training=sum(h["seconds"] for h in history),
        seconds_per_epoch=[h["seconds"] for h in history], torch_threads=torch.get_num_threads(),
        history=history)
    try:
        write_atomic(out_dir / REPORT_NAME, report.to_json().encode("utf-8"))
        (out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {echo_path(out_dir / REPORT_NAME)} ({exc.strerror or exc})") from None
    return report
