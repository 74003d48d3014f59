"""The AutoCut paper's Chinese prompts, byte for byte, and their inverse.

The texts are those of the released test set (`TEST_DATA_GEN5.py` upstream; the rows of
../shared/autocut364 are rebuilt exactly from their parsed parts): three tasks x three tracks
(tokens = the AutoCut model, caption = the Qwen3-8B caption baseline, image = the GPT-4o
baseline) plus the vid2aud music prompt of the SFT generator. The paper has no text-only
music prompt; `build_music_prompt_zh` with audio candidates is adcut's own (pick a number).

A prompt is a template of literal text and fields; building fills the fields, parsing
matches the same template as a regular expression, so the two cannot drift apart. This
module also holds that machinery (`PromptLanguage`, `build_prompt`, `parse_prompt`), which
prompts_en reuses with its own texts.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Callable

from adcut.core.errors import BadInputError
from adcut.tasks.types import (
    TASK_MUSIC,
    TASK_SCRIPT,
    TASK_SELECT,
    TASK_SORT,
    TRACK_CAPTION,
    TRACK_IMAGE,
    TRACK_TOKENS,
    TRACKS,
    AudioCandidate,
    ClipRef,
    MusicTask,
    Product,
    ScriptTask,
    SelectTask,
    SortTask,
)

# Placeholders the upstream generator writes for missing data; kept verbatim in prompts.
NO_LINE_ZH = "（无台词）"  # empty script text
NO_CAPTION_ZH = "（无画面描述）"  # clip without a caption (caption track)
NO_FRAME_ID = "[NO_FRAME_ID]"  # clip without a frame id (image track)
NO_VALUE_ZH = "无"  # product / brand / selling points with no value
EMPTY_FRAMES = "<|frame_start|><|frame_end|>"  # clip without video tokens
CLIP_OPEN = "<|clip_start|><|video_start|>"
CLIP_CLOSE = "<|video_end|><|clip_end|>"
NO_AUDIO_DESC_ZH = "（无描述）"  # adcut's text-only music prompt: track without a description


class PromptFormatError(BadInputError):
    """A prompt text does not have the shape of any known task prompt."""


# --------------------------------------------------------------------------- templates

_FIELD_RE = re.compile(r"\{(n|product|brand|features|script|clips|candidates)\}")


@dataclass(frozen=True)
class PromptTemplate:
    """Literal text with `{field}` slots (n, product, brand, features, script, clips,
    candidates). Only those exact names are slots, so other braces are plain text."""

    text: str

    def segments(self) -> list[tuple[bool, str]]:
        """(is_field, literal-or-name) in order."""
        out: list[tuple[bool, str]] = []
        pos = 0
        for m in _FIELD_RE.finditer(self.text):
            if m.start() > pos:
                out.append((False, self.text[pos : m.start()]))
            out.append((True, m.group(1)))
            pos = m.end()
        if pos < len(self.text):
            out.append((False, self.text[pos:]))
        return out

    def fill(self, values: dict[str, str]) -> str:
        # One pass over the segments: values may themselves contain braces.
        return "".join(values[s] if is_field else s for is_field, s in self.segments())

    def regex(self) -> re.Pattern[str]:
        seen: set[str] = set()
        pattern = []
        for is_field, s in self.segments():
            if not is_field:
                pattern.append(re.escape(s))
            elif s in seen:
                pattern.append(f"(?P={s})")  # the count repeats: it must be the same number
            else:
                seen.add(s)
                pattern.append(f"(?P<{s}>\\d+)" if s == "n" else f"(?P<{s}>.*?)")
        return re.compile("".join(pattern) + r"\Z", re.S)

    def match(self, text: str) -> dict[str, str] | None:
        m = self.regex().match(text)
        return m.groupdict() if m else None


# --------------------------------------------------------------------------- the texts

_PRODUCT = "【商品】：{product}\n【品牌】：{brand}\n【卖点】：{features}\n"
_SELECT_POOL = "【视频片段素材（含不相关的样本，正样本约占一半）】"

_SELECT_ZH = {
    TRACK_TOKENS: (
        "你是专业的视频剪辑师。请你根据商品信息和广告台词，从提供的素材池中选择相关的视频片段，并输出它们的编号。\n"
        "【输出要求】\n"
        " 1）只输出与下方台词句数相同数量的视频片段编号；\n"
        " 2）输出的视频片段编号不能有重复；\n"
        "【本次台词总句数】：{n} 段；\n" + _PRODUCT + "【广告台词如下】\n{script}\n\n"
        + _SELECT_POOL + "\n{clips}\n【现在请输出相关的视频片段编号】"
    ),
    TRACK_CAPTION: (
        "你是专业的视频剪辑师。请你根据商品信息和广告台词，从提供的素材池中选择相关的视频片段，并输出它们的编号。\n"
        "【输出要求（必须严格遵守）】\n"
        ' 1）你必须只输出一行，共 {n} 个编号，使用半角逗号分隔，例如："2,5,1"；\n'
        " 2）每个编号只能出现一次，不允许多余、缺少或重复编号；\n"
        " 3）禁止输出任何解释、分析、自然语言、标点符号或多余空格；\n"
        " 4）如果输出包含中文、句子、换行或额外说明内容，则视为错误回答。\n"
        "【示例正确输出】1,3,5\n"
        "【示例错误输出】正确答案是1,3,5，因为……（包含文字解释）\n" + _PRODUCT
        + "【广告台词如下】\n{script}\n\n" + _SELECT_POOL
        + "\n{clips}\n【现在请输出相关的视频片段编号】"
    ),
}
# The image track differs from the caption track only in the pool heading (upstream builds
# it by replacing that heading).
_SELECT_ZH[TRACK_IMAGE] = _SELECT_ZH[TRACK_CAPTION].replace(
    _SELECT_POOL, "【视频片段帧 ID（含不相关的样本，正样本约占一半）】"
)

_SORT_TEXT_ZH = (
    "你是专业的视频剪辑师。请你根据提供的广告台词顺序，将下方乱序的片段文字描述重新排序，并输出正确的编号序列。\n"
    "【输出要求（必须严格遵守）】\n"
    ' 1）只输出一行，共 {n} 个编号，使用半角逗号分隔，例如："1,3,2,4"；\n'
    " 2）每个编号只能出现一次，不允许多余或缺少编号；\n"
    " 3）禁止输出任何解释、分析、理由、自然语言句子或多余符号；\n"
    " 4）如果你的回答包含汉字、句子、换行解释等非编号内容，则视为错误回答。\n" + _PRODUCT
    + "【广告台词如下】\n{script}\n\n【片段文字描述如下】\n{clips}\n【现在请输出正确顺序的编号序列】"
)
_SORT_ZH = {
    TRACK_TOKENS: (
        "你是专业的视频剪辑师。请你根据提供的广告台词顺序，将视频片段进行排序。\n"
        "【输出要求】\n"
        " 1）只输出与下方台词句数相同数量的视频片段编号；\n"
        " 2）输出的视频片段编号不能有重复；\n"
        "【本次台词总句数】：{n} 段；\n" + _PRODUCT + "【广告台词如下】\n{script}\n\n"
        "【视频片段如下】\n{clips}\n【现在请输出按正确顺序排列的视频片段编号序列】"
    ),
    TRACK_CAPTION: _SORT_TEXT_ZH,
    # Upstream replaces every 片段文字描述 (role line and heading) for the image track.
    TRACK_IMAGE: _SORT_TEXT_ZH.replace("片段文字描述", "片段的代表帧"),
}

_SCRIPT_ZH = {
    TRACK_TOKENS: (
        "你是专业广告台词助手。看到每个视频片段的视频帧 token 后，为该视频片段写一句中文台词，"
        "要求口语自然连贯、贴合画面、符合商品和品牌信息。\n"
        "【输出要求】\n"
        " 1) 只输出与下方视频片段数量相同的台词行数；\n"
        " 2) 每行对应一个视频片段，顺序与视频 tokens 中的视频片段顺序一致；\n"
        "【本次片段总数】：{n} 段；请严格输出 {n} 行台词（每行一句）。\n" + _PRODUCT
        + "【视频片段如下】\n{clips}\n【现在开始输出台词】"
    ),
    TRACK_CAPTION: (
        "你是专业广告台词助手。下面给出若干视频片段的文字描述，请你为每个片段分别写一句中文广告台词。\n"
        "【生成要求（必须严格遵守）】\n"
        " 1）你必须只输出 {n} 行内容，每行对应一个视频片段；\n"
        " 2）每一行只能包含一条完整台词，不要在同一行写多句；\n"
        " 3）输出中不要包含序号、括号、项目符号或任何多余符号（例如不要写“1.”、“1)”、“第一句：”等）；\n"
        " 4）禁止输出任何解释、分析、说明文字或空行，只能输出台词本身；\n"
        " 5）第 i 行台词必须只对应下方第 i 个视频片段的文字描述。\n"
        "【本次片段总数】：{n} 段；\n" + _PRODUCT + "【视频片段文字描述如下】\n{clips}\n【现在开始输出台词】"
    ),
    TRACK_IMAGE: (
        "你是专业广告台词助手。下面给出若干视频片段的帧 ID，每个帧 ID 对应一个视频画面，请你为每个片段分别写一句中文广告台词。\n"
        "【生成要求（必须严格遵守）】\n"
        " 1）你必须只输出 {n} 行内容，每行对应一个视频片段；\n"
        " 2）每一行只能包含一条完整台词，不要在同一行写多句；\n"
        " 3）输出中不要包含序号、括号、项目符号或任何多余符号；\n"
        " 4）禁止输出任何解释、分析、说明文字或空行，只能输出台词本身；\n"
        " 5）第 i 行台词必须只对应下方第 i 个视频片段（按编号顺序）。\n"
        "【本次片段总数】：{n} 段；\n" + _PRODUCT + "【视频片段如下】\n{clips}\n【现在开始输出台词】"
    ),
}

# vid2aud as the SFT generator writes it (no released test rows exist for this task).
_MUSIC_ZH_TOKENS = (
    "你是专业的广告背景音乐生成助手。请根据广告的商品信息、台词、以及视频片段，输出对应广告的背景音频。\n"
    "【输出要求】\n"
    "1) 只输出一行，且仅包含 <|audio_start|>…<|audio_end|>；\n"
    "2) 禁止输出任何解释、编号、引号或额外符号。\n\n" + _PRODUCT
    + "【台词和视频片段如下】\n{clips}\n【现在请输出相关的背景音乐】"
)
# adcut's text-only variant: same frame, the answer is a candidate's number.
_MUSIC_ZH_CHOICE = (
    "你是专业的广告背景音乐选择助手。请根据广告的商品信息、台词、以及视频片段，从下方候选背景音乐中选出最适合该广告的一首，并输出它的编号。\n"
    "【输出要求】\n"
    "1) 只输出一个编号，例如：3；\n"
    "2) 禁止输出任何解释、引号或额外符号。\n\n" + _PRODUCT
    + "【台词和视频片段如下】\n{clips}\n【候选背景音乐如下】\n{candidates}\n【现在请输出最合适的背景音乐编号】"
)
# caption/image music lines read 台词「LINE」，画面：CLIP
_MUSIC_LINE_HEAD_ZH = "台词「"
_MUSIC_LINE_SEP_ZH = "」，画面："


# --------------------------------------------------------------------------- shared pieces


def format_selling_points_zh(product: Product) -> str:
    """The upstream form: a Python list literal, or 无 when there are none."""
    if product.selling_points_text is not None:
        return product.selling_points_text
    if not product.selling_points:
        return NO_VALUE_ZH
    return repr([str(p) for p in product.selling_points])


def parse_selling_points(text: str, none_word: str = NO_VALUE_ZH) -> tuple[list[str], str | None]:
    """(points, verbatim text when the canonical rendering would differ)."""
    if text == none_word:
        return [], None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        points = list(value)
        canonical = repr(points) if points else none_word
        return points, (None if canonical == text else text)
    # Free text (not a list literal): keep it whole as one point, verbatim.
    return [text], text


def render_clip_body(clip: ClipRef, track: str, no_caption: str = NO_CAPTION_ZH) -> str:
    """How one clip appears after its `N)` number on a track."""
    if track == TRACK_CAPTION:
        return clip.caption if clip.caption is not None else no_caption
    if track == TRACK_IMAGE:
        if not clip.frame_ids:
            return NO_FRAME_ID
        return "".join(f"[{fid}]" for fid in clip.frame_ids)
    if track == TRACK_TOKENS:
        return clip.tokens if clip.tokens else CLIP_OPEN + EMPTY_FRAMES + CLIP_CLOSE
    raise ValueError(f"unknown track {track!r}; use one of {', '.join(TRACKS)}")


_BRACKETS_RE = re.compile(r"(?:\[[^\[\]\n]*\])+")


def parse_clip_body(number: int, body: str, track: str, no_caption: str = NO_CAPTION_ZH) -> ClipRef:
    if track == TRACK_CAPTION:
        return ClipRef(number=number, caption=None if body == no_caption else body)
    if track == TRACK_IMAGE:
        if body == NO_FRAME_ID:
            return ClipRef(number=number)
        if not _BRACKETS_RE.fullmatch(body):
            raise PromptFormatError(f"clip {number}: expected bracketed frame id(s), got {body[:60]!r}")
        return ClipRef(number=number, frame_ids=re.findall(r"\[([^\[\]\n]*)\]", body))
    return ClipRef(number=number, tokens=body)


def render_numbered(bodies: list[tuple[int, str]]) -> str:
    return "\n".join(f"{number}){body}" for number, body in bodies)


def split_numbered(section: str) -> list[tuple[int, str]]:
    """Inverse of `render_numbered` for 1..M numbering: item k+1 starts at the first
    '\\n{k+1})' after item k, so a body may itself hold newlines or digits."""
    if section == "":
        return []
    if not section.startswith("1)"):
        raise PromptFormatError(f"numbered list does not start with '1)': {section[:40]!r}")
    items: list[tuple[int, str]] = []
    start, k = 2, 1
    while True:
        marker = f"\n{k + 1})"
        nxt = section.find(marker, start)
        if nxt < 0:
            items.append((k, section[start:]))
            return items
        items.append((k, section[start:nxt]))
        start, k = nxt + len(marker), k + 1


def join_lines(lines: list[str]) -> str:
    return "\n".join(lines)


def split_lines(block: str) -> list[str]:
    return [] if block == "" else block.split("\n")


def video_inner(tokens: str | None) -> str:
    """The frame runs of a clip's token text, without the clip/video wrapper."""
    if not tokens:
        return EMPTY_FRAMES
    if tokens.startswith(CLIP_OPEN) and tokens.endswith(CLIP_CLOSE):
        return tokens[len(CLIP_OPEN) : len(tokens) - len(CLIP_CLOSE)]
    return tokens


def music_lines(task: MusicTask, no_line: str) -> list[str]:
    """Script line i goes with clip i; missing lines show the no-line placeholder."""
    if len(task.script_lines) > len(task.clips):
        raise ValueError(
            f"music task has {len(task.script_lines)} script lines for {len(task.clips)} clips"
        )
    return [
        (task.script_lines[i] if i < len(task.script_lines) and task.script_lines[i] else no_line)
        for i in range(len(task.clips))
    ]


# --------------------------------------------------------------------------- languages


@dataclass(frozen=True)
class PromptLanguage:
    """Everything that differs between the Chinese and English prompts."""

    select: dict[str, str]  # track -> template
    sort: dict[str, str]
    script: dict[str, str]
    music_tokens: str
    music_choice: str
    format_points: Callable[[Product], str]
    parse_points: Callable[[str], tuple[list[str], str | None]]
    no_line: str
    no_caption: str
    no_audio_desc: str
    music_line_head: str
    music_line_sep: str

    def templates(self) -> list[tuple[str, str, str]]:
        return (
            [(TASK_SELECT, tr, t) for tr, t in self.select.items()]
            + [(TASK_SORT, tr, t) for tr, t in self.sort.items()]
            + [(TASK_SCRIPT, tr, t) for tr, t in self.script.items()]
            + [(TASK_MUSIC, TRACK_TOKENS, self.music_tokens), (TASK_MUSIC, "choice", self.music_choice)]
        )


ZH = PromptLanguage(
    select=_SELECT_ZH,
    sort=_SORT_ZH,
    script=_SCRIPT_ZH,
    music_tokens=_MUSIC_ZH_TOKENS,
    music_choice=_MUSIC_ZH_CHOICE,
    format_points=format_selling_points_zh,
    parse_points=parse_selling_points,
    no_line=NO_LINE_ZH,
    no_caption=NO_CAPTION_ZH,
    no_audio_desc=NO_AUDIO_DESC_ZH,
    music_line_head=_MUSIC_LINE_HEAD_ZH,
    music_line_sep=_MUSIC_LINE_SEP_ZH,
)


# --------------------------------------------------------------------------- building


def _common(task: SelectTask | SortTask | ScriptTask | MusicTask, lang: PromptLanguage) -> dict[str, str]:
    p = task.product
    return {"product": p.name, "brand": p.brand, "features": lang.format_points(p)}


def _clips_block(clips: list[ClipRef], track: str, lang: PromptLanguage) -> str:
    return render_numbered([(c.number, render_clip_body(c, track, lang.no_caption)) for c in clips])


def build_prompt(task: SelectTask | SortTask | ScriptTask | MusicTask, track: str, lang: PromptLanguage) -> str:
    """The prompt for any task object in the given language."""
    if track not in TRACKS:
        raise ValueError(f"unknown track {track!r}; use one of {', '.join(TRACKS)}")
    fields = _common(task, lang)
    if isinstance(task, SelectTask):
        return PromptTemplate(lang.select[track]).fill(
            {**fields, "n": str(task.n_select), "script": join_lines(task.script_lines),
             "clips": _clips_block(task.clips, track, lang)}
        )
    if isinstance(task, SortTask):
        return PromptTemplate(lang.sort[track]).fill(
            {**fields, "n": str(len(task.clips)), "script": join_lines(task.script_lines),
             "clips": _clips_block(task.clips, track, lang)}
        )
    if isinstance(task, ScriptTask):
        return PromptTemplate(lang.script[track]).fill(
            {**fields, "n": str(len(task.clips)), "clips": _clips_block(task.clips, track, lang)}
        )
    if isinstance(task, MusicTask):
        return _build_music(task, track, lang, fields)
    raise TypeError(f"not a task object: {type(task).__name__}")


def _build_music(task: MusicTask, track: str, lang: PromptLanguage, fields: dict[str, str]) -> str:
    lines = music_lines(task, lang.no_line)
    if track == TRACK_TOKENS:
        # The pre-training clip form with its script text (paper section 2.4), one per line.
        blocks = [
            f"<|clip_start|><|text_start|>{line}<|text_end|><|video_start|>"
            f"{video_inner(clip.tokens)}<|video_end|><|clip_end|>"
            for line, clip in zip(lines, task.clips)
        ]
        return PromptTemplate(lang.music_tokens).fill({**fields, "clips": "\n".join(blocks)})
    if not task.audio_candidates:
        raise ValueError("a text-only music prompt needs audio_candidates to choose from")
    clips = render_numbered(
        [
            (c.number, f"{lang.music_line_head}{line}{lang.music_line_sep}{render_clip_body(c, track, lang.no_caption)}")
            for line, c in zip(lines, task.clips)
        ]
    )
    candidates = render_numbered(
        [(a.number, a.description if a.description is not None else lang.no_audio_desc)
         for a in task.audio_candidates]
    )
    return PromptTemplate(lang.music_choice).fill({**fields, "clips": clips, "candidates": candidates})


def build_select_prompt_zh(task: SelectTask, track: str) -> str:
    return build_prompt(task, track, ZH)


def build_sort_prompt_zh(task: SortTask, track: str) -> str:
    return build_prompt(task, track, ZH)


def build_script_prompt_zh(task: ScriptTask, track: str) -> str:
    return build_prompt(task, track, ZH)


def build_music_prompt_zh(task: MusicTask, track: str = TRACK_TOKENS) -> str:
    """Tokens track: the paper's vid2aud prompt (answer: 8 audio tokens; candidates, if any,
    are for matching the answer afterwards and are not shown). Caption / image track:
    adcut's text-only variant listing `audio_candidates` (answer: one number)."""
    return build_prompt(task, track, ZH)


def build_prompt_zh(task: SelectTask | SortTask | ScriptTask | MusicTask, track: str) -> str:
    return build_prompt(task, track, ZH)


# --------------------------------------------------------------------------- parsing

_COMPILED: dict[str, re.Pattern[str]] = {}


def _match(text: str, lang: PromptLanguage) -> tuple[str, str, dict[str, str]] | None:
    """The first (task, track, fields) whose template matches the whole text."""
    for task, track, tpl in lang.templates():
        rx = _COMPILED.get(tpl)
        if rx is None:
            rx = _COMPILED[tpl] = PromptTemplate(tpl).regex()
        m = rx.match(text)
        if m:
            return task, track, m.groupdict()
    return None


def _parse_music_choice_clips(section: str, lang: PromptLanguage) -> tuple[str, list[str], list[ClipRef]]:
    """Clips of the text-only music prompt: (track, script lines, clips)."""
    head, sep = lang.music_line_head, lang.music_line_sep
    lines: list[str] = []
    bodies: list[tuple[int, str]] = []
    for k, item in split_numbered(section):
        if not item.startswith(head) or sep not in item:
            raise PromptFormatError(f"music clip {k}: expected '{head}…{sep}…', got {item[:60]!r}")
        line, body = item[len(head):].rsplit(sep, 1)
        lines.append(line)
        bodies.append((k, body))
    # The prompt does not name its track: bracketed frame ids mean the image track.
    image = bool(bodies) and all(b == NO_FRAME_ID or _BRACKETS_RE.fullmatch(b) for _, b in bodies)
    track = TRACK_IMAGE if image else TRACK_CAPTION
    return track, lines, [parse_clip_body(k, b, track, lang.no_caption) for k, b in bodies]


_MUSIC_BLOCK_RE = re.compile(
    r"<\|clip_start\|><\|text_start\|>(.*?)<\|text_end\|><\|video_start\|>(.*)<\|video_end\|><\|clip_end\|>",
    re.S,
)


def _parse_music_token_clips(section: str) -> tuple[list[str], list[ClipRef]]:
    lines: list[str] = []
    clips: list[ClipRef] = []
    blocks = re.split(r"\n(?=<\|clip_start\|>)", section) if section else []
    for i, block in enumerate(blocks, 1):
        m = _MUSIC_BLOCK_RE.fullmatch(block)
        if not m:
            raise PromptFormatError(f"music clip {i}: not a <|clip_start|><|text_start|>… block")
        lines.append(m.group(1))
        clips.append(ClipRef(number=i, tokens=CLIP_OPEN + m.group(2) + CLIP_CLOSE))
    return lines, clips


def parse_prompt(text: str, lang: PromptLanguage) -> tuple[str, SelectTask | SortTask | ScriptTask | MusicTask, str]:
    """(task name, task object, track) of a prompt built in `lang`. Raises PromptFormatError
    when the text is no such prompt (prompts are inputs, not model outputs)."""
    found = _match(text, lang)
    if found is None:
        raise PromptFormatError(
            "the text is not one of the task prompts",
            hint="expected a vid_select, vid_sort, vid2text or vid2aud prompt",
        )
    name, track, f = found
    points, points_text = lang.parse_points(f["features"])
    product = Product(name=f["product"], brand=f["brand"], selling_points=points, selling_points_text=points_text)
    if name == TASK_MUSIC:
        if track == TRACK_TOKENS:
            lines, clips = _parse_music_token_clips(f["clips"])
            return name, MusicTask(product=product, script_lines=lines, clips=clips), track
        track, lines, clips = _parse_music_choice_clips(f["clips"], lang)
        cands = [
            AudioCandidate(number=k, description=None if d == lang.no_audio_desc else d)
            for k, d in split_numbered(f["candidates"])
        ]
        return name, MusicTask(product=product, script_lines=lines, clips=clips, audio_candidates=cands), track
    clips = [parse_clip_body(k, body, track, lang.no_caption) for k, body in split_numbered(f["clips"])]
    n = int(f["n"])
    if name == TASK_SELECT:
        return name, SelectTask(product=product, script_lines=split_lines(f["script"]), clips=clips, n_select=n), track
    if n != len(clips):
        raise PromptFormatError(f"{name} prompt announces {n} clips but lists {len(clips)}")
    if name == TASK_SORT:
        return name, SortTask(product=product, script_lines=split_lines(f["script"]), clips=clips), track
    return name, ScriptTask(product=product, clips=clips), track


def parse_prompt_zh(text: str) -> tuple[str, SelectTask | SortTask | ScriptTask | MusicTask, str]:
    """(task name, task object, track) from a Chinese prompt such as `conversations[0].value`
    of a released row; `build_prompt_zh(task, track)` gives the text back byte for byte."""
    return parse_prompt(text, ZH)
