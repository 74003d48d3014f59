"""The SFT training sequence: which samples the Trainer sees, in which order.

By default (the paper's recipe) that is the training file itself, shuffled by the Trainer at
each epoch. Two settings of a recipe's `sft` stage change it, for a model trained from
scratch, which otherwise learns each training ad's clip numbers by heart instead of reading
them back from the prompt:

- `reshuffle_clips`: every epoch shows each clip-selection and clip-ordering sample with its
  clips in a new order (seeded by the sample and the epoch); its answer follows the clips.
  The ad, its script and its distractors stay the same: only the numbers change.
- `order_warmup_steps`: SFT opens with that many batches of clip-ordering samples alone,
  each freshly shuffled, so the model first learns to find the clip a script line names
  and to read its number, which clip selection then reuses.

The sequence is built up front and fed in order (the Trainer runs one pass over it), so a
run and a resumed run see the same samples. A prompt this module cannot rebuild byte for
byte (not one of adcut's two prompt languages) keeps its one order.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import replace

from adcut.core.errors import AdcutError
from adcut.tasks.prompts_en import build_prompt_en, parse_prompt_en
from adcut.tasks.prompts_zh import build_prompt_zh, parse_prompt_zh
from adcut.tasks.types import TASK_SELECT, TASK_SORT, SelectTask, SortTask

Pair = tuple[str, str]  # (prompt, answer)
_LANGUAGES = ((parse_prompt_en, build_prompt_en), (parse_prompt_zh, build_prompt_zh))


class Shuffler:
    """A clip task's sample, re-drawable with its clips in any order (`draw`)."""

    def __init__(self, task: SelectTask | SortTask, track: str, build: Callable, answer: list[int]):
        self.task, self.track, self.build, self.answer = task, track, build, answer

    @classmethod
    def of(cls, prompt: str, answer: str) -> Shuffler | None:
        """The shuffler of a vid_select / vid_sort sample, or None for any other sample, or
        one whose prompt does not come back byte for byte from its parse."""
        for parse, build in _LANGUAGES:
            try:
                kind, task, track = parse(prompt)
            except (AdcutError, ValueError):
                continue
            if kind not in (TASK_SELECT, TASK_SORT) or build(task, track) != prompt:
                return None
            try:
                numbers = [int(part) for part in answer.split(",")]
            except ValueError:
                return None
            return cls(task, track, build, numbers)
        return None

    def draw(self, rng: random.Random) -> Pair:
        """The sample with its clips in a random order, and its answer in the new numbers
        (selection: ascending, as the builder writes it; ordering: line by line)."""
        clips = list(self.task.clips)
        rng.shuffle(clips)
        renumber = {clip.number: new for new, clip in enumerate(clips, 1)}
        task = replace(self.task, clips=[replace(clip, number=new) for new, clip in enumerate(clips, 1)])
        numbers = [renumber[n] for n in self.answer]
        if isinstance(task, SelectTask):
            numbers.sort()
        return self.build(task, self.track), ",".join(map(str, numbers))


def _rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.md5(":".join(map(str, (seed, *parts))).encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def training_sequence(pairs: list[Pair], *, epochs: float, batch_size: int, reshuffle_clips: bool,
                      order_warmup_steps: int, seed: int) -> list[Pair]:
    """The samples in the order training sees them (module docstring): the warm-up batches,
    then `epochs` passes over `pairs`, each pass in its own random order (a fraction of an
    epoch: the start of one more pass)."""
    shufflers = [Shuffler.of(p, a) if (reshuffle_clips or order_warmup_steps) else None for p, a in pairs]
    out: list[Pair] = []
    ordering = [s for s in shufflers if s is not None and isinstance(s.task, SortTask)]
    if order_warmup_steps and ordering:
        rng = _rng(seed, "warm-up")
        for _ in range(order_warmup_steps * batch_size):
            out.append(rng.choice(ordering).draw(rng))
    for epoch in range(math.ceil(epochs)):
        order = list(range(len(pairs)))
        _rng(seed, "epoch", epoch).shuffle(order)
        for i in order[:round(min(1.0, epochs - epoch) * len(order))]:
            shuffler = shufflers[i] if reshuffle_clips and epoch > 0 else None
            out.append(shuffler.draw(_rng(seed, "clips", i, epoch)) if shuffler else pairs[i])
    return out
