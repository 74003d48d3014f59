"""EditPlan -> Timeline.

`gather_facts` is the edge: it probes the sources, synthesises the voice lines and samples
frames for reframing. `compile_plan` is pure: plan + facts in, Timeline out. Every problem
found is reported at once, each with the JSON path of the field at fault.

Fitting rule: a voiced shot lasts lead-in + its line's measured voice + a short breath, so the
picture never runs ahead of or behind the narration. A clip longer than that is trimmed (the
plan's in point is kept); a shorter one is slowed down to at most MIN_SPEED and then held on its
last frame.

Music: a track that ends before the ad is looped, not refused: the edge measures its beats
and level only when it must loop, and `choose_music_loop` (pure) picks a stretch of whole bars
inside the track's body (not its quiet intro or outro) to repeat, joined by a short crossfade
just before the bar line. A timeline, which bypasses all of this, is checked against its
sources by `check_timeline_sources` before a render starts.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from adcut.core.background import Background
from adcut.core.errors import BadInputError, DependencyError, MediaError
from adcut.core.plan import ASPECTS, EditPlan
from adcut.core.timeline import (
    MIN_SIDE_PX,
    CaptionCue,
    CardImage,
    Duck,
    MusicCue,
    MusicLoop,
    ResolvedReframe,
    SubtitleLayout,
    Timeline,
    TimelineClip,
    TimelineEndCard,
    Transition,
    VoiceCue,
)
from adcut.core.timing import phase
from adcut.core.validation import MAX_PROBLEMS, echo_path, shorten
from adcut.media.stills import is_still

LEAD_IN_S = 0.15  # picture first, then the voice
BREATH_S = 0.35  # after each line, before the next shot
MIN_BREATH_S = 0.1  # the least a line keeps after it when the ad is fitted to its length
MIN_SPEED = 0.7  # slower looks like a mistake; beyond it the last frame is held
READ_CHARS_PER_S = {"zh": 5.0, "ja": 6.0, "ko": 6.0}  # subtitle-only reading speed
READ_CHARS_PER_S_DEFAULT = 15.0
MIN_SHOT_S = 1.0
HOOK_S = 2.0  # the opening an ad has to catch the eye: it must not be a frozen picture
RANGE_SLACK_S = 0.05  # container durations are rounded; allow this much past the end
# Looping music (see choose_music_loop).
BEATS_PER_BAR = 4  # the loop spans whole bars of 4 beats (the meter of nearly all ad music)
BEAT_CROSSFADE_S = 0.1  # on a bar line: short, so the downbeat lands clean
FREE_CROSSFADE_S = 1.0  # no steady beat: a longer blend hides the seam
MIN_LOOP_S = 2.0  # a shorter stretch repeated sounds like a stuck record
BODY_DROP_DB = 3.0  # an intro or outro this much below the track's median level is not looped
MUSIC_ANALYSIS_RATE = 16000  # the rate ingest measures beats at


class PlanProblems(BadInputError):
    """Every problem of a plan at once, each naming its field (the first MAX_PROBLEMS; the
    rest are counted)."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        shown = [shorten(p) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"and {len(problems) - MAX_PROBLEMS} more problems")
        super().__init__(f"{source}: " + "; ".join(shown),
                         hint="fix these fields and run again" if len(problems) > 1 else None)


@dataclass(frozen=True)
class SourceFacts:
    duration_s: float
    width: int
    height: int
    has_audio: bool
    has_video: bool = True
    still: bool = False  # a still image: any range of it can be shown (duration_s is infinite)


def source_facts(path: Path) -> SourceFacts:
    """A video or audio file's facts (raises MediaError), remembered per file (adcut.core.memo):
    a warm edit, or a variant, opens no container (probing decodes each video's first frames:
    0.6 s for 7 sources)."""
    from adcut.core.memo import remembered_json

    return SourceFacts(**remembered_json("source-facts", [], [path],
                                         lambda: _probed_facts(path)))


def _probed_facts(path: Path) -> dict:
    from adcut.media.probe import probe_media

    info = probe_media(path)
    v = info.video
    return {"duration_s": info.duration_s, "width": v.width if v else 0,
            "height": v.height if v else 0, "has_audio": info.audio is not None,
            "has_video": v is not None}


def still_facts(path: Path) -> SourceFacts:
    """A still image's facts (size from its header): it lasts as long as a shot needs it."""
    from adcut.media.stills import still_size

    width, height = still_size(path)
    return SourceFacts(duration_s=math.inf, width=width, height=height, has_audio=False,
                       still=True)


# How much closer the last frame of a still's shot is than its first (TimelineClip.push_in): a
# slow push-in, 2 % a second up to 12 %, so a 4 s still moves 8 %. At 1080 px wide that is
# under 0.4 px of edge motion per frame at 30 fps: a drift, never a jump.
STILL_PUSH_IN_PER_S = 0.02
STILL_PUSH_IN_MAX = 0.12


@dataclass(frozen=True)
class LineVoice:
    path: str
    duration_s: float
    words: list[tuple[str, float, float]]  # (word, start_s, end_s) within the file


@dataclass(frozen=True)
class MusicRhythm:
    """What a looped track needs measured: its beats and its level over time."""

    beats_s: tuple[float, ...]
    level_times_s: tuple[float, ...]  # centres of consecutive windows
    level_db: tuple[float, ...]


@dataclass
class PlanFacts:
    sources: dict[str, SourceFacts | str] = field(default_factory=dict)  # str: what is wrong
    music_rhythm: MusicRhythm | None = None  # measured only when the music must loop
    voices: list[LineVoice | None] = field(default_factory=list)  # per shot
    reframes: list[tuple[str, float, float] | None] = field(default_factory=list)  # per shot
    subtitle_layout: SubtitleLayout | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    voice_engine: str | None = None
    # Integrated loudness (LUFS) of the spoken lines and of the music the ad plays: the music
    # bed is set against the voice from these (adcut.render.ducking.plan_music_level).
    voice_lufs: float | None = None
    music_lufs: float | None = None
    # How much the first shot's picture changes over its first seconds (reframe.motion_level);
    # None when not measured (a still, a source without video).
    opening_motion: float | None = None
    # The end card's images (key "logo" / "image": (path, width, height), or what is wrong)
    # and the font its text is drawn in.
    card_images: dict[str, tuple[str, int, int] | str] = field(default_factory=dict)
    card_font: tuple[str, str] | None = None


# -- the edge -------------------------------------------------------------------------------

def gather_facts(plan: EditPlan, *, cache_dir: Path, base_dir: Path | None = None,
                 with_voice: bool = True) -> PlanFacts:
    """Probe sources, synthesise voice lines and choose reframing for one plan."""
    # The voice lines depend on the plan alone: they are synthesised beside the probing,
    # reframing and glyph checks (the model load and the synthesis are mostly onnxruntime's and
    # numpy's work, which lets the reframing's ffmpeg children and the main thread run).
    lines = [(i, s.line) for i, s in enumerate(plan.shots) if s.line]
    stop = threading.Event()
    voicing = Background(lambda: voice_lines(plan, lines, cache_dir, stop) if with_voice
                         else Voiced([None] * len(plan.shots)))
    try:
        facts = _gather_picture_facts(plan, lines, base_dir)
        voiced = voicing.result()
    except BaseException:
        stop.set()  # Ctrl-C or a failure: the voice stops at its next line
        raise
    facts.voices, facts.voice_engine = voiced.voices, voiced.engine
    facts.notes += voiced.notes
    facts.problems += voiced.problems
    _gather_music_facts(plan, facts, base_dir)
    return facts


def _probe(raw: str, base_dir: Path | None, is_music: bool) -> SourceFacts | str:
    """A source's facts (a picture's from its header unless it is the music), or what is
    wrong with it."""
    path = resolve(raw, base_dir)
    try:
        if is_still(path) and not is_music:
            return still_facts(path)
        return source_facts(path)
    except MediaError as exc:
        return exc.message.removeprefix(f"{path}: ")


def _gather_picture_facts(plan: EditPlan, lines: list[tuple[int, str]],
                          base_dir: Path | None) -> PlanFacts:
    """Probe the sources, choose the reframing, check the captions' glyphs and the end card."""
    from adcut.render.reframe import choose_reframe, same_aspect, sample_shot_frames, saliency_map

    with phase("probe"):
        facts = PlanFacts()
        paths = [s.source for s in plan.shots] + ([plan.music.source] if plan.music else [])
        music = plan.music.source if plan.music else None
        raws = list(dict.fromkeys(paths))
        # A few at a time: a probe of a file not seen before opens it with PyAV, which
        # releases the GIL while it reads and decodes (a picture's header is read alone).
        with ThreadPoolExecutor(max_workers=max(1, min(4, len(raws)))) as pool:
            found = list(pool.map(lambda raw: _probe(raw, base_dir, raw == music), raws))
        facts.sources.update(zip(raws, found))

    with phase("reframe"):
        # Reframing: only where the plan leaves the centre to us and the aspect differs.
        out_w, out_h = ASPECTS[plan.aspect]
        _decode_shot_frames_together(plan, facts, base_dir)
        for shot in plan.shots:
            src = facts.sources.get(shot.source)
            r = shot.reframe
            if not isinstance(src, SourceFacts) or not src.has_video:
                facts.reframes.append(None)
            elif r.center_x is not None and r.center_y is not None:
                facts.reframes.append((r.mode if r.mode != "auto" else "crop", r.center_x, r.center_y))
            elif same_aspect(src.width, src.height, out_w, out_h):  # no frames needed
                facts.reframes.append((r.mode if r.mode != "auto" else "crop",
                                       r.center_x if r.center_x is not None else 0.5,
                                       r.center_y if r.center_y is not None else 0.5))
            else:
                if src.still:
                    from adcut.encoders.ocr import downscale
                    from adcut.media.stills import load_still

                    frames = [downscale(load_still(resolve(shot.source, base_dir)), 160)]
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
    if plan.subtitles.enabled and lines:
        from adcut.render.subtitles import subtitle_layout

        font_file = plan.subtitles.font_file
        if font_file is not None and not resolve(font_file, base_dir).is_file():
            facts.problems.append(f"subtitles.font_file: {echo_path(font_file)} does not exist")
        else:
            style = plan.subtitles
            if font_file is not None:
                style = style.model_copy(update={"font_file": str(resolve(font_file, base_dir))})
            layout = subtitle_layout(out_w, out_h, style)
            facts.subtitle_layout = layout
            missing_of = glyphs_missing([text for _, text in lines], Path(layout.font_file))
            for (i, text), missing in zip(lines, missing_of):
                if missing:
                    facts.problems.append(
                        f"shots[{i}].line: the font {Path(layout.font_file).name} cannot draw "
                        f"{''.join(missing)!r}; choose subtitles.font_file that covers them")

    with phase("reframe"):
        facts.opening_motion = measure_opening_motion(plan, facts, base_dir)
    if plan.end_card is not None:
        gather_end_card_facts(plan, facts, base_dir)

    return facts


def _gather_music_facts(plan: EditPlan, facts: PlanFacts, base_dir: Path | None) -> None:
    """The music's level against the voice's, and its beats when it must loop."""
    with phase("music levels"):
        # Music that ends before the ad: measured here, looped by compile_plan.
        music_src = facts.sources.get(plan.music.source) if plan.music else None
        if isinstance(music_src, SourceFacts) and music_src.has_audio:
            total_s = sum(shot_frames(plan, facts, i) for i in range(len(plan.shots))) / plan.fps
            spoken = [v.path for v in facts.voices if v is not None]
            if spoken:  # levels for the music bed (adcut.render.ducking.plan_music_level)
                from adcut.render.stems import music_window_lufs, voice_lines_lufs

                facts.voice_lufs = voice_lines_lufs(spoken)
                facts.music_lufs = music_window_lufs(str(resolve(plan.music.source, base_dir)),
                                                     plan.music.start_s, total_s)
            total_s += plan.end_card.duration_s if plan.end_card is not None else 0.0
            if plan.music.start_s + total_s > music_src.duration_s + RANGE_SLACK_S:
                facts.music_rhythm = measure_music_rhythm(resolve(plan.music.source, base_dir))
    return facts


@dataclass
class Voiced:
    """The voice lines of a plan: per shot, and what the synthesis noted or found wrong."""

    voices: list[LineVoice | None]
    engine: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def voice_lines(plan: EditPlan, lines: list[tuple[int, str]], cache_dir: Path,
                stop: threading.Event | None = None) -> Voiced:
    """Synthesise (or find cached) the voice of every line of `plan`; a set `stop` ends the
    work before the next line."""
    voiced = Voiced([None] * len(plan.shots))
    if not lines or plan.voice.engine == "none":
        return voiced
    with phase("voice"):
        from adcut.voice.tts import synthesize_cached, voice_for

        try:
            engine = voice_for(plan.language, plan.voice.engine, plan.voice.voice)
        except (BadInputError, DependencyError) as exc:
            voiced.problems.append(f"voice.engine: {exc.message}")
            return voiced
        if engine is None:
            voiced.notes.append(f"no offline voice speaks {plan.language!r}: the ad has "
                                "subtitles only (timed at reading speed)")
            return voiced
        from adcut.core.spoken import lexicon_of, voice_line

        voiced.engine = f"{engine.name} {engine.version}"
        lexicon = lexicon_of(plan.brief)
        for i, text in lines:
            if stop is not None and stop.is_set():
                break
            # the voice says the spoken form (the shot's own, else the line through the brief's
            # lexicon and the normaliser: "verde dot coffee", "four dollars ninety-nine"); the
            # captions show the line, each shown word timed from the spoken words that say it
            said = voice_line(text, plan.shots[i].spoken, plan.language, lexicon)
            try:
                speech = synthesize_cached(engine, said.text or text, cache_dir / "tts",
                                           speed=plan.voice.speed)
            except BadInputError as exc:
                voiced.problems.append(f"shots[{i}].line: {exc.message}")
                continue
            words = said.shown_word_times(text.split(), list(speech.words))
            voiced.voices[i] = LineVoice(str(speech.path), speech.duration_s, words)
    return voiced


def _decode_shot_frames_together(plan: EditPlan, facts: PlanFacts,
                                 base_dir: Path | None) -> None:
    """Decode the frames every auto-reframed video shot is judged on, and those of the opening
    shot's motion, a few ffmpeg children at a time (each decodes its whole range for a few
    frames: 0.3-0.5 s a shot, mostly one thread's work), so the reframing finds them
    remembered (reframe.sample_shot_frames)."""
    import os

    from adcut.render.reframe import same_aspect, sample_shot_frames

    out_w, out_h = ASPECTS[plan.aspect]
    jobs = []
    for shot in plan.shots:
        src = facts.sources.get(shot.source)
        if (isinstance(src, SourceFacts) and src.has_video and not src.still
                and (shot.reframe.center_x is None or shot.reframe.center_y is None)
                and not same_aspect(src.width, src.height, out_w, out_h)):
            jobs.append((resolve(shot.source, base_dir), shot.in_s,
                         min(shot.out_s, src.duration_s) - shot.in_s, 3))
    if plan.shots:
        jobs.append(_opening_frames_job(plan, facts, base_dir))
    jobs = [job for job in jobs if job is not None]
    if len(jobs) < 2:
        return
    pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1, len(jobs)))
    try:
        for _ in pool.map(lambda job: sample_shot_frames(*job), jobs):
            pass
    except MediaError:
        pass  # the loop meets the same error shot by shot, and says which
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def measure_opening_motion(plan: EditPlan, facts: PlanFacts,
                           base_dir: Path | None) -> float | None:
    """How much the first shot moves over its first HOOK_S (reframe.motion_level of frames
    half a second apart); None for a still (it gets its own motion) or a shot not probed."""
    from adcut.render.reframe import motion_level, sample_shot_frames

    job = _opening_frames_job(plan, facts, base_dir)
    if job is None:
        return None
    frames = sample_shot_frames(*job)
    return motion_level(frames) if len(frames) >= 2 else None


def _opening_frames_job(plan: EditPlan, facts: PlanFacts, base_dir: Path | None
                        ) -> tuple[Path, float, float, int] | None:
    """The frames (file, start s, span s, count) measure_opening_motion judges."""
    shot = plan.shots[0]
    src = facts.sources.get(shot.source)
    if not isinstance(src, SourceFacts) or not src.has_video or getattr(src, "still", False):
        return None
    span_s = min(HOOK_S, min(shot.out_s, src.duration_s) - shot.in_s)
    if span_s <= 0:
        return None
    return resolve(shot.source, base_dir), shot.in_s, span_s, max(2, round(span_s / 0.5) + 1)


def opening_push_in(clips: list[TimelineClip], motion: float | None,
                    fps: int) -> tuple[list[TimelineClip], str | None]:
    """The clips with a slow push-in on a static opening shot (PURE): the hook is never a
    frozen picture. Static: motion under reframe.STATIC_MOTION; the push-in grows
    reframe.PUSH_IN_PER_S, at most PUSH_IN_MAX. A clip that already moves or already has a
    push-in is left alone."""
    from adcut.render.reframe import PUSH_IN_MAX, PUSH_IN_PER_S, STATIC_MOTION

    if not clips or motion is None or motion >= STATIC_MOTION or clips[0].push_in > 0:
        return clips, None
    first = clips[0]
    push = round(min(PUSH_IN_MAX, PUSH_IN_PER_S * first.duration_f / fps), 4)
    if push <= 0:
        return clips, None
    return [first.model_copy(update={"push_in": push}), *clips[1:]], (
        f"shots[0]: the opening shot barely moves (motion {motion:.4f} < {STATIC_MOTION}): "
        f"a slow push-in of {push:.0%} gives it motion")


def captions_off_text(captions: list[CaptionCue], clips: list[TimelineClip],
                      layout: SubtitleLayout, out_w: int, out_h: int) -> list[CaptionCue]:
    """The captions, each moved to the band (bottom, top, middle) where it covers the least
    of the text on screen in the clips under it (their text_boxes, where the reframe puts
    them) (PURE)."""
    from adcut.render.reframe import frame_box
    from adcut.render.subtitles import place_captions

    keep = []
    for c in clips:
        boxes = [frame_box(tuple(b), c.source_width, c.source_height, c.reframe, out_w, out_h)
                 for b in getattr(c, "text_boxes", [])]
        if any(boxes):
            keep.append((c.start_f, c.end_f, [b for b in boxes if b is not None]))
    return place_captions(captions, layout, out_w, out_h, keep) if keep else captions


def glyphs_missing(texts: list[str], font_file: Path) -> list[list[str]]:
    """subtitles.missing_glyphs of each text, from one look at the font for all their
    characters (the font's coverage is remembered per font file, see subtitles._coverage)."""
    from adcut.render.subtitles import missing_glyphs

    chars = "".join(sorted(set("".join(texts))))
    with phase("font coverage"):
        missing = set(missing_glyphs(chars, Path(font_file)))
    return [[ch for ch in dict.fromkeys(text) if ch in missing] for text in texts]


def gather_end_card_facts(plan: EditPlan, facts: PlanFacts, base_dir: Path | None) -> None:
    """The size of each end-card image (read from its header) and the card's font: the
    captions' font when the ad has captions, else the bundled Noto Sans CJK."""
    from PIL import Image, UnidentifiedImageError

    from adcut.render.subtitles import default_font

    card = plan.end_card
    for key in ("logo", "image"):
        raw = getattr(card, key)
        if raw is None:
            continue
        path = resolve(raw, base_dir)
        try:
            with Image.open(path) as im:
                facts.card_images[key] = (str(path), *im.size)
        except FileNotFoundError:
            facts.card_images[key] = "does not exist"
        except (UnidentifiedImageError, OSError, ValueError):
            facts.card_images[key] = "is not an image readable here (PNG or JPG)"
    if facts.subtitle_layout is not None:
        facts.card_font = (facts.subtitle_layout.font_file, facts.subtitle_layout.font_name)
    else:
        font_file, font_name = default_font()
        facts.card_font = (str(font_file), font_name)
    for key in ("text", "url"):
        value = getattr(card, key)
        missing = glyphs_missing([value], Path(facts.card_font[0]))[0] if value else []
        if missing:
            facts.problems.append(f"end_card.{key}: the font {Path(facts.card_font[0]).name} "
                                  f"cannot draw {''.join(missing)!r}")


def measure_music_rhythm(path: Path) -> MusicRhythm:
    """Beats and level over time of a track (decoded once, like ingest measures music)."""
    from adcut.media.audio import decode_audio
    from adcut.media.rhythm import analyze_rhythm, energy_curve

    audio = decode_audio(path, sample_rate=MUSIC_ANALYSIS_RATE)
    rhythm = analyze_rhythm(audio.samples, audio.sample_rate)
    times_s, level_db = energy_curve(audio.samples, audio.sample_rate, hop_s=0.5)
    return MusicRhythm(beats_s=tuple(round(float(b), 4) for b in rhythm.beat_times_s),
                       level_times_s=tuple(float(t) for t in times_s),
                       level_db=tuple(float(d) for d in level_db))


def check_timeline_sources(timeline: Timeline, *, label: str = "timeline") -> None:
    """Probe every file a timeline names and raise PlanProblems listing every mismatch with
    its JSON path, before any rendering: a missing or undecodable file, a clip without video
    or smaller than MIN_SIDE_PX, a source size other than the file's, a source_in_s past the
    end of its source, clip sound asked of a file without any, a voice line or music without
    audio, music that runs out before its cue ends (and has no loop), a missing subtitle font.
    A plan is checked the same way by compile_plan; a timeline, hand-edited or not, comes
    here. Paths are probed as ffmpeg will open them (relative ones from the current folder)."""
    probed: dict[str, SourceFacts | str] = {}

    def facts_of(path: str) -> SourceFacts | str:
        if path not in probed:
            try:
                if is_still(path) and not any(v.path == path for v in timeline.voice) and (
                        timeline.music is None or timeline.music.path != path):
                    probed[path] = still_facts(Path(path))
                else:
                    probed[path] = source_facts(Path(path))
            except MediaError as exc:
                probed[path] = exc.message.removeprefix(f"{path}: ")
        return probed[path]

    problems: list[str] = []
    for i, clip in enumerate(timeline.clips):
        where = f"clips[{i}]"
        src = facts_of(clip.source)
        problems += video_source_problems(f"{where}.source", clip.source, src)
        if not isinstance(src, SourceFacts) or not src.has_video:
            continue
        if clip.source_in_s >= src.duration_s:
            problems.append(f"{where}.source_in_s: {clip.source_in_s:g} s is beyond the end of "
                            f"{echo_path(clip.source)} ({src.duration_s:.2f} s)")
        if (clip.source_width, clip.source_height) != (src.width, src.height) \
                and min(src.width, src.height) >= MIN_SIDE_PX:
            problems.append(f"{where}.source_width: {clip.source_width}x{clip.source_height} "
                            f"but {echo_path(clip.source)} is {src.width}x{src.height}")
        if clip.audio != "mute" and clip.source_has_audio and not src.has_audio:
            problems.append(f"{where}.source_has_audio: true but {echo_path(clip.source)} has no "
                            "audio stream")
    for i, cue in enumerate(timeline.voice):
        src = facts_of(cue.path)
        if isinstance(src, str):
            problems.append(f"voice[{i}].path: {echo_path(cue.path)}: {src}")
        elif not src.has_audio:
            problems.append(f"voice[{i}].path: {echo_path(cue.path)} has no audio stream")
    m = timeline.music
    if m is not None:
        src = facts_of(m.path)
        if isinstance(src, str):
            problems.append(f"music.path: {echo_path(m.path)}: {src}")
        elif not src.has_audio:
            problems.append(f"music.path: {echo_path(m.path)} has no audio stream")
        elif m.source_start_s >= src.duration_s:
            problems.append(f"music.source_start_s: {m.source_start_s:g} s is beyond the end of "
                            f"{echo_path(m.path)} ({src.duration_s:.2f} s)")
        elif m.loop is not None and m.loop.end_s > src.duration_s + RANGE_SLACK_S:
            problems.append(f"music.loop.end_s: {m.loop.end_s:g} s is beyond the end of "
                            f"{echo_path(m.path)} ({src.duration_s:.2f} s)")
        elif m.loop is None and m.source_start_s + m.duration_f / timeline.fps \
                > src.duration_s + RANGE_SLACK_S:
            problems.append(f"music.duration_f: the cue needs {m.duration_f / timeline.fps:.2f} s "
                            f"from {m.source_start_s:g} s but {echo_path(m.path)} ends at "
                            f"{src.duration_s:.2f} s; add a music.loop or shorten the cue")
    card = timeline.end_card
    for key, image in ((("logo", card.logo), ("image", card.image)) if card else ()):
        if image is None:
            continue
        try:
            from PIL import Image

            with Image.open(image.path) as im:
                size = im.size
        except FileNotFoundError:
            problems.append(f"end_card.{key}.path: {echo_path(image.path)} does not exist")
            continue
        except (OSError, ValueError):
            problems.append(f"end_card.{key}.path: {echo_path(image.path)} is not an image "
                            "readable here (PNG or JPG)")
            continue
        if size != (image.width, image.height):
            problems.append(f"end_card.{key}.width: {image.width}x{image.height} but "
                            f"{echo_path(image.path)} is {size[0]}x{size[1]}")
    if card is not None and not Path(card.font_file).is_file():
        problems.append(f"end_card.font_file: {echo_path(card.font_file)} does not exist")
    if timeline.captions and timeline.subtitles is not None \
            and not Path(timeline.subtitles.font_file).is_file():
        problems.append(f"subtitles.font_file: {echo_path(timeline.subtitles.font_file)} does not exist")
    if problems:
        raise PlanProblems(label, problems)


def video_source_problems(where: str, raw: str, src: SourceFacts | str | None) -> list[str]:
    """What makes a file unusable as footage (PURE): unreadable, no video, or too small for
    the renderer (its scaler and the blurred fit background need MIN_SIDE_PX a side)."""
    if isinstance(src, str):
        return [f"{where}: {echo_path(raw)}: {src}"]
    if src is None:
        return [f"{where}: {echo_path(raw)} was not probed"]
    if not src.has_video:
        return [f"{where}: {echo_path(raw)} has no video stream"]
    if min(src.width, src.height) < MIN_SIDE_PX:
        return [f"{where}: {echo_path(raw)} is {src.width}x{src.height} pixels; footage must be at "
                f"least {MIN_SIDE_PX}x{MIN_SIDE_PX}"]
    return []


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
        found = video_source_problems(f"shots[{i}].source", shot.source, src)
        problems += found
        if not found:
            if shot.in_s >= src.duration_s:
                problems.append(f"shots[{i}].in_s: {shot.in_s} s is beyond the end of "
                                f"{echo_path(shot.source)} ({src.duration_s:.2f} s)")
            elif shot.out_s > src.duration_s + RANGE_SLACK_S:
                problems.append(f"shots[{i}].out_s: {shot.out_s} s is beyond the end of "
                                f"{echo_path(shot.source)} ({src.duration_s:.2f} s)")
    music_src = None
    if plan.music is not None:
        music_src = facts.sources.get(plan.music.source)
        if isinstance(music_src, str):
            problems.append(f"music.source: {echo_path(plan.music.source)}: {music_src}")
        elif music_src is not None and not music_src.has_audio:
            problems.append(f"music.source: {echo_path(plan.music.source)} has no audio stream")
        elif music_src is not None and plan.music.start_s >= music_src.duration_s:
            problems.append(f"music.start_s: {plan.music.start_s} s is beyond the end of "
                            f"{echo_path(plan.music.source)} ({music_src.duration_s:.2f} s)")
    if problems:
        raise PlanProblems(label, problems)

    clips: list[TimelineClip] = []
    voice: list[VoiceCue] = []
    captions: list[CaptionCue] = []
    notes = list(facts.notes)
    lead_f = sec_to_f(LEAD_IN_S)
    start_f = 0
    frames = fitted_frames(plan, facts)
    notes += length_notes(plan, facts, frames)
    for i, shot in enumerate(plan.shots):
        src = facts.sources[shot.source]
        assert isinstance(src, SourceFacts)
        available_s = min(shot.out_s, src.duration_s) - shot.in_s
        spoken = facts.voices[i] if i < len(facts.voices) else None
        duration_f = frames[i]
        if src.still:  # a picture lasts as long as its shot: never slowed or held
            available_s = duration_f / fps
        speed, hold_f = fit_speed(available_s, duration_f, fps)
        if hold_f:
            notes.append(f"shots[{i}]: the clip ({available_s:.2f} s) is shorter than its line "
                         f"({duration_f / fps:.2f} s): slowed to {speed:.2f}x and held "
                         f"{hold_f / fps:.2f} s")
        elif speed < 1:
            notes.append(f"shots[{i}]: slowed to {speed:.2f}x to cover its line")
        mode, cx, cy = facts.reframes[i] if i < len(facts.reframes) and facts.reframes[i] else (
            "crop", 0.5, 0.5)
        from adcut.render.reframe import resolve_reframe

        boxes = [tuple(b) for b in getattr(shot, "text_boxes", [])]
        reframe, why = resolve_reframe(shot.reframe.mode, mode, cx, cy, src.width, src.height,
                                       out_w, out_h, boxes)
        if why:
            notes.append(f"shots[{i}]: {why}")
        clips.append(TimelineClip(
            source=str(resolve(shot.source, base_dir)), source_width=src.width,
            source_height=src.height, source_has_audio=src.has_audio, source_in_s=shot.in_s,
            speed=speed, hold_f=hold_f, start_f=start_f, duration_f=duration_f,
            reframe=ResolvedReframe(**reframe),
            audio=shot.clip_audio or plan.clip_audio, clip_id=shot.clip_id,
            text_boxes=shot.text_boxes, **still_motion(src, duration_f / fps)))
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

    clips, why = opening_push_in(clips, facts.opening_motion, fps)
    notes += [why] if why else []
    if captions and facts.subtitle_layout is not None:
        captions = captions_off_text(captions, clips, facts.subtitle_layout, out_w, out_h)

    end_card = None
    if plan.end_card is not None:
        end_card = compile_end_card(plan, facts, total_f, problems)
        total_f = end_card.end_f if end_card is not None else total_f

    music = None
    if plan.music is not None and music_src is not None:
        m = plan.music
        end_s = m.start_s + total_f / fps
        loop = None
        if end_s > music_src.duration_s + RANGE_SLACK_S:
            loop = choose_music_loop(music_src.duration_s, m.start_s, facts.music_rhythm)
            if loop is None:
                problems.append(
                    f"music.source: {echo_path(m.source)} is {music_src.duration_s:.2f} s long from "
                    f"{m.start_s} s, too short to loop under a {total_f / fps:.1f} s ad; "
                    "choose a longer track, or leave music out")
            else:
                bars = facts.music_rhythm is not None and loop.crossfade_s == BEAT_CROSSFADE_S
                notes.append(
                    f"music: the track ({music_src.duration_s:.1f} s from {m.start_s:g} s) is "
                    f"shorter than the ad ({total_f / fps:.1f} s): it loops from "
                    f"{loop.end_s:.2f} s back to {loop.start_s:.2f} s"
                    + (" (whole bars" if bars else " (no steady beat found")
                    + f", {loop.crossfade_s:g} s crossfade)")
        if loop is not None or end_s <= music_src.duration_s + RANGE_SLACK_S:
            from adcut.render.ducking import plan_music_level

            gain_db, depth_db, level_note = plan_music_level(
                m.gain_db, m.duck_db, facts.voice_lufs if voice else None, facts.music_lufs)
            if level_note:
                notes.append(level_note)
            music = MusicCue(
                path=str(resolve(m.source, base_dir)), source_start_s=m.start_s, start_f=0,
                duration_f=total_f, gain_db=gain_db,
                fade_in_f=min(sec_to_f(m.fade_in_s), total_f // 2),
                fade_out_f=min(sec_to_f(m.fade_out_s), total_f // 2),
                duck=Duck(depth_db=depth_db) if m.duck and voice else None,
                track_id=m.track_id, loop=loop)
    if problems:
        raise PlanProblems(label, problems)

    return Timeline(
        fps=fps, width=out_w, height=out_h, duration_f=total_f, clips=clips,
        transitions=transitions, voice=voice, captions=captions,
        subtitles=facts.subtitle_layout if captions else None, music=music,
        end_card=end_card, loudness_lufs=plan.loudness_lufs, true_peak_dbtp=plan.true_peak_dbtp,
        language=plan.language, notes=notes,
        metadata={"planner": plan.planner, "brief": plan.brief, "seed": plan.seed,
                  "voice_engine": facts.voice_engine, "aspect": plan.aspect,
                  # QC fails an ad that was to be spoken and is not (adcut.render.qc).
                  "voice_expected": plan.voice.engine != "none"
                  and any(s.line for s in plan.shots)})


def compile_end_card(plan: EditPlan, facts: PlanFacts, start_f: int,
                     problems: list[str]) -> TimelineEndCard | None:
    """The timeline's end card from the plan's (PURE): after the last clip, its images with
    their measured sizes; an unreadable image is a problem of its field."""
    card = plan.end_card
    images: dict[str, CardImage] = {}
    for key in ("logo", "image"):
        got = facts.card_images.get(key)
        if isinstance(got, str):
            problems.append(f"end_card.{key}: {echo_path(getattr(card, key))} {got}")
        elif got is not None:
            images[key] = CardImage(path=got[0], width=got[1], height=got[2])
    if facts.card_font is None:
        problems.append("end_card: its font was not looked up")
        return None
    duration_f = max(1, int(round(card.duration_s * plan.fps)))
    from adcut.render.end_card import FADE_IN_S

    return TimelineEndCard(
        start_f=start_f, duration_f=duration_f,
        fade_in_f=min(int(round(FADE_IN_S * plan.fps)), duration_f // 3),
        logo=images.get("logo"), image=images.get("image"), text=card.text, url=card.url,
        background=card.background.upper(), color=card.color.upper(),
        font_file=facts.card_font[0], font_name=facts.card_font[1])


def shot_frames(plan: EditPlan, facts: PlanFacts, i: int) -> int:
    """How many frames shot i lasts (PURE): its natural length (natural_shot_frames), fitted
    with the others so the ad lands on the brief's target duration (adcut.render.length)
    when the plan records a brief with one; the end card's time is part of the target."""
    return fitted_frames(plan, facts)[i]


def fitted_frames(plan: EditPlan, facts: PlanFacts) -> list[int]:
    """Every shot's frames (PURE): natural lengths fitted to the plan's target duration."""
    from adcut.render.length import fit_frames, target_seconds

    n = len(plan.shots)
    natural = [natural_shot_frames(plan, facts, i) for i in range(n)]
    target_s = target_seconds(plan.brief)
    if target_s is None:
        return natural
    fps = plan.fps
    target_s -= plan.end_card.duration_s if plan.end_card is not None else 0.0
    floor, room = [], []
    for i, shot in enumerate(plan.shots):
        spoken = facts.voices[i] if i < len(facts.voices) else None
        src = facts.sources.get(shot.source)
        lo_s = LEAD_IN_S + spoken.duration_s + MIN_BREATH_S if spoken is not None else MIN_SHOT_S
        floor.append(min(natural[i], max(1, int(math.ceil(lo_s * fps)))))
        end_s = min(shot.out_s, src.duration_s) if isinstance(src, SourceFacts) else shot.out_s
        room.append(max(0, int(math.floor((end_s - shot.in_s) * fps))))
    return fit_frames(natural, floor, room, max(1, int(round(target_s * fps))))


def length_notes(plan: EditPlan, facts: PlanFacts, frames: list[int]) -> list[str]:
    """A note when the shots could not be fitted to the target (the voice alone is longer
    than the ad may be)."""
    from adcut.render.length import target_seconds

    target_s = target_seconds(plan.brief)
    if target_s is None:
        return []
    card_s = plan.end_card.duration_s if plan.end_card is not None else 0.0
    total_s = sum(frames) / plan.fps + card_s
    if abs(total_s - target_s) <= 0.5:
        return []
    return [f"length: the ad is {total_s:.1f} s for a target of {target_s:g} s: its voice lines "
            "need that long with the shortest pauses (shorten the script or raise duration_s)"]


def natural_shot_frames(plan: EditPlan, facts: PlanFacts, i: int) -> int:
    """How many frames shot i lasts on its own (PURE): lead-in + its measured voice + a
    breath; a line without voice the time to read it; a shot without a line its whole range."""
    shot = plan.shots[i]
    src = facts.sources.get(shot.source)
    spoken = facts.voices[i] if i < len(facts.voices) else None
    if spoken is not None:
        wanted_s = LEAD_IN_S + spoken.duration_s + BREATH_S
    elif shot.line:  # subtitles only: time to read it
        rate = READ_CHARS_PER_S.get(plan.language.split("-")[0], READ_CHARS_PER_S_DEFAULT)
        wanted_s = max(MIN_SHOT_S, len(shot.line) / rate + BREATH_S)
    else:
        end_s = min(shot.out_s, src.duration_s) if isinstance(src, SourceFacts) else shot.out_s
        wanted_s = end_s - shot.in_s
    return max(1, int(round(max(0.0, wanted_s) * plan.fps)))


def choose_music_loop(duration_s: float, start_s: float,
                      rhythm: MusicRhythm | None) -> MusicLoop | None:
    """Where a track that ends before the ad loops (PURE); None when it is too short to.

    The loop repeats the track's body: the stretch where its level stays within BODY_DROP_DB
    of its median, so a fade-in intro or a fading ending is never what repeats (a plan that
    starts after the body loops over the whole track instead). With a steady beat (8 or more
    beats in the body) the loop runs between two beats a whole number of bars apart, as long
    as possible, so the meter carries on across the seam, and its crossfade (BEAT_CROSSFADE_S)
    ends on the bar line. Without one the whole body loops with a longer crossfade
    (FREE_CROSSFADE_S). A loop spans at least MIN_LOOP_S and ends after `start_s`, where the
    music starts, by at least its crossfade."""
    body_lo, body_hi = 0.0, duration_s
    if rhythm is not None and rhythm.level_db:
        levels = sorted(d for d in rhythm.level_db if d > -90)
        if levels:
            floor = levels[len(levels) // 2] - BODY_DROP_DB
            loud = [t for t, d in zip(rhythm.level_times_s, rhythm.level_db) if d >= floor]
            half_hop = (rhythm.level_times_s[1] - rhythm.level_times_s[0]) / 2 \
                if len(rhythm.level_times_s) > 1 else 0.0
            # inside the first and last loud windows' ends: a fade never reaches the seam
            body_lo = max(0.0, loud[0] + half_hop)
            body_hi = min(duration_s, loud[-1] - half_hop)
    if body_hi < start_s + MIN_LOOP_S or body_hi - body_lo < MIN_LOOP_S:
        body_lo, body_hi = 0.0, duration_s  # the music starts in the outro: loop it all

    beats = [b for b in (rhythm.beats_s if rhythm is not None else ())
             if max(body_lo, BEAT_CROSSFADE_S) <= b <= body_hi]
    if len(beats) >= 2 * BEATS_PER_BAR:
        last = (len(beats) - 1) // BEATS_PER_BAR * BEATS_PER_BAR  # whole bars after beats[0]
        loop_start, loop_end = beats[0], beats[last]
        if loop_end - loop_start >= MIN_LOOP_S and loop_end >= start_s + BEAT_CROSSFADE_S:
            return MusicLoop(start_s=round(loop_start, 4), end_s=round(loop_end, 4),
                             crossfade_s=BEAT_CROSSFADE_S)
    loop_start = max(body_lo, min(FREE_CROSSFADE_S, (body_hi - body_lo) / 4))
    loop_end = body_hi
    crossfade_s = round(min(FREE_CROSSFADE_S, (loop_end - loop_start) / 4, loop_start,
                            loop_end - start_s), 4)
    if loop_end - loop_start < MIN_LOOP_S or crossfade_s < 0.01:
        return None
    return MusicLoop(start_s=round(loop_start, 4), end_s=round(loop_end, 4),
                     crossfade_s=crossfade_s)


def still_motion(src: SourceFacts, duration_s: float) -> dict:
    """TimelineClip fields of a still's shot: read as a picture, with a slow push-in."""
    if not src.still:
        return {}
    return {"still": True,
            "push_in": round(min(STILL_PUSH_IN_MAX, STILL_PUSH_IN_PER_S * duration_s), 4)}


def fit_speed(available_s: float, duration_f: int, fps: int) -> tuple[float, int]:
    """(speed, hold_f) so `available_s` of footage fills `duration_f` frames (PURE)."""
    need_s = duration_f / fps
    if available_s >= need_s:
        return 1.0, 0
    speed = max(MIN_SPEED, available_s / need_s)
    covered_f = int(math.floor(available_s / speed * fps + 1e-6))
    speed = round(speed, 4)
    return speed, max(0, duration_f - covered_f)
