"""An ad's background music, found in its soundtrack: where it plays and one vector for it.

The paper removes the voice with a source-separation service and embeds the whole accompaniment
(PANNs, kept when AudioSet "Music" > 0.5). No separation model ships in a wheel, so by default the
music is measured where it plays alone: the audio encoder's windows (YAMNet: 0.96 s every 0.48 s)
whose "Music" score says music and whose "Speech" score says no speech, and that overlap no word
the speech recogniser heard. Their mean embedding is the ad's music vector.

Windows where music plays under the voice are never used. Measured on 28 real tracks
(immich-memories-music) mixed with TTS speech (4 s music, 9 s voice over music ducked 6-18 dB, 4 s
music): the vector of the music-only windows has a median cosine of 0.985 to the clean music and
finds the right track among the 28 in 93% of ads; the vector of the windows under the voice has a
median cosine of 0.62 to the music and 0.54-0.65 to the speech alone, and finds the right track in
14-29%; adding those windows to the music-only ones drops the hit rate to 64-75% (on another part
of the track). An ad whose music only plays under the voice therefore gets no music vector.

A `Separator` (any object with a `name` and a `separate` method) can be passed in; then the
music is measured on its accompaniment over the whole ad, speech or not, as the paper does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from adcut.core.errors import BadInputError
from adcut.dataset.types import Music, Word
from adcut.encoders.base import AudioEncoder, AudioResult, l2_normalize

SAMPLE_RATE = 16000
MUSIC_CLASS = "Music"
SPEECH_CLASS = "Speech"
# A class is heard in a window when its score is at least this (the library's threshold for
# has_music/has_speech; YAMNet's sigmoid scores are quantised, and 0.5 is one of its steps).
PRESENT = 0.5
METHOD_NO_SPEECH = "no-speech stretches"
NO_MUSIC = "no music heard outside speech"
ONLY_UNDER_SPEECH = "no music heard outside speech (it plays only under the voice)"


@runtime_checkable
class Separator(Protocol):
    """A source-separation model: the accompaniment (everything but the voice) of a mix."""

    name: str

    def separate(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Mono float32 accompaniment, the same length and rate as `samples`."""
        ...


def load_separator(spec: str) -> Separator:
    """A separator named as `module:factory` (a class or function that takes no arguments and
    returns an object with `name` and `separate`), for models adcut does not ship."""
    import importlib

    module_name, _, attr = spec.partition(":")
    hint = "name it as module:factory, e.g. my_separators:Demucs, importable from this Python"
    if not module_name or not attr:
        raise BadInputError(f"--separator {spec!r} is not module:factory", hint=hint)
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BadInputError(f"cannot load the separator {spec}: {exc}", hint=hint) from None
    separator = factory()
    if not callable(getattr(separator, "separate", None)) or not getattr(separator, "name", None):
        raise BadInputError(f"{spec} did not give a separator (an object with name and separate)",
                            hint=hint)
    return separator


# ---------------------------------------------------------------------------------------------
# Pure logic


def class_column(class_names: Sequence[str], name: str) -> int:
    try:
        return list(class_names).index(name)
    except ValueError:
        raise BadInputError(f"the audio encoder has no {name!r} class",
                            hint="use an AudioSet encoder (YAMNet, or PANNs with its label file)") from None


def windows_in_words(times_s: np.ndarray, window_s: float, words: Sequence[Word]) -> np.ndarray:
    """(P,) bool: whether window [t, t + window_s) overlaps any word's span."""
    t0 = np.asarray(times_s, dtype=np.float64)
    hit = np.zeros(t0.shape[0], dtype=bool)
    for w in words:
        hit |= (t0 < w.end_s) & (t0 + window_s > w.start_s)
    return hit


def stretches(times_s: np.ndarray, window_s: float, mask: np.ndarray, duration_s: float
              ) -> list[tuple[float, float]]:
    """The selected windows as (start_s, end_s) stretches: overlapping or touching windows
    merged, ends cut at the audio's duration."""
    out: list[tuple[float, float]] = []
    for t in np.asarray(times_s, dtype=np.float64)[np.asarray(mask, dtype=bool)]:
        start, end = float(t), min(float(t) + window_s, duration_s)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return [(round(a, 3), round(b, 3)) for a, b in out]


def mean_vector(embeddings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The L2-normalised mean of the L2-normalised embeddings of the selected windows."""
    return l2_normalize(l2_normalize(embeddings[mask]).mean(axis=0))


def music_outside_speech(result: AudioResult, class_names: Sequence[str], window_s: float,
                         words: Sequence[Word], duration_s: float
                         ) -> tuple[Music | None, np.ndarray | None, str | None]:
    """(Music, vector, None) from the windows with music and neither speech nor a word in them,
    or (None, None, reason) when there are none."""
    scores = result.class_scores
    music = scores[:, class_column(class_names, MUSIC_CLASS)] >= PRESENT
    voice = (scores[:, class_column(class_names, SPEECH_CLASS)] >= PRESENT) | windows_in_words(
        result.times_s, window_s, words)
    alone = music & ~voice
    if not alone.any():
        return None, None, ONLY_UNDER_SPEECH if music.any() else NO_MUSIC
    found = Music(seconds=stretches(result.times_s, window_s, alone, duration_s), method=METHOD_NO_SPEECH)
    return found, mean_vector(result.embeddings, alone), None


def music_in_accompaniment(result: AudioResult, class_names: Sequence[str], window_s: float,
                           duration_s: float, separator_name: str
                           ) -> tuple[Music | None, np.ndarray | None, str | None]:
    """(Music, vector, None) from every window of a separated accompaniment that has music in
    it, or (None, None, reason) when none has."""
    music = result.class_scores[:, class_column(class_names, MUSIC_CLASS)] >= PRESENT
    if not music.any():
        return None, None, f"no music heard in the accompaniment from {separator_name}"
    found = Music(seconds=stretches(result.times_s, window_s, music, duration_s), method=separator_name)
    return found, mean_vector(result.embeddings, music), None


# ---------------------------------------------------------------------------------------------
# With models


def _at_rate(samples_16k: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    if sample_rate == SAMPLE_RATE:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sample_rate, SAMPLE_RATE)
    return resample_poly(x, sample_rate // g, SAMPLE_RATE // g).astype(np.float32)


def analyse_music(samples_16k: np.ndarray, words: Sequence[Word], audio_encoder: AudioEncoder,
                  separator: Separator | None = None
                  ) -> tuple[Music | None, np.ndarray | None, str | None]:
    """The ad's background music from its 16 kHz mono soundtrack: (Music, (dim,) unit vector,
    None), or (None, None, why not). `words`: the voice-over's words (from `speech.transcribe`),
    whose spans are kept out of the measurement; ignored when a `separator` gives the
    accompaniment."""
    x = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    duration_s = x.shape[0] / SAMPLE_RATE
    window_s = float(audio_encoder.patch_s)
    if separator is None:
        result = audio_encoder.encode_audio(_at_rate(x, audio_encoder.sample_rate))
        return music_outside_speech(result, audio_encoder.class_names, window_s, words, duration_s)
    accompaniment = np.asarray(separator.separate(x, SAMPLE_RATE), dtype=np.float32).reshape(-1)
    if accompaniment.shape[0] != x.shape[0]:
        raise BadInputError(f"separator {separator.name!r} returned {accompaniment.shape[0]} samples "
                            f"for {x.shape[0]}", hint="a separator must keep the length and rate of its input")
    result = audio_encoder.encode_audio(_at_rate(accompaniment, audio_encoder.sample_rate))
    return music_in_accompaniment(result, audio_encoder.class_names, window_s, duration_s, separator.name)
