from __future__ import annotations

import random

import pytest

from adcut.tasks.parse import Parsed, parse_answer, parse_music, parse_order, parse_script, parse_selection
from adcut.tasks.prompts_zh import parse_prompt_zh
from adcut.tasks.release import load_release_rows
from adcut.tasks.types import ClipRef, MusicTask, Product, ScriptTask, SelectTask, SortTask
from tests.tasks import RELEASE_FILES, dev_dir

DEV = dev_dir()

# Rows that parse as usable, per file: every select/sort output, every script output but
# the two empty GPT-4o ones (samples 143 and 157).
EXPECTED_OK = {
    "F___vidselect_Qwen3_8B.jsonl": 102, "F___vidselect_gpt4o.jsonl": 101, "F___vidselect_atc_embsft.jsonl": 102,
    "F___vidsort_Qwen3_8B.jsonl": 102, "F___vidsort_gpt4o.jsonl": 101, "F___vidsort_atc_embsft.jsonl": 102,
    "F___vid2text_Qwen3_8B.jsonl": 102, "F___vid2text_gpt4o.jsonl": 98, "F___vid2text_atc_embsft.jsonl": 102,
}
# ... and that needed no repair at all.
EXPECTED_CLEAN = {
    "F___vidselect_Qwen3_8B.jsonl": 88, "F___vidselect_gpt4o.jsonl": 101, "F___vidselect_atc_embsft.jsonl": 102,
    "F___vidsort_Qwen3_8B.jsonl": 96, "F___vidsort_gpt4o.jsonl": 100, "F___vidsort_atc_embsft.jsonl": 101,
    "F___vid2text_Qwen3_8B.jsonl": 98, "F___vid2text_gpt4o.jsonl": 84, "F___vid2text_atc_embsft.jsonl": 101,
}


@pytest.mark.skipif(DEV is None, reason="autocut364 dev files not present")
@pytest.mark.parametrize("name", sorted(RELEASE_FILES))
def test_released_outputs_parse(name):
    rows, _ = load_release_rows(DEV / name)
    ok = clean = 0
    for row in rows:
        _, task, _ = parse_prompt_zh(row.prompt)
        got = parse_answer(task, row.model_generate)
        assert isinstance(got, Parsed)
        assert got.ok == (got.value is not None) and (got.reason is None) == got.ok
        ok += got.ok
        clean += got.clean
        if isinstance(task, SortTask) and got.ok:
            assert sorted(got.value) == list(range(1, len(task.clips) + 1))
        if isinstance(task, SelectTask) and got.ok:
            assert len(set(got.value)) == len(got.value) and all(1 <= i <= len(task.clips) for i in got.value)
        # Gold answers are well formed by construction: they parse clean.
        gold = parse_answer(task, row.gold)
        assert gold.clean, (row.sample_id, gold.repairs)
    assert (ok, clean) == (EXPECTED_OK[name], EXPECTED_CLEAN[name])


# ------------------------------------------------------------------ selection


@pytest.mark.parametrize("text,want", [
    ("1,4,8", [1, 4, 8]),
    ("1、4、8", [1, 4, 8]),
    ("1，4，8", [1, 4, 8]),
    ("１，４，８", [1, 4, 8]),  # full-width digits
    ("[1, 4, 8]", [1, 4, 8]),
    ("Clips 1, 4 and 8", [1, 4, 8]),
    ("片段1和片段4以及片段8", [1, 4, 8]),
    ("#1 #4 #8", [1, 4, 8]),
    ("1\n4\n8", [1, 4, 8]),
    ("正确答案是1,4,8，因为这些片段都有奶粉。", [1, 4, 8]),
    ("I pick 3 clips: 1, 4, 8.", [1, 4, 8]),
    ("<think>\n片段2和片段3不相关，只有12像</think>\n\n1,4,8", [1, 4, 8]),
    ("<think>\n\n</think>\n\n1,4,8<|im_end|>", [1, 4, 8]),
    ("```\n1,4,8\n```", [1, 4, 8]),
    ("1-3, 8", [1, 2, 3, 8]),
    ("Clip 1: a hand holding the tin\nClip 4: the tin on a table with 2 lids", [1, 4]),
])
def test_selection_forms(text, want):
    got = parse_selection(text, n_clips=10)
    assert got.ok and got.value == want, got


def test_selection_repairs_are_named():
    got = parse_selection("1,4,4,12,0,8", n_clips=10, n_select=4)
    assert got.value == [1, 4, 8]
    assert any("out-of-range" in r and "12" in r for r in got.repairs)
    assert any("repeated" in r for r in got.repairs)
    assert "3 clips chosen, 4 asked" in got.repairs
    assert parse_selection("1,4,8", 10, 3).clean
    assert not parse_selection("正确答案是1,4,8", 10, 3).clean


@pytest.mark.parametrize("text", ["", "   ", "我无法判断", "<think>1,2,3", "99, 100", None, 12, "</think>"])
def test_selection_rejects_with_a_reason(text):
    got = parse_selection(text, n_clips=10)
    assert not got.ok and got.value is None and got.reason


# ------------------------------------------------------------------ order


@pytest.mark.parametrize("text,want", [
    ("3,1,2", [3, 1, 2]),
    ("3, 1, 2", [3, 1, 2]),
    ("3 → 1 → 2", [3, 1, 2]),
    ("3-1-2", [3, 1, 2]),
    ("3>1>2", [3, 1, 2]),
    ("312", [3, 1, 2]),  # digits run together, fewer than 10 clips
    ("正确顺序：3，1，2", [3, 1, 2]),
    ("[3,1,2]", [3, 1, 2]),
])
def test_order_forms(text, want):
    got = parse_order(text, n_clips=3)
    assert got.ok and got.value == want, got


def test_order_repairs_and_rejections():
    got = parse_order("3,3,1", n_clips=3)
    assert got.value == [3, 1, 2] and any("missing" in r for r in got.repairs)
    got = parse_order("4,2,7,2,1,9", n_clips=6)
    assert got.value == [4, 2, 1, 3, 5, 6]
    assert not parse_order("5", n_clips=10).ok  # 1 of 10: mostly invented
    assert "only 1 of 10" in parse_order("5", n_clips=10).reason
    assert not parse_order("no idea", n_clips=4).ok
    assert parse_order("1,2,3", 3).clean


def test_parsers_never_raise_on_garbage():
    rng = random.Random(7)
    alphabet = "0123456789,，、 \n-~<>|/[](){}thinkabc第句：:.。`\"'#\u3000１２"
    for _ in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        for got in (parse_selection(text, 12, 4), parse_order(text, 12), parse_script(text, 3),
                    parse_music(text), parse_music(text, 5)):
            assert isinstance(got, Parsed)
            assert got.ok == (got.value is not None)
    # A huge output stays fast and safe.
    big = ", ".join(str(i % 50) for i in range(20000)) + " 因为" * 5000
    assert parse_selection(big, 30).ok and parse_order(big, 30).ok


# ------------------------------------------------------------------ script


def test_script_strips_numbering_but_not_content():
    text = ("1. 买一送一，\n2) 只要99元，\n(3) 限时抢购！\n第四句：赶紧下单\n- 4.69万元起\n• 1.6L排量\n"
            "3-5天发货\n“口碑之选”\nLine 9: Ten colours.")
    got = parse_script(text, n_lines=9)
    assert got.value == ["买一送一，", "只要99元，", "限时抢购！", "赶紧下单", "4.69万元起", "1.6L排量",
                         "3-5天发货", "口碑之选", "Ten colours."]
    assert got.ok and any("numbering" in r for r in got.repairs) and any("quotes" in r for r in got.repairs)


def test_script_cleaning():
    got = parse_script("<think>先想想</think>\n好的，以下是台词：\n```\n第一句\n\n第二句  \n```", n_lines=2)
    assert got.value == ["第一句", "第二句"]
    assert any("think" in r for r in got.repairs) and any("fence" in r for r in got.repairs)
    got = parse_script("以下是台词：\n一\n二\n三", n_lines=3)
    assert got.value == ["一", "二", "三"] and "dropped an introductory line" in got.repairs
    got = parse_script("一\n\n二\n\n三", n_lines=3)
    assert got.value == ["一", "二", "三"] and "dropped 2 blank lines" in got.repairs
    assert parse_script("一\n二", n_lines=3).repairs == ["2 lines written, 3 asked"]
    assert parse_script("一\n二", n_lines=2).clean
    assert not parse_script("", 3).ok and not parse_script("1.\n2)\n-", 3).ok


# ------------------------------------------------------------------ music


def test_music_tokens():
    toks = "".join(f"<a_{i}_{c}>" for i, c in enumerate([28, 211, 12, 35, 6, 170, 10, 158]))
    got = parse_music(toks)
    assert got.clean and got.value == [(0, 28), (1, 211), (2, 12), (3, 35), (4, 6), (5, 170), (6, 10), (7, 158)]
    got = parse_music(f"<think></think><|audio_start|>{toks}<|audio_end|>")
    assert got.ok and len(got.value) == 8
    got = parse_music(toks + "<a_0_1>")
    assert len(got.value) == 8 and any("first 8" in r for r in got.repairs)
    got = parse_music("<a_0_28><a_1_999><a_2_3>")
    assert got.value == [(0, 28), (2, 3)] and any("out-of-range" in r for r in got.repairs)
    assert any("not 0..1 in order" in r for r in got.repairs)
    assert not parse_music("欢快的音乐").ok


def test_music_track_number():
    assert parse_music("3", n_candidates=5).value == [3]
    assert parse_music("我选择第 2 首。", n_candidates=5).value == [2]
    got = parse_music("9, 4", n_candidates=5)
    assert got.value == [4] and got.repairs
    assert not parse_music("7", n_candidates=5).ok


def test_parse_answer_dispatch():
    product = Product("p", "b", [])
    clips = [ClipRef(i) for i in range(1, 5)]
    assert parse_answer(SelectTask(product, ["a", "b"], clips, 2), "1,3").value == [1, 3]
    assert parse_answer(SortTask(product, ["a"] * 4, clips), "4,3,2,1").value == [4, 3, 2, 1]
    assert parse_answer(ScriptTask(product, clips[:2]), "x\ny").clean
    assert parse_answer(MusicTask(product, [], clips), "<a_0_1>").ok
    assert not parse_answer("not a task", "1").ok  # type: ignore[arg-type]
