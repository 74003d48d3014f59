"""The SFT training sequence (adcut.train.sequence): clip tasks re-drawn with their clips in
new orders, answers that follow the clips, and the ordering warm-up."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from adcut.dataset.samples import clip_pool, sft_samples
from adcut.tasks.prompts_en import parse_prompt_en
from adcut.tasks.prompts_zh import parse_prompt_zh
from adcut.tasks.types import TASK_SELECT, TASK_SORT
from adcut.train.sequence import Shuffler, training_sequence

from tests.train.conftest import make_ads


def _pairs(language: str) -> list[tuple[str, str, str]]:
    ads = [replace(ad, language=language) for ad in make_ads(6, seed=3)]
    pool = clip_pool(ads)
    rows = [row for ad in ads for row in sft_samples(ad, pool)[0]]
    return [(r["task"], r["conversations"][0]["value"], r["conversations"][1]["value"]) for r in rows]


def _gold_clips(prompt: str, answer: str, language: str) -> tuple[str, list[str], list[str]]:
    """(task, the script lines, the clip tokens the answer names, in answer order)."""
    kind, task, _ = (parse_prompt_zh if language == "zh" else parse_prompt_en)(prompt)
    tokens = {c.number: c.tokens for c in task.clips}
    return kind, task.script_lines, [tokens[int(n)] for n in answer.split(",")]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_redrawn_clip_task_names_the_same_clips_in_new_numbers(language):
    rng = random.Random(0)
    seen = 0
    for kind, prompt, answer in _pairs(language):
        shuffler = Shuffler.of(prompt, answer)
        if kind not in (TASK_SELECT, TASK_SORT):
            assert shuffler is None
            continue
        assert shuffler is not None
        _, lines, gold = _gold_clips(prompt, answer, language)
        answers = set()
        for _ in range(6):
            new_prompt, new_answer = shuffler.draw(rng)
            new_kind, new_lines, new_gold = _gold_clips(new_prompt, new_answer, language)
            assert (new_kind, new_lines) == (kind, lines)
            numbers = [int(n) for n in new_answer.split(",")]
            if kind == TASK_SORT:
                assert new_gold == gold  # line i still gets its own clip
            else:
                assert sorted(new_gold) == sorted(gold) and numbers == sorted(numbers)
            answers.add(new_answer)
        assert len(answers) > 1  # the numbers move
        seen += 1
    assert seen == 12


def test_the_sequence_opens_with_ordering_and_reshuffles_later_epochs():
    pairs = [(p, a) for _, p, a in _pairs("en")]
    kinds = [k for k, _, _ in _pairs("en")]
    seq = training_sequence(pairs, epochs=2, batch_size=4, reshuffle_clips=True, order_warmup_steps=3, seed=0)
    assert len(seq) == 3 * 4 + 2 * len(pairs)
    assert all(parse_prompt_en(p)[0] == TASK_SORT for p, _ in seq[:12])
    first, second = seq[12:12 + len(pairs)], seq[12 + len(pairs):]
    assert sorted(first) == sorted(pairs)  # the first epoch is the file's own samples
    fixed = sorted(pair for pair, kind in zip(pairs, kinds) if kind not in (TASK_SELECT, TASK_SORT))
    assert sorted(p for p in second if p in fixed) == fixed  # script and music samples as they are
    redrawn = [p for p in second if p not in pairs]
    assert len(redrawn) >= 6  # clip tasks in new orders (a 3-clip sort may draw its own order)
    again = training_sequence(pairs, epochs=2, batch_size=4, reshuffle_clips=True, order_warmup_steps=3, seed=0)
    assert again == seq  # seeded: a resumed run sees the same samples


def test_without_the_settings_the_sequence_is_the_file_in_epochs():
    pairs = [(p, a) for _, p, a in _pairs("en")]
    seq = training_sequence(pairs, epochs=1.5, batch_size=4, reshuffle_clips=False, order_warmup_steps=0, seed=0)
    assert sorted(seq[:len(pairs)]) == sorted(pairs) and len(seq) == len(pairs) + round(0.5 * len(pairs))
