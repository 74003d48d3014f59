"""Everything that touches ffmpeg or decodes media: the ffmpeg binary and running it, probing,
frame sampling, audio decoding and loudness, shot detection, tempo and beats."""

from __future__ import annotations

from adcut.media.audio import DecodedAudio, Loudness, decode_audio
from adcut.media.ffmpeg import REQUIRED_FILTERS, Ffmpeg, ffmpeg_features, find_ffmpeg, run_ffmpeg
from adcut.media.frames import FrameReader, analysis_size, iter_frames
from adcut.media.probe import AudioInfo, MediaInfo, VideoInfo, probe_media
from adcut.media.rhythm import Rhythm, analyze_rhythm, energy_curve
from adcut.media.shots import ShotDetector, split_long_shots

__all__ = [
    "REQUIRED_FILTERS",
    "AudioInfo",
    "DecodedAudio",
    "Ffmpeg",
    "FrameReader",
    "Loudness",
    "MediaInfo",
    "Rhythm",
    "ShotDetector",
    "VideoInfo",
    "analysis_size",
    "analyze_rhythm",
    "decode_audio",
    "energy_curve",
    "ffmpeg_features",
    "find_ffmpeg",
    "iter_frames",
    "probe_media",
    "run_ffmpeg",
    "split_long_shots",
]
