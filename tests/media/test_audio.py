"""decode_audio: mono float samples and EBU R128 loudness from one ffmpeg pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adcut.core.errors import MediaError
from adcut.media.audio import decode_audio, parse_ebur128_summary
from tests import synth


@pytest.mark.parametrize("channels, amplitude", [(1, 0.5), (1, 0.1), (2, 0.25)])
def test_loudness_of_a_997_hz_sine_matches_theory(tmp_path, channels, amplitude):
    path = tmp_path / "tone.wav"
    expected = synth.tone(path, freq_hz=997, amplitude=amplitude, channels=channels, duration_s=3)
    # BS.1770: full-scale 997 Hz sine in one channel = -3.01 LUFS; a second channel adds 3.01 dB
    assert expected == pytest.approx(20 * math.log10(amplitude) - 3.01 + 10 * math.log10(channels))
    audio = decode_audio(path, measure_loudness=True)
    assert audio.loudness.integrated_lufs == pytest.approx(expected, abs=0.5)
    assert audio.loudness.true_peak_dbtp == pytest.approx(20 * math.log10(amplitude), abs=0.5)
    assert audio.loudness.lra_lu is not None
    assert audio.sample_rate == 16000 and audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(3.0, abs=0.01)


def test_samples_are_the_signal_resampled(tmp_path):
    path = tmp_path / "tone.wav"
    synth.tone(path, freq_hz=440, amplitude=0.5, channels=1, sample_rate=44100, duration_s=2)
    audio = decode_audio(path, sample_rate=8000)
    assert len(audio.samples) == pytest.approx(16000, abs=8)
    assert audio.loudness is None
    mid = audio.samples[4000:12000]
    assert np.abs(mid).max() == pytest.approx(0.5, abs=0.02)
    spectrum = np.abs(np.fft.rfft(mid))
    assert np.fft.rfftfreq(len(mid), 1 / 8000)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_audio_track_of_a_video(tmp_path):
    path = tmp_path / "clip.mp4"
    synth.color_shots(path, ["red", "blue"], [1.0, 1.0], audio="sine")
    audio = decode_audio(path, measure_loudness=True)
    assert audio.duration_s == pytest.approx(2.0, abs=0.05)
    assert audio.loudness.integrated_lufs is not None


def test_digital_silence_has_no_loudness(tmp_path):
    path = tmp_path / "silence.wav"
    synth.ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:d=2", str(path))
    audio = decode_audio(path, measure_loudness=True)
    assert audio.loudness.integrated_lufs is None and audio.loudness.true_peak_dbtp is None
    assert not audio.samples.any()


def test_speech_from_the_bundled_voice(tmp_path):
    path = tmp_path / "line.wav"
    duration_s = synth.speech_wav(path, "Introducing the new Spark running shoe.")
    audio = decode_audio(path, measure_loudness=True)
    assert 1.0 < audio.duration_s == pytest.approx(duration_s, abs=0.01)
    assert -40 < audio.loudness.integrated_lufs < -5


def test_file_without_audio_is_a_media_error(tmp_path):
    path = tmp_path / "silent.mp4"
    synth.color_shots(path, ["red"], [0.5], audio="none")
    with pytest.raises(MediaError, match=r"silent\.mp4: no audio stream"):
        decode_audio(path)
    with_audio = tmp_path / "clip.mp4"
    synth.color_shots(with_audio, ["red"], [0.5], audio="sine")
    with pytest.raises(MediaError, match="no audio stream #1"):
        decode_audio(with_audio, stream_index=1)
    with pytest.raises(MediaError, match="does not exist"):
        decode_audio(tmp_path / "missing.wav")


def test_summary_parsing():
    stderr = """[Parsed_ebur128_0 @ 0x7f] Summary:

  Integrated loudness:
    I:         -16.4 LUFS
    Threshold: -26.6 LUFS

  Loudness range:
    LRA:         5.3 LU
    Threshold: -36.6 LUFS
    LRA low:   -20.1 LUFS
    LRA high:  -14.8 LUFS

  True peak:
    Peak:       -0.9 dBFS
"""
    loud = parse_ebur128_summary(stderr)
    assert (loud.integrated_lufs, loud.lra_lu, loud.true_peak_dbtp) == (-16.4, 5.3, -0.9)
    assert parse_ebur128_summary("no summary here") is None
    silent = parse_ebur128_summary(stderr.replace("-16.4", "-70.0").replace("-0.9", "-inf"))
    assert silent.integrated_lufs is None and silent.true_peak_dbtp is None
