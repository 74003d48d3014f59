from __future__ import annotations

import re

import pytest

from adcut.tasks.prompts_zh import (
    PromptFormatError,
    build_music_prompt_zh,
    build_prompt_zh,
    build_script_prompt_zh,
    build_select_prompt_zh,
    build_sort_prompt_zh,
    parse_prompt_zh,
)
from adcut.tasks.release import load_release_rows
from adcut.tasks.types import (
    AudioCandidate,
    ClipRef,
    MusicTask,
    Product,
    ScriptTask,
    SelectTask,
    SortTask,
)
from tests.tasks import RELEASE_FILES, dev_dir

DEV = dev_dir()
needs_dev = pytest.mark.skipif(DEV is None, reason="autocut364 dev files not present")

# Rows per file in the dev slice (README table).
EXPECTED_ROWS = {
    "F___vidselect_gpt4o.jsonl": 101, "F___vidsort_gpt4o.jsonl": 101, "F___vid2text_gpt4o.jsonl": 100,
    "F___vidselect_atc_embsft.jsonl": 102, "F___vidsort_atc_embsft.jsonl": 102,
    "F___vid2text_atc_embsft.jsonl": 102, "F___vidselect_Qwen3_8B.jsonl": 102,
    "F___vidsort_Qwen3_8B.jsonl": 102, "F___vid2text_Qwen3_8B.jsonl": 102,
}


@needs_dev
@pytest.mark.parametrize("name", sorted(RELEASE_FILES))
def test_every_released_prompt_rebuilds_byte_for_byte(name):
    rows, problems = load_release_rows(DEV / name)
    assert problems == []
    assert len(rows) == EXPECTED_ROWS[name]
    want_task, want_track = RELEASE_FILES[name]
    builders = {"vid_select": build_select_prompt_zh, "vid_sort": build_sort_prompt_zh,
                "vid2text": build_script_prompt_zh}
    rebuilt = 0
    for row in rows:
        task_name, task, track = parse_prompt_zh(row.prompt)
        assert (task_name, track) == (want_task, want_track) == (row.task, track)
        assert builders[task_name](task, track) == row.prompt, f"{name} sample {row.sample_id}"
        rebuilt += 1
    assert rebuilt == len(rows)


@needs_dev
@pytest.mark.parametrize("name", sorted(RELEASE_FILES))
def test_parsed_parts_are_the_real_parts(name):
    """Not only a round trip: the parts must be what the prompt shows."""
    rows, _ = load_release_rows(DEV / name)
    for row in rows:
        _, task, track = parse_prompt_zh(row.prompt)
        n_shown = len(re.findall(r"\n\d+\)", row.prompt))
        assert len(task.clips) == n_shown
        assert [c.number for c in task.clips] == list(range(1, n_shown + 1))
        assert task.product.selling_points_text is None  # all released ones are canonical lists
        assert task.product.selling_points and all(task.product.selling_points)
        gold_ids = [int(x) for x in re.findall(r"\d+", row.gold)]
        if isinstance(task, SelectTask):
            assert task.n_select == len(gold_ids) == len(task.script_lines)
            assert max(gold_ids) <= len(task.clips)
        elif isinstance(task, SortTask):
            assert sorted(gold_ids) == list(range(1, len(task.clips) + 1))
            assert len(task.script_lines) == len(task.clips)
        else:
            assert len(row.gold.split("\n")) == len(task.clips)
        for clip in task.clips:
            if track == "caption":
                assert clip.caption and "\n" not in clip.caption
            elif track == "image":
                assert len(clip.frame_ids) == 1 and clip.frame_ids[0].isdigit()
            else:
                assert clip.tokens.startswith("<|clip_start|><|video_start|><|frame_start|>")
                assert clip.tokens.endswith("<|frame_end|><|video_end|><|clip_end|>")


@needs_dev
def test_the_three_tracks_describe_the_same_ads():
    by_task: dict[str, dict[str, dict[int, object]]] = {}
    for name, (task_name, track) in RELEASE_FILES.items():
        rows, _ = load_release_rows(DEV / name)
        by_task.setdefault(task_name, {})[track] = {r.sample_id: parse_prompt_zh(r.prompt)[1] for r in rows}
    for task_name, tracks in by_task.items():
        common = set.intersection(*(set(v) for v in tracks.values()))
        assert len(common) >= 100
        for sid in common:
            tasks = [tracks[t][sid] for t in ("caption", "image", "tokens")]
            assert len({len(t.clips) for t in tasks}) == 1
            assert len({(t.product.name, t.product.brand, tuple(t.product.selling_points)) for t in tasks}) == 1
            if task_name != "vid2text":
                assert len({tuple(t.script_lines) for t in tasks}) == 1


PRODUCT = Product(name="孕妇钙片", brand="胎宝", selling_points=["含210毫克钙", "不含重金属", "浓缩营养"])
TOK = "<|clip_start|><|video_start|><|frame_start|><v_0_43><v_1_23><v_2_228><v_3_177><v_4_31><v_5_75><v_6_185><v_7_73><|frame_end|><|video_end|><|clip_end|>"


def test_select_tokens_prompt_has_the_upstream_shape():
    task = SelectTask(product=PRODUCT, script_lines=["第一句，", "第二句。"],
                      clips=[ClipRef(1, tokens=TOK), ClipRef(2, tokens=TOK), ClipRef(3)], n_select=2)
    text = build_select_prompt_zh(task, "tokens")
    assert "【本次台词总句数】：2 段；\n【商品】：孕妇钙片\n【品牌】：胎宝\n" in text
    assert "【卖点】：['含210毫克钙', '不含重金属', '浓缩营养']\n【广告台词如下】\n第一句，\n第二句。\n\n【视频片段素材" in text
    # A clip without tokens gets the upstream empty-frame wrapper.
    assert "\n3)<|clip_start|><|video_start|><|frame_start|><|frame_end|><|video_end|><|clip_end|>\n" in text
    assert text.endswith("\n【现在请输出相关的视频片段编号】")
    assert parse_prompt_zh(text)[1:] == (SelectTask(product=PRODUCT, script_lines=task.script_lines,
        clips=[ClipRef(1, tokens=TOK), ClipRef(2, tokens=TOK),
               ClipRef(3, tokens="<|clip_start|><|video_start|><|frame_start|><|frame_end|><|video_end|><|clip_end|>")],
        n_select=2), "tokens")


def test_music_prompt_is_the_sft_generator_format():
    task = MusicTask(product=PRODUCT, script_lines=["不是爱情不好找，", ""], clips=[ClipRef(1, tokens=TOK), ClipRef(2)])
    text = build_music_prompt_zh(task)
    assert text.startswith("你是专业的广告背景音乐生成助手。请根据广告的商品信息、台词、以及视频片段，输出对应广告的背景音频。\n【输出要求】\n"
                           "1) 只输出一行，且仅包含 <|audio_start|>…<|audio_end|>；\n2) 禁止输出任何解释、编号、引号或额外符号。\n\n【商品】：")
    assert ("【台词和视频片段如下】\n<|clip_start|><|text_start|>不是爱情不好找，<|text_end|><|video_start|><|frame_start|><v_0_43>" in text)
    # Empty line -> 无台词; no tokens -> empty frame; no clip numbers in this prompt.
    assert ("\n<|clip_start|><|text_start|>（无台词）<|text_end|><|video_start|><|frame_start|><|frame_end|>"
            "<|video_end|><|clip_end|>\n【现在请输出相关的背景音乐】") in text
    name, parsed, track = parse_prompt_zh(text)
    assert (name, track) == ("vid2aud", "tokens")
    assert parsed.script_lines == ["不是爱情不好找，", "（无台词）"]
    assert build_music_prompt_zh(parsed) == text


@pytest.mark.parametrize("track", ["caption", "image"])
def test_text_only_music_prompt_round_trips(track):
    clips = [ClipRef(1, caption="一瓶水", frame_ids=["165"]), ClipRef(2, caption=None, frame_ids=[])]
    task = MusicTask(product=PRODUCT, script_lines=["喝水，", "健康。"], clips=clips,
                     audio_candidates=[AudioCandidate(1, "欢快 流行 120 BPM"), AudioCandidate(2)])
    text = build_music_prompt_zh(task, track)
    assert "【候选背景音乐如下】\n1)欢快 流行 120 BPM\n2)（无描述）\n【现在请输出最合适的背景音乐编号】" in text
    name, parsed, got_track = parse_prompt_zh(text)
    assert (name, got_track) == ("vid2aud", track)
    assert build_music_prompt_zh(parsed, got_track) == text
    assert parsed.audio_candidates == [AudioCandidate(1, "欢快 流行 120 BPM"), AudioCandidate(2, None)]
    with pytest.raises(ValueError):
        build_music_prompt_zh(MusicTask(product=PRODUCT, script_lines=[], clips=clips), track)


ODD_CAPTIONS = [
    "一只手拿着{商品}，背景是【促销】字样",  # braces and the section brackets
    "两行描述\n第二行",  # a newline inside a caption
    "  前后有空格  ",
    "1)看起来像编号的描述",
    "含有\n2)假编号的描述",  # an earlier number inside a later caption: still one clip
    "",
    "emoji 🎉 与 \u2028 行分隔符 \t 制表符",
]


@pytest.mark.parametrize("track", ["caption", "image", "tokens"])
@pytest.mark.parametrize("points", [
    ["冰凉透气", "弹力舒适"], [], ["it's", 'say "hi"'], ["无"], ["a\nb"],
])
def test_odd_content_round_trips(track, points):
    clips = [ClipRef(i + 1, caption=c, frame_ids=[str(1650064986970000 + i), "7"][: 1 + i % 2],
                     tokens=TOK if i % 3 else None)
             for i, c in enumerate(ODD_CAPTIONS)]
    product = Product(name="商品 {x}", brand="品牌\n二", selling_points=points)
    lines = ["台词一，", "", "（无台词）", "带【括号】的台词", "  空格  "]
    tasks = [
        SelectTask(product=product, script_lines=lines, clips=clips, n_select=3),
        SortTask(product=product, script_lines=lines, clips=clips),
        ScriptTask(product=product, clips=clips),
    ]
    for task in tasks:
        text = build_prompt_zh(task, track)
        _, parsed, got = parse_prompt_zh(text)
        assert got == track
        assert build_prompt_zh(parsed, track) == text
        assert parsed.product == product
        if track == "caption":
            assert [c.caption for c in parsed.clips] == ODD_CAPTIONS
        if track == "image":
            assert [c.frame_ids for c in parsed.clips] == [c.frame_ids for c in clips]
        if not isinstance(task, ScriptTask):
            assert parsed.script_lines == lines


def test_selling_points_forms():
    base = dict(name="奶粉", brand="某品牌")
    for text, points, keep in [
        ("['买一送一', '价格实惠']", ["买一送一", "价格实惠"], None),
        ("无", [], None),
        ('["双引号"]', ["双引号"], '["双引号"]'),  # not the canonical repr: kept verbatim
        ("冰凉透气，弹力舒适", ["冰凉透气，弹力舒适"], "冰凉透气，弹力舒适"),
        ("[]", [], "[]"),
    ]:
        task = ScriptTask(product=Product(**base, selling_points=points, selling_points_text=keep),
                          clips=[ClipRef(1, caption="x")])
        prompt = build_script_prompt_zh(task, "caption")
        assert f"【卖点】：{text}\n" in prompt
        assert parse_prompt_zh(prompt)[1] == task


def test_missing_placeholders_map_to_none():
    task = ScriptTask(product=PRODUCT, clips=[ClipRef(1), ClipRef(2, caption="有描述")])
    cap = build_script_prompt_zh(task, "caption")
    assert "\n1)（无画面描述）\n2)有描述\n" in cap
    assert parse_prompt_zh(cap)[1] == task
    img = build_script_prompt_zh(task, "image")
    assert "\n1)[NO_FRAME_ID]\n2)[NO_FRAME_ID]\n" in img
    assert parse_prompt_zh(img)[1].clips[0] == ClipRef(1)


def test_not_a_prompt_is_a_clear_error():
    for junk in ["", "你好", "你是专业的视频剪辑师。", "1,2,3"]:
        with pytest.raises(PromptFormatError):
            parse_prompt_zh(junk)
    task = SortTask(product=PRODUCT, script_lines=["a", "b"], clips=[ClipRef(1, caption="x"), ClipRef(2, caption="y")])
    text = build_sort_prompt_zh(task, "caption").replace("共 2 个编号", "共 3 个编号")
    with pytest.raises(PromptFormatError, match="announces 3 clips"):
        parse_prompt_zh(text)
    with pytest.raises(ValueError):
        build_sort_prompt_zh(task, "video")
