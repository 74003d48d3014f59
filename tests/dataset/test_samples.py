from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from adcut.dataset.samples import (
    MAX_CLIPS,
    MIN_CLIPS,
    align_text,
    clip_pool,
    sft_samples,
    split_ads,
    with_sample_ids,
)
from adcut.dataset.types import TokenisedAd, TokenisedClip
from adcut.tasks.parse import parse_answer
from adcut.tasks.prompts_en import parse_prompt_en
from adcut.tasks.prompts_zh import PromptFormatError, build_prompt_zh, parse_prompt_zh
from adcut.tasks.release import load_release_rows
from adcut.tasks.types import MusicTask, Product, ScriptTask, SelectTask, SortTask
from adcut.tokens.vocab import clip_codes, clip_string, parse_ad
from tests.tasks import dev_dir

CB = 8  # a tiny tokenizer: 8 codes per level
TASKS = ("vid_select", "vid_sort", "vid2text", "vid2aud")
PRODUCTS = {
    "zh": Product(name="孕妇钙片", brand="胎宝", selling_points=["含210毫克钙", "不含重金属"]),
    "en": Product(name="Calcium tablets", brand="Taibao", selling_points=["210 mg calcium", "no heavy metals"]),
}
_REPO = Path(__file__).resolve().parents[2]


def make_ad(key, n=4, *, levels=2, audio_levels=3, language="zh", product="default", music=True, extras=True):
    """An ad of `n` usable clips (text and 1-3 frames); `extras` adds a video-only clip, a
    text-only clip and a blank-text clip with frames, none of which SFT may show."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))

    def line(i):
        return f"{key}第{i}句，" if language == "zh" else f"{key} says part {i}."

    clips = [TokenisedClip(line(i), rng.integers(0, CB, (1 + i % 3, levels))) for i in range(1, n + 1)]
    if extras:
        clips.insert(0, TokenisedClip(None, rng.integers(0, CB, (2, levels))))
        clips.insert(2, TokenisedClip(f"{key} 短", None))
        clips.append(TokenisedClip(" \n", rng.integers(0, CB, (1, levels))))
    return TokenisedAd(
        key=key, language=language, product=PRODUCTS[language] if product == "default" else product,
        clips=clips, track_codes=rng.integers(0, CB, audio_levels) if music else None,
    )


def usable(ad):
    return [c for c in ad.clips if c.text and c.text.strip() and c.codes is not None and len(c.codes)]


def tokens_of(clip):
    return clip_string(clip.codes, None, CB)


def corpus(n=10, **kw):
    return [make_ad(f"ad-{i}", n=3 + i % 4, **kw) for i in range(n)]


def all_rows(ads, **kw):
    pool = clip_pool(ads, codebook_size=CB)
    out = {}
    for ad in ads:
        samples, skipped = sft_samples(ad, pool, codebook_size=CB, **kw)
        out[ad.key] = ([json.dumps(r, ensure_ascii=False) for r in samples], skipped)
    return out


def corpus_digest() -> str:
    """md5 of every row of a fixed corpus (run in another process by a test)."""
    rows = all_rows(corpus(8))
    return hashlib.md5(json.dumps(rows, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- alignment


@pytest.mark.parametrize("levels,audio_levels,music", [(2, 2, True), (8, 8, True), (3, 5, False)])
def test_align_text_parses_back_to_the_same_ad(levels, audio_levels, music):
    ad = make_ad("a1", n=5, levels=levels, audio_levels=audio_levels, music=music)
    parsed = parse_ad(align_text(ad, codebook_size=CB), video_levels=levels, audio_levels=audio_levels,
                      codebook_size=CB)
    assert len(parsed.clips) == len(ad.clips) == 8  # video-only, text-only and blank clips kept
    for got, want in zip(parsed.clips, ad.clips):
        assert got.text == want.text
        expect = want.codes if want.codes is not None else np.zeros((0, levels), np.int64)
        np.testing.assert_array_equal(got.codes, expect)
    if music:
        np.testing.assert_array_equal(parsed.track, ad.track_codes)
    else:
        assert parsed.track is None


def test_align_text_checks_codes_against_the_codebook():
    with pytest.raises(ValueError, match="outside 0..3"):
        align_text(make_ad("a1"), codebook_size=4)


# --------------------------------------------------------------------------- split


def test_split_is_stable_when_ads_are_added_and_disjoint():
    keys = [f"ad-{i}" for i in range(300)]
    first = split_ads(keys, 0.1)
    assert first <= set(keys) and 10 < len(first) < 60
    grown = split_ads(keys + [f"new-{i}" for i in range(300)], 0.1)
    assert grown & set(keys) == first
    assert split_ads(reversed(keys), 0.1) == first
    train = set(keys) - first
    assert train and not (train & first)


def test_split_edge_cases():
    assert split_ads(["only"], 0.5) == set()
    assert split_ads(["a", "b", "c"], 0.0) == set()
    tiny = split_ads(["a", "b", "c"], 1e-12)  # the threshold selects none: smallest md5 is eval
    assert tiny == {min("abc", key=lambda k: hashlib.md5(k.encode()).hexdigest())}
    assert len(split_ads(["a", "b"], 1 - 1e-12)) == 1  # selects all: one goes back to train
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError):
            split_ads(["a", "b"], bad)


# --------------------------------------------------------------------------- the four tasks


def check_samples(ad, samples, pool, levels):
    """Every prompt parses back to the task it was built from and its gold is right."""
    parse = parse_prompt_zh if ad.language == "zh" else parse_prompt_en
    other = parse_prompt_en if ad.language == "zh" else parse_prompt_zh
    clips = usable(ad)
    lines = [c.text for c in clips]
    positives = [tokens_of(c) for c in clips]
    other_tokens = {t for k, t in pool if k != ad.key}
    for row in samples:
        assert list(row) == ["task", "ad_key", "conversations", "system", "tools"]
        assert row["ad_key"] == {"key": ad.key} and row["system"] == row["tools"] == ""
        assert [t["from"] for t in row["conversations"]] == ["human", "gpt"]
        prompt, gold = (t["value"] for t in row["conversations"])
        name, task, track = parse(prompt)
        with pytest.raises(PromptFormatError):
            other(prompt)
        assert (name, track) == (row["task"], "tokens")
        assert task.product == ad.product
        shown = [c.tokens for c in task.clips]
        assert [c.number for c in task.clips] == list(range(1, len(shown) + 1))
        answer = parse_answer(task, gold)
        assert answer.ok and not [r for r in answer.repairs if "audio levels" not in r]
        if isinstance(task, SelectTask):
            assert task.script_lines == lines and task.n_select == len(clips)
            picked = answer.value
            assert picked == sorted(picked) and len(picked) == len(clips)
            assert sorted(shown[i - 1] for i in picked) == sorted(positives)
            distractors = [t for i, t in enumerate(shown, 1) if i not in picked]
            assert len(distractors) == max(1, len(clips))
            assert all(t not in positives and t in other_tokens for t in distractors)
        elif isinstance(task, SortTask):
            assert task.script_lines == lines
            assert [shown[i - 1] for i in answer.value] == positives
        elif isinstance(task, ScriptTask):
            assert shown == positives and answer.value == lines
        else:
            assert isinstance(task, MusicTask)
            assert task.script_lines == lines and shown == positives
            assert answer.value == [(lv, int(c)) for lv, c in enumerate(ad.track_codes)]
        codes = [clip_codes(ref, levels=levels, codebook_size=CB) for ref in task.clips]
        assert [clip_string(c, None, CB) for c in codes] == shown  # strict parse at the tokenizer's size
        if isinstance(task, (ScriptTask, MusicTask)):
            for got, clip in zip(codes, clips, strict=True):
                np.testing.assert_array_equal(got, clip.codes)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("levels", [2, 8])
def test_each_task_parses_back_and_its_gold_is_right(language, levels):
    ads = corpus(6, levels=levels, language=language)
    pool = clip_pool(ads, codebook_size=CB)
    for ad in ads:
        samples, skipped = sft_samples(ad, pool, codebook_size=CB)
        assert [r["task"] for r in samples] == list(TASKS) and skipped == {}
        check_samples(ad, samples, pool, levels)


def test_distractors_never_come_from_the_same_ad_nor_repeat_its_clips():
    ads = corpus(5)
    # Another ad holds a clip identical to one of ad-0's: it must never be a distractor for ad-0.
    twin = usable(ads[0])[0]
    copy = make_ad("copycat", n=3)
    ads.append(TokenisedAd(copy.key, "zh", copy.product, [twin, *copy.clips], copy.track_codes))
    pool = clip_pool(ads, codebook_size=CB)
    assert [k for k, _ in pool] == sorted(k for k, _ in pool)
    assert len(pool) == sum(len(usable(ad)) for ad in ads)
    for ad in ads:
        own = {tokens_of(c) for c in usable(ad)}
        row = sft_samples(ad, pool, codebook_size=CB)[0][0]
        _, task, _ = parse_prompt_zh(row["conversations"][0]["value"])
        picked = {int(x) for x in row["conversations"][1]["value"].split(",")}
        for ref in task.clips:
            if ref.number not in picked:
                assert ref.tokens not in own
                assert any(k != ad.key and t == ref.tokens for k, t in pool)


def test_a_small_pool_gives_what_it_has():
    ads = [make_ad("big", n=6, levels=8), make_ad("small", n=3, levels=8)]  # 8 levels: no clip in common
    pool = clip_pool(ads, codebook_size=CB)
    rows, _ = sft_samples(ads[0], pool, codebook_size=CB)
    _, task, _ = parse_prompt_zh(rows[0]["conversations"][0]["value"])
    assert len(task.clips) == 6 + 3  # all three clips of the only other ad


def test_rebuild_is_byte_identical_whatever_the_ad_order():
    ads = corpus(10)
    shuffled = ads[:]
    random.Random(7).shuffle(shuffled)
    assert all_rows(ads) == all_rows(shuffled)
    assert all_rows(ads, one_task=True) == all_rows(shuffled, one_task=True)


def test_rebuild_is_byte_identical_in_another_process():
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    out = subprocess.run(
        [sys.executable, "-c", "from tests.dataset.test_samples import corpus_digest; print(corpus_digest())"],
        cwd=_REPO, env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == corpus_digest()


def test_randomness_differs_between_ads_and_tasks():
    ads = [make_ad(f"same-{i}", n=8) for i in range(4)]
    pool = clip_pool(ads, codebook_size=CB)
    golds = {(ad.key, r["task"]): r["conversations"][1]["value"]
             for ad in ads for r in sft_samples(ad, pool, codebook_size=CB)[0]}
    assert len({golds[(ad.key, "vid_sort")] for ad in ads}) > 1
    assert len({golds[(ad.key, "vid_select")] for ad in ads}) > 1


@pytest.mark.parametrize("language", ["zh", "en"])
def test_draws_give_each_ad_new_clip_orders_with_right_golds(language):
    ads = corpus(8, levels=8, language=language)
    pool = clip_pool(ads, codebook_size=CB)
    one, several = all_rows(ads), all_rows(ads, draws=3)
    assert all_rows(ads, draws=3) == several  # seeded per ad and draw
    for ad in ads:
        rows = [json.loads(r) for r in several[ad.key][0]]
        assert [r["task"] for r in rows] == ["vid_select"] * 3 + ["vid_sort"] * 3 + ["vid2text", "vid2aud"]
        check_samples(ad, rows, pool, 8)
        # The first draw is the one-draw row, so draws=1 writes what the builder always wrote.
        firsts = [json.dumps(rows[i], ensure_ascii=False) for i in (0, 3, 6, 7)]
        assert firsts == one[ad.key][0]
        for task in ("vid_select", "vid_sort"):
            prompts = {r["conversations"][0]["value"] for r in rows if r["task"] == task}
            assert len(prompts) >= 2  # another order (3 clips have only 6, so two draws may agree)
    with pytest.raises(ValueError, match="draws"):
        sft_samples(ads[0], pool, draws=0, codebook_size=CB)


def test_language_picks_the_prompts():
    headers = {"zh": "\n【商品】：孕妇钙片\n【品牌】：胎宝\n【卖点】：['含210毫克钙', '不含重金属']\n",
               "en": "\n[Product]: Calcium tablets\n[Brand]: Taibao\n"
                     "[Selling points]: 210 mg calcium; no heavy metals\n"}
    parsers = {"zh": parse_prompt_zh, "en": parse_prompt_en}
    for language, other_language in (("zh", "en"), ("en", "zh")):
        parse, other = parsers[language], parsers[other_language]
        ads = corpus(3, language=language)
        rows = sft_samples(ads[0], clip_pool(ads, codebook_size=CB), codebook_size=CB)[0]
        assert len(rows) == 4
        for row in rows:
            prompt = row["conversations"][0]["value"]
            assert parse(prompt)[0] == row["task"] and headers[language] in prompt
            with pytest.raises(PromptFormatError):
                other(prompt)
    with pytest.raises(ValueError, match="language"):
        sft_samples(TokenisedAd("x", "fr", PRODUCTS["en"], [], None), [])


def test_a_clip_text_is_one_script_line():
    ad = make_ad("ws", n=3, extras=False)
    ad.clips[1] = TokenisedClip("  第一句，\n 第二句。\t", ad.clips[1].codes)
    rows = {r["task"]: r for r in sft_samples(ad, [], codebook_size=CB)[0]}
    assert rows["vid2text"]["conversations"][1]["value"] == "ws第1句，\n第一句， 第二句。\nws第3句，"
    _, task, _ = parse_prompt_zh(rows["vid_sort"]["conversations"][0]["value"])
    assert task.script_lines == ["ws第1句，", "第一句， 第二句。", "ws第3句，"]


# --------------------------------------------------------------------------- skipped


def test_skipped_reasons():
    ads = corpus(4)
    pool = clip_pool(ads, codebook_size=CB)

    def run(ad, pool=pool):
        return sft_samples(ad, pool, codebook_size=CB)

    samples, skipped = run(make_ad("np", product=None))
    assert samples == [] and skipped == {t: "no product facts" for t in TASKS}
    samples, skipped = run(make_ad("nb", product=Product("钙片", " ", ["好"])))
    assert samples == [] and skipped == {t: "incomplete product facts: no brand" for t in TASKS}
    samples, skipped = run(make_ad("ns", product=Product("钙片", "胎宝", [])))
    assert skipped["vid2text"] == "incomplete product facts: no selling points"

    few = make_ad("few", n=MIN_CLIPS - 1)  # plus video-only, text-only and blank clips: not counted
    samples, skipped = run(few)
    reason = f"{MIN_CLIPS - 1} clips with text and frames; 3 to 30 needed"
    assert samples == [] and skipped == {t: reason for t in TASKS}
    samples, skipped = run(make_ad("many", n=MAX_CLIPS + 1))
    assert samples == [] and set(skipped) == set(TASKS) and skipped["vid_sort"].startswith("31 clips")
    assert [r["task"] for r in run(make_ad("edge", n=MAX_CLIPS))[0]] == list(TASKS)

    samples, skipped = run(make_ad("quiet", music=False))
    assert [r["task"] for r in samples] == list(TASKS[:3]) and skipped == {"vid2aud": "no music"}

    alone = make_ad("alone")
    samples, skipped = run(alone, clip_pool([alone], codebook_size=CB))
    assert [r["task"] for r in samples] == list(TASKS[1:])
    assert skipped == {"vid_select": "no distractors: no other ad in its split to draw them from"}
    mirror = TokenisedAd("mirror", "zh", alone.product, alone.clips, None)
    samples, skipped = run(alone, clip_pool([alone, mirror], codebook_size=CB))
    assert skipped == {"vid_select": "no distractors: every clip of the other ads repeats one of this ad's"}
    assert clip_pool([make_ad("np", product=None), few], codebook_size=CB) == []


# --------------------------------------------------------------------------- one task per ad


def test_one_task_mode_gives_one_task_per_ad_deterministically():
    ads = corpus(40) + [make_ad(f"quiet-{i}", music=False) for i in range(10)]
    full = all_rows(ads)
    one = all_rows(ads, one_task=True)
    assert one == all_rows(list(reversed(ads)), one_task=True)
    chosen = []
    for ad in ads:
        rows, skipped = one[ad.key]
        assert len(rows) == 1 and rows[0] in full[ad.key][0]  # the same sample as in full mode
        task = json.loads(rows[0])["task"]
        chosen.append(task)
        assert set(skipped) == set(TASKS) - {task}
        if ad.track_codes is None:
            assert task != "vid2aud" and skipped["vid2aud"] == "no music"
        else:
            assert all(r == f"one task per ad: {task} chosen" for r in skipped.values())
    assert set(chosen) == set(TASKS)
    samples, skipped = sft_samples(make_ad("np", product=None), [], one_task=True, codebook_size=CB)
    assert samples == [] and skipped == {t: "no product facts" for t in TASKS}


# --------------------------------------------------------------------------- release format


def test_numbered_rows_read_back_as_release_rows(tmp_path):
    ads = corpus(3)
    rows = [r for ad in ads for r in sft_samples(ad, clip_pool(ads, codebook_size=CB), codebook_size=CB)[0]]
    numbered = with_sample_ids(rows)
    assert next(iter(numbered[0])) == "sample_id" and [r["sample_id"] for r in numbered] == list(range(len(rows)))
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in numbered), encoding="utf-8")
    loaded, problems = load_release_rows(path)
    assert problems == []
    assert [(r.task, r.ad_key, r.prompt, r.gold) for r in loaded] == [
        (r["task"], r["ad_key"], r["conversations"][0]["value"], r["conversations"][1]["value"]) for r in rows]


DEV = dev_dir()


def _released(name, ad_key):
    rows, problems = load_release_rows(DEV / name)
    assert problems == []
    return next(r for r in rows if r.ad_key == ad_key)


@pytest.mark.skipif(DEV is None, reason="autocut364 dev files not present")
def test_chinese_prompts_match_the_released_ones():
    """Rebuild a released test ad (8 levels x 256 codes) from its vid2text row: our vid2text
    sample is that row byte for byte; our sort and select prompts equal the released ones
    once given the released clip lists (ours are shuffled with other seeds)."""
    ad_key = {"chunk_id": 99, "ad_id": 5595}
    script_row = _released("F___vid2text_atc_embsft.jsonl", ad_key)
    _, script, track = parse_prompt_zh(script_row.prompt)
    assert track == "tokens"
    lines = script_row.gold.split("\n")
    ad = TokenisedAd("99:5595", "zh", script.product,
                     [TokenisedClip(line, clip_codes(ref)) for line, ref in zip(lines, script.clips, strict=True)],
                     np.arange(8))
    other = make_ad("other", n=20, levels=8)
    samples, skipped = sft_samples(ad, clip_pool([ad, other]))
    assert skipped == {}
    mine = {r["task"]: r["conversations"] for r in samples}
    assert mine["vid2text"] == [{"from": "human", "value": script_row.prompt},
                                {"from": "gpt", "value": script_row.gold}]

    sort_row = _released("F___vidsort_atc_embsft.jsonl", ad_key)
    _, released_sort, _ = parse_prompt_zh(sort_row.prompt)
    _, my_sort, _ = parse_prompt_zh(mine["vid_sort"][0]["value"])
    assert my_sort.script_lines == released_sort.script_lines == lines
    rebuilt = build_prompt_zh(SortTask(my_sort.product, my_sort.script_lines, released_sort.clips), "tokens")
    assert rebuilt == sort_row.prompt

    select_row = _released("F___vidselect_atc_embsft.jsonl", ad_key)
    _, released_select, _ = parse_prompt_zh(select_row.prompt)
    _, my_select, _ = parse_prompt_zh(mine["vid_select"][0]["value"])
    assert (my_select.script_lines, my_select.n_select) == (released_select.script_lines, released_select.n_select)
    assert len(my_select.clips) == len(released_select.clips) == 2 * len(lines)
    assert build_prompt_zh(SelectTask(my_select.product, my_select.script_lines, released_select.clips,
                                      my_select.n_select), "tokens") == select_row.prompt
    # The released vid2aud target form: the track between its audio sentinels.
    track = "".join(f"<a_{i}_{i}>" for i in range(8))
    assert mine["vid2aud"][1]["value"] == f"<|audio_start|>{track}<|audio_end|>"
