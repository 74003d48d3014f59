"""One interface for the four AutoCut tasks, so the zero-shot planner, an LLM planner and the
trained adcut model are interchangeable and scored by the same code.

A planner sees only a task object (adcut.tasks.types): product, script lines and candidate
clips as a prompt would show them. `Hints` optionally carries what a real library knows about
the same candidates (embeddings, durations), keyed by the clip's prompt number; benchmark
adapters pass none.

A planner that reads clips as RQ-VAE tokens says so with attributes, not a type the caller
must know: `video_tokenizer` / `audio_tokenizer` (adcut.tokens.tokenizer.Tokenizer, or None)
and optionally `tokenizer_ids` (modality -> the id a library stores that tokenizer's codes
under). `adcut edit` then fills each ClipRef's `tokens` (beside its caption) and each
AudioCandidate's `tokens` with that planner's own tokenizers (adcut.planner.edit.library_tokens);
a planner without them is handed exactly the caption-only tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from adcut.tasks.types import MusicTask, ScriptTask, SelectTask, SortTask


@dataclass(frozen=True)
class ClipHints:
    duration_s: float | None = None
    vision: np.ndarray | None = None  # L2-normalised vision embedding of the clip
    has_speech: bool = False
    language: str | None = None
    product: float | None = None  # 0..1: how clearly the clip looks like the brief's product images


@dataclass(frozen=True)
class TrackHints:
    duration_s: float
    tempo_bpm: float = 0.0
    integrated_lufs: float | None = None
    tags: list[tuple[str, float]] = field(default_factory=list)  # AudioSet class, score


@dataclass(frozen=True)
class Hints:
    clips: dict[int, ClipHints] = field(default_factory=dict)
    tracks: dict[int, TrackHints] = field(default_factory=dict)
    target_duration_s: float | None = None
    tone: str | None = None  # e.g. energetic, calm, premium, playful, warm
    description: str | None = None  # the brief's free text
    call_to_action: str | None = None
    language: str = "en"
    seed: int = 0
    price: str | None = None  # the brief's price, offer and URL: what a line may state
    offer: str | None = None
    url: str | None = None
    silent_shots: bool = False  # a shot may have no line once the brief has been said


@dataclass(frozen=True)
class Decision:
    """A planner's answer: `value` as the task's parser would return it, plus why."""

    value: list[int] | list[str] | int
    explanation: list[str] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # per clip/track number, when known


class Planner(Protocol):
    name: str

    def select(self, task: SelectTask, hints: Hints | None = None) -> Decision:
        """`value`: the chosen clip numbers (task.n_select of them)."""

    def order(self, task: SortTask, hints: Hints | None = None) -> Decision:
        """`value`: a permutation of the clip numbers; the i-th goes with script line i."""

    def write(self, task: ScriptTask, hints: Hints | None = None) -> Decision:
        """`value`: one script line per clip, in the clips' order."""

    def music(self, task: MusicTask, hints: Hints | None = None) -> Decision:
        """`value`: the number of the chosen candidate track."""
