"""The synthetic world as a dataset folder, in exactly the form `adcut dataset build` writes.

Each world ad becomes the `AdAnalysis` the builder's analysis would have measured (one
sentence per clip, its frames at 1 fps, the music vector, the product facts) and is stored
through the builder's own `DatasetFolder`; a video and an audio RQ-VAE tokenizer are trained
on the world's vectors into the folder's `tokenizers/`; then the builder's own `assemble`
tokenises the ads, splits them by key and writes `align/`, `sft/`, `clips.jsonl`,
`report.json` and `build.json`. Training code therefore reads it as any built corpus.

Two choices differ from a corpus build, both because the world is small:
- the tokenizers use a small, fast configuration (`tokenizer_config`): the builder's presets
  are sized for 1280-d frame embeddings and thousands of steps;
- the audio tokenizer trains on the music library with slightly jittered copies of each
  track (`AUDIO_COPIES`), not on the ads' music vectors: the library has 48 distinct tracks,
  fewer than the 256 codes of a level, and every ad's music is one of them.

Everything is a function of the world (and so of its seed): the same seed gives the same
bytes on the same machine and torch thread count (the tokenizer trainer's promise).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from adcut.dataset.analyse import BuildOptions
from adcut.dataset.build import TOKENIZER_DIRS, AdJob, BuildRequest, assemble
from adcut.dataset.store import DatasetFolder
from adcut.dataset.types import AdAnalysis, Clip, Music, Sentence, Word
from adcut.eval.synthetic.rules import WORLD_VERSION
from adcut.eval.synthetic.world import AUDIO_DIM, VIDEO_DIM, World, WorldAd

log = logging.getLogger(__name__)

VIDEO_ENCODER = "synthetic-video"
AUDIO_ENCODER = "synthetic-audio"
# A fifth to a sixth of the ads are eval: ~80 of the default 500, enough for bootstrap
# intervals of a few points' width on the exact-match metrics' differences.
DEFAULT_EVAL_FRACTION = 0.16
AUDIO_COPIES = 16  # jittered copies of each library track the audio tokenizer trains on
AUDIO_JITTER_NORM = 0.05
_AUDIO_STREAM = 2  # numpy seed-sequence stream of the jitter (world.py uses 0 and 1)
# Tokenizer training: 8 levels x 256 codes (the token vocabulary's shape) on a small MLP.
# About 5 s (video) and 2 s (audio) for the default world on one thread.
VIDEO_EPOCHS = 16
AUDIO_EPOCHS = 24
BATCH = 256
HIDDEN = [256]
CODEBOOK_DIM = 64
THUMB_SCALE = 4  # a clip's thumbnail: its first frame's 128 values as a 16 x 8 grey image, scaled

Phase = Callable[[str], None]


def encoder_version(seed: int) -> str:
    """The 'encoder version' of a world's vectors: another seed is another embedding space,
    so tokenizers of one world are refused on another (Tokenizer.check_encoder)."""
    return f"{WORLD_VERSION} seed {seed}"


def build_options(seed: int) -> BuildOptions:
    """What the builder's manifest records as having made the analyses."""
    return BuildOptions(vision=VIDEO_ENCODER, audio=AUDIO_ENCODER, asr=f"none ({encoder_version(seed)})",
                        language="en")


def tokenizer_config(modality: str, seed: int):
    """The small, fast RQ-VAE configuration of the synthetic benchmark (module docstring)."""
    from adcut.tokens.config import TokenizerConfig

    video = modality == "video"
    return TokenizerConfig(
        modality=modality, encoder=VIDEO_ENCODER if video else AUDIO_ENCODER,
        encoder_version=encoder_version(seed), input_dim=VIDEO_DIM if video else AUDIO_DIM,
        encoder_hidden=list(HIDDEN), codebook_dim=CODEBOOK_DIM, levels=8, codebook_size=256,
        batch_size=BATCH, epochs=VIDEO_EPOCHS if video else AUDIO_EPOCHS, seed=seed)


# -- one ad as the builder's analysis ------------------------------------------------------------

def analysis_of(ad: WorldAd, seed: int) -> tuple[AdAnalysis, np.ndarray]:
    """The ad as the builder's analysis would store it, and its frames (n_seconds, VIDEO_DIM):
    clip i spans its frames' seconds and owns one sentence, spoken word by word evenly over
    that span; the music plays throughout."""
    clips, sentences, words = [], [], []
    second = 0
    for c in ad.clips:
        start, end = float(second), float(second + len(c.frames))
        clips.append(Clip(start, end, c.line, list(range(second, second + len(c.frames)))))
        sentences.append(Sentence(c.line, start, end))
        tokens = c.line.split()
        step = (end - start) / len(tokens)
        words += [Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), w) for i, w in enumerate(tokens)]
        second += len(c.frames)
    frames = np.concatenate([c.frames for c in ad.clips]).astype(np.float32)
    digest = hashlib.sha256(frames.tobytes() + json.dumps(
        [ad.key, ad.track, [c.line for c in ad.clips]]).encode("utf-8")).hexdigest()
    analysis = AdAnalysis(
        key=ad.key, source=f"synthetic://seed-{seed}/{ad.key}", sha256=digest, duration_s=float(second),
        language="en", words=words, sentences=sentences, clips=clips, product=ad.product,
        product_source="synthetic", music=Music([(0.0, float(second))], "synthetic: the ad's library track"))
    return analysis, frames


def thumbnail_jpeg(frame: np.ndarray) -> bytes:
    """A small grey picture of a frame vector (its values as pixels), for the clip table's
    thumbnail column."""
    from PIL import Image

    v = np.asarray(frame, np.float64)
    span = max(float(np.abs(v).max()), 1e-12)
    pixels = np.clip(np.round(127.5 + 127.5 * v / span), 0, 255).astype(np.uint8).reshape(8, -1)
    pixels = np.kron(pixels, np.ones((THUMB_SCALE, THUMB_SCALE), np.uint8))
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


# -- the folder ----------------------------------------------------------------------------------

def audio_training_vectors(world: World) -> tuple[np.ndarray, list[str]]:
    """The library tracks with AUDIO_COPIES jittered copies each, and a source name per row
    (each copy its own source, so the trainer's held-out rows are copies of tracks it has
    seen: every library track must come out right)."""
    rng = np.random.default_rng([world.config.seed, _AUDIO_STREAM])
    lib = world.library.astype(np.float64)
    copies = lib[:, None, :] + rng.standard_normal((len(lib), AUDIO_COPIES, lib.shape[1])) * (
        AUDIO_JITTER_NORM / np.sqrt(lib.shape[1]))
    copies[:, 0, :] = lib  # the first copy is the track itself
    copies /= np.linalg.norm(copies, axis=-1, keepdims=True)
    names = [f"track{t:03d}-copy{k:02d}" for t in range(len(lib)) for k in range(AUDIO_COPIES)]
    return copies.reshape(-1, lib.shape[1]).astype(np.float32), names


def train_tokenizers(world: World, data_dir: Path) -> dict[str, dict]:
    """Train the video (on every ad's frames) and audio (audio_training_vectors) tokenizers
    into the folder's tokenizers/; returns what each training reported."""
    from adcut.tokens.train import train_tokenizer

    seed = world.config.seed
    frames = np.concatenate([c.frames for ad in world.ads for c in ad.clips]).astype(np.float32)
    groups = [ad.key for ad in world.ads for c in ad.clips for _ in range(len(c.frames))]
    audio, names = audio_training_vectors(world)
    out = {}
    for modality, vectors, sources in (("video", frames, groups), ("audio", audio, names)):
        report = train_tokenizer(vectors, sources, tokenizer_config(modality, seed), data_dir / TOKENIZER_DIRS[modality],
                                 force=True, compare_baseline=False)
        out[modality] = {"vectors": len(vectors), "heldout_cos": round(report.heldout_cos, 4),
                         "seconds": round(report.seconds_total, 2)}
    return out


@contextmanager
def _one_torch_thread():
    """Torch on one thread inside, the caller's thread count restored after. The tokenizers
    are small: a second thread gains little on a quiet machine, and on a busy one two threads
    contending for the cores made an epoch up to 40 times slower. One thread also makes the
    codes, and so the folder's bytes, independent of the machine's core count."""
    import torch

    was = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(was)


def write_dataset(world: World, data_dir: Path, *, eval_fraction: float = DEFAULT_EVAL_FRACTION,
                  phase: Phase | None = None) -> dict:
    """Write the world into a new dataset folder `data_dir` (refused when it holds anything
    else: adcut.dataset.store.DatasetFolder.prepare). Returns {"report": the builder's
    report, "tokenizers": what training them said, "timings_s": {...}}."""
    with _one_torch_thread():
        return _write_dataset(world, Path(data_dir), eval_fraction, phase or (lambda name: None))


def _write_dataset(world: World, data_dir: Path, eval_fraction: float, phase: Phase) -> dict:
    data_dir = Path(data_dir)
    seed = world.config.seed
    options = build_options(seed)
    folder = DatasetFolder(data_dir)
    folder.prepare(options.fingerprint(), force=False)
    t0 = time.perf_counter()
    phase("writing the ads")
    encoders = {"video": [VIDEO_ENCODER, encoder_version(seed)], "audio": [AUDIO_ENCODER, encoder_version(seed)]}
    jobs = []
    for ad in world.ads:
        analysis, frames = analysis_of(ad, seed)
        thumbs = {}
        for i, c in enumerate(ad.clips):
            thumbs[i] = thumbnail_jpeg(c.frames[0])
        folder.save_ad(analysis, frames, world.library[ad.track], thumbs, encoders)
        jobs.append(AdJob(ad.key, Path(analysis.source), None))
    t1 = time.perf_counter()
    phase("training the tokenizers")
    tokenizers = train_tokenizers(world, data_dir)
    t2 = time.perf_counter()
    phase("assembling the training files")
    request = BuildRequest(corpus=[], out=data_dir, options=options, eval_fraction=eval_fraction)
    report = assemble(request, jobs, folder, {})
    t3 = time.perf_counter()
    return {"report": report, "tokenizers": tokenizers,
            "timings_s": {"ads": round(t1 - t0, 2), "tokenizers": round(t2 - t1, 2), "assemble": round(t3 - t2, 2)}}
