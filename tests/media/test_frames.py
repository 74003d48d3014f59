"""Frames from one ffmpeg decode: colours at known times, upright phone video, regular rate from
VFR recordings, early stop, and how far a damaged file got."""

from __future__ import annotations

import numpy as np
import pytest

from adcut.core.errors import MediaError
from adcut.media.frames import FrameReader, analysis_size, iter_frames
from adcut.media.probe import VideoInfo, probe_media
from tests import synth

COLORS = ["red", "blue", "lime", "white", "black"]
RGB = {"red": (255, 0, 0), "blue": (0, 0, 255), "lime": (0, 255, 0),
       "white": (255, 255, 255), "black": (0, 0, 0)}
DURATIONS = [1.0, 0.8, 1.2, 0.6, 1.0]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    path = tmp_path_factory.mktemp("frames") / "shots.mp4"
    cuts = synth.color_shots(path, COLORS, DURATIONS, audio="none")
    return path, probe_media(path), cuts


def _video(w: int, h: int) -> VideoInfo:
    return VideoInfo(codec="h264", width=w, height=h, coded_width=w, coded_height=h, rotation_deg=0,
                     fps=25.0, is_vfr=False, frame_count=None, pix_fmt="yuv420p")


@pytest.mark.parametrize(
    "size, long_side, expected",
    [
        ((1920, 1080), 384, (384, 216)),
        ((1080, 1920), 384, (216, 384)),
        ((1440, 1080), 384, (384, 288)),
        ((320, 240), 384, (320, 240)),  # never upscaled
        ((321, 241), 384, (320, 240)),  # even, and not one pixel larger than the source
        ((3840, 1634), 384, (384, 164)),  # 163.4 -> even
        ((1920, 1080), 224, (224, 126)),
    ],
)
def test_analysis_size(size, long_side, expected):
    assert analysis_size(_video(*size), long_side) == expected


def _centre(rgb: np.ndarray) -> np.ndarray:
    h, w, _ = rgb.shape
    return rgb[h // 2 - 4: h // 2 + 4, w // 2 - 4: w // 2 + 4].reshape(-1, 3).mean(axis=0)


def test_frames_show_the_segment_colour_at_their_time(shots):
    path, info, cuts = shots
    frames = list(iter_frames(path, info, width=160, height=120))
    assert len(frames) == 115
    starts = [0.0, *cuts]
    for i, (idx, t_s, rgb) in enumerate(frames):
        assert idx == i and t_s == pytest.approx(i / 25)
        assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8
    for colour, start, dur in zip(COLORS, starts, DURATIONS):
        for t in (start, start + dur / 2, start + dur - 0.04):  # first, middle and last frame
            _, _, rgb = frames[round(t * 25)]
            assert np.abs(_centre(rgb) - RGB[colour]).max() < 12, (colour, t)


def test_lower_rate_samples_the_right_times(shots):
    path, info, cuts = shots
    frames = list(iter_frames(path, info, width=64, height=48, fps=5))
    assert len(frames) == 23
    for idx, t_s, rgb in frames:
        assert t_s == pytest.approx(idx / 5)
        segment = sum(t_s >= c for c in cuts)
        assert np.abs(_centre(rgb) - RGB[COLORS[segment]]).max() < 12, t_s
    frames[0][2][0, 0] = 1  # arrays are the caller's to modify


@pytest.mark.parametrize("deg", [90, 180, 270])
def test_phone_video_comes_out_upright(tmp_path, deg):
    path = tmp_path / "phone.mp4"
    synth.rotated_video(path, deg)
    info = probe_media(path)
    w, h = analysis_size(info.video)
    assert (w, h) == (180, 320)
    _, _, rgb = next(iter_frames(path, info, width=w, height=h))
    assert rgb.shape == (320, 180, 3)
    assert np.abs(rgb[:150].reshape(-1, 3).mean(axis=0) - (255, 0, 0)).max() < 12  # red on top
    assert np.abs(rgb[170:].reshape(-1, 3).mean(axis=0) - (0, 0, 255)).max() < 12  # blue below


def test_variable_rate_recording_comes_out_regular(tmp_path):
    path = tmp_path / "screen.mp4"
    synth.vfr_video(path)
    info = probe_media(path)
    assert len(list(iter_frames(path, info, width=64, height=48))) == 80  # 4 s at the 20 fps average
    assert len(list(iter_frames(path, info, width=64, height=48, fps=30))) == 120


def test_stopping_early_ends_the_decoder(shots):
    path, info, _ = shots
    reader = FrameReader(path, info, width=64, height=48)
    it = iter(reader)
    for _ in range(3):
        next(it)
    it.close()
    assert reader.returncode is not None  # the ffmpeg process was killed and reaped
    assert reader.frames_read == 3 and not reader.truncated


def test_complete_decode_reports_no_errors(shots):
    path, info, _ = shots
    reader = FrameReader(path, info, width=64, height=48)
    n = sum(1 for _ in reader)
    assert n == 115 and reader.errors == [] and not reader.truncated
    assert reader.decoded_s == pytest.approx(4.6)


def test_truncated_file_yields_what_decodes_and_says_how_far(tmp_path):
    path = tmp_path / "cut.mp4"
    full_s = synth.truncated_mp4(path, moov_first=True)
    info = probe_media(path)
    reader = FrameReader(path, info, width=64, height=48)
    frames = list(reader)
    assert 0 < len(frames) < full_s * 25
    assert reader.truncated and reader.errors
    assert 0.5 < reader.decoded_s < full_s - 0.5
    assert all(rgb.shape == (48, 64, 3) for _, _, rgb in frames)


def test_audio_only_file_has_no_frames(tmp_path):
    path = tmp_path / "song.m4a"
    synth.audio_only(path)
    with pytest.raises(MediaError, match="has no video stream"):
        FrameReader(path, probe_media(path), width=64, height=48)
