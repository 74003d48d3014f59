"""LLMPlanner over a local OpenAI-compatible server with canned answers: clean answers,
messy ones repaired and explained, one retry on garbage, a clear error on garbage twice,
and the choice between the Chinese and English prompts."""

from __future__ import annotations

import inspect

import pytest

from adcut.core.errors import AdcutError, BadInputError, DependencyError
from adcut.planner.backends import OpenAIBackend
from adcut.planner.base import Hints, Planner
from adcut.planner.llm import LLMPlanner, PlannerOutputError, detect_language, match_audio_tokens
from adcut.tasks.prompts_en import build_prompt_en
from adcut.tasks.prompts_zh import build_prompt_zh
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    AudioCandidate,
    ClipRef,
    MusicTask,
    Product,
    ScriptTask,
    SelectTask,
    SortTask,
)
from tests.planner_llm import serve

EN_PRODUCT = Product(name="Spark running shoe", brand="Stride", selling_points=["light", "fast"])
ZH_PRODUCT = Product(name="保湿面霜", brand="水润", selling_points=["补水", "温和"])
EN_CLIPS = [ClipRef(number=i, caption=c) for i, c in enumerate(
    ["a runner at dawn", "close-up of the shoe sole", "a cat on a sofa", "shoe box on a table", "city traffic"], 1)]
ZH_CLIPS = [ClipRef(number=i, caption=c) for i, c in enumerate(
    ["女生涂抹面霜", "面霜特写", "猫在沙发上", "产品包装", "城市街景"], 1)]
EN_LINES = ["Meet Spark.", "Feel the lightness.", "Get yours today."]
ZH_LINES = ["冬天皮肤干？", "一抹就水润。", "快来试试吧！"]


def en_select(n: int = 2) -> SelectTask:
    return SelectTask(product=EN_PRODUCT, script_lines=EN_LINES[:n], clips=EN_CLIPS, n_select=n)


def planner(url: str, **kw) -> LLMPlanner:
    return LLMPlanner(OpenAIBackend(url, "tiny-chat"), **kw)


def test_is_a_planner_named_after_its_backend():
    p: Planner = planner("http://127.0.0.1:9/v1")
    assert p.name == "llm:openai:tiny-chat"
    for method in ("select", "order", "write", "music"):  # the interface's exact signatures
        ours, theirs = inspect.signature(getattr(LLMPlanner, method)), inspect.signature(getattr(Planner, method))
        assert list(ours.parameters) == list(theirs.parameters)


def test_clean_answers_for_the_four_tasks():
    music = MusicTask(product=EN_PRODUCT, script_lines=EN_LINES, clips=EN_CLIPS[:3], audio_candidates=[
        AudioCandidate(number=1, description="calm piano, 70 BPM"),
        AudioCandidate(number=2, description="energetic electronic, 128 BPM")])
    with serve(["1,2", "3,1,2", "Meet Spark.\nFeel the lightness.\nGet yours today.", "2"]) as srv:
        p = planner(srv.url)
        sel = p.select(en_select())
        order = p.order(SortTask(product=EN_PRODUCT, script_lines=EN_LINES, clips=EN_CLIPS[:3]))
        script = p.write(ScriptTask(product=EN_PRODUCT, clips=EN_CLIPS[:3]))
        track = p.music(music)
    assert (sel.value, sel.explanation) == ([1, 2], [])
    assert (order.value, order.explanation) == ([3, 1, 2], [])
    assert (script.value, script.explanation) == (EN_LINES, [])
    assert (track.value, track.explanation) == (2, [])
    assert len(srv.requests) == 4  # no retries on clean answers
    assert srv.prompts()[3] == build_prompt_en(music, TRACK_CAPTION)


def test_messy_selection_is_repaired_and_explained():
    with serve(["Sure! The clips are 3, 1 and 3, 9"]) as srv:
        d = planner(srv.url).select(en_select(2))
    assert d.value == [3, 1]
    text = " | ".join(d.explanation)
    assert "9" in text and "out-of-range" in text and "repeated" in text
    assert len(srv.requests) == 1  # repaired, not retried


def test_short_selection_is_padded_and_long_one_cut():
    with serve(["Sure! The clips are 3, 1 and 3, 9", "5, 4, 2, 1"]) as srv:
        p = planner(srv.url)
        short = p.select(en_select(3))
        long = p.select(en_select(2))
    assert short.value == [3, 1, 2]
    assert any("added clips [2]" in e for e in short.explanation)
    assert long.value == [5, 4]
    assert any("kept the first 2" in e for e in long.explanation)


def test_messy_order_and_script_are_repaired():
    sort = SortTask(product=EN_PRODUCT, script_lines=EN_LINES, clips=EN_CLIPS[:3])
    script = ScriptTask(product=EN_PRODUCT, clips=EN_CLIPS[:3])
    numbered = '1. "Meet Spark."\n\n2) Feel the lightness.\n3. Get yours today.\n4. Extra line.'
    with serve(["The order: 2 -> 2 -> 3", numbered,
                "Meet Spark.\nGet yours today."]) as srv:
        p = planner(srv.url)
        order = p.order(sort)
        lines = p.write(script)
        short = p.write(script)
    assert order.value == [2, 3, 1] and any("appended missing ids [1]" in e for e in order.explanation)
    assert lines.value == EN_LINES
    assert any("numbering" in e for e in lines.explanation) and any("kept the first 3" in e for e in lines.explanation)
    assert short.value == ["Meet Spark.", "Get yours today.", ""]
    assert any("clips [3] have no line" in e for e in short.explanation)


def test_garbage_then_good_answer_retries_once():
    with serve(["I'm sorry, I can't help with that.", "2,4"]) as srv:
        d = planner(srv.url).select(en_select(2))
    assert d.value == [2, 4]
    assert d.explanation[0].startswith("first answer unusable (no clip numbers")
    first, second = srv.prompts()
    assert first == build_prompt_en(en_select(2), TRACK_CAPTION)
    assert second.startswith(first + "\n") and second.count("\n") == first.count("\n") + 1  # one line added
    assert "exactly 2 different numbers between 1 and 5" in second


def test_garbage_twice_is_a_clear_error():
    garbage = "As an AI language model I would rather describe the mood of the footage in detail " * 3
    with serve([garbage]) as srv:
        with pytest.raises(PlannerOutputError) as exc:
            planner(srv.url).select(en_select(2))
    assert len(srv.requests) == 2  # one retry, no more
    err = exc.value
    assert isinstance(err, AdcutError) and err.exit_code == 2
    assert "clip selection (vid_select)" in err.message and "llm:openai:tiny-chat" in err.message
    assert garbage[:80].strip() in err.message and garbage[:81] not in err.message
    assert "zero-shot" in err.hint


def test_every_task_retries_and_fails_clearly():
    tasks = [SortTask(product=ZH_PRODUCT, script_lines=ZH_LINES, clips=ZH_CLIPS[:3]),
             ScriptTask(product=ZH_PRODUCT, clips=ZH_CLIPS[:3]),
             MusicTask(product=ZH_PRODUCT, script_lines=ZH_LINES, clips=ZH_CLIPS[:3],
                       audio_candidates=[AudioCandidate(number=1, description="轻快")])]
    methods = ["order", "write", "music"]
    names = ["vid_sort", "vid2text", "vid2aud"]
    with serve(["\n\n"]) as srv:
        p = planner(srv.url)
        for task, method, name in zip(tasks, methods, names):
            with pytest.raises(PlannerOutputError, match=name):
                getattr(p, method)(task)
    prompts = srv.prompts()
    assert len(prompts) == 6
    assert all("【重要】上一次的回答无法使用" in prompts[i] for i in (1, 3, 5))


def test_prompt_language_follows_the_text():
    zh_task = SelectTask(product=ZH_PRODUCT, script_lines=ZH_LINES[:2], clips=ZH_CLIPS, n_select=2)
    with serve(["1,2"]) as srv:
        planner(srv.url).select(zh_task)  # auto
        planner(srv.url).select(en_select(2))  # auto
        planner(srv.url, language="en").select(zh_task)
        planner(srv.url, language="zh").select(en_select(2))
    assert srv.prompts() == [
        build_prompt_zh(zh_task, TRACK_CAPTION),
        build_prompt_en(en_select(2), TRACK_CAPTION),
        build_prompt_en(zh_task, TRACK_CAPTION),
        build_prompt_zh(en_select(2), TRACK_CAPTION),
    ]
    assert srv.prompts()[0].startswith("你是专业的视频剪辑师")


def test_detect_language():
    # A Chinese script with a Latin brand name is Chinese; an English one with one Han word is not.
    mixed = SortTask(product=Product(name="iPhone 15", brand="Apple"), script_lines=ZH_LINES, clips=ZH_CLIPS[:3])
    assert detect_language(mixed) == "zh"
    assert detect_language(SortTask(product=EN_PRODUCT, script_lines=EN_LINES + ["好"], clips=EN_CLIPS[:4])) == "en"
    # No product or script text: captions decide, then the fallback.
    bare = ScriptTask(product=Product(name="", brand=""), clips=ZH_CLIPS[:2])
    assert detect_language(bare) == "zh"
    blank = ScriptTask(product=Product(name="", brand=""), clips=[ClipRef(number=1)])
    assert detect_language(blank) == "en" and detect_language(blank, "zh") == "zh"
    with serve(["台词"]) as srv:
        planner(srv.url).write(blank, Hints(language="zh"))
    assert srv.prompts()[0].startswith("你是专业广告台词助手")


def test_music_tokens_track_matches_candidates_by_codes():
    def toks(codes):
        return "".join(f"<a_{lv}_{c}>" for lv, c in enumerate(codes))

    near, far = [5, 9, 1, 1, 1, 1, 1, 1], [5, 7, 2, 2, 2, 2, 2, 2]
    cands = [AudioCandidate(number=1, tokens=toks(far)), AudioCandidate(number=2, tokens=toks(near))]
    task = MusicTask(product=ZH_PRODUCT, script_lines=ZH_LINES, clips=ZH_CLIPS[:3], audio_candidates=cands)
    answer = "<|audio_start|>" + toks([5, 9, 1, 3, 3, 3, 3, 3]) + "<|audio_end|>"
    with serve([answer]) as srv:
        d = planner(srv.url, track=TRACK_TOKENS).music(task)
    assert d.value == 2 and "matched to track 2" in d.explanation[-1]
    assert "<|clip_start|><|text_start|>冬天皮肤干？" in srv.prompts()[0]
    assert match_audio_tokens([(0, 1)], [AudioCandidate(number=1)]) is None
    # Without candidate tokens the generated tokens come back as strings.
    bare = MusicTask(product=ZH_PRODUCT, script_lines=ZH_LINES, clips=ZH_CLIPS[:3])
    with serve([answer]) as srv:
        d = planner(srv.url, track=TRACK_TOKENS).music(bare)
    assert d.value == [f"<a_{lv}_{c}>" for lv, c in enumerate([5, 9, 1, 3, 3, 3, 3, 3])]


def test_music_choice_from_prose():
    task = MusicTask(product=EN_PRODUCT, script_lines=EN_LINES, clips=EN_CLIPS[:3], audio_candidates=[
        AudioCandidate(number=i, description=f"track {i}") for i in (1, 2, 3)])
    with serve(["<think>calm or upbeat?</think>Track 3 fits the energy best."]) as srv:
        d = planner(srv.url).music(task)
    assert d.value == 3


def test_server_errors_are_not_retried():
    with serve([(500, b"boom")]) as srv:
        with pytest.raises(DependencyError, match="HTTP 500"):
            planner(srv.url).select(en_select(2))
    assert len(srv.requests) == 1
    with pytest.raises(DependencyError, match="unreachable"):
        planner("http://127.0.0.1:9/v1").select(en_select(2))


def test_bad_arguments():
    url = "http://127.0.0.1:9/v1"
    with pytest.raises(BadInputError):
        planner(url, language="fr")
    with pytest.raises(BadInputError):
        planner(url, track="pixels")
    with pytest.raises(BadInputError):
        planner(url).select(SelectTask(product=EN_PRODUCT, script_lines=EN_LINES, clips=EN_CLIPS[:2], n_select=3))
    with pytest.raises(BadInputError, match="candidate tracks"):
        planner(url).music(MusicTask(product=EN_PRODUCT, script_lines=EN_LINES, clips=EN_CLIPS[:3]))
    with pytest.raises(BadInputError):
        planner(url).order(SortTask(product=EN_PRODUCT, script_lines=[], clips=[]))
