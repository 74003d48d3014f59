"""The LLM planner: the four AutoCut tasks asked of any chat model (an OpenAI-compatible
server or a local transformers model, adcut.planner.backends).

Each task is one prompt in the paper's format (Chinese, or adcut's English wording), the
answer is read by the forgiving parsers of adcut.tasks.parse, and what was repaired is
reported in the Decision's explanation. An unusable answer is asked once more with a
one-line stricter reminder; a second unusable answer is a clear error, never a crash.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from adcut.core.errors import AdcutError, BadInputError
from adcut.planner.backends import ChatBackend
from adcut.planner.base import Decision, Hints
from adcut.tasks.parse import AUDIO_LEVELS, Parsed, parse_music, parse_order, parse_script, parse_selection
from adcut.tasks.prompts_en import EN
from adcut.tasks.prompts_zh import ZH, PromptLanguage, build_prompt
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    TRACKS,
    AudioCandidate,
    MusicTask,
    ScriptTask,
    SelectTask,
    SortTask,
    Task,
    task_name,
)

LANGUAGES = ("zh", "en", "auto")
_SHOWN_CHARS = 80  # how much of an unusable answer an error quotes

# Answer budgets in tokens: room for a model that ignores "numbers only" and explains a bit.
_IDS_TOKENS = 256
_SCRIPT_TOKENS_PER_LINE = 96  # a Chinese ad line is ~20-40 tokens; English ~15-30
_SCRIPT_TOKENS_BASE = 64
_MUSIC_TOKENS = 128

_TASK_LABELS = {
    "vid_select": "clip selection",
    "vid_sort": "clip ordering",
    "vid2text": "script writing",
    "vid2aud": "music selection",
}

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_AUDIO_TOKEN_RE = re.compile(r"<a_(\d+)_(\d+)>")


class PlannerOutputError(AdcutError):
    """The model's answer to a task was unusable twice (the first try and one retry)."""


# --------------------------------------------------------------------------- language


def _task_text(task: Task) -> str:
    p = task.product
    parts = [p.name, p.brand, *p.selling_points]
    if not isinstance(task, ScriptTask):
        parts += task.script_lines
    return "\n".join(parts)


def detect_language(task: Task, fallback: str = "en") -> str:
    """"zh" when the product and script text is mostly Chinese, else "en". A Han character
    counts one, a Latin word one and a half (about as much meaning); with neither, the
    clips' captions decide, then `fallback`."""

    def weigh(text: str) -> tuple[float, float]:
        return float(len(_HAN_RE.findall(text))), 1.5 * len(_LATIN_WORD_RE.findall(text))

    han, latin = weigh(_task_text(task))
    if han == latin == 0:
        han, latin = weigh("\n".join(c.caption or "" for c in task.clips))
    if han == latin == 0:
        return fallback
    return "zh" if han > latin else "en"


# --------------------------------------------------------------------------- reminders


def prompt_language(language: str, task: Task, hints: Hints | None) -> PromptLanguage:
    """The prompt wording for `language` ("zh", "en" or "auto": the task's own text decides,
    the brief's language breaking a tie)."""
    if language == "auto":
        fallback = "zh" if hints is not None and hints.language.lower().startswith("zh") else "en"
        language = detect_language(task, fallback)
    return ZH if language == "zh" else EN


def _reminder(task: Task, track: str, zh: bool) -> str:
    """One line appended to the prompt on the retry: the output rule, stated once more."""
    m = len(task.clips)
    if isinstance(task, SelectTask):
        n = task.n_select
        return (f"【重要】上一次的回答无法使用。请只输出一行：恰好 {n} 个 1 到 {m} 之间、互不重复的编号，用半角逗号分隔，不要任何其他文字。"
                if zh else
                f"[Important] Your previous answer could not be used. Output only one line: exactly {n} "
                f"different numbers between 1 and {m}, separated by commas, and nothing else.")
    if isinstance(task, SortTask):
        return (f"【重要】上一次的回答无法使用。请只输出一行：1 到 {m} 的每个编号各一次，按台词顺序，用半角逗号分隔，不要任何其他文字。"
                if zh else
                f"[Important] Your previous answer could not be used. Output only one line: every number "
                f"from 1 to {m} exactly once, in script order, separated by commas, and nothing else.")
    if isinstance(task, ScriptTask):
        return (f"【重要】上一次的回答无法使用。请只输出 {m} 行台词，每行一句，不要序号、解释或空行。"
                if zh else
                f"[Important] Your previous answer could not be used. Output only {m} lines of ad copy, "
                f"one per clip, with no numbering, explanation or empty lines.")
    if track == TRACK_TOKENS:
        return ("【重要】上一次的回答无法使用。请只输出一行：<|audio_start|>，8 个音频 token <a_0_c> 到 <a_7_c>，<|audio_end|>。"
                if zh else
                "[Important] Your previous answer could not be used. Output only one line: <|audio_start|>, "
                "the 8 audio tokens <a_0_c> to <a_7_c>, <|audio_end|>.")
    k = len(task.audio_candidates)
    return (f"【重要】上一次的回答无法使用。请只输出一个 1 到 {k} 之间的编号，不要任何其他文字。"
            if zh else
            f"[Important] Your previous answer could not be used. Output only one number between 1 and {k}, "
            f"and nothing else.")


# --------------------------------------------------------------------------- answers


class _Unusable(Exception):
    """An answer the planner cannot turn into a decision; `reason` says why."""

    def __init__(self, reason: str, repairs: list[str]):
        super().__init__(reason)
        self.reason = reason
        self.repairs = repairs


def _need(parsed: Parsed) -> list[str]:
    if not parsed.ok or parsed.value is None:
        raise _Unusable(parsed.reason or "unusable output", list(parsed.repairs))
    return list(parsed.repairs)


def _read_select(task: SelectTask, text: str) -> tuple[list[int], list[str]]:
    parsed = parse_selection(text, len(task.clips), task.n_select)
    notes = _need(parsed)
    ids = [int(i) for i in parsed.value]  # type: ignore[union-attr]
    n = task.n_select
    if len(ids) > n:
        notes.append(f"kept the first {n} of the {len(ids)} clips chosen")
        ids = ids[:n]
    elif len(ids) < n:
        # Mostly made up if fewer than half were read: ask again instead.
        if 2 * len(ids) < n:
            raise _Unusable(f"only {len(ids)} of {n} clips chosen", notes)
        extra = [c.number for c in task.clips if c.number not in set(ids)][: n - len(ids)]
        notes.append(f"added clips {extra} (the lowest unchosen numbers) to reach {n}")
        ids += extra
    return ids, notes


def _read_order(task: SortTask, text: str) -> tuple[list[int], list[str]]:
    parsed = parse_order(text, len(task.clips))
    notes = _need(parsed)
    return [int(i) for i in parsed.value], notes  # type: ignore[union-attr]


def _read_script(task: ScriptTask, text: str) -> tuple[list[str], list[str]]:
    n = len(task.clips)
    parsed = parse_script(text, n)
    notes = _need(parsed)
    lines = [str(s) for s in parsed.value]  # type: ignore[union-attr]
    if len(lines) > n:
        notes.append(f"kept the first {n} of the {len(lines)} lines")
        lines = lines[:n]
    elif len(lines) < n:
        if 2 * len(lines) < n:
            raise _Unusable(f"only {len(lines)} of {n} lines written", notes)
        missing = list(range(len(lines) + 1, n + 1))
        notes.append(f"clips {missing} have no line (the model wrote {len(lines)} of {n})")
        lines += [""] * (n - len(lines))
    return lines, notes


def _candidate_codes(candidate: AudioCandidate) -> list[int]:
    """A candidate's codes by level (level l at index l), -1 where a level is missing."""
    codes = [-1] * AUDIO_LEVELS
    for level, code in _AUDIO_TOKEN_RE.findall(candidate.tokens or ""):
        if int(level) < AUDIO_LEVELS and codes[int(level)] < 0:
            codes[int(level)] = int(code)
    return codes


def match_audio_tokens(tokens: list[tuple[int, int]], candidates: list[AudioCandidate]) -> tuple[int, int, int] | None:
    """The candidate nearest to generated audio tokens, as (number, shared leading levels,
    equal codes), or None when no candidate has tokens. Residual codes go coarse to fine,
    so the longest shared prefix of levels wins, then the count of equal codes; ties go to
    the lower number. (Nearest by embedding needs the RQ-VAE codebook, which a text
    planner does not hold.)"""
    generated = [-2] * AUDIO_LEVELS  # -2 never equals a candidate's -1 (missing)
    for position, (_, code) in enumerate(tokens[:AUDIO_LEVELS]):
        generated[position] = code  # upstream decoding reads codes by position
    best: tuple[int, int, int] | None = None
    for cand in candidates:
        codes = _candidate_codes(cand)
        if all(c < 0 for c in codes):
            continue
        prefix = 0
        while prefix < AUDIO_LEVELS and codes[prefix] == generated[prefix]:
            prefix += 1
        equal = sum(a == b for a, b in zip(codes, generated))
        if best is None or (prefix, equal) > (best[1], best[2]):
            best = (cand.number, prefix, equal)
    return best


def _read_music(task: MusicTask, track: str, text: str) -> tuple[int | list[str], list[str]]:
    choice = track != TRACK_TOKENS
    parsed = parse_music(text, len(task.audio_candidates) if choice else None)
    notes = _need(parsed)
    value = parsed.value or []
    if choice and value and isinstance(value[0], int):
        return int(value[0]), notes
    tokens = [(int(lv), int(code)) for lv, code in value]  # type: ignore[misc]
    found = match_audio_tokens(tokens, task.audio_candidates)
    if found is not None:
        number, prefix, equal = found
        notes.append(f"generated audio tokens matched to track {number} "
                     f"({prefix} leading levels shared, {equal} of {AUDIO_LEVELS} codes equal)")
        return number, notes
    if choice:  # audio tokens answered to a text-only prompt, nothing to match them to
        raise _Unusable("audio tokens instead of a track number", notes)
    notes.append("no candidate tracks with audio tokens: returned the generated tokens")
    return [f"<a_{lv}_{code}>" for lv, code in tokens], notes


def captions_in_token_slots(task: Task) -> Task:
    """The task as the tokens track shows it: a clip without tokens but with a caption is
    shown as its caption text in the clip's slot (numbers kept), as the local model planner
    does (adcut.planner.model.shown_clips), instead of an empty clip. That is the case of
    `adcut edit` with a served adcut model, whose RQ-VAE stays with its folder. A task whose
    clips all have tokens (the AutoCut-364 token track) or no captions is returned as is."""
    from dataclasses import replace

    def shown(clip):
        if clip.tokens or not (clip.caption and clip.caption.strip()):
            return clip
        return replace(clip, tokens=" ".join(clip.caption.split()))

    clips = [shown(c) for c in task.clips]
    if all(a is b for a, b in zip(clips, task.clips)):
        return task
    return replace(task, clips=clips)


# --------------------------------------------------------------------------- the planner


class LLMPlanner:
    """The Planner interface over any ChatBackend.

    `language`: "zh" (the paper's prompts), "en" (adcut's English prompts) or "auto" (zh
    when the product and script text is mostly Chinese). `track`: how clips are shown
    (adcut.tasks.types: caption, image, tokens). `max_tokens`, when given, caps every
    answer's length (small local models on a CPU)."""

    def __init__(self, backend: ChatBackend, *, language: str = "auto", track: str = TRACK_CAPTION,
                 max_tokens: int | None = None):
        if language not in LANGUAGES:
            raise BadInputError(f"unknown planner language {language!r}", hint=f"use one of {', '.join(LANGUAGES)}")
        if track not in TRACKS:
            raise BadInputError(f"unknown clip track {track!r}", hint=f"use one of {', '.join(TRACKS)}")
        if max_tokens is not None and max_tokens < 1:
            raise BadInputError(f"max_tokens must be at least 1, got {max_tokens}")
        self.backend = backend
        self.language = language
        self.track = track
        self.max_tokens = max_tokens
        self.name = f"llm:{backend.name}"

    # -- helpers

    def _language(self, task: Task, hints: Hints | None) -> PromptLanguage:
        return prompt_language(self.language, task, hints)

    def _budget(self, task: Task) -> int:
        if isinstance(task, ScriptTask):
            budget = _SCRIPT_TOKENS_BASE + _SCRIPT_TOKENS_PER_LINE * len(task.clips)
        elif isinstance(task, MusicTask):
            budget = _MUSIC_TOKENS
        else:
            budget = _IDS_TOKENS
        return min(budget, self.max_tokens) if self.max_tokens else budget

    def _prompt(self, task: Task, lang: PromptLanguage) -> str:
        if self.track == TRACK_TOKENS:
            task = captions_in_token_slots(task)
        try:
            return build_prompt(task, self.track, lang)
        except ValueError as exc:  # e.g. a text-only music task without candidates
            raise BadInputError(f"cannot build the {task_name(task)} prompt: {exc}") from exc

    def _ask(self, task: Task, hints: Hints | None, read: Callable[[str], tuple[Any, list[str]]]) -> Decision:
        """Prompt, read; once more with the reminder when unusable; else a clear error."""
        if not task.clips:
            raise BadInputError(f"{task_name(task)}: there are no clips to plan with")
        lang = self._language(task, hints)
        prompt = self._prompt(task, lang)
        budget = self._budget(task)
        text = self.backend.complete(prompt, max_tokens=budget)
        try:
            value, notes = read(text)
            return Decision(value=value, explanation=notes)
        except _Unusable as first:
            retry_note = f"first answer unusable ({first.reason}): asked again with a stricter instruction"
        text = self.backend.complete(prompt + "\n" + _reminder(task, self.track, lang is ZH), max_tokens=budget)
        try:
            value, notes = read(text)
        except _Unusable as second:
            name = task_name(task)
            shown = " ".join(text.split())[:_SHOWN_CHARS]
            raise PlannerOutputError(
                f"{self.name} gave no usable {_TASK_LABELS[name]} ({name}) answer after one retry "
                f"({second.reason}); " + (f"its output began {shown!r}" if shown else "its output was empty"),
                hint="try a larger instruction-tuned model, or --planner zero-shot",
            ) from None
        return Decision(value=value, explanation=[retry_note, *notes])

    # -- the four tasks

    def select(self, task: SelectTask, hints: Hints | None = None) -> Decision:
        if not 1 <= task.n_select <= len(task.clips):
            raise BadInputError(f"cannot select {task.n_select} of {len(task.clips)} clips")
        return self._ask(task, hints, lambda text: _read_select(task, text))

    def order(self, task: SortTask, hints: Hints | None = None) -> Decision:
        return self._ask(task, hints, lambda text: _read_order(task, text))

    def write(self, task: ScriptTask, hints: Hints | None = None) -> Decision:
        return self._ask(task, hints, lambda text: _read_script(task, text))

    def music(self, task: MusicTask, hints: Hints | None = None) -> Decision:
        if self.track != TRACK_TOKENS and not task.audio_candidates:
            raise BadInputError("music selection needs candidate tracks",
                                hint="the library has no music: the ad is made without music")
        if self.track == TRACK_TOKENS and task.audio_candidates and not any(c.tokens for c in task.audio_candidates):
            # A generated track could not be matched to any of these tracks (none has audio
            # tokens, e.g. a library whose music was never tokenised): ask for one by number
            # from the text-only prompt, which lists their descriptions.
            import copy

            shown = copy.copy(self)
            shown.track = TRACK_CAPTION
            decision = shown._ask(task, hints, lambda text: _read_music(task, TRACK_CAPTION, text))
            note = "no candidate track has audio tokens: asked to choose one by its description"
            return Decision(value=decision.value, explanation=[note, *decision.explanation], scores=decision.scores)
        return self._ask(task, hints, lambda text: _read_music(task, self.track, text))
