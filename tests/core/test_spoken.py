"""What the voice says for a shown line: the brief's lexicon, then URLs, prices, numbers,
units and symbols in words, with every shown word mapped to the spoken words that say it."""

from __future__ import annotations

import pytest

from adcut.core.spoken import (align_spoken, lexicon_of, money_words, number_words,
                                   spoken_line, voice_line, year_words)


@pytest.mark.parametrize("shown, spoken", [
    ("Order at verde.coffee.", "Order at verde dot coffee."),
    ("Yours for $4.99.", "Yours for four dollars ninety-nine."),
    ("Steeped 18h, open 24/7.", "Steeped eighteen hours, open twenty-four seven."),
    ("2x the flavour, 50% off & more.", "two times the flavour, fifty percent off and more."),
    ("Now €3.50!", "Now three euros fifty!"),
    ("$0.99, $1, $12.50", "ninety-nine cents, one dollar, twelve dollars fifty"),
    ("Visit https://www.verde.coffee/shop now", "Visit w w w dot verde dot coffee slash shop now"),
    ("Email hi@verde.coffee", "Email hi at verde dot coffee"),
    ("Since 2019, the 1st of 10-15 tests", "Since twenty nineteen, the first of ten to fifteen tests"),
    ("500ml, 1.5L, 12oz, #1", "five hundred milliliters, one point five liters, twelve ounces, number one"),
    ("1,299 bikes in 3/4 of R&D", "one thousand two hundred ninety-nine bikes in three fourths of R and D"),
    ("Plain words stay as they are.", "Plain words stay as they are."),
])
def test_english_is_read_out_in_words(shown, spoken):
    assert spoken_line(shown).text == spoken


def test_number_words():
    assert number_words(0) == "zero" and number_words(21) == "twenty-one"
    assert number_words(1_000_305) == "one million three hundred five"
    assert year_words(2005) == "two thousand five" and year_words(1999) == "nineteen ninety-nine"
    assert money_words("$", "2", "M") == "two million dollars"
    assert money_words("£", "0.01") == "one penny"


def test_the_lexicon_says_names_its_way_and_keeps_punctuation():
    lex = {"Verde": "VER-day", "verde.coffee": "verde dot coffee", "Cold Brew": "cold brew coffee"}
    s = spoken_line("Meet Verde's Cold Brew, at verde.coffee.", lex)
    assert s.text == "Meet VER-day's cold brew coffee, at verde dot coffee."
    # every shown word knows its spoken words (a two-word entry: both words span all three)
    assert s.spans == ((0, 1), (1, 2), (2, 5), (2, 5), (5, 6), (6, 9))
    # a single-word entry also applies inside an address the normaliser spells out
    assert spoken_line("Order at verde.coffee", {"verde": "VER-day"}).text == \
        "Order at VER-day dot coffee"
    # any language: the lexicon only; numbers are left to the voice of that language
    assert spoken_line("Verde冷萃 29.9元", {"Verde冷萃": "维尔德冷萃"}, "zh").text == "维尔德冷萃 29.9元"


def test_shown_words_are_timed_from_their_spoken_words():
    s = spoken_line("Only $4.99 today.")
    spoken = [(w, float(k), k + 0.5) for k, w in enumerate(s.text.split())]
    assert s.shown_word_times("Only $4.99 today.".split(), spoken) == [
        ("Only", 0.0, 0.5), ("$4.99", 1.0, 3.5), ("today.", 4.0, 4.5)]
    assert s.shown_word_times("Only $4.99 today.".split(), spoken[:-1]) == []  # not this text


def test_a_hand_written_spoken_form_is_aligned():
    assert voice_line("Meet Verde.", "Meet VER-day.", "en").spans == ((0, 1), (1, 2))
    lex = {"Verde": "VER-day"}
    auto = spoken_line("Order at verde.coffee", lex)
    assert align_spoken("Order at verde.coffee", auto.text, lex) == auto
    free = align_spoken("Order at verde.coffee", "Please order from us at verde dot coffee")
    assert len(free.spans) == 3 and free.spans[0][0] == 0 and free.spans[-1][1] == 8
    assert all(a < b for a, b in free.spans)
    assert voice_line("Order now", None, "en", {}).text == "Order now"


def test_lexicon_is_read_from_the_plans_brief():
    assert lexicon_of('{"product": "x", "pronounce": {"Verde": "VER-day"}}') == {"Verde": "VER-day"}
    assert lexicon_of(None) == {} and lexicon_of("not json") == {} and lexicon_of("[1]") == {}


def test_whisper_hears_the_spoken_form_not_the_symbols(tmp_path):
    """Ear proxy: the bundled voice says the normalised line and Whisper tiny.en writes back
    what it heard. Before normalisation it heard 'Order at Verd Coffee' and '2X the flavor'."""
    pytest.importorskip("hibari")
    pytest.importorskip("faster_whisper")
    from adcut.media.audio import decode_audio
    from adcut.voice.asr import load_transcriber
    from adcut.voice.tts import load_tts

    engine, ears = load_tts("hibari"), load_transcriber()
    heard = []
    for k, line in enumerate(["Order at verde.coffee.", "2x the flavour, steeped 18h."]):
        speech = engine.synthesize(spoken_line(line, {"verde": "VER-day"}).text, tmp_path / f"{k}.wav")
        words, _ = ears.transcribe(decode_audio(speech.path, sample_rate=16000).samples)
        heard.append(" ".join(w.text for w in words).lower())
    assert "coffee" in heard[0] and ("dot" in heard[0] or ".coffee" in heard[0]), heard
    assert "times" in heard[1] and "hours" in heard[1], heard
