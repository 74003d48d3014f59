from __future__ import annotations

import pytest

from adcut.tasks.prompts_en import (
    build_music_prompt_en,
    build_prompt_en,
    build_script_prompt_en,
    build_select_prompt_en,
    build_sort_prompt_en,
    parse_prompt_en,
)
from adcut.tasks.prompts_zh import PromptFormatError, build_prompt_zh, parse_prompt_zh
from adcut.tasks.release import load_release_rows
from adcut.tasks.types import AudioCandidate, ClipRef, MusicTask, Product, ScriptTask, SelectTask, SortTask
from tests.tasks import RELEASE_FILES, dev_dir

DEV = dev_dir()

PRODUCT = Product(name="Trail running shoe", brand="Fleetfoot", selling_points=["light", "grippy soles", "ten colours"])
CLIPS = [ClipRef(1, caption="a runner on a rocky path", frame_ids=["11"]),
         ClipRef(2, caption="close-up of the sole", frame_ids=["12"]),
         ClipRef(3, caption=None, frame_ids=[])]
LINES = ["Built for the mountain.", "Grip that holds.", "Ten colours. Pick yours."]


def test_english_select_prompt_reads_naturally():
    text = build_select_prompt_en(SelectTask(PRODUCT, LINES[:2], CLIPS, n_select=2), "caption")
    assert text.startswith("You are a professional video editor.")
    assert "exactly 2 clip numbers" in text
    assert "[Selling points]: light; grippy soles; ten colours\n" in text
    assert "[Ad script]\nBuilt for the mountain.\nGrip that holds.\n\n[Clip pool (each described in words;" in text
    assert "\n1)a runner on a rocky path\n2)close-up of the sole\n3)(no description)\n" in text
    assert text.endswith("[Now output the numbers of the clips that belong to this ad]")


@pytest.mark.parametrize("track", ["caption", "image", "tokens"])
def test_english_round_trip_for_every_task(track):
    clips = [ClipRef(c.number, caption=c.caption, frame_ids=c.frame_ids,
                     tokens=f"<|clip_start|><|video_start|><|frame_start|><v_0_{c.number}><|frame_end|><|video_end|><|clip_end|>")
             for c in CLIPS]
    tasks = [
        SelectTask(PRODUCT, LINES, clips, n_select=3),
        SortTask(PRODUCT, LINES, clips),
        ScriptTask(PRODUCT, clips),
        MusicTask(PRODUCT, LINES, clips, audio_candidates=[AudioCandidate(1, "upbeat pop, 124 BPM"), AudioCandidate(2)]),
    ]
    for task in tasks:
        text = build_prompt_en(task, track)
        name, parsed, got = parse_prompt_en(text)
        assert got == track
        assert build_prompt_en(parsed, got) == text
        assert parsed.product == PRODUCT
    # Task-specific builders are the same thing.
    assert build_sort_prompt_en(tasks[1], track) == build_prompt_en(tasks[1], track)
    assert build_script_prompt_en(tasks[2], track) == build_prompt_en(tasks[2], track)


def test_english_music_prompt_tokens_and_choice():
    task = MusicTask(PRODUCT, LINES[:2], CLIPS[:2])
    text = build_music_prompt_en(task)
    assert "<|clip_start|><|text_start|>Built for the mountain.<|text_end|><|video_start|><|frame_start|><|frame_end|>" in text
    assert text.endswith("[Now output the background music]")
    captioned = [ClipRef(c.number, caption=c.caption) for c in CLIPS[:2]]
    chooser = MusicTask(PRODUCT, LINES[:2], captioned, [AudioCandidate(1, "calm piano")])
    text = build_music_prompt_en(chooser, "caption")
    assert '\n1)Line "Built for the mountain.", clip: a runner on a rocky path\n' in text
    assert parse_prompt_en(text)[1] == chooser


def test_languages_do_not_parse_each_other():
    task = ScriptTask(PRODUCT, CLIPS)
    with pytest.raises(PromptFormatError):
        parse_prompt_en(build_prompt_zh(task, "caption"))
    with pytest.raises(PromptFormatError):
        parse_prompt_zh(build_prompt_en(task, "caption"))


def test_empty_and_odd_selling_points():
    for points in [[], ["none of the above"], ["a; b"], [""], ["émoji 🎉"]]:
        task = ScriptTask(Product("x", "y", points), CLIPS)
        text = build_script_prompt_en(task, "caption")
        assert build_script_prompt_en(parse_prompt_en(text)[1], "caption") == text
    assert "[Selling points]: none\n" in build_script_prompt_en(ScriptTask(Product("x", "y", []), CLIPS), "caption")


@pytest.mark.skipif(DEV is None, reason="autocut364 dev files not present")
def test_released_tasks_round_trip_through_english():
    count = 0
    for name in RELEASE_FILES:
        rows, _ = load_release_rows(DEV / name)
        for row in rows:
            task_name, task, track = parse_prompt_zh(row.prompt)
            text = build_prompt_en(task, track)
            assert parse_prompt_en(text) == (task_name, task, track)
            count += 1
    assert count == 914
