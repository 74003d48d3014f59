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

from pydantic import Field, model_validator

from adcut.core.plan import TRANSITIONS, ClipAudio, Strict

TIMELINE_VERSION = 1


class ResolvedReframe(Strict):
    mode: Literal["crop", "fit-blur"]
    center_x: float = Field(0.5, ge=0, le=1)
    center_y: float = Field(0.5, ge=0, le=1)


class TimelineClip(Strict):
    source: str
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
    clip_id: str | None = None

    @property
    def end_f(self) -> int:
        return self.start_f + self.duration_f


class Transition(Strict):
    kind: str
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
    text: str
    start_f: int = Field(ge=0)
    end_f: int = Field(ge=0)


class VoiceCue(Strict):
    path: str = Field(description="the synthesised line (WAV)")
    start_f: int = Field(ge=0)
    duration_f: int = Field(gt=0)
    text: str
    clip: int = Field(ge=0, description="the clip this line is spoken over")


class CaptionCue(Strict):
    start_f: int = Field(ge=0)
    end_f: int = Field(gt=0)
    text: str = Field(min_length=1)
    lines: list[str] = Field(default_factory=list, description="the text as wrapped on screen")
    words: list[Word] = Field(default_factory=list)


class Duck(Strict):
    depth_db: float = Field(12.0, ge=0, le=40)
    attack_ms: float = Field(30.0, gt=0)
    release_ms: float = Field(400.0, gt=0)


class MusicCue(Strict):
    path: str
    source_start_s: float = Field(ge=0)
    start_f: int = Field(0, ge=0)
    duration_f: int = Field(gt=0)
    gain_db: float = -6.0
    fade_in_f: int = Field(0, ge=0)
    fade_out_f: int = Field(0, ge=0)
    duck: Duck | None = Field(default_factory=Duck)
    track_id: str | None = None


class SubtitleLayout(Strict):
    font_file: str
    font_name: str
    size_px: int = Field(gt=0)
    margin_v_px: int = Field(ge=0, description="distance from the frame edge (safe zone)")
    margin_h_px: int = Field(ge=0)
    alignment: Literal["bottom", "middle", "top"] = "bottom"
    color: str = "FFFFFF"
    outline_color: str = "000000"


class Timeline(Strict):
    kind: Literal["adcut.Timeline"] = "adcut.Timeline"
    version: Literal[1] = TIMELINE_VERSION
    fps: int = Field(ge=1, le=120, description="the timebase: every *_f field counts 1/fps s")
    width: int = Field(gt=0, multiple_of=2)
    height: int = Field(gt=0, multiple_of=2)
    duration_f: int = Field(gt=0)
    clips: list[TimelineClip] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)
    voice: list[VoiceCue] = Field(default_factory=list)
    captions: list[CaptionCue] = Field(default_factory=list)
    subtitles: SubtitleLayout | None = None
    music: MusicCue | None = None
    clip_audio_mix_db: float = Field(-14.0, description="level of original sound in 'mix' mode")
    loudness_lufs: float = -14.0
    true_peak_dbtp: float = -1.0
    language: str = "en"
    notes: list[str] = Field(default_factory=list, description="what the compiler decided and why")
    metadata: dict = Field(default_factory=dict, description="free-form: planner, brief, plan hash")

    @model_validator(mode="after")
    def _consistent(self) -> Timeline:
        problems: list[str] = []
        expected = 0
        for i, clip in enumerate(self.clips):
            if clip.start_f != expected:
                problems.append(f"clips[{i}].start_f is {clip.start_f}, expected {expected} "
                                "(clips are back to back)")
            expected = clip.start_f + clip.duration_f
        if expected != self.duration_f:
            problems.append(f"duration_f is {self.duration_f} but the clips add up to {expected}")
        seen: set[int] = set()
        for i, t in enumerate(self.transitions):
            where = f"transitions[{i}]"
            if t.kind not in TRANSITIONS or t.kind == "cut":
                problems.append(f"{where}.kind {t.kind!r} is not an xfade transition")
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
            raise ValueError("; ".join(problems))
        return self

    @property
    def duration_s(self) -> float:
        return self.duration_f / self.fps
