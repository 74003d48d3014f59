"""EditPlan -> Timeline.

`gather_facts` is the edge: it probes the sources, synthesises the voice lines and samples
frames for reframing. `compile_plan` is pure: plan + facts in, Timeline out. Every problem
found is reported at once, each with the JSON path of the field at fault.

Fitting rule: a voiced shot lasts lead-in + its line's measured voice + a short breath, so the
picture never runs ahead of or behind the narration. A clip longer than that is trimmed (the
plan's in point is kept); a shorter one is slowed down to at most MIN_SPEED and then held on its
last frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from adcut.core.errors import BadInputError, DependencyError, MediaError
from adcut.core.plan import ASPECTS, EditPlan
from adcut.core.timeline import (
    CaptionCue,
    Duck,
    MusicCue,
    ResolvedReframe,
    SubtitleLayout,
    Timeline,
    TimelineClip,
    Transition,
    VoiceCue,
)

LEAD_IN_S = 0.15  # picture first, then the voice
BREATH_S = 0.35  # after each line, before the next shot
MIN_SPEED = 0.7  # slower looks like a mistake; beyond it the last frame is held
READ_CHARS_PER_S = {"zh": 5.0, "ja": 6.0, "ko": 6.0}  # subtitle-only reading speed
READ_CHARS_PER_S_DEFAULT = 15.0
MIN_SHOT_S = 1.0
RANGE_SLACK_S = 0.05  # container durations are rounded; allow this much past the end


class PlanProblems(BadInputError):
    """Every problem of a plan at once, each naming its field."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{source}: " + "; ".join(problems),
                         hint="fix these fields and run again" if more else None)


@dataclass(frozen=True)
class SourceFacts:
    duration_s: float
    width: int
    height: int
    has_audio: bool
    has_video: bool = True


@dataclass(frozen=True)
class LineVoice:
    path: str
    duration_s: float
    words: list[tuple[str, float, float]]  # (word, start_s, end_s) within the file


@dataclass
class PlanFacts:
    sources: dict[str, SourceFacts | str] = field(default_factory=dict)  # str: what is wrong
    voices: list[LineVoice | None] = field(default_factory=list)  # per shot
    reframes: list[tuple[str, float, float] | None] = field(default_factory=list)  # per shot
    subtitle_layout: SubtitleLayout | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    voice_engine: str | None = None


# -- the edge -------------------------------------------------------------------------------

def gather_facts(plan: EditPlan, *, cache_dir: Path, base_dir: Path | None = None,
                 with_voice: bool = True) -> PlanFacts:
    """Probe sources, synthesise voice lines and choose reframing for one plan."""
    from adcut.media.probe import probe_media
    from adcut.render.reframe import choose_reframe, sample_shot_frames, saliency_map

    facts = PlanFacts()
    paths = [s.source for s in plan.shots] + ([plan.music.source] if plan.music else [])
    for raw in dict.fromkeys(paths):
        path = resolve(raw, base_dir)
        try:
            info = probe_media(path)
        except MediaError as exc:
            facts.sources[raw] = exc.message.removeprefix(f"{path}: ")
            continue
        v = info.video
        facts.sources[raw] = SourceFacts(
            duration_s=info.duration_s, width=v.width if v else 0, height=v.height if v else 0,
            has_audio=info.audio is not None, has_video=v is not None)

    # Reframing: only where the plan leaves the centre to us and the aspect differs.
    out_w, out_h = ASPECTS[plan.aspect]
    for shot in plan.shots:
        src = facts.sources.get(shot.source)
        r = shot.reframe
        if not isinstance(src, SourceFacts) or not src.has_video:
            facts.reframes.append(None)
        elif r.center_x is not None and r.center_y is not None:
            facts.reframes.append((r.mode if r.mode != "auto" else "crop", r.center_x, r.center_y))
        else:
            frames = sample_shot_frames(resolve(shot.source, base_dir), shot.in_s,
                                        min(shot.out_s, src.duration_s) - shot.in_s)
            mode, cx, cy = (choose_reframe(saliency_map(frames), src.width, src.height, out_w,
                                           out_h) if frames else ("crop", 0.5, 0.5))
            if r.mode != "auto":
                mode = r.mode
            facts.reframes.append((mode, r.center_x if r.center_x is not None else cx,
                                   r.center_y if r.center_y is not None else cy))

    # Subtitles: layout and glyph coverage.
    lines = [(i, s.line) for i, s in enumerate(plan.shots) if s.line]
    if plan.subtitles.enabled and lines:
        from adcut.render.subtitles import missing_glyphs, subtitle_layout

        font_file = plan.subtitles.font_file
        if font_file is not None and not resolve(font_file, base_dir).is_file():
            facts.problems.append(f"subtitles.font_file: {font_file} does not exist")
        else:
            style = plan.subtitles
            if font_file is not None:
                style = style.model_copy(update={"font_file": str(resolve(font_file, base_dir))})
            layout = subtitle_layout(out_w, out_h, style)
            facts.subtitle_layout = layout
            for i, text in lines:
                missing = missing_glyphs(text, Path(layout.font_file))
                if missing:
                    facts.problems.append(
                        f"shots[{i}].line: the font {Path(layout.font_file).name} cannot draw "
                        f"{''.join(missing)!r}; choose subtitles.font_file that covers them")

    # Voice-over.
    facts.voices = [None] * len(plan.shots)
    if with_voice and lines and plan.voice.engine != "none":
        from adcut.voice.tts import synthesize_cached, voice_for

        try:
            engine = voice_for(plan.language, plan.voice.engine, plan.voice.voice)
        except (BadInputError, DependencyError) as exc:
            facts.problems.append(f"voice.engine: {exc.message}")
            engine = None
        else:
            if engine is None:
                facts.notes.append(
                    f"no offline voice speaks {plan.language!r}: the ad has subtitles only "
                    "(timed at reading speed)")
        if engine is not None:
            facts.voice_engine = f"{engine.name} {engine.version}"
            for i, text in lines:
                try:
                    speech = synthesize_cached(engine, text, cache_dir / "tts",
                                               speed=plan.voice.speed)
                except BadInputError as exc:
                    facts.problems.append(f"shots[{i}].line: {exc.message}")
                    continue
                facts.voices[i] = LineVoice(str(speech.path), speech.duration_s,
                                            list(speech.words))
    return facts


def resolve(raw: str, base_dir: Path | None) -> Path:
    """Plan paths are relative to the plan file's folder when not absolute."""
    p = Path(raw).expanduser()
    return p if p.is_absolute() or base_dir is None else (base_dir / p)


# -- the pure part ------------------------------------------------------------------------------

def compile_plan(plan: EditPlan, facts: PlanFacts, *, base_dir: Path | None = None,
                 label: str = "plan") -> Timeline:
    """The exact timeline for a plan, given what the edge measured."""
    fps = plan.fps
    out_w, out_h = ASPECTS[plan.aspect]
    problems = list(facts.problems)

    def sec_to_f(seconds: float) -> int:
        return max(0, int(round(seconds * fps)))

    # Check every source and range first, so all problems are reported together.
    for i, shot in enumerate(plan.shots):
        src = facts.sources.get(shot.source)
        if isinstance(src, str):
            problems.append(f"shots[{i}].source: {shot.source}: {src}")
        elif src is None:
            problems.append(f"shots[{i}].source: {shot.source} was not probed")
        elif not src.has_video:
            problems.append(f"shots[{i}].source: {shot.source} has no video stream")
        else:
            if shot.in_s >= src.duration_s:
                problems.append(f"shots[{i}].in_s: {shot.in_s} s is beyond the end of "
                                f"{shot.source} ({src.duration_s:.2f} s)")
            elif shot.out_s > src.duration_s + RANGE_SLACK_S:
                problems.append(f"shots[{i}].out_s: {shot.out_s} s is beyond the end of "
                                f"{shot.source} ({src.duration_s:.2f} s)")
    music_src = None
    if plan.music is not None:
        music_src = facts.sources.get(plan.music.source)
        if isinstance(music_src, str):
            problems.append(f"music.source: {plan.music.source}: {music_src}")
        elif music_src is not None and not music_src.has_audio:
            problems.append(f"music.source: {plan.music.source} has no audio stream")
        elif music_src is not None and plan.music.start_s >= music_src.duration_s:
            problems.append(f"music.start_s: {plan.music.start_s} s is beyond the end of "
                            f"{plan.music.source} ({music_src.duration_s:.2f} s)")
    if problems:
        raise PlanProblems(label, problems)

    clips: list[TimelineClip] = []
    voice: list[VoiceCue] = []
    captions: list[CaptionCue] = []
    notes = list(facts.notes)
    lead_f = sec_to_f(LEAD_IN_S)
    start_f = 0
    for i, shot in enumerate(plan.shots):
        src = facts.sources[shot.source]
        assert isinstance(src, SourceFacts)
        available_s = min(shot.out_s, src.duration_s) - shot.in_s
        spoken = facts.voices[i] if i < len(facts.voices) else None
        if spoken is not None:
            wanted_s = LEAD_IN_S + spoken.duration_s + BREATH_S
        elif shot.line:  # subtitles only: time to read it
            rate = READ_CHARS_PER_S.get(plan.language.split("-")[0], READ_CHARS_PER_S_DEFAULT)
            wanted_s = max(MIN_SHOT_S, len(shot.line) / rate + BREATH_S)
        else:
            wanted_s = available_s
        duration_f = max(1, sec_to_f(wanted_s))
        speed, hold_f = fit_speed(available_s, duration_f, fps)
        if hold_f:
            notes.append(f"shots[{i}]: the clip ({available_s:.2f} s) is shorter than its line "
                         f"({duration_f / fps:.2f} s): slowed to {speed:.2f}x and held "
                         f"{hold_f / fps:.2f} s")
        elif speed < 1:
            notes.append(f"shots[{i}]: slowed to {speed:.2f}x to cover its line")
        mode, cx, cy = facts.reframes[i] if i < len(facts.reframes) and facts.reframes[i] else (
            "crop", 0.5, 0.5)
        clips.append(TimelineClip(
            source=str(resolve(shot.source, base_dir)), source_width=src.width,
            source_height=src.height, source_has_audio=src.has_audio, source_in_s=shot.in_s,
            speed=speed, hold_f=hold_f, start_f=start_f, duration_f=duration_f,
            reframe=ResolvedReframe(mode=mode, center_x=cx, center_y=cy),
            audio=shot.clip_audio or plan.clip_audio, clip_id=shot.clip_id))
        if spoken is not None:
            vstart = start_f + lead_f
            vdur = max(1, math.ceil(spoken.duration_s * fps))
            voice.append(VoiceCue(path=spoken.path, start_f=vstart, duration_f=vdur,
                                  text=shot.line, clip=i))
            cue_span = (vstart, vstart + vdur)
            words = [(w, vstart + sec_to_f(a), vstart + max(sec_to_f(a) + 1, sec_to_f(b)))
                     for w, a, b in spoken.words]
        else:
            cue_span = (start_f + lead_f, start_f + duration_f - min(sec_to_f(BREATH_S),
                                                                       duration_f // 4))
            words = []
        if shot.line and facts.subtitle_layout is not None:
            from adcut.render.subtitles import caption_cues

            try:
                captions.extend(caption_cues(
                    shot.line, cue_span[0], max(cue_span[1], cue_span[0] + 1), words,
                    facts.subtitle_layout, out_w, plan.subtitles.max_lines,
                    field=f"shots[{i}].line"))
            except BadInputError as exc:
                problems.append(exc.message)
        start_f += duration_f
    total_f = start_f

    transitions: list[Transition] = []
    for i, shot in enumerate(plan.shots[:-1]):
        if shot.transition == "cut":
            continue
        want = max(2, sec_to_f(shot.transition_s))
        # Never longer than either neighbour can lend (half of each, so cuts stay readable).
        limit = min(clips[i].duration_f, clips[i + 1].duration_f)
        d = min(want, limit)
        if d < 2:
            notes.append(f"shots[{i}].transition: too short to fit, made a cut")
            continue
        if d < want:
            notes.append(f"shots[{i}].transition_s shortened to {d / fps:.2f} s to fit the shots")
        transitions.append(Transition(kind=shot.transition, after_clip=i, duration_f=d))

    music = None
    if plan.music is not None and music_src is not None:
        m = plan.music
        end_s = m.start_s + total_f / fps
        if end_s > music_src.duration_s + RANGE_SLACK_S:
            problems.append(
                f"music.start_s: the ad needs {total_f / fps:.2f} s of music from {m.start_s} s "
                f"but {m.source} ends at {music_src.duration_s:.2f} s; start at or before "
                f"{max(0.0, music_src.duration_s - total_f / fps):.2f} s")
        else:
            music = MusicCue(
                path=str(resolve(m.source, base_dir)), source_start_s=m.start_s, start_f=0,
                duration_f=total_f, gain_db=m.gain_db,
                fade_in_f=min(sec_to_f(m.fade_in_s), total_f // 2),
                fade_out_f=min(sec_to_f(m.fade_out_s), total_f // 2),
                duck=Duck(depth_db=m.duck_db) if m.duck and voice else None,
                track_id=m.track_id)
    if problems:
        raise PlanProblems(label, problems)

    return Timeline(
        fps=fps, width=out_w, height=out_h, duration_f=total_f, clips=clips,
        transitions=transitions, voice=voice, captions=captions,
        subtitles=facts.subtitle_layout if captions else None, music=music,
        loudness_lufs=plan.loudness_lufs, true_peak_dbtp=plan.true_peak_dbtp,
        language=plan.language, notes=notes,
        metadata={"planner": plan.planner, "brief": plan.brief, "seed": plan.seed,
                  "voice_engine": facts.voice_engine, "aspect": plan.aspect})


def fit_speed(available_s: float, duration_f: int, fps: int) -> tuple[float, int]:
    """(speed, hold_f) so `available_s` of footage fills `duration_f` frames (PURE)."""
    need_s = duration_f / fps
    if available_s >= need_s:
        return 1.0, 0
    speed = max(MIN_SPEED, available_s / need_s)
    covered_f = int(math.floor(available_s / speed * fps + 1e-6))
    speed = round(speed, 4)
    return speed, max(0, duration_f - covered_f)
