"""Subtitles with the real font and the real libass: coverage, wrapping, cues, files, pixels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.core.plan import SubtitleStyle
from adcut.core.timeline import (
    CaptionCue,
    ResolvedReframe,
    SubtitleLayout,
    Timeline,
    TimelineClip,
)
from adcut.render.subtitles import (
    available_width_px,
    build_ass,
    build_srt,
    caption_boxes,
    caption_cues,
    default_font,
    missing_glyphs,
    outline_px,
    safe_area,
    spacing_px,
    subtitle_layout,
    wrap_text,
)

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("ADCUT_REGEN_GOLDEN") == "1"

LONG_EN = ("Introducing the new Spark running shoe: lighter, faster and stronger than anything "
           "you have worn before, with a grip that holds on wet city streets all year round.")
LONG_ZH = ("全新Spark跑鞋，更轻、更快、更强。每一步都更有力量，每一公里都更轻松！"
           "限时优惠，立即下单，让城市的每一条街道都成为你的跑道。")
MIXED = ("这是Spark跑鞋：lighter, faster, stronger. 限时优惠，只要$99！Order now at spark.com"
         "（今天），every single day 每一步都更轻松。")
CLOSING = set("，。！？、）」』】》：；")

SIZES = {"9:16": (1080, 1920), "16:9": (1920, 1080)}


def layout_for(size: str, **style) -> SubtitleLayout:
    w, h = SIZES[size]
    return subtitle_layout(w, h, SubtitleStyle(**style))


def pil_width(line: str, layout: SubtitleLayout) -> float:
    """The width of a line measured independently: FreeType advance at libass's em size
    (size = winAscent + winDescent) plus the outline on both sides."""
    from fontTools.ttLib import TTCollection
    from PIL import ImageFont

    face = TTCollection(layout.font_file, lazy=True).fonts[2]  # Noto Sans CJK SC
    em = layout.size_px * face["head"].unitsPerEm / (face["OS/2"].usWinAscent + face["OS/2"].usWinDescent)
    font = ImageFont.truetype(layout.font_file, em, index=2)
    return font.getlength(line) + 2 * outline_px(layout.size_px)


def timeline_with(captions: list[CaptionCue], layout: SubtitleLayout, size: tuple[int, int],
                  duration_f: int = 90) -> Timeline:
    w, h = size
    clip = TimelineClip(source="clip.mp4", source_width=w, source_height=h, source_in_s=0.0,
                        start_f=0, duration_f=duration_f, reframe=ResolvedReframe(mode="crop"))
    return Timeline(fps=30, width=w, height=h, duration_f=duration_f, clips=[clip],
                    captions=captions, subtitles=layout)


# -- fonts and layout ---------------------------------------------------------------------------

def test_default_font_is_the_bundled_noto_cjk():
    path, name = default_font()
    assert path.name == "NotoSansCJK-VF.otf.ttc" and path.is_file()
    assert name == "Noto Sans CJK SC"


def test_missing_glyphs_english_chinese_and_what_the_font_lacks():
    font, _ = default_font()
    assert missing_glyphs("Introducing the new Spark! 50% off, $99.", font) == []
    assert missing_glyphs(LONG_ZH + "日本語のテキスト、한국어", font) == []
    assert missing_glyphs("Run 😀 now 😀\n", font) == ["😀"]
    assert missing_glyphs("नमस्ते", font)[0] == "न"  # Devanagari: not in a CJK font
    assert missing_glyphs("a\u200db\ufe0f \t\n", font) == []  # joiners, selectors, whitespace


def _font_with(tmp_path: Path, codes: list[int], name: str) -> Path:
    """A tiny TrueType font whose glyphs g1.. are mapped, out of order, to `codes`."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    glyphs = [".notdef", *(f"g{k}" for k in range(1, len(codes) + 1))]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(glyphs)
    # shuffled glyph ids: format 4 needs its idRangeOffset arrays, not only deltas
    order = list(reversed(glyphs[1:]))
    fb.setupCharacterMap(dict(zip(codes, order)))
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({g: empty for g in glyphs})
    fb.setupHorizontalMetrics({g: (500, 0) for g in glyphs})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": name, "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    path = tmp_path / f"{name}.ttf"
    fb.save(str(path))
    return path


def test_font_coverage_read_from_the_raw_tables_equals_fonttools(tmp_path):
    """The character maps are read with numpy (fast on a first edit); every code point must be
    the one fontTools maps: the bundled CJK collection (format 12 and 4 in five faces), a font
    with only a format 4 map of scattered codes, one with a code beyond the BMP (format 12)."""
    from fontTools.ttLib import TTCollection, TTFont

    from adcut.render.subtitles import _cmap_points, _read_coverage

    bmp = [0x41, 0x42, 0x43, 0x61, 0x7A, 0x4E2D, 0x6587, 0x20AC, 0xFF01, 0xFFFD]
    fonts = [default_font()[0], _font_with(tmp_path, bmp, "Bmp"),
             _font_with(tmp_path, [*bmp, 0x1F600], "Astral")]
    for path in fonts:
        collection = path.read_bytes()[:4] == b"ttcf"
        faces = TTCollection(str(path), lazy=True).fonts if collection else [TTFont(str(path))]
        expected = sorted(set().union(*(face.getBestCmap().keys() for face in faces)))
        assert all(_cmap_points(face.reader["cmap"]) is not None for face in faces)
        assert _read_coverage(str(path)).tolist() == expected, path.name
    assert 0x1F600 in _read_coverage(str(fonts[2])).tolist()
    assert len(_read_coverage(str(fonts[0]))) > 40_000


def test_safe_area_keeps_clear_of_the_vertical_platforms_ui():
    left, top, right, bottom = safe_area(1080, 1920)
    assert bottom >= 0.2 * 1920 and right >= 0.12 * 1080 and top >= 0.1 * 1920
    for w, h in [(1920, 1080), (1080, 1080), (1080, 1350)]:
        margins = safe_area(w, h)
        assert max(margins[1], margins[3]) < 0.1 * h and max(margins[0], margins[2]) < 0.1 * w


def test_layout_from_style():
    lay = layout_for("9:16")
    assert lay.font_name == "Noto Sans CJK SC" and Path(lay.font_file) == default_font()[0]
    assert lay.size_px == round(0.075 * 1080) and lay.preset == "bold-outline"
    left, top, right, bottom = safe_area(1080, 1920)
    assert lay.margin_h_px == max(left, right) and lay.margin_v_px >= bottom
    assert layout_for("9:16", position="top").margin_v_px >= top
    with pytest.raises(BadInputError, match="subtitles.font_name"):
        layout_for("9:16", font_name="Comic Sans")
    with pytest.raises(BadInputError, match="subtitles.font_file"):
        layout_for("9:16", font_file="/nonexistent/font.ttf")


# -- wrapping -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("text", [LONG_EN, LONG_ZH, MIXED], ids=["en", "zh", "mixed"])
def test_wrapped_lines_fit_between_the_margins(size, text):
    lay = layout_for(size)
    lines = wrap_text(text, lay, SIZES[size][0])
    avail = available_width_px(lay, SIZES[size][0])
    assert len(lines) >= 2
    for line in lines:
        assert pil_width(line, lay) <= avail, line
        assert line == line.strip()
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost or added
    assert not any(line[0] in CLOSING for line in lines)


def test_no_line_starts_with_cjk_closing_punctuation():
    # Big type over a narrow frame: many breaks, most next to punctuation.
    text = "好，对。是！行？嗯、哦）「好」『对』【是】《行》：嗯；" * 3
    lay = layout_for("9:16", size_short_side_pct=9)
    lines = wrap_text(text, lay, 1080)
    assert len(lines) >= 4
    assert not any(line[0] in CLOSING for line in lines), lines
    assert not any(line[-1] in "（「『【《" for line in lines), lines


def test_captions_are_the_same_size_on_a_phone_at_every_aspect():
    """Of the shorter side: a 9:16 ad watched upright and a 16:9 one watched sideways show
    their captions at the same size (45 px at 16:9 and 1:1 before, 81 px at 9:16)."""
    sizes = {a: subtitle_layout(*wh, SubtitleStyle()).size_px
             for a, wh in {"9:16": (1080, 1920), "1:1": (1080, 1080), "16:9": (1920, 1080),
                           "4:5": (1080, 1350)}.items()}
    assert set(sizes.values()) == {81}, sizes


def test_balanced_two_lines():
    lay = layout_for("16:9", size_short_side_pct=4.2)
    lines = wrap_text(LONG_EN, lay, 1920)
    assert len(lines) == 2
    widths = [pil_width(line, lay) for line in lines]
    assert min(widths) > 0.8 * max(widths)  # a pair, not a full line and a straggler


@pytest.mark.parametrize("size_short_side_pct", [7.5, 12])
def test_a_word_wider_than_the_frame_wraps_between_its_characters(size_short_side_pct):
    """A long URL or big type on a narrow frame: the word breaks, nothing leaves the frame."""
    lay = layout_for("9:16", size_short_side_pct=size_short_side_pct)
    text = "Visit verde.coffee/cold-brew-subscriptions-and-gift-cards now"
    lines = wrap_text(text, lay, 1080)
    avail = available_width_px(lay, 1080)
    assert len(lines) >= 3
    assert all(pil_width(line, lay) <= avail for line in lines), lines
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


# -- caption cues -------------------------------------------------------------------------------

PARAGRAPH = ("Introducing the new Spark running shoe, lighter, faster, stronger than anything "
             "you have worn before.")


def test_a_four_line_paragraph_becomes_two_cues_that_tile_the_line():
    lay = layout_for("9:16", size_short_side_pct=6.5)
    assert len(wrap_text(PARAGRAPH, lay, 1080)) == 4
    cues = caption_cues(PARAGRAPH, 30, 150, [], lay, 1080, 2, field="shots[0].line")
    assert [len(c.lines) for c in cues] == [2, 2]
    assert cues[0].start_f == 30 and cues[0].end_f == cues[1].start_f and cues[1].end_f == 150
    assert " ".join(c.text for c in cues) == PARAGRAPH
    for cue in cues:
        assert cue.text.replace(" ", "") == "".join(cue.lines).replace(" ", "")
    # Without word times, the cut falls at the first cue's share of the characters.
    first = len(cues[0].text.replace(" ", "")) / len(PARAGRAPH.replace(" ", ""))
    assert abs(cues[1].start_f - (30 + 120 * first)) <= 1


def test_cues_follow_the_word_times():
    lay = layout_for("9:16")
    tokens = PARAGRAPH.split()
    words = [(w, 30 + 8 * i, 30 + 8 * i + 6) for i, w in enumerate(tokens)]
    cues = caption_cues(PARAGRAPH, 30, 30 + 8 * len(tokens), words, lay, 1080, 2, field="x")
    n_first = len(cues[0].text.split())
    assert cues[1].start_f == words[n_first][1]  # the second cue appears with its first word
    assert [w.text for c in cues for w in c.words] == tokens
    assert cues[1].words[0].start_f == cues[1].start_f


def test_one_line_cjk_cue_by_characters():
    lay = layout_for("16:9")
    cues = caption_cues("限时优惠，立即下单！", 0, 60, [], lay, 1920, 2, field="shots[1].line")
    assert len(cues) == 1 and cues[0].lines == ["限时优惠，立即下单！"]
    assert (cues[0].start_f, cues[0].end_f) == (0, 60)


@pytest.mark.parametrize("text, match", [
    ("   ", r"shots\[3\]\.line: the line is empty"),
    ("Run 😀 now", r"shots\[3\]\.line: .*Noto Sans CJK SC.*cannot draw '😀'"),
])
def test_bad_lines_name_the_field(text, match):
    with pytest.raises(BadInputError, match=match):
        caption_cues(text, 0, 60, [], layout_for("9:16"), 1080, 2, field="shots[3].line")


def test_no_time_for_the_cues_is_bad_input():
    with pytest.raises(BadInputError, match=r"shots\[0\]\.line"):
        caption_cues("Hello", 10, 10, [], layout_for("9:16"), 1080, 2, field="shots[0].line")
    with pytest.raises(BadInputError, match="do not fit in 1 frames"):
        caption_cues(PARAGRAPH, 10, 11, [], layout_for("9:16"), 1080, 1, field="shots[0].line")


# -- files --------------------------------------------------------------------------------------

def golden_timeline() -> Timeline:
    layout = SubtitleLayout(font_file=str(default_font()[0]), font_name="Noto Sans CJK SC",
                            size_px=81, margin_v_px=390, margin_h_px=130, alignment="bottom",
                            color="FFFFFF", outline_color="101010")
    captions = [
        CaptionCue(start_f=0, end_f=37, text="Introducing the new Spark running shoe,",
                   lines=["Introducing the new", "Spark running shoe,"]),
        CaptionCue(start_f=37, end_f=71, text="全新Spark跑鞋，更轻、更快。",
                   lines=["全新Spark跑鞋，", "更轻、更快。"]),
        CaptionCue(start_f=71, end_f=3725, text=r"Save {50%} at C:\new \N now",
                   lines=[r"Save {50%} at C:\new \N now"]),
    ]
    return timeline_with(captions, layout, (1080, 1920), duration_f=3725)


@pytest.mark.parametrize("name, build", [("captions.ass", build_ass), ("captions.srt", build_srt)])
def test_golden_files(name, build):
    text = build(golden_timeline())
    assert text == build(golden_timeline())  # deterministic
    path = GOLDEN / name
    if REGEN:
        path.write_bytes(text.encode("utf-8"))
    assert text.encode("utf-8") == path.read_bytes(), (
        f"{name} changed; if that is intended, run ADCUT_REGEN_GOLDEN=1 pytest {__file__}")


def test_ass_times_never_overlap_and_escape_text():
    ass = build_ass(golden_timeline())
    # every cue twice: the dark outline under, the bold text over it
    under = [line for line in ass.splitlines() if line.startswith("Dialogue: 0,")]
    events = [line for line in ass.splitlines() if line.startswith("Dialogue: 1,")]
    assert [e.split(",", 1)[1].replace(",Over,", "") for e in events] == \
        [e.split(",", 1)[1].replace(",Under,", "") for e in under]
    spans = [tuple(e.split(",")[1:3]) for e in events]
    assert spans[0][1] == spans[1][0] == "0:00:01.23"  # frame 37 at 30 fps = 1.2333 s, floored
    assert spans[2] == ("0:00:02.36", "0:02:04.16")
    assert events[2].endswith("Save \\{50%\\} at C:\\\u2060new \\\u2060N now")
    assert "\\NSpark running shoe," in events[0]


def test_word_highlight_colours_each_spoken_word_in_turn_and_cues_move_off_text():
    from adcut.core.timeline import Word
    from adcut.render.subtitles import caption_box, place_captions

    lay = layout_for("9:16", preset="word-highlight", highlight_color="00FF00")
    words = [Word(text=w, start_f=10 + 10 * i, end_f=18 + 10 * i)
             for i, w in enumerate(["Order", "your", "cold", "brew"])]
    cue = CaptionCue(start_f=5, end_f=60, text="Order your cold brew",
                     lines=["Order your", "cold brew"], words=words)
    ass = build_ass(timeline_with([cue], lay, (1080, 1920)))
    over = [line for line in ass.splitlines() if line.startswith("Dialogue: 1,")]
    # one event per word, tiling the cue: the first from the cue's start, each next from its word
    assert [e.split(",")[1:3] for e in over] == [
        ["0:00:00.16", "0:00:00.66"], ["0:00:00.66", "0:00:01.00"],
        ["0:00:01.00", "0:00:01.33"], ["0:00:01.33", "0:00:02.00"]]
    green = "{\\c&H00FF00&\\3c&H00FF00&}"
    assert over[0].endswith(f"{green}Order{{\\r}} your\\Ncold brew")
    assert over[3].endswith(f"Order your\\Ncold {green}brew{{\\r}}")
    assert not any("&H00FF00&" in line for line in ass.splitlines()
                   if line.startswith("Dialogue: 0,"))  # the outline stays dark
    # boxed: the Under style draws an opaque box (BorderStyle 3)
    boxed = build_ass(timeline_with([cue], layout_for("9:16", preset="boxed"), (1080, 1920)))
    assert next(line for line in boxed.splitlines()
                if line.startswith("Style: Under")).split(",")[15] == "3"

    # on-screen text where the caption would go: the cue moves to the band it covers least
    plain = layout_for("9:16")
    bottom = caption_box(cue.lines, "bottom", plain, 1080, 1920)
    price_card = [(0, 90, [(100.0, bottom[1] - 40.0, 980.0, bottom[3] + 10.0)])]
    moved = place_captions([cue], plain, 1080, 1920, price_card)[0]
    assert moved.position == "top"
    top = caption_box(cue.lines, "top", plain, 1080, 1920)
    assert top[1] >= safe_area(1080, 1920)[1]  # still inside the safe area
    assert f"{{\\an8}}" in build_ass(timeline_with([moved], plain, (1080, 1920)))
    assert caption_boxes(timeline_with([moved], plain, (1080, 1920))) == [top]
    # text elsewhere, or at another time, leaves it where it was
    assert place_captions([cue], plain, 1080, 1920, [(60, 90, price_card[0][2])])[0] is cue


# -- pixels: libass draws what we measured, with the bundled font -------------------------------

def render_frames(timeline: Timeline, frames: list[int], tmp: Path) -> list[np.ndarray]:
    from PIL import Image

    from adcut.media.ffmpeg import run_ffmpeg

    ass = tmp / "captions.ass"
    ass.write_text(build_ass(timeline), encoding="utf-8")
    fonts_dir = Path(timeline.subtitles.font_file).parent
    pick = "+".join(f"eq(n\\,{f})" for f in frames)
    # adcut's own runner: libass sees the fonts it sees when rendering an ad (only fontsdir)
    run_ffmpeg([
        "-loglevel", "error", "-f", "lavfi", "-i",
        (f"color=c=0x808080:s={timeline.width}x{timeline.height}:r={timeline.fps}"
         f":d={timeline.duration_f / timeline.fps}"),
        "-vf", f"subtitles=filename={ass}:fontsdir={fonts_dir},select='{pick}'",
        "-fps_mode", "passthrough", str(tmp / "frame%d.png"),
    ])
    # int16: room for the signed differences ink() takes, at a quarter of int64's memory traffic
    return [np.asarray(Image.open(tmp / f"frame{i + 1}.png").convert("RGB")).astype(np.int16)
            for i in range(len(frames))]


def ink(frame: np.ndarray) -> np.ndarray:
    return np.abs(frame - 128).max(axis=2) > 24


@pytest.mark.parametrize("size, preset", [("9:16", "bold-outline"), ("16:9", "bold-outline"),
                                          ("9:16", "boxed")])
def test_libass_draws_inside_the_boxes_and_the_safe_area(size, preset, tmp_path):
    w, h = SIZES[size]
    lay = layout_for(size, preset=preset)
    cues = caption_cues(LONG_EN, 0, 30, [], lay, w, 2, field="a")
    cues += caption_cues(LONG_ZH, 30, 60, [], lay, w, 2, field="b")
    timeline = timeline_with(cues, lay, (w, h))
    boxes = caption_boxes(timeline)
    left, top, right, bottom = safe_area(w, h)
    frames = render_frames(timeline, [(c.start_f + c.end_f) // 2 for c in cues], tmp_path)
    for cue, box, frame in zip(cues, boxes, frames):
        mask = ink(frame)
        x0, y0, x1, y1 = box
        inside = mask[y0:y1, x0:x1].sum()
        assert inside > 2000, (cue.lines, box)  # the text is there
        assert inside == mask.sum(), f"ink outside {box} for {cue.lines}"
        ys, xs = np.nonzero(mask)
        assert xs.min() >= left and xs.max() < w - right and ys.min() >= top and ys.max() < h - bottom
        assert left <= x0 and x1 <= w - right and top <= y0 and y1 <= h - bottom


def test_cjk_is_drawn_with_the_bundled_font_not_boxes(tmp_path):
    """The white fill libass draws matches FreeType's rendering of the same glyphs (tofu boxes
    or a fallback font would not)."""
    from PIL import Image, ImageDraw, ImageFont

    text = "限时优惠立即下单"
    lay = layout_for("16:9", size_short_side_pct=8)
    cues = caption_cues(text, 0, 30, [], lay, 1920, 1, field="x")
    frame = render_frames(timeline_with(cues, lay, (1920, 1080), 30), [15], tmp_path)[0]
    Image.fromarray(frame.astype(np.uint8)).save(tmp_path / "cjk.png")
    fill = frame.min(axis=2) > 200

    face_em = lay.size_px * 1000 / 1448
    font = ImageFont.truetype(lay.font_file, face_em, index=2)
    ref = Image.new("L", (1920, 400))
    x = 100.0
    for ch in text:  # with the style's letter spacing
        ImageDraw.Draw(ref).text((x, 100), ch, font=font, fill=255)
        x += font.getlength(ch) + spacing_px(lay.size_px)
    # the bold stroke: the glyphs grown by bold_px on every side
    from PIL import ImageFilter

    from adcut.render.subtitles import bold_px

    ref = ref.filter(ImageFilter.MaxFilter(2 * bold_px(lay.size_px) + 1))
    ref_mask = np.asarray(ref) > 100

    def crop(mask: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(mask)
        return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]

    got, want = crop(fill), crop(ref_mask)
    assert abs(got.shape[1] - want.shape[1]) <= 4 and abs(got.shape[0] - want.shape[0]) <= 4
    hh, ww = min(got.shape[0], want.shape[0]), min(got.shape[1], want.shape[1])
    a, b = got[:hh, :ww], want[:hh, :ww]
    iou = (a & b).sum() / (a | b).sum()
    assert iou > 0.5, iou
