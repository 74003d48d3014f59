"""EditPlan -> Timeline, the pure part: facts are given, nothing is probed or synthesised."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline
from adcut.core.validation import problems_of
from adcut.render.compile import (BEAT_CROSSFADE_S, BREATH_S, FREE_CROSSFADE_S, LEAD_IN_S,
                                  MIN_SPEED, LineVoice, MusicRhythm, PlanFacts, PlanProblems,
                                  SourceFacts, choose_music_loop, compile_plan, fit_speed)
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


def test_music_start_beyond_the_track_is_refused():
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
    for needle in ("aspect: '4:3' is not allowed; use '9:16', '1:1', '16:9' or '4:5'",
                   "shots[0].line: empty script line",
                   "shots[0].transition: unknown transition 'fdae'; did you mean 'fade'?",
                   "shots[0].bogus: unknown field"):
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


# -- music shorter than the ad: looped, not refused -----------------------------------------------

def rhythm(duration_s: float, *, bpm: float = 120.0, first_beat_s: float = 0.5,
           intro_s: float = 0.0, outro_s: float = 0.0) -> MusicRhythm:
    """Steady beats, and a level that is 20 dB lower during a quiet intro and outro."""
    period = 60.0 / bpm
    beats = tuple(first_beat_s + k * period
                  for k in range(int((duration_s - first_beat_s) / period) + 1))
    times = tuple(0.25 + 0.5 * k for k in range(int(duration_s * 2)))
    level = tuple(-40.0 if t < intro_s or t > duration_s - outro_s else -20.0 for t in times)
    return MusicRhythm(beats_s=beats, level_times_s=times, level_db=level)


@pytest.mark.hostile("bug")
def test_a_track_shorter_than_the_ad_loops_on_whole_bars_inside_its_body():
    """The 45 s brief over a 30 s track: exit 2 with a hint that could not be followed. Now
    the track loops: between two beats a whole number of bars apart, both inside the body."""
    song = SourceFacts(duration_s=6.0, width=0, height=0, has_audio=True, has_video=False)
    f = facts(**{"song.mp3": song})
    f.music_rhythm = rhythm(6.0, intro_s=0.5, outro_s=0.6)
    tl = compile_plan(plan(music={"source": "song.mp3", "start_s": 0}), f)
    loop = tl.music.loop
    beats = f.music_rhythm.beats_s
    assert loop is not None and loop.crossfade_s == BEAT_CROSSFADE_S
    i, j = beats.index(loop.start_s), beats.index(loop.end_s)
    assert (j - i) % 4 == 0 and j > i  # whole bars of 4 beats
    assert loop.start_s >= 0.5 and loop.end_s <= 6.0 - 0.6  # neither the intro nor the outro
    assert tl.duration_s > 6.0
    assert tl.music.duration_f == tl.duration_f  # the music covers the whole ad
    pieces = tl.music.pieces_s(tl.fps)
    assert sum(b - a for a, b in pieces) == pytest.approx(tl.duration_s)
    assert pieces[0][0] == 0 and all(a == loop.start_s for a, _ in pieces[1:])
    assert any("loops from" in n and "whole bars" in n for n in tl.notes)
    music = build_otio(tl).tracks[-1]  # for an NLE: one clip per pass, never past the file's end
    assert music.duration().value == pytest.approx(tl.duration_f)
    assert [type(x).__name__ for x in music][:3] == ["Clip", "Transition", "Clip"]
    assert all(c.source_range.end_time_exclusive().to_seconds() <= 6.0 + 1e-6
               for c in music if type(c).__name__ == "Clip")


def test_choose_music_loop_cases():
    # no beat: the whole body with a longer crossfade
    free = choose_music_loop(12.0, 0.0, None)
    assert (free.start_s, free.end_s, free.crossfade_s) == (FREE_CROSSFADE_S, 12.0, FREE_CROSSFADE_S)
    # the plan starts late in the track: the loop still ends after the start
    late = choose_music_loop(30.0, 20.0, rhythm(30.0))
    assert late.end_s - 20.0 >= 2.0
    # a 1 s jingle cannot be looped under an ad
    assert choose_music_loop(1.0, 0.0, None) is None


def test_a_track_too_short_to_loop_is_refused_with_a_line():
    jingle = SourceFacts(duration_s=1.2, width=0, height=0, has_audio=True, has_video=False)
    with pytest.raises(PlanProblems, match=r"music.source: song.mp3 is 1.20 s long from 0.0 s, "
                                           r"too short to loop"):
        compile_plan(plan(music={"source": "song.mp3", "start_s": 0}),
                     facts(**{"song.mp3": jingle}))


# -- sources and values at the edges ---------------------------------------------------------------

@pytest.mark.hostile("message")
def test_footage_smaller_than_16_pixels_is_refused_naming_file_and_size():
    f = facts(**{"b.mp4": SourceFacts(duration_s=10.0, width=8, height=8, has_audio=False)})
    with pytest.raises(PlanProblems) as err:
        compile_plan(plan(), f)
    assert err.value.problems == [
        "shots[2].source: b.mp4 is 8x8 pixels; footage must be at least 16x16"]


@pytest.mark.hostile("message")
@pytest.mark.parametrize("field, value", [("line", "word " * 20000), ("line", "x" * 100000),
                                          ("transition", "x" * 100000),
                                          ("source", "x" * 100000 + ".mp4")])
def test_a_100k_character_value_gets_a_short_message(tmp_path, field, value):
    """A 100,000-character line gave a 100 KB error (and a 115 GB allocation in the voice
    model): plan fields have a maximum length, and every quoted value is cut."""
    data = {"shots": [{"source": "a.mp4", "in_s": 0, "out_s": 2, field: value}]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInputError) as err:
        load_document(path)
    assert f"shots[0].{field}:" in err.value.message
    assert len(str(err.value)) < 300


@pytest.mark.hostile("message")
@pytest.mark.parametrize("doc, where", [
    ({"shots": [{"source": "a.mp4", "in_s": float("nan"), "out_s": 2}]}, "shots[0].in_s"),
    ({"shots": [{"source": "a.mp4", "in_s": 0, "out_s": float("inf")}]}, "shots[0].out_s"),
    ({"shots": [{"source": "a.mp4", "in_s": 0, "out_s": 2}],
      "music": {"source": "m.wav", "gain_db": float("nan")}}, "music.gain_db"),
])
def test_nan_and_infinity_are_refused_as_not_a_number(tmp_path, doc, where):
    """NaN was reported as 'should be <= 180' or slipped through every bound."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))  # json writes NaN / Infinity, and reads them back
    with pytest.raises(BadInputError, match=rf"{re.escape(where)}: (nan|inf) is not a number"):
        load_document(path)


@pytest.mark.hostile("message")
def test_a_timeline_with_nan_or_a_100k_caption_is_refused_in_one_short_line(tmp_path):
    tl = compile_plan(plan(), facts()).model_dump()
    tl["clips"][0]["source_in_s"] = float("nan")
    tl["captions"] = [{"start_f": 0, "end_f": 10, "text": "x" * 100000}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tl))
    with pytest.raises(BadInputError) as err:
        load_document(path)
    assert "clips[0].source_in_s: nan is not a number" in err.value.message
    assert "captions[0].text: 100000 characters is too long" in err.value.message
    assert len(str(err.value)) < 500


@pytest.mark.hostile("message")
@pytest.mark.parametrize("width, height, needle", [
    (100000, 100000, "width: 100000 px: must be an even number of pixels from 16 to 4096"),
    (1, 1, "height: 1 px: must be an even number of pixels from 16 to 4096"),
    (321, 240, "width: 321 px: must be an even number"),
    (16, 4096, "16x4096 is thinner than 1:4"),
])
def test_timeline_sizes_the_renderer_cannot_make_are_refused(width, height, needle):
    """A 100000x100000 (or 1x1) timeline reached ffmpeg: 'Error reinitializing filters!'."""
    tl = compile_plan(plan(), facts()).model_dump()
    tl.update(width=width, height=height)
    with pytest.raises(ValueError) as err:
        Timeline.model_validate(tl)
    assert needle in " ".join(problems_of(err.value))


def test_many_problems_are_listed_up_to_a_limit_and_counted():
    shots = [{"source": "a.mp4", "in_s": 0, "out_s": 2, "transition": f"bad{i}"} for i in range(50)]
    with pytest.raises(ValueError) as err:
        EditPlan.model_validate({"shots": shots})
    problems = problems_of(err.value)
    assert len(problems) == 9 and problems[-1] == "and 42 more problems"


@pytest.mark.hostile("message")
@pytest.mark.parametrize("content, needle", [
    ('{"shots": [\n  {"source": "a.mp4" "in_s": 0}]}', "plan.json line 2, column 22: Expecting ',' delimiter"),
    ("[" * 100000 + "]" * 100000, "plan.json: nested too deeply"),
    (json.dumps({"kind": "k" * 100000}), "(100000 characters) is neither adcut.EditPlan"),
])
def test_broken_documents_get_one_short_line(tmp_path, content, needle):
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(BadInputError) as err:
        load_document(path)
    assert needle in str(err.value) and len(str(err.value)) < 300


@pytest.mark.hostile("traceback")
def test_a_plan_saved_as_utf16_is_read(tmp_path):
    path = tmp_path / "plan.json"
    path.write_bytes(json.dumps({"shots": [{"source": "é.mp4", "in_s": 0, "out_s": 2}]},
                                ensure_ascii=False).encode("utf-16"))
    assert load_document(path).shots[0].source == "é.mp4"


def test_a_plan_with_the_old_caption_size_keeps_its_size():
    """Plans written before caption sizes followed the shorter side gave size_pct as a % of
    the frame height (4.2 at 9:16 was 81 px): they are read into the new field unchanged in
    pixels."""
    from adcut.core.plan import EditPlan
    from adcut.render.subtitles import subtitle_layout

    shot = {"source": "a.mp4", "in_s": 0, "out_s": 2}
    for aspect in ("9:16", "16:9", "1:1"):
        plan = EditPlan.model_validate({"aspect": aspect, "shots": [shot],
                                        "subtitles": {"size_pct": 4.2}})
        w, h = plan.size
        assert subtitle_layout(w, h, plan.subtitles).size_px == round(0.042 * h)


def test_a_fonts_coverage_is_read_once_per_font_file(tmp_path, monkeypatch):
    """Each line gets the characters the font cannot draw, in order; a later edit (another
    process: nothing in memory) does not read the font's character maps again (1.5 s for the
    bundled CJK collection), whatever its lines; a changed font file is read again."""
    import shutil

    from adcut.render import compile as compile_mod
    from adcut.core import memo
    from adcut.render import subtitles

    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    reads = []
    real = subtitles._read_coverage
    monkeypatch.setattr(subtitles, "_read_coverage", lambda f: reads.append(f) or real(f))

    def next_edit() -> None:  # what a new process starts with
        memo.forget()
        subtitles._coverage.cache_clear()

    next_edit()
    font = tmp_path / "font.ttf"
    shutil.copy(subtitles.default_font()[0], font)
    lines = ["Tap ✈ now", "Fly ✈ ➿ today", "All fine"]
    assert compile_mod.glyphs_missing(lines, font) == [["✈"], ["✈", "➿"], []]
    assert subtitles.missing_glyphs("Go ✈ 好", font) == ["✈"]
    assert len(reads) == 1
    next_edit()
    assert compile_mod.glyphs_missing(["All fine", "Fly ➿ 你好"], font) == [[], ["➿"]]
    assert len(reads) == 1  # remembered on disk
    next_edit()
    font.write_bytes(font.read_bytes() + b"\0")  # another file now: read again
    compile_mod.glyphs_missing(lines, font)
    assert len(reads) == 2
    next_edit()
