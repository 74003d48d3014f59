"""Constrained decoding for the trained adcut model: which token may come next.

The trained model answers each task in a fixed shape, and greedy decoding alone does not
guarantee it keeps to it (a small or undertrained model repeats a clip, stops one number
short, or writes a ninth audio token). Here each task's answer language is written down as a
small state machine over the ids generated so far, and every other token is masked to -inf
before the greedy pick, so the answer is valid by construction:

- clip numbers (vid_select, vid_sort): exactly `n` distinct numbers from 1..m, written as
  canonical decimals (no sign, space or leading zero) joined by "," (the SFT answers' form,
  e.g. "3,1,2"), then the end of the turn. vid_sort is the case n == m (a permutation).
- audio (vid2aud): `<|audio_start|>`, one `<a_l_*>` token per level l = 0..7 in level order
  (codes below the audio tokenizer's codebook size), `<|audio_end|>`, end of turn.
- script lines (vid2text): free text in exactly `n` lines: no end of turn before n-1 line
  breaks, no line break after them, no empty line (the parsers drop those), no special or
  added token (sentinels, `<v_..>`, `<think>`). A line that has run `max_line_tokens` tokens
  and has content may only be closed, so an answer always ends within its budget.

Numbers are several tokens in most tokenizers ("12" may be "1","2", or one "12" token, or
"12," ...). The machine therefore works on text, not on ids: `VocabInfo` decodes the whole
vocabulary once per tokenizer and keeps the tokens whose text is only digits and commas and
reads the same in any context (a SentencePiece "▁1" decodes to "1" alone but to " 1" after
another token, so it is left out). A step joins the texts of the generated tokens and tries
each such token on the end of it (a dozen tokens for Qwen, which splits digits; about a
thousand for tokenizers with 3-digit number tokens). Script steps use masks precomputed over
the vocabulary (numpy), so no step loops over the vocabulary in Python.

Everything but `constrained_processor` is pure: strings and ids in, numpy masks out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from adcut.tasks.parse import AUDIO_CODES, AUDIO_LEVELS, parse_script
from adcut.tokens.vocab import AUDIO_END, AUDIO_START

_NUMERIC_RE = re.compile(r"[0-9,]+")
# What str.splitlines() also breaks lines on, besides "\n": a token holding one of these
# would make the parser count lines differently from the machine, so script text bans them.
_OTHER_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


# --------------------------------------------------------------------------- the vocabulary


@dataclass(frozen=True)
class VocabInfo:
    """What the constraints need to know about a tokenizer, computed once.

    `strings[i]`: the text of token i decoded alone. `size`: the number of token ids.
    Arrays are indexed by token id."""

    strings: list[str]
    eos_ids: tuple[int, ...]
    special: np.ndarray  # bool: special or added token (never part of free text)
    numeric_ids: np.ndarray  # int64: tokens made only of digits and commas, context-free
    numeric_strings: list[str]  # their texts, same order
    numeric_set: frozenset[int]  # numeric_ids as a set
    newlines: np.ndarray  # int32: "\n" count of each token's text
    other_breaks: np.ndarray  # bool: holds another line-break character
    blank_inside: np.ndarray  # bool: writes an empty line by itself ("\n\n", "a\n \nb")
    head_content: np.ndarray  # bool: non-blank text before its first "\n"
    tails: dict[int, str] = field(repr=False)  # text after the last "\n", for tokens that have one
    audio_ids: np.ndarray | None = None  # int64 (levels, codes): id of <a_l_c>, -1 when absent
    audio_start: int | None = None
    audio_end: int | None = None

    @property
    def size(self) -> int:
        return len(self.strings)

    def mask(self, ids: Sequence[int] | np.ndarray = ()) -> np.ndarray:
        out = np.zeros(self.size, dtype=bool)
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size:
            out[ids[(ids >= 0) & (ids < self.size)]] = True
        return out

    def eos_mask(self) -> np.ndarray:
        return self.mask(self.eos_ids)

    def text_of(self, ids: Sequence[int]) -> str:
        """The generated text as the machine reads it: each token's own text, joined."""
        return "".join(self.strings[i] if 0 <= i < self.size else "" for i in ids)

    @classmethod
    def build(cls, strings: Sequence[str], *, eos_ids: Sequence[int], special_ids: Sequence[int] = (),
              token_ids: dict[str, int] | None = None, doubled: dict[int, str] | None = None) -> VocabInfo:
        """From each token's text (pure). `token_ids`: token string -> id for the adcut tokens
        the tokenizer holds (audio tokens, audio sentinels). `doubled[i]`: the text of the
        pair (i, i) decoded together, for tokens whose own text is digits and commas; a token
        is numeric only when that equals its text twice (context-free). Without `doubled`
        every such token counts as context-free."""
        strings = [s if isinstance(s, str) else "" for s in strings]
        size = len(strings)
        special = np.zeros(size, dtype=bool)
        for i in special_ids:
            if 0 <= int(i) < size:
                special[int(i)] = True
        numeric: list[int] = []
        for i, s in enumerate(strings):
            if special[i] or not _NUMERIC_RE.fullmatch(s):
                continue
            if doubled is not None and doubled.get(i) != s + s:
                continue
            numeric.append(i)
        newlines = np.fromiter((s.count("\n") for s in strings), dtype=np.int32, count=size)
        other = np.fromiter((any(c in _OTHER_BREAKS for c in s) for s in strings), dtype=bool, count=size)
        blank = np.zeros(size, dtype=bool)
        head = np.zeros(size, dtype=bool)
        tails: dict[int, str] = {}
        for i in np.flatnonzero(newlines):
            parts = strings[i].split("\n")
            head[i] = bool(parts[0].strip())
            blank[i] = any(not p.strip() for p in parts[1:-1])
            tails[int(i)] = parts[-1]
        audio_ids = None
        start = end = None
        if token_ids is not None:
            audio_ids = np.full((AUDIO_LEVELS, AUDIO_CODES), -1, dtype=np.int64)
            for level in range(AUDIO_LEVELS):
                for code in range(AUDIO_CODES):
                    tid = token_ids.get(f"<a_{level}_{code}>")
                    if tid is not None and 0 <= tid < size:
                        audio_ids[level, code] = tid
            start, end = token_ids.get(AUDIO_START), token_ids.get(AUDIO_END)
        return cls(strings=strings, eos_ids=tuple(int(i) for i in eos_ids), special=special,
                   numeric_ids=np.array(numeric, dtype=np.int64),
                   numeric_strings=[strings[i] for i in numeric], numeric_set=frozenset(numeric),
                   newlines=newlines, other_breaks=other,
                   blank_inside=blank, head_content=head, tails=tails, audio_ids=audio_ids,
                   audio_start=start, audio_end=end)


def vocab_info(tokenizer: Any, eos_ids: Sequence[int]) -> VocabInfo:
    """`VocabInfo` of a transformers tokenizer: every id decoded alone once (the Rust
    decoder, in one batch), digit/comma tokens checked for context-freedom by decoding them
    twice in a row."""
    size = len(tokenizer)
    strings = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False,
                                     clean_up_tokenization_spaces=False)
    candidates = [i for i, s in enumerate(strings) if _NUMERIC_RE.fullmatch(s or "")]
    doubled = dict(zip(candidates, tokenizer.batch_decode([[i, i] for i in candidates], skip_special_tokens=False,
                                                          clean_up_tokenization_spaces=False)))
    special = {int(i) for i in getattr(tokenizer, "all_special_ids", []) or []}
    special.update(int(i) for i in (getattr(tokenizer, "added_tokens_decoder", None) or {}))
    vocab = tokenizer.get_vocab()
    wanted = [f"<a_{lv}_{c}>" for lv in range(AUDIO_LEVELS) for c in range(AUDIO_CODES)] + [AUDIO_START, AUDIO_END]
    token_ids = {t: int(vocab[t]) for t in wanted if t in vocab}
    return VocabInfo.build(strings, eos_ids=eos_ids, special_ids=sorted(special), token_ids=token_ids,
                           doubled=doubled)


# --------------------------------------------------------------------------- constraints


class Constraint(Protocol):
    """What may come next after `generated` (the answer's ids so far, prompt excluded)."""

    budget: int  # tokens that always suffice for a complete answer (end of turn included)

    def allowed(self, generated: Sequence[int]) -> np.ndarray:
        """Bool mask over the vocabulary; never empty (a dead end allows only the end)."""

    def complete(self, generated: Sequence[int]) -> bool:
        """The ids (end of turn stripped) form a whole valid answer."""


def _canonical(piece: str, m: int) -> int | None:
    """The number a finished piece writes, when canonical and within 1..m."""
    if not piece or not piece.isdigit() or piece[0] == "0" or len(piece) > len(str(m)):
        return None
    value = int(piece)
    return value if 1 <= value <= m else None


def _completable(prefix: str, used: set[int] | frozenset[int], m: int) -> bool:
    """Some unused number in 1..m starts with `prefix` (non-empty digits)."""
    if prefix[0] == "0" or not prefix.isdigit():
        return False
    p = int(prefix)
    for extra in range(len(str(m)) - len(prefix) + 1):
        lo, hi = max(1, p * 10 ** extra), min(m, (p + 1) * 10 ** extra - 1)
        if lo <= hi and hi - lo + 1 > sum(1 for u in used if lo <= u <= hi):
            return True
    return False


def number_list_state(text: str, m: int, n: int) -> tuple[bool, bool]:
    """(`text` is a prefix of some valid answer, `text` is a whole valid answer) for the
    language "n distinct numbers from 1..m joined by commas" (pure)."""
    if not _NUMERIC_RE.fullmatch(text or "0"):  # "" is the empty prefix
        return False, False
    pieces = text.split(",")
    used: set[int] = set()
    for piece in pieces[:-1]:
        value = _canonical(piece, m)
        if value is None or value in used:
            return False, False
        used.add(value)
    if len(used) >= n:  # a comma after the n-th number
        return False, False
    last = pieces[-1]
    if not last:
        return True, False
    if not _completable(last, used, m):
        return False, False
    value = _canonical(last, m)
    return True, value is not None and value not in used and len(used) + 1 == n


class NumberList:
    """vid_select (n of m) and vid_sort (n == m): n distinct clip numbers, comma-joined."""

    def __init__(self, info: VocabInfo, m: int, n: int):
        if not 1 <= n <= m:
            raise ValueError(f"cannot choose {n} distinct numbers from 1..{m}")
        self.info, self.m, self.n = info, int(m), int(n)
        # Each token adds a character or more: n numbers of at most d digits, n-1 commas, the end.
        self.budget = self.n * (len(str(self.m)) + 1) + 1

    def _text(self, generated: Sequence[int]) -> str | None:
        numeric = self.info.numeric_set
        if any(i not in numeric for i in generated):
            return None
        return self.info.text_of(generated)

    def allowed(self, generated: Sequence[int]) -> np.ndarray:
        info = self.info
        text = self._text(generated)
        if text is None or not number_list_state(text, self.m, self.n)[0]:
            return info.eos_mask()
        pieces = text.split(",")
        used = {int(p) for p in pieces[:-1]}
        cur = pieces[-1]
        ok = [tid for tid, s in zip(info.numeric_ids.tolist(), info.numeric_strings)
              if _extends(used, cur, s, self.m, self.n)]
        out = info.mask(ok)
        value = _canonical(cur, self.m)
        if value is not None and value not in used and len(used) + 1 == self.n:
            out |= info.eos_mask()
        return out if out.any() else info.eos_mask()

    def complete(self, generated: Sequence[int]) -> bool:
        text = self._text(generated)
        return text is not None and number_list_state(text, self.m, self.n)[1]


def _extends(used: set[int], cur: str, piece: str, m: int, n: int) -> bool:
    """`cur + piece` keeps a valid prefix, given the finished numbers `used` (pure; only the
    new text is examined)."""
    parts = (cur + piece).split(",")
    seen = set(used)
    for p in parts[:-1]:
        value = _canonical(p, m)
        if value is None or value in seen:
            return False
        seen.add(value)
    if len(seen) >= n:
        return False
    last = parts[-1]
    return not last or _completable(last, seen, m)


class AudioTrack:
    """vid2aud: <|audio_start|>, <a_0_*> ... <a_{levels-1}_*>, <|audio_end|>, end of turn.
    Codes are below `codebook_size` (the audio tokenizer's, so every answer decodes)."""

    def __init__(self, info: VocabInfo, *, levels: int = AUDIO_LEVELS, codebook_size: int = AUDIO_CODES):
        if info.audio_ids is None or (info.audio_ids[:levels, :codebook_size] < 0).any():
            raise ValueError("the tokenizer lacks some audio tokens <a_level_code>")
        self.info, self.levels, self.codebook = info, int(levels), int(codebook_size)
        self.pattern: list[np.ndarray] = []
        if info.audio_start is not None:
            self.pattern.append(np.array([info.audio_start]))
        self.pattern += [info.audio_ids[level, :codebook_size] for level in range(levels)]
        if info.audio_end is not None:
            self.pattern.append(np.array([info.audio_end]))
        self._sets = [frozenset(p.tolist()) for p in self.pattern]
        self.budget = len(self.pattern) + 1

    def _follows(self, generated: Sequence[int]) -> bool:
        return len(generated) <= len(self.pattern) and all(int(g) in s for g, s in zip(generated, self._sets))

    def allowed(self, generated: Sequence[int]) -> np.ndarray:
        k = len(generated)
        if k >= len(self.pattern) or not self._follows(generated):
            return self.info.eos_mask()
        return self.info.mask(self.pattern[k])

    def complete(self, generated: Sequence[int]) -> bool:
        return len(generated) == len(self.pattern) and self._follows(generated)

    def codes(self, generated: Sequence[int]) -> list[int] | None:
        """The generated codes by level, when the answer is complete."""
        if not self.complete(generated):
            return None
        offset = 1 if self.info.audio_start is not None else 0
        return [int(np.flatnonzero(self.pattern[offset + lv] == generated[offset + lv])[0])
                for lv in range(self.levels)]


def line_has_content(line: str) -> bool:
    """A line the script parser keeps (not blank, not only numbering, bullets or quotes)."""
    return parse_script(line).ok


class ScriptLines:
    """vid2text: free text in exactly `n_lines` non-empty lines."""

    def __init__(self, info: VocabInfo, n_lines: int, *, max_line_tokens: int = 48,
                 has_content: Callable[[str], bool] = line_has_content):
        if n_lines < 1:
            raise ValueError("a script needs at least one line")
        if max_line_tokens < 1:
            raise ValueError("max_line_tokens must be at least 1")
        self.info, self.n, self.max_line = info, int(n_lines), int(max_line_tokens)
        self.has_content = has_content
        free = ~info.special & ~info.other_breaks
        self._text = free & (info.newlines == 0)
        self._breaking = free & (info.newlines > 0) & ~info.blank_inside
        self.budget = self.n * (self.max_line + 1) + 1

    def _state(self, generated: Sequence[int]) -> tuple[int, str, int]:
        """(line breaks so far, text of the current line, tokens in the current line)."""
        ids = np.asarray(generated, dtype=np.int64)
        if ids.size == 0:
            return 0, "", 0
        breaks = self.info.newlines[ids]
        where = np.flatnonzero(breaks)
        if where.size == 0:
            return 0, self.info.text_of(generated), len(generated)
        last = int(where[-1])
        line = self.info.tails.get(int(ids[last]), "") + self.info.text_of(generated[last + 1:])
        return int(breaks.sum()), line, len(generated) - last - 1

    def allowed(self, generated: Sequence[int]) -> np.ndarray:
        info = self.info
        ids = np.asarray(generated, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= info.size or not (self._text[ids] | self._breaking[ids]).all()):
            return info.eos_mask()  # not an answer of this machine: end it
        breaks, line, used = self._state(generated)
        left = self.n - 1 - breaks
        if left < 0:
            return info.eos_mask()
        content = self.has_content(line)
        out = np.zeros(info.size, dtype=bool) if used >= self.max_line and content else self._text.copy()
        if left > 0:
            out |= self._breaking & (info.newlines <= left) & (content | info.head_content)
        elif content:
            out |= info.eos_mask()
        return out if out.any() else info.eos_mask()

    def complete(self, generated: Sequence[int]) -> bool:
        breaks, line, _ = self._state(generated)
        return breaks == self.n - 1 and self.has_content(line)


# --------------------------------------------------------------------------- transformers


def constrained_processor(constraint: Constraint, prompt_length: int) -> Any:
    """A transformers LogitsProcessor that keeps only `constraint.allowed` tokens (others to
    -inf). Rows are read from `prompt_length` on. Logit columns past the tokenizer (models
    pad their embedding matrix) are never allowed. Should every allowed token already be
    -inf (another processor banned it), the allowed ones get 0, so the pick stays inside."""
    import torch
    from transformers import LogitsProcessor

    class _Constrained(LogitsProcessor):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            out = torch.full_like(scores, float("-inf"))
            width = scores.shape[-1]
            for row in range(scores.shape[0]):
                mask = constraint.allowed(input_ids[row, prompt_length:].tolist())
                if mask.shape[0] < width:
                    mask = np.concatenate([mask, np.zeros(width - mask.shape[0], dtype=bool)])
                keep = torch.from_numpy(mask[:width]).to(scores.device)
                kept = scores[row].masked_fill(~keep, float("-inf"))
                if not torch.isfinite(kept).any():
                    kept = torch.zeros_like(kept).masked_fill(~keep, float("-inf"))
                out[row] = kept
            return out

    return _Constrained()
