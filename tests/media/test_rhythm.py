"""Tempo and beats of generated click/drum tracks, no pulse in silence and noise, energy curve."""

from __future__ import annotations

import numpy as np
import pytest

from adcut.media.audio import decode_audio
from adcut.media.rhythm import analyze_rhythm, energy_curve
from tests import synth


@pytest.mark.parametrize("bpm, hats", [(100, False), (120, False), (140, False), (100, True), (140, True)])
def test_tempo_and_beats_of_a_click_track(tmp_path, bpm, hats):
    path = tmp_path / "beat.wav"
    clicks = np.array(synth.click_track(path, bpm=bpm, duration_s=12, offbeat_hats=hats))
    audio = decode_audio(path, sample_rate=16000)
    rhythm = analyze_rhythm(audio.samples, audio.sample_rate)
    assert rhythm.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert rhythm.confidence > 0.5
    beats = rhythm.beat_times_s
    # every click has a beat within 30 ms, and there is no beat that is not a click
    assert len(beats) == len(clicks)
    assert np.abs(beats - clicks).max() < 0.030


def test_other_sample_rates(tmp_path):
    path = tmp_path / "beat.wav"
    clicks = np.array(synth.click_track(path, bpm=120, duration_s=8, sample_rate=44100))
    for rate in (22050, 48000):
        audio = decode_audio(path, sample_rate=rate)
        rhythm = analyze_rhythm(audio.samples, audio.sample_rate)
        assert rhythm.tempo_bpm == pytest.approx(120, rel=0.02)
        assert np.abs(rhythm.beat_times_s - clicks).max() < 0.030


@pytest.mark.parametrize(
    "signal",
    [
        np.zeros(16000 * 5, dtype=np.float32),
        np.random.default_rng(0).normal(0, 0.1, 16000 * 10).astype(np.float32),
        (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000 * 5) / 16000)).astype(np.float32),
        np.zeros(100, dtype=np.float32),
    ],
    ids=["silence", "white-noise", "steady-tone", "too-short"],
)
def test_no_pulse_means_no_tempo(signal):
    rhythm = analyze_rhythm(signal, 16000)
    assert rhythm.tempo_bpm == 0.0 and len(rhythm.beat_times_s) == 0 and rhythm.confidence == 0.0


def test_energy_curve():
    rate = 1000
    t = np.arange(int(2.2 * rate)) / rate
    x = np.where(t < 1.0, 0.5 * np.sin(2 * np.pi * 50 * t), 0.0)
    times_s, rms_db = energy_curve(x, rate, hop_s=0.5)
    assert times_s == pytest.approx([0.25, 0.75, 1.25, 1.75, 2.1])  # the last window is 0.2 s
    assert rms_db[:2] == pytest.approx([20 * np.log10(0.5 / np.sqrt(2))] * 2, abs=0.01)
    assert (rms_db[2:] <= -100).all()
    assert [len(a) for a in energy_curve(np.zeros(0), rate)] == [0, 0]
