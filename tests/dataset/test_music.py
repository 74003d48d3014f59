"""The ad's background music: which windows are used (pure, on made-up scores), then real
YAMNet on an ad made of lavfi music and TTS speech (music alone, voice over ducked music, music
alone): the stretches found must be the music-only parts."""

from __future__ import annotations

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.dataset.music import (
    METHOD_NO_SPEECH,
    NO_MUSIC,
    ONLY_UNDER_SPEECH,
    Separator,
    analyse_music,
    music_outside_speech,
    stretches,
)
from adcut.dataset.types import Word
from adcut.encoders.base import AudioResult
from tests.synth import ffmpeg

RATE = 16000
NAMES = ["Speech", "Music", "Dog"]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def result(music: list[float], speech: list[float], hop_s: float = 0.5) -> AudioResult:
    """Windows every hop_s whose embedding is one-hot on its index (so means are checkable)."""
    n = len(music)
    scores = np.zeros((n, 3), np.float32)
    scores[:, 0], scores[:, 1] = speech, music
    return AudioResult(times_s=np.arange(n) * hop_s, embeddings=np.eye(n, 8, dtype=np.float32),
                       class_scores=scores)


# ---------------------------------------------------------------------------------------------
# Pure: which windows


def test_windows_with_music_and_no_speech_are_merged_into_stretches_and_averaged():
    r = result(music=[0.9, 0.9, 0.9, 0.9, 0.9, 0.9], speech=[0, 0, 0.9, 0.9, 0, 0])
    found, vector, reason = music_outside_speech(r, NAMES, 1.0, [], duration_s=3.2)
    assert reason is None and found.method == METHOD_NO_SPEECH
    assert found.seconds == [(0.0, 1.5), (2.0, 3.2)]  # windows are 1 s long; the last is cut at the end
    assert np.allclose(vector, np.array([1, 1, 0, 0, 1, 1, 0, 0]) / 2.0)


def test_asr_words_keep_windows_out_even_when_the_speech_score_misses_the_voice():
    r = result(music=[0.9] * 6, speech=[0.0] * 6)
    found, _, _ = music_outside_speech(r, NAMES, 1.0, [Word(1.2, 1.9, "hi")], duration_s=3.5)
    assert found.seconds == [(0.0, 1.0), (2.0, 3.5)]  # windows at 0.5, 1.0, 1.5 touch the word


def test_music_only_under_the_voice_gives_no_vector_and_says_why():
    r = result(music=[0.9, 0.9, 0.1], speech=[0.9, 0.9, 0.0])
    assert music_outside_speech(r, NAMES, 1.0, [], 1.5) == (None, None, ONLY_UNDER_SPEECH)
    assert music_outside_speech(result([0.1, 0.2], [0.0, 0.9]), NAMES, 1.0, [], 1.0) == (None, None, NO_MUSIC)


def test_an_encoder_without_audioset_classes_is_refused():
    with pytest.raises(BadInputError, match="'Music'"):
        music_outside_speech(result([0.9], [0.0]), ["Speech", "Dog", "Cat"], 1.0, [], 1.0)


def test_stretches_merge_touching_windows_and_skip_windows_past_the_end():
    times = np.array([0.0, 0.5, 2.0, 3.0, 9.0])
    assert stretches(times, 1.0, np.array([1, 1, 1, 1, 1], bool), 4.5) == [(0.0, 1.5), (2.0, 4.0)]


class _RateEncoder:
    """An AudioEncoder at 32 kHz that hears music everywhere; it records what it was given."""

    name, version, dim, sample_rate, patch_s, hop_s = "fake32k", "1", 8, 32000, 1.0, 0.5
    class_names = NAMES

    def encode_audio(self, samples):
        self.seen = len(samples)
        n = max(1, int(len(samples) / self.sample_rate / self.hop_s) - 1)
        return result([0.9] * n, [0.0] * n)


def test_audio_is_resampled_to_the_encoders_rate():
    enc = _RateEncoder()
    found, _, _ = analyse_music(np.zeros(3 * RATE, np.float32), [], enc)
    assert enc.seen == 3 * 32000 and found.seconds == [(0.0, 3.0)]


# ---------------------------------------------------------------------------------------------
# Real YAMNet on lavfi music and TTS speech

# Plucked C major chords every half second over a bass note: YAMNet's "Music" scores it >= 0.9
# (plain sine chords read as "Dial tone").
CHORDS = ("0.25*exp(-3*mod(t,0.5))*(sin(2*PI*261.6*t)+sin(2*PI*329.6*t)+sin(2*PI*392*t)"
          "+0.5*sin(4*PI*261.6*t)+0.3*sin(4*PI*392*t))"
          "+0.2*exp(-4*mod(t+0.25,0.5))*sin(2*PI*(130.8+65.4*floor(mod(t,2)))*t)")
INTRO_S = OUTRO_S = 4.0
DUCK = 10 ** (-12 / 20)  # music under the voice, as an ad mix ducks it


@pytest.fixture(scope="module")
def encoder():
    from adcut.encoders.yamnet import YamnetEncoder

    return YamnetEncoder()


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """(speech samples, its words from the voice's own timings, music samples long enough)."""
    from adcut.media.audio import decode_audio
    from adcut.voice.tts import load_tts

    folder = tmp_path_factory.mktemp("music")
    spoken = load_tts("hibari").synthesize("Fresh coffee, every morning. Order today at verde dot coffee.",
                                           folder / "voice.wav")
    voice = decode_audio(spoken.path, sample_rate=RATE).samples
    words = [Word(s, e, w) for w, s, e in spoken.words]
    total_s = INTRO_S + len(voice) / RATE + OUTRO_S
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc=exprs='{CHORDS}':s={RATE}:d={total_s + 1}", "-c:a", "pcm_s16le",
           str(folder / "music.wav"))
    music = decode_audio(folder / "music.wav", sample_rate=RATE).samples
    return voice, words, music


def mixed(parts, *, intro_s: float, outro_s: float):
    """Music alone for intro_s, the voice over ducked music, music alone for outro_s; the words
    moved to where the voice is; and the music exactly as it is in the mix."""
    voice, words, music = parts
    a = int(intro_s * RATE)
    b = a + len(voice)
    n = b + int(outro_s * RATE)
    bed = music[:n].copy()
    bed[a:b] *= DUCK
    mix = bed.copy()
    mix[a:b] += voice
    moved = [Word(w.start_s + intro_s, w.end_s + intro_s, w.text) for w in words]
    return mix, moved, bed


def test_the_stretches_found_are_the_music_only_intro_and_outro(parts, encoder):
    mix, words, _ = mixed(parts, intro_s=INTRO_S, outro_s=OUTRO_S)
    found, vector, reason = analyse_music(mix, words, encoder)
    assert reason is None and found.method == METHOD_NO_SPEECH
    voice_start, voice_end, end = words[0].start_s, words[-1].end_s, len(mix) / RATE
    (a0, a1), (b0, b1) = found.seconds
    assert a0 == 0.0 and voice_start - 1.0 <= a1 <= voice_start
    assert voice_end <= b0 <= voice_end + 1.0 and b1 == pytest.approx(end, abs=1e-3)

    clean = encoder.encode_audio(parts[2][: len(mix)]).embeddings.mean(axis=0)
    speech = encoder.encode_audio(parts[0]).embeddings.mean(axis=0)
    assert vector.shape == (encoder.dim,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert float(vector @ unit(clean)) > 0.95
    assert float(vector @ unit(speech)) < float(vector @ unit(clean)) - 0.3


def test_music_heard_only_under_the_voice_gives_no_vector(parts, encoder):
    mix, words, _ = mixed(parts, intro_s=0.0, outro_s=0.0)
    assert analyse_music(mix, words, encoder) == (None, None, ONLY_UNDER_SPEECH)


def test_speech_alone_has_no_music(parts, encoder):
    voice, words, _ = parts
    assert analyse_music(voice, words, encoder) == (None, None, NO_MUSIC)


class KnownStem:
    """A stand-in separator: it knows the accompaniment of the one mix it is given."""

    name = "known-stem"

    def __init__(self, accompaniment: np.ndarray):
        self.accompaniment = accompaniment

    def separate(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        assert sample_rate == RATE
        return self.accompaniment


def test_a_separator_measures_the_music_over_the_whole_ad(parts, encoder):
    mix, words, bed = mixed(parts, intro_s=0.0, outro_s=0.0)  # no clean stretch without it
    stem = KnownStem(bed)
    assert isinstance(stem, Separator)
    found, vector, reason = analyse_music(mix, words, encoder, separator=stem)
    assert reason is None and found.method == "known-stem"
    assert found.seconds == [(0.0, pytest.approx(len(mix) / RATE, abs=1e-3))]
    clean = encoder.encode_audio(bed).embeddings  # rows are unit vectors
    assert float(vector @ unit(clean.mean(axis=0))) > 0.999


def test_a_separator_that_changes_the_length_is_refused(parts, encoder):
    mix, words, bed = mixed(parts, intro_s=1.0, outro_s=1.0)
    with pytest.raises(BadInputError, match="known-stem"):
        analyse_music(mix, words, encoder, separator=KnownStem(bed[:-10]))
