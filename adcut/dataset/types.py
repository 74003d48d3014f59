"""What the dataset builder knows about one finished ad, in plain data.

`AdAnalysis` is the result of the expensive per-ad work (decode, speech recognition, frame
and music embeddings); it is stored per ad (JSON beside an .npz of its vectors) so a re-run
skips finished ads. `TokenisedAd` is the same ad once its vectors have become RQ-VAE codes:
everything the sample writers need, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adcut.tasks.types import Product


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Sentence:
    """One spoken sentence of the voice-over, with its time span in the ad."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Clip:
    """A stretch of the ad as the paper cuts it: one spoken sentence and the 1 fps frames
    inside its span (`text` set), the frames between sentences (`text` None: video-only), or
    a sentence too short to own a whole second (`frame_seconds` empty: text-only).
    `frame_seconds[i]` is the second of the ad whose frame is the clip's i-th frame."""

    start_s: float
    end_s: float
    text: str | None
    frame_seconds: list[int]
    shot_starts_s: list[float] = field(default_factory=list)  # shot cuts inside the span


@dataclass(frozen=True)
class Music:
    """The ad's background music: the windows it was measured on and how it was found."""

    seconds: list[tuple[float, float]]  # stretches (start_s, end_s) the vector averages
    method: str  # "no-speech stretches" or a separator's name


@dataclass(frozen=True)
class AdAnalysis:
    """Everything measured on one ad; vectors live beside it (frames: (n_seconds, d) with
    row k the frame at second k; music: (d,) or absent)."""

    key: str  # unique in the corpus; seeds every random choice about this ad
    source: str  # path of the video as given
    sha256: str
    duration_s: float
    language: str  # "zh" or "en"
    words: list[Word]
    sentences: list[Sentence]
    clips: list[Clip]
    product: Product | None
    product_source: str  # "sidecar", "products.csv", "llm" or "none"
    music: Music | None
    notes: dict[str, str] = field(default_factory=dict)  # what was left out, and why


@dataclass(frozen=True)
class TokenisedClip:
    text: str | None
    codes: np.ndarray | None  # (frames, levels) video codes; None for a text-only clip


@dataclass(frozen=True)
class TokenisedAd:
    key: str
    language: str
    product: Product | None
    clips: list[TokenisedClip]
    track_codes: np.ndarray | None  # (levels,) audio codes; None without music
