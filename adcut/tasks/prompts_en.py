"""English versions of the four task prompts: the paper's structure (role, output rules,
product block, script, numbered clips, a closing cue), adcut's own wording.

They use the same template machinery as the Chinese prompts, so `parse_prompt_en` inverts
the builders exactly. Selling points are written as `a; b; c` (`none` when there are none).
"""

from __future__ import annotations

from adcut.tasks.prompts_zh import PromptLanguage, build_prompt, parse_prompt
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_IMAGE,
    TRACK_TOKENS,
    MusicTask,
    Product,
    ScriptTask,
    SelectTask,
    SortTask,
)

NO_LINE_EN = "(no line)"
NO_CAPTION_EN = "(no description)"
NO_VALUE_EN = "none"
NO_AUDIO_DESC_EN = "(no description)"
_POINTS_SEP = "; "

_PRODUCT = "[Product]: {product}\n[Brand]: {brand}\n[Selling points]: {features}\n"

# How each track introduces its clips (inside the heading of the clip list).
_CLIPS_AS = {
    TRACK_CAPTION: "each described in words",
    TRACK_IMAGE: "each shown by the id of its representative frame; the frames are attached in the same order",
    TRACK_TOKENS: "each given as video tokens",
}


def _select_template(track: str) -> str:
    return (
        "You are a professional video editor. Using the product information and the ad script, "
        "choose the clips in the pool below that belong to this ad, and output their numbers.\n"
        "[Output rules]\n"
        ' 1) Output one line with exactly {n} clip numbers separated by commas, for example "2,5,1".\n'
        " 2) Use each number at most once: nothing missing, extra or repeated.\n"
        " 3) Output only the numbers: no explanation, no other words.\n"
        "[Number of script lines]: {n}\n" + _PRODUCT + "[Ad script]\n{script}\n\n"
        f"[Clip pool ({_CLIPS_AS[track]}; about half of them do not belong to this ad)]\n"
        "{clips}\n[Now output the numbers of the clips that belong to this ad]"
    )


def _sort_template(track: str) -> str:
    return (
        "You are a professional video editor. The clips below are shuffled; put them in the order "
        "of the ad script, so that the i-th number you output is the clip for script line i.\n"
        "[Output rules]\n"
        ' 1) Output one line with exactly {n} clip numbers separated by commas, for example "1,3,2,4".\n'
        " 2) Use every number exactly once.\n"
        " 3) Output only the numbers: no explanation, no other words.\n"
        "[Number of script lines]: {n}\n" + _PRODUCT + "[Ad script]\n{script}\n\n"
        f"[Clips ({_CLIPS_AS[track]})]\n"
        "{clips}\n[Now output the clip numbers in script order]"
    )


def _script_template(track: str) -> str:
    return (
        "You are a professional ad copywriter. Write one spoken line of ad copy for each clip "
        "below: natural, flowing from line to line, true to what the clip shows and to the "
        "product and brand.\n"
        "[Output rules]\n"
        " 1) Output exactly {n} lines, one per clip, in clip order.\n"
        " 2) One complete line per clip; no numbering, bullets or quotes.\n"
        " 3) Output only the lines: no explanation, no empty lines.\n"
        "[Number of clips]: {n}\n" + _PRODUCT
        + f"[Clips in their final order ({_CLIPS_AS[track]})]\n"
        "{clips}\n[Now write the lines]"
    )


_MUSIC_EN_TOKENS = (
    "You are a professional ad music assistant. From the product information, the script and "
    "the clips of this ad, output its background music.\n"
    "[Output rules]\n"
    " 1) Output one line holding only <|audio_start|>…<|audio_end|>.\n"
    " 2) No explanation, numbering, quotes or other symbols.\n\n" + _PRODUCT
    + "[Script lines and clips]\n{clips}\n[Now output the background music]"
)
_MUSIC_EN_CHOICE = (
    "You are a professional ad music assistant. From the product information, the script and "
    "the clips of this ad, choose the background music track below that suits it best, and "
    "output its number.\n"
    "[Output rules]\n"
    " 1) Output one number only, for example: 3\n"
    " 2) No explanation, quotes or other symbols.\n\n" + _PRODUCT
    + "[Script lines and clips]\n{clips}\n[Music tracks]\n{candidates}\n[Now output the number of the best track]"
)
# caption/image music lines read: Line "LINE", clip: CLIP
_MUSIC_LINE_HEAD_EN = 'Line "'
_MUSIC_LINE_SEP_EN = '", clip: '


def format_selling_points_en(product: Product) -> str:
    if product.selling_points_text is not None:
        return product.selling_points_text
    if not product.selling_points:
        return NO_VALUE_EN
    return _POINTS_SEP.join(product.selling_points)


def parse_selling_points_en(text: str) -> tuple[list[str], str | None]:
    if text == NO_VALUE_EN:
        return [], None
    # split and join are inverses, so the canonical form always rebuilds the text.
    return text.split(_POINTS_SEP), None


EN = PromptLanguage(
    select={tr: _select_template(tr) for tr in _CLIPS_AS},
    sort={tr: _sort_template(tr) for tr in _CLIPS_AS},
    script={tr: _script_template(tr) for tr in _CLIPS_AS},
    music_tokens=_MUSIC_EN_TOKENS,
    music_choice=_MUSIC_EN_CHOICE,
    format_points=format_selling_points_en,
    parse_points=parse_selling_points_en,
    no_line=NO_LINE_EN,
    no_caption=NO_CAPTION_EN,
    no_audio_desc=NO_AUDIO_DESC_EN,
    music_line_head=_MUSIC_LINE_HEAD_EN,
    music_line_sep=_MUSIC_LINE_SEP_EN,
)


def build_select_prompt_en(task: SelectTask, track: str) -> str:
    return build_prompt(task, track, EN)


def build_sort_prompt_en(task: SortTask, track: str) -> str:
    return build_prompt(task, track, EN)


def build_script_prompt_en(task: ScriptTask, track: str) -> str:
    return build_prompt(task, track, EN)


def build_music_prompt_en(task: MusicTask, track: str = TRACK_TOKENS) -> str:
    """As `build_music_prompt_zh`: tokens track = generate 8 audio tokens; caption / image
    track = choose one of `audio_candidates` by number."""
    return build_prompt(task, track, EN)


def build_prompt_en(task: SelectTask | SortTask | ScriptTask | MusicTask, track: str) -> str:
    return build_prompt(task, track, EN)


def parse_prompt_en(text: str) -> tuple[str, SelectTask | SortTask | ScriptTask | MusicTask, str]:
    """(task name, task object, track) from an English prompt built by this module."""
    return parse_prompt(text, EN)
