"""adcut.tokens.vocab: the token strings, the vocabulary, exact serialise -> parse round trips,
strict errors that name the position, forgiving reading of released outputs, and every clip of
the released token-track prompts (AutoCut-364 dev slice; skipped where it is absent)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcut.core.errors import BadInputError
from adcut.tokens import vocab as V

REPO = Path(__file__).resolve().parents[2]
DEV = REPO.parent / "shared" / "autocut364"
TOKEN_FILES = ("F___vidselect_atc_embsft.jsonl", "F___vidsort_atc_embsft.jsonl", "F___vid2text_atc_embsft.jsonl")


def codes(rows):
    return np.array(rows, dtype=np.int64).reshape(len(rows), -1)


# --------------------------------------------------------------------------- vocabulary


def test_token_strings_and_sentinels():
    assert V.video_token(3, 17) == "<v_3_17>" and V.audio_token(0, 255) == "<a_0_255>"
    assert V.SENTINELS == ("<|ad_start|>", "<|ad_end|>", "<|clip_start|>", "<|clip_end|>", "<|video_start|>",
                           "<|video_end|>", "<|frame_start|>", "<|frame_end|>", "<|audio_start|>", "<|audio_end|>")
    assert (V.TEXT_START, V.TEXT_END) == ("<|text_start|>", "<|text_end|>")
    assert V.TEXT_START not in V.SENTINELS  # ordinary text, as in the paper
    with pytest.raises(ValueError):
        V.video_token(-1, 0)


def test_vocabulary_order():
    vocab = V.vocabulary()
    assert len(vocab) == len(set(vocab)) == 8 * 256 * 2 + 10
    assert vocab[:3] == ["<v_0_0>", "<v_0_1>", "<v_0_2>"] and vocab[256] == "<v_1_0>"
    assert vocab[8 * 256] == "<a_0_0>" and vocab[8 * 256 * 2 - 1] == "<a_7_255>"
    assert tuple(vocab[-10:]) == V.SENTINELS
    # the paper's reserved sizes: 24 video and 16 audio levels
    assert len(V.vocabulary(24, 16, 256)) == 6144 + 4096 + 10


def test_import_is_cheap():
    out = subprocess.run([sys.executable, "-c", "import sys, adcut.tokens.vocab; print('torch' in sys.modules)"],
                         capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- serialising


def test_formats():
    frame = codes([[1, 2, 3, 4, 5, 6, 7, 8]])
    assert V.frame_string(frame[0]) == ("<|frame_start|><v_0_1><v_1_2><v_2_3><v_3_4><v_4_5><v_5_6><v_6_7><v_7_8>"
                                        "<|frame_end|>")
    clip = V.clip_string(frame, "好物推荐，")
    assert clip == ("<|clip_start|><|text_start|>好物推荐，<|text_end|><|video_start|>" + V.frame_string(frame[0])
                    + "<|video_end|><|clip_end|>")
    assert V.clip_string(None, "只有台词") == ("<|clip_start|><|text_start|>只有台词<|text_end|>"
                                             "<|video_start|><|video_end|><|clip_end|>")
    assert V.clip_string(frame) == ("<|clip_start|><|video_start|>" + V.frame_string(frame[0])
                                    + "<|video_end|><|clip_end|>")
    track = V.track_string(np.arange(8))
    assert track == "<|audio_start|>" + "".join(f"<a_{i}_{i}>" for i in range(8)) + "<|audio_end|>"
    ad = V.ad_string([(frame, "一"), (None, "二"), (frame, None)], np.arange(8))
    assert ad.startswith("<|ad_start|><|clip_start|>") and ad.endswith(track + "<|ad_end|>")
    with pytest.raises(ValueError, match="outside 0..255"):
        V.frame_string([0, 1, 256, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="shape"):
        V.clip_string(np.zeros(8, int))
    with pytest.raises(ValueError, match="text_end"):
        V.clip_string(frame, "a<|text_end|>b")


code_arrays = st.integers(1, 8).flatmap(
    lambda levels: st.integers(0, 6).flatmap(
        lambda frames: st.lists(st.lists(st.integers(0, 255), min_size=levels, max_size=levels),
                                min_size=frames, max_size=frames).map(
            lambda rows: np.array(rows, dtype=np.int64).reshape(frames, levels))))
texts = st.none() | st.text(max_size=30).filter(lambda t: V.TEXT_END not in t)


@settings(max_examples=150, deadline=None)
@given(code_arrays, texts)
def test_clip_round_trip(arr, text):
    levels = arr.shape[1]
    s = V.clip_string(arr, text)
    back = V.parse_clip(s, levels=levels)
    assert back.text == text and back.codes.shape == arr.shape and np.array_equal(back.codes, arr)
    assert V.clip_string(back.codes, back.text) == s
    if text is None or "<" not in text:  # the forgiving reader agrees on a well-formed string
        loose = V.parse_clip(s, levels=levels, strict=False)
        assert loose.text == text and np.array_equal(loose.codes, arr)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.none() | code_arrays.filter(lambda a: a.shape[1] == 8), texts), max_size=5),
       st.none() | st.lists(st.integers(0, 255), min_size=8, max_size=8))
def test_ad_round_trip(clips, track):
    s = V.ad_string(clips, track)
    ad = V.parse_ad(s)
    assert len(ad.clips) == len(clips)
    for (arr, text), got in zip(clips, ad.clips):
        want = np.zeros((0, 8), np.int64) if arr is None else arr
        assert got.text == text and np.array_equal(got.codes.reshape(-1, 8), want.reshape(-1, 8))
    assert (ad.track is None) == (track is None)
    if track is not None:
        assert ad.track.tolist() == track
    assert V.ad_string(ad.clips, ad.track) == s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=8, max_size=8))
def test_track_round_trip(track):
    s = V.track_string(track)
    assert V.parse_track(s).tolist() == track
    bare = s.replace(V.AUDIO_START, "").replace(V.AUDIO_END, "")  # as vLLM returns it
    assert V.parse_track(bare, strict=False).tolist() == track


# --------------------------------------------------------------------------- strict errors


def _error(text, **kw):
    with pytest.raises(V.TokenFormatError) as info:
        V.parse_clip(text, **kw)
    assert isinstance(info.value, BadInputError)
    return info.value.message


def test_strict_errors_name_position_and_expectation():
    two = V.clip_string(codes([[1, 2, 3, 4, 5, 6, 7, 8], [9, 9, 9, 9, 9, 9, 9, 9]]))
    bad = two.replace("<v_3_9>", "<v_4_17>")
    pos = bad.index("<v_4_17>")
    assert _error(bad) == f"position {pos}: expected <v_3_*> (level 3 of frame 2), found <v_4_17>"
    # wrong level order inside a frame
    swapped = two.replace("<v_0_1><v_1_2>", "<v_1_2><v_0_1>")
    assert "expected <v_0_*> (level 0 of frame 1), found <v_1_2>" in _error(swapped)
    # a ninth level, when the model has eight
    nine = two.replace("<v_7_8><|frame_end|>", "<v_7_8><v_8_1><|frame_end|>")
    assert "expected <|frame_end|> (after level 7 of frame 1), found <v_8_1>" in _error(nine)
    assert "expected <|frame_end|> (after level 3 of frame 1), found <v_4_5>" in _error(two, levels=4)
    # unknown code
    assert "code 300 of <v_2_300> is outside 0..255" in _error(two.replace("<v_2_3>", "<v_2_300>"))
    assert "code 8 of <v_7_8> is outside 0..7 (frame 1)" in _error(two, codebook_size=8)
    # missing sentinels
    assert "expected <|frame_start|> or <|video_end|>, found <|clip_end|>" in _error(two.replace("<|video_end|>", ""))
    assert _error(two[len("<|clip_start|>"):]).startswith("position 0: expected <|clip_start|>")
    assert "expected <|frame_end|>" in _error(two.replace("<|frame_end|>", "", 1))
    assert "end of text" in _error(two + "x")
    # whitespace and non-canonical numbers are not the format
    assert "position" in _error(two.replace("<v_5_6>", "<v_5_6> "))
    assert "expected <v_1_*>" in _error(two.replace("<v_1_2>", "<v_01_2>"))
    unclosed = "<|clip_start|><|text_start|>台词<|video_start|><|video_end|><|clip_end|>"
    assert "closing the clip text" in _error(unclosed)
    with pytest.raises(V.TokenFormatError, match="expected <|audio_end|>"):
        V.parse_track(V.track_string(np.arange(8)).replace("<|audio_end|>", ""))
    with pytest.raises(V.TokenFormatError, match=r"expected <\|clip_start\|>, <\|audio_start\|> or <\|ad_end\|>"):
        V.parse_ad("<|ad_start|>junk<|ad_end|>")
    with pytest.raises(V.TokenFormatError, match=r"^position 15: expected <v_0_\*> \(level 0 of frame 1\)"):
        V.parse_frame_run("<|frame_start|><v_1_1>")


def test_offset_shifts_positions():
    text = "<|frame_start|><v_1_0>"
    with pytest.raises(V.TokenFormatError, match="^position 115: "):
        V.parse_frame_run(text, offset=100)


# --------------------------------------------------------------------------- forgiving


def test_forgiving_reads_stripped_sentinels_whitespace_and_gaps():
    f1, f2 = [1, 2, 3, 4, 5, 6, 7, 8], [11, 12, 13, 14, 15, 16, 17, 18]
    bare = "".join(f"<v_{i}_{c}>" for i, c in enumerate(f1)) + "\n " + "".join(f"<v_{i}_{c}>" for i, c in enumerate(f2))
    repairs: list[str] = []
    clip = V.parse_clip(bare, strict=False, repairs=repairs)
    assert clip.codes.tolist() == [f1, f2] and clip.text is None
    assert "clip or video sentinels missing" in repairs and "ignored whitespace between tokens" in repairs
    # a frame that lacks levels: dropped by default, padded with -1 on request
    short = "<v_0_5><v_1_6><v_2_7>" + bare
    assert V.parse_clip(short, strict=False).codes.tolist() == [f1, f2]
    padded = V.parse_clip(short, strict=False, missing="pad").codes.tolist()
    assert padded == [[5, 6, 7, -1, -1, -1, -1, -1], f1, f2]
    # sentinels kept, a level skipped inside a frame
    gap = V.clip_string(codes([f1])).replace("<v_4_5>", "")
    assert V.parse_clip(gap, strict=False).codes.shape == (0, 8)
    assert V.parse_clip(gap, strict=False, missing="pad").codes.tolist() == [[1, 2, 3, 4, -1, 6, 7, 8]]
    # unknown levels / codes are ignored; stray text too
    noisy = "好的：" + bare.replace("<v_7_8>", "<v_7_8><v_9_1><v_3_999>")
    r2: list[str] = []
    assert V.parse_clip(noisy, strict=False, repairs=r2).codes.tolist() == [f1, f2]
    assert any("ignored tokens outside" in r for r in r2) and "ignored stray text between tokens" in r2
    # tracks: levels it lacks are -1; no audio token at all is an error
    assert V.parse_track("<a_0_3> <a_2_5>", strict=False).tolist() == [3, -1, 5, -1, -1, -1, -1, -1]
    with pytest.raises(V.TokenFormatError, match="no audio tokens"):
        V.parse_track("没有音乐", strict=False)
    # an ad with stripped sentinels and newlines between clips
    ad = V.ad_string([(codes([f1]), "一"), (codes([f2]), None)], np.arange(8))
    loose = V.parse_ad(ad.replace("<|clip_start|>", "\n<|clip_start|>").replace("<|ad_start|>", ""), strict=False)
    assert [c.codes.tolist() for c in loose.clips] == [[f1], [f2]] and loose.track.tolist() == list(range(8))
    with pytest.raises(ValueError, match="missing"):
        V.parse_clip(bare, strict=False, missing="guess")


def test_clip_codes_of_task_clips():
    from adcut.tasks.types import ClipRef

    arr = codes([[1, 2, 3, 4, 5, 6, 7, 8]])
    clip = ClipRef(number=3, tokens=V.clip_string(arr))
    assert clip.codes.tolist() == arr.tolist()
    assert ClipRef(number=1).codes.shape == (0, 8)
    placeholder = "<|clip_start|><|video_start|><|frame_start|><|frame_end|><|video_end|><|clip_end|>"
    assert ClipRef(number=1, tokens=placeholder).codes.shape == (0, 8)  # the prompts' empty clip
    with pytest.raises(V.TokenFormatError, match="^clip 4: position"):
        V.clip_codes(ClipRef(number=4, tokens=V.clip_string(arr).replace("<v_2_3>", "<v_2_3 >")))


# --------------------------------------------------------------------------- released prompts


@pytest.mark.skipif(not all((DEV / n).is_file() for n in TOKEN_FILES),
                    reason="the AutoCut-364 token-track files (../shared/autocut364) are not present")
def test_every_released_clip_parses_and_rebuilds_its_prompt():
    from adcut.tasks.prompts_zh import build_prompt_zh, parse_prompt_zh

    n_prompts = n_clips = n_frames = 0
    for name in TOKEN_FILES:
        for line in (DEV / name).read_text(encoding="utf-8").splitlines():
            prompt = json.loads(line)["conversations"][0]["value"]
            _, task, track = parse_prompt_zh(prompt)
            assert track == "tokens"
            rebuilt = []
            for clip in task.clips:
                arr = V.parse_clip(clip.tokens).codes  # strict
                assert arr.ndim == 2 and arr.shape[1] == 8 and len(arr) >= 1
                assert arr.min() >= 0 and arr.max() < 256
                n_clips += 1
                n_frames += len(arr)
                rebuilt.append(dataclasses.replace(clip, tokens=V.clip_string(arr)))
            assert build_prompt_zh(dataclasses.replace(task, clips=rebuilt), track) == prompt
            n_prompts += 1
    # 102 ads x 3 tasks; select pools 2176 clips / 4145 frames, sort and script 1088 / 2098 each
    assert (n_prompts, n_clips, n_frames) == (306, 4352, 8341)
