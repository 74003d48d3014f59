"""Quality checks of a rendered ad against its Timeline (the edge: reads the file).

One ffmpeg pass over the output measures black stretches (blackdetect), frozen stretches
(freezedetect) and loudness (ebur128, true peak on); stream facts come from the container.
After a render, the black and frozen stretches come from the render itself instead: the same
detectors ran on the frames it handed to the encoder (graph.picture_check_filters), every frame
of the file once the container holds the timeline's length (the duration check), so only the
sound is decoded again (about 0.4 CPU s instead of 2.2 for 20 s of 1080x1920).

Asked-for stills. A frozen or black stretch is a fault only when the timeline did not ask for
it. The timeline asks for: a clip's hold (`hold_f` frames at its end), the dark middle of a
`fadeblack` transition, and whatever the footage itself shows: a source range that is already
static (a product shot on a tripod, a solid-colour card) or already black. Sources are only
checked for the clips under a stretch the holds do not explain, so footage that moves costs
nothing. What is left unexplained for longer than 0.5 s fails the check.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adcut.core.background import Background
from adcut.core.errors import MediaError
from adcut.core.files import write_atomic
from adcut.core.timeline import Timeline, TimelineClip
from adcut.media.audio import parse_ebur128_summary
from adcut.media.ffmpeg import run_ffmpeg
from adcut.render.graph import (
    ANALYSIS_WIDTH,
    BLACK_FILTER,
    FREEZE_FILTER,
    OUTPUT_FREEZE_NOISE,
    build_segments,
    has_sound,
    output_size,
)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MAX_STILL_S = 0.5  # longest unasked black or frozen stretch
MAX_DRIFT_S = 0.040  # |audio - video| stream durations
LOUDNESS_TOLERANCE_LU = 1.0
TRUE_PEAK_TOLERANCE_DB = 0.1
# Detection settings (black, frozen, the small copy they run on): see adcut.render.graph, which
# measures them on the frames it hands to the encoder.
# A source counts as static below -40 dB: a still scene with sensor noise or grain, which the
# encoder flattens into a frozen picture in the output.
SOURCE_FREEZE_NOISE = "-40dB"
# Voice: a line is heard when the ad's sound over it correlates with the line rendered alone
# by at least this much. r squared is the line's share of the sound's power there: 0.5 = the
# voice is no more than 4.8 dB under everything else (the music sits 12+ LU under it by
# design; a silent or missing line gives r near 0).
VOICE_MIN_CORRELATION = 0.5
VOICE_RATE = 16000  # speech is below 8 kHz
VOICE_MAX_LAG_S = 0.05  # the limiter's 5 ms look-ahead, encoder delay


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    measured: float | None = None
    target: str = ""


@dataclass(frozen=True)
class StreamFacts:
    width: int | None
    height: int | None
    video_s: float | None
    audio_s: float | None


Interval = tuple[float, float]  # seconds, start..end


# ---------------------------------------------------------------------------------- parsing


def parse_intervals(stderr: str, kind: str, end_s: float) -> list[Interval]:
    """Black ("black") or frozen ("freeze") stretches from blackdetect/freezedetect logs.
    A stretch still open at the end of the stream ends at `end_s`."""
    out: list[Interval] = []
    if kind == "black":
        for m in re.finditer(r"black_start:\s*(-?[\d.]+)\s+black_end:\s*(-?[\d.]+)", stderr):
            out.append((float(m.group(1)), float(m.group(2))))
        return out
    start = None
    for m in re.finditer(r"lavfi\.freezedetect\.freeze_(start|end):\s*(-?[\d.]+)", stderr):
        if m.group(1) == "start":
            start = float(m.group(2))
        elif start is not None:
            out.append((start, float(m.group(2))))
            start = None
    if start is not None:
        out.append((start, end_s))
    return out


def subtract(interval: Interval, explained: list[Interval]) -> list[Interval]:
    """The parts of `interval` that no explained interval covers."""
    pieces = [interval]
    for a, b in sorted(explained):
        nxt = []
        for s, e in pieces:
            if b <= s or a >= e:
                nxt.append((s, e))
                continue
            if a > s:
                nxt.append((s, a))
            if b < e:
                nxt.append((b, e))
        pieces = nxt
    return pieces


# ---------------------------------------------------------------------------------- measuring


def _stream_facts(path: Path) -> StreamFacts:
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise MediaError(f"{path}: cannot be opened ({e})") from e
    with container:
        def seconds(stream) -> float | None:
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            return None

        v = container.streams.video[0] if container.streams.video else None
        a = container.streams.audio[0] if container.streams.audio else None
        return StreamFacts(
            width=v.codec_context.width if v else None,
            height=v.codec_context.height if v else None,
            video_s=seconds(v) if v else None,
            audio_s=seconds(a) if a else None,
        )


def _analyse(path: Path, *, seek_s: float | None = None, read_s: float | None = None,
             min_s: float = MAX_STILL_S, loudness: bool = True,
             freeze_noise: str = OUTPUT_FREEZE_NOISE, deblock: bool = True,
             picture: bool = True) -> str:
    """One decoding pass with blackdetect + freezedetect (+ ebur128); returns ffmpeg's log.

    `deblock=False` skips the H.264 loop filter (a fifth of the decoding time): for the
    rendered file, whose frozen stretches are repeated pictures (identical with or without
    it) and whose black is judged at 10 % luma on a 320 px copy. Footage, judged at -40 dB
    for still scenes with sensor noise, is decoded whole."""
    args = [] if deblock else ["-skip_loop_filter", "all"]
    if seek_s is not None:
        args += ["-ss", f"{seek_s:.6f}"]
    if read_s is not None:
        args += ["-t", f"{read_s:.6f}"]
    if not picture:  # the sound alone
        return run_ffmpeg([*args, "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
                           "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"])
    args += ["-i", str(path), "-map", "0:v:0?", "-map", "0:a:0?", "-sn", "-dn",
             "-vf", f"scale={ANALYSIS_WIDTH}:-2:flags=fast_bilinear,"
                    f"{BLACK_FILTER.format(d=min_s)},"
                    f"{FREEZE_FILTER.format(n=freeze_noise, d=min_s)}"]
    if loudness:
        args += ["-af", "ebur128=peak=true:framelog=verbose"]
    else:
        args += ["-an"]
    return run_ffmpeg([*args, "-f", "null", "-"])


class _SourceStills:
    """Black and static stretches of each clip's footage, in track seconds (computed on demand,
    once per clip)."""

    def __init__(self, timeline: Timeline):
        self.timeline = timeline
        self._cache: dict[int, tuple[list[Interval], list[Interval]]] = {}

    def get(self, i: int) -> tuple[list[Interval], list[Interval]]:
        if i not in self._cache:
            self._cache[i] = self._measure(i)
        return self._cache[i]

    def prefetch(self, clips: set[int]) -> None:
        """Measure these clips' footage side by side (one decoding pass each, a core each)."""
        from concurrent.futures import ThreadPoolExecutor

        todo = sorted(i for i in clips if i not in self._cache)
        if len(todo) < 2:
            return
        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
            for i, found in zip(todo, pool.map(self._measure, todo)):
                self._cache[i] = found

    def _measure(self, i: int) -> tuple[list[Interval], list[Interval]]:
        clip: TimelineClip = self.timeline.clips[i]
        fps = self.timeline.fps
        moving_f = max(1, clip.duration_f - clip.hold_f)
        read_s = moving_f * clip.speed / fps
        try:
            found = source_stills(Path(clip.source), clip.source_in_s, read_s, 2 / fps)
        except MediaError as e:
            log.debug("source of clips[%d] not analysed: %s", i, e)
            return [], []
        start_s = clip.start_f / fps

        def to_track(iv: Interval) -> Interval:
            # Source seconds from the seek point -> track seconds (slowed clips last longer).
            a, b = iv
            return (start_s + a / clip.speed,
                    min(start_s + b / clip.speed, start_s + moving_f / fps))

        # A stretch reaching the end of the read range lasts to the end of the moving part.
        black = [to_track(tuple(iv)) for iv in found["black"]]
        frozen = [to_track(tuple(iv)) for iv in found["freeze"]]
        # The last frozen frame of the source is still shown for one frame after the stretch.
        return black, [(a, b + 1 / fps) for a, b in frozen]


def source_stills(path: Path, seek_s: float, read_s: float, min_s: float) -> dict:
    """Black and static stretches of `read_s` seconds of footage from `seek_s`, in seconds from
    the seek point ({"black": [...], "freeze": [...]}): short ones count (they are pieces of a
    longer one in the output). Remembered per file and range (adcut.core.memo): the variants
    of an edit and the next edit show the same footage."""
    from adcut.core.memo import remembered_json

    def measure() -> dict:
        log_text = _analyse(path, seek_s=seek_s, read_s=read_s, min_s=min_s, loudness=False,
                            freeze_noise=SOURCE_FREEZE_NOISE)
        return {kind: parse_intervals(log_text, kind, read_s) for kind in ("black", "freeze")}

    return remembered_json("source-stills", [f"{seek_s:.6f}", f"{read_s:.6f}", f"{min_s:.6f}",
                                             SOURCE_FREEZE_NOISE], [path], measure)


def _asked_for(timeline: Timeline, kind: str) -> list[Interval]:
    """Stills the timeline itself asks for (without looking at the footage)."""
    fps = timeline.fps
    out: list[Interval] = []
    if kind == "freeze":
        for clip in timeline.clips:
            if clip.hold_f:
                # The freeze starts on the last moving frame, one frame before the hold.
                out.append(((clip.end_f - clip.hold_f - 1) / fps, clip.end_f / fps))
    for t in timeline.transitions:
        if t.kind == "fadeblack":
            start = timeline.clips[t.after_clip + 1].start_f - t.head_f
            out.append((start / fps, (start + t.duration_f) / fps))
    card = timeline.end_card
    if card is not None:  # a still card, on the brand's colour (which may be black)
        out.append(((card.start_f + (card.fade_in_f if kind == "freeze" else 0) - 1) / fps,
                    card.end_f / fps))
    return out


def _not_asked_for(found: list[Interval], timeline: Timeline, kind: str
                   ) -> list[tuple[list[Interval], list[int]]]:
    """Per detected stretch, its pieces longer than MAX_STILL_S that the timeline does not ask
    for, and the clips under them (with their transition handles), whose footage may explain
    them (PURE)."""
    fps = timeline.fps
    segments = build_segments(timeline)
    asked = _asked_for(timeline, kind)
    out = []
    for interval in found:
        pieces = [p for p in subtract(interval, asked) if p[1] - p[0] > MAX_STILL_S]
        if pieces:
            under = [i for i, seg in enumerate(segments)
                     if any(seg.track_start_f / fps < e and s < seg.track_end_f / fps
                            for s, e in pieces)]
            out.append((pieces, under))
    return out


def _unexplained(found: list[Interval], timeline: Timeline, kind: str,
                 sources: _SourceStills) -> list[Interval]:
    """Pieces of the detected stretches that neither the timeline nor the footage explains,
    longer than MAX_STILL_S."""
    fps = timeline.fps
    bad: list[Interval] = []
    for pieces, under in _not_asked_for(found, timeline, kind):
        explained: list[Interval] = []
        for i in under:
            black, frozen = sources.get(i)
            explained += black if kind == "black" else frozen
        tolerance = 2 / fps  # detection edges are a frame or two off
        widened = [(a - tolerance, b + tolerance) for a, b in explained]
        for piece in pieces:
            bad += [p for p in subtract(piece, widened) if p[1] - p[0] > MAX_STILL_S]
    return bad


# ---------------------------------------------------------------------------------- checks


PictureLog = tuple[float, float, str]  # a render's picture pass: start_s, end_s, ffmpeg's log


def picture_stills(logs: list[PictureLog], kind: str, fps: int) -> list[Interval]:
    """Black ("black") or frozen ("freeze") stretches on the track, from the logs of a render's
    picture passes (PURE). A stretch running to the end of one pass and one starting its next
    pass are one stretch (passes are cut at hard cuts and transition windows, so this joins
    only what the detectors could not see whole)."""
    out: list[Interval] = []
    edge = 1.5 / fps
    for k, (start_s, end_s, text) in enumerate(logs):
        for a, b in parse_intervals(text, kind, end_s - start_s):
            a, b = a + start_s, b + start_s
            if (k and out and a - start_s <= edge and abs(out[-1][1] - start_s) <= edge):
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out


def run_qc(output: Path, timeline: Timeline, *,
           caption_boxes: list[tuple[int, int, int, int]] | None = None,
           picture_logs: list[PictureLog] | None = None,
           voice_reference: Background[np.ndarray] | None = None) -> list[Check]:
    """Check a rendered file against its timeline. `caption_boxes` are the subtitle boxes as
    (left, top, right, bottom) pixels of the timeline's frame. A preview (third-size) render
    is recognised by its size: its loudness is not normalised, so that check is skipped.
    `picture_logs`: the render's own measure of black and frozen stretches (see the module
    docstring); without them the file's picture is decoded for them. `voice_reference`: the
    voice lines rendered alone, started before the render (start_voice_reference); without it
    they are rendered here."""
    output = Path(output)
    fps = timeline.fps
    target_s = timeline.duration_s
    checks: list[Check] = []
    try:
        facts = _stream_facts(output)
    except MediaError as e:
        return [Check("readable", False, str(e))]

    has_v, has_a = facts.video_s is not None, facts.audio_s is not None
    missing = [name for name, ok in (("video", has_v), ("audio", has_a)) if not ok]
    streams = f"no {' or '.join(missing)} stream" if missing else "video and audio present"
    checks.append(Check("streams", not missing, streams, target="video + audio"))
    if has_v:
        off = facts.video_s - target_s
        checks.append(Check("duration", abs(off) <= 1 / fps + 1e-3,
                            f"{facts.video_s:.3f} s for a {target_s:.3f} s timeline "
                            f"({off * fps:+.1f} frames)",
                            measured=round(facts.video_s, 4),
                            target=f"{target_s:.3f} s ± 1 frame"))
    if has_v and has_a:
        drift = facts.audio_s - facts.video_s
        checks.append(Check("av_drift", abs(drift) < MAX_DRIFT_S,
                            f"audio {facts.audio_s:.3f} s vs video {facts.video_s:.3f} s",
                            measured=round(drift * 1000, 1), target="|drift| < 40 ms"))

    # The voice check (its own audio decode and the voice rendered alone) runs beside the
    # decoding pass of the picture.
    voice = None
    if has_a or timeline.voice or timeline.metadata.get("voice_expected"):
        voice = Background(lambda: _voice_check(output, timeline, has_a, voice_reference))
    measured = picture_logs is not None and has_v
    try:
        if measured:
            log_text = _analyse(output, picture=False) if has_a else ""
        else:
            log_text = _analyse(output, loudness=has_a, deblock=False) if has_v or has_a else ""
    except MediaError as e:
        if voice is not None:
            voice.result()
        checks.append(Check("decodes", False, str(e)))
        return checks

    if has_a:
        size = (facts.width, facts.height)
        preview = size == output_size(timeline, True) != output_size(timeline, False)
        loud = parse_ebur128_summary(log_text)
        lufs = loud.integrated_lufs if loud else None
        peak = loud.true_peak_dbtp if loud else None
        target = timeline.loudness_lufs
        if preview:
            checks.append(Check("loudness", True, "preview render: loudness not normalised",
                                measured=lufs, target=f"{target:g} LUFS ± 1 LU"))
        elif lufs is None:
            ok = not has_sound(timeline)
            detail = "silent" if ok else "silent, but the timeline has sound"
            checks.append(Check("loudness", ok, detail, target=f"{target:g} LUFS ± 1 LU"))
        else:
            checks.append(Check("loudness", abs(lufs - target) <= LOUDNESS_TOLERANCE_LU,
                                f"{lufs:.1f} LUFS integrated", measured=lufs,
                                target=f"{target:g} LUFS ± 1 LU"))
        if peak is not None:
            limit = timeline.true_peak_dbtp + TRUE_PEAK_TOLERANCE_DB
            checks.append(Check("true_peak", peak <= limit, f"{peak:.1f} dBTP", measured=peak,
                                target=f"<= {timeline.true_peak_dbtp:g} dBTP"))

    if has_v:
        sources = _SourceStills(timeline)
        # the render logs stretches from 2 frames (for its passes): those of MAX_STILL_S
        # and more count, as the decode's detectors count them
        found = {kind: ([iv for iv in picture_stills(picture_logs, kind, fps)
                         if iv[1] - iv[0] >= MAX_STILL_S] if measured
                        else parse_intervals(log_text, kind, facts.video_s))
                 for kind in ("black", "freeze")}
        sources.prefetch({i for kind, stretches in found.items()
                          for _, under in _not_asked_for(stretches, timeline, kind)
                          for i in under})
        for kind, name in (("black", "black"), ("freeze", "frozen")):
            bad = _unexplained(found[kind], timeline, kind, sources)
            longest = max((b - a for a, b in bad), default=0.0)
            if bad:
                detail = (f"{name} " + ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in bad)
                          + " not asked for by the timeline")
            elif found[kind]:
                detail = (f"{len(found[kind])} {name} stretches, all asked for (hold, still "
                          "footage)")
            else:
                detail = f"none over {MAX_STILL_S} s"
            checks.append(Check(kind, not bad, detail, measured=round(longest, 3),
                                target=f"none over {MAX_STILL_S} s"))

    if voice is not None:
        checks.append(voice.result())

    if caption_boxes is not None:
        w, h = timeline.width, timeline.height
        outside = [box for box in caption_boxes
                   if not (0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h)]
        checks.append(Check("subtitles", not outside,
                            f"{len(caption_boxes)} caption boxes inside {w}x{h}" if not outside
                            else f"{len(outside)} caption boxes outside {w}x{h}: {outside[:3]}",
                            measured=float(len(outside)), target="all inside the frame"))
    return checks


def line_correlations(heard: np.ndarray, lines: np.ndarray, spans: list[tuple[int, int]],
                      max_lag: int) -> list[float]:
    """Per span (samples), the normalised correlation of `heard` with `lines` there, at the one
    lag (|lag| <= max_lag samples, `heard` late) that best aligns all spans (PURE)."""
    import numpy as np

    n = min(len(heard), len(lines))
    heard, lines = heard[:n].astype(np.float64), lines[:n].astype(np.float64)
    mask = np.zeros(n)
    for a, b in spans:
        mask[max(0, a):min(n, b)] = 1.0
    # score[lag] = sum_i heard[i + lag] * ref[i], by FFT (numpy's: scipy.signal takes a second
    # to import). Zero-padded to m >= n + max_lag, the circular correlation equals the linear
    # one for every |lag| <= max_lag; negative lags sit at the end.
    m = 1 << max(1, math.ceil(math.log2(n + max_lag + 1)))
    score = np.fft.irfft(np.fft.rfft(heard, m) * np.conj(np.fft.rfft(lines * mask, m)), m)
    window = np.concatenate([score[m - max_lag:], score[:max_lag + 1]]) if max_lag else score[:1]
    best_lag = int(np.argmax(window)) - max_lag
    heard = np.roll(heard, -best_lag)
    out = []
    for a, b in spans:
        x, v = heard[max(0, a):min(n, b)], lines[max(0, a):min(n, b)]
        norm = float(np.sqrt(np.dot(x, x) * np.dot(v, v)))
        out.append(float(np.dot(x, v)) / norm if norm > 0 else 0.0)
    return out


def start_voice_reference(timeline: Timeline) -> Background[np.ndarray] | None:
    """QC's voice reference, under way on a thread of its own (None when the timeline has no
    voice lines): the lines rendered alone at VOICE_RATE, what the voice check looks for in the
    file. Started before the render, it is ready when QC needs it instead of adding its own
    ffmpeg pass after the encode."""
    return Background(lambda: _render_voice_alone(timeline)) if timeline.voice else None


def _render_voice_alone(timeline: Timeline) -> np.ndarray:
    import tempfile

    from adcut.media.audio import decode_audio
    from adcut.render.graph import build_stem_args

    with tempfile.TemporaryDirectory(prefix="adcut-qc-") as tmp:
        stem = Path(tmp) / "voice.wav"
        run_ffmpeg(["-y", *build_stem_args(timeline, "voice", str(stem), None)])
        return decode_audio(stem, sample_rate=VOICE_RATE).samples


def _voice_check(output: Path, timeline: Timeline, has_audio: bool,
                 reference: Background[np.ndarray] | None = None) -> Check:
    """Whether the voice-over the timeline was to have is heard in the file, line by line."""
    from adcut.media.audio import decode_audio

    target = f"every line heard (correlation >= {VOICE_MIN_CORRELATION})"
    if not timeline.voice:
        if timeline.metadata.get("voice_expected"):
            return Check("voice", False, "the plan asks for a voice-over but the ad has no voice "
                         "line (no offline voice for its language? see the timeline's notes)",
                         measured=0.0, target=target)
        return Check("voice", True, "no voice-over asked for", target="none asked for")
    if not has_audio:
        return Check("voice", False, "the file has no sound", measured=0.0, target=target)
    heard = decode_audio(output, sample_rate=VOICE_RATE).samples
    lines = reference.result() if reference is not None else _render_voice_alone(timeline)
    fps = timeline.fps
    spans = [(round(c.start_f / fps * VOICE_RATE), round((c.start_f + c.duration_f) / fps
                                                          * VOICE_RATE)) for c in timeline.voice]
    r = line_correlations(heard, lines, spans, round(VOICE_MAX_LAG_S * VOICE_RATE))
    missing = [i for i, x in enumerate(r) if x < VOICE_MIN_CORRELATION]
    worst = round(min(r), 3)
    if not missing:
        return Check("voice", True, f"{len(r)} lines heard (correlation {worst:.2f}-"
                     f"{max(r):.2f})", measured=worst, target=target)
    named = ", ".join(f"voice[{i}] {timeline.voice[i].text[:30]!r} ({r[i]:.2f})"
                      for i in missing[:3])
    return Check("voice", False, f"{len(missing)} of {len(r)} lines not heard: {named}",
                 measured=worst, target=target)


def build_qc_report(checks: list[Check]) -> bytes:
    """The checks as the JSON of ad.qc.json."""
    data = {"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_qc(checks: list[Check], path: Path) -> None:
    """Write the checks as JSON (ad.qc.json), atomically (a render writes it as a member of
    its output group instead)."""
    write_atomic(Path(path), build_qc_report(checks))
