"""EditPlan: the decisions of an edit (small, diffable, hand-editable).

Which clips in which order with in/out points, the script line over each, the music track and
window, the format, the style, and which planner made it. `adcut render` compiles a plan into a
Timeline (the exact result) and renders that.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adcut.core.validation import echo

PLAN_VERSION = 1

# Lengths a hand-edited document may not exceed: generous for real use, and small enough that
# a runaway value (a 100,000-character line) is refused with one line instead of reaching the
# voice model or the subtitle renderer.
MAX_LINE_CHARS = 500  # one script line, spoken over one shot (about 30 s of speech)
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_NAME_CHARS = 200  # ids, names of planners, voices and fonts
MAX_SHOTS = 200  # an ad of at most 180 s
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$"  # BCP 47: en, zh, pt-BR, zh-Hant

# Output sizes per aspect (the platforms' native sizes).
ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "16:9": (1920, 1080),
    "4:5": (1080, 1350),
}

# ffmpeg xfade transition names adcut offers, plus "cut" (no transition).
TRANSITIONS = frozenset({
    "cut", "fade", "fadeblack", "fadewhite", "dissolve", "distance",
    "wipeleft", "wiperight", "wipeup", "wipedown",
    "slideleft", "slideright", "slideup", "slidedown",
    "smoothleft", "smoothright", "smoothup", "smoothdown",
    "circleopen", "circleclose", "circlecrop", "rectcrop",
    "zoomin", "radial", "pixelize", "hblur",
    "squeezeh", "squeezev", "coverleft", "coverright", "revealleft", "revealright",
})

ClipAudio = Literal["mute", "mix", "keep"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a hand-edited file must not be silently ignored.
    NaN and infinity are errors too: every comparison with NaN is false, so a bound such as
    `le=180` would otherwise be reported as the problem, or not caught at all."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class Reframe(Strict):
    """How a source of another aspect fills the frame. Never a stretch."""

    mode: Literal["auto", "crop", "fit-blur"] = Field(
        "auto", description="auto: crop around the salient region unless that would cut the "
                            "subject, then fit over a blurred copy")
    center_x: float | None = Field(None, ge=0, le=1,
                                   description="crop centre as a fraction of the source width; "
                                               "empty = computed from the frames")
    center_y: float | None = Field(None, ge=0, le=1)


# A box of on-screen text, [x0, y0, x1, y1] as fractions (0-1) of the source frame.
TextBox = Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=4, max_length=4)]
MAX_TEXT_BOXES = 50


class PlanShot(Strict):
    clip_id: str | None = Field(None, max_length=MAX_NAME_CHARS,
                                description="library clip id, if the shot came from one")
    source: str = Field(min_length=1, max_length=MAX_PATH_CHARS,
                        description="path of the footage file")
    in_s: float = Field(ge=0, description="first second of the source used")
    out_s: float = Field(gt=0, description="end of the range used; the rendered shot is fitted "
                                           "to its voice line, trimming or holding the range")
    line: str | None = Field(None, max_length=MAX_LINE_CHARS,
                             description="script line spoken and subtitled over this shot; "
                                         "leave it out for a shot without voice")
    spoken: str | None = Field(None, max_length=MAX_LINE_CHARS,
                               description="what the voice says when it differs from the line "
                                           "shown (a brand's pronunciation, a URL or a price "
                                           "read out); empty = the line")
    transition: str = Field("cut", max_length=MAX_NAME_CHARS,
                            description="transition into the next shot: cut or an xfade name "
                                        "(fade, slideleft, wipeup, zoomin...)")
    transition_s: float = Field(0.4, gt=0, le=2.0)
    reframe: Reframe = Field(default_factory=Reframe)
    clip_audio: ClipAudio | None = Field(None, description="original sound of this shot; "
                                                           "empty = the plan's clip_audio")
    text_boxes: list[TextBox] = Field(
        default_factory=list, max_length=MAX_TEXT_BOXES,
        description="text on screen in the source (read at ingest): [x0, y0, x1, y1] as "
                    "fractions of the source frame; reframing keeps them whole and captions "
                    "avoid them")

    @field_validator("transition")
    @classmethod
    def _known_transition(cls, value: str) -> str:
        if value not in TRANSITIONS:
            import difflib

            close = difflib.get_close_matches(value, sorted(TRANSITIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown transition {echo(value)}{hint}")
        return value

    @field_validator("line")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("empty script line; leave 'line' out for a shot without voice")
        return None if value is None else " ".join(value.split())

    @model_validator(mode="after")
    def _range(self) -> PlanShot:
        if self.out_s <= self.in_s:
            raise ValueError(f"out_s ({self.out_s}) must be after in_s ({self.in_s})")
        return self


class PlanMusic(Strict):
    source: str = Field(min_length=1, max_length=MAX_PATH_CHARS, description="path of the music file")
    track_id: str | None = Field(None, max_length=MAX_NAME_CHARS)
    start_s: float = Field(0.0, ge=0, description="where in the track the ad's music starts; "
                                                   "a track that ends before the ad loops back "
                                                   "at a bar boundary")
    gain_db: float = Field(-6.0, ge=-40, le=12, description="music level relative to the voice "
                                                           "before ducking and normalisation")
    fade_in_s: float = Field(0.5, ge=0, le=10)
    fade_out_s: float = Field(1.5, ge=0, le=10)
    duck: bool = Field(True, description="lower the music while the voice speaks")
    duck_db: float = Field(12.0, ge=0, le=40, description="how far the music dips under speech")


class PlanVoice(Strict):
    engine: str = Field("hibari", max_length=MAX_NAME_CHARS,
                        description="TTS engine: hibari | piper | none")
    voice: str | None = Field(None, max_length=MAX_PATH_CHARS,
                              description="engine-specific voice name or model path")
    speed: float = Field(1.0, ge=0.5, le=2.0)


class SubtitleStyle(Strict):
    enabled: bool = True
    font_file: str | None = Field(None, max_length=MAX_PATH_CHARS,
                                  description="font file; empty = Noto Sans CJK (bundled)")
    font_name: str | None = Field(None, max_length=MAX_NAME_CHARS,
                                  description="family name inside font_file")
    preset: Literal["bold-outline", "boxed", "word-highlight"] = Field(
        "bold-outline", description="bold-outline: bold white text with a dark outline; boxed: "
                                    "bold text on a dark box; word-highlight: bold outlined "
                                    "text, the word being spoken in highlight_color")
    size_short_side_pct: float = Field(
        7.5, ge=2.5, le=22, description="font size, % of the frame's shorter side (the same "
                                        "size on a phone at 9:16, 1:1 and 16:9)")
    position: Literal["bottom", "middle", "top"] = Field(
        "bottom", description="where captions go; a caption over on-screen text moves to the "
                              "band it covers least")
    max_lines: int = Field(2, ge=1, le=4)
    color: str = Field("FFFFFF", pattern=r"^[0-9A-Fa-f]{6}$")
    outline_color: str = Field("000000", pattern=r"^[0-9A-Fa-f]{6}$")
    highlight_color: str = Field("FFD23F", pattern=r"^[0-9A-Fa-f]{6}$",
                                 description="word-highlight: the word being spoken")


class EndCard(Strict):
    """The last seconds of the ad: the logo or product image, the call to action and the URL
    on the brand's colours, drawn by the renderer."""

    duration_s: float = Field(2.5, ge=1.0, le=10.0)
    logo: str | None = Field(None, max_length=MAX_PATH_CHARS, description="logo image file")
    image: str | None = Field(None, max_length=MAX_PATH_CHARS,
                              description="product image file (packshot)")
    text: str | None = Field(None, max_length=200, description="the call to action shown")
    url: str | None = Field(None, max_length=200)
    background: str = Field("#000000", pattern=r"^#[0-9A-Fa-f]{6}$")
    color: str = Field("#FFFFFF", pattern=r"^#[0-9A-Fa-f]{6}$", description="text colour")


class EditPlan(Strict):
    kind: Literal["adcut.EditPlan"] = "adcut.EditPlan"
    version: Literal[1] = PLAN_VERSION
    aspect: Literal["9:16", "1:1", "16:9", "4:5"] = "9:16"
    fps: int = Field(30, ge=1, le=120)
    language: str = Field("en", max_length=35, pattern=LANGUAGE_PATTERN,
                          description="language of the script lines (BCP 47, e.g. en, zh)")
    shots: list[PlanShot] = Field(min_length=1, max_length=MAX_SHOTS)
    music: PlanMusic | None = None
    voice: PlanVoice = Field(default_factory=PlanVoice)
    subtitles: SubtitleStyle = Field(default_factory=SubtitleStyle)
    end_card: EndCard | None = Field(None, description="drawn after the last shot; empty = none")
    clip_audio: ClipAudio = Field("mute", description="original sound of the footage: mute, "
                                                       "mix (under the voice) or keep")
    loudness_lufs: float = Field(-14.0, ge=-40, le=-5)
    true_peak_dbtp: float = Field(-1.0, ge=-9, le=0)
    planner: str = Field("manual", max_length=MAX_NAME_CHARS, description="what made this plan")
    brief: str | None = Field(None, max_length=20000,
                              description="the brief it answers, for the record")
    seed: int | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _caption_size_in_height_pct(cls, data: object) -> object:
        """Plans written before caption sizes followed the frame's shorter side give
        `subtitles.size_pct`, a % of the frame height: it is converted, so such a plan renders
        its captions at the size it always had."""
        if not isinstance(data, dict) or not isinstance(data.get("subtitles"), dict):
            return data
        subtitles = dict(data["subtitles"])
        old = subtitles.pop("size_pct", None)
        if old is None:
            return data
        width, height = ASPECTS.get(data.get("aspect", "9:16"), ASPECTS["9:16"])
        if isinstance(old, (int, float)) and "size_short_side_pct" not in subtitles:
            subtitles["size_short_side_pct"] = round(old * height / min(width, height), 3)
        return {**data, "subtitles": subtitles}

    @property
    def size(self) -> tuple[int, int]:
        return ASPECTS[self.aspect]
