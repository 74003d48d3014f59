"""Timeline: the exact result of an edit, in integer frames of a declared frame rate.

Clips sit back to back on one video track (clip i starts where clip i-1 ends). A transition is
stored apart from the clips it overlaps and is centred on their cut, like OpenTimelineIO's: it
borrows `duration_f // 2` frames of handle before the incoming clip's first frame and the rest
after the outgoing clip's last frame, so the track's length never changes. Voice-over and
caption times are measured from the synthesised audio. Rendering reads only this document, so
a hand-edited timeline renders too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from adcut.core.plan import (LANGUAGE_PATTERN, MAX_LINE_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS,
                             MAX_TEXT_BOXES, TRANSITIONS, ClipAudio, Strict, TextBox)
from adcut.core.validation import MAX_PROBLEMS, echo

TIMELINE_VERSION = 1
CaptionPreset = Literal["bold-outline", "boxed", "word-highlight"]
# Output sizes the renderer makes: x264 refuses sides over 16384 here and needs 6 GB of memory
# for 8192x8192; 4096 covers 4K in both orientations (2160x3840 renders in about 0.9 GB).
# Below 16 px the scaler and the blurred fit background have nothing left to work with.
MIN_SIDE_PX = 16
MAX_SIDE_PX = 4096
# Output aspects within 1:4..4:1 (every ad format, 9:16 to 32:9): cropping a source to a
# thinner frame would leave less than a pixel of it.
MAX_ASPECT = 4.0


class ResolvedReframe(Strict):
    mode: Literal["crop", "fit-blur"]
    center_x: float = Field(0.5, ge=0, le=1)
    center_y: float = Field(0.5, ge=0, le=1)
    zoom: float = Field(1.0, ge=1, le=8,
                        description="fit-blur: the picture magnified this much beyond fitting "
                                    "the frame and cropped to it around the centre (a small "
                                    "source fills more of the frame without being blown up "
                                    "past what it can show); 1 = the whole picture")


class TimelineClip(Strict):
    source: str = Field(min_length=1, max_length=MAX_PATH_CHARS)
    source_width: int = Field(gt=0, description="display size of the source (after rotation)")
    source_height: int = Field(gt=0)
    source_has_audio: bool = False
    source_in_s: float = Field(ge=0, description="source time shown at the clip's first frame")
    speed: float = Field(1.0, gt=0, le=4, description="below 1 slows a clip that is shorter "
                                                      "than its voice line")
    hold_f: int = Field(0, ge=0, description="frames frozen on the last image at the end")
    start_f: int = Field(ge=0)
    duration_f: int = Field(gt=0)
    reframe: ResolvedReframe
    audio: ClipAudio = "mute"
    clip_id: str | None = Field(None, max_length=MAX_NAME_CHARS)
    text_boxes: list[TextBox] = Field(
        default_factory=list, max_length=MAX_TEXT_BOXES,
        description="keep-clear boxes: text on screen in the source, [x0, y0, x1, y1] as "
                    "fractions of the source frame (not of the output): a crop should keep them "
                    "whole and captions should not cover them")
    still: bool = Field(False, description="the source is a still image: read as a looped "
                                           "picture, with no end (see push_in for its motion)")
    push_in: float = Field(0.0, ge=0, le=0.5,
                           description="a slow push-in over the clip: its last frame is this "
                                       "much closer than its first (0.06 = 6 %), so a static "
                                       "shot moves; 0 = none")

    @property
    def end_f(self) -> int:
        return self.start_f + self.duration_f


class Transition(Strict):
    kind: str = Field(max_length=MAX_NAME_CHARS)
    after_clip: int = Field(ge=0, description="between clips[after_clip] and the next one")
    duration_f: int = Field(ge=2)

    @property
    def head_f(self) -> int:
        """Frames borrowed before the incoming clip's first frame."""
        return self.duration_f // 2

    @property
    def tail_f(self) -> int:
        """Frames borrowed after the outgoing clip's last frame."""
        return self.duration_f - self.duration_f // 2


class Word(Strict):
    text: str = Field(max_length=MAX_LINE_CHARS)
    start_f: int = Field(ge=0)
    end_f: int = Field(ge=0)


class VoiceCue(Strict):
    path: str = Field(min_length=1, max_length=MAX_PATH_CHARS, description="the synthesised line (WAV)")
    start_f: int = Field(ge=0)
    duration_f: int = Field(gt=0)
    text: str = Field(max_length=MAX_LINE_CHARS)
    clip: int = Field(ge=0, description="the clip this line is spoken over")


class CaptionCue(Strict):
    start_f: int = Field(ge=0)
    end_f: int = Field(gt=0)
    text: str = Field(min_length=1, max_length=MAX_LINE_CHARS)
    lines: list[str] = Field(default_factory=list, max_length=20,
                             description="the text as wrapped on screen")
    words: list[Word] = Field(default_factory=list)
    position: Literal["bottom", "middle", "top"] | None = Field(
        None, description="where this cue sits when not where the layout says (moved off "
                          "on-screen text); empty = subtitles.alignment")


class Duck(Strict):
    """The music dips under each voice line: down by `depth_db` over the `attack_ms` before the
    line starts, back up over the `release_ms` after it ends (lines closer together than both
    ramps and 0.4 s keep it down between them)."""

    depth_db: float = Field(12.0, ge=0, le=40)
    attack_ms: float = Field(200.0, ge=0.01, le=2000,
                             description="ramp down, ending where a line starts")
    release_ms: float = Field(300.0, ge=0.01, le=9000,
                              description="ramp back up, starting where a line ends")


class MusicLoop(Strict):
    """A track shorter than the ad is looped: on reaching `end_s` the music goes on from
    `start_s` (a whole number of bars earlier when the beats are known, so the beat never
    stumbles), crossfading over the `crossfade_s` before each of those two points."""

    start_s: float = Field(gt=0, description="where each repeat lands in the track")
    end_s: float = Field(gt=0, description="where the track is left for the repeat")
    crossfade_s: float = Field(gt=0, le=2.0)

    @model_validator(mode="after")
    def _order(self) -> MusicLoop:
        if self.end_s - self.start_s < 2 * self.crossfade_s:
            raise ValueError(f"the loop {self.start_s}..{self.end_s} s is shorter than twice its "
                             f"crossfade ({self.crossfade_s} s)")
        if self.start_s < self.crossfade_s:
            raise ValueError(f"start_s {self.start_s} leaves no room before it for the "
                             f"crossfade ({self.crossfade_s} s)")
        return self


class MusicCue(Strict):
    path: str = Field(min_length=1, max_length=MAX_PATH_CHARS)
    source_start_s: float = Field(ge=0)
    start_f: int = Field(0, ge=0)
    duration_f: int = Field(gt=0)
    gain_db: float = Field(-6.0, ge=-60, le=24)
    fade_in_f: int = Field(0, ge=0)
    fade_out_f: int = Field(0, ge=0)
    duck: Duck | None = Field(default_factory=Duck)
    track_id: str | None = Field(None, max_length=MAX_NAME_CHARS)
    loop: MusicLoop | None = Field(None, description="how a track shorter than the ad repeats; "
                                                     "empty = played once")

    @model_validator(mode="after")
    def _loop_after_start(self) -> MusicCue:
        if self.loop is not None and self.loop.end_s - self.source_start_s < self.loop.crossfade_s:
            raise ValueError(f"loop.end_s {self.loop.end_s} is not after source_start_s "
                             f"{self.source_start_s} by its crossfade at least")
        return self

    def pieces_s(self, fps: int) -> list[tuple[float, float]]:
        """The stretches of the track heard one after the other, as (source in, source out)
        seconds, adding up to the cue: one when the music plays once; with a loop, the first
        from source_start_s to loop.end_s, each repeat from loop.start_s to loop.end_s, the last
        cut where the cue ends. A repeat fades in over the loop.crossfade_s of track before its
        start while the stretch before it fades out over its last crossfade_s, so each seam lies
        exactly on loop.start_s and the repeats keep the track's beat."""
        need_s = self.duration_f / fps
        if self.loop is None:
            return [(self.source_start_s, self.source_start_s + need_s)]
        pieces: list[tuple[float, float]] = []
        at_s, heard_s = self.source_start_s, 0.0
        while need_s - heard_s > 1e-9:
            take_s = min(self.loop.end_s - at_s, need_s - heard_s)
            pieces.append((at_s, at_s + take_s))
            heard_s += take_s
            at_s = self.loop.start_s
        return pieces


class SubtitleLayout(Strict):
    font_file: str = Field(min_length=1, max_length=MAX_PATH_CHARS)
    font_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^[^,\n\r]*$",
                           description="family name (no commas: ASS style lines are comma-separated)")
    size_px: int = Field(gt=0, le=MAX_SIDE_PX)
    margin_v_px: int = Field(ge=0, le=MAX_SIDE_PX, description="distance from the frame edge (safe zone)")
    margin_h_px: int = Field(ge=0, le=MAX_SIDE_PX)
    alignment: Literal["bottom", "middle", "top"] = "bottom"
    color: str = Field("FFFFFF", pattern=r"^[0-9A-Fa-f]{6}$")
    outline_color: str = Field("000000", pattern=r"^[0-9A-Fa-f]{6}$")
    preset: CaptionPreset = "bold-outline"
    highlight_color: str = Field("FFD23F", pattern=r"^[0-9A-Fa-f]{6}$",
                                 description="word-highlight: the colour of the word being "
                                             "spoken")
    box_color: str = Field("000000", pattern=r"^[0-9A-Fa-f]{6}$",
                           description="boxed: the colour of the box behind the text")


class CardImage(Strict):
    path: str = Field(min_length=1, max_length=MAX_PATH_CHARS)
    width: int = Field(gt=0, description="size of the image file in pixels")
    height: int = Field(gt=0)


class TimelineEndCard(Strict):
    """The ad's last seconds, drawn by the renderer after the last clip: the logo and/or the
    product image scaled to fit, the call to action and the URL in the brand's colours."""

    start_f: int = Field(ge=0, description="where the last clip ends")
    duration_f: int = Field(gt=0)
    fade_in_f: int = Field(0, ge=0, description="the images and text fade in over the colour")
    logo: CardImage | None = None
    image: CardImage | None = None
    text: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=200)
    background: str = Field("#000000", pattern=r"^#[0-9A-Fa-f]{6}$")
    color: str = Field("#FFFFFF", pattern=r"^#[0-9A-Fa-f]{6}$")
    font_file: str = Field(min_length=1, max_length=MAX_PATH_CHARS)
    font_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^[^,\n\r]*$")

    @property
    def end_f(self) -> int:
        return self.start_f + self.duration_f


class Timeline(Strict):
    kind: Literal["adcut.Timeline"] = "adcut.Timeline"
    version: Literal[1] = TIMELINE_VERSION
    fps: int = Field(ge=1, le=120, description="the timebase: every *_f field counts 1/fps s")
    width: int = Field(ge=MIN_SIDE_PX, le=MAX_SIDE_PX, multiple_of=2,
                       description="output size in pixels: even, 16..4096")
    height: int = Field(ge=MIN_SIDE_PX, le=MAX_SIDE_PX, multiple_of=2)
    duration_f: int = Field(gt=0)
    clips: list[TimelineClip] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)
    voice: list[VoiceCue] = Field(default_factory=list)
    captions: list[CaptionCue] = Field(default_factory=list)
    subtitles: SubtitleLayout | None = None
    music: MusicCue | None = None
    end_card: TimelineEndCard | None = Field(None, description="drawn after the last clip; empty = none")
    clip_audio_mix_db: float = Field(-14.0, ge=-60, le=12,
                                     description="level of original sound in 'mix' mode")
    loudness_lufs: float = Field(-14.0, ge=-40, le=-5)
    true_peak_dbtp: float = Field(-1.0, ge=-9, le=0)
    language: str = Field("en", max_length=35, pattern=LANGUAGE_PATTERN)
    notes: list[str] = Field(default_factory=list, description="what the compiler decided and why")
    metadata: dict = Field(default_factory=dict, description="free-form: planner, brief, plan hash")

    @field_validator("width", "height", mode="before")
    @classmethod
    def _side(cls, value: object) -> object:
        """One message with the whole rule (pydantic would report one bound at a time)."""
        if isinstance(value, int) and not isinstance(value, bool) and not (
                MIN_SIDE_PX <= value <= MAX_SIDE_PX and value % 2 == 0):
            raise ValueError(f"{value} px: must be an even number of pixels from {MIN_SIDE_PX} "
                             f"to {MAX_SIDE_PX}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Timeline:
        problems: list[str] = []
        if max(self.width, self.height) > MAX_ASPECT * min(self.width, self.height):
            problems.append(f"width x height: {self.width}x{self.height} is thinner than 1:4; "
                            "the renderer makes aspects from 1:4 to 4:1")
        expected = 0
        for i, clip in enumerate(self.clips):
            if clip.start_f != expected:
                problems.append(f"clips[{i}].start_f is {clip.start_f}, expected {expected} "
                                "(clips are back to back)")
            expected = clip.start_f + clip.duration_f
        card = self.end_card
        if card is not None and card.start_f != expected:
            problems.append(f"end_card.start_f is {card.start_f}, expected {expected} (where "
                            "the last clip ends)")
        if card is not None and card.end_f != self.duration_f:
            problems.append(f"duration_f is {self.duration_f} but the clips and the end card "
                            f"add up to {card.end_f}")
        elif card is None and expected != self.duration_f:
            problems.append(f"duration_f is {self.duration_f} but the clips add up to {expected}")
        seen: set[int] = set()
        for i, t in enumerate(self.transitions):
            where = f"transitions[{i}]"
            if t.kind not in TRANSITIONS or t.kind == "cut":
                problems.append(f"{where}.kind {echo(t.kind)} is not an xfade transition")
            if t.after_clip >= len(self.clips) - 1:
                problems.append(f"{where}.after_clip {t.after_clip} has no next clip")
                continue
            if t.after_clip in seen:
                problems.append(f"{where}: two transitions after clip {t.after_clip}")
            seen.add(t.after_clip)
            a, b = self.clips[t.after_clip], self.clips[t.after_clip + 1]
            if t.tail_f > a.duration_f or t.head_f > b.duration_f:
                problems.append(f"{where}.duration_f {t.duration_f} is longer than the clips it "
                                "joins allow")
        for name, cues in (("voice", self.voice), ("captions", self.captions)):
            for i, cue in enumerate(cues):
                end = cue.start_f + cue.duration_f if name == "voice" else cue.end_f
                if end > self.duration_f or end <= cue.start_f:
                    problems.append(f"{name}[{i}] ends at frame {end}, outside 0..{self.duration_f}")
        if self.music is not None and self.music.start_f + self.music.duration_f > self.duration_f:
            problems.append("music ends after the timeline")
        if problems:
            more = len(problems) - MAX_PROBLEMS
            raise ValueError("; ".join(problems[:MAX_PROBLEMS])
                             + (f"; and {more} more problems" if more > 0 else ""))
        return self

    @property
    def duration_s(self) -> float:
        return self.duration_f / self.fps
