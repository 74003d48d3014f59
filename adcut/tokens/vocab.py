"""The token vocabulary of AutoCut (paper sections 2.4, 4.3, 5.2) and its (de)serialisation.

A frame (1 s of video) is 8 RQ-VAE codes, written as 8 consecutive tokens `<v_0_c0>...<v_7_c7>`
in level order; a music track is 8 `<a_l_c>` tokens. Ten sentinels (added to the language
model's vocabulary as special tokens) frame them; `<|text_start|>` / `<|text_end|>` are ordinary
text (not added tokens, as in the paper). Formats:

    frame   <|frame_start|><v_0_a>...<v_7_h><|frame_end|>
    clip    <|clip_start|>[<|text_start|>LINE<|text_end|>]<|video_start|>FRAME*<|video_end|><|clip_end|>
    track   <|audio_start|><a_0_a>...<a_7_h><|audio_end|>
    ad      <|ad_start|>CLIP*[TRACK]<|ad_end|>

A clip without frames is a text-only clip (the paper's `int(st) == int(et)` case); a clip
without a text block is a video-only clip. Code arrays are numpy int64: (frames, levels) for a
clip, (levels,) for a frame or a track.

Parsers come in two strengths:

- strict (`strict=True`, the default): the exact format above, nothing else. Any deviation
  raises `TokenFormatError` naming the character position and what was expected, e.g.
  "position 812: expected <v_3_*> (level 3 of frame 2), found <v_4_17>". Levels must run
  0..levels-1 in order, codes must be < codebook_size, numbers must be written canonically
  (no leading zeros), no whitespace between tokens. `serialise -> parse` is exact.
- forgiving (`strict=False`): for model outputs as released. It accepts missing sentinels
  (vLLM strips special tokens: a bare run of `<v_...>` / `<a_...>` tokens), whitespace and
  newlines anywhere between tokens, and other stray text between tokens (ignored). Frames are
  found by their sentinels where present, otherwise a token whose level is not above the
  previous one starts a new frame. Tokens with an unknown level (>= levels) or code
  (>= codebook_size) are ignored. A frame that lacks some levels is, by default
  (`missing="drop"`), **dropped**; with `missing="pad"` it is kept with `MISSING_CODE` (-1) at
  the missing levels. A track always keeps its levels, padded with -1 (it is one unit; there
  is nothing to drop it for). Each tolerance is reported in `repairs` when a list is passed.

Pure Python + numpy; no torch (cheap to import).
"""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

import numpy as np

from adcut.core.errors import BadInputError

VIDEO_LEVELS = 8  # RQ-VAE levels of the final video model (video_8_256_0729)
AUDIO_LEVELS = 8  # ... and of the audio model (audio_8_256_0729)
CODEBOOK_SIZE = 256  # codes per level
MISSING_CODE = -1  # forgiving parsers, missing="pad": a level the text did not give

# The ten sentinels, in the order the paper adds them as special tokens (section 4.3).
AD_START = "<|ad_start|>"
AD_END = "<|ad_end|>"
CLIP_START = "<|clip_start|>"
CLIP_END = "<|clip_end|>"
VIDEO_START = "<|video_start|>"
VIDEO_END = "<|video_end|>"
FRAME_START = "<|frame_start|>"
FRAME_END = "<|frame_end|>"
AUDIO_START = "<|audio_start|>"
AUDIO_END = "<|audio_end|>"
SENTINELS = (AD_START, AD_END, CLIP_START, CLIP_END, VIDEO_START, VIDEO_END,
             FRAME_START, FRAME_END, AUDIO_START, AUDIO_END)
# Ordinary text, not added tokens (the paper leaves them to the BPE tokenizer).
TEXT_START = "<|text_start|>"
TEXT_END = "<|text_end|>"

VIDEO = "v"
AUDIO = "a"


class TokenFormatError(BadInputError):
    """A token string does not have the expected format; the message names the position."""


class ParsedClip(NamedTuple):
    """A clip: `codes` (frames, levels) int64 (0 frames for a text-only clip) and its script
    `text` (None for a video-only clip). Unpacks as `(codes, text)`, the form `ad_string` takes."""

    codes: np.ndarray
    text: str | None


class ParsedAd(NamedTuple):
    """An ad: its clips in order and its music track's codes (None when the ad has none)."""

    clips: list[ParsedClip]
    track: np.ndarray | None


# --------------------------------------------------------------------------- token strings


def _token(kind: str, level: int, code: int) -> str:
    level, code = int(level), int(code)
    if level < 0 or code < 0:
        raise ValueError(f"token level and code must be >= 0, got level {level}, code {code}")
    return f"<{kind}_{level}_{code}>"


def video_token(level: int, code: int) -> str:
    """`<v_{level}_{code}>`."""
    return _token(VIDEO, level, code)


def audio_token(level: int, code: int) -> str:
    """`<a_{level}_{code}>`."""
    return _token(AUDIO, level, code)


def vocabulary(video_levels: int = VIDEO_LEVELS, audio_levels: int = AUDIO_LEVELS,
               codebook_size: int = CODEBOOK_SIZE) -> list[str]:
    """The tokens to add to a language model's vocabulary, in a fixed order: every video token
    level-major (`<v_0_0>`, `<v_0_1>`, ..., `<v_{L-1}_{K-1}>`), every audio token likewise, then
    the ten sentinels. (The paper reserves 24 video and 16 audio levels; the final models use 8.)"""
    for name, value in (("video_levels", video_levels), ("audio_levels", audio_levels),
                        ("codebook_size", codebook_size)):
        if int(value) < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    out = [f"<v_{i}_{j}>" for i in range(video_levels) for j in range(codebook_size)]
    out += [f"<a_{i}_{j}>" for i in range(audio_levels) for j in range(codebook_size)]
    return out + list(SENTINELS)


# --------------------------------------------------------------------------- serialising


def _codes(codes: object, ndim: int, what: str, codebook_size: int) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.size == 0 and ndim == 2:
        return np.zeros((0, arr.shape[-1] if arr.ndim == 2 else 0), np.int64)
    if arr.ndim != ndim:
        shape = "(frames, levels)" if ndim == 2 else "(levels,)"
        raise ValueError(f"{what} codes must have shape {shape}, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0)):
            raise ValueError(f"{what} codes must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= codebook_size):
        bad = int(arr[(arr < 0) | (arr >= codebook_size)].flat[0])
        raise ValueError(f"{what} code {bad} is outside 0..{codebook_size - 1}")
    return arr


def _run(kind: str, row: np.ndarray) -> str:
    return "".join(f"<{kind}_{level}_{int(code)}>" for level, code in enumerate(row))


def frame_string(codes: object, codebook_size: int = CODEBOOK_SIZE) -> str:
    """`<|frame_start|><v_0_a>...<v_{L-1}_h><|frame_end|>` of one frame's (levels,) codes."""
    return FRAME_START + _run(VIDEO, _codes(codes, 1, "frame", codebook_size)) + FRAME_END


def video_string(codes: object, codebook_size: int = CODEBOOK_SIZE) -> str:
    """The frames of a (frames, levels) array: one `<|frame_start|>...<|frame_end|>` each
    (the inside of `<|video_start|>...<|video_end|>`; empty for no frames)."""
    arr = _codes(codes, 2, "clip", codebook_size)
    return "".join(FRAME_START + _run(VIDEO, row) + FRAME_END for row in arr)


def clip_string(codes: object | None, text: str | None = None, codebook_size: int = CODEBOOK_SIZE) -> str:
    """`<|clip_start|>` [+ `<|text_start|>TEXT<|text_end|>`] + `<|video_start|>` + one frame per
    second + `<|video_end|><|clip_end|>`. `codes` None (or 0 frames) is a text-only clip; `text`
    None is a video-only clip. A text holding `<|text_end|>` cannot be written unambiguously."""
    body = "" if codes is None else video_string(codes, codebook_size)
    head = CLIP_START
    if text is not None:
        if TEXT_END in text:
            raise ValueError(f"clip text may not contain {TEXT_END}")
        head += TEXT_START + text + TEXT_END
    return head + VIDEO_START + body + VIDEO_END + CLIP_END


def track_string(codes: object, codebook_size: int = CODEBOOK_SIZE) -> str:
    """`<|audio_start|><a_0_a>...<a_{L-1}_h><|audio_end|>` of a track's (levels,) codes."""
    return AUDIO_START + _run(AUDIO, _codes(codes, 1, "track", codebook_size)) + AUDIO_END


def ad_string(clips: Sequence[tuple[object | None, str | None]], track_codes: object | None,
              codebook_size: int = CODEBOOK_SIZE) -> str:
    """The alignment format of an ad (paper section 5.2): `<|ad_start|>` + each (codes, text)
    clip + the music track (omitted when `track_codes` is None) + `<|ad_end|>`. Video-only
    (text None) and text-only (codes None) clips are allowed."""
    out = [AD_START]
    for item in clips:
        codes, text = item
        out.append(clip_string(codes, text, codebook_size))
    if track_codes is not None:
        out.append(track_string(track_codes, codebook_size))
    out.append(AD_END)
    return "".join(out)


# --------------------------------------------------------------------------- strict parsing

_NUM = r"(0|[1-9][0-9]*)"
_STRICT_TOKEN_RE = {k: re.compile(rf"<{k}_{_NUM}_{_NUM}>") for k in (VIDEO, AUDIO)}
# What stands at a position, for messages: a sentinel-like tag, a token, or a few characters.
_SHOW_RE = re.compile(r"<\|[^<>|\s]{1,40}\|>|<[va]_[0-9]+_[0-9]+>|<[^<>\s]{1,40}>")


def _found(text: str, pos: int) -> str:
    if pos >= len(text):
        return "end of text"
    m = _SHOW_RE.match(text, pos)
    if m:
        return m.group()
    return repr(text[pos : pos + 20])


class _Strict:
    """A cursor over `text`; positions in messages are `offset + index`."""

    def __init__(self, text: str, levels: int, codebook_size: int, offset: int = 0):
        if not isinstance(text, str):
            raise TokenFormatError(f"expected token text, got {type(text).__name__}")
        self.text, self.pos, self.levels, self.codebook = text, 0, levels, codebook_size
        self.offset = offset

    def fail(self, expected: str, pos: int | None = None) -> TokenFormatError:
        pos = self.pos if pos is None else pos
        return TokenFormatError(f"position {self.offset + pos}: expected {expected}, found {_found(self.text, pos)}")

    def at(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def expect(self, literal: str, context: str = "") -> None:
        if not self.at(literal):
            raise self.fail(literal + context)
        self.pos += len(literal)

    def end(self) -> None:
        if self.pos != len(self.text):
            raise self.fail("end of text")

    def run(self, kind: str, where: str) -> np.ndarray:
        """`levels` tokens of `kind` in level order."""
        out = np.empty(self.levels, np.int64)
        rx = _STRICT_TOKEN_RE[kind]
        for level in range(self.levels):
            m = rx.match(self.text, self.pos)
            want = f"<{kind}_{level}_*> (level {level} of {where})"
            if not m or int(m.group(1)) != level:
                raise self.fail(want)
            code = int(m.group(2))
            if code >= self.codebook:
                raise TokenFormatError(f"position {self.offset + self.pos}: code {code} of <{kind}_{level}_{code}> "
                                       f"is outside 0..{self.codebook - 1} ({where})")
            out[level] = code
            self.pos = m.end()
        return out

    def frames(self, close: str | None, first_frame: int = 1) -> np.ndarray:
        """Frames until `close` (not consumed) or the end of text when `close` is None."""
        rows = []
        while True:
            if close is not None and self.at(close):
                break
            if close is None and self.pos == len(self.text):
                break
            if not self.at(FRAME_START):
                raise self.fail(FRAME_START + (f" or {close}" if close else " or end of text"))
            self.pos += len(FRAME_START)
            rows.append(self.run(VIDEO, f"frame {first_frame + len(rows)}"))
            if not self.at(FRAME_END):
                raise self.fail(f"{FRAME_END} (after level {self.levels - 1} of frame {first_frame + len(rows) - 1})")
            self.pos += len(FRAME_END)
        return np.array(rows, np.int64).reshape(len(rows), self.levels)

    def clip(self, n: int | None = None) -> ParsedClip:
        where = f" (clip {n})" if n is not None else ""
        self.expect(CLIP_START, where)
        text = None
        if self.at(TEXT_START):
            self.pos += len(TEXT_START)
            end = self.text.find(TEXT_END, self.pos)
            if end < 0:
                raise self.fail(f"{TEXT_END} closing the clip text{where}", len(self.text))
            text, self.pos = self.text[self.pos : end], end + len(TEXT_END)
        self.expect(VIDEO_START, where)
        codes = self.frames(VIDEO_END)
        self.expect(VIDEO_END, where)
        self.expect(CLIP_END, where)
        return ParsedClip(codes, text)

    def track(self) -> np.ndarray:
        self.expect(AUDIO_START)
        codes = self.run(AUDIO, "the audio track")
        self.expect(AUDIO_END, " (after level {} of the audio track)".format(self.levels - 1))
        return codes


# --------------------------------------------------------------------------- forgiving parsing

_LOOSE_RE = re.compile(r"<\|([a-z_]{1,20})\|>|<([va])_([0-9]{1,9})_([0-9]{1,9})>")


def _note(repairs: list[str] | None, message: str) -> None:
    if repairs is not None and message not in repairs:
        repairs.append(message)


def _loose_items(text: str, repairs: list[str] | None) -> list[tuple]:
    """Sentinels ('s', name) and tokens ('t', kind, level, code) in order; everything else
    (whitespace, stray text) is skipped and noted."""
    items: list[tuple] = []
    pos = 0
    stray_ws = stray_text = False
    for m in _LOOSE_RE.finditer(text):
        gap = text[pos : m.start()]
        if gap:
            stray_ws |= not gap.strip()
            stray_text |= bool(gap.strip())
        pos = m.end()
        if m.group(1) is not None:
            items.append(("s", f"<|{m.group(1)}|>"))
        else:
            items.append(("t", m.group(2), int(m.group(3)), int(m.group(4))))
    gap = text[pos:]
    if gap:
        stray_ws |= not gap.strip()
        stray_text |= bool(gap.strip())
    if stray_ws:
        _note(repairs, "ignored whitespace between tokens")
    if stray_text:
        _note(repairs, "ignored stray text between tokens")
    return items


def _group_frames(items: list[tuple], kind: str, levels: int, codebook_size: int, missing: str,
                  repairs: list[str] | None) -> np.ndarray:
    """Frames of `kind` tokens: by sentinels where present, else a level not above the
    previous one starts a frame. Incomplete frames dropped or padded per `missing`."""
    if missing not in ("drop", "pad"):
        raise ValueError(f"missing must be 'drop' or 'pad', not {missing!r}")
    rows: list[np.ndarray] = []
    cur: dict[int, int] = {}
    last = -1
    saw_sentinel = False

    def flush() -> None:
        nonlocal cur, last
        if cur:
            row = np.full(levels, MISSING_CODE, np.int64)
            for lv, code in cur.items():
                row[lv] = code
            if len(cur) == levels:
                rows.append(row)
            elif missing == "pad":
                rows.append(row)
                _note(repairs, f"padded frames with missing levels with {MISSING_CODE}")
            else:
                _note(repairs, "dropped frames with missing levels")
        cur, last = {}, -1

    for item in items:
        if item[0] == "s":
            if item[1] in (FRAME_START, FRAME_END):
                saw_sentinel = True
                flush()
            continue
        _, k, level, code = item
        if k != kind:
            continue
        if level >= levels or code >= codebook_size:
            _note(repairs, f"ignored tokens outside {levels} levels x {codebook_size} codes")
            continue
        if level <= last:
            flush()
        cur[level] = code  # skipped levels stay missing
        last = level
    flush()
    if not saw_sentinel and rows:
        _note(repairs, "no frame sentinels: frames told apart by their levels")
    return np.array(rows, np.int64).reshape(len(rows), levels)


# --------------------------------------------------------------------------- parsers


def parse_frame_run(text: str, *, levels: int = VIDEO_LEVELS, codebook_size: int = CODEBOOK_SIZE,
                    strict: bool = True, missing: str = "drop", repairs: list[str] | None = None,
                    offset: int = 0) -> np.ndarray:
    """(frames, levels) codes of a run of frames, `<|frame_start|>...<|frame_end|>` each (the
    inside of `<|video_start|>...<|video_end|>`; the empty string is no frames). Forgiving:
    see the module docstring. `offset` shifts the positions in error messages."""
    if not strict:
        return _group_frames(_loose_items(text, repairs), VIDEO, levels, codebook_size, missing, repairs)
    p = _Strict(text, levels, codebook_size, offset)
    return p.frames(None)


def parse_clip(text: str, *, levels: int = VIDEO_LEVELS, codebook_size: int = CODEBOOK_SIZE,
               strict: bool = True, missing: str = "drop", repairs: list[str] | None = None,
               offset: int = 0) -> ParsedClip:
    """(codes (frames, levels), text or None) of one clip string. Forgiving: the clip, video
    and text sentinels may be missing (a bare frame or token run is a video-only clip); the
    text is what stands between `<|text_start|>` and `<|text_end|>` when both are there."""
    if strict:
        p = _Strict(text, levels, codebook_size, offset)
        clip = p.clip()
        p.end()
        return clip
    if not isinstance(text, str):
        raise TokenFormatError(f"expected token text, got {type(text).__name__}")
    line = None
    start = text.find(TEXT_START)
    if start >= 0:
        end = text.find(TEXT_END, start + len(TEXT_START))
        if end >= 0:
            line = text[start + len(TEXT_START) : end]
            text = text[:start] + text[end + len(TEXT_END) :]
        else:
            _note(repairs, f"ignored {TEXT_START} without {TEXT_END}")
            text = text[:start] + text[start + len(TEXT_START) :]
    items = _loose_items(text, repairs)
    names = {it[1] for it in items if it[0] == "s"}
    if not {CLIP_START, CLIP_END, VIDEO_START, VIDEO_END} <= names:
        _note(repairs, "clip or video sentinels missing")
    codes = _group_frames(items, VIDEO, levels, codebook_size, missing, repairs)
    return ParsedClip(codes, line)


def parse_track(text: str, *, levels: int = AUDIO_LEVELS, codebook_size: int = CODEBOOK_SIZE,
                strict: bool = True, repairs: list[str] | None = None, offset: int = 0) -> np.ndarray:
    """(levels,) codes of `<|audio_start|><a_0_*>...<|audio_end|>`. Forgiving: sentinels may be
    missing (vLLM strips them: a bare run of 8 `<a_l_c>`); the first audio token of each level
    counts, levels it lacks are `MISSING_CODE`; no usable audio token at all is an error."""
    if strict:
        p = _Strict(text, levels, codebook_size, offset)
        codes = p.track()
        p.end()
        return codes
    if not isinstance(text, str):
        raise TokenFormatError(f"expected token text, got {type(text).__name__}")
    out = np.full(levels, MISSING_CODE, np.int64)
    seen = False
    for item in _loose_items(text, repairs):
        if item[0] == "s":
            continue
        _, kind, level, code = item
        if kind != AUDIO:
            _note(repairs, "ignored video tokens")
            continue
        if level >= levels or code >= codebook_size:
            _note(repairs, f"ignored tokens outside {levels} levels x {codebook_size} codes")
            continue
        if out[level] != MISSING_CODE:
            _note(repairs, "ignored repeated audio levels")
            continue
        out[level] = code
        seen = True
    if not seen:
        raise TokenFormatError("no audio tokens <a_level_code> found", hint="expected 8 tokens <a_0_c> ... <a_7_c>")
    if (out == MISSING_CODE).any():
        _note(repairs, f"padded missing audio levels with {MISSING_CODE}")
    return out


def parse_ad(text: str, *, video_levels: int = VIDEO_LEVELS, audio_levels: int = AUDIO_LEVELS,
             codebook_size: int = CODEBOOK_SIZE, strict: bool = True, missing: str = "drop",
             repairs: list[str] | None = None) -> ParsedAd:
    """The clips and music track of an ad string (inverse of `ad_string`). Forgiving: the ad
    and audio sentinels may be missing and whitespace may stand between clips; without clip
    sentinels all frames form one clip; a track is read from the audio tokens, if any."""
    if strict:
        p = _Strict(text, video_levels, codebook_size)
        p.expect(AD_START)
        clips = []
        while p.at(CLIP_START):
            clips.append(p.clip(len(clips) + 1))
        track = None
        if p.at(AUDIO_START):
            p.levels = audio_levels
            track = p.track()
        elif not p.at(AD_END):
            raise p.fail(f"{CLIP_START}, {AUDIO_START} or {AD_END}")
        p.expect(AD_END)
        p.end()
        return ParsedAd(clips, track)
    if not isinstance(text, str):
        raise TokenFormatError(f"expected token text, got {type(text).__name__}")
    if AD_START not in text or AD_END not in text:
        _note(repairs, "ad sentinels missing")
    body = text
    audio_at = body.find(AUDIO_START)
    a_match = re.search(r"<a_[0-9]+_[0-9]+>", body)
    cut = min(x for x in (audio_at, a_match.start() if a_match else -1, len(body)) if x >= 0)
    video_part, audio_part = body[:cut], body[cut:]
    pieces = [p for p in re.split(r"(?=<\|clip_start\|>)", video_part)]
    clips = []
    for piece in pieces:
        if CLIP_START not in piece and not re.search(r"<v_[0-9]+_[0-9]+>|<\|text_start\|>", piece):
            continue  # what precedes the first clip: <|ad_start|>, whitespace
        clips.append(parse_clip(piece.replace(AD_START, ""), levels=video_levels, codebook_size=codebook_size,
                                strict=False, missing=missing, repairs=repairs))
    track = None
    if re.search(r"<a_[0-9]+_[0-9]+>", audio_part):
        track = parse_track(audio_part, levels=audio_levels, codebook_size=codebook_size, strict=False,
                            repairs=repairs)
    return ParsedAd(clips, track)


# How the released prompts show a clip without video tokens (adcut.tasks.prompts_zh).
_PROMPT_EMPTY_CLIP = CLIP_START + VIDEO_START + FRAME_START + FRAME_END + VIDEO_END + CLIP_END


def clip_codes(clip: object, *, strict: bool = True, levels: int = VIDEO_LEVELS,
               codebook_size: int = CODEBOOK_SIZE) -> np.ndarray:
    """(frames, levels) codes of a task's clip (`adcut.tasks.types.ClipRef`) from its `tokens`
    text; (0, levels) when it has none. Raises TokenFormatError on a malformed token text."""
    tokens = getattr(clip, "tokens", clip)
    if not tokens or tokens == _PROMPT_EMPTY_CLIP:
        return np.zeros((0, levels), np.int64)
    number = getattr(clip, "number", None)
    try:
        return parse_clip(tokens, levels=levels, codebook_size=codebook_size, strict=strict).codes
    except TokenFormatError as exc:
        if number is None:
            raise
        raise TokenFormatError(f"clip {number}: {exc.message}", hint=exc.hint) from None
