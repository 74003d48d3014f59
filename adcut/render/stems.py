"""Measuring the mix as a listener hears it: its buses rendered apart, levels where the voice
speaks and where it does not.

`render_stems` (the edge) renders the voice bus and the music bus of a timeline separately,
each exactly as it sounds in the ad (the same filtergraph with the other buses sent to a null
sink, the mix's loudness gain applied). `mix_report` (pure) then compares them on the
timeline's own voice intervals:

- music under speech vs music in the gaps (and at the ends), as loudness (ITU-R BS.1770
  K-weighted power, ungated, over the intervals);
- the time the music takes to come back after each line that a gap follows;
- the voice's loudness over the music's under the voice (LU).

A "gap" is a stretch without voice long enough for the music to come back up and be heard
there (see adcut.render.ducking.MIN_SWELL_S); shorter pauses between lines keep the music down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from adcut.core.timeline import Timeline

if TYPE_CHECKING:
    import numpy as np

Interval = tuple[float, float]

# ITU-R BS.1770-4 K-weighting at 48 kHz (the stems' rate): a high shelf and a high pass.
_K_SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285],
            [1.0, -1.69065929318241, 0.73248077421585])
_K_HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])
STEM_RATE = 48000
# The music counts as back up when its 100 ms loudness is within this of its level in the gap
# (music itself moves by a dB or two from one 100 ms window to the next).
RELEASED_WITHIN_DB = 2.0
LEVEL_WINDOW_S = 0.100
LEVEL_HOP_S = 0.010
# Gap stretches measured: from this long after a line ends (the release target) to this long
# before the next line starts (the music goes down ahead of the voice).
SETTLE_AFTER_S = 0.5
SETTLE_BEFORE_S = 0.3
MIN_MEASURED_S = 0.2
SILENT_LUFS = -120.0


@dataclass
class MixReport:
    speech_s: float  # seconds of voice
    gap_s: float  # seconds of settled gaps measured
    music_speech_lufs: float | None
    music_gap_lufs: float | None
    depth_db: float | None  # music in the gaps minus music under speech
    voice_speech_lufs: float | None
    voice_over_music_lu: float | None  # voice minus music, both under speech
    releases_s: list[float | None] = field(default_factory=list)  # per line a gap follows

    @property
    def worst_release_s(self) -> float | None:
        if not self.releases_s:
            return None
        if any(r is None for r in self.releases_s):
            return math.inf
        return max(self.releases_s)


# ---------------------------------------------------------------------------------- pure


def speech_intervals(timeline: Timeline) -> list[Interval]:
    """Where the voice lines play, in seconds, in order."""
    fps = timeline.fps
    return sorted((c.start_f / fps, (c.start_f + c.duration_f) / fps) for c in timeline.voice)


def gap_intervals(timeline: Timeline, min_gap_s: float) -> list[tuple[Interval, bool]]:
    """Stretches without voice of at least `min_gap_s` inside the music (after its fade-in,
    before its fade-out), each with whether a line ends where it starts."""
    m = timeline.music
    if m is None:
        return []
    fps = timeline.fps
    lo = (m.start_f + m.fade_in_f) / fps
    hi = (m.start_f + m.duration_f - m.fade_out_f) / fps
    out: list[tuple[Interval, bool]] = []
    at, after_line = lo, False
    for a, b in speech_intervals(timeline):
        if a - at >= min_gap_s:
            out.append(((at, min(a, hi)), after_line))
        at, after_line = max(at, b), True
    if hi - at >= min_gap_s:
        out.append(((at, hi), after_line))
    return [(iv, after) for iv, after in out if iv[1] > iv[0]]


def k_weighted_power(samples: np.ndarray) -> np.ndarray:
    """Per-sample K-weighted power summed over channels (samples: frames x channels, 48 kHz)."""
    import numpy as np
    from scipy.signal import lfilter

    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    y = lfilter(*_K_SHELF, x, axis=0)
    y = lfilter(*_K_HIGHPASS, y, axis=0)
    return (y * y).sum(axis=1)


def loudness_over(power: np.ndarray, intervals: list[Interval],
                  rate: int = STEM_RATE) -> float | None:
    """Ungated BS.1770 loudness (LUFS) of the samples inside `intervals`; None when there are
    none. Digital silence gives SILENT_LUFS."""
    import numpy as np

    parts = [power[max(0, int(a * rate)):max(0, int(b * rate))] for a, b in intervals]
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    mean = float(np.concatenate(parts).mean())
    return -0.691 + 10 * math.log10(mean) if mean > 0 else SILENT_LUFS


def level_curve(power: np.ndarray, rate: int = STEM_RATE) -> tuple[np.ndarray, np.ndarray]:
    """(times_s, loudness) of LEVEL_WINDOW_S windows every LEVEL_HOP_S (time = window start)."""
    import numpy as np

    win, hop = int(LEVEL_WINDOW_S * rate), int(LEVEL_HOP_S * rate)
    csum = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, max(1, len(power) - win + 1), hop)
    mean = (csum[np.minimum(starts + win, len(power))] - csum[starts]) / win
    with np.errstate(divide="ignore"):
        level = np.where(mean > 0, -0.691 + 10 * np.log10(np.maximum(mean, 1e-30)), SILENT_LUFS)
    return starts / rate, level


def mix_report(timeline: Timeline, voice: np.ndarray, music: np.ndarray, *,
               min_gap_s: float, rate: int = STEM_RATE) -> MixReport:
    """Ducking depth, release times and voice over music of the two stems (see module)."""
    speech = speech_intervals(timeline)
    pv, pm = k_weighted_power(voice), k_weighted_power(music)
    gaps = gap_intervals(timeline, min_gap_s)
    settled: list[Interval] = []
    for (a, b), after_line in gaps:
        s, e = a + (SETTLE_AFTER_S if after_line else 0.0), b - SETTLE_BEFORE_S
        if b >= timeline.duration_s - 1e-6:
            e = b  # the end: no line follows
        if e - s >= MIN_MEASURED_S:
            settled.append((s, e))
    m_speech, m_gap = loudness_over(pm, speech, rate), loudness_over(pm, settled, rate)
    v_speech = loudness_over(pv, speech, rate)
    times, level = level_curve(pm, rate)
    releases: list[float | None] = []
    for (a, b), after_line in gaps:
        if not after_line:
            continue
        tail = loudness_over(pm, [(a + SETTLE_AFTER_S, b)], rate)
        if tail is None:
            continue
        # The first 100 ms window starting after the line's end that is back within the margin
        # (its time + the window = when the whole window is back).
        back = [t for t, lv in zip(times, level)
                if a <= t <= b - LEVEL_WINDOW_S and lv >= tail - RELEASED_WITHIN_DB]
        releases.append(round(float(back[0] - a + LEVEL_WINDOW_S), 3) if back else None)
    return MixReport(
        speech_s=round(sum(b - a for a, b in speech), 3),
        gap_s=round(sum(b - a for a, b in settled), 3),
        music_speech_lufs=_r(m_speech), music_gap_lufs=_r(m_gap),
        depth_db=_r(m_gap - m_speech) if m_gap is not None and m_speech is not None else None,
        voice_speech_lufs=_r(v_speech),
        voice_over_music_lu=(_r(v_speech - m_speech)
                             if v_speech is not None and m_speech is not None else None),
        releases_s=releases)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


# ---------------------------------------------------------------------------------- the edge


def read_stem(path: Path) -> np.ndarray:
    """A stem WAV (32-bit float, 48 kHz) as frames x channels."""
    from scipy.io import wavfile

    rate, data = wavfile.read(str(path))
    if rate != STEM_RATE:
        raise ValueError(f"{path}: {rate} Hz, expected {STEM_RATE}")
    return data


def render_stems(timeline: Timeline, folder: Path,
                 stems: tuple[str, ...] = ("voice", "music")) -> dict[str, Path]:
    """Render each stem of `timeline` into `folder` as WAV, at the level it has in the ad (the
    loudness gain of the full mix measured first, as a render does)."""
    from adcut.media.ffmpeg import run_ffmpeg
    from adcut.render.graph import build_stem_args
    from adcut.render.run import measure_gain_db

    gain = measure_gain_db(timeline)
    out: dict[str, Path] = {}
    for stem in stems:
        path = Path(folder) / f"{stem}.wav"
        run_ffmpeg(["-y", *build_stem_args(timeline, stem, str(path), gain)])
        out[stem] = path
    return out


def measure_mix(timeline: Timeline, folder: Path, *, min_gap_s: float) -> MixReport:
    """render_stems + mix_report."""
    paths = render_stems(timeline, folder)
    return mix_report(timeline, read_stem(paths["voice"]), read_stem(paths["music"]),
                      min_gap_s=min_gap_s)


# ---------------------------------------------------------------------------------- inputs


def _integrated_lufs(args: list[str]) -> float | None:
    from adcut.media.audio import parse_ebur128_summary
    from adcut.media.ffmpeg import run_ffmpeg

    loud = parse_ebur128_summary(run_ffmpeg([*args, "-f", "null", "-"]))
    return loud.integrated_lufs if loud else None


def voice_lines_lufs(paths: list[str]) -> float | None:
    """Integrated loudness of the spoken lines one after the other, as the mix hears them
    (stereo, 48 kHz: a mono line counts in both channels). None for silence. Remembered per
    set of files (adcut.core.memo)."""
    from adcut.core.memo import remembered_json

    if not paths:
        return None
    return remembered_json("voice-lufs", [], paths, lambda: _voice_lines_lufs(paths))


def _voice_lines_lufs(paths: list[str]) -> float | None:
    from adcut.render.graph import AFORMAT

    args: list[str] = []
    for p in paths:
        args += ["-i", str(p)]
    chains = [f"[{i}:a]{AFORMAT}[l{i}]" for i in range(len(paths))]
    ins = "".join(f"[l{i}]" for i in range(len(paths)))
    chains.append(f"{ins}concat=n={len(paths)}:v=0:a=1,ebur128=framelog=verbose[out]")
    return _integrated_lufs([*args, "-filter_complex", ";".join(chains), "-map", "[out]"])


def music_window_lufs(path: str, start_s: float, duration_s: float) -> float | None:
    """Integrated loudness of the stretch of a track an ad plays (to the file's end at most),
    as the mix hears it. None for silence. Remembered per file and stretch (adcut.core.memo)."""
    from adcut.render.graph import AFORMAT
    from adcut.core.memo import remembered_json

    window = ["-ss", f"{start_s:.3f}", "-t", f"{duration_s:.3f}"]
    return remembered_json("music-lufs", window, [path], lambda: _integrated_lufs(
        [*window, "-i", str(path), "-af", f"{AFORMAT},ebur128=framelog=verbose"]))
