"""An ad's voice-over as the paper uses it: words with times, sentences, and 1 fps clips.

Three steps, each usable alone:
- `transcribe`: Whisper words, their times put on the speech edges that Silero VAD hears (Whisper's
  own word times are loose: a line's first word often starts well before the voice does, and the
  last word before a pause is stretched into it; VAD edges are good to one 32 ms window).
- `sentences_from_words`: sentences end at sentence punctuation (the paper's set for Chinese,
  split inside a word run by character count) or at a silent pause.
- `cut_clips`: the paper's rule (db.build_str) that gives each sentence the 1 fps frames inside its
  span and the frames between sentences to video-only clips.

Measured on bundled-TTS lines with known placement (6 ads, 48 lines, 0.25-1.0 s of silence between
lines, no music or music under the voice at -18 to -6 dB, Whisper tiny.en or base): sentence edges
within a median 0.05 s of the lines (p90 0.08-0.14 s, worst 0.22 s), every line within 0.25 s at
both ends; from Whisper's own word times, only 48-62% of lines.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from adcut.core.errors import BadInputError, DependencyError
from adcut.dataset.types import Clip, Sentence, Word
from adcut.voice import asr

log = logging.getLogger(__name__)

SAMPLE_RATE = asr.SAMPLE_RATE  # transcribe takes mono audio at this rate
LANGUAGES = ("auto", "en", "zh")
# A silence this long between two words ends a sentence even without punctuation: the 250 ms
# criterion for a silent pause in speech research (Goldman-Eisler 1968), the length above which
# a gap is a pause a listener hears rather than a stop closure or a breath inside a phrase.
# Measured on the bundled TTS: pauses at commas inside a line are at most 0.19 s of VAD silence,
# gaps between lines (0.25 s of silence or more) are at least 0.35 s.
PAUSE_S = 0.25
# Sentence punctuation. Chinese: the paper's split set (split_asr); elsewhere the ends of a
# sentence or clause, full-width forms included (Whisper writes them for CJK speech).
CHINESE_ENDS = frozenset("，。？！；,!?;")
OTHER_ENDS = frozenset(".!?;。！？；")
# Languages written without spaces between words (Whisper splits these by character too).
UNSPACED = frozenset({"zh", "ja", "yue", "th", "lo", "my"})
_CLOSERS = frozenset("\"')]}»”’」』）】")


# ---------------------------------------------------------------------------------------------
# Speech recognition (side effects: models)


def transcribe(samples_16k: np.ndarray, *, language: str = "auto", model: str | None = None
               ) -> tuple[list[Word], str]:
    """Words of the voice-over in 16 kHz mono audio, with times on the speech edges, and the
    language ("en", "zh", or what Whisper detected for "auto").

    `model`: a CTranslate2 Whisper folder; by default Whisper tiny.en for English and the
    multilingual Whisper base from the optional wheels for Chinese or detection (a
    DependencyError names the wheels to install when they are missing)."""
    if language not in LANGUAGES:
        raise BadInputError(f"unknown speech language {language!r}", hint=f"use one of {', '.join(LANGUAGES)}")
    if model is None and language == "auto" and not multilingual_installed():
        _warn_english_only()
        language = "en"
    spec = model or (asr.DEFAULT_ASR if language == "en" else asr.MULTILINGUAL_ASR)
    transcriber = asr.load_transcriber(spec)
    heard, detected = transcriber.transcribe(samples_16k, language=None if language == "auto" else language)
    words = [Word(w.start_s, w.end_s, w.text) for w in heard]
    lang = language if language != "auto" else prompt_language(detected)
    return snap_to_speech(words, asr.speech_regions(samples_16k)), lang


def prompt_language(detected: str | None) -> str:
    """The task prompts exist in Chinese and English: Chinese (Mandarin or Cantonese) speech
    gets the paper's Chinese prompts, every other language the English ones."""
    return "zh" if detected in ("zh", "yue") else "en"


@functools.cache
def multilingual_installed() -> bool:
    try:
        asr.resolve_model(asr.MULTILINGUAL_ASR)
    except DependencyError:
        return False
    return True


@functools.cache
def _warn_english_only() -> None:
    log.warning("no multilingual Whisper model is installed, so speech is read as English "
                "(Whisper tiny.en); for Chinese ads: %s", asr.BASE_HINT)


# ---------------------------------------------------------------------------------------------
# Word times on the speech edges (pure)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def snap_to_speech(words: Sequence[Word], regions: Sequence[tuple[float, float]]) -> list[Word]:
    """Words with their times moved onto the speech regions they overlap most.

    In each region, the first word starts at the region's start, the last ends at its end, the
    others are kept inside it, and gaps between its words are closed (the VAD heard no silence
    there). So the gap between two words is the VAD's silence when they are in different regions
    and zero otherwise. A word that overlaps no region (speech the VAD missed) keeps Whisper's
    times; a region without words (a sound Whisper did not take for words) is ignored."""
    members: dict[int, list[int]] = {}  # region -> its words, in order
    last = -1
    for i, w in enumerate(words):
        best, best_overlap = None, 0.0
        for r, (r0, r1) in enumerate(regions):
            ov = _overlap(w.start_s, w.end_s, r0, r1) if w.end_s > w.start_s else float(r0 <= w.start_s <= r1)
            if ov > best_overlap:
                best, best_overlap = r, ov
        if best is not None:
            last = max(best, last)  # words are in time order, so are their regions
            members.setdefault(last, []).append(i)

    out = list(words)
    for r, idx in members.items():
        r0, r1 = regions[r]

        def inside(t: float, r0: float = r0, r1: float = r1) -> float:
            return min(max(t, r0), r1)

        for j, i in enumerate(idx):
            w = words[i]
            start = r0 if j == 0 else inside(w.start_s)
            # the last word ends with the region; the others run on to the next word
            end = r1 if j == len(idx) - 1 else max(inside(w.end_s), inside(words[idx[j + 1]].start_s))
            out[i] = replace(w, start_s=start, end_s=max(start, end))
    return out


# ---------------------------------------------------------------------------------------------
# Sentences (pure)


def _ends_sentence(text: str, i: int, ends: frozenset[str]) -> bool:
    """Whether the character at i ends a sentence: sentence punctuation not inside a token such
    as "4.99", "1,000" or "spark.run" (next character a Latin letter or digit)."""
    if text[i] not in ends:
        return False
    nxt = text[i + 1:].lstrip("".join(_CLOSERS))
    return not nxt or not (nxt[0].isascii() and nxt[0].isalnum())


def _pieces(word: Word, ends: frozenset[str]) -> list[tuple[str, float, float, bool]]:
    """The word cut after each sentence-ending character: (text, start_s, end_s, ends_sentence),
    the word's span shared in proportion to character counts (as split_asr shares a segment).
    Every piece but the last ends a sentence."""
    text = word.text
    cuts = [i + 1 for i in range(len(text)) if _ends_sentence(text, i, ends)]
    # closing quotes/brackets stay with the punctuation they follow
    cuts = [c + len(text[c:]) - len(text[c:].lstrip("".join(_CLOSERS))) for c in cuts]
    bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
    span = word.end_s - word.start_s
    out = []
    for a, b in itertools.pairwise(bounds):
        if a == b:
            continue
        out.append((text[a:b], word.start_s + span * a / len(text), word.start_s + span * b / len(text),
                    b in cuts))
    return out


def sentences_from_words(words: Sequence[Word], language: str) -> list[Sentence]:
    """The voice-over cut into sentences: after sentence punctuation (for Chinese the paper's
    "，。？！；,!?;", also inside a word, its time shared by characters), and at a silence of at
    least PAUSE_S between two words. A sentence spans its first word's start to its last's end."""
    primary = language.split("-")[0].lower()
    ends = CHINESE_ENDS if primary == "zh" else OTHER_ENDS
    joiner = "" if primary in UNSPACED else " "
    sentences: list[Sentence] = []
    parts: list[tuple[str, float, float]] = []

    def close() -> None:
        if parts:
            text = joiner.join(p[0] for p in parts).strip()
            if any(unicodedata.category(c)[0] in "LN" for c in text):
                sentences.append(Sentence(text, parts[0][1], parts[-1][2]))
            parts.clear()

    prev_end: float | None = None
    for word in words:
        if not word.text.strip():
            continue
        word = replace(word, text=word.text.strip())
        if prev_end is not None and word.start_s - prev_end >= PAUSE_S:
            close()
        for text, start, end, ends_here in _pieces(word, ends):
            parts.append((text, start, end))
            if ends_here:
                close()
        prev_end = word.end_s
    close()
    return sentences


# ---------------------------------------------------------------------------------------------
# Clips (pure)


def frame_count(duration_s: float) -> int:
    """How many 1 fps frames an ad of this length has: one at every whole second k with
    0 <= k < duration_s, i.e. k = 0 .. ceil(duration_s) - 1 (the duration is rounded to the
    millisecond first, so float noise on a whole number adds no frame)."""
    return max(0, math.ceil(round(duration_s, 3)))


def _shots_inside(cuts_s: Sequence[float], start_s: float, end_s: float) -> list[float]:
    return [c for c in cuts_s if start_s < c < end_s]


def cut_clips(sentences: Sequence[Sentence], duration_s: float, shot_cuts_s: Sequence[float]) -> list[Clip]:
    """The ad as the paper's clips (db.build_str), in time order; `sentences` in time order.

    A sentence (st, et) gets the frames k with int(st) < k <= int(et), from frame 0 when
    int(st) == 0. Frames not yet in a clip up to int(st) form a video-only clip (text None)
    before it, spanning the silence from the previous sentence's end (or 0) to st. A sentence
    left with no frames (int(st) == int(et) >= 1, its frames in earlier clips, or past the end)
    is a text-only clip. Frames left after the last sentence form a video-only clip up to `duration_s`. Frames
    are those of `frame_count(duration_s)`.

    Two choices where the reference code is loose: each frame goes to one clip only (it repeats
    frames when sentences overlap), and a leading video-only clip starts at frame 0 (it starts
    at frame 1, losing the opening frame). `shot_starts_s`: the shot cuts strictly inside a
    clip's span."""
    n = frame_count(duration_s)
    cuts = sorted(shot_cuts_s)
    clips: list[Clip] = []
    given = 0  # frames 0 .. given-1 are in a clip already
    prev_end = 0.0
    for s in sentences:
        first, last = int(s.start_s), int(s.end_s)
        if first > 0 and given <= min(first, n - 1):
            frames = list(range(given, min(first, n - 1) + 1))
            start = min(prev_end, s.start_s)
            clips.append(Clip(start, s.start_s, None, frames, _shots_inside(cuts, start, s.start_s)))
            given = frames[-1] + 1
        lo = 0 if first == 0 else first + 1
        frames = list(range(max(lo, given), min(last, n - 1) + 1))
        clips.append(Clip(s.start_s, s.end_s, s.text, frames, _shots_inside(cuts, s.start_s, s.end_s)))
        given = max(given, frames[-1] + 1) if frames else given
        prev_end = max(prev_end, s.end_s)
    if given < n:
        clips.append(Clip(prev_end, duration_s, None, list(range(given, n)),
                          _shots_inside(cuts, prev_end, duration_s)))
    return clips
