"""The synthetic world: ads made of embedding vectors and English words, tied by hidden rules a
model can learn and a zero-shot planner cannot read.

Pure: `build_world(WorldConfig)` returns the whole world as data, the same for the same
config on any machine (numpy's PCG64 generator, one seeded stream per purpose and per ad, so
adding ads never changes the ones before them).

The rules (vocabulary in adcut.eval.synthetic.rules):
- Vectors. Every category, shot type and attribute has a random unit prototype in the video
  space (VIDEO_DIM); a frame is the L2-normalised sum of its ad's category prototype, its
  clip's shot-type and attribute prototypes, a small per-ad style vector, a per-clip and a
  per-frame noise. A clip has 1 or 2 frames (1 fps, as the builder cuts them): its frames
  differ only by that small noise, so more would lengthen every prompt (and the training on
  them) without telling a model anything more.
- Order. An ad has 3 to 6 clips; their shot types follow the narrative template hook ->
  product -> detail(s) -> call to action. Variation: a quarter of the ads have no hook, and
  the number of detail shots varies (0 to 3 with a hook, up to 4 without).
- Words. Each clip's script line is a template of its shot type naming the clip's attribute
  by a rare synonym ("cobalt"); the clips of one ad have different attributes, so a line
  points at exactly one clip. Captions (kept in the world, never shown on the token track)
  use the plain word ("blue"), never a line word.
- Music. Every mood has a prototype in the audio space (AUDIO_DIM) and TRACKS_PER_MOOD
  library tracks around it; each category has its own mood (a permutation drawn per world),
  and an ad's music is one track of its category's mood, drawn at random. The library (all
  tracks) is part of the world: music is scored by ranking it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adcut.eval.synthetic.rules import (
    ATTRIBUTES,
    CATEGORIES,
    MOODS,
    SHOT_TYPES,
    WORLD_VERSION,
    Attribute,
    Category,
    ShotType,
    caption_text,
    line_text,
)
from adcut.tasks.types import Product

VIDEO_DIM = 128
AUDIO_DIM = 64
TRACKS_PER_MOOD = 8
MIN_CLIPS, MAX_CLIPS = 3, 6  # the SFT filter keeps ads of 3..30 clips
MAX_FRAMES = 2  # module docstring
HOOK_SHARE = 0.75  # ads that open on a hook shot
# Norms of the parts of a frame (each prototype has norm 1). The style vector ties an ad's
# clips together beyond their category, so a distractor of the same category and attribute
# still differs from the ad's own clip.
AD_STYLE_NORM = 0.5
CLIP_NOISE_NORM = 0.3
FRAME_NOISE_NORM = 0.15
TRACK_SPREAD_NORM = 0.6  # a track around its mood's prototype: same-mood tracks stay closest

# numpy seed-sequence streams: (seed, stream[, ad index])
_PROTOS, _ADS = 0, 1


@dataclass(frozen=True)
class WorldConfig:
    ads: int
    seed: int = 0


@dataclass(frozen=True)
class WorldClip:
    shot: str  # ShotType.name
    attribute: str  # Attribute.name
    line: str  # the script line spoken over it
    caption: str  # a description in other words (never shown on the token track)
    frames: np.ndarray  # (n_frames, VIDEO_DIM) float32, unit rows


@dataclass(frozen=True)
class WorldAd:
    key: str
    category: str  # Category.name
    product: Product
    clips: list[WorldClip]  # in the ad's (true) order
    track: int  # index of its music in World.library


@dataclass(frozen=True)
class World:
    config: WorldConfig
    category_mood: dict[str, str]  # the hidden rule: category name -> mood name
    library: np.ndarray  # (n_tracks, AUDIO_DIM) float32 unit rows: every music track
    track_moods: list[str]  # mood of each library track
    ads: list[WorldAd]
    prototypes: dict[str, np.ndarray] = field(default_factory=dict)  # "category:NAME" etc. -> vector

    @property
    def video_vectors(self) -> int:
        return sum(len(c.frames) for ad in self.ads for c in ad.clips)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _noise(rng: np.random.Generator, shape: tuple[int, ...], norm: float) -> np.ndarray:
    """Gaussian noise whose rows have about the given norm."""
    return rng.standard_normal(shape) * (norm / np.sqrt(shape[-1]))


def ad_key(index: int) -> str:
    """The key of the index-th ad: stable, so the split by key is the same in every world."""
    return f"ad{index:05d}"


def shot_sequence(rng: np.random.Generator, n_clips: int) -> list[ShotType]:
    """The shots of an ad of n_clips, in template order: an optional hook, the product shot,
    detail shots, the call to action."""
    by_name = {s.name: s for s in SHOT_TYPES}
    hook = bool(rng.random() < HOOK_SHARE)
    names = (["hook"] if hook else []) + ["product"] + ["detail"] * (n_clips - 2 - int(hook)) + ["cta"]
    return [by_name[n] for n in names]


def _make_ad(index: int, seed: int, protos: dict[str, np.ndarray], category_mood: dict[str, str],
             mood_tracks: dict[str, list[int]]) -> WorldAd:
    rng = np.random.default_rng([seed, _ADS, index])
    category: Category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
    name, brand = category.products[int(rng.integers(len(category.products)))]
    n_points = int(rng.integers(2, 4))
    picked = sorted(rng.choice(len(category.selling_points), n_points, replace=False).tolist())
    product = Product(name=name, brand=brand, selling_points=[category.selling_points[i] for i in picked])
    n_clips = int(rng.integers(MIN_CLIPS, MAX_CLIPS + 1))
    shots = shot_sequence(rng, n_clips)
    attributes: list[Attribute] = [ATTRIBUTES[i] for i in rng.choice(len(ATTRIBUTES), n_clips, replace=False)]
    style = _noise(rng, (VIDEO_DIM,), AD_STYLE_NORM)
    clips = []
    for shot, attr in zip(shots, attributes):
        n_frames = int(rng.integers(1, MAX_FRAMES + 1))
        base = (protos[f"category:{category.name}"] + protos[f"shot:{shot.name}"]
                + protos[f"attribute:{attr.name}"] + style + _noise(rng, (VIDEO_DIM,), CLIP_NOISE_NORM))
        frames = _unit(base[None, :] + _noise(rng, (n_frames, VIDEO_DIM), FRAME_NOISE_NORM)).astype(np.float32)
        template = shot.templates[int(rng.integers(len(shot.templates)))]
        word = attr.line_words[int(rng.integers(len(attr.line_words)))]
        clips.append(WorldClip(shot.name, attr.name, line_text(template, word, name, brand),
                               caption_text(shot, category, attr), frames))
    tracks = mood_tracks[category_mood[category.name]]
    track = tracks[int(rng.integers(len(tracks)))]
    return WorldAd(ad_key(index), category.name, product, clips, track)


def build_world(config: WorldConfig) -> World:
    """The world of `config.ads` ads drawn from `config.seed` (module docstring)."""
    if config.ads < 1:
        raise ValueError(f"a world needs at least one ad, got {config.ads}")
    rng = np.random.default_rng([config.seed, _PROTOS])
    protos: dict[str, np.ndarray] = {}
    for prefix, items in (("category", CATEGORIES), ("shot", SHOT_TYPES), ("attribute", ATTRIBUTES)):
        vectors = _unit(rng.standard_normal((len(items), VIDEO_DIM)))
        protos.update({f"{prefix}:{item.name}": v for item, v in zip(items, vectors)})
    mood_vectors = _unit(rng.standard_normal((len(MOODS), AUDIO_DIM)))
    protos.update({f"mood:{m}": v for m, v in zip(MOODS, mood_vectors)})
    moods_of = rng.permutation(len(MOODS))[: len(CATEGORIES)]
    category_mood = {c.name: MOODS[int(m)] for c, m in zip(CATEGORIES, moods_of)}
    library, track_moods = [], []
    mood_tracks: dict[str, list[int]] = {}
    for mood, proto in zip(MOODS, mood_vectors):
        block = _unit(proto[None, :] + _noise(rng, (TRACKS_PER_MOOD, AUDIO_DIM), TRACK_SPREAD_NORM))
        mood_tracks[mood] = list(range(len(library), len(library) + TRACKS_PER_MOOD))
        library.extend(block)
        track_moods += [mood] * TRACKS_PER_MOOD
    ads = [_make_ad(i, config.seed, protos, category_mood, mood_tracks) for i in range(config.ads)]
    return World(config, category_mood, np.asarray(library, dtype=np.float32), track_moods, ads,
                 {k: v.astype(np.float32) for k, v in protos.items()})


def truth_json(world: World) -> dict:
    """The world's truth as JSON data (no vectors): the hidden rules, and per ad its category,
    track and clips (shot, attribute, line, caption, frame count), for inspection and tests."""
    return {
        "version": WORLD_VERSION,
        "seed": world.config.seed,
        "ads": len(world.ads),
        "category_mood": dict(world.category_mood),
        "track_moods": list(world.track_moods),
        "narrative": [s.name for s in sorted(SHOT_TYPES, key=lambda s: s.rank)],
        "truth": [{"key": ad.key, "category": ad.category, "track": ad.track,
                   "product": {"name": ad.product.name, "brand": ad.product.brand,
                               "selling_points": list(ad.product.selling_points)},
                   "clips": [{"shot": c.shot, "attribute": c.attribute, "line": c.line,
                              "caption": c.caption, "frames": len(c.frames)} for c in ad.clips]}
                  for ad in world.ads],
    }
