"""Subtitles: layout in the platform's safe zone, line wrapping measured with the real font,
caption cues timed from the voice, and the ASS (burned in by libass) and SRT (sidecar) files.

Pure: everything takes data and returns data. The only reads are of font files (measuring text
with PIL/FreeType and checking glyph coverage with fontTools), cached per file.

Geometry follows libass, so what we measure is what it draws:
- An ASS font size is the font's OS/2 winAscent + winDescent at that size (libass requests
  FreeType's "real dimension" size after VSFilter's metrics), so the em is smaller than the
  size: for Noto Sans CJK, em = size * 1000 / 1448. One line is `size_px` tall.
- PlayResX/PlayResY equal the frame size and borders are scaled with it, so px are frame px.
- WrapStyle 2: libass never wraps; every break is ours (\\N).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from adcut.core.errors import BadInputError, DependencyError
from adcut.core.plan import SubtitleStyle
from adcut.core.timeline import CaptionCue, SubtitleLayout, Timeline, Word

if TYPE_CHECKING:
    from PIL import ImageFont

DEFAULT_FONT_FILE = "NotoSansCJK-VF.otf.ttc"
DEFAULT_FONT_NAME = "Noto Sans CJK SC"
# The outline that keeps white text readable on any footage, as a share of the font size.
OUTLINE_FRACTION = 0.07
# Bold: libass draws this variable font at one weight whatever the style's Bold flag says (its
# default instance, emboldened once), so the text is thickened by drawing it a second time
# with an outline in its own colour, this share of the font size, over the dark outline.
BOLD_FRACTION = 0.03
# Letter spacing, as a share of the font size: the bold stroke grows every glyph without
# widening its advance, which crowds the letters; tracking restores the gaps.
SPACING_FRACTION = 0.05
# Boxed captions: the box's opacity (ASS alpha 0x30 = 81 % opaque): the footage shows through a
# little, the text reads on any picture.
BOX_ALPHA = 0x30
# libass draws a little wider than FreeType via PIL measures: it emboldens this font (the
# variable font's default instance is Thin, weight 100, and the style asks for 400) and rounds
# advances. Measured over Latin and CJK lines at 2-10% of the frame height, its ink reaches up to
# ~0.05 em + 0.7% of the line beyond PIL's; this much is kept free on each side of a line.
_SLACK_PX = 2
_SLACK_EM = 0.05
_SLACK_OF_LINE = 0.01

_ALIGNMENT_ASS = {"bottom": 2, "middle": 5, "top": 8}  # numpad positions, centred

# Line breaking (a small subset of UAX #14 / kinsoku shori): no break before closing punctuation,
# small kana and prolonged sound marks, none after opening punctuation.
_NO_BREAK_BEFORE = frozenset(
    "，。．、！？：；）〕］｝〉》」』】〙〗〟’”｠»›…‥・ー〜～々〻ゝゞヽヾ"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    ",.!?:;)]}%'\"»”’"
)
_NO_BREAK_AFTER = frozenset("（〔［｛〈《「『【〘〖〝‘“｟«‹([{¿¡$£€¥#@")


# -- fonts --------------------------------------------------------------------------------------

def default_font() -> tuple[Path, str]:
    """Noto Sans CJK from the `manimgx-fonts-cjk` wheel (OFL-1.1): Latin, Chinese, Japanese, Korean."""
    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("the subtitle font (Noto Sans CJK) is not installed",
                              hint="pip install manimgx-fonts-cjk==2026.9.26.post1")
    path = Path(spec.submodule_search_locations[0]) / DEFAULT_FONT_FILE
    if not path.is_file():
        raise DependencyError(f"{path} is missing from the manimgx-fonts-cjk package",
                              hint="reinstall manimgx-fonts-cjk")
    return path, DEFAULT_FONT_NAME


@functools.lru_cache(maxsize=8)
def _faces(font_file: str) -> tuple[tuple[frozenset[str], int, int], ...]:
    """Per face of a font file (or collection): its names (lowercase), units per em, and the
    height libass gives a line (winAscent + winDescent, else hhea ascent - descent)."""
    from fontTools.ttLib import TTCollection, TTFont

    with open(font_file, "rb") as f:
        is_collection = f.read(4) == b"ttcf"
    fonts = TTCollection(font_file, lazy=True).fonts if is_collection else [TTFont(font_file, lazy=True)]
    out = []
    for font in fonts:
        names = {str(n).strip().lower() for n in font["name"].names if n.nameID in (1, 4, 6, 16)}
        upem = font["head"].unitsPerEm
        os2 = font["OS/2"] if "OS/2" in font else None
        height = (os2.usWinAscent + os2.usWinDescent) if os2 is not None else 0
        if height <= 0:
            height = font["hhea"].ascent - font["hhea"].descent
        out.append((frozenset(names), upem, height))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _coverage(font_file: str) -> frozenset[int]:
    """Code points any face of the file can draw, remembered per font file (adcut.core.memo:
    the bundled CJK collection's 45,000 code points load in about 10 ms, reading its five
    character maps takes 20-40 ms)."""
    from adcut.core.memo import remembered_arrays

    (points,) = remembered_arrays("font-coverage", [], [font_file],
                                  lambda: [_read_coverage(font_file)])
    return frozenset(points.tolist())


def _read_coverage(font_file: str):
    """The sorted code points of every face's character map (an int32 array). The raw cmap
    tables are read with numpy (_cmap_points: 20 ms for the bundled CJK collection, against
    0.7 s for fontTools' decompiling of five 45,000-entry maps); a map in a format it does not
    read goes through fontTools."""
    import numpy as np
    from fontTools.ttLib import TTCollection, TTFont

    with open(font_file, "rb") as f:
        is_collection = f.read(4) == b"ttcf"
    fonts = (TTCollection(font_file, lazy=True).fonts if is_collection
             else [TTFont(font_file, lazy=True)])
    parts = []
    for font in fonts:
        points = _cmap_points(font.reader["cmap"]) if "cmap" in font.reader else None
        if points is None:
            points = np.fromiter((font.getBestCmap() or {}).keys(), dtype=np.int64)
        parts.append(points)
    return np.unique(np.concatenate(parts or [np.zeros(0, np.int64)])).astype(np.int32)


# Unicode character maps, best first: (platform, encoding, format).
_UNICODE_CMAPS = [(3, 10, 12), (0, 6, 12), (0, 4, 12), (3, 1, 4), (0, 3, 4)]


def _cmap_points(table: bytes):
    """Code points with a glyph in a raw 'cmap' table's best Unicode map (format 12 or 4), as
    fontTools' getBestCmap would give them; None when the table has neither."""
    import struct

    import numpy as np

    count = struct.unpack_from(">H", table, 2)[0]
    found = {}
    for k in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", table, 4 + 8 * k)
        fmt = struct.unpack_from(">H", table, offset)[0]
        found.setdefault((platform, encoding, fmt), offset)
    for key in _UNICODE_CMAPS:
        if key not in found:
            continue
        at = found[key]
        if key[2] == 12:
            groups = struct.unpack_from(">I", table, at + 12)[0]
            g = np.frombuffer(table, ">u4", groups * 3, at + 16).reshape(-1, 3).astype(np.int64)
            starts, ends, glyphs = g[:, 0], g[:, 1], g[:, 2]
            keep = ends >= starts
            starts, ends, glyphs = starts[keep], ends[keep], glyphs[keep]
            lengths = ends - starts + 1
            first = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
            points = first + np.arange(int(lengths.sum()))
            glyph_of = np.repeat(glyphs - starts, lengths) + points
            return np.unique(points[glyph_of != 0])
        segments = struct.unpack_from(">H", table, at + 6)[0] // 2
        words = np.frombuffer(table, ">u2", offset=at + 14,
                              count=(len(table) - at - 14) // 2).astype(np.int64)
        ends = words[:segments]
        starts = words[segments + 1:2 * segments + 1]
        deltas = words[2 * segments + 1:3 * segments + 1]
        ranges = words[3 * segments + 1:4 * segments + 1]
        out = []
        for seg in range(segments):
            if starts[seg] > ends[seg]:
                continue
            codes = np.arange(starts[seg], ends[seg] + 1)
            if codes[0] == 0xFFFF:
                continue
            if ranges[seg] == 0:
                glyphs = (codes + deltas[seg]) & 0xFFFF
            else:
                # idRangeOffset counts bytes from its own slot to the glyph ids
                index = 3 * segments + 1 + seg + ranges[seg] // 2 + (codes - starts[seg])
                inside = index < len(words)
                glyphs = np.zeros(len(codes), np.int64)
                raw = words[index[inside]]
                glyphs[inside] = np.where(raw != 0, (raw + deltas[seg]) & 0xFFFF, 0)
            out.append(codes[glyphs != 0])
        return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)
    return None


def _face_index(font_file: str, font_name: str) -> int | None:
    want = font_name.strip().lower()
    for i, (names, _, _) in enumerate(_faces(font_file)):
        if want in names:
            return i
    return None


def _ignorable(ch: str) -> bool:
    # Format characters (joiners, marks) and variation selectors draw nothing of their own.
    return ch.isspace() or unicodedata.category(ch) == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F


def missing_glyphs(text: str, font_file: Path) -> list[str]:
    """Characters of `text` the font cannot draw (in order, once each; whitespace ignored).
    For a collection (.ttc) a character counts as drawable if any face has it."""
    covered = _coverage(str(font_file))
    seen: list[str] = []
    for ch in text:
        if not _ignorable(ch) and ord(ch) not in covered and ch not in seen:
            seen.append(ch)
    return seen


def _describe_chars(chars: list[str]) -> str:
    return ", ".join(f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})" for c in chars[:8]) + (
        f" and {len(chars) - 8} more" if len(chars) > 8 else "")


# -- layout -------------------------------------------------------------------------------------

def safe_area(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) margins in px that text should stay inside.

    Tall frames (9:16) are shown full screen under the platforms' UI (TikTok, Reels, Shorts):
    caption, music and account name over the bottom ~20%, the like/comment/share column down
    the right ~12%, tabs and search over the top ~10%. Other formats play in feeds and players
    with less overlay: 5% title-safe on the sides and top, 8% at the bottom (player controls)."""
    if width <= 0 or height <= 0:
        raise BadInputError(f"frame size {width}x{height} is not a size", hint="use positive sizes")
    if height / width >= 1.5:
        return round(0.06 * width), round(0.10 * height), round(0.12 * width), round(0.20 * height)
    return round(0.05 * width), round(0.05 * height), round(0.05 * width), round(0.08 * height)


def outline_px(size_px: int) -> int:
    """Everything drawn beyond a glyph's own ink on each side: the bold stroke and the dark
    outline (or, boxed, the box's padding)."""
    return max(1, round(size_px * (OUTLINE_FRACTION + BOLD_FRACTION)))


def bold_px(size_px: int) -> int:
    return max(1, round(size_px * BOLD_FRACTION))


def margin_v_px(position: str, width: int, height: int, size_px: int) -> int:
    """Distance of a caption at `position` from its frame edge: the safe area's margin plus
    the outline (libass measures MarginV to the text; its outline must stay in the safe area)."""
    _, top, _, bottom = safe_area(width, height)
    return {"bottom": bottom, "top": top, "middle": 0}[position] + outline_px(size_px)


def spacing_px(size_px: int) -> int:
    return round(size_px * SPACING_FRACTION)


def subtitle_layout(width: int, height: int, style: SubtitleStyle) -> SubtitleLayout:
    """The Timeline's subtitle layout for a frame: font, size in px, margins from the safe area
    (horizontal margins symmetric, the larger side, so centred text clears both)."""
    if style.font_file:
        font_file = Path(style.font_file).expanduser()
        if not font_file.is_file():
            raise BadInputError(f"subtitles.font_file: {font_file} does not exist",
                                hint="give a .ttf/.otf/.ttc file, or leave it empty for Noto Sans CJK")
        try:
            faces = _faces(str(font_file))
        except Exception as exc:  # fontTools raises many kinds for a file that is not a font
            raise BadInputError(f"subtitles.font_file: {font_file} is not a font file readable "
                                f"here ({exc})", hint="give a .ttf/.otf/.ttc file") from exc
        if style.font_name:
            font_name = style.font_name
            if _face_index(str(font_file), font_name) is None:
                raise BadInputError(
                    f"subtitles.font_name: {font_name!r} is not a face of {font_file.name}",
                    hint="use one of: " + ", ".join(sorted({n for f in faces for n in f[0]}))[:200])
        else:
            font_name = _family_name(font_file)
    else:
        font_file, font_name = default_font()
        if style.font_name:
            if _face_index(str(font_file), style.font_name) is None:
                raise BadInputError(f"subtitles.font_name: {style.font_name!r} is not in the bundled "
                                    f"font", hint="use Noto Sans CJK SC, TC, JP or KR, or set font_file")
            font_name = style.font_name
    left, top, right, bottom = safe_area(width, height)
    # Of the shorter side: a 9:16 ad watched upright and a 16:9 one watched sideways fill the
    # phone's width the same way, so their captions look the same size.
    size_px = max(1, round(style.size_short_side_pct / 100 * min(width, height)))
    margin_v = margin_v_px(style.position, width, height, size_px)
    return SubtitleLayout(
        font_file=str(font_file),
        font_name=font_name,
        size_px=size_px,
        margin_v_px=margin_v,
        margin_h_px=max(left, right),
        alignment=style.position,
        color=style.color.upper(),
        outline_color=style.outline_color.upper(),
        preset=style.preset,
        highlight_color=style.highlight_color.upper(),
    )


def _family_name(font_file: Path) -> str:
    from fontTools.ttLib import TTCollection, TTFont

    with open(font_file, "rb") as f:
        is_collection = f.read(4) == b"ttcf"
    font = TTCollection(str(font_file), lazy=True).fonts[0] if is_collection else TTFont(str(font_file), lazy=True)
    name = font["name"]
    return str(name.getDebugName(16) or name.getDebugName(1))


@functools.lru_cache(maxsize=32)
def _pil_font(font_file: str, face: int, em_px: float) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(font_file, em_px, index=face)


def _font_for(layout: SubtitleLayout) -> tuple[ImageFont.FreeTypeFont, float]:
    """The PIL font libass will draw this layout with, and its em in px."""
    face = _face_index(layout.font_file, layout.font_name) or 0
    _, upem, height = _faces(layout.font_file)[face]
    em = layout.size_px * upem / height
    return _pil_font(layout.font_file, face, em), em


@functools.lru_cache(maxsize=4096)
def _measure(font_file: str, font_name: str, size_px: int, line: str) -> int:
    layout = SubtitleLayout(font_file=font_file, font_name=font_name, size_px=size_px,
                            margin_v_px=0, margin_h_px=0)
    font, em = _font_for(layout)
    # Tracking follows every glyph; counting characters over-counts ligatures, on the safe side.
    tracking = spacing_px(size_px) * len(line)
    advance = font.getlength(line) + tracking
    ink_left, _, ink_right, _ = font.getbbox(line)
    ink_right += tracking
    # libass centres a line on its advance; ink may overhang either end (an italic-like "f").
    half = max(advance / 2 - min(0.0, ink_left), max(advance, ink_right) - advance / 2)
    pad = _SLACK_PX + _SLACK_EM * em + _SLACK_OF_LINE * advance
    return math.ceil(2 * (half + outline_px(size_px) + pad))


def line_width_px(line: str, layout: SubtitleLayout) -> int:
    """Width a centred line needs on screen: ink and outline on both sides of its centre, plus
    a little slack for rasteriser differences."""
    return _measure(layout.font_file, layout.font_name, layout.size_px, line)


def available_width_px(layout: SubtitleLayout, width: int) -> int:
    return width - 2 * layout.margin_h_px


# -- wrapping -----------------------------------------------------------------------------------

def _breaks_between_chars(ch: str) -> bool:
    """Scripts written without spaces: a line may break before or after any character."""
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF        # CJK radicals, kana, CJK symbols and punctuation, ideographs
        or 0xF900 <= cp <= 0xFAFF     # compatibility ideographs
        or 0xFE30 <= cp <= 0xFE4F     # CJK compatibility forms
        or 0xFF00 <= cp <= 0xFFEF     # half- and fullwidth forms
        or 0x20000 <= cp <= 0x3FFFF   # ideographs, supplementary planes
    ) and not (0x3130 <= cp <= 0x318F)  # Hangul compatibility jamo (Korean breaks at spaces)


# A unit is the smallest piece a line holds: (text, space before it, char offset in the text).
_Unit = tuple[str, bool, int]


def _units(text: str) -> list[_Unit]:
    """Break opportunities of a whitespace-normalised text, kinsoku rules applied."""
    raw: list[list] = []
    space = False
    for i, ch in enumerate(text):
        if ch == " ":
            space = True
            continue
        if raw and not space:
            prev = raw[-1][0][-1]
            glue = (ch in _NO_BREAK_BEFORE or prev in _NO_BREAK_AFTER
                    or not (_breaks_between_chars(ch) or _breaks_between_chars(prev)))
            if glue:
                raw[-1][0] += ch
                continue
        raw.append([ch, space, i])
        space = False
    return [(t, sp, off) for t, sp, off in raw]


def _join(units: list[_Unit]) -> str:
    return "".join((" " if sp and k else "") + t for k, (t, sp, _) in enumerate(units))


def _fill(units: list[_Unit], max_w: int, layout: SubtitleLayout) -> list[list[_Unit]]:
    """Greedy: as many units on each line as fit in max_w."""
    lines: list[list[_Unit]] = []
    cur: list[_Unit] = []
    for u in units:
        if cur and line_width_px(_join(cur + [u]), layout) > max_w:
            lines.append(cur)
            cur = [u]
        else:
            cur.append(u)
    if cur:
        lines.append(cur)
    return lines


def _split_wide_units(units: list[_Unit], layout: SubtitleLayout, avail: int) -> list[_Unit]:
    """Units as they can be laid out: a word wider than the area (a long URL, big type on a
    narrow frame) is broken between characters into pieces that each fit, the way a word
    processor breaks an unbreakable word, instead of overflowing the frame."""
    out: list[_Unit] = []
    for text, space, offset in units:
        if line_width_px(text, layout) <= avail:
            out.append((text, space, offset))
            continue
        piece, start = "", 0
        for k, ch in enumerate(text):
            if piece and line_width_px(piece + ch, layout) > avail:
                out.append((piece, space if not start else False, offset + start))
                piece, start = "", k
            piece += ch
        out.append((piece, space if not start else False, offset + start))
    return out


def _wrap_units(units: list[_Unit], layout: SubtitleLayout, avail: int) -> list[list[_Unit]]:
    """Fewest lines that fit, then as even as possible: the narrowest width that still gives
    that many lines (so two lines read as a pair, not a full line and a straggler)."""
    units = _split_wide_units(units, layout, avail)
    lines = _fill(units, avail, layout)
    if len(lines) <= 1:
        return lines
    lo = max(line_width_px(t, layout) for t, _, _ in units)
    hi = avail
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_fill(units, mid, layout)) <= len(lines):
            hi = mid
        else:
            lo = mid + 1
    return _fill(units, hi, layout)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def wrap_text(text: str, layout: SubtitleLayout, width: int) -> list[str]:
    """Lines of `text` that each fit between the horizontal margins of a `width`-px frame,
    measured with the layout's font at its size (outline included). Latin breaks at spaces,
    CJK between characters (never before closing punctuation); mixed text works; a word wider
    than the frame breaks between its characters."""
    units = _units(_normalise(text))
    return [_join(line) for line in _wrap_units(units, layout, available_width_px(layout, width))]


# -- caption cues -------------------------------------------------------------------------------

def _token_spans(text: str) -> list[tuple[int, int]]:
    """Char spans of the whitespace tokens of a normalised text."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def caption_cues(
    text: str,
    start_f: int,
    end_f: int,
    words: list[tuple[str, int, int]],
    layout: SubtitleLayout,
    width: int,
    max_lines: int,
    *,
    field: str,
) -> list[CaptionCue]:
    """One spoken line -> on-screen cues of at most `max_lines` wrapped lines each, tiling
    [start_f, end_f) exactly. A cue starts when its first word is spoken (from `words`, frames,
    one per whitespace token of `text`), else at its share of the line's characters.
    Errors name `field` (e.g. "shots[3].line")."""
    if not text or not text.strip():
        raise BadInputError(f"{field}: the line is empty", hint="write a line, or remove the caption")
    if end_f <= start_f:
        raise BadInputError(f"{field}: the caption ends (frame {end_f}) before it starts "
                            f"(frame {start_f})", hint="give the line a positive duration")
    if max_lines < 1:
        raise BadInputError(f"{field}: max_lines must be at least 1", hint="use 1 to 4")
    missing = missing_glyphs(text, Path(layout.font_file))
    if missing:
        raise BadInputError(
            f"{field}: the subtitle font {layout.font_name} ({Path(layout.font_file).name}) cannot "
            f"draw {_describe_chars(missing)}",
            hint="remove those characters, or set subtitles.font_file to a font that has them")
    norm = _normalise(text)
    units = _units(norm)
    avail = available_width_px(layout, width)
    try:
        lines = _wrap_units(units, layout, avail)
    except BadInputError as exc:
        raise BadInputError(f"{field}: {exc.message}", hint=exc.hint) from exc

    # Cues of at most max_lines lines, as even as possible (5 lines by 2 -> 2, 2, 1), each
    # re-wrapped on its own so its lines are balanced.
    n_cues = math.ceil(len(lines) / max_lines)
    base, extra = divmod(len(lines), n_cues)
    groups: list[list[_Unit]] = []
    k = 0
    for c in range(n_cues):
        take = base + (1 if c < extra else 0)
        groups.append([u for line in lines[k:k + take] for u in line])
        k += take
    if end_f - start_f < n_cues:
        raise BadInputError(f"{field}: {n_cues} captions do not fit in {end_f - start_f} frames",
                            hint="shorten the line or give it more time")

    spans = _token_spans(norm)
    use_words = bool(words) and len(words) == len(spans)
    letters = [0]
    for ch in norm:
        letters.append(letters[-1] + (ch != " "))

    def time_at(char: int) -> float:
        if use_words:
            for (a, b), (_, ws, we) in zip(spans, words):
                if char < b:
                    if char <= a:
                        return float(ws)
                    return ws + (we - ws) * (char - a) / (b - a)  # inside a long CJK token
            return float(end_f)
        return start_f + (end_f - start_f) * letters[char] / letters[-1]

    bounds = [start_f]
    for c in range(1, n_cues):
        t = round(time_at(groups[c][0][2]))
        lo, hi = bounds[-1] + 1, end_f - (n_cues - c)
        bounds.append(min(max(t, lo), hi))
    bounds.append(end_f)

    cues: list[CaptionCue] = []
    for c, group in enumerate(groups):
        cue_text = _join(group)
        c0 = group[0][2]
        c1 = groups[c + 1][0][2] if c + 1 < n_cues else len(norm)
        cue_words = []
        if use_words:
            for (a, _), (w, ws, we) in zip(spans, words):
                if c0 <= a < c1:
                    ws_f = max(0, int(ws))
                    cue_words.append(Word(text=w, start_f=ws_f, end_f=max(ws_f, int(we))))
        cues.append(CaptionCue(
            start_f=bounds[c], end_f=bounds[c + 1], text=cue_text,
            lines=[_join(line) for line in _wrap_units(group, layout, avail)],
            words=cue_words,
        ))
    return cues


# -- files --------------------------------------------------------------------------------------

def _ass_colour(rgb: str, alpha: int = 0) -> str:
    r, g, b = rgb[0:2], rgb[2:4], rgb[4:6]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def _ass_time(frame: int, fps: int) -> str:
    # Floor to centiseconds: one monotonic map for starts and ends keeps touching cues touching
    # (never overlapping), and a cue is on screen from its first frame.
    cs = frame * 100 // fps
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, cs = divmod(rem, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def _srt_time(frame: int, fps: int) -> str:
    ms = frame * 1000 // fps
    h, rem = divmod(ms, 3600000)
    m, rem = divmod(rem, 60000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def escape_ass(text: str) -> str:
    """Literal text for an ASS Dialogue: braces escaped (libass reads \\{ \\}), and a word joiner
    after every backslash so "\\N", "\\h" or "\\{" in the text stay text."""
    return (text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
            .replace("\r", "").replace("\n", " "))


def _cue_lines(cue: CaptionCue) -> list[str]:
    return cue.lines or [_normalise(cue.text)]


def _require_layout(timeline: Timeline) -> SubtitleLayout:
    if timeline.subtitles is None:
        raise BadInputError("subtitles: the timeline has captions but no subtitle layout",
                            hint="set timeline.subtitles (font, size, margins)")
    return timeline.subtitles


_STYLE_FORMAT = ("Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
                 "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
                 "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding")


def _style(name: str, font_name: str, size_px: int, fill: str, outline: str, back: str, *,
           border_style: int, outline_w: int, alignment: int, margin_h: int,
           margin_v: int) -> str:
    return "Style: " + ",".join([
        name, font_name, str(size_px), fill, fill, outline, back,
        "0", "0", "0", "0", "100", "100", str(spacing_px(size_px)), "0", str(border_style),
        str(outline_w), "0", str(alignment), str(margin_h), str(margin_h), str(margin_v), "1"])


def _caption_styles(layout: SubtitleLayout) -> list[str]:
    """Two styles drawn one over the other: "Under" carries the dark outline (or, boxed, the
    box), "Over" the text thickened by an outline in its own colour (see BOLD_FRACTION)."""
    size = layout.size_px
    fill = _ass_colour(layout.color)
    common = dict(alignment=_ALIGNMENT_ASS[layout.alignment], margin_h=layout.margin_h_px,
                  margin_v=layout.margin_v_px)
    if layout.preset == "boxed":
        box = _ass_colour(layout.box_color, BOX_ALPHA)
        under = _style("Under", layout.font_name, size, fill, box, box, border_style=3,
                       outline_w=outline_px(size), **common)
    else:
        dark = _ass_colour(layout.outline_color)
        under = _style("Under", layout.font_name, size, fill, dark,
                       _ass_colour(layout.outline_color, 0x80), border_style=1,
                       outline_w=outline_px(size), **common)
    over = _style("Over", layout.font_name, size, fill, fill, fill, border_style=1,
                  outline_w=bold_px(size), **common)
    return [under, over]


def _highlighted(cue: CaptionCue, layout: SubtitleLayout) -> list[tuple[int, int, int | None]]:
    """(start_f, end_f, word index shown highlighted) spans tiling a cue: one per spoken word
    for the word-highlight preset when the cue knows its words' times, else the whole cue."""
    lines = _cue_lines(cue)
    tokens = sum(len(line.split()) for line in lines)
    if layout.preset != "word-highlight" or not cue.words or len(cue.words) != tokens:
        return [(cue.start_f, cue.end_f, None)]
    starts = [cue.start_f] + [min(max(w.start_f, cue.start_f), cue.end_f) for w in cue.words[1:]]
    spans = []
    for k, a in enumerate(starts):
        b = starts[k + 1] if k + 1 < len(starts) else cue.end_f
        if b > a:
            spans.append((a, b, k))
    return spans or [(cue.start_f, cue.end_f, None)]


def _cue_text(cue: CaptionCue, word: int | None, colour: str) -> str:
    """The cue's lines for a Dialogue, word number `word` (whitespace tokens across the lines)
    in `colour` (fill and outline of the Over layer alike)."""
    out, k = [], 0
    for line in _cue_lines(cue):
        parts = []
        for token in line.split(" "):
            text = escape_ass(token)
            if k == word:
                text = f"{{\\c{colour}\\3c{colour}}}{text}{{\\r}}"
            parts.append(text)
            k += 1
        out.append(" ".join(parts))
    return "\\N".join(out)


def _position_tags(cue: CaptionCue, layout: SubtitleLayout, width: int, height: int) -> tuple[str, int]:
    """Override tags and MarginV for a cue placed away from the layout's position."""
    if cue.position is None or cue.position == layout.alignment:
        return "", 0
    return (f"{{\\an{_ALIGNMENT_ASS[cue.position]}}}",
            margin_v_px(cue.position, width, height, layout.size_px))


def _card_events(timeline: Timeline) -> tuple[list[str], list[str]]:
    """The end card's text: styles and Dialogues (its call to action and URL, centred where
    end_card.card_layout puts them, fading in with the card's images)."""
    from adcut.render.end_card import card_layout

    card = timeline.end_card
    if card is None or not (card.text or card.url):
        return [], []
    layout = card_layout(card, timeline.width, timeline.height)
    colour = _ass_colour(card.color[1:].upper())
    styles, events = [], []
    fade_ms = round(card.fade_in_f * 1000 / timeline.fps)
    start, end = _ass_time(card.start_f, timeline.fps), _ass_time(card.end_f, timeline.fps)
    for name, block in (("CardText", layout.cta), ("CardUrl", layout.url)):
        if block is None:
            continue
        styles.append(_style(name, card.font_name, block.size_px, colour, colour, colour,
                             border_style=1, outline_w=bold_px(block.size_px), alignment=8,
                             margin_h=0, margin_v=0))
        text = "\\N".join(escape_ass(line) for line in block.lines)
        events.append(f"Dialogue: 2,{start},{end},{name},,0,0,0,,"
                      f"{{\\pos({block.center_x},{block.top})\\fad({fade_ms},0)}}{text}")
    return styles, events


def build_ass(timeline: Timeline) -> str:
    """The ASS v4+ script of the timeline's captions and end-card text (deterministic: same
    timeline, same bytes)."""
    layout = _require_layout(timeline) if timeline.captions else None
    styles = _caption_styles(layout) if layout is not None else []
    card_styles, card_events = _card_events(timeline)
    out = [
        "[Script Info]",
        "; written by adcut",
        "ScriptType: v4.00+",
        f"PlayResX: {timeline.width}",
        f"PlayResY: {timeline.height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: None",
        "",
        "[V4+ Styles]",
        _STYLE_FORMAT,
        *styles,
        *card_styles,
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for cue in timeline.captions:
        assert layout is not None
        tags, margin_v = _position_tags(cue, layout, timeline.width, timeline.height)
        h = layout.highlight_color.upper()
        highlight = f"&H{h[4:6]}{h[2:4]}{h[0:2]}&"
        for a, b, word in _highlighted(cue, layout):
            times = f"{_ass_time(a, timeline.fps)},{_ass_time(b, timeline.fps)}"
            # The highlight is the Over layer's: it covers the Under layer's fill exactly.
            for layer, style, w in ((0, "Under", None), (1, "Over", word)):
                out.append(f"Dialogue: {layer},{times},{style},,0,0,{margin_v},,"
                           f"{tags}{_cue_text(cue, w, highlight)}")
    out += card_events
    return "\n".join(out) + "\n"


def has_ass(timeline: Timeline) -> bool:
    """Whether the render burns an ASS file: captions, or an end card with text."""
    card = timeline.end_card
    return bool(timeline.captions and timeline.subtitles is not None) or bool(
        card is not None and (card.text or card.url))


def build_srt(timeline: Timeline) -> str:
    """The captions as a SubRip sidecar (same cues and line breaks as the burned-in ones)."""
    blocks = []
    for i, cue in enumerate(timeline.captions, start=1):
        blocks.append(f"{i}\n{_srt_time(cue.start_f, timeline.fps)} --> "
                      f"{_srt_time(cue.end_f, timeline.fps)}\n" + "\n".join(_cue_lines(cue)) + "\n")
    return "\n".join(blocks)


def caption_box(lines: list[str], position: str, layout: SubtitleLayout, width: int,
                height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) px of a caption of `lines` at `position` as libass places it (outline
    included; x1, y1 exclusive): centred between the horizontal margins, stacked from the
    vertical margin (the layout's own for its alignment, the safe area's for another)."""
    border = outline_px(layout.size_px)
    w = max(line_width_px(line, layout) for line in lines)
    h = len(lines) * layout.size_px + 2 * border
    cx = layout.margin_h_px + (width - 2 * layout.margin_h_px) / 2
    margin_v = layout.margin_v_px if position == layout.alignment else \
        margin_v_px(position, width, height, layout.size_px)
    if position == "bottom":
        y1 = height - margin_v + border
        y0 = y1 - h
    elif position == "top":
        y0 = margin_v - border
        y1 = y0 + h
    else:
        y0 = round((height - h) / 2)
        y1 = y0 + h
    return math.floor(cx - w / 2), int(y0), math.ceil(cx + w / 2), int(y1)


def caption_boxes(timeline: Timeline) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) px of every caption cue as libass places it (see caption_box)."""
    layout = _require_layout(timeline) if timeline.captions else None
    boxes = []
    for cue in timeline.captions:
        assert layout is not None
        boxes.append(caption_box(_cue_lines(cue), cue.position or layout.alignment, layout,
                                 timeline.width, timeline.height))
    return boxes


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in frame px


def _overlap_area(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def place_captions(cues: list[CaptionCue], layout: SubtitleLayout, width: int, height: int,
                   keep_clear: list[tuple[int, int, list[Box]]]) -> list[CaptionCue]:
    """The cues, each moved to the band (the layout's position first, then bottom, top,
    middle) where it covers the least of what must stay visible while it is on screen:
    `keep_clear` lists (start_f, end_f, boxes in frame px) such as on-screen text in a clip.
    A cue that covers nothing where it is stays there; ties keep the earlier band (PURE)."""
    order = [layout.alignment] + [p for p in ("bottom", "top", "middle") if p != layout.alignment]
    placed = []
    for cue in cues:
        boxes = [b for start, end, bs in keep_clear if start < cue.end_f and cue.start_f < end
                 for b in bs]
        if not boxes:
            placed.append(cue)
            continue
        lines = _cue_lines(cue)
        cover = {p: sum(_overlap_area(caption_box(lines, p, layout, width, height), b)
                        for b in boxes) for p in order}
        best = min(order, key=lambda p: cover[p])  # min keeps the first of equal ones
        placed.append(cue if best == layout.alignment
                      else cue.model_copy(update={"position": best}))
    return placed
