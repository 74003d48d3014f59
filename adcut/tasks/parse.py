"""Forgiving parsers for model outputs of the four tasks.

Every parser takes whatever a model said and returns a `Parsed`: the best usable value
(repaired where that is safe, each repair named in `repairs`) or None with a `reason`.
They never raise on model output: a crash would lose a row that the paper's metrics count
as wrong, and a planner needs a clear reason to fall back on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Union

from adcut.tasks.types import MusicTask, ScriptTask, SelectTask, SortTask

AUDIO_LEVELS = 8  # <a_l_c> tokens per track (RQ-VAE levels 0..7)
AUDIO_CODES = 256  # codes per level

ParsedValue = Union[list[int], list[str], list[tuple[int, int]], None]


@dataclass(frozen=True)
class Parsed:
    """`ok`: `value` is usable. `repairs`: what was changed or noticed on the way (empty
    when the output was exactly as asked). `reason`: why `value` is None, when it is."""

    value: ParsedValue
    ok: bool
    repairs: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def clean(self) -> bool:
        """Usable and well-formed as the prompt asked: no repairs were needed."""
        return self.ok and not self.repairs


def _fail(reason: str, repairs: list[str]) -> Parsed:
    return Parsed(value=None, ok=False, repairs=repairs, reason=reason)


# --------------------------------------------------------------------------- cleaning

_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE_BLOCK_RE = re.compile(r"```[^\n`]*\n(.*?)```", re.S)
_SPECIAL_RE = re.compile(r"<\|[^<>|]{1,40}\|>")


def strip_reasoning(text: str, repairs: list[str]) -> str:
    """Drop <think> blocks (Qwen3 emits one, empty or not, before its answer)."""
    if _THINK_BLOCK_RE.search(text):
        text = _THINK_BLOCK_RE.sub("", text)
        repairs.append("removed <think> block")
    low = text.lower()
    if "</think>" in low:  # the opening tag was in the prompt: the answer follows the close
        text = text[low.rfind("</think>") + len("</think>") :]
        repairs.append("kept only the text after </think>")
        low = text.lower()
    if "<think>" in low:  # cut off while thinking: whatever follows is not an answer
        text = text[: low.find("<think>")]
        repairs.append("dropped an unterminated <think> block")
    return text


def _strip_fences(text: str, repairs: list[str]) -> str:
    blocks = _FENCE_BLOCK_RE.findall(text)
    if blocks:
        repairs.append("took the content of the code fence")
        return "\n".join(blocks)
    if "```" in text:
        repairs.append("removed a stray code fence")
        return re.sub(r"```[^\n`]*", "", text)
    return text


def _strip_special(text: str, repairs: list[str]) -> str:
    if _SPECIAL_RE.search(text):
        repairs.append("removed special tokens")
        return _SPECIAL_RE.sub("", text)
    return text


# --------------------------------------------------------------------------- clip numbers

_NUM_RE = re.compile(r"\d+")
# What may stand between two numbers of one list: punctuation, 'and', a repeated label.
_SEP_RE = re.compile(
    r"\s*(?:[,、;/|+&>→]|->|=>)?\s*(?:(?:and|or|then|和|及|与|以及|或|然后)\s*)?"
    r"(?:(?:clips?|shots?|片段|编号|镜头|素材|no\.?|number)\s*)?#?\s*",
    re.I,
)
_LABEL_RE = re.compile(r"(?:clips?|shots?|片段|编号|镜头|素材|no\.?|number|#|第)\s*$", re.I)
_RANGE_CHAIN_RE = re.compile(r"\d+(?:\s*[-~～–—至到]\s*\d+)+")
_MAX_RANGE = 64  # a longer 'a-b' is not a plausible list of clips


def _dash_lists(text: str, repairs: list[str], ranges: bool) -> str:
    """'3-6' -> '3,4,5,6' when `ranges`; a chain like '3-1-2' is a dash-separated list."""

    def one(m: re.Match[str]) -> str:
        nums = [int(x) for x in _NUM_RE.findall(m.group(0))]
        if ranges and len(nums) == 2 and nums[0] < nums[1] <= nums[0] + _MAX_RANGE:
            repairs.append(f"expanded range {nums[0]}-{nums[1]}")
            return ",".join(str(i) for i in range(nums[0], nums[1] + 1))
        return ",".join(str(i) for i in nums)

    return _RANGE_CHAIN_RE.sub(one, text)


def _extract_ids(text: str, n_clips: int, repairs: list[str], ranges: bool) -> list[int]:
    """The clip numbers a model meant, in its order (duplicates and range kept for later)."""
    text = strip_reasoning(text, repairs)
    text = _strip_fences(text, repairs)
    text = re.sub(r"<[^<>\n]{1,40}>", " ", text)  # tags and tokens carry digits that are not ids
    text = unicodedata.normalize("NFKC", text)  # full-width digits and commas
    text = _dash_lists(text, repairs, ranges)
    matches = list(_NUM_RE.finditer(text))
    if not matches:
        return []
    # Runs: numbers joined only by list separators. The longest run is the answer; prose
    # around it ("正确答案是1,3,5，因为……", "I pick 3 clips: 1, 4, 8") is ignored.
    runs: list[list[re.Match[str]]] = [[matches[0]]]
    for prev, cur in zip(matches, matches[1:]):
        if _SEP_RE.fullmatch(text[prev.end() : cur.start()]):
            runs[-1].append(cur)
        else:
            runs.append([cur])
    best = max(runs, key=len)  # first of the longest
    if len(best) == 1 and len(matches) > 1:
        # No list anywhere ("Clip 1: ...\nClip 4: ..."): numbers after a clip label, else all.
        labeled = [m for m in matches if _LABEL_RE.search(text[max(0, m.start() - 12) : m.start()])]
        chosen = labeled or matches
        repairs.append("read clip numbers out of prose")
        ids = [int(m.group()) for m in chosen]
    else:
        ids = [int(m.group()) for m in best]
        rest = (text[: best[0].start()] + text[best[-1].end() :]).strip(" \t\r\n\"'`[](){}.。,，:：")
        if rest:
            repairs.append("ignored text around the numbers")
    # '312' for a 3-clip prompt: digits written without separators.
    if len(ids) == 1 and ids[0] > n_clips and n_clips < 10:
        digits = [int(c) for c in str(ids[0])]
        if all(1 <= d <= n_clips for d in digits) and len(set(digits)) == len(digits) > 1:
            repairs.append(f"split {ids[0]} into single digits")
            ids = digits
    return ids


def _clean_ids(ids: list[int], n_clips: int, repairs: list[str]) -> list[int]:
    bad = [i for i in ids if not 1 <= i <= n_clips]
    if bad:
        repairs.append(f"dropped out-of-range ids {bad} (valid 1..{n_clips})")
    seen: set[int] = set()
    out: list[int] = []
    dups: list[int] = []
    for i in ids:
        if not 1 <= i <= n_clips:
            continue
        if i in seen:
            dups.append(i)
            continue
        seen.add(i)
        out.append(i)
    if dups:
        repairs.append(f"dropped repeated ids {dups}")
    return out


def parse_selection(text: str, n_clips: int, n_select: int | None = None) -> Parsed:
    """Chosen clip numbers, in the model's order, each once and within 1..n_clips.
    A count other than `n_select` is noted, not cut: the caller decides what to do."""
    repairs: list[str] = []
    try:
        ids = _extract_ids(text if isinstance(text, str) else "", n_clips, repairs, ranges=True)
        if not ids:
            return _fail("no clip numbers in the output", repairs)
        value = _clean_ids(ids, n_clips, repairs)
        if not value:
            return _fail(f"no clip number within 1..{n_clips}", repairs)
        if n_select is not None and len(value) != n_select:
            repairs.append(f"{len(value)} clips chosen, {n_select} asked")
        return Parsed(value=value, ok=True, repairs=repairs)
    except Exception as exc:  # never let odd output crash a batch
        return _fail(f"unparseable output ({type(exc).__name__})", repairs)


def parse_order(text: str, n_clips: int) -> Parsed:
    """A permutation of 1..n_clips. Repeats and out-of-range ids are dropped and missing
    clips appended in numeric order (all noted); fewer than half the clips readable is
    rejected, since the order would then be mostly made up."""
    repairs: list[str] = []
    try:
        ids = _extract_ids(text if isinstance(text, str) else "", n_clips, repairs, ranges=False)
        if not ids:
            return _fail("no clip numbers in the output", repairs)
        order = _clean_ids(ids, n_clips, repairs)
        if 2 * len(order) < n_clips or not order:
            return _fail(f"only {len(order)} of {n_clips} clips could be read", repairs)
        missing = [i for i in range(1, n_clips + 1) if i not in set(order)]
        if missing:
            repairs.append(f"appended missing ids {missing}")
            order = order + missing
        return Parsed(value=order, ok=True, repairs=repairs)
    except Exception as exc:
        return _fail(f"unparseable output ({type(exc).__name__})", repairs)


# --------------------------------------------------------------------------- script lines

# The WCD metric's prefix rules (autocut364 README), one of each kind in this order; a
# number followed by a digit ('4.69万', '3-5天') is content, not numbering.
_PREFIX_RES = (
    re.compile(r"^\s*\d+\s*[.)）、:：-](?!\d)\s*"),
    re.compile(r"^\s*[(（]\d+[)）]\s*"),
    re.compile(r"^\s*[•\-·*]\s*"),
    re.compile(r"^第[一二三四五六七八九十百零0-9]+[句条行段][:：]\s*"),
    re.compile(r"^(?:line|clip|shot|片段|镜头|台词)\s*\d+\s*[:：.)）-]\s*", re.I),
)
_QUOTES = (("“", "”"), ('"', '"'), ("「", "」"), ("‘", "’"), ("'", "'"))


def _strip_prefixes(line: str) -> str:
    for rx in _PREFIX_RES:
        line = rx.sub("", line, count=1)
    return line.strip()


def parse_script(text: str, n_lines: int | None = None) -> Parsed:
    """Script lines: reasoning, code fences and special tokens removed; blank lines dropped;
    numbering and bullets stripped; one wrapping pair of quotes removed."""
    repairs: list[str] = []
    try:
        text = text if isinstance(text, str) else ""
        text = strip_reasoning(text, repairs)
        text = _strip_fences(text, repairs)
        text = _strip_special(text, repairs)
        raw = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in raw if ln]
        if raw and len(lines) != len(raw):
            blank = len(raw) - len(lines)
            repairs.append(f"dropped {blank} blank line{'s' if blank > 1 else ''}")
        # "以下是台词：" / "Here are the lines:" ahead of the asked-for lines.
        if n_lines is not None and len(lines) > n_lines and lines and lines[0][-1] in ":：":
            repairs.append("dropped an introductory line")
            lines = lines[1:]
        out: list[str] = []
        stripped = quoted = 0
        for ln in lines:
            s = _strip_prefixes(ln)
            stripped += s != ln
            for a, b in _QUOTES:
                if len(s) >= 2 and s.startswith(a) and s.endswith(b) and a not in s[1:-1] and b not in s[1:-1]:
                    s, quoted = s[1:-1].strip(), quoted + 1
                    break
            if s:
                out.append(s)
        if stripped:
            repairs.append(f"removed numbering or bullets on {stripped} line{'s' if stripped > 1 else ''}")
        if quoted:
            repairs.append(f"removed quotes around {quoted} line{'s' if quoted > 1 else ''}")
        if not out:
            return _fail("no script lines in the output", repairs)
        if n_lines is not None and len(out) != n_lines:
            repairs.append(f"{len(out)} lines written, {n_lines} asked")
        return Parsed(value=out, ok=True, repairs=repairs)
    except Exception as exc:
        return _fail(f"unparseable output ({type(exc).__name__})", repairs)


# --------------------------------------------------------------------------- music

_AUDIO_TOKEN_RE = re.compile(r"<a_(\d+)_(\d+)>")


def parse_music(text: str, n_candidates: int | None = None) -> Parsed:
    """Audio tokens `<a_l_c>` -> [(level, code), ...] (the paper's vid2aud answer, up to 8
    levels in order), or, for the text-only variant with `n_candidates`, [track number]."""
    repairs: list[str] = []
    try:
        text = strip_reasoning(text if isinstance(text, str) else "", repairs)
        tokens = [(int(a), int(b)) for a, b in _AUDIO_TOKEN_RE.findall(text)]
        if tokens:
            bad = [t for t in tokens if not (0 <= t[0] < AUDIO_LEVELS and 0 <= t[1] < AUDIO_CODES)]
            if bad:
                repairs.append(f"dropped out-of-range audio tokens {bad}")
                tokens = [t for t in tokens if t not in bad]
            if len(tokens) > AUDIO_LEVELS:
                repairs.append(f"kept the first {AUDIO_LEVELS} of {len(tokens)} audio tokens")
                tokens = tokens[:AUDIO_LEVELS]
            if not tokens:
                return _fail("no valid audio tokens", repairs)
            levels = [lv for lv, _ in tokens]
            if levels != list(range(len(levels))):
                # Upstream decoding reads codes by position and ignores the level number.
                repairs.append(f"audio token levels {levels} are not 0..{len(levels) - 1} in order")
            if len(tokens) < AUDIO_LEVELS:
                repairs.append(f"only {len(tokens)} of {AUDIO_LEVELS} audio levels")
            if re.search(r"<v_\d+_\d+>", text):
                repairs.append("ignored video tokens")
            return Parsed(value=tokens, ok=True, repairs=repairs)
        if n_candidates is None:
            return _fail("no audio tokens <a_l_c> in the output", repairs)
        ids = _extract_ids(text, n_candidates, repairs, ranges=False)
        valid = [i for i in ids if 1 <= i <= n_candidates]
        if not valid:
            return _fail(f"no track number within 1..{n_candidates}", repairs)
        if len(ids) > 1:
            repairs.append(f"took the first valid track number of {ids}")
        return Parsed(value=[valid[0]], ok=True, repairs=repairs)
    except Exception as exc:
        return _fail(f"unparseable output ({type(exc).__name__})", repairs)


def parse_answer(task: SelectTask | SortTask | ScriptTask | MusicTask, text: str) -> Parsed:
    """The parser that fits the task object, with the sizes the task implies."""
    if isinstance(task, SelectTask):
        return parse_selection(text, len(task.clips), task.n_select)
    if isinstance(task, SortTask):
        return parse_order(text, len(task.clips))
    if isinstance(task, ScriptTask):
        return parse_script(text, len(task.clips))
    if isinstance(task, MusicTask):
        return parse_music(text, len(task.audio_candidates) or None)
    return _fail(f"not a task object: {type(task).__name__}", [])
