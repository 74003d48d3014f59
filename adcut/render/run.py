"""Rendering a Timeline (the edge: runs ffmpeg, writes the file).

Two passes, one encode generation: a cheap audio-only pass measures the loudness of the mix,
then the single video render applies the gain that reaches the timeline's target. A timeline
with many clips renders its picture in several passes instead (graph.plan_passes: memory stays
that of one pass), its sound once, and joins them by stream copy.

The MP4 is one member of an OutputGroup (adcut.core.outputs): ffmpeg writes the group's
temporary file beside the output, the passes of a long render go to one of the group's
temporary folders, and nothing appears under the output's name before the group commits. On
any failure (or Ctrl-C) the temporary files are removed; after a `kill -9` the next run on the
same output removes them.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adcut.core.errors import MediaError, OutputError
from adcut.core.outputs import OutputGroup
from adcut.core.timeline import Timeline
from adcut.core.timing import phase
from adcut.media.audio import parse_ebur128_summary
from adcut.media.ffmpeg import find_ffmpeg, run_ffmpeg
from adcut.render.graph import (
    CLIPS_PER_PASS,
    MAX_LOUDNESS_GAIN_DB,
    SINGLE_PASS_MAX_CLIPS,
    TRUE_PEAK_MARGIN_DB,
    Pass,
    RenderOptions,
    build_audio_measure_args,
    build_ffmpeg_args,
    build_join_args,
    build_pass_args,
    build_sound_args,
    concat_list,
    has_sound,
    loudness_gain_db,
    plan_passes,
)

log = logging.getLogger(__name__)

# What run_ffmpeg puts before the arguments when it follows progress (see adcut.media.ffmpeg).
_QUIET = ["-hide_banner", "-nostdin", "-nostats"]
_PREFIX = [*_QUIET, "-progress", "pipe:1"]


@dataclass(frozen=True)
class RenderResult:
    output: Path
    elapsed_s: float
    command: list[str]  # the render command (binary first; the join of a long render), naming
    # the output, not the temporary file ffmpeg wrote
    loudness_gain_db: float | None
    passes: int = 1  # picture passes (more than one for a long timeline)
    written: Path | None = None  # the file ffmpeg wrote (temporary until its group commits)
    # Per picture pass: (start_s, end_s, ffmpeg's log), which holds the black and frozen
    # stretches of the frames it encoded (graph.picture_check_filters; qc.run_qc reads them).
    picture_logs: tuple[tuple[float, float, str], ...] = ()


def timeline_sources(timeline: Timeline) -> list[Path]:
    """Every file the render reads: an output must never be one of them."""
    paths = [c.source for c in timeline.clips] + [v.path for v in timeline.voice]
    if timeline.music is not None:
        paths.append(timeline.music.path)
    paths += [im.path for im in _card_images(timeline)]
    return [Path(p) for p in dict.fromkeys(paths)]


def _card_images(timeline: Timeline) -> list:
    card = timeline.end_card
    return [] if card is None else [im for im in (card.logo, card.image) if im is not None]


def check_inputs(timeline: Timeline, *, ass_path: Path | None = None,
                 fonts_dir: Path | None = None) -> None:
    """Every file the render reads exists (MediaError naming the timeline field)."""
    fields = [(f"clips[{i}].source", c.source) for i, c in enumerate(timeline.clips)]
    fields += [(f"voice[{i}].path", v.path) for i, v in enumerate(timeline.voice)]
    if timeline.music is not None:
        fields.append(("music.path", timeline.music.path))
    if timeline.end_card is not None:
        fields += [(f"end_card.{key}.path", im.path) for key, im in
                   (("logo", timeline.end_card.logo), ("image", timeline.end_card.image)) if im]
    for name, path in fields:
        if not Path(path).is_file():
            raise MediaError(f"{name}: {path} does not exist",
                             hint="fix the path in the timeline or plan, or restore the file")
    if ass_path is not None and not Path(ass_path).is_file():
        raise MediaError(f"subtitles file {ass_path} does not exist")
    if fonts_dir is not None and not Path(fonts_dir).is_dir():
        raise MediaError(f"fonts folder {fonts_dir} does not exist",
                         hint="reinstall the font package (manimgx-fonts-cjk)")


# A limiter that takes more than this off the loudness is made up for, in at most this many
# more measuring passes (each is the audio-only pass again, with the gain and the limiter).
LIMITER_LOSS_LU = 0.2
MAKEUP_PASSES = 3


def measure_gain_db(timeline: Timeline) -> float | None:
    """First pass: the mix's integrated loudness, as the gain to the target (None = silent).

    When that gain would push the mix's true peak into the limiter, the limited mix is measured
    too and the gain corrected until it reaches the target (the secant of the last two
    measurements: a mix of clicks or hard percussion, whose peaks stand 20 dB over its body,
    loses up to 4 LU in the limiter; speech and most music lose nothing).

    Remembered per mix (adcut.core.memo: the measuring command, whose filtergraph is the
    whole mix, and the files it reads), so variants with the same mix and a second edit of the
    same ad measure it once."""
    if not has_sound(timeline):
        return None
    from adcut.core.memo import remembered_json

    # the mix, and the limiter the makeup passes measure through
    args = [*build_audio_measure_args(timeline), *build_audio_measure_args(timeline, 0.0),
            timeline.loudness_lufs, timeline.true_peak_dbtp, MAKEUP_PASSES, LIMITER_LOSS_LU]
    return remembered_json("mix-gain", args, _sound_sources(timeline),
                           lambda: _measure_gain_db(timeline))


def _sound_sources(timeline: Timeline) -> list[Path]:
    """The files the mix reads."""
    from adcut.render.graph import clip_audio_used

    paths = [c.source for c, used in zip(timeline.clips, clip_audio_used(timeline)) if used]
    paths += [v.path for v in timeline.voice]
    if timeline.music is not None:
        paths.append(timeline.music.path)
    return [Path(p) for p in dict.fromkeys(paths)]


def _measure_gain_db(timeline: Timeline) -> float | None:
    stderr = run_ffmpeg(build_audio_measure_args(timeline))
    loudness = parse_ebur128_summary(stderr)
    measured = loudness.integrated_lufs if loudness else None
    gain = loudness_gain_db(measured, timeline.loudness_lufs)
    log.debug("mix measured at %s LUFS: gain %s dB", measured, gain)
    peak = loudness.true_peak_dbtp if loudness else None
    if gain is None or peak is None or peak + gain <= timeline.true_peak_dbtp - TRUE_PEAK_MARGIN_DB:
        return gain
    target = timeline.loudness_lufs
    points: list[tuple[float, float]] = []  # (gain, loudness after the limiter)
    for _ in range(MAKEUP_PASSES):
        limited = parse_ebur128_summary(run_ffmpeg(build_audio_measure_args(timeline, gain)))
        if limited is None or limited.integrated_lufs is None:
            break
        points.append((gain, limited.integrated_lufs))
        short = target - limited.integrated_lufs
        log.debug("limited mix at %s LUFS with gain %s dB", limited.integrated_lufs, gain)
        if abs(short) <= LIMITER_LOSS_LU or gain >= MAX_LOUDNESS_GAIN_DB:
            break
        slope = 1.0
        if len(points) > 1:
            (g0, l0), (g1, l1) = points[-2], points[-1]
            if g1 != g0 and 0.05 < (l1 - l0) / (g1 - g0) <= 1.0:
                slope = (l1 - l0) / (g1 - g0)
        gain = round(min(MAX_LOUDNESS_GAIN_DB, gain + short / slope), 2)
    return gain


def _options(timeline: Timeline, *, ass_path: Path | None, fonts_dir: Path | None,
             preview: bool, gain_db: float | None) -> RenderOptions:
    return RenderOptions(preview=preview, loudness_gain_db=gain_db,
                         ass_path=str(ass_path) if ass_path else None,
                         fonts_dir=str(fonts_dir) if fonts_dir else None)


def render_timeline(
    timeline: Timeline,
    output: Path,
    *,
    ass_path: Path | None = None,
    fonts_dir: Path | None = None,
    preview: bool = False,
    force: bool = False,
    on_progress: Callable[[float], None] | None = None,
    single_pass_max_clips: int = SINGLE_PASS_MAX_CLIPS,
    clips_per_pass: int = CLIPS_PER_PASS,
) -> RenderResult:
    """Render `timeline` to `output` (H.264 + AAC MP4), the MP4 alone: an existing output is
    refused without `force`, a source of the timeline always. `on_progress(seconds_done)`
    follows the encode. A preview skips the loudness measure (no gain stage, the limiter still
    runs). More clips than `single_pass_max_clips`: passes of about `clips_per_pass` clips."""
    output = Path(output)
    check_inputs(timeline, ass_path=ass_path, fonts_dir=fonts_dir)
    with OutputGroup({"mp4": output}, force=force, sources=timeline_sources(timeline)) as group:
        result = render_into(group, "mp4", timeline, ass_path=ass_path, fonts_dir=fonts_dir,
                             preview=preview, on_progress=on_progress,
                             single_pass_max_clips=single_pass_max_clips,
                             clips_per_pass=clips_per_pass)
        group.commit()
    return result


def render_into(
    group: OutputGroup,
    key: str,
    timeline: Timeline,
    *,
    ass_path: Path | None = None,
    fonts_dir: Path | None = None,
    preview: bool = False,
    on_progress: Callable[[float], None] | None = None,
    work_dir: Path | None = None,
    single_pass_max_clips: int = SINGLE_PASS_MAX_CLIPS,
    clips_per_pass: int = CLIPS_PER_PASS,
) -> RenderResult:
    """Render `timeline` into the temporary file of member `key` of an entered `group`, which
    the caller commits with the rest of its outputs (`result.written` is that file). The parts
    of a long render go to `work_dir`, or to a temporary folder of the group."""
    output = group.path(key)
    check_inputs(timeline, ass_path=ass_path, fonts_dir=fonts_dir)
    temp = group.temp(key)
    started = time.perf_counter()
    progress = on_progress or (lambda _done_s: None)
    with phase("loudness pass"):
        gain = None if preview else measure_gain_db(timeline)
    options = _options(timeline, ass_path=ass_path, fonts_dir=fonts_dir, preview=preview,
                       gain_db=gain)
    passes = plan_passes(timeline, single_pass_max_clips, clips_per_pass)
    with phase("encode"):
        if len(passes) == 1:
            # -y: the temporary name was just created by the group (empty); the real output
            # is only replaced when the group commits.
            args = ["-y", *build_ffmpeg_args(timeline, str(temp), options)]
            logs = [(0.0, timeline.duration_s,
                     run_ffmpeg(args, duration_s=timeline.duration_s, on_progress=progress,
                                writing=output))]
        else:
            # Absolute: ffmpeg reads the names in an ffconcat list relative to its folder.
            parts_dir = (work_dir or group.temp_dir(key)).absolute()
            args, logs = _render_in_passes(timeline, passes, temp, parts_dir, options, progress,
                                           output)
    command = [find_ffmpeg().path, *(_PREFIX if len(passes) == 1 else _QUIET), *args]
    if not temp.is_file() or temp.stat().st_size == 0:
        raise MediaError(f"{output}: ffmpeg wrote nothing",
                         hint="run with --print-ffmpeg and try the command by hand")
    elapsed = time.perf_counter() - started
    final = [str(output) if part == str(temp) else part for part in command]
    return RenderResult(output=output, elapsed_s=elapsed, command=final, loudness_gain_db=gain,
                        passes=len(passes), written=temp, picture_logs=tuple(logs))


def _pass_commands(timeline: Timeline, passes: list[Pass], output: Path, parts_dir: Path,
                   options: RenderOptions) -> tuple[list[list[str]], list[str], list[str], str]:
    """The argument lists of a long render: one per picture pass, the sound, the join; and the
    text of the join's ffconcat list (written to parts_dir/parts.ffconcat)."""
    parts = [str(parts_dir / f"part{k:03d}.mp4") for k in range(len(passes))]
    sound = str(parts_dir / "sound.m4a")
    pictures = [["-y", *build_pass_args(timeline, p, part, options)]
                for p, part in zip(passes, parts)]
    sound_args = ["-y", *build_sound_args(timeline, sound, options)]
    join = ["-y", *build_join_args(timeline, str(parts_dir / "parts.ffconcat"), sound,
                                   str(output))]
    return pictures, sound_args, join, concat_list(parts)


def _render_in_passes(timeline: Timeline, passes: list[Pass], temp: Path, parts_dir: Path,
                      options: RenderOptions, progress: Callable[[float], None],
                      output: Path) -> tuple[list[str], list[tuple[float, float, str]]]:
    """Picture passes (progress in ad seconds), the sound, then the join into `temp`. The
    parts lie beside `output` (the name a full disk is reported under). Returns the join's
    arguments and each picture pass's (start_s, end_s, log)."""
    pictures, sound, join, listing = _pass_commands(timeline, passes, temp, parts_dir, options)
    try:
        (parts_dir / "parts.ffconcat").write_text(listing, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write beside {output} ({exc.strerror})",
                          hint="free space or choose another -o") from None
    fps = timeline.fps
    logs = []
    for p, args in zip(passes, pictures):
        start_s = p.start_f / fps
        log.debug("picture pass: frames %d-%d", p.start_f, p.end_f)
        logs.append((start_s, p.end_f / fps, run_ffmpeg(
            args, duration_s=(p.end_f - p.start_f) / fps, writing=output,
            on_progress=lambda done_s, start_s=start_s: progress(start_s + done_s))))
    run_ffmpeg(sound, writing=output)  # seconds of work for any length
    run_ffmpeg(join, writing=output)
    progress(timeline.duration_s)
    return join, logs


def print_command(
    timeline: Timeline,
    output: Path,
    *,
    ass_path: Path | None = None,
    fonts_dir: Path | None = None,
    preview: bool = False,
    loudness_gain_db: float | None = None,
    measure: bool = True,
) -> str:
    """The render's ffmpeg commands, shell-quoted, one per line (for --print-ffmpeg).

    With `measure` (default) the cheap audio-only loudness pass is run so that the printed
    render command carries the exact gain the real render would apply; the measure command
    itself is printed first, as a comment line and the command. With `measure=False` the
    given `loudness_gain_db` is used (None: no gain stage)."""
    ff = find_ffmpeg().path
    lines = []
    gain = loudness_gain_db
    if not preview and has_sound(timeline):
        lines.append("# pass 1 (audio only): loudness of the mix; pass 2 applies "
                     f"volume=<{timeline.loudness_lufs:g} LUFS - measured>")
        lines.append(shlex.join([ff, *_QUIET, *build_audio_measure_args(timeline)]))
        if measure and gain is None:
            check_inputs(timeline)
            gain = measure_gain_db(timeline)
    options = _options(timeline, ass_path=ass_path, fonts_dir=fonts_dir, preview=preview,
                       gain_db=None if preview else gain)
    passes = plan_passes(timeline)
    if len(passes) == 1:
        lines.append(shlex.join([ff, *_PREFIX, *build_ffmpeg_args(timeline, str(output),
                                                                 options)]))
        return "\n".join(lines)
    parts_dir = output.absolute().parent / f".{output.name}.XXXXXXXX.adcut-parts"
    pictures, sound, join, listing = _pass_commands(timeline, passes, output, parts_dir, options)
    lines.append(f"# {len(timeline.clips)} clips: {len(passes)} picture passes (about "
                 f"{CLIPS_PER_PASS} clips each), the sound, then the join by stream copy; "
                 f"{parts_dir / 'parts.ffconcat'} reads:")
    lines += [f"#   {line}" for line in listing.splitlines()]
    lines += [shlex.join([ff, *_QUIET, *args]) for args in [*pictures, sound, join]]
    return "\n".join(lines)
