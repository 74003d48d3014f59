"""Training rows from tokenised ads: the alignment text (AutoCut section 5.2), the ad-level
train/eval split, and the four SFT tasks (section 5.3) in the released ShareGPT form.

Pure functions, no I/O. Every random choice about an ad comes from a `random.Random` seeded by
an md5 of (ad key, task), so a rebuild is byte-identical whatever the process (unlike the
paper's training generator, whose `hash()` seeds change with PYTHONHASHSEED) and whatever the
order the ads come in.

SFT row (one ad, one task), the release row format (adcut.tasks.release) less the
per-file `sample_id` (see `with_sample_ids`) and the prediction:

    {"task": "vid_select" | "vid_sort" | "vid2text" | "vid2aud",
     "ad_key": {"key": AD_KEY},
     "conversations": [{"from": "human", "value": PROMPT}, {"from": "gpt", "value": ANSWER}],
     "system": "", "tools": ""}

Prompts are the tokens-track prompts of adcut.tasks (Chinese: byte-compatible with the
released test prompts; English: adcut's wording), chosen by the ad's language.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from adcut.dataset.types import TokenisedAd
from adcut.tasks.prompts_en import build_prompt_en
from adcut.tasks.prompts_zh import build_prompt_zh
from adcut.tasks.types import (
    TASK_MUSIC,
    TASK_NAMES,
    TASK_SCRIPT,
    TASK_SELECT,
    TASK_SORT,
    TRACK_TOKENS,
    ClipRef,
    MusicTask,
    ScriptTask,
    SelectTask,
    SortTask,
)
from adcut.tokens.vocab import CODEBOOK_SIZE, ad_string, clip_string, track_string

# The SFT prefilter (paper section 2.6, prefilter.py defaults): an ad takes part with 3 to 30
# usable clips. Upstream counts the clips before dropping unusable ones (and its test filter
# re-counts after); counting the usable ones here means every prompt shows 3..30 clips.
MIN_CLIPS = 3
MAX_CLIPS = 30
# vid_select: int(N * ratio) distractor clips for N script lines, at least one (paper 5.3).
DISTRACTOR_RATIO = 1.0
MIN_DISTRACTORS = 1

_PROMPT_BUILDERS = {"zh": build_prompt_zh, "en": build_prompt_en}
_ONE_TASK_SEED = "one_task"  # seed name of the task choice in one_task mode


# --------------------------------------------------------------------------- alignment


def align_text(ad: TokenisedAd, *, codebook_size: int = CODEBOOK_SIZE) -> str:
    """The whole ad in the alignment (pre-training) format: every clip in order, video-only
    and text-only ones included, then the music track when the ad has one. Levels are those of
    the codes; `codebook_size` (the tokenizer's) only bounds them."""
    return ad_string([(clip.codes, clip.text) for clip in ad.clips], ad.track_codes, codebook_size)


# --------------------------------------------------------------------------- split


def _md5_int(*parts: str) -> int:
    # \x1f (unit separator) keeps ("a", "bc") and ("ab", "c") apart.
    return int(hashlib.md5("\x1f".join(parts).encode("utf-8")).hexdigest(), 16)


_MD5_SPAN = 2**128


def split_ads(keys: Iterable[str], eval_fraction: float) -> set[str]:
    """The keys of the eval ads; every other ad is train, so no ad is on both sides.

    An ad is eval when md5(key), read as a fraction of 2**128, is below `eval_fraction`: its
    side depends on its key alone, so adding ads never moves an existing one. Two fallbacks
    keep both sides non-empty once there are two ads or more (a tiny corpus or fraction would
    otherwise leave one empty): if no ad falls below the threshold, the ad with the smallest
    md5 is eval; if all do, the one with the largest md5 is train. Only such a fallback ad can
    change sides later, when the corpus grows past needing it. One ad, or a fraction of 0,
    gives no eval ads.
    """
    if not 0 <= eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    unique = set(keys)
    if eval_fraction == 0 or len(unique) < 2:
        return set()
    threshold = eval_fraction * _MD5_SPAN
    chosen = {key for key in unique if _md5_int(key) < threshold}
    if not chosen:
        chosen = {min(unique, key=_md5_int)}
    elif chosen == unique:
        chosen.discard(max(unique, key=_md5_int))
    return chosen


# --------------------------------------------------------------------------- SFT clips


@dataclass(frozen=True)
class _SftClip:
    line: str  # the clip's script line
    tokens: str  # its tokens-track form: <|clip_start|><|video_start|>FRAMES<|video_end|><|clip_end|>


def _line(text: str) -> str:
    """A clip text as one script line: prompts and the vid2text answer hold one line per
    clip, so whitespace runs (line breaks included) become one space, ends stripped."""
    return " ".join(text.split())


def _sft_clips(ad: TokenisedAd, codebook_size: int) -> tuple[list[_SftClip], str | None]:
    """The clips SFT shows (text and at least one frame, in ad order), or the reason the ad
    gives no SFT samples: product facts missing, or too few / too many usable clips."""
    product = ad.product
    if product is None:
        return [], "no product facts"
    missing = [name for name, present in (("product name", product.name.strip()), ("brand", product.brand.strip()),
                                          ("selling points", any(p.strip() for p in product.selling_points)))
               if not present]
    if missing:
        return [], f"incomplete product facts: no {', '.join(missing)}"
    clips = []
    for clip in ad.clips:
        line = _line(clip.text or "")
        if line and clip.codes is not None and len(clip.codes) > 0:
            clips.append(_SftClip(line, clip_string(clip.codes, None, codebook_size)))
    if not MIN_CLIPS <= len(clips) <= MAX_CLIPS:
        return [], f"{len(clips)} clips with text and frames; {MIN_CLIPS} to {MAX_CLIPS} needed"
    return clips, None


def clip_pool(ads: Iterable[TokenisedAd], *, codebook_size: int = CODEBOOK_SIZE) -> list[tuple[str, str]]:
    """The distractor pool of a set of ads (give it one split's ads): (ad key, clip tokens)
    for every clip SFT would show, from every ad that gets SFT samples, sorted by ad key then
    clip order, so the pool, and the distractors drawn from it, do not depend on the order
    the ads come in."""
    pool: list[tuple[str, str]] = []
    for ad in sorted(ads, key=lambda a: a.key):
        clips, reason = _sft_clips(ad, codebook_size)
        if reason is None:
            pool.extend((ad.key, clip.tokens) for clip in clips)
    return pool


# --------------------------------------------------------------------------- tasks


def _rng(key: str, name: str) -> random.Random:
    return random.Random(_md5_int(key, name))


def _random_order(rng: random.Random, n: int) -> Iterator[int]:
    """0..n-1 in random order, drawn lazily: a Fisher-Yates shuffle that only stores the
    positions it has swapped, so taking k items from a large pool costs about k steps."""
    moved: dict[int, int] = {}
    for i in range(n):
        j = rng.randrange(i, n)
        yield moved.get(j, j)
        moved[j] = moved.get(i, i)


def _refs(tokens: Sequence[str]) -> list[ClipRef]:
    return [ClipRef(number=i, tokens=t) for i, t in enumerate(tokens, 1)]


def _select(ad: TokenisedAd, clips: list[_SftClip], pool: Sequence[tuple[str, str]],
            rng: random.Random) -> tuple[SelectTask, str] | str:
    """The ad's clips among random clips of other ads, shuffled; answer: the positives'
    numbers in ascending order. A pool clip whose tokens equal one of the ad's clips is never
    a distractor (the answer would be ambiguous)."""
    positives = {c.tokens for c in clips}
    want = max(MIN_DISTRACTORS, int(len(clips) * DISTRACTOR_RATIO))
    distractors: list[str] = []
    other_ads = False
    for index in _random_order(rng, len(pool)):
        other_key, tokens = pool[index]
        if other_key == ad.key:
            continue
        other_ads = True
        if tokens not in positives:
            distractors.append(tokens)
            if len(distractors) == want:
                break
    if not distractors:
        return ("no distractors: every clip of the other ads repeats one of this ad's" if other_ads
                else "no distractors: no other ad in its split to draw them from")
    shown = [(c.tokens, True) for c in clips] + [(t, False) for t in distractors]
    rng.shuffle(shown)
    answer = ",".join(str(i) for i, (_, positive) in enumerate(shown, 1) if positive)
    task = SelectTask(product=ad.product, script_lines=[c.line for c in clips],
                      clips=_refs([t for t, _ in shown]), n_select=len(clips))
    return task, answer


def _sort(ad: TokenisedAd, clips: list[_SftClip], rng: random.Random) -> tuple[SortTask, str]:
    """The ad's clips shuffled; answer: for each script line in order, its clip's number."""
    order = list(range(len(clips)))
    rng.shuffle(order)
    number = {original: shown for shown, original in enumerate(order, 1)}
    task = SortTask(product=ad.product, script_lines=[c.line for c in clips],
                    clips=_refs([clips[i].tokens for i in order]))
    return task, ",".join(str(number[i]) for i in range(len(clips)))


def _script(ad: TokenisedAd, clips: list[_SftClip]) -> tuple[ScriptTask, str]:
    """The ad's clips in true order; answer: their lines, one per line."""
    return ScriptTask(product=ad.product, clips=_refs([c.tokens for c in clips])), "\n".join(c.line for c in clips)


def _music(ad: TokenisedAd, clips: list[_SftClip], codebook_size: int) -> tuple[MusicTask, str] | str:
    """Lines and clips in true order; answer: the ad's track tokens."""
    if ad.track_codes is None:
        return "no music"
    task = MusicTask(product=ad.product, script_lines=[c.line for c in clips], clips=_refs([c.tokens for c in clips]))
    return task, track_string(ad.track_codes, codebook_size)


def _row(ad: TokenisedAd, name: str, prompt: str, answer: str) -> dict:
    return {
        "task": name,
        "ad_key": {"key": ad.key},
        "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": answer}],
        "system": "",
        "tools": "",
    }


def _draw_name(task: str, draw: int) -> str:
    """The seed name of an ad's draw-th shuffle of a task: the first draw keeps the task's own
    name, so one draw per ad writes what the builder always wrote."""
    return task if draw == 0 else f"{task}#{draw}"


def sft_samples(ad: TokenisedAd, distractor_pool: Sequence[tuple[str, str]], *, one_task: bool = False,
                draws: int = 1, codebook_size: int = CODEBOOK_SIZE) -> tuple[list[dict], dict[str, str]]:
    """The SFT rows of one ad (module docstring), in task order vid_select, vid_sort,
    vid2text, vid2aud, and {task: reason} for each task not produced.

    `draws`: how many vid_select and vid_sort rows the ad gives, each with its own clip order
    (and, for select, its own distractors). The answers are clip numbers, so a model that sees
    one order per ad can learn the answers by heart; with new orders of the same ad only the
    clips in the prompt tell the answer. The paper wrote one (its corpus had 700K ads).

    Only clips with text and frames take part, and only ads with 3..30 of them and full
    product facts (name, brand, selling points); otherwise every task is skipped with the
    reason. `distractor_pool` is `clip_pool` of the ad's own split (vid_select draws from it,
    never from this ad). `one_task`: the paper's training mix, each ad in exactly one task,
    picked uniformly from the md5 seed among the tasks it can give (the paper slices a
    shuffled ad list 25/25/25/25; ads without music spread over the other three).
    Raises ValueError for a language other than zh / en.
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    if ad.language not in _PROMPT_BUILDERS:
        raise ValueError(f"ad {ad.key}: language must be one of {', '.join(_PROMPT_BUILDERS)}, got {ad.language!r}")
    build = _PROMPT_BUILDERS[ad.language]
    clips, reason = _sft_clips(ad, codebook_size)
    if reason is not None:
        return [], {name: reason for name in TASK_NAMES}
    made = {
        TASK_SELECT: [_select(ad, clips, distractor_pool, _rng(ad.key, _draw_name(TASK_SELECT, k)))
                      for k in range(draws)],
        TASK_SORT: [_sort(ad, clips, _rng(ad.key, _draw_name(TASK_SORT, k))) for k in range(draws)],
        TASK_SCRIPT: [_script(ad, clips)],
        TASK_MUSIC: [_music(ad, clips, codebook_size)],
    }
    # Draws differ only in order: a task that fails, fails in its first draw.
    skipped = {name: results[0] for name, results in made.items() if isinstance(results[0], str)}
    produced = [name for name in TASK_NAMES if name not in skipped]
    if one_task and produced:
        chosen = _rng(ad.key, _ONE_TASK_SEED).choice(produced)
        skipped.update({name: f"one task per ad: {chosen} chosen" for name in produced if name != chosen})
        produced = [chosen]
    samples = []
    for name in produced:
        for task, answer in made[name]:
            samples.append(_row(ad, name, build(task, TRACK_TOKENS), answer))
    return samples, {name: skipped[name] for name in TASK_NAMES if name in skipped}


def with_sample_ids(rows: Iterable[dict], start: int = 0) -> list[dict]:
    """The rows numbered in order as release files number theirs (`sample_id` first, then the
    row), so a written eval split reads back with adcut.tasks.release.load_release_rows."""
    return [{"sample_id": i, **row} for i, row in enumerate(rows, start)]
