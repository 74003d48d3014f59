"""The expensive work on one finished ad: decode it, listen to it, look at it.

Two halves that need different machines on a cluster: `listen` (audio decode, speech
recognition, music) and `look` (frame decode, shot cuts, 1 fps frame embeddings,
thumbnails). `analyse_ad` joins them into an `AdResult`: the ad's `AdAnalysis` and its
vectors, ready to be stored. The models live in a `Models` bundle that loads each model
once, so a worker (a process of the local pool or a Ray actor) keeps them between ads.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from adcut.core.errors import MediaError
from adcut.dataset import music as music_mod
from adcut.dataset import speech
from adcut.dataset.products import ProductFacts, ask_model
from adcut.dataset.types import AdAnalysis, Music, Word

ANALYSIS_LONG_SIDE = 384  # decode size for shots and embeddings (as ingest)
ANALYSIS_FPS_MAX = 30.0
THUMB_LONG_SIDE = 256
# Threads each worker's models use, wherever it runs: the float sums of an embedding depend on
# how they are split between threads, so a fixed count makes a Ray build and a local build store
# the same vectors (the speech model and YAMNet use 2 as well).
WORKER_THREADS = 2


@dataclass(frozen=True)
class BuildOptions:
    """What decides the per-ad results: a change here makes stored analyses stale."""

    vision: str = "efficientnet-lite0"
    audio: str = "yamnet"
    asr: str | None = None  # None: Whisper tiny.en for English, an installed multilingual model otherwise
    language: str = "auto"  # "auto", "zh" or "en"
    llm: str | None = None  # an OpenAI-compatible endpoint that reads product facts from the lines
    llm_model: str | None = None
    separator: str | None = None  # module:factory of a source-separation model (none ships)

    def fingerprint(self) -> dict:
        from adcut import __version__

        return {"adcut": __version__, "vision": self.vision, "audio": self.audio,
                "asr": self.asr or "default", "language": self.language,
                "llm": f"{self.llm} {self.llm_model or ''}".strip() if self.llm else None,
                "separator": self.separator}


class Models:
    """The models one worker uses, each loaded on first use and kept."""

    def __init__(self, options: BuildOptions):
        self.options = options
        self._vision = None
        self._audio = None
        self._llm = None
        self._separator = None

    @property
    def vision(self):
        if self._vision is None:
            import torch

            from adcut.encoders.registry import load_vision_encoder

            torch.set_num_threads(WORKER_THREADS)
            self._vision = load_vision_encoder(self.options.vision)
        return self._vision

    @property
    def audio(self):
        if self._audio is None:
            from adcut.encoders.registry import load_audio_encoder

            self._audio = load_audio_encoder(self.options.audio)
        return self._audio

    @property
    def separator(self):
        """The source-separation model the user named, or None (music from the stretches
        without speech)."""
        if self._separator is None and self.options.separator:
            self._separator = music_mod.load_separator(self.options.separator)
        return self._separator

    @property
    def llm(self):
        """The chat backend that reads product facts, or None when none was named."""
        if self._llm is None and self.options.llm:
            from adcut.planner.backends import OpenAIBackend

            self._llm = OpenAIBackend(self.options.llm, self.options.llm_model or "")
        return self._llm


@dataclass
class Heard:
    words: list[Word]
    language: str
    music: Music | None
    music_vector: np.ndarray | None
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    frames: np.ndarray  # (n_seconds, d): row k = the frame in the middle of second k
    shot_cuts_s: list[float]
    thumbs: list[bytes]  # JPEG of each row's frame, small
    duration_s: float  # the file's, as probed


@dataclass
class AdResult:
    analysis: AdAnalysis
    frames: np.ndarray
    music_vector: np.ndarray | None
    thumbs: dict[int, bytes]  # clip index -> JPEG of its first frame
    encoders: dict[str, list[str]]  # modality -> [name, version] of the encoder of its vectors


def ad_key(path: Path, taken: set[str]) -> str:
    """A file-name-safe key from the video's name, made unique within the corpus by a short
    hash of its path when two videos share a name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "ad"
    key = stem
    if key in taken:
        key = f"{stem}-{hashlib.md5(str(path).encode()).hexdigest()[:8]}"
    taken.add(key)
    return key


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _jpeg(rgb: np.ndarray, long_side: int = THUMB_LONG_SIDE) -> bytes:
    from PIL import Image

    img = Image.fromarray(rgb)
    img.thumbnail((long_side, long_side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def listen(path: Path, info, models: Models, language: str) -> Heard:
    """Speech (words with times, the language) and the background music of the ad."""
    from adcut.media.audio import decode_audio

    if info.audio is None:
        return Heard([], language if language != "auto" else "en", None, None,
                     {"speech": "the file has no sound", "music": "the file has no sound"})
    samples = decode_audio(path, sample_rate=speech.SAMPLE_RATE).samples
    words, detected = speech.transcribe(samples, language=language, model=models.options.asr)
    found, vector, reason = music_mod.analyse_music(samples, words, models.audio, models.separator)
    notes = {} if found else {"music": reason or "no music found"}
    if not words:
        notes["speech"] = "no speech recognised"
    return Heard(words, detected, found, vector, notes)


def look(path: Path, info, models: Models) -> Seen:
    """One decode pass: shot cuts from every frame, and the frame in the middle of each whole
    second embedded (the paper's 1 fps frames; the middle keeps them off cut frames)."""
    from adcut.media.frames import FrameReader, analysis_size
    from adcut.media.shots import ShotDetector

    video = info.video
    if video is None:
        raise MediaError(f"{path}: no video stream", hint="the dataset is built from ad videos")
    fps = float(min(video.fps, ANALYSIS_FPS_MAX)) if video.fps and video.fps > 0 else 25.0
    width, height = analysis_size(video, ANALYSIS_LONG_SIDE)
    detector = ShotDetector(fps)
    picked: list[np.ndarray] = []
    next_s = 0.5
    n_frames = 0
    for index, t_s, rgb in FrameReader(path, info, width=width, height=height, fps=fps):
        n_frames = index + 1
        detector.push(index, rgb)
        if t_s + 0.5 / fps >= next_s:
            picked.append(rgb)
            next_s += 1.0
    if n_frames == 0:
        raise MediaError(f"{path}: no decodable video frames", hint="check that the file plays")
    vision = models.vision
    frames = (vision.encode_images(picked).embeddings.astype(np.float32) if picked
              else np.zeros((0, vision.dim), np.float32))
    cuts = [round(f / fps, 3) for f in detector.finish()]
    return Seen(frames, cuts, [_jpeg(img) for img in picked], float(info.duration_s))


def _probe(path: Path):
    from adcut.media.probe import probe_media

    info = probe_media(path)
    if info.video is None:
        raise MediaError(f"{path.name}: not a video (no picture stream)",
                         hint="the dataset is built from finished ad videos")
    return info


def hear_ad(path: Path, models: Models, facts: ProductFacts | None) -> Heard:
    """The listening half of `analyse_ad` (a cluster runs it on CPU workers)."""
    language = models.options.language
    if language == "auto" and facts is not None and facts.language:
        language = facts.language
    return listen(path, _probe(path), models, language)


def see_ad(path: Path, models: Models) -> Seen:
    """The looking half of `analyse_ad` (a cluster may give it a GPU)."""
    return look(path, _probe(path), models)


def join_ad(path: Path, key: str, heard: Heard, seen: Seen, models: Models,
            facts: ProductFacts | None) -> AdResult:
    """Sentences, clips and product facts from the two halves."""
    duration_s = seen.duration_s
    sentences = speech.sentences_from_words(heard.words, heard.language)
    clips = speech.cut_clips(sentences, duration_s, seen.shot_cuts_s)
    n = seen.frames.shape[0]
    # A clip may name a second the decoder did not reach (a short last second): drop it.
    clips = [replace(c, frame_seconds=[k for k in c.frame_seconds if k < n]) for c in clips]
    notes = dict(heard.notes)
    if facts is None and models.llm is not None:
        facts = ask_model(models.llm, [s.text for s in sentences])
    if facts is None:
        notes["product"] = "no product facts (no NAME.json, no products.csv row, no --llm)"
    analysis = AdAnalysis(
        key=key, source=str(path), sha256=file_sha256(path), duration_s=round(duration_s, 3),
        language=heard.language, words=heard.words, sentences=sentences, clips=clips,
        product=facts.product if facts else None, product_source=facts.source if facts else "none",
        music=heard.music, notes=notes)
    thumbs = {i: seen.thumbs[c.frame_seconds[0]] for i, c in enumerate(clips) if c.frame_seconds}
    encoders = {"video": [models.vision.name, models.vision.version]}
    if heard.music_vector is not None:
        encoders["audio"] = [models.audio.name, models.audio.version]
    return AdResult(analysis, seen.frames, heard.music_vector, thumbs, encoders)


def analyse_ad(path: Path, key: str, models: Models, facts: ProductFacts | None) -> AdResult:
    """The whole per-ad analysis on one machine (MediaError for a file that is not a usable
    video)."""
    seen = see_ad(path, models)
    return join_ad(path, key, hear_ad(path, models, facts), seen, models, facts)
