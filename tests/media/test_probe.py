"""probe_media on generated files of every kind, and the message each broken file gets."""

from __future__ import annotations

import pytest

from adcut.core.errors import MediaError
from adcut.media.probe import probe_media
from tests import synth


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    synth.color_shots(d / "shots.mp4", ["red", "blue", "lime"], [1.0, 0.8, 1.2], audio="sine")
    synth.color_shots(d / "silent.mkv", ["red"], [0.5], audio="none", faststart=False)
    for deg in (90, 180, 270):
        synth.rotated_video(d / f"rot{deg}.mp4", deg)
    synth.vfr_video(d / "screen.mp4")
    synth.odd_size_video(d / "odd.mp4")
    synth.audio_only(d / "song.mp3")
    synth.audio_only(d / "song.m4a")
    synth.tone(d / "tone.wav", channels=2, sample_rate=44100)
    return d


def test_video_with_audio(media):
    info = probe_media(media / "shots.mp4")
    assert info.path == media / "shots.mp4"
    assert info.size_bytes == (media / "shots.mp4").stat().st_size
    assert info.container == "mp4"
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    v = info.video
    assert (v.codec, v.width, v.height, v.coded_width, v.coded_height) == ("h264", 320, 240, 320, 240)
    assert v.rotation_deg == 0 and v.fps == pytest.approx(25.0) and not v.is_vfr
    assert v.frame_count == 75 and v.pix_fmt == "yuv420p"
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 1)


def test_video_without_audio_in_matroska(media):
    info = probe_media(media / "silent.mkv")
    assert info.container == "matroska" and info.audio is None
    assert info.video.fps == pytest.approx(25.0) and not info.video.is_vfr
    assert info.duration_s == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("deg", [90, 180, 270])
def test_rotation_from_display_matrix_gives_display_size(media, deg):
    v = probe_media(media / f"rot{deg}.mp4").video
    assert v.rotation_deg == deg
    assert (v.width, v.height) == (180, 320)  # portrait as shown
    stored = (180, 320) if deg == 180 else (320, 180)  # sideways as stored
    assert (v.coded_width, v.coded_height) == stored


def test_variable_frame_rate_is_flagged_with_average_rate(media):
    v = probe_media(media / "screen.mp4").video
    assert v.is_vfr
    assert v.fps == pytest.approx(20.0, rel=0.05)


def test_odd_dimensions_are_kept(media):
    v = probe_media(media / "odd.mp4").video
    assert (v.width, v.height) == (321, 241) and v.pix_fmt == "yuv444p"


@pytest.mark.parametrize("name, codec, container", [("song.mp3", "mp3", "mp3"), ("song.m4a", "aac", "m4a")])
def test_cover_art_is_not_video(media, name, codec, container):
    info = probe_media(media / name)
    assert info.video is None
    assert info.audio.codec.startswith(codec) and info.container == container
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


def test_wav(media):
    info = probe_media(media / "tone.wav")
    assert info.container == "wav" and info.video is None
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("pcm_s16le", 44100, 2)
    assert info.duration_s == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize(
    "make, expected",
    [
        (None, "does not exist"),
        (synth.zero_byte, "empty file (0 bytes)"),
        (synth.text_as_mp4, "not a media file: ffmpeg cannot read it"),
        (synth.truncated_mp4, "truncated or corrupt: the MP4 index (moov atom) is missing"),
        (synth.no_streams_mp4, "no audio or video stream"),
    ],
)
def test_broken_files_say_what_is_wrong(tmp_path, make, expected):
    path = tmp_path / "clip.mp4"
    if make is not None:
        make(path)
    with pytest.raises(MediaError) as e:
        probe_media(path)
    assert e.value.message.startswith(f"{path}: ")
    assert expected in e.value.message
    assert e.value.hint


def test_damaged_file_of_a_known_format_is_called_corrupt(tmp_path):
    path = tmp_path / "clip.mkv"
    path.write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 64)
    with pytest.raises(MediaError, match="truncated or corrupt: a Matroska/WebM file"):
        probe_media(path)


def test_truncated_mp4_whose_index_survived_still_probes(tmp_path):
    full_s = synth.truncated_mp4(tmp_path / "cut.mp4", moov_first=True)
    info = probe_media(tmp_path / "cut.mp4")
    assert info.duration_s == pytest.approx(full_s, abs=0.1)  # the index promises it all
    assert info.video is not None and info.audio is not None
