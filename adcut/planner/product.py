"""Which clips show the product: visual similarity to the brief's product images.

The brief's images (`product_images`, and the `logo`) are encoded with the vision encoder the
library was built with (the catalog records its name and version), and each clip scores the
best cosine between its embedding and an image's. Image-to-image similarity works with any
vision encoder, so it finds a bottle the ImageNet labels call "lotion, Band Aid".

Whether the library HAS the product is decided against the library's own distribution, not a
fixed cosine (cosines of unrelated pictures sit anywhere from 0.2 to 0.7 depending on the
encoder and the footage): a clip shows the product when its similarity is an outlier above
the other clips by the modified z-score of Iglewicz and Hoaglin (1993), 0.6745 x (s - median)
/ MAD >= 3.5, the standard cut-off for outliers in small samples, robust to the outliers
themselves. When several clips show the product they are all outliers so long as they are
fewer than half of the library; a library where most clips show it needs no rule to show it.
Cosines are taken relative to the library's mean clip embedding (see score_looks).

When the library shows the product and at least half of its clips show a sign of it, footage
with none (neither like the product images nor the logo, no word of the brief in its caption,
speech or on-screen text) is left out while the rest can fill the ad (footage_for_length); a
clip whose text on screen states another price than the brief's is left out
(shows_another_price) unless too few clips would remain.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from adcut.core.brief import prices_in
from adcut.planner.relevance import CJK_RUN_RE, EN_STOP_WORDS

log = logging.getLogger(__name__)

OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for the modified z-score
MAD_SCALE = 0.6745  # makes the MAD a consistent estimate of the standard deviation
MIN_CLIPS = 3  # fewer clips have no distribution to stand out from


@dataclass(frozen=True)
class ProductLooks:
    """Per clip id: similarity to the product images and its modified z-score; likewise for
    the logo. `shows` lists the clips that show the product, most alike first."""

    similarity: dict[str, float] = field(default_factory=dict)
    z: dict[str, float] = field(default_factory=dict)
    logo_similarity: dict[str, float] = field(default_factory=dict)
    logo_z: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def shows(self) -> list[str]:
        return sorted((c for c, z in self.z.items() if z >= OUTLIER_Z),
                      key=lambda c: -self.similarity[c])

    @property
    def logo_cards(self) -> list[str]:
        return sorted((c for c, z in self.logo_z.items() if z >= OUTLIER_Z),
                      key=lambda c: -self.logo_similarity[c])

    def likeness(self, clip_id: str) -> float:
        """0..1: how clearly a clip looks like the product (1 from the outlier cut-off up)."""
        return float(min(1.0, max(0.0, self.z.get(clip_id, 0.0) / OUTLIER_Z)))

    def describe(self, clip_id: str) -> str:
        parts = []
        if clip_id in self.similarity:
            parts.append(f"looks like the product {self.similarity[clip_id]:.2f} "
                         f"(z {self.z[clip_id]:.1f})")
        if clip_id in self.logo_similarity:
            parts.append(f"like the logo {self.logo_similarity[clip_id]:.2f} "
                         f"(z {self.logo_z[clip_id]:.1f})")
        return ", ".join(parts)


def modified_z(values: np.ndarray) -> np.ndarray:
    """Iglewicz-Hoaglin modified z-scores (0.6745 (x - median) / MAD); a MAD of 0 (most values
    equal) makes every value above the median infinitely far out, and the rest 0."""
    values = np.asarray(values, np.float64)
    if values.size < MIN_CLIPS:
        return np.zeros_like(values)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    if mad <= 1e-9:
        return np.where(values > med + 1e-9, np.inf, 0.0)
    return MAD_SCALE * (values - med) / mad


def best_similarity(clip_vecs: np.ndarray, image_vecs: np.ndarray,
                    center: np.ndarray | None = None) -> np.ndarray:
    """(n_clips,) the best cosine of each clip with any of the images, both taken relative
    to `center` (the library's mean clip embedding) when given."""
    a = np.asarray(clip_vecs, np.float64)
    b = np.asarray(image_vecs, np.float64)
    if center is not None:
        a, b = a - center, b - center
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a @ b.T).max(axis=1)


def score_looks(clip_ids: Sequence[str], clip_vecs: np.ndarray, product_vecs: np.ndarray | None,
                logo_vecs: np.ndarray | None = None) -> ProductLooks:
    """Similarities and outlier scores of clips against product (and logo) embeddings (PURE)."""
    looks = ProductLooks()
    for vecs, sims, zs in ((product_vecs, looks.similarity, looks.z),
                           (logo_vecs, looks.logo_similarity, looks.logo_z)):
        if vecs is None or len(vecs) == 0 or len(clip_ids) == 0:
            continue
        # Centred on the library's mean clip: the encoder's pooled features share a large
        # component across all pictures (ReLU/swish activations are mostly positive), which
        # centring removes. On a generated library (a bottle clip among six lavfi patterns)
        # the bottle's z-score rose from 3.9 to 5.1 and the runner-up's fell from 1.9 to 1.5.
        center = np.asarray(clip_vecs, np.float64).mean(axis=0) if len(clip_ids) >= MIN_CLIPS \
            else None
        s = best_similarity(clip_vecs, vecs, center)
        z = modified_z(s)
        for cid, si, zi in zip(clip_ids, s, z):
            sims[cid] = round(float(si), 4)
            zs[cid] = float(zi) if np.isfinite(zi) else 99.0
    if looks.similarity:
        shows = looks.shows
        best = max(looks.similarity, key=looks.similarity.get)
        if shows:
            looks.notes.append(f"{len(shows)} clip{'s' if len(shows) != 1 else ''} look like the "
                               f"product images ({', '.join(shows[:5])}"
                               + (", ..." if len(shows) > 5 else "")
                               + "): the ad opens and ends on the product")
        else:
            looks.notes.append(f"no clip clearly looks like the product images (the closest, "
                               f"{best}, scores {looks.similarity[best]:.2f}, z "
                               f"{looks.z[best]:.1f} < {OUTLIER_Z}): product-like clips are "
                               "only preferred")
    return looks


def encode_images(paths: Sequence[str], spec: str, version: str) -> tuple[np.ndarray | None, str]:
    """Embeddings of image files with the library's vision encoder, and a note when they
    cannot be compared (an encoder of another version than the library's, unreadable files)."""
    from adcut.core.errors import AdcutError
    from adcut.encoders.registry import load_vision_encoder
    from adcut.media.stills import load_still

    if not paths:
        return None, ""
    if not spec:
        return None, "the library records no vision encoder: product images not compared"
    try:
        encoder = load_vision_encoder(spec)
    except AdcutError as exc:
        return None, f"product images not compared: {exc.message}"
    if version and encoder.version != version:
        return None, (f"product images not compared: the library's clips were embedded with "
                      f"{encoder.name} {version}, this adcut has {encoder.version} (re-ingest "
                      "the footage to compare them)")
    images, problems = [], []
    for p in paths:
        try:
            images.append(load_still(p))
        except AdcutError as exc:
            problems.append(exc.message)
    if not images:
        return None, "product images not compared: " + "; ".join(problems)
    vecs = encoder.encode_images(images).embeddings
    return vecs, ("; ".join(problems) if problems else "")


def product_looks(clips, product_images: Sequence[str], logo: str | None) -> ProductLooks:
    """ProductLooks of library clips (adcut.planner.edit.LibraryClip) for a brief's images."""
    with_vec = [c for c in clips if c.vision is not None]
    if not with_vec or not (product_images or logo):
        return ProductLooks()
    spec = with_vec[0].vision_encoder
    version = with_vec[0].vision_version
    product_vecs, note1 = encode_images(list(product_images), spec, version)
    logo_vecs, note2 = encode_images([logo] if logo else [], spec, version)
    ids = [c.id for c in with_vec]
    vecs = np.stack([np.asarray(c.vision, np.float64) for c in with_vec])
    looks = score_looks(ids, vecs, product_vecs, logo_vecs)
    looks.notes.extend(n for n in (note1, note2) if n)
    return looks


# -- footage with no sign of the product (PURE) ------------------------------------------------

# Words too common to tie a clip to a brief: the lexical model's, and a few of 4+ letters more.
_COMMON_WORDS = EN_STOP_WORDS | {"every", "only", "also", "such"}
_LATIN_RE = re.compile(r"[a-z]{4,}|\d+(?:[.,:]\d+)*")


def terms_of(text: str) -> set[str]:
    """The words a clip's own text can share with a brief: Latin words of four letters or
    more (common function words aside), numbers of two digits or more (a price, a size), and
    each pair of adjacent Chinese characters."""
    lowered = text.lower()
    terms = {w for w in _LATIN_RE.findall(lowered)
             if w not in _COMMON_WORDS and (not w[0].isdigit() or sum(c.isdigit() for c in w) >= 2)}
    for run in CJK_RUN_RE.findall(text):
        terms.update(run[k:k + 2] for k in range(len(run) - 1))
    return terms


def related_clips(clips, looks: ProductLooks, brief_terms: set[str]) -> set[str]:
    """Ids of the clips (adcut.planner.edit.LibraryClip) with a sign of the product: they look
    like the product or the logo (outliers, see ProductLooks), or their caption, speech or
    on-screen text shares a word with the brief (its product, brand, selling points, price,
    offer or address)."""
    seen = set(looks.shows) | set(looks.logo_cards)
    return {c.id for c in clips
            if c.id in seen or terms_of(f"{c.said} {c.on_screen}") & brief_terms}


# A shot may end on its last frame held this long (the render holds a clip slowed to its limit):
# on a card it is invisible, on footage it reads as a beat rather than a freeze.
HOLD_ALLOWANCE_S = 0.5


def footage_for_length(clips, related: set[str], need_s: float, min_speed: float,
                       looks: ProductLooks, min_clips: int = 1) -> list:
    """The clips to choose from when the library shows the product: the related ones, and
    only as many others (those most like the product images first) as it takes to have
    `min_clips` and to cover `need_s` seconds of shots, each clip slowed to at most
    `min_speed` and its last frame held up to HOLD_ALLOWANCE_S. A test card or a fractal in a
    coffee ad loses the viewer; a shot slowed to fill its line does not. The pool's order is
    kept.

    Only where at least half of the clips are related: there the others are stray footage.
    Where most clips show no sign, they are more likely the brand's uncaptioned lifestyle
    footage (people, places) than strays, and all stay for the planner to weigh."""
    if not related or len(related) == len(clips) or 2 * len(related) < len(clips):
        return list(clips)
    single = len(looks.shows) == 1

    def covers(chosen: list) -> bool:
        if len(chosen) < min_clips:
            return False
        fill = {c.id: c.duration_s / min_speed + HOLD_ALLOWANCE_S for c in chosen}
        total = sum(fill.values())
        others = [fill[c.id] for c in chosen if c.id not in looks.shows]
        if single and others:
            # the one product clip opens the ad and its second half closes it, in place of
            # another clip (open_and_close_on_product): that clip's footage is not shown
            total += HOLD_ALLOWANCE_S - min(others)
        return total >= need_s

    keep = [c for c in clips if c.id in related]
    others = sorted((c for c in clips if c.id not in related),
                    key=lambda c: -looks.similarity.get(c.id, 0.0))
    while others and not covers(keep):
        keep.append(others.pop(0))
    kept = {c.id for c in keep}
    return [c for c in clips if c.id in kept]


_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


def _amount(text: str) -> float:
    return round(float(text.replace(",", ".")), 2)


def shows_another_price(on_screen: str, price: str | None, offer: str | None) -> bool:
    """Whether text on screen states a price (an amount with a currency) that the brief does
    not state in its price or offer: last season's price card would contradict the voice."""
    shown = {_amount(n) for price in prices_in(on_screen) for n in _NUMBER_RE.findall(price)}
    if not shown:
        return False
    stated = {_amount(n) for n in _NUMBER_RE.findall(f"{price or ''} {offer or ''}")}
    return not shown <= stated


# -- the plan: product in the opening shot and in the last one (PURE) ---------------------------

MIN_BOOKEND_S = 1.5  # each half of a product clip split to open and close the ad


def with_product(numbers: list[int], pool_ids: Sequence[str], looks: ProductLooks,
                 scores: dict[int, float]) -> list[int]:
    """The selection (1-based numbers into the pool) with the clips that show the product in
    it: up to two of them (one to open the ad, another to close it), each in place of the
    selected clip its planner scored lowest among those that do not show it."""
    shows = [pool_ids.index(c) + 1 for c in looks.shows if c in pool_ids]
    if not shows or not numbers:
        return numbers
    out = list(numbers)
    want = shows[:min(2, len(out))]
    for n in want:
        if n in out:
            continue
        if sum(1 for m in out if m in shows) >= len(want):
            break
        others = [m for m in out if m not in shows]
        if not others:
            break
        weakest = min(others, key=lambda m: (scores.get(m, 0.0), -out.index(m)))
        out[out.index(weakest)] = n
    return out


def open_and_close_on_product(ordered: list, looks: ProductLooks, turn: int = 0) -> list:
    """The clips in order with one that shows the product first and one last (library clips,
    adcut.planner.edit.LibraryClip): the most alike opens, another one closes; with a single
    product clip, it opens and its second half (or, when it is too short to halve, the clip
    again) takes the last shot's place. Order otherwise unchanged; swaps, not shifts, so each
    other clip keeps its line. `turn` (a variant's number) passes the opening to the next
    product clip in order of likeness, so variants made of the same clips open on different
    shots."""
    from dataclasses import replace

    present = [c for c in looks.shows if any(o.id == c for o in ordered)]
    k = turn % len(present) if present else 0
    rank = {c: i for i, c in enumerate(present[k:] + present[:k])}
    if not rank or not ordered:
        return ordered
    out = list(ordered)
    product_at = sorted((i for i, c in enumerate(out) if c.id in rank), key=lambda i: rank[out[i].id])
    if not product_at:
        return out
    first = product_at[0]
    out[0], out[first] = out[first], out[0]
    if len(out) == 1:
        return out
    others = [i for i, c in enumerate(out) if c.id in rank and i != 0]
    if others:
        last = min(others, key=lambda i: rank[out[i].id])
        out[-1], out[last] = out[last], out[-1]
        return out
    opener = out[0]
    if opener.duration_s >= 2 * MIN_BOOKEND_S:
        mid = round((opener.start_s + opener.end_s) / 2, 3)
        out[0] = replace(opener, end_s=mid)
        out[-1] = replace(opener, start_s=mid)
    else:
        out[-1] = opener
    return out
