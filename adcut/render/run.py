"""Rendering a Timeline (the edge: runs ffmpeg, writes the file).

One encode generation, in three steps: the picture is encoded (one command, or one per pass of
a timeline with many clips: graph.plan_passes, so memory stays that of one pass); beside it, on
a thread of its own, a cheap audio-only pass measures the loudness of the mix (writing the mix
it measures, which the limiter's makeup passes read) and the sound is encoded from what those
passes wrote, with the gain that reaches the timeline's target; then both are joined into the
MP4 by stream copy. The sound takes a fraction of one core, which the encode leaves idle, so
it costs the render no wall time (it ran inside the one command before, and its loudness pass
before that command).

The MP4 is one member of an OutputGroup (adcut.core.outputs): ffmpeg writes the group's
temporary file beside the output, the picture and the sound go to one of the group's
temporary folders, and nothing appears under the output's name before the group commits. On
any failure (or Ctrl-C) the temporary files are removed; after a `kill -9` the next run on the
same output removes them.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from adcut.core.background import Background
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
    build_join_args,
    build_mix_args,
    build_pass_args,
    build_sound_args,
    concat_list,
    has_sound,
    loudness_gain_db,
    plan_passes,
)

log = logging.getLogger(__name__)

# What run_ffmpeg puts before the arguments (see adcut.media.ffmpeg).
_QUIET = ["-hide_banner", "-nostdin", "-nostats"]


@dataclass(frozen=True)
class RenderResult:
    output: Path
    elapsed_s: float
    command: list[str]  # the join that wrote the MP4 (binary first), naming the output, not
    # the temporary file ffmpeg wrote
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


def measure_gain_db(timeline: Timeline, work_dir: Path | None = None, *,
                    writing: Path | None = None) -> float | None:
    """First pass: the mix's integrated loudness, as the gain to the target (None = silent).

    When that gain would push the mix's true peak into the limiter, the limited mix is measured
    too and the gain corrected until it reaches the target (the secant of the last two
    measurements: a mix of clicks or hard percussion, whose peaks stand 20 dB over its body,
    loses up to 4 LU in the limiter; speech and most music lose nothing).

    Remembered per mix (adcut.core.memo: the measuring command, whose filtergraph is the
    whole mix, and the files it reads), so variants with the same mix and a second edit of the
    same ad measure it once. With `work_dir`, passes that run leave what they measured there
    for the render to reuse (see measured_sound): the first pass the mix, the last makeup pass
    the limited sound at its gain; a full disk is then reported as writing `writing`, the file
    the user asked for."""
    if not has_sound(timeline):
        return None
    from adcut.core.memo import remembered_json

    # the mix, and the limiter the makeup passes measure through
    args = [*build_audio_measure_args(timeline), *build_audio_measure_args(timeline, 0.0),
            timeline.loudness_lufs, timeline.true_peak_dbtp, MAKEUP_PASSES, LIMITER_LOSS_LU]
    return remembered_json("mix-gain", args, _sound_sources(timeline),
                           lambda: _measure_gain_db(timeline, work_dir, writing))


def _sound_sources(timeline: Timeline) -> list[Path]:
    """The files the mix reads."""
    from adcut.render.graph import clip_audio_used

    paths = [c.source for c, used in zip(timeline.clips, clip_audio_used(timeline)) if used]
    paths += [v.path for v in timeline.voice]
    if timeline.music is not None:
        paths.append(timeline.music.path)
    return [Path(p) for p in dict.fromkeys(paths)]


def _mix_path(work_dir: Path) -> Path:
    return work_dir / "mix.wav"


def _limited_path(work_dir: Path, gain_db: float) -> Path:
    return work_dir / f"limited{gain_db:+.2f}dB.wav"


def measured_sound(work_dir: Path, gain_db: float | None) -> tuple[str | None, str | None]:
    """What measure_gain_db(timeline, work_dir) left for a render at `gain_db`: (the mix, the
    finished sound at that gain), each None where it did not write one (it measured nothing
    when the gain was remembered, and no makeup pass at this gain when none was needed)."""
    mix = _mix_path(work_dir)
    limited = None if gain_db is None else _limited_path(work_dir, gain_db)
    return (str(mix) if mix.is_file() else None,
            str(limited) if limited is not None and limited.is_file() else None)


def _measure_gain_db(timeline: Timeline, work_dir: Path | None,
                     writing: Path | None) -> float | None:
    if work_dir is None:
        stderr = run_ffmpeg(build_audio_measure_args(timeline))
        from_mix = None
    else:
        from_mix = str(_mix_path(work_dir))
        stderr = run_ffmpeg(["-y", *build_mix_args(timeline, from_mix)], writing=writing)
    loudness = parse_ebur128_summary(stderr)
    measured = loudness.integrated_lufs if loudness else None
    gain = loudness_gain_db(measured, timeline.loudness_lufs)
    log.debug("mix measured at %s LUFS: gain %s dB", measured, gain)
    peak = loudness.true_peak_dbtp if loudness else None
    if gain is None or peak is None or peak + gain <= timeline.true_peak_dbtp - TRUE_PEAK_MARGIN_DB:
        return gain
    target = timeline.loudness_lufs
    points: list[tuple[float, float]] = []  # (gain, loudness after the limiter)
    keep = None
    for _ in range(MAKEUP_PASSES):
        if keep is not None:  # only the last pass's sound can be the one the render takes
            Path(keep).unlink(missing_ok=True)
        keep = None if work_dir is None else str(_limited_path(work_dir, gain))
        limited = parse_ebur128_summary(run_ffmpeg(
            build_audio_measure_args(timeline, gain, from_mix=from_mix, keep=keep),
            writing=writing))
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
    the caller commits with the rest of its outputs (`result.written` is that file). The
    picture and the sound go to `work_dir`, or to a temporary folder of the group, and are
    joined into the temporary file."""
    output = group.path(key)
    check_inputs(timeline, ass_path=ass_path, fonts_dir=fonts_dir)
    temp = group.temp(key)
    started = time.perf_counter()
    progress = on_progress or (lambda _done_s: None)
    options = _options(timeline, ass_path=ass_path, fonts_dir=fonts_dir, preview=preview,
                       gain_db=None)
    passes = plan_passes(timeline, single_pass_max_clips, clips_per_pass)
    # Absolute: ffmpeg reads the names in an ffconcat list relative to its folder.
    parts_dir = (work_dir or group.temp_dir(key)).absolute()
    commands = render_commands(timeline, passes, parts_dir, temp, options)
    with phase("encode"):
        # The sound (its loudness pass first) on a thread of its own while the picture
        # encodes: it needs a fraction of one core, which the encode leaves idle.
        sound = Background(lambda: _render_sound(timeline, commands, options, output))
        try:
            logs = _render_pictures(timeline, passes, commands, progress, output)
        except BaseException:
            _wait_quietly(sound)  # its ffmpeg must be done before the folder is removed
            raise
        gain, join = sound.result()
        run_ffmpeg(join, writing=output)
        progress(timeline.duration_s)
    if not temp.is_file() or temp.stat().st_size == 0:
        raise MediaError(f"{output}: ffmpeg wrote nothing",
                         hint="run with --print-ffmpeg and try the command by hand")
    elapsed = time.perf_counter() - started
    command = [find_ffmpeg().path, *_QUIET, *join]
    final = [str(output) if part == str(temp) else part for part in command]
    return RenderResult(output=output, elapsed_s=elapsed, command=final, loudness_gain_db=gain,
                        passes=len(passes), written=temp, picture_logs=tuple(logs))


@dataclass(frozen=True)
class RenderCommands:
    """A render's ffmpeg argument lists: one per picture pass (each writing its part), the
    sound of the whole ad (with the gain of the options it was built with: see _sound_args)
    to `sound_path`, and the join of both; the join reads the single part itself, or the
    ffconcat list `listing` (its text; None for a single part) at `list_path`."""

    pictures: list[list[str]]
    sound: list[str]
    join: list[str]
    listing: str | None
    list_path: Path
    sound_path: Path


def _sound_args(timeline: Timeline, sound_path: Path, options: RenderOptions, *,
                from_mix: str | None = None, finished: str | None = None) -> list[str]:
    return ["-y", *build_sound_args(timeline, str(sound_path), options, from_mix=from_mix,
                                    finished=finished)]


def render_commands(timeline: Timeline, passes: list[Pass], parts_dir: Path, output: Path,
                    options: RenderOptions) -> RenderCommands:
    """The commands of a render of `timeline` in `passes` (PURE): picture parts, the sound
    (sound.m4a) and the join into `output`, the intermediate files in `parts_dir`."""
    parts = [parts_dir / (f"part{k:03d}.mp4" if len(passes) > 1 else "picture.mp4")
             for k in range(len(passes))]
    sound_path = parts_dir / "sound.m4a"
    list_path = parts_dir / "parts.ffconcat"
    pictures = [["-y", *build_pass_args(timeline, p, str(part), options)]
                for p, part in zip(passes, parts)]
    many = len(parts) > 1
    join = ["-y", *build_join_args(timeline, str(list_path if many else parts[0]),
                                   str(sound_path), str(output), listing=many)]
    return RenderCommands(pictures=pictures, sound=_sound_args(timeline, sound_path, options),
                          join=join, listing=concat_list([str(p) for p in parts]) if many
                          else None, list_path=list_path, sound_path=sound_path)


def _render_sound(timeline: Timeline, commands: RenderCommands, options: RenderOptions,
                  output: Path) -> tuple[float | None, list[str]]:
    """The loudness pass (not for a preview), then the sound with the gain it measured,
    encoded from what the pass wrote where it can (the same samples: the pass's mix, or the
    makeup pass's limited sound at that gain, instead of mixing and limiting again); returns
    the gain and the join's arguments (the list of parts written first when there is one)."""
    # A folder of its own, emptied: what it holds is taken as this mix's (measured_sound).
    work_dir = commands.sound_path.parent / "loudness"
    shutil.rmtree(work_dir, ignore_errors=True)
    try:
        work_dir.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"cannot write beside {output} ({exc.strerror})",
                          hint="free space or choose another -o") from None
    with phase("loudness pass"):
        gain = None if options.preview else measure_gain_db(timeline, work_dir,
                                                            writing=output)
    from_mix, finished = measured_sound(work_dir, gain)
    sound = _sound_args(timeline, commands.sound_path, replace(options, loudness_gain_db=gain),
                        from_mix=from_mix, finished=finished)
    run_ffmpeg(sound, writing=output)  # seconds of work for any length
    if commands.listing is not None:
        try:
            commands.list_path.write_text(commands.listing, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write beside {output} ({exc.strerror})",
                              hint="free space or choose another -o") from None
    return gain, commands.join


def _wait_quietly(job: Background) -> None:
    """Wait for `job` to end (a second Ctrl-C meanwhile takes effect after it), whatever it
    ends with: the failure being reported is the picture's."""
    from adcut.core.interrupts import interrupts_deferred

    with interrupts_deferred():
        try:
            job.result()
        except BaseException as exc:  # noqa: BLE001
            log.debug("the sound stopped too: %s", exc)


def _render_pictures(timeline: Timeline, passes: list[Pass], commands: RenderCommands,
                     progress: Callable[[float], None],
                     output: Path) -> list[tuple[float, float, str]]:
    """The picture passes in turn (progress in ad seconds), each writing its part (the name
    a full disk is reported under is `output`). Returns each pass's (start_s, end_s, log)."""
    fps = timeline.fps
    logs = []
    for p, args in zip(passes, commands.pictures):
        start_s = p.start_f / fps
        log.debug("picture pass: frames %d-%d", p.start_f, p.end_f)
        logs.append((start_s, p.end_f / fps, run_ffmpeg(
            args, duration_s=(p.end_f - p.start_f) / fps, writing=output,
            on_progress=lambda done_s, start_s=start_s: progress(start_s + done_s))))
    return logs


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
    """The render's ffmpeg commands, shell-quoted, one per line (for --print-ffmpeg): the
    loudness pass, the picture (one command per pass), the sound and the join, with comment
    lines saying where the intermediate files go.

    With `measure` (default) the cheap audio-only loudness pass is run so that the printed
    sound command carries the exact gain the real render would apply; the measure command
    itself is printed first, as a comment line and the command. With `measure=False` the
    given `loudness_gain_db` is used (None: no gain stage)."""
    ff = find_ffmpeg().path
    lines = []
    gain = loudness_gain_db
    if not preview and has_sound(timeline):
        lines.append("# loudness pass (audio only): the sound command below applies "
                     f"volume=<{timeline.loudness_lufs:g} LUFS - measured>")
        lines.append(shlex.join([ff, *_QUIET, *build_audio_measure_args(timeline)]))
        if measure and gain is None:
            check_inputs(timeline)
            gain = measure_gain_db(timeline)
    options = _options(timeline, ass_path=ass_path, fonts_dir=fonts_dir, preview=preview,
                       gain_db=None if preview else gain)
    passes = plan_passes(timeline)
    parts_dir = output.absolute().parent / f".{output.name}.XXXXXXXX.adcut-parts"
    commands = render_commands(timeline, passes, parts_dir, output, options)
    picture = (f"{len(passes)} picture passes (about {CLIPS_PER_PASS} clips each)"
               if len(passes) > 1 else "the picture")
    lines.append(f"# {picture} and the sound (run side by side) into {parts_dir}, then the "
                 "join by stream copy")
    if commands.listing is not None:
        lines.append(f"# {commands.list_path} reads:")
        lines += [f"#   {line}" for line in commands.listing.splitlines()]
    lines += [shlex.join([ff, *_QUIET, *args])
              for args in [*commands.pictures, commands.sound, commands.join]]
    return "\n".join(lines)
