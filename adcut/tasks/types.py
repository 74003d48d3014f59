"""The task objects every planner consumes: one per paper task (AutoCut section 5.3).

They hold only what a prompt shows a model: product information, script lines and the
candidate clips as the chosen track presents them. Gold answers, stored model outputs and ad
identities never live here, so a planner handed a task cannot peek.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The four task names, spelled as in the AutoCut release files (`task` field).
TASK_SELECT = "vid_select"
TASK_SORT = "vid_sort"
TASK_SCRIPT = "vid2text"
TASK_MUSIC = "vid2aud"
TASK_NAMES = (TASK_SELECT, TASK_SORT, TASK_SCRIPT, TASK_MUSIC)

# How clips are shown to a model. "caption": one text description per clip (the paper's
# Qwen3-8B caption baseline); "image": a bracketed representative-frame id per clip, the
# picture itself travelling beside the prompt (the GPT-4o baseline); "tokens": RQ-VAE
# video tokens (the AutoCut model).
TRACK_CAPTION = "caption"
TRACK_IMAGE = "image"
TRACK_TOKENS = "tokens"
TRACKS = (TRACK_CAPTION, TRACK_IMAGE, TRACK_TOKENS)


@dataclass(frozen=True)
class Product:
    """What the ad sells. `selling_points_text` keeps the verbatim form a released prompt
    used when it is not the canonical rendering of `selling_points` (a Python list literal,
    or 无 when there are none), so parsed prompts rebuild byte for byte; leave it None."""

    name: str
    brand: str
    selling_points: list[str] = field(default_factory=list)
    selling_points_text: str | None = None


@dataclass(frozen=True)
class ClipRef:
    """One candidate clip as a prompt shows it; `number` is the 1-based number in the prompt.

    Exactly the field of the track in use needs to be set: `caption` (caption track; None
    shows the paper's no-caption placeholder), `frame_ids` (image track: the frame id(s)
    shown in brackets; empty shows the paper's no-frame placeholder) or `tokens` (tokens
    track: the raw `<|clip_start|>...<|clip_end|>` text, without script text).
    """

    number: int
    caption: str | None = None
    frame_ids: list[str] = field(default_factory=list)
    tokens: str | None = None

    @property
    def codes(self):
        """(frames, 8) int64 RQ-VAE codes parsed (strictly) from `tokens`; (0, 8) without
        tokens. Raises adcut.tokens.vocab.TokenFormatError on a malformed token text."""
        from adcut.tokens.vocab import clip_codes

        return clip_codes(self)


@dataclass(frozen=True)
class SelectTask:
    """Pick the `n_select` clips of the pool that belong to the script (order ignored)."""

    product: Product
    script_lines: list[str]
    clips: list[ClipRef]
    n_select: int


@dataclass(frozen=True)
class SortTask:
    """Order all clips so that the i-th chosen clip goes with script line i."""

    product: Product
    script_lines: list[str]
    clips: list[ClipRef]


@dataclass(frozen=True)
class ScriptTask:
    """Write one script line per clip; `clips` are in their true (final) order."""

    product: Product
    clips: list[ClipRef]


@dataclass(frozen=True)
class AudioCandidate:
    """One music track a text-only planner may choose; `number` is 1-based as shown.
    `description` is what a text prompt shows (tags, tempo, mood); `tokens` keeps the track's
    8 `<a_l_c>` tokens where known, for matching a generated answer back to the library."""

    number: int
    description: str | None = None
    tokens: str | None = None


@dataclass(frozen=True)
class MusicTask:
    """Background music for the finished edit: script line i is spoken over clip i.

    With no `audio_candidates` this is the paper's vid2aud task (tokens track): the answer
    is 8 audio tokens, matched to a library track afterwards by nearest neighbour. With
    candidates it is adcut's text-only variant: the answer is one candidate's number.
    """

    product: Product
    script_lines: list[str]
    clips: list[ClipRef]
    audio_candidates: list[AudioCandidate] = field(default_factory=list)


Task = SelectTask | SortTask | ScriptTask | MusicTask


def task_name(task: Task) -> str:
    """The release-format name of a task object."""
    if isinstance(task, SelectTask):
        return TASK_SELECT
    if isinstance(task, SortTask):
        return TASK_SORT
    if isinstance(task, ScriptTask):
        return TASK_SCRIPT
    if isinstance(task, MusicTask):
        return TASK_MUSIC
    raise TypeError(f"not a task object: {type(task).__name__}")
