"""TTS with the real hibari voice: files, durations, trimming, word timings, cache, engines."""

from __future__ import annotations

import importlib.util
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from adcut.core.errors import BadInputError, DependencyError
from adcut.voice.tts import (
    load_tts,
    map_recognised_words,
    share_by_characters,
    synthesize_cached,
    voice_for,
)

LINE = "Introducing the new Spark running shoe, lighter, faster, stronger."


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate, channels


def silence_at_ends_s(samples: np.ndarray, rate: int) -> tuple[float, float]:
    """Seconds before the first and after the last 10 ms window within 40 dB of the loudest."""
    win = rate // 100
    frames = samples[: len(samples) // win * win].reshape(-1, win)
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))
    loud = np.nonzero(rms > rms.max() * 0.01)[0]
    return loud[0] * win / rate, (len(frames) - 1 - loud[-1]) * win / rate


@pytest.fixture(scope="module")
def engine():
    return load_tts("hibari")


@pytest.fixture(scope="module")
def spoken(engine, tmp_path_factory):
    path = tmp_path_factory.mktemp("tts") / "line.wav"
    return engine.synthesize(LINE, path)


def test_line_is_a_mono_wav_of_plausible_length(spoken, engine):
    samples, rate, channels = read_wav(spoken.path)
    assert channels == 1 and rate == spoken.sample_rate == engine.sample_rate == 24000
    assert spoken.duration_s == pytest.approx(len(samples) / rate, abs=1e-9)
    # 9 words at a voice-over pace of 2 to 4.5 words per second.
    assert 9 / 4.5 <= spoken.duration_s <= 9 / 2


def test_silence_is_trimmed_at_both_ends(spoken):
    from hibari import Hibari

    samples, rate, _ = read_wav(spoken.path)
    lead, tail = silence_at_ends_s(samples, rate)
    assert lead <= 0.05 and tail <= 0.08, (lead, tail)
    raw_lead, raw_tail = silence_at_ends_s(Hibari()(LINE, seed=0), rate)
    assert raw_lead - lead > 0.1 and raw_tail - tail > 0.1  # the raw voice pads both ends


def test_word_timings_follow_the_text(spoken):
    assert [w for w, _, _ in spoken.words] == LINE.split()
    prev_end = 0.0
    for word, start, end in spoken.words:
        assert prev_end <= start <= end <= spoken.duration_s, (word, start, end)
        assert end - start >= 0.04  # every word is actually spoken
        prev_end = end
    assert spoken.words[0][1] < 0.15 and spoken.words[-1][2] > spoken.duration_s - 0.2


def test_numbers_read_as_several_words_keep_one_token(engine, tmp_path):
    speech = engine.synthesize("Only $99 this weekend.", tmp_path / "n.wav")
    tokens = [w for w, _, _ in speech.words]
    assert tokens == ["Only", "$99", "this", "weekend."]
    lengths = {w: e - s for w, s, e in speech.words}
    assert lengths["$99"] > 2 * lengths["this"]  # "ninety-nine dollars"


def test_faster_speed_is_shorter(engine, spoken, tmp_path):
    fast = engine.synthesize(LINE, tmp_path / "fast.wav", speed=1.5)
    assert fast.duration_s < 0.8 * spoken.duration_s


def test_whisper_hears_the_words_where_the_timings_say(spoken):
    from adcut.media.audio import decode_audio
    from adcut.voice.asr import load_transcriber

    audio = decode_audio(spoken.path, sample_rate=16000)
    heard, _ = load_transcriber("tiny.en").transcribe(audio.samples)
    norm = ["".join(c for c in w.lower() if c.isalnum()) for w in LINE.split()]
    assert ["".join(c for c in w.text.lower() if c.isalnum()) for w in heard] == norm
    # The model's own durations against Whisper's word starts (itself good to ~0.1 s).
    gaps = [abs(s - w.start_s) for (_, s, _), w in zip(spoken.words, heard)]
    assert np.median(gaps) < 0.12, gaps


def test_cache_returns_the_same_file_at_no_cost(engine, tmp_path):
    first = synthesize_cached(engine, "Fresh coffee, every morning.", tmp_path)
    t0 = time.perf_counter()
    second = synthesize_cached(engine, "Fresh coffee, every morning.", tmp_path)
    assert time.perf_counter() - t0 < 0.05
    assert second == first and second.path.is_file()
    other = synthesize_cached(engine, "Fresh coffee, every morning.", tmp_path, speed=1.2)
    assert other.path != first.path
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".json", ".wav", ".wav"]


def test_hibari_g2p_assets_are_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    """What hibari parses from JSON before a process's first line is kept in the cache
    folder: the next process reads the same values back without parsing; a damaged cache
    file is parsed again."""
    import hibari.g2p as g2p

    from adcut.voice.tts import _cache_g2p_assets

    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path))
    parsed = []

    def parse(name):
        parsed.append(name)
        return {"can't": ["kˈænt", 5], "rate": 0.25, "none": None}

    monkeypatch.setattr(g2p, "_load_json", parse)  # hibari's own loader comes back after
    _cache_g2p_assets()
    name = "tokenizer_exceptions.json"  # a real asset: the cache is keyed by its identity
    first, second = g2p._load_json(name), g2p._load_json(name)
    assert first == second == parse(name) and parsed == [name, name]  # once, and once here
    (kept,) = (tmp_path / "voice-models").glob("*.marshal")
    kept.write_bytes(b"\x00damaged")
    assert g2p._load_json(name) == first and len(parsed) == 3
    _cache_g2p_assets()  # installed once: no loader wrapped twice
    assert g2p._load_json(name) == first and len(parsed) == 3


def test_languages_without_a_voice_get_none():
    assert voice_for("zh") is None
    assert voice_for("zh-CN") is None
    assert voice_for("en", engine="none") is None
    assert voice_for("en-US") is load_tts("hibari")


def test_unknown_engine_and_voice_are_bad_input():
    with pytest.raises(BadInputError, match="unknown TTS engine 'festival'"):
        load_tts("festival")
    with pytest.raises(BadInputError, match="unknown hibari voice"):
        load_tts("hibari", "nobody")


@pytest.mark.skipif(importlib.util.find_spec("piper") is not None, reason="piper-tts is installed")
def test_piper_missing_is_a_dependency_error():
    with pytest.raises(DependencyError, match="piper-tts") as err:
        load_tts("piper")
    assert "pip install piper-tts" in (err.value.hint or "")


@pytest.mark.parametrize("text", ["", "   ", "你好", "!!!"])
def test_nothing_to_say_is_bad_input(engine, text, tmp_path):
    with pytest.raises(BadInputError):
        engine.synthesize(text, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_bad_speed_is_bad_input(engine, tmp_path):
    with pytest.raises(BadInputError, match="speed"):
        engine.synthesize(LINE, tmp_path / "x.wav", speed=3.0)


def test_recognised_words_map_back_onto_the_text():
    tokens = ["Only", "$99", "this", "weekend."]
    heard = [("only", 0.0, 0.3), ("ninety", 0.4, 0.7), ("nine", 0.7, 1.0), ("this", 1.1, 1.3),
             ("weekend", 1.35, 1.9)]
    out = map_recognised_words(tokens, heard, 0.0, 1.9)
    assert [w for w, _, _ in out] == tokens
    assert out[2] == ("this", 1.1, 1.3)
    # "$99" matched nothing by spelling ("ninety nine"): it fills the gap between its neighbours.
    assert out[1][1] == pytest.approx(0.3) and out[1][2] == pytest.approx(1.1)
    shared = share_by_characters(["a", "bbb"], 0.0, 1.0)
    assert shared == [("a", 0.0, 0.25), ("bbb", 0.25, 1.0)]
