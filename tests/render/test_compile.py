"""EditPlan -> Timeline, the pure part: facts are given, nothing is probed or synthesised."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline
from adcut.render.compile import (BREATH_S, LEAD_IN_S, MIN_SPEED, LineVoice, PlanFacts,
                                  PlanProblems, SourceFacts, compile_plan, fit_speed)
from adcut.render.export import build_otio, json_path, load_document
from adcut.render.reframe import choose_reframe, crop_window, saliency_map

SRC = SourceFacts(duration_s=10.0, width=1920, height=1080, has_audio=True)
SONG = SourceFacts(duration_s=60.0, width=0, height=0, has_audio=True, has_video=False)


def plan(**kw) -> EditPlan:
    data = {"shots": [
        {"source": "a.mp4", "in_s": 0, "out_s": 4, "line": "First line.", "transition": "fade"},
        {"source": "a.mp4", "in_s": 5, "out_s": 5.8, "line": "Second, longer line here."},
        {"source": "b.mp4", "in_s": 1, "out_s": 3},
    ], "music": {"source": "song.mp3", "start_s": 10}}
    data.update(kw)
    return EditPlan.model_validate(data)


def facts(voices=(2.0, 1.5, None), **sources) -> PlanFacts:
    f = PlanFacts(sources={"a.mp4": SRC, "b.mp4": SRC, "song.mp3": SONG, **sources})
    f.voices = [None if v is None else LineVoice(f"/tts/{i}.wav", v, []) for i, v in enumerate(voices)]
    f.reframes = [("crop", 0.5, 0.5)] * 3
    return f


def test_shots_fit_their_voice_lines():
    tl = compile_plan(plan(), facts())
    fps = tl.fps
    d0 = round((LEAD_IN_S + 2.0 + BREATH_S) * fps)
    d1 = round((LEAD_IN_S + 1.5 + BREATH_S) * fps)
    assert [c.duration_f for c in tl.clips] == [d0, d1, 60]  # unvoiced shot keeps its 2 s range
    assert [c.start_f for c in tl.clips] == [0, d0, d0 + d1] and tl.duration_f == d0 + d1 + 60
    # clip 0 has 4 s of footage for 2.5 s: trimmed, full speed
    assert (tl.clips[0].speed, tl.clips[0].hold_f) == (1.0, 0)
    # clip 1 has 0.8 s of footage for 2 s: slowed to the limit, then held
    assert tl.clips[1].speed == MIN_SPEED and tl.clips[1].hold_f > 0
    covered = tl.clips[1].duration_f - tl.clips[1].hold_f
    assert covered == int(0.8 / MIN_SPEED * fps)
    # the voice starts after the lead-in of its shot and lasts its measured duration
    assert [(v.start_f, v.duration_f) for v in tl.voice] == [
        (round(LEAD_IN_S * fps), 60), (d0 + round(LEAD_IN_S * fps), 45)]
    assert tl.transitions[0].kind == "fade" and tl.transitions[0].duration_f == 12
    assert tl.music.duration_f == tl.duration_f and tl.music.source_start_s == 10
    assert tl.music.duck is not None and tl.notes  # the slowed shot is explained


def test_fit_speed_cases():
    assert fit_speed(3.0, 60, 30) == (1.0, 0)
    assert fit_speed(1.8, 60, 30) == (0.9, 0)
    speed, hold = fit_speed(0.5, 60, 30)
    assert speed == MIN_SPEED and hold == 60 - int(0.5 / MIN_SPEED * 30)


def test_every_problem_is_reported_at_once_with_its_field():
    f = facts()
    f.sources["b.mp4"] = "does not exist"
    f.sources["a.mp4"] = SourceFacts(duration_s=5.5, width=640, height=360, has_audio=False)
    with pytest.raises(PlanProblems) as err:
        compile_plan(plan(), f, label="plan.json")
    problems = err.value.problems
    assert problems == [
        "shots[1].out_s: 5.8 s is beyond the end of a.mp4 (5.50 s)",
        "shots[2].source: b.mp4: does not exist",
    ]
    assert err.value.message.startswith("plan.json: shots[1].out_s")


def test_music_window_beyond_the_track():
    short = SourceFacts(duration_s=12.0, width=0, height=0, has_audio=True, has_video=False)
    with pytest.raises(PlanProblems, match=r"music.start_s: the ad needs .* ends at 12.00 s; "
                                           r"start at or before"):
        compile_plan(plan(), facts(**{"song.mp3": short}))
    with pytest.raises(PlanProblems, match="music.start_s: 70.0 s is beyond the end"):
        compile_plan(plan(music={"source": "song.mp3", "start_s": 70}), facts())


def test_transition_is_clamped_to_what_the_shots_can_lend():
    p = plan()
    p.shots[0].transition_s = 2.0
    tl = compile_plan(p, facts(voices=(0.2, 0.2, None)))
    t = tl.transitions[0]
    assert t.duration_f == min(tl.clips[0].duration_f, tl.clips[1].duration_f)
    assert any("transition_s shortened" in n for n in tl.notes)


def test_subtitles_only_language_gets_reading_time():
    p = plan(language="zh")
    p.shots[0].line = "全新跑鞋，轻盈又快速"
    tl = compile_plan(p, facts(voices=(None, None, None)))
    assert tl.voice == [] and tl.music.duck is None  # nothing to duck under
    assert tl.clips[0].duration_f == round((len("全新跑鞋，轻盈又快速") / 5.0 + BREATH_S) * 30)


def test_plan_validation_names_every_field(tmp_path):
    bad = {"shots": [{"source": "a.mp4", "in_s": 3, "out_s": 2, "transition": "fdae",
                      "line": "  ", "bogus": 1}], "aspect": "4:3"}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(BadInputError) as err:
        load_document(path)
    msg = err.value.message
    for needle in ("aspect: Input should be", "shots[0].line: empty script line",
                   "shots[0].transition: unknown transition 'fdae'; did you mean 'fade'?",
                   "shots[0].bogus: Extra inputs are not permitted"):
        assert needle in msg
    assert json_path(("shots", 2, "out_s")) == "shots[2].out_s"


def test_a_timeline_whose_durations_do_not_add_up_is_refused(tmp_path):
    tl = compile_plan(plan(), facts()).model_dump()
    tl["duration_f"] += 5
    tl["clips"][1]["start_f"] += 1
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tl))
    with pytest.raises(BadInputError, match=r"clips\[1\].start_f is .* expected .*duration_f is"):
        load_document(path)


def test_timeline_round_trips_and_exports_to_otio():
    tl = compile_plan(plan(), facts())
    assert Timeline.model_validate_json(tl.model_dump_json()) == tl
    otio_tl = build_otio(tl)
    video = otio_tl.tracks[0]
    # transitions overlap their neighbours: the track keeps the timeline's length
    assert video.duration().value == tl.duration_f
    assert [type(x).__name__ for x in video] == ["Clip", "Transition", "Clip", "Clip"]
    assert [t.name for t in otio_tl.tracks] == ["V1", "VO", "MUSIC"]


def test_saliency_finds_the_subject_and_refuses_to_cut_it():
    h, w = 90, 160
    frames = []
    for k in range(3):  # a textured square moving a little on the left of a flat frame
        f = np.full((h, w, 3), 40, np.uint8)
        x0 = 20 + 2 * k
        rng = np.random.default_rng(k)
        f[30:60, x0:x0 + 30] = rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)
        frames.append(f)
    s = saliency_map(frames)
    assert 0.18 < s.center_x < 0.28 and 0.4 < s.center_y < 0.6
    mode, cx, _ = choose_reframe(s, w, h, 1080, 1920)
    assert mode == "crop" and cx == pytest.approx(s.center_x, abs=1e-3)
    x, _, cw, _ = crop_window(w, h, 1080, 1920, cx, 0.5)
    assert x <= 20 and x + cw >= 54  # the subject is inside the crop
    # two subjects at both edges: no 9:16 crop can hold them, so fit over a blur
    f = np.full((h, w, 3), 40, np.uint8)
    f[30:60, 2:30] = 255
    f[30:60, 130:158] = 255
    f[45:50, 2:30] = 0
    f[45:50, 130:158] = 0
    assert choose_reframe(saliency_map([f]), w, h, 1080, 1920)[0] == "fit-blur"
    flat = saliency_map([np.zeros((h, w, 3), np.uint8)])
    assert (flat.center_x, flat.center_y) == (0.5, 0.5)
